"""The fire safety code's public page: what anyone may see, what nobody may, tokens that do not
work, rotation, and where a logged-in user who scans lands."""

import json
import re
import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from inspect_app.db import db
from inspect_app.models import Building, Inspection, Photo, Report, User
from inspect_app.public import building_for_token

from . import code_site as fixtures
from .code_site import add_hazard, token_of
from .conftest import csrf_from, login

code_site = fixtures.code_site  # the fixture shared by the fire safety code tests

JSON = {"Accept": "application/json"}
PUBLIC_KEYS = {
    "name",
    "address",
    "use",
    "use_label",
    "building_class",
    "class_label",
    "height_m",
    "storeys",
    "colour",
    "colour_label",
    "reasons",
    "last_inspected_on",
    "fire_safety_manager",
    "management_unit",
    "commitment",
    "tips",
    "as_of",
}


def _inspect(app, building, inspector_username, checklist):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == inspector_username))
        db.session.add(
            Inspection(
                client_uuid=str(uuid.uuid4()),
                kind="survey",
                building_id=building.id,
                checklist_id=checklist.id,
                inspector_id=user.id,
                started_at=datetime.now(UTC),
                submitted_at=datetime.now(UTC),
                note="ZZCANARY_INSPECTION_NOTE",
            )
        )
        db.session.commit()


def test_anyone_sees_the_allow_listed_facts_without_logging_in(app, client, code_site):
    a = code_site["a"]
    with app.app_context():
        b = db.session.get(Building, a.id)
        b.public_commitment = "每日防火巡查，保持疏散通道畅通。"
        b.public_commitment_at = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
        db.session.commit()
    response = client.get(f"/c/{token_of(app, a)}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (
        "滨江花园1栋",
        "滨江路1号",
        "二类高层住宅",
        "灰码",
        "尚未检查",
        "王安全",
        "139-0000-1111",
        "金科物业",
        "023-6666-1234",
        "每日防火巡查，保持疏散通道畅通。",
        "承诺日期：2026-03-01",
        "电动自行车不要在楼道",
        "举报消防隐患",
        "119",
    ):
        assert text in html, text
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_json_carries_the_same_public_fields_and_nothing_more(app, client, code_site, checklist):
    a = code_site["a"]
    _inspect(app, a, "inspector", checklist)
    add_hazard(app, a, category="LIFE", description="三楼楼道堆放纸箱")
    token = token_of(app, a)
    body = client.get(f"/c/{token}", headers=JSON).get_json()
    assert set(body) == PUBLIC_KEYS
    assert body["colour"] == "yellow" and body["colour_label"] == "黄码"
    assert body["fire_safety_manager"] == {"name": "王安全", "phone": "139-0000-1111"}
    assert body["reasons"] == [
        {"category": "LIFE", "category_label": "生命通道", "text": "1 项问题正在整改"}
    ]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", body["last_inspected_on"])
    html = client.get(f"/c/{token}").get_data(as_text=True)
    # Everything the JSON says, the page says too.
    for value in (body["name"], body["address"], body["class_label"], body["colour_label"]):
        assert value in html
    assert body["last_inspected_on"] in html and "1 项问题正在整改" in html


def test_canaries_never_reach_the_public(app, client, code_site, checklist):
    """Seed every private thing with an unmistakable canary; none may leak."""
    a = code_site["a"]
    with app.app_context():
        inspector = db.session.scalar(select(User).where(User.username == "inspector"))
        inspector.display_name = "ZZCANARY_NAME"
        inspector.phone = "+00 0000 CANARY"
        manager = db.session.scalar(select(User).where(User.username == "manager"))
        manager.display_name = "ZZCANARY_MANAGER"
        manager.phone = "+00 0000 MANAGERCANARY"
        db.session.commit()
    _inspect(app, a, "inspector", checklist)
    hazard_id = add_hazard(
        app,
        a,
        category="FAC",
        severity="major",
        description="ZZCANARY_HAZARD 消火栓无水",
        responsible_party="ZZCANARY_PARTY",
        measures="ZZCANARY_MEASURES",
        funding="ZZCANARY_FUNDING",
    )
    with app.app_context():
        db.session.add(Photo(sha256="c" * 64, width=1, height=1, size_bytes=1, hazard_id=hazard_id))
        db.session.add(
            Report(building_id=a.id, description="ZZCANARY_REPORT", contact="ZZCANARY_CONTACT")
        )
        db.session.commit()
    token = token_of(app, a)
    html = client.get(f"/c/{token}").get_data(as_text=True)
    raw_json = client.get(f"/c/{token}", headers=JSON).get_data(as_text=True)
    body = json.loads(raw_json)
    assert body["colour"] == "red"
    for text in (html, raw_json, json.dumps(body, ensure_ascii=False)):
        assert "ZZCANARY" not in text and "CANARY" not in text
        assert "QJ-A-0001" not in text  # the registry code is internal
        assert "/photos/" not in text and "inspector" not in text
        assert "c" * 64 not in text
    assert "id" not in body and "code" not in body


