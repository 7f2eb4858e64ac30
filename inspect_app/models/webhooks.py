"""Webhooks: integrations' receivers, the queue and log of deliveries, and the code colour
last announced for each building."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import UTCDateTime, _in, utcnow

if TYPE_CHECKING:
    from .areas import Area
    from .users import User


WEBHOOK_EVENTS = (
    "hazard.created",
    "hazard.changed",
    "hazard.closed",
    "hazard.overdue",
    "building.colour_changed",
    "inspection.submitted",
    "report.received",
)
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class Webhook(db.Model):
    """An integration's receiver: the URL, the events it wants and the secret its deliveries
    are signed with. It hears of buildings in ``area``'s subtree only (the registering
    administrator's scope). Disabled, never deleted, so its delivery log stays."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area: Mapped[Area] = relationship()
    created_by: Mapped[User | None] = relationship()


class WebhookDelivery(db.Model):
    """One event queued for one webhook, and the log of sending it.

    ``body`` is the exact JSON text that is signed and sent on every attempt. ``event_id`` is
    the same for every hook that hears the event and unique per hook: receivers deduplicate on
    it. Status: ``pending`` (waiting for ``next_attempt_at``) → ``delivered`` (a 2xx answer) or
    ``failed`` (attempts exhausted; an administrator may queue it again)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        # The worker's queue: what is pending and due, oldest first.
        Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id"))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    webhook: Mapped[Webhook] = relationship()


class AnnouncedColour(db.Model):
    """The code colour last announced to webhooks for a building. Not the colour's truth (that
    is always computed): only what receivers were told, so a change can be told once."""

    __tablename__ = "announced_colour"

    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
