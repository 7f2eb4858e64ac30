"""Generated requests against the JSON API, from its own description (``/api/v1/openapi.json``).

Schemathesis reads the description served by the app and generates requests for every
operation — valid ones and, in a second pass, ones that break the schema — sent through the
WSGI app with a bearer token of the street office (which may use every endpoint). Every answer
must be below 500, conform to the description (status code, content type, body schema), and a
4xx must be JSON ``{"error", "message"}``. Path parameters are sometimes the world's real
objects, so the generated input reaches past the 404.

Hypothesis then sends structurally plausible but wrong inspection bodies to
``POST /api/v1/buildings/<code>/inspections``: wrong types, missing keys, unknown item ids,
absurd readings, nested garbage, and replays of a ``client_uuid`` with other content.
"""

from __future__ import annotations

import time
import uuid

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.openapi.checks import JsonSchemaError  # noqa: F401 (listed failure kind)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from inspect_app.auth import issue_token
from inspect_app.db import db
from inspect_app.models import Inspection, User
from inspect_app.openapi import spec
from tests.access_world import build_world
from tests.fuzzing import COUNTS, FUZZ, JUNK, SECONDS, ExceptionLog, fuzz_counts, verdict  # noqa: F401

pytestmark = pytest.mark.usefixtures("fuzz_counts")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in spec()["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
)


@pytest.fixture
def world(app, make, district, checklist):
    return build_world(app, make, district, checklist)


def _token(app, username: str) -> str:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == username))
        token = issue_token(user, f"fuzz-{username}")
        db.session.commit()
        return token


def _real_path_values(world) -> dict[str, dict]:
    """Path parameters naming the world's in-scope objects, per operation path."""
    return {
        "/buildings/{code}": {"code": world.inside["code"]},
        "/buildings/{code}/inspections": {"code": world.inside["code"]},
        "/hazards/{id}": {"id": world.inside["hazard_id"]},
        "/hazards/{id}/events": {"id": world.inside["hazard_id"]},
        "/campaigns/{id}/progress": {"id": world.inside["campaign_id"]},
    }


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_operation_answers_within_its_description(app, world, caplog, method, path):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    token = _token(app, "street")
    headers = {"Authorization": f"Bearer {token}"}
    real = _real_path_values(world).get(path)
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode))
        if real:
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=real))
    exceptions = ExceptionLog(caplog)
    name = f"{method} /api/v1{path} (schemathesis)"
    started = time.perf_counter()

    @settings(FUZZ, max_examples=25)
    @given(case=st.one_of(strategies))
    def run(case):
        COUNTS[name] += 1
        response = case.call(app=app, headers=headers)
        problem = verdict(response, api=True, exc_text=exceptions.last())
        assert problem is None, f"{problem} on {case.as_curl_command()}"
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        run()
    finally:
        SECONDS[name] += time.perf_counter() - started


# --- the inspection API with plausible but wrong bodies ------------------------------------------


def _items(app) -> list[str]:
    with app.app_context():
        from inspect_app.models import ChecklistItem

        return list(db.session.scalars(db.select(ChecklistItem.code).limit(8)))


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | JUNK,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def _finding(items: list[str]):
    return st.fixed_dictionaries(
        {},
        optional={
            "item": st.sampled_from(items) | st.just("NO-SUCH-ITEM") | ANY_JSON,
            "result": st.sampled_from(["pass", "fail", "na", "maybe", ""]) | ANY_JSON,
            "value": st.one_of(
                st.floats(allow_nan=True, allow_infinity=True),
                st.integers(-(10**30), 10**30),
                st.sampled_from(["1e309", "NaN", "-0", "12.5", "１２"]),
                ANY_JSON,
            ),
            "note": JUNK | ANY_JSON,
            "disposition": st.sampled_from(["plan", "fixed", "burn"]) | ANY_JSON,
            "photo_refs": st.lists(st.text(max_size=70), max_size=3) | ANY_JSON,
            "after_photo_refs": st.lists(st.sampled_from(["0" * 64, "x"]), max_size=2),
            "responsible_party": JUNK,
            "measures": JUNK,
            "deadline": st.sampled_from(["2026-02-30", "99999-01-01", "0001-01-01", "", "昨天"])
            | st.dates().map(str)
            | ANY_JSON,
            "funding": JUNK,
        },
    )


def _body(items: list[str], hazard_id: int):
    return st.fixed_dictionaries(
        {},
        optional={
            "client_uuid": st.just("fresh") | JUNK | ANY_JSON,
            "kind": st.sampled_from(["survey", "patrol", "self_check", "nuke"]) | ANY_JSON,
            "started_at": st.sampled_from(["2026-03-14T08:00:00Z", "yesterday", "9999-99-99"])
            | ANY_JSON,
            "latitude": st.floats() | st.integers(-1000, 1000) | ANY_JSON,
            "longitude": st.floats() | st.integers(-1000, 1000) | ANY_JSON,
            "note": JUNK,
            "findings": st.lists(_finding(items), max_size=4) | ANY_JSON,
            "followups": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "hazard": st.sampled_from([str(hazard_id), "-1", "0", "x"]) | ANY_JSON,
                        "outcome": st.sampled_from(["present", "fixed", "gone"]),
                        "note": JUNK,
                    },
                ),
                max_size=2,
            ),
            "extra": ANY_JSON,
        },
    )


