"""The building registry (基础台账): buildings, their managers, and proposed corrections of
their facts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import USES, UTCDateTime, _in, utcnow

if TYPE_CHECKING:
    from .areas import Area
    from .photos import Photo
    from .users import User


building_manager = Table(
    "building_manager",
    db.metadata,
    Column("building_id", ForeignKey("building.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


def new_qr_token() -> str:
    """A random, URL-safe token of 128 bits for the building's public code."""
    import secrets

    return secrets.token_urlsafe(16)


class Building(db.Model):
    """A registry row (基础台账). Class and high-rise status derive from use, height, storeys."""

    __tablename__ = "building"
    __table_args__ = (
        CheckConstraint(_in("use", USES), name="use"),
        CheckConstraint("height_m >= 0", name="height_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    use: Mapped[str] = mapped_column(String(16))
    height_m: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    storeys: Mapped[int] = mapped_column(Integer)
    underground_storeys: Mapped[int] = mapped_column(Integer, default=0)
    built_year: Mapped[int | None] = mapped_column(Integer)
    class_i_by_use: Mapped[bool] = mapped_column(Boolean, default=False)
    has_sprinklers: Mapped[bool] = mapped_column(Boolean, default=False)
    has_fire_alarm_system: Mapped[bool] = mapped_column(Boolean, default=False)
    has_control_room: Mapped[bool] = mapped_column(Boolean, default=False)
    has_pressure_stabilizer: Mapped[bool] = mapped_column(Boolean, default=False)
    has_refuge_floor: Mapped[bool] = mapped_column(Boolean, default=False)
    has_fire_elevator: Mapped[bool] = mapped_column(Boolean, default=False)
    has_gas_suppression: Mapped[bool] = mapped_column(Boolean, default=False)
    has_assembly_occupancy: Mapped[bool] = mapped_column(Boolean, default=False)
    multi_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    management_unit: Mapped[str | None] = mapped_column(String(120))
    management_contact: Mapped[str | None] = mapped_column(String(40))
    fire_manager_name: Mapped[str | None] = mapped_column(String(40))
    fire_manager_phone: Mapped[str | None] = mapped_column(String(40))
    public_commitment: Mapped[str | None] = mapped_column(Text)
    public_commitment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    qr_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_qr_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    area: Mapped[Area] = relationship()
    managers: Mapped[list[User]] = relationship(
        secondary=building_manager, back_populates="managed_buildings"
    )

    FLAG_NAMES = (
        "has_sprinklers",
        "has_fire_alarm_system",
        "has_control_room",
        "has_pressure_stabilizer",
        "has_refuge_floor",
        "has_fire_elevator",
        "has_gas_suppression",
        "has_assembly_occupancy",
        "multi_owner",
    )

    @property
    def building_class(self) -> str | None:
        """``R1``/``R2``/``P1``/``P2`` per GB 50016 5.1.1, or None when not high-rise."""
        from ..classification import building_class

        return building_class(
            self.use, self.height_m, self.storeys, class_i_by_use=self.class_i_by_use
        )

    @property
    def flags(self) -> set[str]:
        """The true building flags, plus ``super_high_rise`` (> 100 m), for checklist rules."""
        from ..classification import is_super_high_rise

        flags = {name for name in self.FLAG_NAMES if getattr(self, name)}
        if is_super_high_rise(self.height_m):
            flags.add("super_high_rise")
        return flags

    def __repr__(self) -> str:
        return f"<Building {self.code}>"


CHANGE_STATUSES = ("pending", "accepted", "rejected")


class BuildingChange(db.Model):
    """A correction or addition to one building's registry facts (实名制排查), proposed on site
    and decided by the street office.

    ``changes`` maps a building attribute to ``{"from": old, "to": new}`` in JSON form (heights
    as decimal strings, flags as booleans). Status: ``pending`` → ``accepted`` (applied to the
    building) or ``rejected``; a decision is made once. On acceptance ``from`` is rewritten to
    the value actually replaced, and ``class_before``/``class_after`` keep the building class
    (R1/R2/P1/P2, None when not high-rise) on either side, so the history shows a
    reclassification even though the class itself is always derived. ``client_uuid`` is the
    idempotency key of the submission.
    """

    __tablename__ = "building_change"
    __table_args__ = (
        CheckConstraint(_in("status", CHANGE_STATUSES), name="status"),
        Index("ix_building_change_building_status", "building_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    class_before: Mapped[str | None] = mapped_column(String(4))
    class_after: Mapped[str | None] = mapped_column(String(4))

    building: Mapped[Building] = relationship()
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    photos: Mapped[list[Photo]] = relationship(
        back_populates="building_change", order_by="Photo.id"
    )
