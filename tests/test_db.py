"""Engine settings: SQLite commits are durable against power loss unless configured otherwise."""

import os

import pytest
from sqlalchemy import text

from inspect_app import create_app
from inspect_app.db import db

from .conftest import PG_URL


@pytest.mark.skipif(bool(PG_URL), reason="an SQLite setting; the SQLite pass runs it")
@pytest.mark.parametrize(("setting", "expected"), [(None, 2), ("NORMAL", 1), ("bogus", 2)])
def test_sqlite_synchronous_is_full_unless_configured(tmp_path, setting, expected):
    config = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "SECRET_KEY": "x",
        "PHOTO_DIR": str(tmp_path / "photos"),
        "AUDIT_LOG": os.devnull,
    }
    if setting is not None:
        config["SQLITE_SYNCHRONOUS"] = setting
    app = create_app(config)
    with app.app_context():
        # 2 = FULL, 1 = NORMAL
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == expected
        db.session.remove()
        db.engine.dispose()
