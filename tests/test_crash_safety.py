"""Crash safety: the production server is killed (SIGKILL, master and worker) in the middle of
an inspection submission with photos, restarted, and the database and the photo store are
checked: each submission is there whole or not at all, no row is left without its parent, no
photo row points at a missing or partial file, and the client's resend converges to exactly one
inspection. The orphan sweep then removes every file the crashes left and nothing else.

The server is gunicorn on the suite's database (SQLite or PostgreSQL), as in
``test_postgres_concurrency.py``, with its photo folder under the test's ``tmp_path``. The kill
points are spread deterministically over one submission: part-way through the body, at fixed
fractions of a full submission's measured duration, at moments read from the photo folder (a
temporary file appears, the first photo is in place, every photo is in place, just before the
commit) and as soon as another connection sees the inspection (after the commit, before the
answer). One more submission is killed and never sent again, to leave orphans for the sweep.
Where each kill landed is printed (``pytest -s``); the assertions hold wherever it landed.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import create_engine, func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from inspect_app.auth import issue_token
from inspect_app.db import db
from inspect_app.inspections import applicable_items
from inspect_app.models import (
    Building,
    Checklist,
    Finding,
    Hazard,
    HazardEvent,
    Inspection,
    Photo,
    User,
)
from inspect_app.photo_stores import LocalPhotoStore
from inspect_app.thresholds import evaluate

from .gunicorn_server import ROOT, Gunicorn, app_env

# Large enough that decoding and normalising the photos is most of a submission's time.
PHOTO_SIZE = (3000, 2250)
CANDIDATES = [Decimal(v) for v in ("0", "0.3", "0.4", "0.5", "1", "2", "5", "10", "50", "100")]

# Kill points, in order. ("body", x): after x of the body is sent; ("time", f): at f of a full
# submission's duration from its first byte; ("files", what): when the photo folder shows a
# temporary file, the first photo or all of them; ("db", "committed"): as soon as another
# connection sees the inspection, before the server has answered.
KILL_POINTS = [
    ("body", 0.4),
    ("time", 0.2),
    ("time", 0.45),
    ("time", 0.7),
    ("files", "temporary"),
    ("files", "first"),
    ("files", "all"),
    ("time", 0.95),
    ("db", "committed"),
    ("time", 1.2),
    ("body", 0.9),
]


# --- the server -------------------------------------------------------------------------------


# --- what is submitted ------------------------------------------------------------------------


@dataclass
class Submission:
    client_uuid: str
    body: bytes
    content_type: str


@dataclass
class Site:
    """A building of an inspector's grid, the inspector's token and the answers to send:
    everything passes except one plain item (a hazard on the plan, two photos) and one item
    that can be fixed on the spot (fixed, one after-photo); one passing item has a photo."""

    code: str
    headers: dict[str, str]
    answers: dict[str, dict[str, str]]
    plain: str
    fixable: str
    passing: str
    findings: int
    photos: int = 4
    hazards: int = 2


@pytest.fixture
def site(app, make, checklist) -> Site:
    grid = make.area("G", "grid", make.area("D", "district"))
    building = make.building(grid, height_m=Decimal("45"), storeys=15)
    inspector = make.user("inspector", "inspector", grid)
    with app.app_context():
        b = db.session.get(Building, building.id)
        items = applicable_items(db.session.get(Checklist, checklist.id), b)
        answers: dict[str, dict[str, str]] = {}
        for item in items:
            if item.answer_type != "numeric":
                answers[item.code] = {"result": "pass"}
                continue
            value = next(
                v
                for v in CANDIDATES
                if evaluate(
                    item.rules, v, building_class=b.building_class, flags=b.flags, unit=item.unit
                ).result
                == "pass"
            )
            answers[item.code] = {"value": str(value)}
        plain_items = [i.code for i in items if i.answer_type != "numeric" and not i.fix_on_spot]
        fixable = next(i.code for i in items if i.answer_type != "numeric" and i.fix_on_spot)
        token = issue_token(db.session.get(User, inspector.id), "crash-safety")
        db.session.commit()
    return Site(
        code=building.code,
        headers={"Authorization": f"Bearer {token}"},
        answers=answers,
        plain=plain_items[0],
        fixable=fixable,
        passing=plain_items[1],
        findings=len(items),
    )


class Photos:
    """Distinct, realistic-size JPEGs: a textured base per slot with a mark that differs per
    submission, so no two submissions share a stored file."""

    def __init__(self, slots: int):
        w, h = PHOTO_SIZE
        self.bases = [
            Image.effect_noise((w // 4, h // 4), 40 + 10 * n).convert("RGB").resize((w, h))
            for n in range(slots)
        ]

    def make(self, serial: int) -> list[bytes]:
        out = []
        for slot, base in enumerate(self.bases):
            img = base.copy()
            x, y = 40 * (serial % 60), 40 * (serial // 60) + 20 * slot
            ImageDraw.Draw(img).rectangle([x, y, x + 120, y + 90], fill=(serial * 37 % 256, 9, 99))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=85)
            out.append(buf.getvalue())
        return out


def submission(site: Site, raws: list[bytes]) -> Submission:
    """The multipart body a phone's outbox sends for the whole checklist."""
    client_uuid = str(uuid.uuid4())

    def files(name: str, blobs: list[bytes]):
        return [
            (name, FileStorage(io.BytesIO(raw), f"p{n}.jpg", content_type="image/jpeg"))
            for n, raw in enumerate(blobs)
        ]

    fields: list[tuple[str, object]] = [("client_uuid", client_uuid), ("kind", "survey")]
    for i, (code, answer) in enumerate(site.answers.items()):
        name = f"findings-{i}"
        fields.append((f"{name}-item", code))
        if code == site.plain:
            fields += [(f"{name}-result", "fail"), (f"{name}-disposition", "plan")]
            fields += files(f"{name}-photos", raws[0:2])
        elif code == site.fixable:
            fields += [(f"{name}-result", "fail"), (f"{name}-disposition", "fixed")]
            fields += files(f"{name}-after_photos", raws[2:3])
        else:
            fields += [(f"{name}-{key}", value) for key, value in answer.items()]
            if code == site.passing:
                fields += files(f"{name}-photos", raws[3:4])
    boundary, body = encode_multipart(MultiDict(fields))
    return Submission(client_uuid, body, f"multipart/form-data; boundary={boundary}")


