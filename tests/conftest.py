"""Fixtures: one migrated database per test session, emptied after every test.

The database is SQLite in a temporary folder, or PostgreSQL when ``INSPECT_TEST_DATABASE_URL``
names one (``scripts/test.sh`` runs the suite once on each).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from werkzeug.security import generate_password_hash

from inspect_app import create_app
from inspect_app.db import db
from inspect_app.models import Area, Building, User

PG_URL = os.environ.get("INSPECT_TEST_DATABASE_URL")
CATALOG = Path(__file__).resolve().parent.parent / "inspect_app" / "checklists" / "catalog.toml"
PASSWORD = "correct horse 9"
# Hashing with few rounds keeps tests fast; authentication still checks a real hash.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def pytest_report_header(config):
    return f"database: {make_url(PG_URL).render_as_string() if PG_URL else 'sqlite (temporary)'}"


def fresh_database_url(tmp_path: Path) -> str:
    """An empty database of the engine under test: a new SQLite file or a new PG database."""
    if not PG_URL:
        return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def make_test_app(tmp_path: Path, url: str, **extra):
    config = {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret",
        "PHOTO_DIR": str(tmp_path / "photos"),
        "TIMEZONE": "Asia/Shanghai",
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture(scope="session")
def _app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    app = make_test_app(tmp, fresh_database_url(tmp))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


@pytest.fixture
def app(_app):
    """The session's app; every table is emptied after the test."""
    yield _app
    with _app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        # A request still finishing on a live server can hold a lock the emptying needs;
        # a deadlock then rolls one side back, and trying again succeeds.
        for attempt in range(5):
            try:
                with db.engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        quoted = ", ".join(f'"{t}"' for t in tables)
                        conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
                    else:
                        for t in tables:
                            conn.execute(text(f'DELETE FROM "{t}"'))
                break
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db_session(app):
    """``db.session`` inside an app context held for the whole test.

    Requests made by ``client`` while this context is open would share its ``g`` (and so a
    stale CSRF token): tests that drive the client use ``make``/``district`` instead, which
    open a context only while they write.
    """
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def checklist(app):
    from inspect_app.checklists import load_checklist

    with app.app_context():
        row, _ = load_checklist(db.session, CATALOG)
        db.session.commit()
        return _detached(row, "items")


def _detached(obj, *relations):
    """Load ``relations``, then detach ``obj`` so the test can read it after the context ends."""
    db.session.refresh(obj)
    for name in relations:
        getattr(obj, name)
    db.session.expunge_all()
    return obj


class Builders:
    """``make_*`` helpers: each writes committed rows in its own app context and returns
    detached objects whose columns (and ``area``) can still be read."""

    def __init__(self, app):
        self.app = app
        self.n = 0

    def _save(self, obj, *relations):
        with self.app.app_context():
            obj = db.session.merge(obj)
            db.session.commit()
            return _detached(obj, *relations)

    def area(self, code: str, level: str, parent: Area | None = None, name: str | None = None):
        return self._save(
            Area(
                code=code,
                name=name or code,
                level=level,
                parent_id=parent.id if parent else None,
                path=Area.child_path(parent, code),
            )
        )

    def building(self, area: Area, **kw) -> Building:
        self.n += 1
        n = self.n
        values = dict(
            code=f"B-{n:05d}",
            name=f"测试花园{n}栋",
            address=f"测试路{n}号",
            area_id=area.id,
            use="residential",
            height_m=Decimal("54.0"),
            storeys=18,
            management_unit="测试物业公司",
        )
        values.update(kw)
        return self._save(Building(**values), "area")

    def user(self, username: str, role: str, area: Area | None = None, buildings=(), **kw) -> User:
        with self.app.app_context():
            user = User(
                username=username,
                display_name=kw.pop("display_name", username),
                role=role,
                area_id=area.id if area else None,
                password_hash=FAST_HASH,
                **kw,
            )
            user.managed_buildings = [db.session.get(Building, b.id) for b in buildings]
            db.session.add(user)
            db.session.commit()
            return _detached(user)


@pytest.fixture
def make(app):
    return Builders(app)


@pytest.fixture
def district(make):
    """A small tree: district D → streets S1, S2 → one community each → two grids each,
    with two buildings per grid (``buildings`` keeps the second of each) and one user per
    role: inspector in S1G1, street S1, fire and admin D, manager of S1G2's building."""
    d = make.area("D", "district", name="测试区")
    areas = {"D": d}
    buildings = {}
    for s in ("S1", "S2"):
        street = make.area(s, "street", d, name=f"{s}街道")
        community = make.area(f"{s}C", "community", street, name=f"{s}社区")
        areas[s] = street
        for g in ("G1", "G2"):
            grid = make.area(f"{s}{g}", "grid", community, name=f"{s}{g}网格")
            areas[f"{s}{g}"] = grid
            for _ in range(2):
                buildings[grid.code] = make.building(grid)
    users = {
        "inspector": make.user("inspector", "inspector", areas["S1G1"]),
        "street": make.user("street", "street", areas["S1"]),
        "fire": make.user("fire", "fire", d),
        "admin": make.user("admin", "admin", d),
        "manager": make.user("manager", "manager", None, [buildings["S1G2"]]),
    }
    return {"areas": areas, "users": users, "buildings": buildings}


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(client, url: str) -> str:
    """The CSRF token of the form on ``url``, as a browser would read it."""
    page = client.get(url)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_from(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
