"""Field collection of building facts (实名制排查): grid workers propose, the street office
accepts or rejects, accepted facts are applied with who and when, and the building's class and
checklist follow."""

import io
import uuid
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select

from inspect_app import building_changes
from inspect_app.checklists import evaluate_item
from inspect_app.db import db
from inspect_app.inspections import applicable_items
from inspect_app.models import Building, BuildingChange, Checklist, Photo, User

from .conftest import csrf_from, login

FACTS = building_changes.FIELDS


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def form_values(app, building_id: int, **changes) -> dict:
    """What the browser sends: the building's current facts with ``changes`` applied."""
    with app.app_context():
        b = db.session.get(Building, building_id)
        data = {}
        for name in FACTS:
            value = getattr(b, name)
            if isinstance(value, bool):
                if value:
                    data[name] = "y"
            elif value is not None:
                data[name] = str(value)
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        elif value is True:
            data[name] = "y"
        else:
            data[name] = str(value)
    return data


def propose(client, building_id, data, photos=(), client_uuid=None):
    url = f"/buildings/{building_id}/changes/new"
    body = {
        **data,
        "csrf_token": csrf_from(client, url),
        "client_uuid": client_uuid or str(uuid.uuid4()),
    }
    if photos:
        body["photos"] = [(io.BytesIO(p), f"p{i}.jpg") for i, p in enumerate(photos)]
    return client.post(url, data=body, content_type="multipart/form-data")


def decide(client, change_id, button, note=""):
    token = csrf_from(client, f"/registry/changes/{change_id}")
    return client.post(
        f"/registry/changes/{change_id}/decide",
        data={"csrf_token": token, button: "y", "note": note},
    )


def switch(client, username):
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, username)


def changes_of(app, building_id):
    with app.app_context():
        return db.session.scalars(
            select(BuildingChange).where(BuildingChange.building_id == building_id)
        ).all()


def test_a_grid_worker_proposes_and_the_street_accepts(app, client, district, checklist):
    building = district["buildings"]["S1G1"]
    login(client, "inspector")
    page = client.get(f"/buildings/{building.id}/changes/new").get_data(as_text=True)
    assert "测试物业公司" in page and "提交审核" in page
    data = form_values(
        app, building.id, management_unit="新城物业", fire_manager_phone="13811112222"
    )
    response = propose(client, building.id, data, photos=[jpeg()])
    assert response.status_code == 302
    assert client.get(response.location).status_code == 200
    [change] = changes_of(app, building.id)
    assert change.status == "pending"
    assert change.changes == {
        "management_unit": {"from": "测试物业公司", "to": "新城物业"},
        "fire_manager_phone": {"from": None, "to": "13811112222"},
    }
    with app.app_context():
        assert db.session.get(Building, building.id).management_unit == "测试物业公司"
        [photo] = db.session.scalars(select(Photo).where(Photo.building_change_id == change.id))
        photo_id = photo.id
    # The grid worker sees their proposal but may not decide it.
    assert client.get(f"/registry/changes/{change.id}").status_code == 200
    assert decide(client, change.id, "accept").status_code == 403

    switch(client, "street")
    listing = client.get("/registry/changes").get_data(as_text=True)
    assert building.name in listing
    page = client.get(f"/registry/changes/{change.id}").get_data(as_text=True)
    assert "新城物业" in page and "采纳并更新台账" in page
    assert client.get(f"/photos/{photo_id}/thumb").status_code == 200
    response = decide(client, change.id, "accept", note="已电话核实")
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(Building, building.id)
        assert stored.management_unit == "新城物业"
        assert stored.fire_manager_phone == "13811112222"
        change = db.session.get(BuildingChange, change.id)
        street = db.session.scalar(select(User).where(User.username == "street"))
        assert change.status == "accepted" and change.decided_by_id == street.id
        assert change.decided_at is not None and change.decision_note == "已电话核实"
    history = client.get(f"/buildings/{building.id}/changes").get_data(as_text=True)
    assert "新城物业" in history and "已采纳" in history


def test_residential_height_from_27_to_28_m_reclassifies(app, client, make, district, checklist):
    grid = district["areas"]["S1G1"]
    building = make.building(grid, height_m=Decimal("27"), storeys=9)
    assert building.building_class is None
    login(client, "street")
    response = propose(client, building.id, form_values(app, building.id, height_m="28"))
    assert response.status_code == 302
    flash = client.get(response.location).get_data(as_text=True)
    assert "楼栋类别由“非高层”变为“二类高层住宅”" in flash
    with app.app_context():
        stored = db.session.get(Building, building.id)
        assert stored.height_m == Decimal("28.00") and stored.building_class == "R2"
    [change] = changes_of(app, building.id)
    assert change.status == "accepted" and (change.class_before, change.class_after) == (None, "R2")
    assert change.changes == {"height_m": {"from": "27.00", "to": "28.00"}}