# --- one submission, killed -------------------------------------------------------------------


@dataclass
class Outcome:
    point: tuple[str, object]
    killed_after: float | None = None  # seconds from the first byte sent
    body_sent: bool = False
    answered: int | None = None  # the status, when the answer arrived before the kill
    stored: bool = False
    orphans: int = 0  # new photo files no row references
    temporaries: int = 0  # partial files left by a write the kill interrupted
    restart: float = 0.0  # seconds from the kill until the new server answered
    scale: float = 0.0  # the full submission's duration the time points were placed on
    resent: bool = True  # False: abandoned, neither restarted for nor sent again

    @property
    def landed(self) -> str:
        if not self.body_sent:
            return "mid-body"
        if self.answered is not None:
            return "after the answer"
        if self.stored:
            return "after commit"
        if self.orphans or self.temporaries:
            return "writing files, before commit"
        return "processing"


def store_listing(root: Path) -> tuple[set[str], set[str]]:
    """(stored file names, temporary file names) under the photo folder."""
    stored, temporary = set(), set()
    if not root.is_dir():
        return stored, temporary
    for folder in os.scandir(root):
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder.path):
            name = f"{folder.name}/{entry.name}"
            (temporary if entry.name.endswith(".tmp") else stored).add(name)
    return stored, temporary


