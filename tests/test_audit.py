"""The audit log: committed changes and refused requests, with actor, role, object, time and
request id, and never a secret — checked in-process line by line, and against a real gunicorn
whose whole output (audit lines, access log, errors) is searched for every secret used."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from inspect_app import audit
from inspect_app.auth import issue_token
from inspect_app.db import db
from inspect_app.models import Building, Hazard, User

from .conftest import PASSWORD, csrf_from, login
from .gunicorn_server import Gunicorn, app_env
from .test_hazard_transitions import add_hazard, post, today


@pytest.fixture
def audit_log(app, tmp_path):
    """Audit lines go to a file for the test; ``read()`` answers them as dicts."""
    path = tmp_path / "audit.log"
    audit.configure(str(path))

    def read() -> list[dict]:
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    yield read
    audit.configure("-")


def changes(lines, table, action=None):
    return [
        line
        for line in lines
        if line["event"] == "change"
        and line["table"] == table
        and (action is None or line["action"] == action)
    ]


def denials(lines, reason=None):
    return [
        line
        for line in lines
        if line["event"] == "denied" and (reason is None or line["reason"] == reason)
    ]


def test_a_transition_is_logged_after_commit_with_actor_fields_and_request_id(
    app, client, district, audit_log
):
    hid = add_hazard(app, district["buildings"]["S1G1"])
    login(client, "street")
    later = (today(app) + timedelta(days=30)).isoformat()
    url = f"/hazards/{hid}"
    token = csrf_from(client, url)
    response = client.post(
        f"{url}/extend_deadline",
        data={
            "extend_deadline-version": 1,
            "extend_deadline-deadline": later,
            "extend_deadline-reason": "需采购设备",
            "extend_deadline-csrf_token": token,
        },
        headers={"X-Request-ID": "req-extend-0001"},
    )
    assert response.status_code == 302
    assert response.headers["X-Request-ID"] == "req-extend-0001"
    lines = [line for line in audit_log() if line.get("request_id") == "req-extend-0001"]
    [update] = changes(lines, "hazard", "update")
    assert update["ids"] == [hid]
    assert "deadline" in update["fields"]
    [event] = changes(lines, "hazard_event", "insert")
    assert update["actor"] == event["actor"] == "street"
    assert update["role"] == "street"
    assert update["method"] == "POST" and update["path"] == f"{url}/extend_deadline"
    assert update["time"].endswith("+00:00")
    # Values are never logged: the new deadline and the reason appear nowhere.
    text = json.dumps(lines, ensure_ascii=False)
    assert later not in text and "需采购设备" not in text


def test_work_that_is_rolled_back_is_not_logged(app, client, district, audit_log):
    hid = add_hazard(app, district["buildings"]["S1G1"])
    login(client, "street")
    before = len(audit_log())
    # An earlier deadline is refused: the form comes back and nothing is written.
    earlier = (today(app) - timedelta(days=1)).isoformat()
    r = post(client, hid, "extend_deadline", {"version": 1, "deadline": earlier, "reason": "x"})
    assert r.status_code == 422
    # A stale version: the transition is refused after the row was read.
    r = post(client, hid, "reject", {"version": 7, "reason": "材料不全"})
    assert r.status_code == 409
    new = audit_log()[before:]
    assert not changes(new, "hazard") and not changes(new, "hazard_event")
    with app.app_context():
        assert db.session.get(Hazard, hid).version == 1


def test_flushed_work_is_logged_only_when_its_transaction_commits(app, district, audit_log):
    building = district["buildings"]["S1G1"]
    with app.app_context():
        db.session.get(Building, building.id).name = "已回滚的名字"
        db.session.flush()
        db.session.rollback()

        # A released savepoint is not a commit: its outer transaction still rolls back.
        with db.session.begin_nested():
            db.session.get(Building, building.id).storeys = 77
        db.session.rollback()

        b = db.session.get(Building, building.id)
        b.management_unit = "外层物业"
        db.session.flush()
        with contextlib.suppress(RuntimeError), db.session.begin_nested():
            b.storeys = 99
            db.session.flush()
            raise RuntimeError("savepoint rolled back")
        db.session.commit()
    [line] = changes(audit_log(), "building")
    assert line["ids"] == [building.id] and line["fields"] == ["management_unit"]
    assert line["actor"] == "system"


def test_refusals_are_logged_with_their_reason_and_object(app, client, district, audit_log):
    far = district["buildings"]["S2G1"]
    hid = add_hazard(app, far)
    login(client, "inspector")
    assert client.get(f"/hazards/{hid}").status_code == 404
    assert client.get("/admin/users").status_code == 403
    assert client.post("/logout", data={}).status_code == 400  # no CSRF token
    assert client.get("/no/such/page").status_code == 404
    lines = audit_log()
    [out_of_scope] = denials(lines, "not_found")
    assert out_of_scope["actor"] == "inspector" and out_of_scope["role"] == "inspector"
    assert out_of_scope["endpoint"] == "hazards.show"
    assert out_of_scope["object"] == {"hazard_id": hid}
    assert out_of_scope["status"] == 404 and out_of_scope["request_id"]
    [forbidden] = denials(lines, "forbidden")
    assert forbidden["status"] == 403 and forbidden["path"] == "/admin/users"
    [csrf] = denials(lines, "csrf")
    assert csrf["status"] == 400 and csrf["path"] == "/logout" and csrf["actor"] == "inspector"
    # A path no route knows is not access to an object.
    assert not [line for line in lines if line.get("path") == "/no/such/page"]


def test_anonymous_and_token_refusals(app, client, district, audit_log):
    assert client.get("/ledger").status_code == 302
    assert client.get("/api/v1/hazards").status_code == 401
    r = client.get("/api/v1/hazards", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    lines = audit_log()
    [page] = denials(lines, "login_required")
    assert page["actor"] == "anonymous" and page["role"] is None and page["status"] == 302
    assert len(denials(lines, "unauthenticated")) == 2
    assert "not-a-token" not in json.dumps(lines)


def test_failed_logins_name_only_real_accounts(app, client, district, audit_log):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = (2, 900)
    try:
        assert login(client, "inspector", "wrong password 1").status_code == 400
        # Somebody types the password into the name field: it must not be logged.
        assert login(client, PASSWORD, "x").status_code == 400
        assert login(client, "inspector", "wrong password 2").status_code == 400
        assert login(client, "inspector", PASSWORD).status_code == 429
    finally:
        app.config["LOGIN_LIMIT_PER_ACCOUNT"] = (10, 900)
    lines = audit_log()
    failed = denials(lines, "login_failed")
    assert [line["account"] for line in failed] == ["inspector", None, "inspector"]
    assert all(line["actor"] == "anonymous" for line in failed)
    assert denials(lines, "rate_limited")[0]["status"] == 429
    text = json.dumps(lines, ensure_ascii=False)
    assert PASSWORD not in text and "wrong password" not in text

    assert login(client, "street").status_code == 302
    [logged_in] = [line for line in audit_log() if line["event"] == "login"]
    assert logged_in["actor"] == "street" and logged_in["role"] == "street"


def test_request_ids_from_clients_are_kept_only_when_they_look_like_one(client, audit_log):
    kept = client.get("/healthz", headers={"X-Request-ID": "abc.DEF-123_456"})
    assert kept.headers["X-Request-ID"] == "abc.DEF-123_456"
    for junk in ("short", "x" * 65, 'a" "injected": "1', "line\u2028break-00"):
        replaced = client.get("/healthz", headers={"X-Request-ID": junk})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])
    missing = client.get("/api/v1/hazards")
    assert missing.json["request_id"] == missing.headers["X-Request-ID"]


def test_error_pages_show_the_request_id(client, district):
    login(client, "inspector")
    response = client.get("/admin/users", headers={"X-Request-ID": "support-case-42"})
    assert response.status_code == 403
    assert "support-case-42" in response.get_data(as_text=True)


def test_command_line_changes_name_the_command(app, district, audit_log):
    building = district["buildings"]["S1G1"]
    result = app.test_cli_runner().invoke(args=["rotate-code", building.code])
    assert result.exit_code == 0, result.output
    [line] = changes(audit_log(), "building", "update")
    assert line["actor"].startswith("system:") and "rotate-code" in line["actor"]
    assert line["ids"] == [building.id] and "qr_token" in line["fields"]
    assert "request_id" not in line


# ---------------------------------------------------------------------------------------------
# No secret in anything a real server prints
# ---------------------------------------------------------------------------------------------


def _csrf(session: requests.Session, url: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', session.get(url).text)
    assert match, url
    return match.group(1)


def test_a_real_server_never_prints_passwords_tokens_or_session_data(app, district, tmp_path):
    new_password = "Reset-Password-7f3a9c"
    with app.app_context():
        inspector = db.session.scalar(select(User).where(User.username == "inspector"))
        api_token = issue_token(inspector, "phone")
        db.session.commit()
        inspector_id = inspector.id
        password_hash = inspector.password_hash
    server = Gunicorn(
        app_env(app),
        tmp_path / "server.log",
        options=("--access-logfile", "-", "--log-level", "debug"),
    ).start()
    try:
        browser = requests.Session()
        token = _csrf(browser, server.base + "/login")
        secrets = {PASSWORD, new_password, api_token, password_hash, token}
        # A password typed into the name field, a wrong password, then the right one.
        for username, password in ((PASSWORD, "x"), ("admin", "nope"), ("admin", PASSWORD)):
            r = browser.post(
                server.base + "/login",
                data={"username": username, "password": password, "csrf_token": token},
                allow_redirects=False,
            )
            token = _csrf(browser, server.base + "/login") if r.status_code != 302 else token
        assert r.status_code == 302
        secrets.update(c.value for c in browser.cookies)
        page = f"{server.base}/admin/users/{inspector_id}"
        form_token = _csrf(browser, page)
        secrets.add(form_token)
        r = browser.post(
            f"{server.base}/admin/users/{inspector_id}/password",
            data={"password": new_password, "csrf_token": form_token},
            allow_redirects=False,
        )
        assert r.status_code in (200, 302), r.text[:500]
        secrets.update(c.value for c in browser.cookies)
        # The API with the token, and a refusal with a wrong one.
        bearer = {"Authorization": f"Bearer {api_token}"}
        assert requests.get(server.base + "/api/v1/hazards", headers=bearer).status_code in (
            200,
            401,  # the password reset stops the user's tokens
        )
        assert (
            requests.get(
                server.base + "/api/v1/hazards", headers={"Authorization": "Bearer " + new_password}
            ).status_code
            == 401
        )
        browser.post(server.base + "/logout", data={"csrf_token": _csrf(browser, page)})
    finally:
        server.close()
    output = server.log.read_text(encoding="utf-8", errors="replace")
    audit_lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line["event"] == "login" and line["actor"] == "admin" for line in audit_lines)
    assert any(
        line["event"] == "change" and line["table"] == "user" and inspector_id in line["ids"]
        for line in audit_lines
    )
    assert any(line.get("reason") == "login_failed" for line in audit_lines)
    assert " /admin/users/" in output  # the access log is on and was searched too
    for secret in secrets:
        assert secret and secret not in output, f"a secret reached the output: {secret[:6]}…"