def test_a_public_building_crossing_24_m_gets_the_public_high_rise_items(
    app, client, make, district, checklist
):
    building = make.building(district["areas"]["S1G1"], use="public", height_m=Decimal("24"))
    login(client, "inspector")
    form = client.get(f"/buildings/{building.id}/inspections/new").get_data(as_text=True)
    assert 'id="item-MGMT-13"' not in form
    propose(client, building.id, form_values(app, building.id, height_m="25"))
    [change] = changes_of(app, building.id)
    with app.app_context():
        outcome = building_changes.accept(
            db.session,
            db.session.get(BuildingChange, change.id),
            user=db.session.scalar(select(User).where(User.username == "street")),
        )
        db.session.commit()
        assert (outcome.class_before, outcome.class_after) == (None, "P2")
        assert "MGMT-13" in outcome.items_added and outcome.items_removed == ()
    form = client.get(f"/buildings/{building.id}/inspections/new").get_data(as_text=True)
    assert 'id="item-MGMT-13"' in form


def test_crossing_50_m_tightens_the_hydrant_pressure_threshold(app, make, district, checklist):
    building = make.building(district["areas"]["S1G1"], use="public", height_m=Decimal("50"))
    with app.app_context():
        item = next(i for i in db.session.get(Checklist, checklist.id).items if i.code == "FAC-01")
        b = db.session.get(Building, building.id)

        def verdict():
            return evaluate_item(
                item, Decimal("0.08"), building_class=b.building_class, flags=b.flags
            ).result

        assert b.building_class == "P2" and verdict() == "pass"
        street = db.session.scalar(select(User).where(User.username == "street"))
        outcome = building_changes.apply_direct(
            db.session, b, {"height_m": Decimal("51")}, user=street
        )
        db.session.commit()
        assert outcome.class_after == "P1" and verdict() == "fail"


def test_a_flag_change_brings_its_checklist_items(app, make, district, checklist):
    building = make.building(district["areas"]["S1G1"])
    with app.app_context():
        b = db.session.get(Building, building.id)
        cl = db.session.get(Checklist, checklist.id)
        before = {i.code for i in applicable_items(cl, b)}
        inspector = db.session.scalar(select(User).where(User.username == "inspector"))
        change, created = building_changes.propose(
            db.session,
            building=b,
            user=inspector,
            values={"has_control_room": True, "has_sprinklers": False},
        )
        street = db.session.scalar(select(User).where(User.username == "street"))
        outcome = building_changes.accept(db.session, change, user=street)
        db.session.commit()
        after = {i.code for i in applicable_items(cl, b)}
    assert created and not outcome.reclassified
    assert set(outcome.items_added) == after - before and len(outcome.items_added) == 3
    assert set(outcome.items_removed) == before - after == set()  # the fixture had no sprinklers


def test_rejection_needs_a_reason_and_changes_nothing(app, client, district):
    building = district["buildings"]["S1G1"]
    login(client, "inspector")
    propose(client, building.id, form_values(app, building.id, storeys=30))
    [change] = changes_of(app, building.id)
    switch(client, "street")
    response = decide(client, change.id, "reject")
    assert response.status_code == 422 and "退回时请填写原因" in response.get_data(as_text=True)
    assert decide(client, change.id, "reject", note="现场核实为 18 层").status_code == 302
    with app.app_context():
        assert db.session.get(Building, building.id).storeys == 18
        change = db.session.get(BuildingChange, change.id)
        assert change.status == "rejected" and change.decision_note == "现场核实为 18 层"
    switch(client, "inspector")
    mine = client.get("/registry/changes?status=rejected").get_data(as_text=True)
    assert building.name in mine


def test_a_proposal_is_decided_once_even_by_a_stale_reader(app, district):
    building = district["buildings"]["S1G1"]
    with app.app_context():
        inspector = db.session.scalar(select(User).where(User.username == "inspector"))
        change, _ = building_changes.propose(
            db.session,
            building=db.session.get(Building, building.id),
            user=inspector,
            values={"storeys": 19},
        )
        db.session.commit()
        change_id = change.id
    with app.app_context():
        stale = db.session.get(BuildingChange, change_id)  # read while still pending
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        with app.app_context():  # someone else decides first
            other = db.session.get(BuildingChange, change_id)
            street = db.session.scalar(select(User).where(User.username == "street"))
            building_changes.reject(db.session, other, user=street, note="不符")
            db.session.commit()
        with pytest.raises(building_changes.Conflict):
            building_changes.accept(db.session, stale, user=admin)
        db.session.rollback()
        assert db.session.get(Building, building.id).storeys == 18
        assert db.session.get(BuildingChange, change_id).status == "rejected"


