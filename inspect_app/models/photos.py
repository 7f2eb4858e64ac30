"""Photos attached to findings, hazards, events, registry corrections and residents' reports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, Numeric, String, and_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .buildings import BuildingChange
    from .hazards import Hazard, HazardEvent
    from .inspections import Finding
    from .public import Report


class Photo(db.Model):
    """One attached photo. The file is content-addressed by ``sha256`` (same bytes, one file);
    ``taken_at`` and GPS stay private and are never in the served image."""

    __tablename__ = "photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16), default="evidence")
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("finding.id"), index=True)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_event.id"), index=True)
    building_change_id: Mapped[int | None] = mapped_column(
        ForeignKey("building_change.id"), index=True
    )
    # A resident's report from the public page (uploaded by nobody who logs in).
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    finding: Mapped[Finding | None] = relationship(back_populates="photos")
    hazard: Mapped[Hazard | None] = relationship(back_populates="photos")
    event: Mapped[HazardEvent | None] = relationship(back_populates="photos")
    building_change: Mapped[BuildingChange | None] = relationship(back_populates="photos")
    report: Mapped[Report | None] = relationship(back_populates="photos")

    @hybrid_property
    def is_pending(self) -> bool:
        """Uploaded ahead of a submission and not linked to anything yet (also usable in SQL:
        ``select(Photo).where(Photo.is_pending)``)."""
        return (
            self.finding_id is None
            and self.hazard_id is None
            and self.event_id is None
            and self.building_change_id is None
            and self.report_id is None
        )

    @is_pending.inplace.expression
    @classmethod
    def _is_pending_expression(cls):
        return and_(
            cls.finding_id.is_(None),
            cls.hazard_id.is_(None),
            cls.event_id.is_(None),
            cls.building_change_id.is_(None),
            cls.report_id.is_(None),
        )

    def building_id(self) -> int | None:
        """The building this photo documents, through whatever it is linked to."""
        if self.hazard is not None:
            return self.hazard.building_id
        if self.event is not None:
            return self.event.hazard.building_id
        if self.finding is not None:
            return self.finding.inspection.building_id
        if self.building_change is not None:
            return self.building_change.building_id
        if self.report is not None:
            return self.report.building_id
        return None
