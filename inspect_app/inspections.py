"""Inspections: one visit, one building, one checklist version, submitted once.

``submit`` is the single entry for the page and the API. It validates what the form classes
cannot (answers against the checklist and the building, plan lines, photos), then writes the
inspection, its findings, hazards, events and photos in the caller's transaction. Photo files
are stored before it returns, so the caller's commit never points at a missing file.

Idempotency: ``client_uuid`` is unique. A replay with the same content returns the existing
inspection (``created=False``); the same uuid with other content raises ``Conflict``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import hazards, photo_stores, photos
from .checklists import applies, current_checklist
from .models import (
    Building,
    Campaign,
    Checklist,
    ChecklistItem,
    Finding,
    Hazard,
    Inspection,
    Photo,
    User,
    utcnow,
)
from .thresholds import evaluate

# Plausible ranges per unit; outside them a reading is a typo, not a measurement.
UNIT_RANGES = {
    "MPa": (Decimal("0"), Decimal("5")),
    "m": (Decimal("0"), Decimal("1000")),
    "%": (Decimal("0"), Decimal("100")),
}
DEFAULT_RANGE = (Decimal("0"), Decimal("100000"))


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


@dataclass
class _Upload:
    raw: bytes
    processed: photos.Processed | None = None


@dataclass
class _Errors:
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _read_files(values: Any) -> list[bytes]:
    """Bytes of the uploaded files in a MultipleFileField's data (empty parts skipped)."""
    out = []
    for f in values or ():
        if f is None or isinstance(f, str):
            continue
        data = f.read()
        if data or getattr(f, "filename", ""):
            out.append(data)
    return out


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
                raw = _read_files(entry.get(key))
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
    errors = _Errors()
    items = {i.code: i for i in applicable_items(checklist, building)}
    answers = _check_findings(data.get("findings") or [], items, building, today, errors)
    followups = _check_followups(session, data.get("followups") or [], building, errors)
    if _too_many_photos(files, data, errors):
        # Refused before any photo is decoded: counting is cheap, decoding hundreds is not.
        raise Invalid(errors.errors)
    uploads = _process_photos(files, errors, max_photo_pixels)
    refs = _check_refs(session, user, data, errors)
    _require_photos(answers, followups, uploads, refs, errors)
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
        _attach(session, name, {name: done}, {}, user)
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


@dataclass
class _Answer:
    item: ChecklistItem
    entry: dict[str, Any]
    result: str
    value: Decimal | None
    reason: str | None
    severity: str | None


def _check_findings(entries, items, building, today, errors) -> list[tuple[int, _Answer]]:
    seen: set[str] = set()
    answers = []
    for i, entry in enumerate(entries):
        name = f"findings-{i}"
        item = items.get(entry.get("item") or "")
        if item is None:
            errors.add(f"{name}-item", "检查项不在本楼适用的检查清单中")
            continue
        if item.code in seen:
            errors.add(f"{name}-item", "同一检查项提交了两次")
            continue
        seen.add(item.code)
        answer = _judge(item, entry, building, name, errors)
        if answer is None:
            continue
        if answer.result == "fail":
            _check_disposition(item, entry, name, today, errors)
        answers.append((i, answer))
    for code in items.keys() - seen:
        errors.add("findings", f"检查项 {code}（{items[code].text_zh}）未作答")
    return answers


def _judge(item, entry, building, name, errors) -> _Answer | None:
    result = entry.get("result") or None
    value = entry.get("value")
    if result not in (None, "pass", "fail", "na"):
        errors.add(f"{name}-result", "请选择 合格、隐患 或 不适用")
        return None
    if item.answer_type == "numeric" and result != "na":
        if value is None:
            errors.add(f"{name}-value", f"请填写读数（{item.unit}），或选择不适用")
            return None
        low, high = UNIT_RANGES.get(item.unit or "", DEFAULT_RANGE)
        if not low <= value <= high:
            errors.add(f"{name}-value", f"读数 {value} {item.unit} 不合理，应在 {low}–{high} 之间")
            return None
        verdict = evaluate(
            item.rules,
            value,
            building_class=building.building_class,
            flags=building.flags,
            unit=item.unit or "",
        )
        # A warning is recorded with its reason but is not a hazard.
        judged = "fail" if verdict.result == "fail" else "pass"
        return _Answer(item, entry, judged, value, verdict.reason_zh, verdict.severity)
    if result is None:
        errors.add(f"{name}-result", "请选择 合格、隐患 或 不适用")
        return None
    return _Answer(item, entry, result, None, None, item.default_severity)


