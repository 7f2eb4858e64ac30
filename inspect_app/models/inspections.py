"""Inspections (one visit to one building) and their findings (one answer per item)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import INSPECTION_KINDS, RESULTS, UTCDateTime, _in, utcnow

if TYPE_CHECKING:
    from .buildings import Building
    from .campaigns import Campaign
    from .checklists import Checklist, ChecklistItem
    from .photos import Photo
    from .users import User


class Inspection(db.Model):
    """One visit to one building against one checklist version.

    ``client_uuid`` is minted on the phone when the form opens and is the idempotency key of
    the submission: a replay finds the existing row; ``content_sha256`` tells a replay from a
    different submission that reuses the key.
    """

    __tablename__ = "inspection"
    __table_args__ = (
        CheckConstraint(_in("kind", INSPECTION_KINDS), name="kind"),
        Index("ix_inspection_building_submitted", "building_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklist.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    note: Mapped[str | None] = mapped_column(Text)

    building: Mapped[Building] = relationship()
    checklist: Mapped[Checklist] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    inspector: Mapped[User] = relationship()
    findings: Mapped[list[Finding]] = relationship(back_populates="inspection")


class Finding(db.Model):
    """The answer to one checklist item in one inspection."""

    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("inspection_id", "item_id"),
        CheckConstraint(_in("result", RESULTS), name="result"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_item.id"), index=True)
    result: Mapped[str] = mapped_column(String(8))
    value: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    inspection: Mapped[Inspection] = relationship(back_populates="findings")
    item: Mapped[ChecklistItem] = relationship()
    photos: Mapped[list[Photo]] = relationship(back_populates="finding")
