"""Residents' hazard reports (居民举报) from a building's public page, and their verification.

A report arrives unverified (``new``) in the queue of whoever works the building's grid
(``auth.scoped_reports``). Someone there either confirms it, which creates an ``open`` hazard
on the building's plan through ``hazards.create`` and hands the resident's photos over to that
hazard, or dismisses it with a reason. Each report is decided once: a second decision, even a
simultaneous one, raises ``AlreadyReviewed`` and changes nothing.

Photos go through ``photos.process`` like every other upload (magic bytes, pixel limit,
re-encoded without EXIF or GPS) and are stored before the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from . import hazards, photo_stores, photos
from .models import Building, Hazard, Report, User, utcnow

MAX_PHOTOS = 3


class Invalid(Exception):
    """The report cannot be accepted; ``errors`` maps form field names to messages for the
    resident (Chinese)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid report")
        self.errors = errors


class AlreadyReviewed(Exception):
    """Someone else decided on the report first."""

    def __init__(self, report: Report):
        super().__init__(f"report {report.id} is already {report.status}")
        self.report = report


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:g}"


def submit(
    session: Session,
    *,
    building: Building,
    description: str,
    contact: str | None,
    uploads: list[bytes],
    store: photo_stores.PhotoStore,
    client_key: str | None,
    max_photo_bytes: int,
    max_pixels: int,
) -> Report:
    """Check and store one report with up to ``MAX_PHOTOS`` photos. Raises ``Invalid`` (and
    writes nothing) for an empty description, too many photos, a photo over ``max_photo_bytes``
    or anything ``photos.process`` refuses. Flushes; the caller commits."""
    errors: dict[str, list[str]] = {}
    description = (description or "").strip()
    if len(description) < 5:
        errors.setdefault("description", []).append("请用至少 5 个字描述问题")
    uploads = [raw for raw in uploads if raw]
    if len(uploads) > MAX_PHOTOS:
        errors.setdefault("photos", []).append(f"最多上传 {MAX_PHOTOS} 张照片")
        uploads = []
    processed = []
    for n, raw in enumerate(uploads, 1):
        if len(raw) > max_photo_bytes:
            errors.setdefault("photos", []).append(
                f"第 {n} 张照片太大（超过 {_megabytes(max_photo_bytes)} MB），请换一张或压缩后再传"
            )
            continue
        try:
            processed.append(photos.process(raw, max_pixels=max_pixels))
        except photos.PhotoError as err:
            errors.setdefault("photos", []).append(f"第 {n} 张照片：{err}")
    if errors:
        raise Invalid(errors)
    report = Report(
        building=building,
        description=description,
        contact=(contact or "").strip() or None,
        status="new",
        client_key=client_key,
    )
    session.add(report)
    session.flush()
    for p in processed:
        store.put(p.sha256, p.data, p.thumb)
        session.add(photos.photo_row(p, purpose="report", report_id=report.id))
    session.flush()
    return report


def _claim(session: Session, report: Report, status: str, actor: User, note: str | None):
    """Move ``report`` from ``new`` to ``status`` in one conditional UPDATE, so that of two
    simultaneous decisions exactly one wins."""
    result = session.execute(
        update(Report)
        .where(Report.id == report.id, Report.status == "new")
        .values(status=status, reviewed_at=utcnow(), reviewed_by_id=actor.id, review_note=note)
        .execution_options(synchronize_session=False)
    )
    session.refresh(report)
    if result.rowcount != 1:
        raise AlreadyReviewed(report)


@dataclass(frozen=True)
class Confirmation:
    """What the verifier decided the report is."""

    category: str
    severity: str
    description: str
    plan: hazards.PlanLine
    note: str | None


def confirm(session: Session, report: Report, *, actor: User, decision: Confirmation) -> Hazard:
    """The report is real: an ``open`` hazard on the building's plan, whose birth event and
    photos come from the report. Raises ``AlreadyReviewed``. Flushes."""
    note = (decision.note or "").strip() or None
    _claim(session, report, "confirmed", actor, note)
    hazard, event = hazards.create(
        session,
        building=report.building,
        finding=None,
        item=None,
        severity=decision.severity,
        description=decision.description.strip(),
        plan=decision.plan,
        fixed_on_spot=False,
        actor=actor,
        note=note or f"居民举报 #{report.id} 经核实",
    )
    hazard.category = decision.category
    event.data = {"report_id": report.id}
    session.flush()
    for photo in report.photos:
        photo.hazard_id = hazard.id
        photo.event_id = event.id
    report.hazard_id = hazard.id
    session.flush()
    return hazard


def dismiss(session: Session, report: Report, *, actor: User, note: str) -> None:
    """The report is not a hazard (or a duplicate); ``note`` says why. Raises
    ``AlreadyReviewed``; ``ValueError`` for an empty note. Flushes."""
    note = (note or "").strip()
    if not note:
        raise ValueError("a dismissal needs a reason")
    _claim(session, report, "dismissed", actor, note)
    session.flush()
