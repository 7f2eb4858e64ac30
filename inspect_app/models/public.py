"""What the public pages store: residents' hazard reports (居民举报) and rate-limit windows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import UTCDateTime, _in, utcnow

if TYPE_CHECKING:
    from .buildings import Building
    from .hazards import Hazard
    from .photos import Photo
    from .users import User


REPORT_STATUSES = ("new", "confirmed", "dismissed")


class Report(db.Model):
    """A resident's hazard report from a building's public page (居民举报).

    It is unverified (``new``) until someone working the building's grid ``confirmed`` it,
    which creates a hazard on the building's plan (``hazard_id``), or ``dismissed`` it with a
    reason. ``client_key`` is a keyed digest of the sender's network address, never the
    address itself: enough to see that many reports came from one sender.
    """

    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
        Index("ix_report_building_status", "building_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    description: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="new")
    client_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    review_note: Mapped[str | None] = mapped_column(Text)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)

    building: Mapped[Building] = relationship()
    reviewed_by: Mapped[User | None] = relationship()
    hazard: Mapped[Hazard | None] = relationship()
    photos: Mapped[list[Photo]] = relationship(back_populates="report", order_by="Photo.id")


class RateLimitWindow(db.Model):
    """One fixed window of a rate limit: how many attempts ``key`` made since
    ``window_start`` (epoch seconds). Rows past ``expires_at`` are purged as new ones come."""

    __tablename__ = "rate_limit_window"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