def test_reasons_by_category_in_plain_words(app, client, code_site):
    a = code_site["a"]
    add_hazard(app, a, category="LIFE", deadline_in_days=-3, description="通道堵塞 A")
    add_hazard(app, a, category="LIFE", deadline_in_days=10, description="通道堵塞 B")
    add_hazard(app, a, category="FAC", severity="major", description="喷淋无水")
    add_hazard(app, a, category="ELEC", status="submitted", description="飞线充电")
    add_hazard(app, a, category="BLDG", supervised=True, description="防火门损坏")
    add_hazard(app, a, category="MGMT", status="closed", description="已整改的问题")
    body = client.get(f"/c/{token_of(app, a)}", headers=JSON).get_json()
    assert body["colour"] == "red"
    texts = {r["category_label"]: r["text"] for r in body["reasons"]}
    assert texts == {
        "消防设施": "1 项问题正在整改，含严重问题",
        "生命通道": "2 项问题正在整改，1 项已超过整改期限",
        "用电用气": "1 项问题已整改，等待验收",
        "建筑防火": "1 项问题正在整改，已挂牌督办",
    }
    raw = json.dumps(body, ensure_ascii=False)
    for description in ("通道堵塞", "喷淋无水", "飞线充电", "防火门损坏", "已整改的问题"):
        assert description not in raw


def test_unknown_malformed_and_revoked_tokens_answer_the_same_404(app, client, code_site):
    a = code_site["a"]
    old = token_of(app, a)
    result = app.test_cli_runner().invoke(args=["rotate-code", a.code])
    assert result.exit_code == 0, result.output
    cases = [
        old,  # revoked
        secrets.token_urlsafe(16),  # well-formed, never issued
        "short",
        "x" * 300,
        "not%20a%20token",
        "..%2F..%2Fetc",
        str(a.id),
        a.code,
    ]
    pages, bodies = set(), set()
    for token in cases:
        page = client.get(f"/c/{token}")
        assert page.status_code == 404, token
        html = page.get_data(as_text=True)
        pages.add(html.split("<main>")[1].split("</main>")[0])
        response = client.get(f"/c/{token}", headers=JSON)
        assert response.status_code == 404
        bodies.add(response.get_data(as_text=True))
        assert client.get(f"/c/{token}/report").status_code == 404
    assert len(pages) == 1 and "无效或已更换" in pages.pop()
    assert len(bodies) == 1
    assert json.loads(bodies.pop())["error"] == "not_found"


def test_ten_thousand_random_tokens_find_nothing(app, client, code_site):
    with app.app_context():
        issued = set(db.session.scalars(select(Building.qr_token)))
        assert len(issued) == 3
        hits = [t for t in (secrets.token_urlsafe(16) for _ in range(10_000)) if t not in issued]
        assert sum(building_for_token(db.session, t) is not None for t in hits) == 0
    # The same through HTTP for a sample (the full HTTP run adds nothing but time).
    for _ in range(200):
        assert client.get(f"/c/{secrets.token_urlsafe(16)}").status_code == 404


def test_tokens_are_random_128_bit_and_not_derived_from_the_building(app, code_site):
    with app.app_context():
        buildings = db.session.scalars(select(Building)).all()
        for b in buildings:
            assert re.fullmatch(r"[A-Za-z0-9_-]{22}", b.qr_token)  # 16 random bytes
            assert b.qr_token not in (str(b.id), b.code) and b.code not in b.qr_token
        assert len({b.qr_token for b in buildings}) == len(buildings)


