"""Benchmark the ledger: rollups against hand-written SQL, and a 100,000-row XLSX export.

Run from the project root::

    .venv/bin/python bench/ledger_rollup.py [--buildings 50000] [--hazards 1000000]
        [--runs 5] [--database-url URL] [--keep DIR]

Builds a district with the demo generator (``inspect_app.demo.generate``: 50,000 buildings,
months of inspections and hazards) in a fresh database — a SQLite file in a temporary folder,
or the PostgreSQL database ``--database-url`` names (it must be empty). The generator writes
about 2.4 hazards per building; to reach the ledger size the issue asks for (about 1M
hazards) the ledger is then topped up by copying generated hazards one, two, … years back in
time (same buildings and items, so rebounds and every status stay plausible).

Then, interleaved so drift hits both alike, median of ``--runs``:

- ``ledger.rollup`` at district level (rows per street) and at street level (rows per
  community), breakdowns by category and severity included;
- the raw baseline: the same numbers from hand-written SQL strings on the DBAPI connection
  (the tree walked by ``parent_id`` joins, which the raw SQL may hard-code).

Both results are compared number by number; the ratio rollup/raw is printed (target ≤ 1.5).
Last, ``exports.write_xlsx`` writes 100,000 hazard rows (streamed query, write-only
workbook) in a fresh interpreter so that its peak RSS is its own (target < 300 MB); time,
file size and peak RSS are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TODAY = date(2026, 11, 20)
TZ = "Asia/Shanghai"
REBOUND_DAYS = 90
HAZARD_COLUMNS = (
    "building_id, finding_id, item_id, category, severity, gb35181_direct, description, "
    "responsible_party, measures, deadline, funding, status, supervised_at, created_at, "
    "closed_at, created_by_id, version"
)


def make_app(url: str):
    from inspect_app import create_app

    return create_app(
        {
            "TESTING": False,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "AUDIT_LOG": os.devnull,
            "PHOTO_DIR": tempfile.mkdtemp(prefix="bench-photos-"),
            "TIMEZONE": TZ,
        }
    )


def build(url: str, buildings: int, hazards: int) -> dict:
    """Migrate, generate the district, top the ledger up; returns counts and timings."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from inspect_app.db import db
    from inspect_app.demo import generate

    app = make_app(url)
    out = {}
    with app.app_context():
        upgrade()
        t = time.perf_counter()
        result = generate(
            db.session, buildings=buildings, seed=2023, password="bench pass 1", today=TODAY
        )
        db.session.commit()
        out["generate_s"] = round(time.perf_counter() - t, 1)
        out["generated_hazards"] = result.hazards
        t = time.perf_counter()
        dialect = db.engine.dialect.name
        years = 0
        n = result.hazards
        while n < hazards:
            years += 1
            take = min(result.hazards, hazards - n)
            shift = (
                f"strftime('%Y-%m-%d %H:%M:%f000', {{c}}, '-{365 * years} days')"
                if dialect == "sqlite"
                else f"{{c}} - interval '{365 * years} days'"
            )
            moved = HAZARD_COLUMNS.replace(
                "supervised_at, created_at, closed_at",
                ", ".join(shift.format(c=c) for c in ("supervised_at", "created_at", "closed_at")),
            ).replace(
                "deadline,",
                "deadline - 365 * " + str(years) + ","
                if dialect == "postgresql"
                else f"date(deadline, '-{365 * years} days'),",
            )
            db.session.execute(
                text(
                    f"INSERT INTO hazard ({HAZARD_COLUMNS}) SELECT {moved} FROM hazard "
                    f"WHERE id <= (SELECT min(id) FROM hazard) + {take - 1}"
                )
            )
            db.session.commit()
            n = db.session.scalar(text("SELECT count(*) FROM hazard"))
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        out["top_up_s"] = round(time.perf_counter() - t, 1)
        out["hazards"] = db.session.scalar(text("SELECT count(*) FROM hazard"))
        out["buildings"] = db.session.scalar(text("SELECT count(*) FROM building"))
        out["inspections"] = db.session.scalar(text("SELECT count(*) FROM inspection"))
    return out


