"""Benchmark the inbox: the header's unread count, the commit hook, the reminder run.

Run from the project root::

    .venv/bin/python bench/inbox.py [--buildings 2000] [--hazards 40000] [--runs 25]
        [--database-url URL]

Builds a district (10 streets × 10 grids, ``--buildings`` buildings, one grid worker per grid,
one street office per street, the detachment, a property manager per 10 buildings) and
``--hazards`` open hazards with deadlines spread over ±60 days, in a fresh database (a SQLite
file in a temporary folder, or the empty PostgreSQL database ``--database-url`` names). Then:

1. ``send-reminders`` logic (``notifications.run_reminders``) once — it fills the inboxes —
   and again on the same day (idempotent: claims nothing, announces nothing);
2. the header's count, ``notifications.unread_count`` (scoped, one query, capped at 100), for
   the street office with the fullest inbox, against the raw baseline: the unscoped
   ``SELECT count(*) … WHERE user_id = ? AND read_at IS NULL`` on the DBAPI connection;
3. one hazard created and committed (``hazards.create``) with the notification hook, against
   the same with the hook removed: the cost the hook adds to a user's request.

Medians of ``--runs``, interleaved so drift hits both alike; ratios printed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TODAY = date(2026, 11, 20)


def build(session, *, buildings: int, hazards: int, seed: int = 7):
    from sqlalchemy import insert

    from inspect_app.models import Area, Building, Hazard, User, building_manager

    rng = random.Random(seed)
    district = Area(code="D", name="区", level="district", path="/D/")
    session.add(district)
    session.flush()
    grids = []
    for s in range(10):
        street = Area(code=f"S{s}", name=f"街道{s}", level="street", path=f"/D/S{s}/")
        session.add(street)
        session.flush()
        session.add(
            User(
                username=f"street{s}",
                display_name="街道",
                role="street",
                area_id=street.id,
                password_hash="x",
            )
        )
        for g in range(10):
            grid = Area(
                code=f"S{s}G{g}",
                name="网格",
                level="grid",
                path=f"/D/S{s}/S{s}G{g}/",
                parent_id=street.id,
            )
            session.add(grid)
            session.flush()
            grids.append(grid)
            session.add(
                User(
                    username=f"grid{s}{g}",
                    display_name="网格员",
                    role="inspector",
                    area_id=grid.id,
                    password_hash="x",
                )
            )
    session.add(
        User(
            username="fire",
            display_name="支队",
            role="fire",
            area_id=district.id,
            password_hash="x",
        )
    )
    session.flush()
    rows = [
        dict(
            code=f"B{n:06d}",
            name=f"楼{n}",
            address="路",
            area_id=grids[n % len(grids)].id,
            use="residential",
            height_m=Decimal("60"),
            storeys=20,
            qr_token=f"t{n:030d}",
        )
        for n in range(buildings)
    ]
    session.execute(insert(Building), rows)
    ids = [
        b for (b,) in session.execute(Building.__table__.select().with_only_columns(Building.id))
    ]
    for m in range(0, len(ids), 10):
        manager = User(username=f"mgr{m}", display_name="物业", role="manager", password_hash="x")
        session.add(manager)
        session.flush()
        session.execute(
            insert(building_manager),
            [{"building_id": b, "user_id": manager.id} for b in ids[m : m + 10]],
        )
    session.execute(
        insert(Hazard),
        [
            dict(
                building_id=rng.choice(ids),
                category="LIFE",
                severity=rng.choice(("minor", "general", "general", "major")),
                description="消防通道堵塞",
                deadline=TODAY + timedelta(days=rng.randint(-60, 60)),
                status="open",
                version=1,
            )
            for _ in range(hazards)
        ],
    )
    session.commit()
    return ids


def median_ms(samples):
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buildings", type=int, default=2000)
    parser.add_argument("--hazards", type=int, default=40000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import event, func, select

    from inspect_app import create_app, hazards, notifications
    from inspect_app.db import db
    from inspect_app.models import Building, Notification, User

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app(
        {"TESTING": False, "DATABASE_URL": url, "SECRET_KEY": "bench", "AUDIT_LOG": os.devnull}
    )
    with app.app_context():
        upgrade()
        t = time.perf_counter()
        ids = build(db.session, buildings=args.buildings, hazards=args.hazards)
        print(
            f"built {len(ids)} buildings, {args.hazards} hazards in {time.perf_counter() - t:.1f} s"
        )

        t = time.perf_counter()
        first = notifications.run_reminders(db.session, today=TODAY, config=app.config)
        db.session.commit()
        t_first = time.perf_counter() - t
        t = time.perf_counter()
        again = notifications.run_reminders(db.session, today=TODAY, config=app.config)
        db.session.commit()
        t_again = time.perf_counter() - t
        total = db.session.scalar(select(func.count(Notification.id)))
        print(f"reminder run: {first.summary()} in {t_first:.2f} s ({total} rows in all inboxes)")
        print(f"same day again: {again.summary()} in {t_again:.2f} s")
        assert again.notifications == 0

        user_id = db.session.scalar(
            select(Notification.user_id)
            .join(User, Notification.user_id == User.id)
            .where(User.role == "street")
            .group_by(Notification.user_id)
            .order_by(func.count().desc())
            .limit(1)
        )
        user = db.session.get(User, user_id)
        unread = db.session.scalar(
            select(func.count()).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
        raw_sql = "SELECT count(*) FROM notification WHERE user_id = {p} AND read_at IS NULL"
        connection = db.session.connection().connection.driver_connection
        param = "?" if db.engine.dialect.name == "sqlite" else "%s"
        scoped, raw = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            shown = notifications.unread_count(db.session, user)
            scoped.append(time.perf_counter() - t)
            t = time.perf_counter()
            cur = connection.cursor()
            cur.execute(raw_sql.format(p=param), (user_id,))
            cur.fetchone()
            cur.close()
            raw.append(time.perf_counter() - t)
        print(
            f"header count ({user.username}: {unread} unread, shows {shown}): "
            f"{median_ms(scoped):.2f} ms scoped vs {median_ms(raw):.2f} ms raw unscoped count, "
            f"ratio {median_ms(scoped) / median_ms(raw):.2f}"
        )

        fire = db.session.scalar(select(User).where(User.username == "fire"))
        hooked, bare = [], []
        listeners = (
            ("after_flush", notifications.messages._collect),
            ("before_commit", notifications.messages._before_commit),
            ("after_rollback", notifications.messages._forget),
        )
        for n in range(args.runs):
            for with_hook in (True, False):
                if not with_hook:
                    for name, fn in listeners:
                        event.remove(db.session, name, fn)
                building = db.session.get(Building, ids[n % len(ids)])
                t = time.perf_counter()
                hazards.create(
                    db.session,
                    building=building,
                    finding=None,
                    item=None,
                    severity="general",
                    description="电动车楼道充电",
                    plan=None,
                    fixed_on_spot=False,
                    actor=fire,
                )
                db.session.commit()
                (hooked if with_hook else bare).append(time.perf_counter() - t)
                if not with_hook:
                    notifications.install()
        print(
            f"create + commit one hazard: {median_ms(hooked):.2f} ms with the hook vs "
            f"{median_ms(bare):.2f} ms without, ratio {median_ms(hooked) / median_ms(bare):.2f}"
        )


if __name__ == "__main__":
    main()
