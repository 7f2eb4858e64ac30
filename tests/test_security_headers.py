"""Security headers on every response, session cookies, session rotation on login, and the
login rate limit (per account and per address, 429 with a Chinese message)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inspect_app.db import db
from inspect_app.models import RateLimitWindow
from tests.conftest import PASSWORD, csrf_from, login, make_test_app

TEMPLATES = Path(__file__).resolve().parent.parent / "inspect_app" / "templates"


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: " ".join(part.split()[1:])
        for part in (p.strip() for p in policy.split(";"))
        if part
    }


@pytest.mark.parametrize(
    "url", ["/login", "/healthz", "/api/v1/openapi.json", "/static/css/app.css", "/nowhere"]
)
def test_anonymous_responses_carry_the_security_headers(client, url):
    response = client.get(url)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin")
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    script = csp.get("script-src", csp["default-src"])
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "'unsafe-inline'" not in csp.get("style-src", csp["default-src"])
    assert response.headers["X-Frame-Options"] == "DENY"


def test_authenticated_pages_are_not_stored(client, district):
    login(client, "inspector")
    for url in ("/", "/inbox", "/api/v1/me", f"/buildings/{district['buildings']['S1G1'].id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response.headers["Cache-Control"], url
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_templates_need_no_inline_script_or_style():
    """The policy allows no inline script or style, so no page may depend on one (PDF-only
    templates, rendered on the server, are the exception)."""
    offenders = []
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.I)
    for path in TEMPLATES.rglob("*.html"):
        if path.parent.name == "pdf":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if inline.search(line):
                offenders.append(f"{path.relative_to(TEMPLATES)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_session_cookie_flags(client, district):
    response = login(client, "inspector")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in tests


def test_session_cookie_is_secure_over_https(tmp_path, app, district):
    https = make_test_app(tmp_path, app.config["DATABASE_URL"], HTTPS=True)
    client = https.test_client()
    response = login(client, "inspector")
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert "max-age" in client.get("/login").headers["Strict-Transport-Security"]


def test_login_starts_a_new_session(client, district):
    """Nothing planted in the session before login survives it (session fixation), and the
    CSRF token of the anonymous session is not valid afterwards."""
    before = csrf_from(client, "/login")
    with client.session_transaction() as sess:
        sess["planted"] = "attacker"
    assert login(client, "inspector").status_code == 302
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"].startswith(str(district["users"]["inspector"].id) + ":")
    # A form sent with the token from before the login is refused.
    response = client.post("/inbox/read-all", data={"csrf_token": before})
    assert response.status_code == 400


def test_logout_ends_the_session(client, district):
    login(client, "inspector")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/").text).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert "/login" in client.get("/").headers["Location"]


def _attempt(client, username, password):
    token = csrf_from(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_failed_logins_are_limited_per_account(app, client, district):
    limit, _ = app.config["LOGIN_LIMIT_PER_ACCOUNT"]
    for _ in range(limit):
        assert _attempt(client, "inspector", "wrong").status_code == 400
    # Past the limit even the right password is not checked.
    response = _attempt(client, " Inspector ", PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "登录尝试次数过多" in response.text and "分钟后再试" in response.text
    # Other accounts from elsewhere are not affected.
    other = app.test_client()
    assert login(other, "street").status_code == 302


def test_failed_logins_are_limited_per_address(app, client, district):
    limit, _ = app.config["LOGIN_LIMIT_PER_ADDRESS"]
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = (3, 900)
    try:
        for n in range(3):
            assert _attempt(client, f"nobody{n}", "wrong").status_code == 400
        assert _attempt(client, "street", PASSWORD).status_code == 429
        # Another address still logs in.
        other = app.test_client()
        response = other.post(
            "/login",
            data={
                "username": "street",
                "password": PASSWORD,
                "csrf_token": csrf_from(other, "/login"),
            },
            environ_base={"REMOTE_ADDR": "10.1.2.3"},
        )
        assert response.status_code == 302
    finally:
        app.config["LOGIN_LIMIT_PER_ADDRESS"] = (limit, 900)


def test_successful_logins_do_not_count(app, district):
    limit, _ = app.config["LOGIN_LIMIT_PER_ACCOUNT"]
    for _ in range(limit + 2):
        assert login(app.test_client(), "fire").status_code == 302


def test_rate_limit_keys_hold_no_names_or_addresses(app, client, district):
    _attempt(client, "inspector", "wrong")
    with app.app_context():
        keys = [row.key for row in db.session.scalars(db.select(RateLimitWindow))]
    assert len(keys) == 2
    assert not any("inspector" in k or "127.0.0.1" in k for k in keys)
