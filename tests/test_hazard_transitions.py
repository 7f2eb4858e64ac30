"""A hazard's workflow through the real pages and API: evidence, acceptance, rejection,
deadline extension, supervision; who may do what; and two people acting at once."""

from __future__ import annotations

import io
import re
import threading
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from inspect_app import hazards as hazard_rules
from inspect_app.db import db
from inspect_app.models import Hazard, HazardEvent, Photo, Supervision, User

from .conftest import csrf_from, login


def jpeg(colour=(30, 160, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, "JPEG")
    return buf.getvalue()


def today(app) -> date:
    from inspect_app.codes import local_today

    with app.test_request_context():
        return local_today()


def add_hazard(app, building, **kw) -> int:
    values = dict(
        building_id=building.id,
        category="LIFE",
        severity="general",
        description="疏散通道堆放杂物",
        responsible_party="测试物业公司",
        measures="清理杂物",
        deadline=today(app) + timedelta(days=10),
        status="open",
    )
    values.update(kw)
    with app.app_context():
        hazard = Hazard(**values)
        db.session.add(hazard)
        db.session.flush()
        db.session.add(
            HazardEvent(hazard=hazard, action="created", from_status=None, to_status="open")
        )
        db.session.commit()
        return hazard.id


def state(app, hazard_id) -> tuple[str, int, int]:
    """(status, version, number of events)"""
    with app.app_context():
        h = db.session.get(Hazard, hazard_id)
        n = db.session.scalar(
            select(func.count()).select_from(HazardEvent).where(HazardEvent.hazard_id == h.id)
        )
        return h.status, h.version, n


def post(client, hazard_id, action, data, files=None):
    url = f"/hazards/{hazard_id}"
    form = {f"{action}-{k}": v for k, v in data.items()}
    form[f"{action}-csrf_token"] = csrf_from(client, url)
    if files:
        form.update({f"{action}-{k}": v for k, v in files.items()})
        return client.post(f"{url}/{action}", data=form, content_type="multipart/form-data")
    return client.post(f"{url}/{action}", data=form)


def switch(client, username):
    """Log out whoever is logged in, then log in as ``username``."""
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    return login(client, username)


@pytest.fixture
def site(app, district):
    b = district["buildings"]["S1G2"]  # managed by "manager", in the street "street" covers
    return {**district, "building": b}


def test_the_full_cycle_evidence_reject_evidence_accept(app, client, site):
    hid = add_hazard(app, site["building"])
    login(client, "manager")
    page = client.get(f"/hazards/{hid}").get_data(as_text=True)
    assert "提交整改材料" in page and "验收合格" not in page
    r = post(
        client,
        hid,
        "submit_evidence",
        {"version": 1, "note": "已清理"},
        {"photos": (io.BytesIO(jpeg()), "after.jpg")},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert state(app, hid)[:2] == ("submitted", 2)
    with app.app_context():
        event = db.session.scalar(select(HazardEvent).order_by(HazardEvent.id.desc()))
        assert event.action == "evidence_submitted" and event.actor_role == "manager"
        assert event.from_status == "open" and event.to_status == "submitted"
        assert len(event.photos) == 1 and event.photos[0].hazard_id == hid

    switch(client, "street")
    r = post(client, hid, "reject", {"version": 2, "reason": "杂物未清理干净"})
    assert r.status_code == 302
    assert state(app, hid)[:2] == ("open", 3)
    page = client.get(f"/hazards/{hid}").get_data(as_text=True)
    assert "杂物未清理干净" in page and "验收不通过，退回整改" in page

    switch(client, "manager")
    r = post(
        client,
        hid,
        "submit_evidence",
        {"version": 3},
        {"photos": (io.BytesIO(jpeg((10, 10, 200))), "again.jpg")},
    )
    assert r.status_code == 302
    switch(client, "street")
    r = post(client, hid, "accept", {"version": 4, "note": "现场验收合格"})
    assert r.status_code == 302
    status, version, events = state(app, hid)
    assert (status, version, events) == ("closed", 5, 5)
    with app.app_context():
        h = db.session.get(Hazard, hid)
        assert h.closed_at is not None
        assert [e.action for e in h.events] == [
            "created",
            "evidence_submitted",
            "rejected",
            "evidence_submitted",
            "accepted",
        ]


def test_the_grid_worker_may_bring_evidence_for_a_building_of_the_grid(app, client, district):
    hid = add_hazard(app, district["buildings"]["S1G1"])
    login(client, "inspector")
    r = post(
        client,
        hid,
        "submit_evidence",
        {"version": 1},
        {"photos": (io.BytesIO(jpeg()), "after.jpg")},
    )
    assert r.status_code == 302
    assert state(app, hid) == ("submitted", 2, 2)


def test_evidence_needs_a_photo_and_keeps_the_note(app, client, site):
    hid = add_hazard(app, site["building"])
    login(client, "manager")
    r = post(client, hid, "submit_evidence", {"version": 1, "note": "已经整改完毕"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "至少一张整改后照片" in html and "已经整改完毕" in html
    assert state(app, hid) == ("open", 1, 1)


def test_a_bad_photo_is_refused_clearly_and_changes_nothing(app, client, site):
    hid = add_hazard(app, site["building"])
    login(client, "manager")
    r = post(
        client,
        hid,
        "submit_evidence",
        {"version": 1},
        {"photos": (io.BytesIO(b"<html>not an image</html>"), "x.jpg")},
    )
    assert r.status_code == 422 and "第 1 张照片" in r.get_data(as_text=True)
    assert state(app, hid) == ("open", 1, 1)


@pytest.mark.parametrize(
    ("role", "severity", "direct", "action", "expected"),
    [
        ("manager", "general", False, "accept", 403),
        ("inspector", "general", False, "accept", 403),
        ("street", "major", False, "accept", 403),
        ("street", "general", True, "accept", 403),
        ("street", "major", False, "reject", 403),
        ("fire", "major", False, "accept", 302),
        ("street", "general", False, "accept", 302),
        ("street", "minor", False, "accept", 302),
        ("manager", "general", False, "extend_deadline", 403),
        ("street", "general", False, "submit_evidence", 403),
    ],
)
def test_who_may_accept_and_close(app, client, site, role, severity, direct, action, expected):
    building = site["buildings"]["S1G1" if role == "inspector" else "S1G2"]
    hid = add_hazard(app, building, severity=severity, gb35181_direct=direct, status="submitted")
    login(client, role)
    data = {"version": 1, "note": "验收", "reason": "理由", "deadline": "2099-01-01"}
    r = post(client, hid, action, data)
    assert r.status_code == expected
    if expected == 403:
        assert state(app, hid) == ("submitted", 1, 1)


def test_out_of_scope_hazards_are_not_found(app, client, district):
    far = district["buildings"]["S2G1"]
    hid = add_hazard(app, far)
    login(client, "street")  # street S1 does not see S2
    assert client.get(f"/hazards/{hid}").status_code == 404
    switch(client, "manager")
    assert client.get(f"/hazards/{hid}").status_code == 404


def test_closing_an_already_closed_hazard_is_a_conflict_and_changes_nothing(app, client, site):
    hid = add_hazard(app, site["building"], status="submitted")
    login(client, "street")
    assert post(client, hid, "accept", {"version": 1}).status_code == 302
    before = state(app, hid)
    r = post(client, hid, "accept", {"version": 2, "note": "再次验收"})
    assert r.status_code == 409
    assert "已销号" in r.get_data(as_text=True)
    assert state(app, hid) == before


def test_stale_form_answers_409_with_current_state_and_keeps_the_input(app, client, site):
    hid = add_hazard(app, site["building"], status="submitted")
    login(client, "fire")
    assert post(client, hid, "accept", {"version": 1}).status_code == 302
    # A second reviewer still has the page of version 1 open and rejects it.
    r = post(client, hid, "reject", {"version": 1, "reason": "消防车道仍有车辆停放"})
    html = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "已被他人更新" in html or "已销号" in html
    assert "消防车道仍有车辆停放" in html  # nothing the user typed is lost
    assert "已销号" in html  # the current state is shown
    assert state(app, hid) == ("closed", 2, 2)


def test_stale_but_still_possible_offers_the_form_again_at_the_new_version(app, client, site):
    hid = add_hazard(app, site["building"])
    login(client, "street")
    later = (today(app) + timedelta(days=40)).isoformat()
    r = post(client, hid, "update_plan", {"version": 1, "responsible_party": "业委会"})
    assert r.status_code == 302
    r = post(
        client, hid, "extend_deadline", {"version": 1, "deadline": later, "reason": "需采购设备"}
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and "已被他人更新" in html
    assert "需采购设备" in html and later in html
    assert re.search(r'name="extend_deadline-version"[^>]*value="2"', html)
    r = post(
        client, hid, "extend_deadline", {"version": 2, "deadline": later, "reason": "需采购设备"}
    )
    assert r.status_code == 302
    with app.app_context():
        h = db.session.get(Hazard, hid)
        assert h.deadline.isoformat() == later and h.responsible_party == "业委会"
        event = h.events[-1]
        assert event.action == "deadline_extended" and event.data["to"] == later


def test_deadline_extension_must_be_later_and_give_a_reason(app, client, site):
    hid = add_hazard(app, site["building"])
    login(client, "street")
    earlier = (today(app) + timedelta(days=5)).isoformat()
    r = post(client, hid, "extend_deadline", {"version": 1, "deadline": earlier, "reason": "x"})
    assert r.status_code == 422 and "必须晚于原期限" in r.get_data(as_text=True)
    r = post(
        client, hid, "extend_deadline", {"version": 1, "deadline": "2026-02-30", "reason": "x"}
    )
    assert r.status_code == 422
    r = post(client, hid, "extend_deadline", {"version": 1, "deadline": "2099-01-01", "reason": ""})
    assert r.status_code == 422 and "请填写延期理由" in r.get_data(as_text=True)
    assert state(app, hid) == ("open", 1, 1)


def test_two_sessions_racing_at_flush_one_loses_with_stale_data(app, site):
    """Both load version 1 and both pass the version check; the database decides."""
    hid = add_hazard(app, site["building"], status="submitted")
    with app.app_context():
        engine = db.engine
        fire = db.session.get(User, site["users"]["fire"].id)
        fire_id = fire.id
    with Session(engine) as first, Session(engine) as second:
        a = first.get(Hazard, hid)
        b = second.get(Hazard, hid)
        actor_a, actor_b = first.get(User, fire_id), second.get(User, fire_id)
        with app.app_context():
            hazard_rules.accept(first, a, actor=actor_a, version=1, note="合格")
            first.commit()
            hazard_rules.reject(second, b, actor=actor_b, version=1, reason="不合格")
            with pytest.raises(StaleDataError):
                second.commit()
    assert state(app, hid) == ("closed", 2, 2)


def test_two_people_at_once_through_the_api_one_wins_one_gets_409(app, client, site):
    from inspect_app.auth import issue_token

    hid = add_hazard(app, site["building"], status="submitted")
    with app.app_context():
        fire = db.session.get(User, site["users"]["fire"].id)
        street = db.session.get(User, site["users"]["street"].id)
        tokens = [issue_token(fire, "a"), issue_token(street, "b")]
        db.session.commit()
    bodies = [
        {"action": "accept", "version": 1, "note": "合格"},
        {"action": "reject", "version": 1, "reason": "不合格"},
    ]
    barrier = threading.Barrier(2)
    results = [None, None]

    def act(i):
        c = app.test_client()
        barrier.wait()
        r = c.post(
            f"/api/v1/hazards/{hid}/events",
            json=bodies[i],
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )
        results[i] = (r.status_code, r.get_json())

    threads = [threading.Thread(target=act, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in results)
    assert codes == [201, 409], results
    loser = next(body for code, body in results if code == 409)
    status, version, events = state(app, hid)
    assert loser["hazard"]["status"] == status and loser["hazard"]["version"] == version == 2
    assert events == 2  # the winner's event, nothing else, nothing lost


def test_api_transitions_etag_if_match_and_errors(app, client, site):
    from inspect_app.auth import issue_token

    hid = add_hazard(app, site["building"])
    with app.app_context():
        manager = db.session.get(User, site["users"]["manager"].id)
        street = db.session.get(User, site["users"]["street"].id)
        auth_m = {"Authorization": f"Bearer {issue_token(manager, 'm')}"}
        auth_s = {"Authorization": f"Bearer {issue_token(street, 's')}"}
        db.session.commit()
    url = f"/api/v1/hazards/{hid}"
    r = client.get(url, headers=auth_m)
    assert r.status_code == 200 and r.headers["ETag"] == '"v1"'
    assert r.get_json()["events"][0]["action"] == "created"
    # Evidence by reference to a photo uploaded first.
    up = client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(jpeg()), "a.jpg")},
        headers=auth_m,
        content_type="multipart/form-data",
    )
    sha = up.get_json()["sha256"]
    r = client.post(
        f"{url}/events",
        json={"action": "submit_evidence", "photos": [sha]},
        headers={**auth_m, "If-Match": '"v1"'},
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["hazard"]["status"] == "submitted" and r.headers["ETag"] == '"v2"'
    assert len(body["event"]["photos"]) == 1
    # Errors: manager accepting, unknown action, bad JSON, stale version, missing version.
    assert (
        client.post(
            f"{url}/events", json={"action": "accept", "version": 2}, headers=auth_m
        ).status_code
        == 403
    )
    r = client.post(f"{url}/events", json={"action": "close_it", "version": 2}, headers=auth_s)
    assert r.status_code == 422 and r.get_json()["error"] == "invalid"
    r = client.post(
        f"{url}/events", data="{not json", headers={**auth_s, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.get_json()["message"]
    r = client.post(f"{url}/events", json={"action": "accept", "version": 1}, headers=auth_s)
    assert r.status_code == 409 and r.get_json()["hazard"]["version"] == 2
    r = client.post(f"{url}/events", json={"action": "accept"}, headers=auth_s)
    assert r.status_code == 422 and "version" in r.get_json()["errors"]
    r = client.post(f"{url}/events", json={"action": "reject", "version": 2}, headers=auth_s)
    assert r.status_code == 422  # a rejection needs its reason
    assert state(app, hid) == ("submitted", 2, 2)
    r = client.post(
        f"{url}/events", json={"action": "accept", "version": 2, "note": "合格"}, headers=auth_s
    )
    assert r.status_code == 201 and r.get_json()["hazard"]["status"] == "closed"


def test_api_session_writes_need_csrf(app, client, site):
    hid = add_hazard(app, site["building"], status="submitted")
    login(client, "street")
    r = client.post(f"/api/v1/hazards/{hid}/events", json={"action": "accept", "version": 1})
    assert r.status_code == 400
    token = csrf_from(client, f"/hazards/{hid}")
    r = client.post(
        f"/api/v1/hazards/{hid}/events",
        json={"action": "accept", "version": 1},
        headers={"X-CSRFToken": token},
    )
    assert r.status_code == 201


def test_supervision_listing_notice_report_and_close(app, client, site):
    a = add_hazard(app, site["building"], severity="major", description="室内消火栓无水")
    b = add_hazard(app, site["building"], description="防火门损坏")
    login(client, "street")
    plan = client.get(f"/buildings/{site['building'].id}/plan").get_data(as_text=True)
    assert "挂牌督办，生成督办通知书" not in plan
    switch(client, "fire")
    url = f"/buildings/{site['building'].id}/plan"
    plan = client.get(url).get_data(as_text=True)
    assert "挂牌督办，生成督办通知书" in plan
    report_by = today(app) + timedelta(days=7)
    form = {
        "supervise-csrf_token": csrf_from(client, url),
        "supervise-hazards": [f"{a}:1", f"{b}:1"],
        "supervise-issues": "1. 室内消火栓无水\n2. 防火门损坏",
        "supervise-plan": "修复消防供水，更换防火门",
        "supervise-responsible_person": "张三",
        "supervise-responsible_unit": "测试物业公司",
        "supervise-deadline": (today(app) + timedelta(days=30)).isoformat(),
        "supervise-report_by": report_by.isoformat(),
    }
    r = client.post(f"/buildings/{site['building'].id}/supervisions", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    with app.app_context():
        s = db.session.scalar(select(Supervision))
        sid = s.id
        assert {h.id for h in s.hazards} == {a, b}
        assert all(h.supervised_at is not None for h in s.hazards)
        assert [e.action for e in db.session.get(Hazard, a).events][-1] == "supervised"
    notice = client.get(f"/supervisions/{sid}").get_data(as_text=True)
    assert "督办通知书" in notice and "张三" in notice and report_by.isoformat() in notice
    # Listing the same hazard twice is refused (the form's versions are stale too).
    r = client.post(f"/buildings/{site['building'].id}/supervisions", data=form)
    assert r.status_code in (409, 422)
    # Closing needs every listed hazard closed.
    r = client.post(
        f"/supervisions/{sid}/close",
        data={
            "close-csrf_token": csrf_from(client, f"/supervisions/{sid}"),
            "close-outcome": "已整改",
        },
    )
    assert r.status_code == 409 and "未销号" in r.get_data(as_text=True)
    r = client.post(
        f"/supervisions/{sid}/report",
        data={
            "report-csrf_token": csrf_from(client, f"/supervisions/{sid}"),
            "report-note": "已制定方案，正在施工",
        },
    )
    assert r.status_code == 302
    with app.app_context():
        for hid in (a, b):
            h = db.session.get(Hazard, hid)
            h.status, h.closed_at = "closed", h.created_at
        db.session.commit()
    r = client.post(
        f"/supervisions/{sid}/close",
        data={
            "close-csrf_token": csrf_from(client, f"/supervisions/{sid}"),
            "close-outcome": "隐患全部整改销号",
        },
    )
    assert r.status_code == 302
    with app.app_context():
        s = db.session.get(Supervision, sid)
        assert s.status == "closed" and s.report_note and s.outcome == "隐患全部整改销号"


def test_supervision_makes_the_code_red_and_street_cannot_list(app, client, site):
    hid = add_hazard(app, site["building"])
    login(client, "street")
    url = f"/buildings/{site['building'].id}/supervisions"
    r = client.post(
        url,
        data={"supervise-csrf_token": csrf_from(client, "/"), "supervise-hazards": [f"{hid}:1"]},
    )
    assert r.status_code == 403
    from inspect_app.auth import issue_token

    client = app.test_client()  # no session: the bearer token decides
    with app.app_context():
        fire = db.session.get(User, site["users"]["fire"].id)
        auth = {"Authorization": f"Bearer {issue_token(fire, 'f')}"}
        db.session.commit()
    day = today(app)
    r = client.post(
        f"/api/v1/hazards/{hid}/events",
        headers=auth,
        json={
            "action": "supervise",
            "version": 1,
            "issues": "疏散通道堆放杂物",
            "plan": "清理",
            "responsible_person": "李四",
            "deadline": (day + timedelta(days=10)).isoformat(),
            "report_by": (day + timedelta(days=20)).isoformat(),
        },
    )
    assert r.status_code == 422 and "report_by" in r.get_json()["errors"]
    r = client.post(
        f"/api/v1/hazards/{hid}/events",
        headers=auth,
        json={
            "action": "supervise",
            "version": 1,
            "issues": "疏散通道堆放杂物",
            "plan": "清理",
            "responsible_person": "李四",
            "deadline": (day + timedelta(days=10)).isoformat(),
            "report_by": (day + timedelta(days=5)).isoformat(),
        },
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["supervision"]["number"].startswith("督〔")
    code = client.get(f"/api/v1/buildings/{site['building'].code}", headers=auth).get_json()
    assert code["colour"] == "red" and any("挂牌督办" in x for x in code["reasons"])
    assert [h["id"] for h in code["open_hazards"]] == [hid] and code["open_hazards"][0][
        "supervised"
    ]


def test_photos_of_evidence_are_in_scope_only(app, client, site):
    hid = add_hazard(app, site["building"])
    login(client, "manager")
    post(
        client,
        hid,
        "submit_evidence",
        {"version": 1},
        {"photos": (io.BytesIO(jpeg()), "after.jpg")},
    )
    with app.app_context():
        photo_id = db.session.scalar(select(Photo.id))
    assert client.get(f"/photos/{photo_id}/thumb").status_code == 200
    switch(client, "street")
    assert client.get(f"/photos/{photo_id}/thumb").status_code == 200
    switch(client, "inspector")  # another grid: neither the hazard nor its photos exist
    assert client.get(f"/photos/{photo_id}/thumb").status_code == 404
    assert client.get(f"/hazards/{hid}").status_code == 404
