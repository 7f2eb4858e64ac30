"""Benchmark fire safety code posters for many buildings, against bare ``qrcode`` generation.

Run from the project root::

    .venv/bin/python bench/posters.py [--buildings 1000] [--runs 3]

Builds a throwaway SQLite district of N buildings in a temporary folder, then times, in the
same process and interleaved run by run (median of ``--runs``):

- baseline: ``qrcode.make(url)`` saved as a PNG, one per building (the bare library);
- posters: the app's whole path for a batch, ``posters_for`` (colours in two queries, QR
  matrix, SVG) plus the printable HTML (``render_html``), A4 and labels;
- pdf: the same document through WeasyPrint with the Chinese font embedded (A4 and labels),
  once (it dominates and varies little).

Prints totals, per-code times and the ratio of each to the baseline. Takes about a minute for
1000 buildings, most of it in the PDF runs.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import qrcode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspect_app import create_app, posters  # noqa: E402
from inspect_app.db import db  # noqa: E402
from inspect_app.models import Area, Building  # noqa: E402

BASE = "https://xf.example.gov.cn"


def build(app, n: int) -> None:
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        district = Area(code="D", name="测试区", level="district", path="/D/")
        db.session.add(district)
        db.session.flush()
        streets = []
        for s in range(10):
            street = Area(
                code=f"S{s}",
                name=f"第{s}街道",
                level="street",
                parent_id=district.id,
                path=f"/D/S{s}/",
            )
            db.session.add(street)
            streets.append(street)
        db.session.flush()
        for i in range(n):
            street = streets[i % len(streets)]
            db.session.add(
                Building(
                    code=f"B{i:06d}",
                    name=f"滨江花园{i}栋",
                    address=f"滨江路{i}号",
                    area_id=street.id,
                    use="residential",
                    height_m=Decimal("54"),
                    storeys=18,
                )
            )
        db.session.commit()


def baseline(urls: list[str]) -> float:
    start = time.perf_counter()
    for url in urls:
        qrcode.make(url).save(io.BytesIO(), "PNG")
    return time.perf_counter() - start


def app_path(buildings, size: str, today) -> float:
    start = time.perf_counter()
    items = posters.posters_for(db.session, buildings, today=today, validity_days=180, base=BASE)
    posters.render_html(items, size, printed_on=today, title="bench", for_pdf=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buildings", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-pdf", action="store_true", help="skip the WeasyPrint runs")
    args = parser.parse_args()
    n = args.buildings
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "SECRET_KEY": "bench",
                "AUDIT_LOG": os.devnull,
                "PHOTO_DIR": f"{tmp}/photos",
                "PUBLIC_BASE_URL": BASE,
            }
        )
        build(app, n)
        with app.test_request_context():
            from inspect_app.codes import local_today

            today = local_today()
            buildings = posters.ordered(db.session.query(Building).all())
            urls = [posters.code_url(b, BASE) for b in buildings]
            times: dict[str, list[float]] = {"baseline": [], "a4": [], "label": []}
            for _ in range(args.runs):
                times["baseline"].append(baseline(urls))
                times["a4"].append(app_path(buildings, "a4", today))
                times["label"].append(app_path(buildings, "label", today))
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"{n} buildings, median of {args.runs} runs")
            base_ms = med["baseline"] / n * 1e3
            print(f"  bare qrcode PNG      {med['baseline']:7.2f} s  {base_ms:6.2f} ms/code")
            for size in ("a4", "label"):
                ratio = med[size] / med["baseline"]
                per = med[size] / n * 1e3
                print(
                    f"  posters HTML {size:<6}  {med[size]:7.2f} s  {per:6.2f} ms/code"
                    f"  ratio {ratio:4.2f}"
                )
            if not args.no_pdf:
                items = posters.posters_for(
                    db.session, buildings, today=today, validity_days=180, base=BASE
                )
                for size in ("a4", "label"):
                    start = time.perf_counter()
                    data = posters.render_pdf(items, size, printed_on=today, title="bench")
                    took = time.perf_counter() - start
                    print(
                        f"  PDF {size:<6} (1 run)    {took:7.2f} s  {took / n * 1e3:6.2f} ms/code"
                        f"  ratio {took / med['baseline']:5.2f}  {len(data) / 1e6:.1f} MB"
                    )
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