def send_and_kill(
    server: Gunicorn, site: Site, sub: Submission, point, full: float, photo_root: Path, engine
) -> Outcome:
    """Send ``sub`` on a raw socket and SIGKILL the server at ``point``."""
    out = Outcome(point)
    head = (
        f"POST /api/v1/buildings/{site.code}/inspections HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: {site.headers['Authorization']}\r\n"
        f"Content-Type: {sub.content_type}\r\n"
        f"Content-Length: {len(sub.body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    kind, where = point
    before, temporary_before = store_listing(photo_root)
    killed = threading.Event()
    start = time.monotonic()

    def kill() -> None:
        if not killed.is_set():
            killed.set()
            out.killed_after = time.monotonic() - start
            server.kill()

    def reached() -> bool:
        if kind == "time":
            return time.monotonic() >= start + where * full
        if kind == "db":
            with engine.connect() as conn:
                found = conn.execute(
                    select(Inspection.id).where(Inspection.client_uuid == sub.client_uuid)
                ).first()
            return found is not None
        stored, temporary = store_listing(photo_root)
        new = stored - before
        return (
            (where == "temporary" and bool(temporary - temporary_before))
            or (where == "first" and len(new) >= 2)
            or (where == "all" and len(new) >= 2 * site.photos)
        )

    def watch() -> None:
        """Kill at a moment of the submission: a fixed time, or what the photo folder or the
        database shows."""
        deadline = start + 3 * full + 5
        while time.monotonic() < deadline and not killed.is_set():
            if reached():
                return kill()
            time.sleep(0.0005)

    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        if kind == "body":
            cut = int(len(sub.body) * where)
            sock.sendall(head + sub.body[:cut])
            # Long enough for the worker to be reading the body when it dies.
            time.sleep(0.2)
            kill()
            return out
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            sock.sendall(head + sub.body)
            out.body_sent = not killed.is_set()
            first = sock.recv(65536)
            # The status line arrives in one piece; whether it came before the kill decides
            # where the kill landed.
            if first.startswith(b"HTTP/1.1 ") and not killed.is_set():
                out.answered = int(first[9:12])
            while sock.recv(65536):
                pass
        except OSError:
            pass  # the connection died with the server
        watcher.join()
        kill()  # when the answer came first: the trial still ends with a crash
        return out
    finally:
        sock.close()


# --- what must hold after a restart -----------------------------------------------------------


def post(server: Gunicorn, site: Site, sub: Submission):
    return server.request(
        "POST",
        f"/api/v1/buildings/{site.code}/inspections",
        sub.body,
        {**site.headers, "Content-Type": sub.content_type},
    )


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def check_store_file(store: LocalPhotoStore, sha: str) -> None:
    """The photo file is whole (its bytes hash to its name) and its thumbnail decodes."""
    data = store.read(sha)
    assert hashlib.sha256(data).hexdigest() == sha, f"photo {sha[:12]} is not whole"
    with Image.open(io.BytesIO(store.read(sha, thumb=True))) as thumb:
        thumb.load()


def audit(app, store: LocalPhotoStore, site: Site, sent: set[str]) -> set[str]:
    """Check the whole database and photo store; return the client_uuids stored.

    Each stored inspection is whole: every finding, both hazards with their birth events,
    every photo row linked, every photo file whole. Nothing exists outside a stored
    inspection: no finding, hazard, event or photo row without its parent, no pending photo.
    """
    with app.app_context():
        inspections = db.session.scalars(select(Inspection)).all()
        stored = {i.client_uuid for i in inspections}
        assert stored <= sent, "an inspection nobody sent"
        assert len(stored) == len(inspections), "one client_uuid stored twice"
        for insp in inspections:
            finding_ids = select(Finding.id).where(Finding.inspection_id == insp.id)
            assert count(Finding, Finding.inspection_id == insp.id) == site.findings
            hazard_rows = db.session.scalars(
                select(Hazard).where(Hazard.finding_id.in_(finding_ids))
            ).all()
            assert sorted(h.status for h in hazard_rows) == ["fixed_on_spot", "open"]
            hazard_ids = [h.id for h in hazard_rows]
            for h in hazard_rows:
                assert count(HazardEvent, HazardEvent.hazard_id == h.id) == 1
            photos_of = db.session.scalars(
                select(Photo).where(
                    Photo.finding_id.in_(finding_ids) | Photo.hazard_id.in_(hazard_ids)
                )
            ).all()
            assert len(photos_of) == site.photos
            assert sum(p.hazard_id is not None and p.event_id is not None for p in photos_of) == 1
            assert len({p.sha256 for p in photos_of}) == site.photos

        n = len(inspections)
        inspection_ids = select(Inspection.id)
        all_findings = select(Finding.id)
        # No row outside a stored inspection (the totals) and none without its parent.
        assert count(Finding) == n * site.findings
        assert count(Finding, Finding.inspection_id.not_in(inspection_ids)) == 0
        assert count(Hazard) == n * site.hazards
        assert count(Hazard, Hazard.finding_id.is_(None)) == 0
        assert count(Hazard, Hazard.finding_id.not_in(all_findings)) == 0
        assert count(HazardEvent) == n * site.hazards
        assert count(HazardEvent, HazardEvent.hazard_id.not_in(select(Hazard.id))) == 0
        assert count(Photo) == n * site.photos
        assert count(Photo, Photo.finding_id.is_(None), Photo.hazard_id.is_(None)) == 0
        assert count(Photo, Photo.finding_id.not_in(all_findings)) == 0
        assert count(Photo, Photo.hazard_id.not_in(select(Hazard.id))) == 0
        # No row pointing at a missing or partial file.
        for sha in db.session.scalars(select(Photo.sha256)):
            check_store_file(store, sha)
    return stored


def referenced_files(app) -> set[str]:
    with app.app_context():
        shas = set(db.session.scalars(select(Photo.sha256)))
    return {f"{s[:2]}/{s}.jpg" for s in shas} | {f"{s[:2]}/{s}.thumb.jpg" for s in shas}


# --- the test ---------------------------------------------------------------------------------


def test_sigkill_mid_submission_leaves_all_or_nothing_and_the_sweep_clears_the_rest(
    app, site, tmp_path
):
    photo_root = tmp_path / "photos"
    store = LocalPhotoStore(photo_root)
    server = Gunicorn(
        {**app_env(app), "INSPECT_PHOTO_DIR": str(photo_root)},
        tmp_path / "server.log",
        backlog=64,
    )
    server.launch()
    images = Photos(site.photos)
    serial = iter(range(1000))
    sent: set[str] = set()
    # The test's own connections, to see a commit the moment it happens.
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        server.wait_ready()
        # One full submission on a fresh server, one more on the warm server: the second's
        # duration is the scale the first kill points are placed on (then the latest resend's).
        durations = []
        for _ in range(2):
            sub = submission(site, images.make(next(serial)))
            sent.add(sub.client_uuid)
            t0 = time.monotonic()
            status, body = post(server, site, sub)
            durations.append(time.monotonic() - t0)
            assert status == 201, body
        full = durations[-1]
        audit(app, store, site, sent)

        outcomes = []
        sub = submission(site, images.make(next(serial)))
        for n, point in enumerate(KILL_POINTS):
            sent.add(sub.client_uuid)
            files_before, temporary_before = store_listing(photo_root)
            outcome = send_and_kill(server, site, sub, point, full, photo_root, engine)
            outcome.scale = full
            restart = time.monotonic()
            server.launch()
            # The next submission's photos are made while the server starts.
            upcoming = None
            if n + 1 < len(KILL_POINTS):
                upcoming = submission(site, images.make(next(serial)))
            server.wait_ready()
            outcome.restart = time.monotonic() - restart

            stored = audit(app, store, site, sent)
            outcome.stored = sub.client_uuid in stored
            files_after, temporary = store_listing(photo_root)
            outcome.orphans = len((files_after - files_before) - referenced_files(app))
            outcome.temporaries = len(temporary - temporary_before)
            # The phone sends again what it never saw acknowledged (and a replay, had it
            # been acknowledged, is harmless): one inspection in the end, either way.
            t0 = time.monotonic()
            status, body = post(server, site, sub)
            assert status == (200 if outcome.stored else 201), (point, status, body)
            if status == 201:
                # A full submission on the server the next trial runs on: the better scale.
                full = time.monotonic() - t0
            assert body["client_uuid"] == sub.client_uuid
            assert sub.client_uuid in audit(app, store, site, sent)
            outcomes.append(outcome)
            sub = upcoming

        # One more, killed after its first photo is stored and never sent again (the phone
        # was lost): the files it left are the orphans the sweep is for.
        abandoned = submission(site, images.make(next(serial)))
        point = ("files", "first")
        before, _ = store_listing(photo_root)
        outcome = send_and_kill(server, site, abandoned, point, full, photo_root, engine)
        outcome.scale, outcome.resent = full, False
        sent.add(abandoned.client_uuid)
        outcome.stored = abandoned.client_uuid in audit(app, store, site, sent)
        outcome.orphans = len((store_listing(photo_root)[0] - before) - referenced_files(app))
        outcomes.append(outcome)
    finally:
        server.close()
        engine.dispose()

    with app.app_context():
        assert count(Inspection) == len(sent) - (not outcome.stored)

    # The sweep: everything the crashes left is removed, every referenced file stays. The
    # operator's command with its shortest grace period (1 h): the store is aged by 2 h, and a
    # stray file written just now must survive (an upload whose row is not committed yet).
    referenced = referenced_files(app)
    stray_old = "ab/" + "ab" + "0" * 62 + ".jpg"
    (photo_root / "ab").mkdir(exist_ok=True)
    (photo_root / stray_old).write_bytes(b"\xff\xd8\xff stray")
    (photo_root / "ab" / f".{'ab' + '1' * 62}.jpg.x1y2.tmp").write_bytes(b"\xff\xd8\xff")
    aged = time.time() - 2 * 3600
    for folder in photo_root.iterdir():
        for f in folder.iterdir():
            os.utime(f, (aged, aged))
    young = "cd/" + "cd" + "2" * 62 + ".jpg"
    (photo_root / "cd").mkdir(exist_ok=True)
    (photo_root / young).write_bytes(b"\xff\xd8\xff young")
    left, temporary = store_listing(photo_root)
    assert stray_old in left and temporary and referenced < left

    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "inspect_app", "sweep-photos"]
        + ["--grace-hours", "1"],
        env=server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    remaining, temporary = store_listing(photo_root)
    assert remaining == referenced | {young}
    assert not temporary
    audit(app, store, site, sent)

    first = ", ".join(f"{d:.2f} s" for d in durations)
    print(f"\nfirst submissions: {first}; sweep: {result.stdout.strip()}")
    for o in outcomes:
        at = "-" if o.killed_after is None else f"{o.killed_after:.2f}/{o.scale:.2f}s"
        print(
            f"  kill at {o.point!s:<22} t={at:<11} landed: {o.landed:<29} "
            f"stored={o.stored!s:<5} orphan files={o.orphans} temporaries={o.temporaries} "
            + (f"restart={o.restart:.1f}s" if o.resent else "abandoned")
        )
    print(
        "  stored:",
        sum(o.stored for o in outcomes),
        "not stored:",
        sum(not o.stored for o in outcomes),
    )


