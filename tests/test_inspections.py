"""Field inspection end to end through the real form and API: answers, judgement of readings,
hazards and plan lines, photos, idempotency, and bad input that loses nothing."""

import io
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select

from inspect_app.db import db
from inspect_app.inspections import applicable_items
from inspect_app.models import Building, Checklist, Hazard, HazardEvent, Inspection, Photo
from inspect_app.photo_stores import store_from_config
from inspect_app.thresholds import evaluate

from .conftest import csrf_from, login

CANDIDATES = [
    Decimal(v) for v in ("0", "0.3", "0.4", "0.5", "1", "2", "5", "10", "50", "100", "500")
]


def jpeg(colour=(200, 30, 30), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def site(app, make, checklist):
    d = make.area("D", "district")
    grid = make.area("G", "grid", d)
    other = make.area("G2", "grid", d)
    building = make.building(grid, name="滨江花园1栋", height_m=Decimal("45"), storeys=15)
    far = make.building(other)
    inspector = make.user("inspector", "inspector", grid)
    manager = make.user("manager", "manager", None, [building])
    with app.app_context():
        b = db.session.get(Building, building.id)
        cl = db.session.get(Checklist, checklist.id)
        items = {i.code: i for i in applicable_items(cl, b)}
        answers = {}
        for code, item in items.items():
            if item.answer_type == "numeric":
                answers[code] = next(
                    v
                    for v in CANDIDATES
                    if evaluate(
                        item.rules,
                        v,
                        building_class=b.building_class,
                        flags=b.flags,
                        unit=item.unit,
                    ).result
                    == "pass"
                )
            else:
                answers[code] = "pass"
        fixable = next(c for c, i in items.items() if i.fix_on_spot and i.answer_type != "numeric")
        plain = next(
            c for c, i in items.items() if not i.fix_on_spot and i.answer_type != "numeric"
        )
    return dict(
        building=building,
        far=far,
        inspector=inspector,
        manager=manager,
        items=items,
        answers=answers,
        fixable=fixable,
        plain=plain,
    )


def form_data(site, overrides=None, client_uuid=None, kind="survey"):
    """The multipart fields a browser sends for an all-pass inspection, with overrides by
    item code (each a dict of finding fields)."""
    data = {"client_uuid": client_uuid or str(uuid.uuid4()), "kind": kind}
    for i, (code, answer) in enumerate(site["answers"].items()):
        data[f"findings-{i}-item"] = code
        if isinstance(answer, Decimal):
            data[f"findings-{i}-value"] = str(answer)
        else:
            data[f"findings-{i}-result"] = answer
        for key, value in ((overrides or {}).get(code) or {}).items():
            data[f"findings-{i}-{key}"] = value
    return data


def index_of(site, code):
    return list(site["answers"]).index(code)


def post_form(client, site, data):
    url = f"/buildings/{site['building'].id}/inspections/new"
    data = {**data, "csrf_token": csrf_from(client, url)}
    return client.post(url, data=data, content_type="multipart/form-data")


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_new_inspection_page_lists_every_applicable_item_by_category(client, site):
    login(client, "inspector")
    html = client.get(f"/buildings/{site['building'].id}/inspections/new").get_data(as_text=True)
    assert "检查：滨江花园1栋" in html
    for code in site["items"]:
        assert f'id="item-{code}"' in html
    assert "消防设施" in html and "生命通道" in html
    assert re.search(r'name="client_uuid"[^>]*value="[0-9a-f-]{36}"', html)


def test_all_pass_inspection_turns_the_code_green(app, client, site):
    login(client, "inspector")
    response = post_form(client, site, form_data(site))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "检查已提交" in page and "code-green" in page and "未发现隐患" in page
    with app.app_context():
        inspection = db.session.scalar(select(Inspection))
        assert len(inspection.findings) == len(site["items"])
        assert inspection.checklist.version


def test_low_static_pressure_becomes_a_major_hazard_with_a_plain_reason(app, client, site):
    login(client, "inspector")
    data = form_data(site, {"FAC-01": {"value": "0.05"}})
    response = post_form(client, site, data)
    assert response.status_code == 302
    with app.app_context():
        hazard = db.session.scalar(select(Hazard))
        assert hazard.severity == "major" and hazard.status == "open"
        assert hazard.description == "静压 0.05 MPa 低于二类高层住宅要求 0.07 MPa"
        assert hazard.responsible_party == "测试物业公司"
        assert hazard.deadline is not None and hazard.events[0].action == "created"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "code-red" in page


def test_fixed_on_the_spot_needs_an_after_photo_and_loses_nothing(app, client, site):
    login(client, "inspector")
    code = site["fixable"]
    i = index_of(site, code)
    data = form_data(site, {code: {"result": "fail", "disposition": "fixed", "note": "楼道堆物"}})
    data[f"findings-{i}-photos"] = (io.BytesIO(jpeg()), "before.jpg")
    response = post_form(client, site, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "当场整改需要上传整改后照片" in html
    assert "楼道堆物" in html  # what was entered is still there
    assert count(app, Inspection) == 0 and count(app, Hazard) == 0
    # The before-photo was kept as a pending upload and comes back by reference.
    sha = re.search(rf'name="findings-{i}-photo_refs-0"[^>]*value="([0-9a-f]{{64}})"', html)
    assert sha, "the good photo should be kept by reference"
    data[f"findings-{i}-photo_refs-0"] = sha.group(1)
    del data[f"findings-{i}-photos"]
    data[f"findings-{i}-after_photos"] = (io.BytesIO(jpeg((20, 160, 20))), "after.jpg")
    response = post_form(client, site, data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        hazard = db.session.scalar(select(Hazard))
        assert hazard.status == "fixed_on_spot" and hazard.closed_at is not None
        event = hazard.events[0]
        assert event.action == "fixed_on_spot" and len(event.photos) == 1
        finding_photos = hazard.finding.photos
        assert [p.sha256 for p in finding_photos] == [sha.group(1)]
        assert count(app, Photo) == 2


def test_plain_items_cannot_be_fixed_on_the_spot(client, site):
    login(client, "inspector")
    code = site["plain"]
    data = form_data(site, {code: {"result": "fail", "disposition": "fixed"}})
    response = post_form(client, site, data)
    assert response.status_code == 422
    assert "该项不能当场整改，请列入整改清单" in response.get_data(as_text=True)


def test_plan_line_fields_are_kept_and_past_deadline_refused(app, client, site):
    login(client, "inspector")
    code = site["plain"]
    fields = {
        "result": "fail",
        "responsible_party": "金科物业",
        "measures": "清理",
        "deadline": "2020-01-01",
    }
    response = post_form(client, site, form_data(site, {code: fields}))
    assert response.status_code == 422
    assert "整改期限不能早于今天" in response.get_data(as_text=True)
    fields["deadline"] = "2099-12-31"
    fields["funding"] = "物业专项维修资金"
    assert post_form(client, site, form_data(site, {code: fields})).status_code == 302
    with app.app_context():
        h = db.session.scalar(select(Hazard))
        assert (h.responsible_party, h.measures, str(h.deadline), h.funding) == (
            "金科物业",
            "清理",
            "2099-12-31",
            "物业专项维修资金",
        )


def test_missing_answer_absurd_reading_and_non_image_are_clear_errors(app, client, site):
    login(client, "inspector")
    data = form_data(site, {"FAC-01": {"value": "50"}})
    i = index_of(site, site["plain"])
    del data[f"findings-{i}-result"]
    j = index_of(site, site["fixable"])
    data[f"findings-{j}-photos"] = (io.BytesIO(b"<html><script>x</script></html>"), "x.jpg")
    html = post_form(client, site, data).get_data(as_text=True)
    assert "读数 50 MPa 不合理" in html
    assert "请选择 合格、隐患 或 不适用" in html
    assert "第 1 张照片" in html
    assert count(app, Inspection) == 0 and count(app, Photo) == 0


def test_resubmitting_the_same_form_is_a_replay_and_other_content_a_conflict(app, client, site):
    login(client, "inspector")
    data = form_data(site)
    first = post_form(client, site, data)
    again = post_form(client, site, data)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert count(app, Inspection) == 1
    changed = form_data(site, {"FAC-01": {"value": "0.05"}}, client_uuid=data["client_uuid"])
    conflict = post_form(client, site, changed)
    assert conflict.status_code == 409
    assert "已经提交过不同的内容" in conflict.get_data(as_text=True)
    assert count(app, Inspection) == 1 and count(app, Hazard) == 0


def test_other_grid_is_404_and_manager_may_only_self_check(client, site):
    login(client, "inspector")
    assert client.get(f"/buildings/{site['far'].id}/inspections/new").status_code == 404
    client.get("/logout")
    client2 = client.application.test_client()
    login(client2, "manager")
    html = client2.get(f"/buildings/{site['building'].id}/inspections/new").get_data(as_text=True)
    assert 'value="self_check"' in html and 'value="survey"' not in html
    bad = post_form(client2, site, form_data(site, kind="survey"))
    assert bad.status_code == 422
    assert post_form(client2, site, form_data(site, kind="self_check")).status_code == 302


def test_reinspection_marks_an_open_hazard_fixed_with_evidence(app, client, site):
    login(client, "inspector")
    post_form(client, site, form_data(site, {site["plain"]: {"result": "fail"}}))
    with app.app_context():
        hazard_id = db.session.scalar(select(Hazard.id))
    url = f"/buildings/{site['building'].id}/inspections/new"
    html = client.get(url).get_data(as_text=True)
    assert "复查：本楼待整改隐患（1）" in html
    data = form_data(site)
    data.update({"followups-0-hazard": str(hazard_id), "followups-0-outcome": "fixed"})
    response = post_form(client, site, data)
    assert response.status_code == 422 and "已整改需要上传整改照片" in response.get_data(
        as_text=True
    )
    data["followups-0-photos"] = (io.BytesIO(jpeg()), "fixed.jpg")
    assert post_form(client, site, data).status_code == 302
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        assert hazard.status == "submitted" and hazard.version == 2
        assert [e.action for e in hazard.events] == ["created", "evidence_submitted"]
        assert len(hazard.events[1].photos) == 1


# --- API -------------------------------------------------------------------------------------


@pytest.fixture
def token(app, site):
    from inspect_app.auth import issue_token
    from inspect_app.models import User

    with app.app_context():
        t = issue_token(db.session.get(User, site["inspector"].id), "test")
        db.session.commit()
    return {"Authorization": f"Bearer {t}"}


def api_body(site, client_uuid=None, overrides=None):
    findings = []
    for code, answer in site["answers"].items():
        entry = {"item": code}
        if isinstance(answer, Decimal):
            entry["value"] = float(answer)
        else:
            entry["result"] = answer
        entry.update((overrides or {}).get(code) or {})
        findings.append(entry)
    return {"client_uuid": client_uuid or str(uuid.uuid4()), "kind": "survey", "findings": findings}


def test_api_json_submission_replay_conflict_and_errors(app, client, site, token):
    url = f"/api/v1/buildings/{site['building'].code}/inspections"
    body = api_body(site)
    first = client.post(url, json=body, headers=token)
    assert first.status_code == 201, first.json
    again = client.post(url, json=body, headers=token)
    assert again.status_code == 200 and again.json == first.json
    other = api_body(site, body["client_uuid"], {"FAC-01": {"value": 0.01}})
    conflict = client.post(url, json=other, headers=token)
    assert conflict.status_code == 409 and conflict.json["error"] == "conflict"
    bad = client.post(url, json=api_body(site, overrides={"FAC-01": {"value": -1}}), headers=token)
    assert bad.status_code == 422 and "findings-0-value" in bad.json["errors"]
    assert (
        client.post(
            url, data="nope", headers={**token, "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert count(app, Inspection) == 1


def test_api_photo_first_then_reference(app, client, site, token):
    up = client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(jpeg()), "a.jpg")},
        headers=token,
        content_type="multipart/form-data",
    )
    assert up.status_code == 201
    sha = up.json["sha256"]
    dup = client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(jpeg()), "a.jpg")},
        headers=token,
        content_type="multipart/form-data",
    )
    assert dup.status_code == 200 and dup.json["sha256"] == sha
    bad = client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(b"GIF89a...."), "a.gif")},
        headers=token,
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and bad.json["error"] == "invalid_photo"
    code = site["fixable"]
    body = api_body(
        site,
        overrides={code: {"result": "fail", "disposition": "fixed", "after_photo_refs": [sha]}},
    )
    url = f"/api/v1/buildings/{site['building'].code}/inspections"
    response = client.post(url, json=body, headers=token)
    assert response.status_code == 201, response.json
    with app.app_context():
        hazard = db.session.scalar(select(Hazard))
        assert hazard.status == "fixed_on_spot"
        assert [p.sha256 for p in hazard.events[0].photos] == [sha]


