"""Backups restore to the same ledger: SQLite through the ``backup`` command (online backup API,
taken while the app writes), PostgreSQL through pg_dump and pg_restore."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from inspect_app import hazards
from inspect_app.codes import building_codes
from inspect_app.db import db
from inspect_app.models import Building, Hazard, HazardEvent, User

from .conftest import PG_URL, make_test_app

TODAY = date(2026, 6, 1)


@pytest.fixture
def ledger(app, make):
    """Three buildings with hazards in several states and severities, and their history."""
    grid = make.area("G", "grid", make.area("D", "district"))
    buildings = [make.building(grid, height_m=Decimal("60")) for _ in range(3)]
    inspector = make.user("inspector", "inspector", grid)
    with app.app_context():
        actor = db.session.get(User, inspector.id)
        plan = hazards.PlanLine("物业公司", "清理通道", date(2026, 7, 1), "物业维修资金")
        for n, (b, severity) in enumerate(
            [(b, s) for b in buildings for s in ("minor", "general", "major")]
        ):
            building = db.session.get(Building, b.id)
            hazard, _ = hazards.create(
                db.session,
                building=building,
                finding=None,
                item=None,
                severity=severity,
                description=f"隐患 {n}",
                plan=plan,
                fixed_on_spot=n % 4 == 3,
                actor=actor,
            )
            db.session.flush()
            if n % 3 == 1:
                hazards.record(
                    db.session, hazard, actor=actor, action="evidence", to_status="submitted"
                )
            if n % 3 == 2:
                hazards.record(
                    db.session, hazard, actor=actor, action="submit", to_status="submitted"
                )
                hazards.record(db.session, hazard, actor=actor, action="close", to_status="closed")
        db.session.commit()
    return buildings


def ledger_numbers(app) -> dict:
    """What the ledger shows: hazards by building, status and severity, every event, each
    hazard's version, and each building's code colour with its reasons."""
    with app.app_context():
        s = db.session
        by_status = s.execute(
            select(Building.code, Hazard.status, Hazard.severity, func.count())
            .join(Building, Hazard.building_id == Building.id)
            .group_by(Building.code, Hazard.status, Hazard.severity)
        ).all()
        events = s.execute(
            select(
                HazardEvent.hazard_id,
                HazardEvent.action,
                HazardEvent.from_status,
                HazardEvent.to_status,
                HazardEvent.at,
            )
        ).all()
        versions = s.execute(select(Hazard.id, Hazard.version, Hazard.description)).all()
        buildings = s.scalars(select(Building)).all()
        codes = building_codes(s, buildings, today=TODAY, validity_days=180)
        colours = {
            b.code: (codes[b.id].colour, [r.text for r in codes[b.id].reasons]) for b in buildings
        }
        return {
            "hazards": sorted(map(tuple, by_status)),
            "events": sorted(map(tuple, events)),
            "versions": sorted(map(tuple, versions)),
            "colours": colours,
        }


# --- SQLite: the backup command -------------------------------------------------------------

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="the SQLite backup runs in the SQLite pass")


def sqlite_path(app) -> Path:
    return Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)


@sqlite_only
def test_backup_of_a_live_database_restores_the_same_ledger(app, ledger, tmp_path):
    before = ledger_numbers(app)
    assert before["hazards"] and before["events"]
    # A writer is mid-transaction while the backup runs: the backup neither waits for it nor
    # contains its uncommitted change.
    writer = sqlite3.connect(sqlite_path(app), timeout=10, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE hazard SET description = '未提交的修改'")
    try:
        target = tmp_path / "inspect-backup.db"
        result = app.test_cli_runner().invoke(args=["backup", str(target)])
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.exit_code == 0, result.output
    assert f"backup written: {target}" in result.output
    assert "9 hazards" in result.output
    # One self-contained file, nothing left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inspect-backup.db"]
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    restored = make_test_app(tmp_path / "restored", f"sqlite:///{target}")
    assert ledger_numbers(restored) == before
    with restored.app_context():
        # The schema came along too: the restored database is at the same migration.
        assert db.session.scalars(text("SELECT version_num FROM alembic_version")).all()
        db.engine.dispose()


@sqlite_only
def test_backups_taken_during_writes_are_each_one_moment(app, ledger, tmp_path):
    """While a thread commits events one after another, every backup holds a whole number of
    them (between the counts before and after) and passes SQLite's integrity check."""
    with app.app_context():
        hazard_id = db.session.scalar(select(Hazard.id).limit(1))
        start = db.session.scalar(select(func.count()).select_from(HazardEvent))
    stop = threading.Event()
    written = []

    def write():
        with app.app_context():
            while not stop.is_set():
                db.session.add(HazardEvent(hazard_id=hazard_id, action="note", note="写入中"))
                db.session.commit()
                written.append(1)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        counts = []
        for n in range(3):
            target = tmp_path / f"b{n}.db"
            result = app.test_cli_runner().invoke(args=["backup", str(target)])
            assert result.exit_code == 0, result.output
            with sqlite3.connect(target) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                counts.append(conn.execute("SELECT count(*) FROM hazard_event").fetchone()[0])
    finally:
        stop.set()
        thread.join()
    assert start <= counts[0] <= counts[1] <= counts[2] <= start + len(written)
    assert written, "the writer never committed while the backups ran"


