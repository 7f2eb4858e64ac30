"""Benchmark the registry import (``flask import-registry``) against a raw baseline.

Run from the project root::

    .venv/bin/python bench/registry_import.py [--rows 50000] [--runs 3] [--database-url URL]

Generates, in a temporary directory, one workbook with an area sheet (a district, 10 streets,
50 communities, 250 grids) and a building sheet of ``--rows`` rows with every column filled,
written by openpyxl as an import file would be. Then times, each run in a fresh interpreter
on a fresh database so that peak RSS is measured per method (``ru_maxrss`` only ever grows):

- ``baseline``: the least any import must do: a bare openpyxl read-only pass over both sheets
  and one bulk INSERT of the building rows as they come (no checks) in one transaction;
- ``import``: ``registry.import_registry`` (read, check every cell, plan against the database,
  bulk write) and the commit, as the CLI runs it;
- ``re-import``: the same file again on the imported database (every row unchanged, nothing
  written);
- ``dry-run``: read, check and plan on the imported database, no writes;
- ``oversize``: a CSV of ``--oversize`` rows (200,000) against the 100,000-row limit: refused
  with one message, nothing written, memory bounded by the limit (once).

Prints per method the median/min/max wall time, the median peak RSS and its growth over the
interpreter with the app loaded, and the ratio of import to baseline (the target is <= 1.5x).
On SQLite unless ``--database-url`` names a PostgreSQL server database
(``postgresql+psycopg://...``), in which one fresh database per run is made.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from queue import Empty

# Runnable as a plain script: make the package importable from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspect_app import registry  # noqa: E402

USES = ("住宅", "公共建筑", "商住混合")


def make_workbook(path: Path, rows: int) -> None:
    """Write the import file: areas, then buildings with every column of the template.

    A normal (not write-only) workbook, so that each sheet records its dimension as Excel's
    files do; without it openpyxl reads every sheet once more just to size it.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    areas = workbook.create_sheet("区域")
    areas.append([c.header for c in registry.AREAS.columns])
    areas.append(["BD", "基准区", "区县", None])
    grids = []
    for s in range(10):
        areas.append([f"BS{s}", f"基准街道{s}", "街镇", "BD"])
        for c in range(5):
            community = f"BS{s}C{c}"
            areas.append([community, f"基准社区{s}-{c}", "社区", f"BS{s}"])
            for g in range(5):
                grid = f"{community}G{g}"
                areas.append([grid, f"基准网格{s}-{c}-{g}", "网格", community])
                grids.append(grid)
    buildings = workbook.create_sheet("楼栋")
    buildings.append([c.header for c in registry.BUILDINGS.columns])
    for n in range(rows):
        flags = ["是" if (n >> bit) & 1 else "否" for bit in range(10)]
        flags[-1] = "否"
        buildings.append(
            [
                f"BM-{n:07d}",
                f"基准花园{n // 20}区{n % 20 + 1}栋",
                f"基准路{n}号",
                grids[n % len(grids)],
                USES[n % 3],
                float(Decimal(24 + n % 80) + Decimal(n % 10) / 10),
                8 + n % 30,
                n % 3,
                1990 + n % 33,
                f"基准物业服务有限公司{n % 300}" if n % 7 else None,
                f"023-4866{n % 10000:04d}",
                f"管理人{n % 1000}",
                f"138{n:08d}",
                *flags,
            ]
        )
    workbook.save(path)


def _fresh_database(base_url: str | None, folder: Path) -> str:
    if not base_url:
        return f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def _app(url: str, folder: Path):
    from inspect_app import create_app

    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "AUDIT_LOG": os.devnull,
            "PHOTO_DIR": str(folder / "photos"),
        }
    )


def _migrate(url: str, folder: Path) -> None:
    from flask_migrate import upgrade

    app = _app(url, folder)
    with app.app_context():
        upgrade()


def _baseline(path: Path, app) -> None:
    """Read every row with openpyxl and insert the buildings in bulk, unchecked."""
    from openpyxl import load_workbook
    from sqlalchemy import insert, select

    from inspect_app.db import db
    from inspect_app.models import Area, Building

    workbook = load_workbook(path, read_only=True, data_only=True)
    # Read-only rows end at their last non-empty cell: pad them to the four columns.
    area_rows = [
        (*r, None, None, None)[:4] for r in workbook["区域"].iter_rows(min_row=2, values_only=True)
    ]
    levels = {"区县": "district", "街镇": "street", "社区": "community", "网格": "grid"}
    with app.app_context():
        # Areas go in one by one (a few hundred rows, parents first, as the sheet lists them).
        ids: dict[str, int] = {}
        paths: dict[str | None, str] = {None: "/"}
        for code, name, level, parent in area_rows:
            paths[code] = f"{paths[parent]}{code}/"
            area = Area(
                code=code,
                name=name,
                level=levels[level],
                path=paths[code],
                parent_id=ids.get(parent),
            )
            db.session.add(area)
            db.session.flush()
            ids[code] = area.id
        uses = {"住宅": "residential", "公共建筑": "public", "商住混合": "mixed"}
        keys = [c.attr or c.key for c in registry.BUILDINGS.columns]
        batch = []
        for values in workbook["楼栋"].iter_rows(min_row=2, values_only=True):
            row = dict(zip(keys, values, strict=True))
            row["area_id"] = ids[row.pop("area")]
            row["use"] = uses[row["use"]]
            for key, value in row.items():
                if value in ("是", "否"):
                    row[key] = value == "是"
            batch.append(row)
            if len(batch) == registry.BATCH:
                db.session.execute(insert(Building), batch)
                batch = []
        if batch:
            db.session.execute(insert(Building), batch)
        db.session.commit()
        assert db.session.scalar(select(db.func.count(Building.id))) > 0
    workbook.close()