def test_api_session_writes_need_a_csrf_token(client, site):
    login(client, "inspector")
    url = f"/api/v1/buildings/{site['building'].code}/inspections"
    assert client.post(url, json=api_body(site)).status_code == 400
    token = csrf_from(client, "/")
    assert client.post(url, json=api_body(site), headers={"X-CSRFToken": token}).status_code == 201


def test_checklist_endpoint_serves_the_current_version(client, site, token):
    body = client.get("/api/v1/checklists/current", headers=token).json
    assert len(body["categories"]) == 6 and len(body["items"]) >= 61
    assert {"code", "answer_type", "unit", "fix_on_spot"} <= set(body["items"][0])


def test_twenty_identical_parallel_submissions_create_one(app, site, token):
    url = f"/api/v1/buildings/{site['building'].code}/inspections"
    body = api_body(site, overrides={"FAC-01": {"value": 0.05}})
    statuses = []
    barrier = threading.Barrier(20)

    def post():
        c = app.test_client()
        barrier.wait()
        statuses.append(c.post(url, json=body, headers=token).status_code)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 19 + [201]
    assert count(app, Inspection) == 1 and count(app, Hazard) == 1
    assert count(app, HazardEvent) == 1


# --- photo access and the sweep ------------------------------------------------------------


def _upload(client, headers, colour=(10, 10, 200)):
    response = client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(jpeg(colour)), "p.jpg")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    return response.json["sha256"]


