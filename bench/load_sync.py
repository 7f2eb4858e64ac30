"""Load test: N inspectors syncing inspections with photos to gunicorn + PostgreSQL.

Run from the project root (needs the ``test`` or ``prod`` extra for gunicorn)::

    .venv/bin/python bench/load_sync.py [--inspectors 200] [--inspections 2] [--photos 2]
                                        [--workers W] [--threads T] [--duration 180]
                                        [--database-url postgresql+psycopg://...@127.0.0.1/...]

Everything runs on this machine and on loopback only: a private PostgreSQL started with
``scripts/pg_up.sh`` (and removed at the end) unless ``--database-url`` names a local one, and
gunicorn on 127.0.0.1 with photos in a temporary folder.

Each simulated inspector is a thread with its own keep-alive connection, like a phone. It
syncs its outbox the way the page's outbox does: every queued inspection is one multipart POST
(answers + a hazard with its photos, 1600x1200 JPEGs as the phone sends them) to
``/api/v1/buildings/<code>/inspections``; a network error or 5xx is retried with the same
``client_uuid`` after a back-off; a share of accepted submissions (``--replay-rate``) is sent
again, as when a 2xx is lost on the way back, and must come back as the same inspection.

Printed: submissions/s and photos/s, p50/p95/max latency of a submission, errors (non-2xx or
network), parked submissions (4xx), and duplicates and losses counted in the database
afterwards (target: 0 errors, 0 duplicates). The baseline, measured in the same run with the
same number of clients, is ``GET /healthz`` (one HTTP round trip and one ``SELECT 1``): the
floor any request pays on this server. Bounded: clients stop starting submissions after
``--duration`` seconds, and every request times out after 60 s.

The client threads share the machine (and Python's GIL) with the server, so on a small machine
the figures are a floor for the server, not its ceiling.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Runnable as a plain script: make the package importable from the project root.
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from werkzeug.datastructures import FileStorage, MultiDict  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

LOOPBACK = {"127.0.0.1", "localhost", "::1", None, ""}
CANDIDATES = [Decimal(v) for v in ("0", "0.3", "0.4", "0.5", "1", "2", "5", "10", "50", "100")]


# --- database and server --------------------------------------------------------------------


def start_postgres() -> dict[str, str]:
    """A private PostgreSQL from scripts/pg_up.sh; returns the variables it exports."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pg_up.sh")], check=True, capture_output=True, text=True
    ).stdout
    env = {}
    for line in out.splitlines():
        for word in line.removeprefix("export ").split():
            key, _, value = word.partition("=")
            env[key] = value
    return env


def stop_postgres(env: dict[str, str]) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "pg_down.sh")], env={**os.environ, **env})


def prepare(url: str, inspectors: int, buildings: int) -> tuple[list[dict], dict, str]:
    """Migrate, load the checklist, create one grid with ``buildings`` buildings and
    ``inspectors`` inspectors with API tokens. Returns (inspectors, answers, failing item)."""
    from flask_migrate import upgrade

    from inspect_app import create_app
    from inspect_app.auth import issue_token
    from inspect_app.checklists import load_checklist
    from inspect_app.db import db
    from inspect_app.inspections import applicable_items
    from inspect_app.models import Area, Building, User
    from inspect_app.thresholds import evaluate

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "AUDIT_LOG": os.devnull,
            "PHOTO_DIR": "/nonexistent",
        }
    )
    with app.app_context():
        upgrade()
        checklist, _ = load_checklist(db.session, ROOT / "inspect_app/checklists/catalog.toml")
        district = Area(code="BENCH", name="压测区", level="district", path="/BENCH/")
        grid = Area(code="BG", name="压测网格", level="grid", path="/BENCH/BG/", parent=district)
        db.session.add_all([district, grid])
        rows = [
            Building(
                code=f"LB-{n:05d}",
                name=f"压测花园{n}栋",
                address=f"压测路{n}号",
                area=grid,
                use="residential",
                height_m=Decimal("54"),
                storeys=18,
                management_unit="压测物业",
            )
            for n in range(buildings)
        ]
        db.session.add_all(rows)
        users = [
            User(
                username=f"inspector{n:04d}",
                display_name=f"网格员{n}",
                role="inspector",
                area=grid,
                password_hash="!",
            )
            for n in range(inspectors)
        ]
        db.session.add_all(users)
        db.session.flush()
        people = [{"token": issue_token(u, "load"), "codes": [b.code for b in rows]} for u in users]
        first = rows[0]
        items = applicable_items(checklist, first)
        answers: dict[str, dict[str, str]] = {}
        for item in items:
            if item.answer_type != "numeric":
                answers[item.code] = {"result": "pass"}
                continue
            value = next(
                v
                for v in CANDIDATES
                if evaluate(
                    item.rules,
                    v,
                    building_class=first.building_class,
                    flags=first.flags,
                    unit=item.unit,
                ).result
                == "pass"
            )
            answers[item.code] = {"value": str(value)}
        failing = next(i.code for i in items if i.answer_type != "numeric" and not i.fix_on_spot)
        db.session.commit()
        db.engine.dispose()
    return people, answers, failing


