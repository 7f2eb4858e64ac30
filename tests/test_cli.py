"""CLI commands: they work, and bad input exits non-zero with one readable line."""

from pathlib import Path

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from inspect_app.db import db
from inspect_app.models import ApiToken, Checklist, User

from .conftest import CATALOG


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_create_user_with_area_and_printed_password(app, district):
    result = _run(app, "create-user", "wang", "--role", "inspector", "--area", "S2G1")
    assert result.exit_code == 0, result.output
    password = result.output.split("password: ")[1].strip()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "wang"))
        assert user.area.code == "S2G1" and check_password_hash(user.password_hash, password)


def test_create_manager_with_buildings(app, district):
    code = district["buildings"]["S2G2"].code
    result = _run(
        app, "create-user", "wy", "--role", "manager", "--building", code, "--password", "pw-123456"
    )
    assert result.exit_code == 0, result.output
    assert "password" not in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "wy"))
        assert [b.code for b in user.managed_buildings] == [code]


def test_create_user_bad_input(app, district):
    cases = [
        (("create-user", "x", "--role", "inspector", "--area", "NOPE"), "区域编码不存在"),
        (("create-user", "x", "--role", "inspector"), "需要用 --area"),
        (("create-user", "inspector", "--role", "fire", "--area", "D"), "用户已存在"),
        (("create-user", "x", "--role", "manager", "--building", "NOPE"), "楼栋编码不存在"),
        (("create-user", "x", "--role", "wizard", "--area", "D"), "Invalid value"),
    ]
    for args, message in cases:
        result = _run(app, *args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 5


def test_create_token_prints_a_token_that_works(app, client, district):
    result = _run(app, "create-token", "fire", "--label", "duty screen")
    assert result.exit_code == 0
    token = result.output.strip()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json["username"] == "fire"
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.name == "duty screen" and token not in (row.token_sha256, row.prefix)
    assert _run(app, "create-token", "nobody").exit_code != 0


def test_load_checklist_is_idempotent_and_rejects_bad_files(app, tmp_path: Path):
    first = _run(app, "load-checklist", str(CATALOG))
    assert first.exit_code == 0 and "loaded" in first.output, first.output
    again = _run(app, "load-checklist", str(CATALOG))
    assert again.exit_code == 0 and "unchanged" in again.output
    broken = tmp_path / "broken.toml"
    broken.write_text("this is = = not toml")
    result = _run(app, "load-checklist", str(broken))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    missing = _run(app, "load-checklist", str(tmp_path / "missing.toml"))
    assert missing.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checklist)) == 1