def test_pending_photo_is_visible_only_to_its_uploader(app, client, site, token, make):
    sha = _upload(client, token)
    with app.app_context():
        photo_id = db.session.scalar(select(Photo.id).where(Photo.sha256 == sha))
    response = client.get(f"/photos/{photo_id}/thumb", headers=token)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data[:3] == b"\xff\xd8\xff"
    make.user("fire", "fire", site["building"].area)
    other = app.test_client()
    login(other, "fire")
    assert other.get(f"/photos/{photo_id}").status_code == 404
    assert app.test_client().get(f"/photos/{photo_id}").status_code == 302


def test_sweep_removes_stale_pending_uploads_and_orphans_only(app, client, site, token):
    keep = _upload(client, token, (1, 2, 3))
    stale = _upload(client, token, (200, 200, 0))
    with app.app_context():
        old = db.session.scalar(select(Photo).where(Photo.sha256 == stale))
        old.created_at = datetime.now(UTC) - timedelta(days=10)
        db.session.commit()
    store = store_from_config(app.config)
    orphan = "ab" * 32
    store.put(orphan, jpeg(), jpeg())
    result = app.test_cli_runner().invoke(args=["sweep-photos", "--grace-hours", "1"])
    assert result.exit_code == 0, result.output
    # Files younger than the grace period stay even when unreferenced (uploads in flight).
    assert "removed 1 unused uploads" in result.output
    assert store.exists(keep) and store.exists(stale) and store.exists(orphan)
    with app.app_context():
        assert db.session.scalars(select(Photo.sha256)).all() == [keep]


def test_request_over_the_size_limit_is_a_clear_413(app, client, site, token, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 50_000)
    login(client, "inspector")
    data = form_data(site)
    data["findings-0-photos"] = (io.BytesIO(b"\xff\xd8\xff" + b"0" * 60_000), "big.jpg")
    response = post_form(client, site, data)
    assert response.status_code == 413
    assert "上传的内容太大" in response.get_data(as_text=True)
    api = client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(b"0" * 60_000), "big.jpg")},
        headers=token,
        content_type="multipart/form-data",
    )
    assert api.status_code == 413 and api.json["error"] == "too_large"
    assert count(app, Inspection) == 0