# The raw baseline: the same figures, hand-written. Areas are district → street → community →
# grid and buildings hang on grids, so ``depth`` parent joins find the group.
def raw_sql(depth: int, dialect: str) -> dict[str, str]:
    joins = "JOIN area a0 ON a0.id = b.area_id "
    for k in range(1, depth + 1):
        joins += f"JOIN area a{k} ON a{k}.id = a{k - 1}.parent_id "
    top = f"a{depth}"
    minus = (
        f"strftime('%Y-%m-%d %H:%M:%f000', h.created_at, '-{REBOUND_DAYS} days')"
        if dialect == "sqlite"
        else f"h.created_at - interval '{REBOUND_DAYS} days'"
    )
    rebound = (
        "EXISTS (SELECT 1 FROM hazard e WHERE e.building_id = h.building_id "
        f"AND e.item_id = h.item_id AND e.closed_at <= h.created_at AND e.closed_at >= {minus} "
        "AND e.id != h.id AND e.status IN ('closed', 'fixed_on_spot'))"
    )
    metrics = (
        "count(h.id), "
        "sum(CASE WHEN h.status = 'fixed_on_spot' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN h.status = 'open' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN h.status = 'open' AND h.deadline < :today THEN 1 ELSE 0 END), "
        "sum(CASE WHEN h.status = 'submitted' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN h.status = 'closed' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN h.supervised_at IS NOT NULL THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {rebound} THEN 1 ELSE 0 END)"
    )
    scope = f"b.retired_at IS NULL AND {top}.parent_id = :node"
    return {
        "buildings": f"SELECT {top}.id, count(*) FROM building b {joins} WHERE {scope} "
        f"GROUP BY {top}.id",
        "inspected": f"SELECT {top}.id, count(DISTINCT i.building_id) FROM inspection i "
        f"JOIN building b ON b.id = i.building_id {joins} WHERE {scope} GROUP BY {top}.id",
        # One pass over the hazards: group × category × severity, added up afterwards.
        "hazards": f"SELECT {top}.id, h.category, h.severity, {metrics} FROM hazard h "
        f"JOIN building b ON b.id = h.building_id {joins} WHERE {scope} "
        f"GROUP BY {top}.id, h.category, h.severity",
    }