@sqlite_only
def test_backup_refuses_what_it_cannot_do_and_leaves_nothing(app, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "b.db"
    target.write_bytes(b"older backup")
    result = runner.invoke(args=["backup", str(target)])
    assert (
        result.exit_code == 1 and "文件已存在" in result.output and "--overwrite" in result.output
    )
    assert target.read_bytes() == b"older backup"
    result = runner.invoke(args=["backup", "--overwrite", str(target)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"

    missing = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "dir.db")])
    assert missing.exit_code == 1 and "目录不存在" in missing.output
    itself = runner.invoke(args=["backup", "--overwrite", str(sqlite_path(app))])
    assert itself.exit_code == 1 and "数据库文件本身" in itself.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.db"]


def test_backup_on_postgresql_points_to_pg_dump_without_the_password(tmp_path):
    pg_app = make_test_app(tmp_path, "postgresql+psycopg://inspect:s3cret@db.internal:5432/city")
    target = tmp_path / "b.db"
    result = pg_app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 1
    assert (
        'pg_dump --format=custom --file=FILE "postgresql://inspect:***@db.internal:5432/city"'
        in (result.output)
    )
    assert "s3cret" not in result.output and not target.exists()


# --- PostgreSQL: pg_dump and pg_restore ------------------------------------------------------


def pg_binary(name: str) -> str:
    """``name`` from the server's own bin folder (pg_up.sh exports PGBIN), so client and server
    versions match."""
    folders = [os.environ["PGBIN"]] if os.environ.get("PGBIN") else []
    folders += sorted(
        (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in folders:
        if (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    pytest.fail(f"{name} not found (set PGBIN)")


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (INSPECT_TEST_DATABASE_URL)")
def test_pg_dump_and_pg_restore_give_back_the_same_ledger(app, ledger, tmp_path):
    """The README's PostgreSQL path, word for word: a custom-format dump of the live database,
    restored into a new, empty database."""
    before = ledger_numbers(app)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    dump = tmp_path / "inspect.dump"
    subprocess.run(
        [
            pg_binary("pg_dump"),
            "--format=custom",
            f"--file={dump}",
            url.set(drivername="postgresql").render_as_string(hide_password=False),
        ],
        check=True,
        capture_output=True,
    )
    name = f"restored_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    restored_url = url.set(database=name)
    try:
        subprocess.run(
            [
                pg_binary("pg_restore"),
                "--no-owner",
                "--exit-on-error",
                "--dbname",
                restored_url.set(drivername="postgresql").render_as_string(hide_password=False),
                str(dump),
            ],
            check=True,
            capture_output=True,
        )
        restored = make_test_app(tmp_path, restored_url.render_as_string(hide_password=False))
        assert ledger_numbers(restored) == before
        with restored.app_context():
            # Sequences came along: the next hazard gets a new id, not one already taken.
            b = db.session.scalar(select(Building).limit(1))
            hazard, _ = hazards.create(
                db.session,
                building=b,
                finding=None,
                item=None,
                severity="minor",
                description="恢复后新增",
                plan=None,
                fixed_on_spot=False,
                actor=db.session.scalar(select(User).limit(1)),
            )
            db.session.commit()
            assert hazard.id > max(v[0] for v in before["versions"])
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
