"""The registry pages: upload with the report before anything is written, the template
download, the blind-spot listing (盲区清零) and who may use them."""

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from inspect_app.db import db
from inspect_app.models import Building, User

from .conftest import csrf_from, login
from .registry_files import (
    BUILDING_HEADER,
    USER_HEADER,
    building_row,
    snapshot,
    user_row,
    write_xlsx,
)


def _upload(client, path, button="submit"):
    token = csrf_from(client, "/registry/import")
    return client.post(
        "/registry/import",
        data={"csrf_token": token, button: "y", "file": (io.BytesIO(path.read_bytes()), path.name)},
        content_type="multipart/form-data",
    )


def switch(client, username):
    """Log out whoever is logged in, then log in as ``username``."""
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, username)


def _snapshot(app):
    with app.app_context():
        return snapshot(db.session)


def test_a_file_with_problems_shows_each_row_and_column_and_changes_nothing(
    app, client, district, tmp_path
):
    login(client, "street")
    path = write_xlsx(
        tmp_path / "bad.xlsx",
        {"楼栋": [BUILDING_HEADER, building_row("W-1"), building_row("W-2", storeys="十八")]},
    )
    before = _snapshot(app)
    response = _upload(client, path)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "文件有 1 个问题，未导入任何数据" in html
    assert "<td>楼栋</td><td>3</td><td>地上层数</td><td>必须是整数</td>" in html
    assert _snapshot(app) == before


def test_check_only_then_import(app, client, district, tmp_path):
    login(client, "street")
    path = write_xlsx(
        tmp_path / "ok.xlsx",
        {
            "楼栋": [BUILDING_HEADER, building_row("W-1", height_m=27.5)],
            "用户": [USER_HEADER, user_row("newgrid", area="S1G2")],
        },
    )
    before = _snapshot(app)
    checked = _upload(client, path, button="check")
    assert checked.status_code == 200
    assert "校验通过，尚未导入" in checked.get_data(as_text=True)
    assert _snapshot(app) == before

    imported = _upload(client, path)
    html = imported.get_data(as_text=True)
    assert imported.status_code == 200 and "导入完成" in html
    assert "新用户的初始密码" in html and "newgrid" in html
    with app.app_context():
        building = db.session.scalar(select(Building).where(Building.code == "W-1"))
        assert building.height_m == Decimal("27.50") and building.building_class == "R2"
        assert db.session.scalar(select(User).where(User.username == "newgrid")).role == "inspector"

    again = _upload(client, path)
    assert again.status_code == 200
    assert "新用户的初始密码" not in again.get_data(as_text=True)
    assert _snapshot(app) != before


def test_a_street_cannot_import_outside_its_street(app, client, district, tmp_path):
    login(client, "street")
    path = write_xlsx(
        tmp_path / "s2.xlsx", {"楼栋": [BUILDING_HEADER, building_row("W-9", "S2G1")]}
    )
    response = _upload(client, path)
    assert response.status_code == 422
    assert "区域“S2G1”不在您的管辖范围内" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Building.code == "W-9")) == 0


def test_upload_without_a_file_or_with_a_wrong_one(client, district, tmp_path):
    login(client, "admin")
    token = csrf_from(client, "/registry/import")
    response = client.post(
        "/registry/import",
        data={"csrf_token": token, "submit": "y"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "请选择要导入的 .xlsx 或 .csv 文件" in response.get_data(as_text=True)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    response = _upload(client, photo)
    assert response.status_code == 422
    assert "不支持的文件类型“.jpg”" in response.get_data(as_text=True)


def test_only_street_and_admin_import(client, district):
    for username in ("inspector", "manager", "fire"):
        login(client, username)
        assert client.get("/registry/import").status_code == 403
        assert client.get("/registry/template.xlsx").status_code == 403
        client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    assert client.get("/registry/import").status_code == 302  # anonymous: to the login page


def test_template_download(client, district):
    login(client, "street")
    response = client.get("/registry/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in workbook["楼栋"][1]] == BUILDING_HEADER


def _blind(make, district):
    s1g1, s2g1 = district["areas"]["S1G1"], district["areas"]["S2G1"]
    return {
        "multi": make.building(
            s1g1, code="BS-1", multi_owner=True, management_unit=None, fire_manager_name="王五"
        ),
        "blank": make.building(s1g1, code="BS-2", management_unit="  ", fire_manager_name=None),
        "far": make.building(
            s2g1, code="BS-3", multi_owner=True, management_unit=None, fire_manager_name="赵六"
        ),
        "fine": make.building(s1g1, code="BS-4", multi_owner=True, fire_manager_name="李四"),
    }


def test_blind_spots_list_buildings_without_unified_manager_in_scope(client, make, district):
    _blind(make, district)
    login(client, "street")
    html = client.get("/registry/blind-spots").get_data(as_text=True)
    assert "BS-1" in html and "BS-3" not in html and "BS-4" not in html and "BS-2" not in html
    html = client.get("/registry/blind-spots?kind=no_management_unit").get_data(as_text=True)
    assert "BS-1" in html and "BS-2" in html and "BS-3" not in html
    html = client.get("/registry/blind-spots?kind=no_fire_manager").get_data(as_text=True)
    assert "BS-2" in html and "BS-1" not in html
    assert client.get("/registry/blind-spots?kind=nonsense").status_code == 404

    switch(client, "fire")
    html = client.get("/registry/blind-spots").get_data(as_text=True)
    assert "BS-1" in html and "BS-3" in html


def test_blind_spots_export_as_csv_for_excel(client, make, district):
    _blind(make, district)
    login(client, "admin")
    response = client.get("/registry/blind-spots?kind=no_unified_manager&format=csv")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:2] == ["楼栋编码", "楼栋名称"]
    assert sorted(r[0] for r in rows[1:]) == ["BS-1", "BS-3"]


def test_grid_workers_see_their_grid_blind_spots_but_cannot_import(client, make, district):
    _blind(make, district)
    login(client, "inspector")
    html = client.get("/registry/blind-spots").get_data(as_text=True)
    assert "BS-1" in html and "BS-3" not in html
    assert client.get("/registry").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "manager")
    assert client.get("/registry/blind-spots").status_code == 403
