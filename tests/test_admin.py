"""Administration pages: areas, users (create, disable, reset password, scope), buildings
(search, edit, retire, never delete one with inspections) and API tokens, all within the
administrator's own subtree."""

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from inspect_app.db import db
from inspect_app.models import ApiToken, Area, Building, BuildingChange, Inspection, User

from .conftest import PASSWORD, csrf_from, login


def post(client, url, data, page=None):
    return client.post(url, data={**data, "csrf_token": csrf_from(client, page or url)})


def user(app, username):
    with app.app_context():
        row = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(row)
        return row


@pytest.fixture
def admin(client, district):
    login(client, "admin")
    return client


def test_only_administrators_reach_the_admin_pages(client, district):
    for username in ("inspector", "street", "fire", "manager"):
        login(client, username)
        for url in ("/admin/", "/admin/users", "/admin/areas", "/admin/buildings", "/admin/tokens"):
            assert client.get(url).status_code == 403, (username, url)
        client.post("/logout", data={"csrf_token": csrf_from(client, "/")})


def test_every_admin_page_renders_for_an_administrator(app, admin, district):
    victim = user(app, "manager")
    building = district["buildings"]["S1G2"]
    pages = {
        "/admin/": "楼栋",
        "/admin/areas": "添加区域",
        "/admin/users": "新建用户",
        "/admin/users/new": "初始密码",
        f"/admin/users/{victim.id}": building.code,
        "/admin/buildings": building.name,
        f"/admin/buildings/{building.id}": "停用楼栋",
        "/admin/tokens": "新建令牌",
        "/registry": "盲区清零",
        "/registry/changes": "楼栋信息更正",
    }
    for url, text in pages.items():
        response = admin.get(url)
        assert response.status_code == 200 and text in response.get_data(as_text=True), url
    assert "系统管理" in admin.get("/").get_data(as_text=True)


def test_areas_are_added_under_an_area_and_renamed(app, admin, district):
    page = admin.get("/admin/areas").get_data(as_text=True)
    assert "S1G1网格" in page and "S2G2网格" in page
    with app.app_context():
        s1c = db.session.scalar(select(Area).where(Area.code == "S1C"))
    data = {"parent": s1c.id, "code": "S1G3", "name": "第三网格", "level": "grid"}
    assert post(admin, "/admin/areas", data).status_code == 302
    with app.app_context():
        grid = db.session.scalar(select(Area).where(Area.code == "S1G3"))
        assert grid.path == "/D/S1/S1C/S1G3/" and grid.parent_id == s1c.id
    again = post(admin, "/admin/areas", data)
    assert again.status_code == 422 and "该区域编码已被使用" in again.get_data(as_text=True)
    upwards = post(admin, "/admin/areas", {**data, "code": "X", "level": "street"})
    assert "层级必须低于上级区域的层级" in upwards.get_data(as_text=True)
    slash = post(admin, "/admin/areas", {**data, "code": "a/b"})
    assert "不含空格或“/”" in slash.get_data(as_text=True)
    assert post(admin, f"/admin/areas/{grid.id}", {"name": "三网格"}).status_code == 302
    with app.app_context():
        assert db.session.get(Area, grid.id).name == "三网格"


def test_an_administrator_of_a_street_sees_only_that_street(app, client, make, district):
    make.user("admin1", "admin", district["areas"]["S1"])
    login(client, "admin1")
    with app.app_context():
        s2 = db.session.scalar(select(Area).where(Area.code == "S2"))
    assert client.get(f"/admin/areas/{s2.id}").status_code == 404
    far = post(client, "/admin/areas", {"parent": s2.id, "code": "Z", "name": "z", "level": "grid"})
    assert far.status_code == 422  # S2 is not among the choices
    users = client.get("/admin/users").get_data(as_text=True)
    assert "inspector" in users and ">fire<" not in users
    fire = user(app, "fire")
    assert client.get(f"/admin/users/{fire.id}").status_code == 404
    far_building = district["buildings"]["S2G1"]
    assert client.get(f"/admin/buildings/{far_building.id}").status_code == 404