def test_inspection_api_with_wrong_bodies(app, world, caplog):
    """Wrong types, missing keys, unknown items, absurd readings, nested garbage: never a 500,
    every rejection JSON ``{"error", "message"}``, and a rejected body leaves no inspection."""
    token = _token(app, "inspector")
    client = app.test_client()
    url = f"/api/v1/buildings/{world.inside['code']}/inspections"
    headers = {"Authorization": f"Bearer {token}"}
    items = _items(app)
    exceptions = ExceptionLog(caplog)
    name = "POST /api/v1/buildings/{code}/inspections (bodies)"
    started = time.perf_counter()

    @settings(FUZZ, max_examples=80)
    @given(body=_body(items, world.inside["hazard_id"]) | ANY_JSON)
    def run(body):
        COUNTS[name] += 1
        key = None
        if isinstance(body, dict) and body.get("client_uuid") == "fresh":
            key = body["client_uuid"] = str(uuid.uuid4())
        response = client.post(url, json=body, headers=headers)
        problem = verdict(response, api=True, exc_text=exceptions.last())
        assert problem is None, f"{problem} on {str(body)[:1500]}"
        if key and response.status_code >= 400:
            with app.app_context():
                kept = db.session.scalar(
                    db.select(Inspection.id).where(Inspection.client_uuid == key)
                )
            assert kept is None, f"rejected ({response.status_code}) but inspection {kept} kept"

    try:
        run()
    finally:
        SECONDS[name] += time.perf_counter() - started


def test_inspection_api_replays_of_a_client_uuid(app, world, caplog):
    """A valid submission, then the same ``client_uuid`` with generated other content: the
    replay of the same body is 200 with the same inspection, other content 409 or 422, never
    a second inspection."""
    token = _token(app, "inspector")
    client = app.test_client()
    url = f"/api/v1/buildings/{world.inside['code']}/inspections"
    headers = {"Authorization": f"Bearer {token}"}
    items = _items(app)
    answers = _passing_answers(app, world.inside["building_id"])
    exceptions = ExceptionLog(caplog)
    name = "POST /api/v1/buildings/{code}/inspections (replays)"
    started = time.perf_counter()

    @settings(FUZZ, max_examples=30)
    @given(other=_body(items, world.inside["hazard_id"]))
    def run(other):
        COUNTS[name] += 1
        key = str(uuid.uuid4())
        first = {"client_uuid": key, "kind": "survey", "findings": answers}
        created = client.post(url, json=first, headers=headers)
        assert created.status_code == 201, created.get_json()
        again = client.post(url, json=first, headers=headers)
        assert again.status_code == 200 and again.get_json()["id"] == created.get_json()["id"]
        other = {**other, "client_uuid": key}
        response = client.post(url, json=other, headers=headers)
        problem = verdict(response, api=True, exc_text=exceptions.last())
        assert problem is None, f"{problem} on {str(other)[:1500]}"
        with app.app_context():
            count = db.session.scalar(
                db.select(db.func.count(Inspection.id)).where(Inspection.client_uuid == key)
            )
        assert count == 1

    try:
        run()
    finally:
        SECONDS[name] += time.perf_counter() - started


def _passing_answers(app, building_id: int) -> list[dict]:
    """A finding that passes for every item that applies to the building."""
    from inspect_app.checklists import current_checklist
    from inspect_app.inspections import applicable_items
    from inspect_app.models import Building
    from inspect_app.thresholds import evaluate
    from tests.test_inspections import CANDIDATES

    with app.app_context():
        building = db.session.get(Building, building_id)
        out = []
        for item in applicable_items(current_checklist(db.session), building):
            answer = {"item": item.code, "result": "pass"}
            if item.answer_type == "numeric":
                answer["value"] = next(
                    v
                    for v in CANDIDATES
                    if evaluate(
                        item.rules,
                        v,
                        building_class=building.building_class,
                        flags=building.flags,
                        unit=item.unit,
                    ).result
                    == "pass"
                )
            out.append(answer)
        return out


# --- holes the generated inputs found, kept as plain regression tests --------------------------


def test_a_huge_id_in_a_url_is_a_404(app, world):
    """``/api/v1/hazards/<33 digits>`` reached the database, which cannot bind it (500)."""
    headers = {"Authorization": f"Bearer {_token(app, 'street')}"}
    client = app.test_client()
    for url in ("/api/v1/hazards/816062572637808622243578097172480", "/api/v1/hazards/2147483648"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("where", ["body", "if-match"])
def test_a_non_ascii_digit_version_is_a_422(app, world, where):
    """``"version": "²"`` passed ``str.isdigit()`` and failed ``int()`` (500) in supervise."""
    headers = {"Authorization": f"Bearer {_token(app, 'fire')}"}
    body = {
        "action": "supervise",
        "issues": "问题",
        "plan": "方案",
        "responsible_person": "张三",
        "deadline": "2030-01-01",
        "report_by": "2029-12-01",
    }
    if where == "body":
        body["version"] = "²"
    else:
        headers["If-Match"] = '"v²"'
    response = app.test_client().post(
        f"/api/v1/hazards/{world.inside['hazard_id']}/events", json=body, headers=headers
    )
    assert response.status_code == 422
    assert "version" in response.get_json()["errors"]