class Gunicorn:
    """gunicorn serving the app on a socket bound here on 127.0.0.1."""

    def __init__(self, url: str, photo_dir: str, workers: int, threads: int, log: Path):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.port = self.sock.getsockname()[1]
        env = {
            **os.environ,
            "INSPECT_DATABASE_URL": url,
            "INSPECT_SECRET_KEY": "bench",
            "INSPECT_PHOTO_DIR": photo_dir,
            # Each thread of a worker may hold a connection; no overflow beyond that.
            "INSPECT_SQLALCHEMY_ENGINE_OPTIONS": json.dumps(
                {"pool_pre_ping": True, "pool_size": threads, "max_overflow": 2}
            ),
        }
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "gunicorn", "--preload"),
                    *("--workers", str(workers), "--threads", str(threads)),
                    *("--bind", f"fd://{self.sock.fileno()}", "--backlog", "1024"),
                    *("--keep-alive", "30", "--log-level", "warning"),
                    "inspect_app:create_app()",
                ],
                pass_fds=(self.sock.fileno(),),
                start_new_session=True,
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{log.read_text()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"gunicorn did not answer /healthz:\n{log.read_text()}")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.sock.close()


# --- clients --------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    parked: int = 0
    accepted: set[str] = field(default_factory=set)
    ids: dict[str, int] = field(default_factory=dict)
    replays: int = 0
    replay_mismatches: int = 0
    photos: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """One keep-alive connection, reopened after a network error."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def phone_photo(base: Image.Image, seed: int) -> bytes:
    """A distinct 1600x1200 JPEG at quality 80, as the page's resize sends it."""
    img = base.copy()
    rng = random.Random(seed)
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = rng.randrange(1500), rng.randrange(1100)
        draw.rectangle((x, y, x + 100, y + 100), fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def submission(answers, failing: str, client_uuid: str, photos: list[bytes]) -> tuple[bytes, str]:
    fields: list[tuple[str, object]] = [("client_uuid", client_uuid), ("kind", "survey")]
    for i, (code, answer) in enumerate(answers.items()):
        fields.append((f"findings-{i}-item", code))
        if code == failing:
            fields += [(f"findings-{i}-result", "fail"), (f"findings-{i}-disposition", "plan")]
            for n, raw in enumerate(photos):
                storage = FileStorage(io.BytesIO(raw), f"p{n}.jpg", content_type="image/jpeg")
                fields.append((f"findings-{i}-photos", storage))
        else:
            fields += [(f"findings-{i}-{k}", v) for k, v in answer.items()]
    boundary, body = encode_multipart(MultiDict(fields))
    return body, f"multipart/form-data; boundary={boundary}"


def inspector(port, person, outbox, stats: Stats, deadline: float, replay_rate: float, start):
    client = Client(port)
    rng = random.Random(person["token"])
    headers = {"Authorization": f"Bearer {person['token']}"}
    start.wait()
    try:
        for code, client_uuid, body, content_type, n_photos in outbox:
            path = f"/api/v1/buildings/{code}/inspections"
            h = {**headers, "Content-Type": content_type}
            backoff = 0.2
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    status, data = client.request("POST", path, body, h)
                except (OSError, http.client.HTTPException):
                    status, data = 0, b""
                elapsed = time.perf_counter() - t0
                with stats.lock:
                    stats.latencies.append(elapsed)
                    if status not in (200, 201):
                        stats.errors += 1
                if status in (200, 201):
                    with stats.lock:
                        stats.accepted.add(client_uuid)
                        stats.ids[client_uuid] = json.loads(data)["id"]
                        stats.photos += n_photos if status == 201 else 0
                    break
                if 400 <= status < 500:
                    with stats.lock:
                        stats.parked += 1
                    break
                time.sleep(backoff)  # network error or 5xx: the outbox backs off and retries
                backoff = min(backoff * 2, 5)
            else:
                return
            if rng.random() < replay_rate:
                status, data = client.request("POST", path, body, h)
                with stats.lock:
                    stats.replays += 1
                    same = status == 200 and json.loads(data)["id"] == stats.ids[client_uuid]
                    stats.replay_mismatches += not same
    finally:
        client.close()


def healthz_baseline(port: int, clients: int, seconds: float) -> tuple[list[float], int]:
    """``clients`` threads calling /healthz back to back for ``seconds``: latencies, errors."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def run():
        client = Client(port)
        mine = []
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                status, _ = client.request("GET", "/healthz")
            except (OSError, http.client.HTTPException):
                status = 0
            mine.append(time.perf_counter() - t0)
            if status != 200:
                with lock:
                    errors[0] += 1
        client.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def count_in_database(url: str, accepted: set[str]) -> tuple[int, int, int]:
    """(inspections stored, duplicates, accepted but missing), counted in the database."""
    from sqlalchemy import create_engine

    from inspect_app.models import Inspection

    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Inspection))
        uuids = set(conn.scalars(select(Inspection.client_uuid)))
        # Two rows for one submission would need one uuid twice, which the unique constraint
        # forbids; count rows that are not an accepted submission instead.
        duplicates = stored - len(uuids & accepted)
    engine.dispose()
    return stored, duplicates, len(accepted - uuids)


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    cores = os.cpu_count() or 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspectors", type=int, default=200)
    parser.add_argument("--inspections", type=int, default=2, help="queued per inspector")
    parser.add_argument("--photos", type=int, default=2, help="per inspection")
    parser.add_argument("--workers", type=int, default=2 * cores)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--duration", type=float, default=180, help="seconds, at most")
    parser.add_argument("--baseline-seconds", type=float, default=5)
    parser.add_argument("--replay-rate", type=float, default=0.1)
    parser.add_argument("--database-url", help="a local PostgreSQL (default: a private one)")
    args = parser.parse_args(argv)

    pg_env: dict[str, str] = {}
    url = args.database_url
    if url:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql" or parsed.host not in LOOPBACK:
            parser.error("--database-url must be a PostgreSQL on this machine (loopback)")
    else:
        pg_env = start_postgres()
        url = pg_env["INSPECT_TEST_DATABASE_URL"]
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="inspect-load-") as tmp:
            t0 = time.perf_counter()
            people, answers, failing = prepare(url, args.inspectors, max(50, args.inspectors))
            print(
                f"setup: {args.inspectors} inspectors, {len(answers)} answers per inspection, "
                f"{time.perf_counter() - t0:.1f} s"
            )
            # Smooth texture, so a photo compresses like a phone's (about 250 KB at q80).
            base = (
                Image.effect_noise((160, 120), 80)
                .convert("RGB")
                .resize((1600, 1200), Image.Resampling.BICUBIC)
            )
            rng = random.Random(2026)
            outboxes = []
            seed = 0
            for person in people:
                outbox = []
                for _ in range(args.inspections):
                    photos = []
                    for _ in range(args.photos):
                        seed += 1
                        photos.append(phone_photo(base, seed))
                    client_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    body, content_type = submission(answers, failing, client_uuid, photos)
                    outbox.append(
                        (rng.choice(person["codes"]), client_uuid, body, content_type, len(photos))
                    )
                outboxes.append(outbox)
            size = statistics.mean(len(o[2]) for box in outboxes for o in box) / 1e6
            print(f"outboxes ready: {size:.2f} MB per submission on average")

            server = Gunicorn(url, f"{tmp}/photos", args.workers, args.threads, Path(tmp) / "log")
            print(
                f"gunicorn: {args.workers} workers x {args.threads} threads on "
                f"127.0.0.1:{server.port}; PostgreSQL {make_url(url).render_as_string()}"
            )

            base_lat, base_err = healthz_baseline(
                server.port, args.inspectors, args.baseline_seconds
            )

            stats = Stats()
            start = threading.Barrier(args.inspectors + 1)
            deadline = time.monotonic() + args.duration
            threads = [
                threading.Thread(
                    target=inspector,
                    args=(server.port, p, box, stats, deadline, args.replay_rate, start),
                )
                for p, box in zip(people, outboxes, strict=True)
            ]
            for t in threads:
                t.start()
            start.wait()
            t_start = time.perf_counter()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t_start
            server_log = (Path(tmp) / "log").read_text()
            server.stop()
            server = None

            stored, duplicates, missing = count_in_database(url, stats.accepted)
            queued = args.inspectors * args.inspections
            lat = stats.latencies
            print()
            print(
                f"{'':<22}{'requests':>9}{'per s':>9}{'p50 ms':>9}{'p95 ms':>9}"
                f"{'max ms':>9}{'errors':>8}"
            )
            print(
                f"{'baseline GET /healthz':<22}{len(base_lat):>9}"
                f"{len(base_lat) / args.baseline_seconds:>9.1f}"
                f"{pct(base_lat, 0.5) * 1e3:>9.1f}{pct(base_lat, 0.95) * 1e3:>9.1f}"
                f"{max(base_lat, default=0) * 1e3:>9.1f}{base_err:>8}"
            )
            print(
                f"{'sync submission':<22}{len(lat):>9}{len(lat) / wall:>9.1f}"
                f"{pct(lat, 0.5) * 1e3:>9.1f}{pct(lat, 0.95) * 1e3:>9.1f}"
                f"{max(lat, default=0) * 1e3:>9.1f}{stats.errors:>8}"
            )
            print()
            print(
                f"synced {len(stats.accepted)}/{queued} inspections in {wall:.1f} s: "
                f"{len(stats.accepted) / wall:.1f} inspections/s, "
                f"{stats.photos / wall:.1f} photos/s"
            )
            print(
                f"errors {stats.errors}, parked (4xx) {stats.parked}, replays {stats.replays} "
                f"(answered with another inspection: {stats.replay_mismatches})"
            )
            print(f"database: {stored} inspections, duplicates {duplicates}, lost {missing}")
            print(
                f"submission p50 / healthz p50 = {pct(lat, 0.5) / pct(base_lat, 0.5):.1f}x "
                f"(a submission carries {args.photos} photos to decode, resize and store)"
            )
            if "Traceback" in server_log:
                print("\nserver log has errors:\n" + server_log[-3000:])
            ok = (
                stats.errors == 0
                and duplicates == 0
                and missing == 0
                and stats.replay_mismatches == 0
                and len(stats.accepted) == queued
            )
            print("result:", "OK" if ok else "NOT OK")
            return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
        if pg_env:
            stop_postgres(pg_env)


if __name__ == "__main__":
    sys.exit(main())