def _check_disposition(item, entry, name, today, errors) -> None:
    # Only what can be fixed on the spot needs a choice; everything else goes on the plan.
    if not entry.get("disposition") and not item.fix_on_spot:
        entry["disposition"] = "plan"
    disposition = entry.get("disposition")
    if disposition not in ("plan", "fixed"):
        errors.add(f"{name}-disposition", "请选择：当场整改，或列入整改清单")
    elif disposition == "fixed" and not item.fix_on_spot:
        errors.add(f"{name}-disposition", "该项不能当场整改，请列入整改清单")
    elif disposition == "plan":
        deadline = entry.get("deadline")
        if deadline is not None and deadline < today:
            errors.add(f"{name}-deadline", "整改期限不能早于今天")


def _check_followups(session, entries, building, errors):
    _lock_hazards(session, entries)
    out = []
    for i, entry in enumerate(entries):
        name = f"followups-{i}"
        try:
            hazard_id = int(entry.get("hazard") or "")
        except ValueError:
            hazard_id = 0
        hazard = session.get(Hazard, hazard_id) if hazard_id else None
        if hazard is None or hazard.building_id != building.id or hazard.status != "open":
            errors.add(f"{name}-hazard", "该隐患不是本楼待整改的隐患")
            continue
        outcome = entry.get("outcome") or None
        if outcome is None:
            continue  # not re-checked this time
        if outcome not in ("present", "fixed"):
            errors.add(f"{name}-outcome", "请选择 仍存在 或 已整改")
            continue
        out.append((i, hazard, entry))
    return out


