"""Concurrency on PostgreSQL with real parallel clients against the production server.

The app runs under gunicorn (several worker processes, several threads each, as the README's
production recipe says) on 127.0.0.1, on the session's PostgreSQL database; each client thread
holds its own HTTP connection, so every request is served by its own server thread with its own
database connection, in parallel with the others. Skipped on SQLite, where one writer at a time
is the engine's rule; ``scripts/test.sh`` runs this on PostgreSQL.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from inspect_app import hazards
from inspect_app.auth import issue_token
from inspect_app.db import db
from inspect_app.inspections import applicable_items
from inspect_app.models import (
    Area,
    Building,
    Checklist,
    Hazard,
    HazardEvent,
    Inspection,
    Photo,
    User,
)
from inspect_app.photo_stores import store_from_config
from inspect_app.thresholds import evaluate

from .conftest import PG_URL
from .gunicorn_server import Gunicorn, app_env

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="needs PostgreSQL (INSPECT_TEST_DATABASE_URL; scripts/test.sh sets it)"
)

WORKERS = 3
THREADS = 8
CANDIDATES = [Decimal(v) for v in ("0", "0.3", "0.4", "0.5", "1", "2", "5", "10", "50", "100")]


@pytest.fixture(scope="module")
def server(_app, tmp_path_factory):
    # Several workers with several threads each, as the README's production recipe says.
    srv = Gunicorn(
        app_env(_app),
        tmp_path_factory.mktemp("gunicorn") / "server.log",
        workers=WORKERS,
        threads=THREADS,
        options=("--preload", "--graceful-timeout", "5", "--log-level", "warning"),
    ).start()
    yield srv
    srv.close()


def in_parallel(n: int, call: Callable[[int], object]) -> list:
    """Run ``call(i)`` for i in range(n) on n threads released together; results in order.
    An exception in any thread fails the test."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call(i)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def jpeg(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    return buf.getvalue()


def bearer(app, user: User) -> dict[str, str]:
    with app.app_context():
        token = issue_token(db.session.get(User, user.id), "concurrency")
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def site(app, make, checklist):
    """A building in an inspector's grid, the inspector's token, and an answer that passes for
    every applicable item (numeric items get a reading their rules accept)."""
    grid = make.area("G", "grid", make.area("D", "district"))
    building = make.building(grid, height_m=Decimal("45"), storeys=15)
    inspector = make.user("inspector", "inspector", grid)
    with app.app_context():
        b = db.session.get(Building, building.id)
        items = applicable_items(db.session.get(Checklist, checklist.id), b)
        answers = {}
        for item in items:
            if item.answer_type != "numeric":
                answers[item.code] = {"result": "pass"}
                continue
            answers[item.code] = {
                "value": next(
                    str(v)
                    for v in CANDIDATES
                    if evaluate(
                        item.rules,
                        v,
                        building_class=b.building_class,
                        flags=b.flags,
                        unit=item.unit,
                    ).result
                    == "pass"
                )
            }
        plain = next(i.code for i in items if i.answer_type != "numeric" and not i.fix_on_spot)
    return {
        "building": building,
        "inspector": inspector,
        "headers": bearer(app, inspector),
        "answers": answers,
        "plain": plain,
    }


def inspection_multipart(site, client_uuid: str, photos: list[bytes]) -> tuple[bytes, str]:
    """The multipart body a phone's outbox sends: every answer, one hazard put on the plan
    with ``photos`` attached."""
    fields: list[tuple[str, object]] = [("client_uuid", client_uuid), ("kind", "survey")]
    for i, (code, answer) in enumerate(site["answers"].items()):
        fields.append((f"findings-{i}-item", code))
        if code == site["plain"]:
            fields += [(f"findings-{i}-result", "fail"), (f"findings-{i}-disposition", "plan")]
            for n, raw in enumerate(photos):
                storage = FileStorage(io.BytesIO(raw), f"p{n}.jpg", content_type="image/jpeg")
                fields.append((f"findings-{i}-photos", storage))
        else:
            fields += [(f"findings-{i}-{key}", value) for key, value in answer.items()]
    boundary, body = encode_multipart(MultiDict(fields))
    return body, f"multipart/form-data; boundary={boundary}"


def test_twenty_identical_submissions_from_parallel_clients_create_one(app, server, site):
    photos = [jpeg((200, 0, 0)), jpeg((0, 200, 0))]
    body, content_type = inspection_multipart(site, str(uuid.uuid4()), photos)
    path = f"/api/v1/buildings/{site['building'].code}/inspections"
    headers = {**site["headers"], "Content-Type": content_type}

    results = in_parallel(20, lambda _: server.request("POST", path, body, headers))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 19 + [201], results
    # Every client gets the same answer: the one inspection.
    assert len({payload["id"] for _, payload in results}) == 1
    assert count(app, Inspection) == 1
    assert count(app, Hazard) == 1 and count(app, HazardEvent) == 1
    assert count(app, Photo) == 2
    with app.app_context():
        store = store_from_config(app.config)
        assert all(store.exists(sha) for sha in db.session.scalars(select(Photo.sha256)))


