"""Each role sees exactly its scope; anything else answers 404 (pages and API alike)."""

import pytest

from .conftest import login

# Which grids' buildings each demo role may see in the ``district`` fixture.
VISIBLE = {
    "inspector": {"S1G1"},
    "street": {"S1G1", "S1G2"},
    "fire": {"S1G1", "S1G2", "S2G1", "S2G2"},
    "admin": {"S1G1", "S1G2", "S2G1", "S2G2"},
    "manager": {"S1G2"},
}


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_role_sees_its_buildings_and_gets_404_for_others(client, district, role):
    login(client, role)
    html = client.get("/").get_data(as_text=True)
    for grid, building in district["buildings"].items():
        page = client.get(f"/buildings/{building.id}")
        api = client.get(f"/api/v1/buildings/{building.code}")
        if grid in VISIBLE[role]:
            assert page.status_code == 200, (role, grid)
            assert api.status_code == 200 and api.json["code"] == building.code
            assert building.name in html
        else:
            assert page.status_code == 404, (role, grid)
            assert "找不到该页面" in page.get_data(as_text=True)
            assert api.status_code == 404 and api.json["error"] == "not_found"
            assert building.name not in html


def test_api_list_is_scoped(client, district):
    login(client, "street")
    body = client.get("/api/v1/buildings").json
    assert body["total"] == 4
    assert {b["area_code"] for b in body["items"]} == {"S1G1", "S1G2"}


def test_anonymous_is_sent_to_login_or_gets_json_401(client, district):
    building = district["buildings"]["S1G1"]
    assert client.get(f"/buildings/{building.id}").headers["Location"].startswith("/login")
    response = client.get("/api/v1/buildings")
    assert response.status_code == 401 and response.json["error"] == "unauthorized"


def test_unknown_building_is_404_not_500(client, district):
    login(client, "fire")
    assert client.get("/buildings/999999").status_code == 404


def test_search_by_name_address_and_code(client, district, make):
    grid = district["areas"]["S1G1"]
    make.building(grid, name="滨江花园3栋", address="古南街道滨江路8号", code="QJ-GN-000777")
    login(client, "inspector")
    for q in ("滨江花园", "滨江路8号", "000777"):
        html = client.get("/", query_string={"q": q}).get_data(as_text=True)
        assert "滨江花园3栋" in html, q
        assert "共 1 栋" in html, q
    html = client.get("/", query_string={"q": "100%_"}).get_data(as_text=True)
    assert "没有找到楼栋" in html


def test_search_does_not_escape_the_scope(client, district):
    login(client, "inspector")
    other = district["buildings"]["S2G2"]
    html = client.get("/", query_string={"q": other.code}).get_data(as_text=True)
    assert other.name not in html and "没有找到楼栋" in html


def test_api_token_authenticates_and_is_scoped(app, client, district):
    from inspect_app.auth import issue_token
    from inspect_app.db import db

    with app.app_context():
        user = db.session.merge(district["users"]["inspector"])
        token = issue_token(user, "test")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/buildings", headers=headers).json
    assert body["total"] == 2
    bad = client.get("/api/v1/buildings", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