def test_create_a_user_with_a_generated_password_shown_once(app, admin, client, district):
    with app.app_context():
        grid = db.session.scalar(select(Area).where(Area.code == "S2G1"))
    response = post(
        admin,
        "/admin/users/new",
        {
            "username": "li.si",
            "display_name": "李四",
            "phone": "13700000000",
            "role": "inspector",
            "area": grid.id,
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    password = re.search(r'class="secret">([^<]+)<', html).group(1)
    assert "只显示这一次" in html
    admin.post("/logout", data={"csrf_token": csrf_from(admin, "/")})
    assert login(client, "li.si", password).status_code == 302
    assert district["buildings"]["S2G1"].name in client.get("/").get_data(as_text=True)


def test_create_a_manager_with_buildings_and_bad_input(app, admin, district):
    own = district["buildings"]["S1G1"].code
    ok = post(
        admin,
        "/admin/users/new",
        {
            "username": "wuye2",
            "display_name": "物业二",
            "role": "manager",
            "area": 0,
            "buildings": f"{own}，",
            "password": "long-enough-1",
        },
    )
    assert ok.status_code == 302
    assert [b.code for b in user_buildings(app, "wuye2")] == [own]
    cases = [
        ({"username": "inspector"}, "该用户名已被使用"),
        ({"username": "张 三"}, "用户名只能用"),
        ({"buildings": "NOPE-1"}, "楼栋编码不存在或不在您的管辖范围内：NOPE-1"),
        ({"buildings": ""}, "请填写所管理楼栋的编码"),
        ({"password": "short"}, "密码至少 8 位"),
    ]
    for change, message in cases:
        data = {
            "username": "wuye3",
            "display_name": "物业三",
            "role": "manager",
            "area": 0,
            "buildings": own,
            **change,
        }
        response = post(admin, "/admin/users/new", data)
        assert response.status_code == 422 and message in response.get_data(as_text=True), change


def user_buildings(app, username):
    with app.app_context():
        row = db.session.scalar(select(User).where(User.username == username))
        return list(row.managed_buildings)


def _second_client(app, username, password=PASSWORD):
    other = app.test_client()
    assert login(other, username, password).status_code == 302
    assert other.get("/").status_code == 200
    return other


def test_disabling_ends_sessions_and_api_tokens(app, admin, district):
    victim = user(app, "inspector")
    phone = _second_client(app, "inspector")
    from inspect_app.auth import issue_token

    with app.app_context():
        token = issue_token(db.session.get(User, victim.id), "sync")
        db.session.commit()
    api = {"Authorization": f"Bearer {token}"}
    bare = app.test_client()  # no session cookie: the token alone authenticates
    assert bare.get("/api/v1/me", headers=api).status_code == 200
    url = f"/admin/users/{victim.id}/active"
    assert post(admin, url, {"active": "0"}, page=f"/admin/users/{victim.id}").status_code == 302
    assert phone.get("/").status_code == 302  # back to the login page
    assert bare.get("/api/v1/me", headers=api).status_code == 401
    assert login(app.test_client(), "inspector").status_code == 400  # refused
    assert post(admin, url, {"active": "1"}, page=f"/admin/users/{victim.id}").status_code == 302
    assert login(app.test_client(), "inspector").status_code == 302


def test_nobody_disables_themselves_or_changes_their_own_role(app, admin, district):
    me = user(app, "admin")
    url = f"/admin/users/{me.id}/active"
    response = post(admin, url, {"active": "0"}, page=f"/admin/users/{me.id}")
    assert "不能停用自己的账户" in admin.get(response.location).get_data(as_text=True)
    assert user(app, "admin").active
    with app.app_context():
        district_id = db.session.scalar(select(Area.id).where(Area.code == "D"))
    own = post(
        admin,
        f"/admin/users/{me.id}",
        {"display_name": "管理员", "role": "inspector", "area": district_id},
    )
    assert own.status_code == 422 and "不能修改自己的角色" in own.get_data(as_text=True)


def test_resetting_a_password_ends_the_old_sessions(app, admin, district):
    victim = user(app, "street")
    phone = _second_client(app, "street")
    url = f"/admin/users/{victim.id}/password"
    response = post(admin, url, {"password": "brand-new-pw"}, page=f"/admin/users/{victim.id}")
    assert response.status_code == 302
    assert phone.get("/").status_code == 302
    assert login(app.test_client(), "street").status_code == 400  # old password refused
    assert login(app.test_client(), "street", "brand-new-pw").status_code == 302
    assert user(app, "street").session_nonce != victim.session_nonce
    short = post(admin, url, {"password": "short"}, page=f"/admin/users/{victim.id}")
    assert short.status_code == 422 and "密码至少 8 位" in short.get_data(as_text=True)
    assert login(app.test_client(), "street", "brand-new-pw").status_code == 302
    generated = post(admin, url, {"password": ""}, page=f"/admin/users/{victim.id}")
    password = re.search(r'class="secret">([^<]+)<', generated.get_data(as_text=True)).group(1)
    assert login(app.test_client(), "street", password).status_code == 302


def test_setting_a_scope_changes_what_the_user_sees(app, admin, client, district):
    victim = user(app, "inspector")
    far = district["buildings"]["S2G2"]
    with app.app_context():
        s2g2 = db.session.scalar(select(Area).where(Area.code == "S2G2"))
    data = {"display_name": "网格员", "phone": "", "role": "inspector", "area": s2g2.id}
    assert post(admin, f"/admin/users/{victim.id}", data).status_code == 302
    phone = _second_client(app, "inspector")
    assert far.name in phone.get("/").get_data(as_text=True)
    bad = post(admin, f"/admin/users/{victim.id}", {**data, "area": 0})
    assert bad.status_code == 422 and "请选择管辖区域" in bad.get_data(as_text=True)


def test_buildings_search_edit_and_history(app, admin, make, district):
    b = make.building(district["areas"]["S1G1"], name="滨江花园9栋", height_m=Decimal("27"))
    listing = admin.get("/admin/buildings?q=滨江").get_data(as_text=True)
    assert "滨江花园9栋" in listing and district["buildings"]["S2G1"].name not in listing
    page = admin.get(f"/admin/buildings/{b.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = {
        "csrf_token": token,
        "name": "滨江花园九栋",
        "address": b.address,
        "area_id": b.area_id,
        "use": "residential",
        "height_m": "33.5",
        "storeys": "11",
        "underground_storeys": "0",
        "management_unit": "测试物业公司",
        "note": "竣工图纸核对",
    }
    response = admin.post(f"/admin/buildings/{b.id}", data=data)
    assert response.status_code == 302
    assert "楼栋类别由“非高层”变为“二类高层住宅”" in admin.get(response.location).get_data(
        as_text=True
    )
    with app.app_context():
        stored = db.session.get(Building, b.id)
        assert stored.name == "滨江花园九栋" and stored.height_m == Decimal("33.50")
        [change] = db.session.scalars(
            select(BuildingChange).where(BuildingChange.building_id == b.id)
        ).all()
        assert change.status == "accepted" and change.note == "竣工图纸核对"
        assert set(change.changes) == {"name", "height_m", "storeys"}
    history = admin.get(f"/buildings/{b.id}/changes").get_data(as_text=True)
    assert "竣工图纸核对" in history and "33.50" in history


def _inspect(app, building_id):
    with app.app_context():
        from inspect_app.checklists import load_checklist

        from .conftest import CATALOG

        checklist, _ = load_checklist(db.session, CATALOG)
        inspector = db.session.scalar(select(User).where(User.username == "inspector"))
        db.session.add(
            Inspection(
                client_uuid=str(uuid.uuid4()),
                kind="survey",
                building_id=building_id,
                checklist_id=checklist.id,
                inspector_id=inspector.id,
                started_at=datetime.now(UTC),
            )
        )
        db.session.commit()


def test_retire_restore_and_delete_only_without_inspections(app, admin, make, district):
    inspected = district["buildings"]["S1G1"]
    _inspect(app, inspected.id)
    page = f"/admin/buildings/{inspected.id}"
    assert "不能删除" in admin.get(page).get_data(as_text=True)
    response = post(admin, f"{page}/delete", {}, page=page)
    assert "已有 1 次检查记录，不能删除，只能停用" in admin.get(response.location).get_data(
        as_text=True
    )
    assert post(admin, f"{page}/retire", {}, page=page).status_code == 302
    with app.app_context():
        assert db.session.get(Building, inspected.id).retired_at is not None
    assert inspected.name not in admin.get("/").get_data(as_text=True)
    assert inspected.name in admin.get("/admin/buildings?status=retired").get_data(as_text=True)
    assert post(admin, f"{page}/restore", {}, page=page).status_code == 302
    with app.app_context():
        assert db.session.get(Building, inspected.id).retired_at is None

    mistake = make.building(district["areas"]["S1G1"], code="OOPS-1")
    with app.app_context():
        from inspect_app import building_changes

        street = db.session.scalar(select(User).where(User.username == "street"))
        building_changes.apply_direct(
            db.session, db.session.get(Building, mistake.id), {"storeys": 3}, user=street
        )
        db.session.commit()
    page = f"/admin/buildings/{mistake.id}"
    assert post(admin, f"{page}/delete", {}, page=page).status_code == 302
    with app.app_context():
        assert db.session.get(Building, mistake.id) is None
        assert db.session.get(Building, inspected.id) is not None


def test_api_tokens_are_created_once_and_revoked(app, admin, district):
    page = admin.post(
        "/admin/tokens",
        data={"csrf_token": csrf_from(admin, "/admin/tokens"), "username": "fire", "name": "大屏"},
    )
    assert page.status_code == 200
    token = re.search(r'class="url-box secret">([^<]+)<', page.get_data(as_text=True)).group(1)
    api = {"Authorization": f"Bearer {token}"}
    bare = app.test_client()  # no session cookie: the token alone authenticates
    assert bare.get("/api/v1/me", headers=api).json["username"] == "fire"
    assert token not in admin.get("/admin/tokens").get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
    response = post(admin, f"/admin/tokens/{row.id}/revoke", {}, page="/admin/tokens")
    assert response.status_code == 302
    assert bare.get("/api/v1/me", headers=api).status_code == 401
    unknown = admin.post(
        "/admin/tokens",
        data={"csrf_token": csrf_from(admin, "/admin/tokens"), "username": "nobody", "name": "x"},
    )
    assert unknown.status_code == 422 and "用户不存在" in unknown.get_data(as_text=True)