def test_the_second_decision_by_form_is_refused_with_a_message(app, client, district):
    building = district["buildings"]["S1G1"]
    login(client, "inspector")
    propose(client, building.id, form_values(app, building.id, storeys=19))
    [change] = changes_of(app, building.id)
    switch(client, "street")
    token = csrf_from(client, f"/registry/changes/{change.id}")
    url = f"/registry/changes/{change.id}/decide"
    assert client.post(url, data={"csrf_token": token, "accept": "y"}).status_code == 302
    again = client.post(url, data={"csrf_token": token, "reject": "y", "note": "晚了"})
    assert again.status_code == 302
    assert "该提交已由他人处理" in client.get(again.location).get_data(as_text=True)
    assert changes_of(app, building.id)[0].status == "accepted"


def test_nothing_changed_or_impossible_values_are_refused(app, client, district):
    building = district["buildings"]["S1G1"]
    login(client, "inspector")
    same = propose(client, building.id, form_values(app, building.id))
    assert same.status_code == 422
    assert "没有修改任何信息" in same.get_data(as_text=True)
    for field, value, message in (
        ("height_m", "很高", "不是有效的小数"),
        ("height_m", "0", "建筑高度必须大于 0 米且不超过 1000 米"),
        ("storeys", "0", "地上层数必须在 1 到 200 之间"),
        ("use", "warehouse", "不是有效的选择"),
    ):
        response = propose(client, building.id, form_values(app, building.id, **{field: value}))
        assert response.status_code == 422, field
        assert message in response.get_data(as_text=True), field
    bad_photo = propose(
        client, building.id, form_values(app, building.id, storeys=20), photos=[b"not a photo"]
    )
    assert bad_photo.status_code == 422
    assert "第 1 张照片：文件不是 JPEG、PNG 或 WebP 图片" in bad_photo.get_data(as_text=True)
    assert changes_of(app, building.id) == []


def test_a_replayed_submission_is_recorded_once(app, client, district):
    building = district["buildings"]["S1G1"]
    login(client, "inspector")
    key = str(uuid.uuid4())
    data = form_values(app, building.id, storeys=21)
    assert propose(client, building.id, data, client_uuid=key).status_code == 302
    assert propose(client, building.id, data, client_uuid=key).status_code == 302
    assert len(changes_of(app, building.id)) == 1


def test_scope_and_roles(app, client, district):
    far = district["buildings"]["S2G1"]
    own = district["buildings"]["S1G2"]
    login(client, "inspector")
    assert client.get(f"/buildings/{far.id}/changes/new").status_code == 404
    switch(client, "fire")
    assert client.get(f"/buildings/{far.id}/changes/new").status_code == 403
    switch(client, "manager")
    assert client.get(f"/buildings/{far.id}/changes/new").status_code == 404
    response = propose(client, own.id, form_values(app, own.id, fire_manager_name="物业经理"))
    assert response.status_code == 302
    [change] = changes_of(app, own.id)
    assert change.status == "pending"
    switch(client, "street")  # street S1 may decide S1 proposals, not S2 ones
    assert client.get(f"/registry/changes/{change.id}").status_code == 200
    with app.app_context():
        outsider = db.session.scalar(select(User).where(User.username == "street"))
        outsider.area_id = district["areas"]["S2"].id
        db.session.commit()
    assert client.get(f"/registry/changes/{change.id}").status_code == 404
    assert decide(client, change.id, "accept").status_code in (400, 404)
    with app.app_context():
        assert db.session.scalar(select(func.count(BuildingChange.id))) == 1


def test_retired_buildings_take_no_proposals(app, client, make, district):
    building = make.building(district["areas"]["S1G1"])
    with app.app_context():
        from inspect_app import registry

        registry.retire_building(db.session, db.session.get(Building, building.id))
        db.session.commit()
    login(client, "inspector")
    response = client.get(f"/buildings/{building.id}/changes/new")
    assert response.status_code == 302
    assert "该楼栋已停用" in client.get(response.location).get_data(as_text=True)


def test_the_reviewer_is_told_when_the_registry_changed_since_the_proposal(app, client, district):
    building = district["buildings"]["S1G1"]
    login(client, "inspector")
    propose(client, building.id, form_values(app, building.id, storeys=25))
    [change] = changes_of(app, building.id)
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        s1g2 = district["areas"]["S1G2"]
        building_changes.apply_direct(
            db.session,
            db.session.get(Building, building.id),
            {"storeys": 20, "area_id": s1g2.id},
            user=admin,
        )
        db.session.commit()
    switch(client, "street")
    page = client.get(f"/registry/changes/{change.id}").get_data(as_text=True)
    assert "提交后台账已被修改：地上层数 现为 20" in page
    history = client.get(f"/buildings/{building.id}/changes").get_data(as_text=True)
    assert "S1G1网格" in history and "S1G2网格" in history  # a move shows area names
    assert decide(client, change.id, "accept").status_code == 302
    [accepted] = [c for c in changes_of(app, building.id) if c.id == change.id]
    # The history records the value actually replaced, not the one seen when proposing.
    assert accepted.changes == {"storeys": {"from": 20, "to": 25}}