def test_cli_rotation_prints_the_new_url_and_kills_the_old_one(app, client, code_site):
    a = code_site["a"]
    old = token_of(app, a)
    app.config["PUBLIC_BASE_URL"] = "https://xf.example.gov.cn"
    try:
        result = app.test_cli_runner().invoke(args=["rotate-code", a.code])
    finally:
        app.config["PUBLIC_BASE_URL"] = None
    new = token_of(app, a)
    assert result.exit_code == 0 and new != old
    assert result.output.strip() == f"{a.code} https://xf.example.gov.cn/c/{new}"
    assert client.get(f"/c/{old}").status_code == 404
    assert client.get(f"/c/{new}").status_code == 200
    bad = app.test_cli_runner().invoke(args=["rotate-code", "NO-SUCH"])
    assert bad.exit_code != 0 and "楼栋编码不存在：NO-SUCH" in bad.output
    assert token_of(app, a) == new


def test_admin_rotates_from_the_code_page_and_others_may_not(app, client, code_site):
    a = code_site["a"]
    old = token_of(app, a)
    login(client, "street")
    page = client.get(f"/buildings/{a.id}/code").get_data(as_text=True)
    assert "更换并作废旧二维码" not in page
    token = csrf_from(client, f"/buildings/{a.id}/code")
    assert (
        client.post(f"/buildings/{a.id}/code/rotate", data={"csrf_token": token}).status_code == 403
    )
    client.post("/logout", data={"csrf_token": token})
    login(client, "admin")
    page = client.get(f"/buildings/{a.id}/code").get_data(as_text=True)
    assert "更换并作废旧二维码" in page and f"/c/{old}" in page
    token = csrf_from(client, f"/buildings/{a.id}/code")
    response = client.post(f"/buildings/{a.id}/code/rotate", data={"csrf_token": token})
    assert response.status_code == 302
    new = token_of(app, a)
    assert new != old
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "旧二维码即刻失效" in page and f"/c/{new}" in page
    # Without the form's CSRF token nothing changes.
    assert client.post(f"/buildings/{a.id}/code/rotate").status_code == 400
    assert token_of(app, a) == new
    assert client.get(f"/c/{old}").status_code == 404


def test_a_scan_while_logged_in_goes_where_the_role_works(app, code_site, checklist):
    a, c = code_site["a"], code_site["c"]
    token_a, token_c = token_of(app, a), token_of(app, c)
    expected = {
        "inspector": f"/buildings/{a.id}/inspections/new",
        "manager": f"/manage/buildings/{a.id}",
        "street": f"/buildings/{a.id}",
        "fire": f"/buildings/{a.id}",
    }
    for username, target in expected.items():
        client = app.test_client()
        login(client, username)
        response = client.get(f"/c/{token_a}")
        assert response.status_code == 302, username
        assert response.headers["Location"] == target, username
        assert client.get(target).status_code == 200, username
        # Asking for the public view, or for JSON, never redirects.
        public = client.get(f"/c/{token_a}?public=1")
        assert public.status_code == 200 and "进入工作页面" in public.get_data(as_text=True)
        assert client.get(f"/c/{token_a}", headers=JSON).status_code == 200
    # Outside their scope they are members of the public like anyone else.
    for username in ("inspector", "manager", "street"):
        client = app.test_client()
        login(client, username)
        page = client.get(f"/c/{token_c}")
        assert page.status_code == 200 and "进入工作页面" not in page.get_data(as_text=True)


def test_api_gives_the_code_url_to_roles_that_print_posters(app, client, code_site):
    a = code_site["a"]
    token = token_of(app, a)
    login(client, "street")
    body = client.get(f"/api/v1/buildings/{a.code}").get_json()
    assert body["code_url"] == f"http://localhost/c/{token}"
    client2 = app.test_client()
    login(client2, "inspector")
    body = client2.get(f"/api/v1/buildings/{a.code}").get_json()
    assert "code_url" not in body and body["code"] == a.code
