"""Typed SQLAlchemy models: the registry, the checklist, inspections and the rectification ledger.

Conventions: timestamps are UTC (``UTCDateTime``), dates (deadlines) are the district's local
dates; status-like columns are short strings guarded by named CHECK constraints; derived facts
(overdue, code colour, building class) are computed, never stored.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .db import db

ROLES = ("inspector", "manager", "street", "fire", "admin")
AREA_LEVELS = ("city", "district", "street", "community", "grid")
USES = ("residential", "public", "mixed")
INSPECTION_KINDS = ("self_check", "survey", "spot_check", "acceptance", "patrol")
RESULTS = ("pass", "fail", "na")
SEVERITIES = ("minor", "general", "major")
HAZARD_STATUSES = ("open", "submitted", "closed", "fixed_on_spot")
OPEN_STATUSES = ("open", "submitted")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every engine (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Area(db.Model):
    """A node of the administrative tree (city → district → street → community → grid).

    ``path`` is the chain of codes from the root, ``/``-separated and ``/``-terminated
    (``/500110/GN/GN01/GN01-03/``), so a subtree is ``path LIKE prefix || '%'``.
    """

    __tablename__ = "area"
    __table_args__ = (CheckConstraint(_in("level", AREA_LEVELS), name="level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(400), unique=True)

    parent: Mapped[Area | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Area]] = relationship(back_populates="parent", order_by="Area.code")

    @staticmethod
    def child_path(parent: Area | None, code: str) -> str:
        if "/" in code:
            raise ValueError("area code must not contain '/'")
        return f"{parent.path if parent else '/'}{code}/"

    def __repr__(self) -> str:
        return f"<Area {self.path}>"


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
        from .classification import building_class

        return building_class(
            self.use, self.height_m, self.storeys, class_i_by_use=self.class_i_by_use
        )

    @property
    def flags(self) -> set[str]:
        """The true building flags, plus ``super_high_rise`` (> 100 m), for checklist rules."""
        from .classification import is_super_high_rise

        flags = {name for name in self.FLAG_NAMES if getattr(self, name)}
        if is_super_high_rise(self.height_m):
            flags.add("super_high_rise")
        return flags

    def __repr__(self) -> str:
        return f"<Building {self.code}>"


class User(UserMixin, db.Model):
    """A person who logs in. Scope: ``area`` (a subtree) or, for managers, ``managed_buildings``."""

    __tablename__ = "user"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(16))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or disable; part of the login session id so old sessions die.
    session_nonce: Mapped[str] = mapped_column(String(32), default=lambda: uuid.uuid4().hex)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    area: Mapped[Area | None] = relationship()
    managed_buildings: Mapped[list[Building]] = relationship(
        secondary=building_manager, back_populates="managers"
    )
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled users cannot log in
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for integrations; only its sha256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(12))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class Checklist(db.Model):
    """One loaded version of a checklist catalog; inspections pin the version they used."""

    __tablename__ = "checklist"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="checklist", order_by="ChecklistItem.position"
    )


class ChecklistItem(db.Model):
    __tablename__ = "checklist_item"
    __table_args__ = (
        UniqueConstraint("checklist_id", "code"),
        CheckConstraint(_in("answer_type", ("pass_fail_na", "numeric")), name="answer_type"),
        CheckConstraint(_in("default_severity", SEVERITIES), name="default_severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklist.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    answer_type: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(16))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    applies_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    default_severity: Mapped[str] = mapped_column(String(16))
    fix_on_spot: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_basis: Mapped[list[str]] = mapped_column(JSON, default=list)
    gb35181: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    how_zh: Mapped[str | None] = mapped_column(Text)
    measures_zh: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Free labels from the catalog; "water" marks water-supply items, which take the
    # campaign's water deadline.
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)

    checklist: Mapped[Checklist] = relationship(back_populates="items")

    @property
    def gb35181_direct(self) -> bool:
        return bool(self.gb35181 and self.gb35181.get("direct"))


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

    @property
    def is_pending(self) -> bool:
        """Uploaded ahead of a submission and not linked to anything yet."""
        return (
            self.finding_id is None
            and self.hazard_id is None
            and self.event_id is None
            and self.building_change_id is None
            and self.report_id is None
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
    hazards: Mapped[list[Hazard]] = relationship(
        back_populates="supervision", order_by="Hazard.id"
    )


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


# --- notifications and webhooks ---------------------------------------------------------------

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
