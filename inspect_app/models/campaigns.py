"""Campaigns (专项行动) and their oversight: spot-check draws (部门抽查) with their tasks, and
acceptance verdicts (逐栋验收)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import UTCDateTime, _in, utcnow

if TYPE_CHECKING:
    from .areas import Area
    from .buildings import Building
    from .checklists import Checklist
    from .inspections import Inspection
    from .users import User


class Campaign(db.Model):
    """A special action (专项行动) with dated phases over an area.

    ``phases`` is a list of ``{"code", "name", "ends_on": "YYYY-MM-DD"}`` in order;
    ``category_deadlines`` maps a checklist category (or ``"water"``) to a date string.
    """

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklist.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    category_deadlines: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    validity_days: Mapped[int] = mapped_column(Integer, default=180)
    sample_rate_public: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.10"))
    sample_rate_residential: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.05"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area: Mapped[Area] = relationship()
    checklist: Mapped[Checklist] = relationship()


SAMPLE_GROUPS = ("public", "residential")


class SpotCheck(db.Model):
    """A spot-check draw (部门抽查) on one street's surveyed high-rises, recorded so that anyone
    can re-run it: who drew, when, the population (building ids by group, ascending), the
    rates, the seed and the sample. ``sampling.draw_sample`` is the algorithm (named by
    ``algorithm``); ``population_sha256`` is the digest of the canonical JSON of
    ``population``. Rows are never changed after the draw.
    """

    __tablename__ = "spot_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    seed: Mapped[str] = mapped_column(String(40))
    algorithm: Mapped[str] = mapped_column(String(32))
    rate_public: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    rate_residential: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    population: Mapped[dict[str, list[int]]] = mapped_column(JSON)
    population_sha256: Mapped[str] = mapped_column(String(64))
    sample: Mapped[dict[str, list[int]]] = mapped_column(JSON)
    team: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    drawn_by: Mapped[str] = mapped_column(String(120))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    area: Mapped[Area] = relationship()
    drawn_by_user: Mapped[User | None] = relationship()
    tasks: Mapped[list[SpotCheckTask]] = relationship(
        back_populates="spot_check", order_by="SpotCheckTask.id"
    )


class SpotCheckTask(db.Model):
    """One drawn building: a spot check for the joint team (联合检查组) to do. It is done when a
    ``spot_check`` inspection of the building is submitted after the draw (derived, not
    stored). ``survey_inspection_id`` is the street's survey that put the building in the
    population, the one the spot check's findings are compared with."""

    __tablename__ = "spot_check_task"
    __table_args__ = (
        UniqueConstraint("spot_check_id", "building_id"),
        CheckConstraint(_in("sample_group", SAMPLE_GROUPS), name="sample_group"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    sample_group: Mapped[str] = mapped_column(String(16))
    survey_inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspection.id"))

    spot_check: Mapped[SpotCheck] = relationship(back_populates="tasks")
    building: Mapped[Building] = relationship()
    survey_inspection: Mapped[Inspection | None] = relationship()


class Acceptance(db.Model):
    """The verdict of one acceptance inspection (逐栋验收): ``passed`` only when every hazard of
    the building was closed when the verdict was recorded; otherwise the unclosed hazards are
    kept and the building stays tracked until a later verdict passes. One verdict per
    inspection; never changed."""

    __tablename__ = "acceptance"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), unique=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    unclosed_hazard_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    building: Mapped[Building] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    inspection: Mapped[Inspection] = relationship()
    decided_by: Mapped[User] = relationship()