def test_parallel_inspectors_with_distinct_submissions_all_land(app, server, site):
    """Twenty different submissions at once: no deadlock, no lost write, no error."""
    path = f"/api/v1/buildings/{site['building'].code}/inspections"
    bodies = [inspection_multipart(site, str(uuid.uuid4()), [jpeg((i, 9, 9))]) for i in range(20)]

    def post(i: int):
        body, content_type = bodies[i]
        return server.request("POST", path, body, {**site["headers"], "Content-Type": content_type})

    results = in_parallel(20, post)
    assert [status for status, _ in results] == [201] * 20, results
    assert count(app, Inspection) == 20 and count(app, Hazard) == 20
    assert count(app, Photo) == 20


# --- the ledger: transitions of one hazard ---------------------------------------------------


@pytest.fixture
def ledger_site(app, make):
    """A building with reviewers (street S, fire D) and 50 inspectors of its grid, each with
    a token; ``hazard(status)`` makes a general hazard there, open or submitted."""
    district = make.area("D", "district")
    street = make.area("S", "street", district)
    grid = make.area("G", "grid", make.area("SC", "community", street))
    building = make.building(grid)
    street_user = make.user("street", "street", street)
    fire_user = make.user("fire", "fire", district)
    with app.app_context():
        area = db.session.get(Area, grid.id)
        people = [
            User(
                username=f"insp{n:02d}",
                display_name=f"网格员{n}",
                role="inspector",
                area=area,
                password_hash="!",
            )
            for n in range(50)
        ]
        db.session.add_all(people)
        db.session.flush()
        tokens = [issue_token(u, "concurrency") for u in people]
        db.session.commit()
        inspector_ids = [u.id for u in people]

    def hazard(status: str = "open") -> tuple[int, int]:
        with app.app_context():
            actor = db.session.get(User, inspector_ids[0])
            h, _ = hazards.create(
                db.session,
                building=db.session.get(Building, building.id),
                finding=None,
                item=None,
                severity="general",
                description="疏散通道堆放杂物",
                plan=hazards.PlanLine("测试物业公司", "清理杂物", None, None),
                fixed_on_spot=False,
                actor=actor,
            )
            if status == "submitted":
                db.session.flush()
                hazards.record(
                    db.session, h, actor=actor, action="evidence_submitted", to_status="submitted"
                )
            db.session.commit()
            return h.id, h.version

    return {
        "building": building,
        "street": bearer(app, street_user),
        "fire": bearer(app, fire_user),
        "inspectors": [{"Authorization": f"Bearer {t}"} for t in tokens],
        "hazard": hazard,
    }


def events_of(app, hazard_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(HazardEvent.action)
                .where(HazardEvent.hazard_id == hazard_id)
                .order_by(HazardEvent.id)
            )
        )


def test_two_reviewers_acting_at_once_one_wins_one_gets_409(app, server, ledger_site):
    """The street office accepts while the detachment rejects the same submitted hazard, both
    from the version they saw: one transition is recorded, the other is refused with the
    current state, and nothing else changes. Several rounds, so the race really happens."""
    for _ in range(5):
        hazard_id, version = ledger_site["hazard"]("submitted")
        path = f"/api/v1/hazards/{hazard_id}/events"
        requests = [
            (ledger_site["street"], {"action": "accept", "version": version, "note": "验收合格"}),
            (ledger_site["fire"], {"action": "reject", "version": version, "reason": "仍有杂物"}),
        ]

        def act(i: int, path=path, requests=requests):
            headers, body = requests[i]
            return server.request(
                "POST",
                path,
                json.dumps(body).encode(),
                {**headers, "Content-Type": "application/json"},
            )

        results = in_parallel(2, act)
        assert sorted(status for status, _ in results) == [201, 409], results
        winner = next(i for i, (status, _) in enumerate(results) if status == 201)
        loser_body = results[1 - winner][1]
        won = ("accepted", "closed") if winner == 0 else ("rejected", "open")
        assert loser_body["error"] == "conflict"
        # The refusal shows the state the winner left, so the reviewer sees what happened.
        assert loser_body["hazard"]["version"] == version + 1
        assert loser_body["hazard"]["status"] == won[1]
        assert events_of(app, hazard_id) == ["created", "evidence_submitted", won[0]]
        with app.app_context():
            h = db.session.get(Hazard, hazard_id)
            assert (h.status, h.version) == (won[1], version + 1)


