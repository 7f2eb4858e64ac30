"""Inspections: one visit, one building, one checklist version, submitted once.

``submit`` is the single entry for the page and the API. It validates what the form classes
cannot (answers against the checklist and the building, plan lines, photos), then writes the
inspection, its findings, hazards, events and photos in the caller's transaction. Photo files
are stored before it returns, so the caller's commit never points at a missing file.

Modules: ``answers`` (answers checked against the checklist and the building) and ``evidence``
(photos: limits, processing, references, links).

Idempotency: ``client_uuid`` is unique. A replay with the same content returns the existing
inspection (``created=False``); the same uuid with other content raises ``Conflict``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import hazards, photo_stores
from ..checklists import applies, current_checklist
from ..models import (
    Building,
    Campaign,
    Checklist,
    ChecklistItem,
    Finding,
    Inspection,
    User,
    utcnow,
)
from .answers import Errors, check_findings, check_followups
from .evidence import (
    MAX_PHOTOS_PER_FIELD,
    MAX_PHOTOS_PER_SUBMISSION,
    attach,
    check_refs,
    process_photos,
    read_files,
    require_photos,
    too_many_photos,
)

__all__ = [
    "MAX_PHOTOS_PER_FIELD",
    "MAX_PHOTOS_PER_SUBMISSION",
    "Conflict",
    "Invalid",
    "applicable_items",
    "collect_files",
    "content_digest",
    "find_replay",
    "submit",
]


class Invalid(Exception):
    """Field errors, keyed by form field name (``findings-3-result``; ``findings`` for the
    form as a whole). Nothing of the inspection was written; photos that were fine were
    stored as pending uploads and are listed in ``kept`` (``findings-3-photo_refs`` → sha256s)
    so that the form can send them back by reference."""

    def __init__(self, errors: dict[str, list[str]], kept: dict[str, list[str]] | None = None):
        super().__init__("invalid inspection")
        self.errors = errors
        self.kept = kept or {}


class Conflict(Exception):
    """The ``client_uuid`` is taken by a different submission."""

    def __init__(self, inspection: Inspection):
        super().__init__("client_uuid reused with different content")
        self.inspection = inspection


def content_digest(building: Building, data: dict[str, Any], files: dict[str, list[bytes]]) -> str:
    """A digest of what was submitted (fields and raw photo bytes), to tell a replay from a
    different submission under the same ``client_uuid``."""

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in sorted(value.items()) if k != "csrf_token"}
        if isinstance(value, list):
            return [clean(v) for v in value if not hasattr(v, "read")]
        if isinstance(value, Decimal):
            return str(value.normalize())
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        return value

    payload = {
        "building": building.code,
        "data": clean(data),
        "files": {k: [hashlib.sha256(b).hexdigest() for b in v] for k, v in sorted(files.items())},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def applicable_items(checklist: Checklist, building: Building) -> list[ChecklistItem]:
    """The checklist items that apply to this building (by class and flags), in order."""
    klass, flags = building.building_class, building.flags
    return [i for i in checklist.items if applies(i.applies_to, klass, flags)]


def collect_files(data: dict[str, Any]) -> dict[str, list[bytes]]:
    """Read every uploaded photo out of the form data, keyed by field name."""
    files: dict[str, list[bytes]] = {}
    for section in ("findings", "followups"):
        for i, entry in enumerate(data.get(section) or ()):
            for key in ("photos", "after_photos"):
                raw = read_files(entry.get(key))
                if raw:
                    files[f"{section}-{i}-{key}"] = raw
    return files


def find_replay(session: Session, client_uuid: str) -> Inspection | None:
    return session.scalar(select(Inspection).where(Inspection.client_uuid == client_uuid))


def submit(
    session: Session,
    *,
    user: User,
    building: Building,
    data: dict[str, Any],
    files: dict[str, list[bytes]],
    store: photo_stores.PhotoStore,
    today: date,
    campaign: Campaign | None,
    max_photo_pixels: int = 50_000_000,
) -> tuple[Inspection, bool]:
    """Validate and store one inspection; see the module docstring for the contract.

    ``data`` is the form's data (``InspectionForm.data``); ``files`` the raw photo bytes by
    field name (``collect_files``). Returns ``(inspection, created)``; raises ``Invalid`` with
    field errors, or ``Conflict``.
    """
    digest = content_digest(building, data, files)
    existing = find_replay(session, data["client_uuid"])
    if existing is not None:
        return _replay(existing, digest)

    checklist = current_checklist(session)
    if checklist is None:
        raise Invalid({"": ["尚未加载检查清单，请联系管理员"]})
    errors = Errors()
    items = {i.code: i for i in applicable_items(checklist, building)}
    answers = check_findings(data.get("findings") or [], items, building, today, errors)
    followups = check_followups(session, data.get("followups") or [], building, errors)
    if too_many_photos(files, data, errors):
        # Refused before any photo is decoded: counting is cheap, decoding hundreds is not.
        raise Invalid(errors.errors)
    uploads = process_photos(files, errors, max_photo_pixels)
    refs = check_refs(session, user, data, errors)
    require_photos(answers, followups, uploads, refs, errors)
    if errors.errors:
        raise Invalid(errors.errors, _keep_pending(session, uploads, user, store))

    inspection = Inspection(
        client_uuid=data["client_uuid"],
        content_sha256=digest,
        kind=data["kind"],
        building=building,
        checklist=checklist,
        campaign=campaign,
        inspector=user,
        started_at=_parse_started(data.get("started_at")) or utcnow(),
        submitted_at=utcnow(),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        note=(data.get("note") or "").strip() or None,
    )
    # Claim the uuid first, inside a savepoint: a parallel twin that got there first makes
    # this flush fail, and the request answers as a replay instead.
    try:
        with session.begin_nested():
            session.add(inspection)
            session.flush()
    except IntegrityError:
        existing = find_replay(session, data["client_uuid"])
        if existing is None:
            raise
        return _replay(existing, digest)

    for index, answer in answers:
        _write_finding(session, inspection, index, answer, uploads, refs, user, today, campaign)
    for index, hazard, entry in followups:
        _write_followup(session, index, hazard, entry, uploads, refs, user)
    session.flush()
    for upload in uploads.values():
        for u in upload:
            store.put(u.processed.sha256, u.processed.data, u.processed.thumb)
    return inspection, True


def _keep_pending(session, uploads, user, store) -> dict[str, list[str]]:
    """Store the photos that processed fine as pending (unlinked) uploads of ``user``."""
    kept: dict[str, list[str]] = {}
    for name, done in uploads.items():
        for u in done:
            store.put(u.processed.sha256, u.processed.data, u.processed.thumb)
        attach(session, name, {name: done}, {}, user)
        if done:
            kept[name.replace("photos", "photo_refs")] = [u.processed.sha256 for u in done]
    session.flush()
    return kept


def _replay(existing: Inspection, digest: str) -> tuple[Inspection, bool]:
    if existing.content_sha256 != digest:
        raise Conflict(existing)
    return existing, False


def _parse_started(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def _write_finding(session, inspection, index, answer, uploads, refs, user, today, campaign):
    entry = answer.entry
    finding = Finding(
        inspection=inspection,
        item=answer.item,
        result=answer.result,
        value=answer.value,
        reason=answer.reason,
        note=(entry.get("note") or "").strip() or None,
    )
    session.add(finding)
    attach(session, f"findings-{index}-photos", uploads, refs, user, finding=finding)
    if answer.result != "fail":
        return
    item = answer.item
    severity = answer.severity or item.default_severity
    description = answer.reason or item.text_zh
    fixed = entry.get("disposition") == "fixed"
    suggested = hazards.default_plan(
        inspection.building, item, severity, today=today, campaign=campaign
    )
    plan = hazards.PlanLine(
        responsible_party=(entry.get("responsible_party") or "").strip()
        or suggested.responsible_party,
        measures=(entry.get("measures") or "").strip() or suggested.measures,
        deadline=entry.get("deadline") or suggested.deadline,
        funding=(entry.get("funding") or "").strip() or None,
    )
    hazard, event = hazards.create(
        session,
        building=inspection.building,
        finding=finding,
        item=item,
        severity=severity,
        description=description,
        plan=plan,
        fixed_on_spot=fixed,
        actor=user,
        note=finding.note,
    )
    if fixed:
        attach(
            session,
            f"findings-{index}-after_photos",
            uploads,
            refs,
            user,
            hazard=hazard,
            event=event,
        )


def _write_followup(session, index, hazard, entry, uploads, refs, user):
    note = (entry.get("note") or "").strip() or None
    if entry["outcome"] == "present":
        hazards.record(session, hazard, actor=user, action="confirmed_present", note=note)
        return
    event = hazards.record(
        session, hazard, actor=user, action="evidence_submitted", to_status="submitted", note=note
    )
    attach(
        session,
        f"followups-{index}-photos",
        uploads,
        refs,
        user,
        hazard=hazard,
        event=event,
    )
