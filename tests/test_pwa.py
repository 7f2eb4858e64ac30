"""The installable shell on the server: service worker, manifest and icons, offline and outbox
pages, the session probe, the offline pack and the inspection form template. What the browser
does with them is in tests/e2e/test_offline_*.py."""

import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from inspect_app.db import db
from inspect_app.inspections import applicable_items
from inspect_app.models import Building, Checklist, Hazard
from inspect_app.offline import SENTINELS

from .conftest import login

STATIC = Path(__file__).resolve().parent.parent / "static"


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def open_hazard(app, building, description="消防车道被占用", deadline=date(2099, 1, 31)):
    with app.app_context():
        hazard = Hazard(
            building_id=building.id,
            category="LIFE",
            severity="general",
            description=description,
            status="open",
            deadline=deadline,
        )
        db.session.add(hazard)
        db.session.commit()
        return hazard.id


def test_service_worker_is_served_at_the_root_as_javascript(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    source = response.get_data(as_text=True)
    version = re.search(r"const VERSION = '([0-9a-f]{12})';", source)
    assert version, "the server writes the shell's version in"
    shell = re.search(r"const SHELL_URLS = \[(.*?)\];", source).group(1)
    for url in ("/offline", "/static/css/app.css", "/static/js/outbox.js", "/static/js/form.js"):
        assert f"'{url}'" in shell or f'"{url}"' in shell
    # Every file it precaches exists, or its install would fail.
    for url in re.findall(r'"(/static/[^"]+)"', shell):
        assert client.get(url).status_code == 200, url


def test_shell_version_changes_with_the_shell(app, client, tmp_path):
    before = re.search(r"VERSION = '(\w+)'", client.get("/sw.js").get_data(as_text=True))[1]
    app.extensions.pop("pwa_shell_version")
    app.config["VERSION"] = "next"
    try:
        after = re.search(r"VERSION = '(\w+)'", client.get("/sw.js").get_data(as_text=True))[1]
    finally:
        app.config.pop("VERSION")
        app.extensions.pop("pwa_shell_version")
    assert before != after


def test_manifest_makes_the_app_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["name"] == "高层消防巡查" and manifest["short_name"]
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    page = client.get("/login").get_data(as_text=True)
    theme = re.search(r'<meta name="theme-color" content="([^"]+)"', page).group(1)
    assert manifest["theme_color"] == theme
    purposes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    for size in ("192x192", "512x512"):
        assert (size, "any") in purposes and (size, "maskable") in purposes
    for icon in manifest["icons"]:
        raw = client.get(icon["src"]).data
        image = Image.open(io.BytesIO(raw))
        assert image.format == "PNG"
        assert f"{image.width}x{image.height}" == icon["sizes"]


@pytest.mark.parametrize("size", [192, 512])
def test_maskable_icons_keep_the_drawing_in_the_safe_zone(size):
    image = Image.open(STATIC / "icons" / f"maskable-{size}.png").convert("RGBA")
    background = image.getpixel((0, 0))
    centre = size / 2
    outside = [
        image.getpixel((x, y))
        for x in range(0, size, 4)
        for y in range(0, size, 4)
        if (x - centre) ** 2 + (y - centre) ** 2 > (0.4 * size) ** 2
    ]
    assert all(p == background for p in outside)
    # Full bleed: the corners are painted (a mask may cut anywhere outside the safe zone).
    assert (
        Image.open(STATIC / "icons" / f"maskable-{size}.png").convert("RGBA").getpixel((0, 0))[3]
        == 255
    )


def test_staff_pages_link_the_manifest_and_scripts_public_pages_do_not(client, district):
    login_page = client.get("/login").get_data(as_text=True)
    assert 'rel="manifest"' in login_page and "js/outbox.js" in login_page
    assert 'id="outbox"' in login_page and 'data-user=""' in login_page
    assert 'data-session="out"' in login_page  # the phone drops the last user's kept pages
    login(client, "inspector")
    home = client.get("/").get_data(as_text=True)
    assert 'rel="manifest"' in home and 'data-user="inspector"' in home
    assert "js/form.js" not in home  # only the inspection form needs it
    client.post("/logout", data={"csrf_token": re.search(r'csrf_token" value="([^"]+)', home)[1]})
    with client.application.app_context():
        token = db.session.scalar(select(Building.qr_token).limit(1))
    public = client.get(f"/c/{token}").get_data(as_text=True)
    assert "outbox.js" not in public and 'rel="manifest"' not in public


def test_offline_page_names_nobody(client, district):
    login(client, "inspector")
    response = client.get("/offline")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "没有网络" in html and 'href="/outbox"' in html
    assert "inspector" not in html and "csrf_token" not in html
    assert 'data-session="out"' not in html  # offline is not logged out


def test_outbox_page_opens_logged_out(client):
    response = client.get("/outbox")
    assert response.status_code == 200
    assert 'id="outbox-list"' in response.get_data(as_text=True)


def test_session_probe_gives_a_token_the_api_accepts(client, district):
    anonymous = client.get("/api/v1/session")
    assert anonymous.json == {"authenticated": False}
    assert anonymous.headers["Cache-Control"] == "no-store"
    login(client, "inspector")
    probe = client.get("/api/v1/session")
    assert probe.headers["Cache-Control"] == "no-store"
    assert probe.json["authenticated"] is True and probe.json["username"] == "inspector"
    photo = {"photo": (io.BytesIO(jpeg()), "a.jpg")}
    refused = client.post("/api/v1/photos", data=photo, content_type="multipart/form-data")
    assert refused.status_code == 400
    photo = {"photo": (io.BytesIO(jpeg()), "a.jpg")}
    accepted = client.post(
        "/api/v1/photos",
        data=photo,
        content_type="multipart/form-data",
        headers={"X-CSRFToken": probe.json["csrf_token"]},
    )
    assert accepted.status_code == 201, accepted.json


def test_pack_needs_a_login(client, district):
    assert client.get("/pwa/pack.json").status_code == 302


def test_pack_holds_the_inspectors_buildings_only(app, client, district, checklist):
    mine = district["buildings"]["S1G1"]
    hazard_id = open_hazard(app, mine)
    login(client, "inspector")
    pack = client.get("/pwa/pack.json")
    assert pack.headers["Cache-Control"] == "no-store"
    body = pack.json
    with app.app_context():
        grid = db.session.scalars(
            select(Building).where(Building.area_id == district["areas"]["S1G1"].id)
        ).all()
        cl = db.session.get(Checklist, checklist.id)
        expected = {str(b.id): [i.code for i in applicable_items(cl, b)] for b in grid}
    assert body["user"] == "inspector"
    assert {k: v["items"] for k, v in body["buildings"].items()} == expected
    urls = [p["url"] for p in body["pages"]]
    assert urls[0] == "/" and urls[-1] == "/outbox"
    assert sorted(urls[1:-1]) == sorted(f"/buildings/{i}" for i in expected)
    entry = body["buildings"][str(mine.id)]
    assert entry["code"] == mine.code and entry["name"] == mine.name
    assert entry["responsible_party"] == "测试物业公司"
    assert entry["followups"] == [
        {"hazard": str(hazard_id), "text": "消防车道被占用", "meta": "一般 · 期限 2099-01-31"}
    ]
    assert body["template"]["url"] == "/pwa/inspection-form" and body["template"]["tag"]
    assert body["truncated"] is False


def test_pack_tags_change_when_a_building_changes(app, client, district, checklist):
    mine = district["buildings"]["S1G1"]
    login(client, "inspector")
    before = client.get("/pwa/pack.json").json
    open_hazard(app, mine)
    after = client.get("/pwa/pack.json").json
    tags = lambda p: {x["url"]: x["tag"] for x in p["pages"]}  # noqa: E731
    changed = {u for u in tags(before) if tags(before)[u] != tags(after)[u]}
    assert changed == {f"/buildings/{mine.id}", "/"}
    assert before["version"] != after["version"]
    assert client.get("/pwa/pack.json").json["version"] == after["version"]


def test_pack_is_capped_and_scoped_per_role(app, client, district, checklist):
    login(client, "manager")
    body = client.get("/pwa/pack.json").json
    assert list(body["buildings"]) == [str(district["buildings"]["S1G2"].id)]
    client.get("/logout")
    client = app.test_client()
    login(client, "admin")  # sees the district, records no inspections
    body = client.get("/pwa/pack.json").json
    assert body["template"] is None and body["buildings"] == {}
    assert len(body["pages"]) == 8 + 2
    app.config["OFFLINE_BUILDINGS"] = 3
    try:
        body = client.get("/pwa/pack.json").json
    finally:
        app.config.pop("OFFLINE_BUILDINGS")
    assert len(body["pages"]) == 3 + 2 and body["truncated"] is True


def test_form_template_has_every_item_and_placeholders(app, client, district, checklist):
    login(client, "inspector")
    response = client.get("/pwa/inspection-form")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    with app.app_context():
        codes = [i.code for i in db.session.get(Checklist, checklist.id).items]
    assert re.findall(r'id="item-([^"]+)"', html) == codes
    assert 'id="offline-template"' in html
    assert SENTINELS["name"] in html and SENTINELS["unit"] in html
    assert f'value="{SENTINELS["hazard"]}"' in html
    assert f'data-building-code="{SENTINELS["code"]}"' in html
    assert re.search(r'name="client_uuid"[^>]*value=""', html)
    kinds = re.findall(r'<option[^>]*value="(\w+)"', html)
    assert kinds == ["survey", "patrol", "acceptance"]


def test_form_template_is_for_those_who_inspect(client, district, checklist):
    login(client, "admin")
    assert client.get("/pwa/inspection-form").status_code == 403


def test_fetching_the_service_worker_never_logs_the_user_out(client, district):
    """Browsers fetch the worker script themselves, sometimes with another User-Agent than
    the page's; with strong session protection, loading the user there would end the
    session."""
    login(client, "inspector")
    assert client.get("/sw.js", headers={"User-Agent": "SomethingElse/1.0"}).status_code == 200
    assert client.get("/api/v1/session").json["authenticated"] is True


def _without_tokens(html: str) -> str:
    return re.sub(r'(csrf_token"[^>]*value=")[^"]+', r"\1", html)


def test_pages_bundle_answers_each_page_as_a_get_would(client, district, checklist):
    mine = district["buildings"]["S1G1"]
    theirs = district["buildings"]["S2G1"]
    login(client, "inspector")
    paths = ["/", f"/buildings/{mine.id}", f"/buildings/{theirs.id}", "/pwa/inspection-form"]
    paths += ["/ledger", "/logout", "https://example.org/"]  # not keepable: ignored
    query = "&".join(f"path={p}" for p in paths)
    response = client.get(f"/pwa/pages.json?{query}")
    assert response.headers["Cache-Control"] == "no-store"
    pages = {p["url"]: p for p in response.json["pages"]}
    # Another grid's building answers 404 to this user, so it is not in the bundle.
    assert list(pages) == ["/", f"/buildings/{mine.id}", "/pwa/inspection-form"]
    for url, page in pages.items():
        direct = client.get(url)
        assert _without_tokens(page["html"]) == _without_tokens(direct.get_data(as_text=True))
        assert page["headers"]["Content-Type"] == direct.headers["Content-Type"]
        assert (
            page["headers"]["Content-Security-Policy"] == direct.headers["Content-Security-Policy"]
        )
    # The pages carry this session's CSRF token: forms on a kept page still post.
    token = re.search(r'name="csrf_token" value="([^"]+)"', pages["/"]["html"]).group(1)
    photo = {"photo": (io.BytesIO(jpeg()), "a.jpg")}
    accepted = client.post(
        "/api/v1/photos",
        data=photo,
        content_type="multipart/form-data",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 201
    assert client.get("/api/v1/session").json["authenticated"] is True


def test_pages_bundle_needs_a_login(client, district):
    assert client.get("/pwa/pages.json?path=/").status_code == 302