def run_raw(conn, queries: dict[str, str], node_id: int, dialect: str) -> dict:
    """Run the hand-written queries on the DBAPI connection; rows by group id."""
    out: dict = {"rows": {}, "breakdown": {}}

    def execute(sql):
        cur = conn.cursor()
        if dialect == "sqlite":  # sqlite3 takes :name parameters as they are
            cur.execute(sql, {"today": TODAY.isoformat(), "node": node_id})
        else:
            cur.execute(
                sql.replace(":today", "%(today)s").replace(":node", "%(node)s"),
                {"today": TODAY, "node": node_id},
            )
        rows = cur.fetchall()
        cur.close()
        return rows

    for key, n in execute(queries["buildings"]):
        out["rows"].setdefault(key, [0] * 10)[0] = n
    for key, n in execute(queries["inspected"]):
        out["rows"].setdefault(key, [0] * 10)[1] = n
    for key, cat, sev, *m in execute(queries["hazards"]):
        m = [int(x or 0) for x in m]
        row = out["rows"].setdefault(key, [0] * 10)
        row[2:] = [x + y for x, y in zip(row[2:], m, strict=True)]
        part = out["breakdown"].setdefault((cat, sev), [0] * 8)
        out["breakdown"][(cat, sev)] = [x + y for x, y in zip(part, m, strict=True)]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--buildings", type=int, default=50_000)
    p.add_argument("--hazards", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--export-rows", type=int, default=100_000)
    p.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    p.add_argument("--keep", help="folder for the SQLite file, kept afterwards")
    p.add_argument("--export-only", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.export_only:
        return export_child(args.export_only, args.export_rows)

    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-ledger-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'ledger.db'}"
    db_file = folder / "ledger.db"
    if args.database_url is None and db_file.exists() and args.keep:
        print(f"reusing {db_file}")
        sizes = None
    else:
        sizes = build(url, args.buildings, args.hazards)
        print("built:", json.dumps(sizes, ensure_ascii=False))
    print("load average before: " + _load())
    compare(url, args.runs)
    export(url, args.export_rows)
    cores = os.cpu_count()
    print(f"load average after: {_load()} ({cores} cores: above {cores}, timings include waiting)")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def compare(url: str, runs: int) -> None:
    from sqlalchemy import select, true

    from inspect_app import ledger
    from inspect_app.db import db
    from inspect_app.models import Area

    app = make_app(url)
    with app.app_context():
        session = db.session
        dialect = session.get_bind().dialect.name
        district = session.scalar(select(Area).where(Area.level == "district"))
        street = session.scalar(
            select(Area).where(Area.level == "street").order_by(Area.code).limit(1)
        )
        raw_conn = session.connection().connection.dbapi_connection
        cases = [
            ("district → streets", district, "street", 2),
            ("street → communities", street, "community", 1),
        ]
        print(f"engine: {dialect}")
        for label, node, level, depth in cases:
            queries = raw_sql(depth, dialect)
            t_app, t_raw = [], []
            result = raw = None
            for _ in range(runs):
                t = time.perf_counter()
                result = ledger.rollup(
                    session,
                    scope=true(),
                    node=node,
                    level=level,
                    today=TODAY,
                    tz=TZ,
                    rebound_days=REBOUND_DAYS,
                )
                t_app.append(time.perf_counter() - t)
                t = time.perf_counter()
                raw = run_raw(raw_conn, queries, node.id, dialect)
                t_raw.append(time.perf_counter() - t)
            check(result, raw)
            a, r = statistics.median(t_app), statistics.median(t_raw)
            print(
                f"{label}: rollup median {a * 1000:.0f} ms, raw SQL median {r * 1000:.0f} ms, "
                f"ratio {a / r:.2f} (target ≤ 1.5); rows {len(result.rows)}, "
                f"hazards counted {result.total.found}, rebounds {result.total.rebound}"
            )


def check(result, raw) -> None:
    """The rollup and the raw SQL must agree on every number."""
    names = (
        "buildings",
        "inspected",
        "found",
        "fixed_on_spot",
        "open",
        "overdue",
        "submitted",
        "closed",
        "supervised",
        "rebound",
    )
    got = {
        row.key: [getattr(row.counts, n) for n in names]
        for row in result.rows
        if any(getattr(row.counts, n) for n in names)
    }
    want = {k: v for k, v in raw["rows"].items() if any(v)}
    assert got == want, f"rollup and raw SQL disagree:\n{got}\n{want}"
    breakdown: dict = {}
    for (cat, _sev), m in raw["breakdown"].items():
        acc = breakdown.setdefault(cat, [0] * 8)
        breakdown[cat] = [x + y for x, y in zip(acc, m, strict=True)]
    assert {k: [getattr(c, n) for n in names[2:]] for k, c in result.by_category.items()} == (
        breakdown
    ), "breakdown by category differs"


def export(url: str, rows: int) -> None:
    out = subprocess.run(
        [sys.executable, __file__, "--export-only", url, "--export-rows", str(rows)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        print(out.stdout, out.stderr)
        raise SystemExit("export failed")
    print(out.stdout.strip())


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ``ru_maxrss`` would carry the parent's peak
    across fork and exec on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_child(url: str, rows: int) -> None:
    """In a fresh interpreter: write ``rows`` hazard rows to an XLSX; report time and peak
    memory (the RSS high-water mark of this process; tracemalloc is left off, it would slow
    openpyxl several times over)."""
    from sqlalchemy import select, true

    from inspect_app import exports, ledger
    from inspect_app.db import db
    from inspect_app.models import Area

    app = make_app(url)
    with app.test_request_context():
        session = db.session
        district = session.scalar(select(Area).where(Area.level == "district"))
        base_rss = peak_rss_mb()
        cpu = time.process_time()
        t = time.perf_counter()
        roll = ledger.rollup(session, scope=true(), node=district, today=TODAY, tz=TZ)
        stmt = ledger.hazard_rows(session, scope=true(), node=district, today=TODAY, tz=TZ).limit(
            rows
        )
        names = ledger.area_names(session)
        from zoneinfo import ZoneInfo

        detail = exports.detail_rows(
            ledger.iter_rows(session, stmt), today=TODAY, names=names, tz=ZoneInfo(TZ)
        )
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as f:
            n = exports.write_xlsx(f, rollup=roll, title="bench", detail=detail)
            f.flush()
            size = os.path.getsize(f.name)
        elapsed = time.perf_counter() - t
        cpu = time.process_time() - cpu
        rss = peak_rss_mb()
    print(
        f"xlsx export: {n} detail rows in {elapsed:.1f} s ({cpu:.1f} s CPU in this process), "
        f"{size / 1e6:.1f} MB file; "
        f"peak RSS {rss:.0f} MB (whole process; {base_rss:.0f} MB before the export; "
        "target < 300 MB)"
    )


if __name__ == "__main__":
    main()