def test_fifty_evidence_uploads_at_once_one_transition_and_no_photo_lost(app, server, ledger_site):
    """Fifty phones send rectification evidence for one open hazard at the same moment, each
    from the version it saw. Evidence moves the hazard open → submitted once: one request
    wins, the 49 others get 409 with the new state, never a 5xx, and every one of the 50
    photos is kept (the loser's as its pending upload, which it can attach again)."""
    hazard_id, version = ledger_site["hazard"]("open")
    path = f"/api/v1/hazards/{hazard_id}/events"
    bodies = []
    for i in range(50):
        fields = MultiDict(
            [
                ("action", "submit_evidence"),
                ("version", str(version)),
                ("note", f"已清理（{i}）"),
                ("photos", FileStorage(io.BytesIO(jpeg((i * 5, 80, 160))), f"e{i}.jpg")),
            ]
        )
        boundary, body = encode_multipart(fields)
        bodies.append((body, f"multipart/form-data; boundary={boundary}"))

    def send(i: int):
        body, content_type = bodies[i]
        headers = {**ledger_site["inspectors"][i], "Content-Type": content_type}
        return server.request("POST", path, body, headers)

    results = in_parallel(50, send)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 49, statuses
    assert all(
        body["hazard"]["status"] == "submitted" and body["hazard"]["version"] == version + 1
        for status, body in results
        if status == 409
    )
    assert events_of(app, hazard_id) == ["created", "evidence_submitted"]
    with app.app_context():
        rows = db.session.scalars(select(Photo)).all()
        assert len(rows) == 50 and len({p.sha256 for p in rows}) == 50
        linked = [p for p in rows if p.hazard_id == hazard_id]
        assert len(linked) == 1 and linked[0].event_id is not None
        assert sum(p.is_pending for p in rows) == 49
        store = store_from_config(app.config)
        assert all(store.exists(p.sha256) for p in rows)


def reinspection_multipart(site, hazard_id: int, outcome: str, photo: bytes | None):
    """An all-pass re-inspection that re-checks one open hazard (still present, or fixed with
    an evidence photo)."""
    fields: list[tuple[str, object]] = [("client_uuid", str(uuid.uuid4())), ("kind", "patrol")]
    for i, (code, answer) in enumerate(site["answers"].items()):
        fields.append((f"findings-{i}-item", code))
        fields += [(f"findings-{i}-{key}", value) for key, value in answer.items()]
    fields += [("followups-0-hazard", str(hazard_id)), ("followups-0-outcome", outcome)]
    if photo is not None:
        fields.append(("followups-0-photos", FileStorage(io.BytesIO(photo), "fixed.jpg")))
    boundary, body = encode_multipart(MultiDict(fields))
    return body, f"multipart/form-data; boundary={boundary}"


def test_parallel_reinspections_of_one_hazard_lose_no_event_and_never_fail(app, server, site):
    """Twenty inspectors re-check the same open hazard at once. "Still present" appends an
    event each: twenty events, none lost. "Fixed, here is the photo" moves it to awaiting
    acceptance once; the other nineteen are answered as they would be minutes later (422:
    no longer open) with their photos kept for another use, never a 5xx."""
    path = f"/api/v1/buildings/{site['building'].code}/inspections"
    headers = site["headers"]
    body, content_type = inspection_multipart(site, str(uuid.uuid4()), [jpeg((1, 2, 3))])
    status, _ = server.request("POST", path, body, {**headers, "Content-Type": content_type})
    assert status == 201
    with app.app_context():
        hazard_id = db.session.scalar(select(Hazard.id))

    def recheck(outcome: str):
        bodies = []
        for i in range(20):
            photo = jpeg((i * 12, 99, 9)) if outcome == "fixed" else None
            bodies.append(reinspection_multipart(site, hazard_id, outcome, photo))

        def send(i: int):
            b, ct = bodies[i]
            return server.request("POST", path, b, {**headers, "Content-Type": ct})

        return in_parallel(20, send)

    present = recheck("present")
    assert [status for status, _ in present] == [201] * 20, present
    assert events_of(app, hazard_id) == ["created"] + ["confirmed_present"] * 20

    fixed = recheck("fixed")
    assert sorted(status for status, _ in fixed) == [201] + [422] * 19, fixed
    refused = [payload for status, payload in fixed if status == 422]
    assert all("followups-0-hazard" in p["errors"] for p in refused)
    kept = {sha for p in refused for sha in p["kept"]["followups-0-photo_refs"]}
    assert len(kept) == 19
    assert events_of(app, hazard_id) == ["created"] + ["confirmed_present"] * 20 + [
        "evidence_submitted"
    ]
    assert count(app, Inspection) == 1 + 20 + 1
    with app.app_context():
        assert db.session.get(Hazard, hazard_id).status == "submitted"
        unlinked = select(Photo.sha256).where(
            Photo.finding_id.is_(None), Photo.event_id.is_(None), Photo.hazard_id.is_(None)
        )
        pending = set(db.session.scalars(unlinked))
        assert kept <= pending