# --- the two holes the crashes showed, pinned without a server ---------------------------------


def small_jpegs(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (64, 48), (40 * i, 90, 200)).save(buf, "JPEG")
        out.append(buf.getvalue())
    return out


def test_a_failure_after_the_uuid_is_claimed_leaves_no_inspection(app, client, site, tmp_path):
    """The submission claims its client_uuid in a savepoint before it writes the findings and
    stores the photos. When storing a photo fails (here: the photo folder cannot be created),
    the whole submission is rolled back, the claimed inspection included; on SQLite the
    savepoint used to commit the bare inspection, which a resend then "replayed" as stored."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    sub = submission(site, small_jpegs(site.photos))
    previous = app.config["PHOTO_DIR"]
    app.config["PHOTO_DIR"] = str(blocker / "photos")
    try:
        failed = client.post(
            f"/api/v1/buildings/{site.code}/inspections",
            data=sub.body,
            headers={**site.headers, "Content-Type": sub.content_type},
        )
        assert failed.status_code == 500
    finally:
        app.config["PHOTO_DIR"] = previous
    with app.app_context():
        assert count(Inspection) == 0
        assert count(Finding) == 0 and count(Hazard) == 0 and count(Photo) == 0

    response = client.post(
        f"/api/v1/buildings/{site.code}/inspections",
        data=sub.body,
        headers={**site.headers, "Content-Type": sub.content_type},
    )
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        assert count(Finding) == site.findings and count(Photo) == site.photos


def test_sweep_removes_partial_files_of_interrupted_writes_after_the_grace(tmp_path):
    """A write killed between creating its temporary file and renaming it leaves the
    temporary behind; the sweep removes it once it is older than the grace period, and never
    a temporary being written now or a file that is not the store's."""
    from datetime import UTC, datetime, timedelta

    from inspect_app.photo_stores import sweep_orphans

    store = LocalPhotoStore(tmp_path)
    sha = "ab" + "3" * 62
    folder = tmp_path / "ab"
    folder.mkdir()
    old = folder / f".{sha}.jpg.k2j4h5.tmp"
    old_thumb = folder / f".{sha}.thumb.jpg.a8s7d6.tmp"
    young = folder / f".{sha}.jpg.q1w2e3.tmp"
    foreign = folder / ".notes.tmp"
    for f in (old, old_thumb, young, foreign):
        f.write_bytes(b"\xff\xd8\xff")
    aged = time.time() - 3 * 3600
    for f in (old, old_thumb, foreign):
        os.utime(f, (aged, aged))

    assert sweep_orphans(store, set(), older_than=timedelta(hours=1), now=datetime.now(UTC)) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted([young.name, foreign.name])
