"""Benchmark campaign oversight: the dashboard's figures, a spot-check draw and the monthly
summary, against baselines measured in the same run.

Run from the project root::

    .venv/bin/python bench/dashboard.py [--buildings 20000] [--runs 7] [--database-url URL]

Builds a district with the demo generator (``inspect_app.demo.generate``: its campaign and
about four months of surveys, hazards and supervision) in a fresh database — a SQLite file in
a temporary folder, or the empty PostgreSQL database ``--database-url`` names. Then, medians
of ``--runs``, interleaved so drift hits every variant alike:

- ``progress.campaign_progress`` for the district (rows per street, the weekly trend, spot
  checks, acceptance standings) against two baselines: one ``ledger.rollup`` over the same
  population (the least the dashboard must do), and hand-written SQL giving the per-street
  hazard figures (one ``GROUP BY`` over a path-prefix join);
- ``sampling.draw`` on the street with the most surveyed high-rises (rolled back after each
  run) against the raw population query it starts from;
- ``summaries.monthly_summary`` of the last full month for the district.

Ratios are printed; the figures of the dashboard and of the raw SQL are compared street by
street first, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 20)

RAW = """
SELECT s.code AS street,
       count(h.id) AS found,
       sum(CASE WHEN h.status = 'fixed_on_spot' THEN 1 ELSE 0 END) AS fixed_on_spot,
       sum(CASE WHEN h.status = 'closed' THEN 1 ELSE 0 END) AS closed,
       sum(CASE WHEN h.status = 'open' AND h.deadline < :today THEN 1 ELSE 0 END) AS overdue
FROM hazard h
JOIN building b ON b.id = h.building_id
JOIN area a ON a.id = b.area_id
JOIN area s ON s.level = 'street' AND substr(a.path, 1, length(s.path)) = s.path
WHERE b.retired_at IS NULL
  AND ((b.use = 'residential' AND b.height_m > 27)
       OR (b.use <> 'residential' AND b.height_m > 24 AND b.storeys <> 1))
  AND h.created_at >= :lo AND h.created_at < :hi
GROUP BY s.code
ORDER BY s.code
"""

RAW_POPULATION = """
SELECT DISTINCT i.building_id
FROM inspection i JOIN building b ON b.id = i.building_id JOIN area a ON a.id = b.area_id
WHERE i.kind = 'survey' AND i.submitted_at >= :lo AND i.submitted_at <= :hi
  AND b.retired_at IS NULL AND substr(a.path, 1, length(:path)) = :path
  AND ((b.use = 'residential' AND b.height_m > 27)
       OR (b.use <> 'residential' AND b.height_m > 24 AND b.storeys <> 1))
"""


def make_app(url: str):
    from inspect_app import create_app

    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "AUDIT_LOG": os.devnull,
            "PHOTO_DIR": tempfile.mkdtemp(prefix="bench-photos-"),
            "TIMEZONE": "Asia/Shanghai",
        }
    )


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--buildings", type=int, default=20_000)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--database-url")
    args = p.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.db"

    from flask_migrate import upgrade
    from sqlalchemy import select, text, true

    from inspect_app import ledger, progress, sampling, summaries
    from inspect_app.campaigns import population_condition
    from inspect_app.db import db
    from inspect_app.demo import generate
    from inspect_app.models import Area, Campaign

    app = make_app(url)
    with app.app_context():
        upgrade()
        t = time.perf_counter()
        result = generate(db.session, buildings=args.buildings, seed=7, password="x", today=TODAY)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # Fresh bulk inserts: give the planner its statistics, as autovacuum would.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        print(f"demo: {result.summary()} ({time.perf_counter() - t:.1f} s)")
        print(f"database: {db.engine.dialect.name}")
        campaign = db.session.get(Campaign, result.campaign_id)
        district = campaign.area
        lo = datetime.combine(campaign.starts_on, datetime.min.time(), TZ).astimezone(UTC)
        hi = datetime.combine(campaign.ends_on + timedelta(days=1), datetime.min.time(), TZ)
        hi = hi.astimezone(UTC)

        def dashboard():
            return progress.campaign_progress(
                db.session, campaign, node=district, scope=true(), today=TODAY, tz=TZ
            )

        def rollup():
            return ledger.rollup(
                db.session,
                scope=population_condition(campaign),
                node=district,
                filters=ledger.Filters(campaign=campaign),
                today=TODAY,
                tz=TZ,
            )

        def raw():
            return db.session.execute(text(RAW), {"today": TODAY, "lo": lo, "hi": hi}).all()

        # Same answer first.
        p_ = dashboard()
        by_code = {r.code: r.figures.counts for r in p_.rows}
        for street, found, fixed, closed, overdue in raw():
            c = by_code[street]
            assert (c.found, c.fixed_on_spot, c.closed, c.overdue) == (
                found,
                fixed,
                closed,
                overdue,
            ), street
        print(
            f"dashboard: {len(p_.rows)} streets, {p_.total.counts.found} hazards, "
            f"{len(p_.weeks)} weeks; figures equal the raw SQL"
        )

        streets = db.session.scalars(
            select(Area).where(Area.level == "street", Area.path.startswith(district.path))
        ).all()
        now = datetime.combine(TODAY, datetime.min.time(), TZ).astimezone(UTC)
        sizes = {
            s.id: sampling.population(db.session, campaign, s, until=now, tz=TZ).size
            for s in streets
        }
        street = max(streets, key=lambda s: sizes[s.id])

        def draw():
            sampling.draw(
                db.session,
                campaign=campaign,
                street=street,
                actor=None,
                actor_label="bench",
                seed=1,
                now=now,
                today=TODAY,
                tz=TZ,
            )
            db.session.rollback()

        def raw_population():
            return db.session.execute(
                text(RAW_POPULATION),
                {"lo": lo, "hi": now, "path": street.path},
            ).all()

        month = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)

        def monthly():
            summaries.monthly_summary(
                db.session, month=month, node=district, scope=true(), today=TODAY, tz=TZ
            )

        variants = {
            "dashboard (campaign_progress)": dashboard,
            "baseline: one ledger.rollup": rollup,
            "baseline: raw SQL per street": raw,
            "spot-check draw": draw,
            "baseline: raw population query": raw_population,
            "monthly summary": monthly,
        }
        times = {k: [] for k in variants}
        for _ in range(args.runs):
            for name, fn in variants.items():
                db.session.expire_all()
                times[name].append(timed(fn))
        med = {k: statistics.median(v) for k, v in times.items()}
        for name, value in med.items():
            print(f"{name:34s} median {value * 1000:8.1f} ms")
        print(f"street drawn on: {street.name}, {sizes[street.id]} surveyed high-rises")
        d = med["dashboard (campaign_progress)"]
        print(f"ratio dashboard / ledger.rollup: {d / med['baseline: one ledger.rollup']:.2f}")
        print(f"ratio dashboard / raw SQL:       {d / med['baseline: raw SQL per street']:.2f}")
        print(
            f"ratio draw / raw population:     "
            f"{med['spot-check draw'] / med['baseline: raw population query']:.2f}"
        )


if __name__ == "__main__":
    main()
