"""Notifications: inbox messages, the deadline reminders claimed, and e-mail settings."""

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
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import UTCDateTime, _in, utcnow

if TYPE_CHECKING:
    from .buildings import Building
    from .hazards import Hazard
    from .inspections import Inspection
    from .public import Report
    from .users import User


NOTIFICATION_KINDS = (
    "hazard_created",
    "evidence_submitted",
    "evidence_rejected",
    "hazard_closed",
    "deadline_extended",
    "plan_updated",
    "supervised",
    "deadline_soon",
    "overdue",
    "report_received",
    "inspection_submitted",
    "spot_check_task",
)


class Notification(db.Model):
    """One message in a user's inbox (收件箱), about one building and, where there is one, the
    hazard, inspection or report it links to.

    ``source`` names what produced it (``event:12``, ``reminder:7``, ``inspection:3``,
    ``report:5``); with ``user_id`` it is unique, so nothing is ever announced twice to the same
    person. The text is rendered from ``kind`` and ``data`` when shown, in the reader's language.
    """

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "source"),
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
        # The header's unread count and the inbox page: one user's rows, unread first.
        Index("ix_notification_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(80))
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspection.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    building: Mapped[Building] = relationship()
    hazard: Mapped[Hazard | None] = relationship()
    inspection: Mapped[Inspection | None] = relationship()
    report: Mapped[Report | None] = relationship()


class HazardReminder(db.Model):
    """A deadline reminder (``due:7``) or overdue escalation (``overdue:street``) that was
    sent for one hazard and one deadline. The unique constraint is what makes a reminder run
    idempotent: a run claims a row before it notifies, so a second run, even a simultaneous one,
    finds it claimed. A later deadline (an extension) starts a fresh set."""

    __tablename__ = "hazard_reminder"
    __table_args__ = (UniqueConstraint("hazard_id", "deadline", "threshold"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id"))
    deadline: Mapped[date] = mapped_column(Date)
    threshold: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationSetting(db.Model):
    """A user's choice of e-mail delivery: one digest per reminder run to ``email``."""

    __tablename__ = "notification_setting"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    email_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