def _lock_hazards(session, entries) -> None:
    """Lock the re-checked hazards' rows until the commit, in id order (no deadlock), and load
    them as committed now. Two re-inspections of one hazard then run one after the other and
    the second sees what the first did, exactly as if they had been sent minutes apart;
    without the lock both pass the status check and the second dies in the version check."""
    ids = set()
    for entry in entries:
        try:
            ids.add(int(entry.get("hazard") or ""))
        except ValueError:
            continue
    if ids:
        session.scalars(
            select(Hazard)
            .where(Hazard.id.in_(sorted(ids)))
            .order_by(Hazard.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()


# Photos one field (a finding's or a follow-up's photos, new and earlier uploads together) and
# one submission may carry: enough for any real inspection, few enough that a submission cannot
# make the server decode hundreds of images.
MAX_PHOTOS_PER_FIELD = 10
MAX_PHOTOS_PER_SUBMISSION = 60


def _too_many_photos(files, data, errors) -> bool:
    """Add an error to every field over ``MAX_PHOTOS_PER_FIELD`` and to the form when the whole
    submission is over ``MAX_PHOTOS_PER_SUBMISSION``; True if any limit is exceeded."""
    counts: dict[str, int] = {name: len(raws) for name, raws in files.items()}
    for section in ("findings", "followups"):
        for i, entry in enumerate(data.get(section) or ()):
            for key in ("photo_refs", "after_photo_refs"):
                name = f"{section}-{i}-{key.replace('photo_refs', 'photos')}"
                counts[name] = counts.get(name, 0) + len([s for s in entry.get(key) or () if s])
    over = False
    for name, n in counts.items():
        if n > MAX_PHOTOS_PER_FIELD:
            errors.add(name, f"每项最多 {MAX_PHOTOS_PER_FIELD} 张照片，这里有 {n} 张")
            over = True
    total = sum(counts.values())
    if total > MAX_PHOTOS_PER_SUBMISSION:
        errors.add(
            "", f"一次提交最多 {MAX_PHOTOS_PER_SUBMISSION} 张照片，这次有 {total} 张，请分批提交"
        )
        over = True
    return over


def _process_photos(files, errors, max_pixels) -> dict[str, list[_Upload]]:
    uploads: dict[str, list[_Upload]] = {}
    for name, raws in files.items():
        done = []
        for n, raw in enumerate(raws, 1):
            try:
                done.append(_Upload(raw, photos.process(raw, max_pixels=max_pixels)))
            except photos.PhotoError as err:
                errors.add(name, f"第 {n} 张照片：{err}")
        uploads[name] = done
    return uploads


def _check_refs(session, user, data, errors) -> dict[str, list[Photo]]:
    """Photos uploaded earlier through the photo endpoint, referenced by sha256."""
    refs: dict[str, list[Photo]] = {}
    for section in ("findings", "followups"):
        for i, entry in enumerate(data.get(section) or ()):
            for key in ("photo_refs", "after_photo_refs"):
                shas = [s for s in (entry.get(key) or ()) if s]
                if not shas:
                    continue
                name = f"{section}-{i}-{key}"
                found = []
                for sha in shas:
                    photo = session.scalar(
                        select(Photo)
                        .where(Photo.sha256 == sha, Photo.uploaded_by_id == user.id)
                        .order_by(Photo.id)
                        .limit(1)
                    )
                    if photo is None:
                        errors.add(name, f"照片 {sha[:12]}… 未上传或已过期，请重新上传")
                    else:
                        found.append(photo)
                refs[name] = found
    return refs


def _count(name: str, uploads, refs) -> int:
    ref_name = name.replace("photos", "photo_refs")
    return len(uploads.get(name, ())) + len(refs.get(ref_name, ()))


def _require_photos(answers, followups, uploads, refs, errors) -> None:
    for i, answer in answers:
        if answer.result == "fail" and answer.entry.get("disposition") == "fixed":
            name = f"findings-{i}-after_photos"
            if not _count(name, uploads, refs) and name not in errors.errors:
                errors.add(name, "当场整改需要上传整改后照片")
    for i, _hazard, entry in followups:
        name = f"followups-{i}-photos"
        if entry["outcome"] == "fixed" and not _count(name, uploads, refs):
            errors.add(name, "已整改需要上传整改照片")


def _attach(session, name, uploads, refs, user, **links) -> None:
    """Link the photos of field ``name`` (new uploads and earlier references) to the objects in
    ``links`` (``finding=``, ``hazard=``, ``event=``). Relationships, not ids, so that nothing
    needs a flush until the whole inspection is written."""
    for u in uploads.get(name, ()):
        p = u.processed
        session.add(
            Photo(
                sha256=p.sha256,
                width=p.width,
                height=p.height,
                size_bytes=len(p.data),
                taken_at=p.taken_at,
                latitude=p.latitude,
                longitude=p.longitude,
                uploaded_by_id=user.id,
                **links,
            )
        )
    for photo in refs.get(name.replace("photos", "photo_refs"), ()):
        if photo.is_pending:
            for key, value in links.items():
                setattr(photo, key, value)
        else:
            session.add(
                Photo(
                    sha256=photo.sha256,
                    width=photo.width,
                    height=photo.height,
                    size_bytes=photo.size_bytes,
                    taken_at=photo.taken_at,
                    latitude=photo.latitude,
                    longitude=photo.longitude,
                    uploaded_by_id=user.id,
                    **links,
                )
            )


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
    _attach(session, f"findings-{index}-photos", uploads, refs, user, finding=finding)
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
        _attach(
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
    _attach(
        session,
        f"followups-{index}-photos",
        uploads,
        refs,
        user,
        hazard=hazard,
        event=event,
    )