def _import(path: Path, app, dry_run: bool = False) -> registry.Report:
    from inspect_app.db import db

    with app.app_context():
        report = registry.import_registry(db.session, path, dry_run=dry_run)
        assert report.ok, [str(p) for p in report.problems[:5]]
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        return report


def _oversize(path: Path, app) -> str:
    """Import a file over the row limit: refused, nothing written."""
    from sqlalchemy import func, select

    from inspect_app.db import db
    from inspect_app.models import Building

    with app.app_context():
        report = registry.import_registry(db.session, path)
        db.session.rollback()
        assert not report.ok and not report.applied
        assert db.session.scalar(select(func.count(Building.id))) == 0
        return report.problems[-1].message


def _child(method: str, path: str, url: str, folder: str, queue) -> None:
    folder_path = Path(folder)
    app = _app(url, folder_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    detail = ""
    if method == "baseline":
        _baseline(Path(path), app)
    elif method == "oversize":
        detail = _oversize(Path(path), app)
    else:
        report = _import(Path(path), app, dry_run=method == "dry-run")
        detail = report.summary()
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, peak, peak - before, detail))


def _run(method: str, path: Path, url: str, folder: Path) -> tuple[float, float, float, str]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(method, str(path), url, str(folder), queue))
    proc.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Empty:
            if not proc.is_alive():
                raise SystemExit(f"{method} failed with exit code {proc.exitcode}") from None
    proc.join()
    return result


def make_csv(path: Path, rows: int) -> None:
    """A CSV of ``rows`` building rows (quick to write, for the oversize case)."""
    import csv

    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.header for c in registry.BUILDINGS.columns])
        for n in range(rows):
            writer.writerow(
                [f"OV-{n:07d}", f"超限{n}栋", f"超限路{n}号", "BD", "住宅", "54.3", "18"]
                + [""] * (len(registry.BUILDINGS.columns) - 7)
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--keep", type=Path, help="Folder to keep (and reuse) the workbook in")
    parser.add_argument(
        "--oversize",
        type=int,
        default=200_000,
        help="Rows of a CSV over the row limit to refuse (0: skip)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = (args.keep or folder) / f"registry-{args.rows}.xlsx"
        if not path.exists():
            start = time.perf_counter()
            path.parent.mkdir(parents=True, exist_ok=True)
            make_workbook(path, args.rows)
            print(f"workbook written in {time.perf_counter() - start:.1f} s")
        print(f"workbook: {args.rows} buildings, {path.stat().st_size / 1e6:.1f} MB")
        print(f"database: {'PostgreSQL' if args.database_url else 'SQLite'}")
        results: dict[str, list[tuple[float, float]]] = {}
        details: dict[str, str] = {}
        for _ in range(args.runs):
            # Interleaved, so drift on the machine hits every method alike.
            url = _fresh_database(args.database_url, folder)
            _migrate(url, folder)
            elapsed, peak, growth, _ = _run("baseline", path, url, folder)
            results.setdefault("baseline", []).append((elapsed, peak, growth))
            url = _fresh_database(args.database_url, folder)
            _migrate(url, folder)
            for method in ("import", "re-import", "dry-run"):
                elapsed, peak, growth, detail = _run(method, path, url, folder)
                results.setdefault(method, []).append((elapsed, peak, growth))
                details[method] = detail
        if args.oversize:
            big = folder / f"oversize-{args.oversize}.csv"
            make_csv(big, args.oversize)
            url = _fresh_database(args.database_url, folder)
            _migrate(url, folder)
            elapsed, peak, growth, detail = _run("oversize", big, url, folder)
            results["oversize"] = [(elapsed, peak, growth)]
            details["oversize"] = f"{args.oversize} CSV rows: {detail}"
        header = f"{'method':<10} {'median s':>9} {'min s':>7} {'max s':>7}"
        print(f"{header} {'peak RSS MB':>12} {'growth MB':>10}")
        for method, values in results.items():
            times = [t for t, _, _ in values]
            peak = statistics.median(p for _, p, _ in values)
            growth = statistics.median(g for _, _, g in values)
            print(
                f"{method:<10} {statistics.median(times):9.2f} {min(times):7.2f} "
                f"{max(times):7.2f} {peak:12.0f} {growth:10.0f}"
            )
        for method, detail in details.items():
            print(f"  {method}: {detail}")
        base = statistics.median(t for t, _, _ in results["baseline"])
        ratio = statistics.median(t for t, _, _ in results["import"]) / base
        # On a shared machine the fastest run is the least disturbed one: show both ratios.
        fastest = min(t for t, _, _ in results["import"]) / min(
            t for t, _, _ in results["baseline"]
        )
        print(f"import / baseline: {ratio:.2f}x median, {fastest:.2f}x fastest (target <= 1.5x)")


if __name__ == "__main__":
    main()
