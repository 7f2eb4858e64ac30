"""Benchmark the public fire safety code page against the health check in the same run.

Run from the project root::

    .venv/bin/python bench/public_page.py [--requests 500]

Builds a throwaway SQLite district (200 buildings, each with a few open hazards and an
inspection), then times through the WSGI test client, interleaved request by request:

- baseline: ``GET /healthz`` (routing, one ``SELECT 1``, JSON);
- page: ``GET /c/<token>`` as HTML (a random building each time);
- json: the same with ``Accept: application/json``.

Prints the median and 95th percentile of each and the ratio of the medians to the baseline.
No network, no server: this is the app's own cost per request.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspect_app import create_app  # noqa: E402
from inspect_app.db import db  # noqa: E402
from inspect_app.models import (  # noqa: E402
    Area,
    Building,
    Checklist,
    Hazard,
    Inspection,
    User,
)


def build(app, n: int) -> list[str]:
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        grid = Area(code="G", name="网格", level="grid", path="/G/")
        db.session.add(grid)
        user = User(username="w", display_name="w", role="inspector", password_hash="x")
        checklist = Checklist(
            code="c", version="1", title_zh="c", title_en="c", categories=[], content_sha256="0"
        )
        db.session.add_all([user, checklist])
        db.session.flush()
        user.area_id = grid.id
        rng = random.Random(7)
        now = datetime.now(UTC)
        for i in range(n):
            b = Building(
                code=f"B{i:05d}",
                name=f"滨江花园{i}栋",
                address=f"滨江路{i}号",
                area_id=grid.id,
                use="residential",
                height_m=Decimal("54"),
                storeys=18,
                fire_manager_name="王安全",
                fire_manager_phone="139-0000-1111",
                management_unit="金科物业",
            )
            db.session.add(b)
            db.session.flush()
            for _ in range(rng.randint(0, 4)):
                db.session.add(
                    Hazard(
                        building_id=b.id,
                        category=rng.choice(["LIFE", "FAC", "ELEC"]),
                        severity=rng.choice(["minor", "general", "major"]),
                        description="隐患",
                        status=rng.choice(["open", "submitted", "closed"]),
                        deadline=(now + timedelta(days=rng.randint(-20, 40))).date(),
                    )
                )
            db.session.add(
                Inspection(
                    client_uuid=str(uuid.uuid4()),
                    kind="survey",
                    building_id=b.id,
                    checklist_id=checklist.id,
                    inspector_id=user.id,
                    started_at=now,
                    submitted_at=now,
                )
            )
        db.session.commit()
        return list(db.session.scalars(db.select(Building.qr_token)))


def summary(name: str, samples: list[float], baseline: float | None) -> None:
    samples = sorted(samples)
    median = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    ratio = f"  ratio {median / baseline:5.2f}" if baseline else ""
    print(f"  {name:<10} median {median * 1e3:6.2f} ms   p95 {p95 * 1e3:6.2f} ms{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "SECRET_KEY": "bench",
                "AUDIT_LOG": os.devnull,
                "PHOTO_DIR": f"{tmp}/photos",
            }
        )
        tokens = build(app, 200)
        client = app.test_client()
        rng = random.Random(1)
        times: dict[str, list[float]] = {"healthz": [], "page": [], "json": []}
        for _ in range(20):  # warm up templates and connections
            client.get("/healthz")
            client.get(f"/c/{tokens[0]}")
        for _ in range(args.requests):
            token = rng.choice(tokens)
            for name, url, headers in (
                ("healthz", "/healthz", {}),
                ("page", f"/c/{token}", {}),
                ("json", f"/c/{token}", {"Accept": "application/json"}),
            ):
                start = time.perf_counter()
                response = client.get(url, headers=headers)
                times[name].append(time.perf_counter() - start)
                assert response.status_code == 200, (url, response.status_code)
        print(f"{args.requests} requests each, 200 buildings, SQLite, WSGI test client")
        base = statistics.median(times["healthz"])
        summary("healthz", times["healthz"], None)
        summary("page", times["page"], base)
        summary("json", times["json"], base)
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
