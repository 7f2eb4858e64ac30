"""The rectification ledger (整改台账): hazards, their append-only events, supervision listings
(挂牌督办) and the decisions on suspected major hazards."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import HAZARD_STATUSES, OPEN_STATUSES, SEVERITIES, UTCDateTime, _in, utcnow

if TYPE_CHECKING:
    from .buildings import Building
    from .checklists import ChecklistItem
    from .inspections import Finding
    from .photos import Photo
    from .users import User


class Hazard(db.Model):
    """A ledger row (整改台账): one hazard of one building and its rectification plan line.

    Status: ``open`` → ``submitted`` (evidence in) → ``closed`` (accepted, 销号); a rejection
    returns it to ``open``; ``fixed_on_spot`` is closed at birth. ``version`` is the optimistic
    lock: every change bumps it and a stale writer gets a conflict. Overdue is derived from
    ``deadline`` in the district's time zone.
    """

    __tablename__ = "hazard"
    __table_args__ = (
        CheckConstraint(_in("status", HAZARD_STATUSES), name="status"),
        CheckConstraint(_in("severity", SEVERITIES), name="severity"),
        Index("ix_hazard_building_status", "building_id", "status"),
        # Rebound (反弹) look-ups: hazards of the same building and checklist item closed within
        # a window before a given time (a range on closed_at inside the index).
        Index("ix_hazard_building_item", "building_id", "item_id", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("finding.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_item.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    gb35181_direct: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text)
    responsible_party: Mapped[str | None] = mapped_column(String(120))
    measures: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[date | None] = mapped_column(Date)
    funding: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="open")
    supervised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supervision_id: Mapped[int | None] = mapped_column(ForeignKey("supervision.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    building: Mapped[Building] = relationship()
    finding: Mapped[Finding | None] = relationship()
    item: Mapped[ChecklistItem | None] = relationship()
    events: Mapped[list[HazardEvent]] = relationship(
        back_populates="hazard", order_by="HazardEvent.id"
    )
    photos: Mapped[list[Photo]] = relationship(back_populates="hazard")
    supervision: Mapped[Supervision | None] = relationship(back_populates="hazards")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class HazardEvent(db.Model):
    """Append-only history of a hazard: who did what, when, from which status to which."""

    __tablename__ = "hazard_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hazard: Mapped[Hazard] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    photos: Mapped[list[Photo]] = relationship(back_populates="event")


@event.listens_for(HazardEvent, "before_update")
@event.listens_for(HazardEvent, "before_delete")
def _events_are_append_only(_mapper, _connection, target: HazardEvent) -> None:
    raise ValueError(f"hazard events are append-only (event {target.id})")


SUPERVISION_STATUSES = ("active", "closed")
SUPERVISION_SOURCES = ("hazards", "suspected_major")
REVIEW_DECISIONS = ("confirmed", "dismissed")


class Supervision(db.Model):
    """A listing for supervision (挂牌督办) of some of one building's hazards, with the notice
    (督办通知书) it produces: issues, rectification plan, responsible person, deadline and the
    date a written report is due back. ``outcome`` is recorded when the listing is closed
    (销案), which needs every listed hazard closed first.
    """

    __tablename__ = "supervision"
    __table_args__ = (
        CheckConstraint(_in("status", SUPERVISION_STATUSES), name="status"),
        CheckConstraint(_in("source", SUPERVISION_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="hazards")
    issues: Mapped[str] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(Text)
    responsible_person: Mapped[str] = mapped_column(String(120))
    responsible_unit: Mapped[str | None] = mapped_column(String(120))
    deadline: Mapped[date] = mapped_column(Date)
    report_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    report_note: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    building: Mapped[Building] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    hazards: Mapped[list[Hazard]] = relationship(back_populates="supervision", order_by="Hazard.id")


class MajorHazardReview(db.Model):
    """The detachment's decision on a building flagged as a suspected major fire hazard
    (疑似重大火灾隐患): ``confirmed`` (listed for supervision) or ``dismissed``. It keeps the
    rule set and the elements the flag was raised on, so a dismissal covers exactly those
    elements and a new element raises the flag again.
    """

    __tablename__ = "major_hazard_review"
    __table_args__ = (CheckConstraint(_in("decision", REVIEW_DECISIONS), name="decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    ruleset: Mapped[str] = mapped_column(String(32))
    elements: Mapped[list[str]] = mapped_column(JSON, default=list)
    hazard_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text)
    supervision_id: Mapped[int | None] = mapped_column(ForeignKey("supervision.id"))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    building: Mapped[Building] = relationship()
    supervision: Mapped[Supervision | None] = relationship()
    decided_by: Mapped[User] = relationship()


@event.listens_for(MajorHazardReview, "before_update")
@event.listens_for(MajorHazardReview, "before_delete")
def _reviews_are_kept(_mapper, _connection, target: MajorHazardReview) -> None:
    raise ValueError(f"decisions on suspected major hazards are never changed ({target.id})")
