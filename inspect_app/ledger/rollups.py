"""Rollups: the figures of one node grouped by a deeper level, their filters and SQL (see the
package docstring for what each figure means).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    Select,
    and_,
    case,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session, aliased

from ..models import (
    AREA_LEVELS,
    HAZARD_STATUSES,
    SEVERITIES,
    Area,
    Building,
    Campaign,
    Hazard,
    Inspection,
)

LEVELS = (*AREA_LEVELS, "building")
DEFAULT_REBOUND_DAYS = 90
CLOSED_STATUSES = ("closed", "fixed_on_spot")
HAZARD_METRICS = (
    "found",
    "fixed_on_spot",
    "open",
    "overdue",
    "submitted",
    "closed",
    "supervised",
    "rebound",
)


def rebound_days() -> int:
    """The running app's ``REBOUND_DAYS`` (default ``DEFAULT_REBOUND_DAYS``)."""
    return int(current_app.config.get("REBOUND_DAYS", DEFAULT_REBOUND_DAYS))


class LedgerError(ValueError):
    """A rollup that cannot be made (a level not below the node); the message is for users."""


@dataclass(frozen=True)
class Filters:
    """What the ledger is limited to. Dates are the district's local dates, inclusive."""

    campaign: Campaign | None = None
    start: date | None = None
    end: date | None = None
    status: str | None = None
    category: str | None = None
    severity: str | None = None
    overdue: bool = False
    supervised: bool = False
    rebound: bool = False

    def __post_init__(self):
        if self.status is not None and self.status not in HAZARD_STATUSES:
            raise LedgerError(f"未知的状态：{self.status}")
        if self.severity is not None and self.severity not in SEVERITIES:
            raise LedgerError(f"未知的隐患等级：{self.severity}")
        if self.start and self.end and self.start > self.end:
            raise LedgerError("开始日期不能晚于结束日期")

    def period(self) -> tuple[date | None, date | None]:
        """The effective period: the explicit one, within the campaign's dates."""
        start, end = self.start, self.end
        if self.campaign is not None:
            start = max(filter(None, (start, self.campaign.starts_on)))
            end = min(filter(None, (end, self.campaign.ends_on)))
        return start, end

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for links and exports)."""
        out: dict[str, str] = {}
        if self.campaign is not None:
            out["campaign"] = str(self.campaign.id)
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat()
        for name in ("status", "category", "severity"):
            value = getattr(self, name)
            if value:
                out[name] = value
        for name in ("overdue", "supervised", "rebound"):
            if getattr(self, name):
                out[name] = "1"
        return out


@dataclass
class Counts:
    """The figures of one row of the ledger (see the module docstring)."""

    buildings: int = 0
    inspected: int = 0
    found: int = 0
    fixed_on_spot: int = 0
    open: int = 0
    overdue: int = 0
    submitted: int = 0
    closed: int = 0
    supervised: int = 0
    rebound: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def rectified(self) -> int:
        return self.closed + self.fixed_on_spot

    @property
    def coverage(self) -> float | None:
        return self.inspected / self.buildings if self.buildings else None

    @property
    def rectification_rate(self) -> float | None:
        return self.rectified / self.found if self.found else None

    def as_dict(self) -> dict[str, int | float | None]:
        out: dict[str, int | float | None] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["coverage"] = _round(self.coverage)
        out["rectification_rate"] = _round(self.rectification_rate)
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class Row:
    """One group of a rollup: an area at the chosen level, a building, or (``key`` None) the
    buildings attached directly to an area above the chosen level."""

    key: int | None
    code: str
    name: str
    level: str
    counts: Counts = field(default_factory=Counts)


@dataclass
class Rollup:
    node: Area | None
    level: str
    rows: list[Row]
    total: Counts
    by_category: dict[str, Counts]
    by_severity: dict[str, Counts]
    filters: Filters
    today: date
    rebound_days: int


def child_level(node: Area | None) -> str:
    """The level one step below ``node`` (buildings below a grid, or for no node)."""
    if node is None or node.level == "grid":
        return "building"
    return LEVELS[LEVELS.index(node.level) + 1]


def check_level(node: Area | None, level: str) -> None:
    if level not in LEVELS:
        raise LedgerError(f"未知的汇总层级：{level}")
    if node is None and level != "building":
        raise LedgerError("只能按楼栋汇总")
    if node is not None and LEVELS.index(level) <= LEVELS.index(node.level):
        raise LedgerError("汇总层级必须低于所选区域的层级")


# ---------------------------------------------------------------------------------------------
# SQL building blocks
# ---------------------------------------------------------------------------------------------


def plus_days(column, days: int, dialect: str):
    """``column`` (a UTC timestamp) plus ``days`` days (negative: minus), in SQL, on SQLite or
    PostgreSQL.

    SQLite keeps timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` text; the result is written in
    the same shape so that the comparison stays a text comparison of equal formats.
    """
    days = int(days)
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f000", column, f"{days:+d} days")
    return column + literal_column(f"interval '{days} days'")


def rebound_condition(hazard, *, days: int, dialect: str):
    """SQL: ``hazard`` (the ``Hazard`` entity or an alias) was found within ``days`` days after
    an earlier hazard of the same building and checklist item was closed.

    Written as a range on the earlier hazard's ``closed_at`` so that the probe is one range
    scan of ``ix_hazard_building_item`` (building, item, closed_at) per hazard.
    """
    earlier = aliased(Hazard)
    return exists().where(
        earlier.building_id == hazard.building_id,
        earlier.item_id == hazard.item_id,
        earlier.closed_at <= hazard.created_at,
        earlier.closed_at >= plus_days(hazard.created_at, -days, dialect),
        earlier.id != hazard.id,
        earlier.status.in_(CLOSED_STATUSES),
    )


def _utc_bounds(start: date | None, end: date | None, tz: ZoneInfo):
    lo = datetime.combine(start, time(0), tzinfo=tz).astimezone(UTC) if start else None
    hi = (
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        if end
        else None
    )
    return lo, hi


@dataclass(frozen=True)
class LedgerQuery:
    """The pieces every ledger query shares, built once per request."""

    scope: object
    node: Area | None
    filters: Filters
    today: date
    tz: ZoneInfo
    rebound_days: int
    dialect: str

    def buildings_where(self) -> list:
        where = [self.scope, Building.retired_at.is_(None)]
        if self.node is not None:
            where.append(
                Building.area_id.in_(
                    select(Area.id).where(Area.path.startswith(self.node.path, autoescape=True))
                )
            )
        return where

    def overdue(self):
        return and_(Hazard.status == "open", Hazard.deadline < self.today)

    def rebound(self):
        return rebound_condition(Hazard, days=self.rebound_days, dialect=self.dialect)

    def hazards_where(self) -> list:
        f = self.filters
        where = self.buildings_where()
        lo, hi = _utc_bounds(*f.period(), self.tz)
        if lo is not None:
            where.append(Hazard.created_at >= lo)
        if hi is not None:
            where.append(Hazard.created_at < hi)
        if f.status:
            where.append(Hazard.status == f.status)
        if f.category:
            where.append(Hazard.category == f.category)
        if f.severity:
            where.append(Hazard.severity == f.severity)
        if f.overdue:
            where.append(self.overdue())
        if f.supervised:
            where.append(Hazard.supervised_at.is_not(None))
        if f.rebound:
            where.append(self.rebound())
        return where

    def inspections_where(self) -> list:
        where = self.buildings_where()
        lo, hi = _utc_bounds(*self.filters.period(), self.tz)
        if lo is not None:
            where.append(Inspection.submitted_at >= lo)
        if hi is not None:
            where.append(Inspection.submitted_at < hi)
        return where

    def hazard_metrics(self) -> list:
        def n(condition, name):
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(name)

        return [
            func.count(Hazard.id).label("found"),
            n(Hazard.status == "fixed_on_spot", "fixed_on_spot"),
            n(Hazard.status == "open", "open"),
            n(self.overdue(), "overdue"),
            n(Hazard.status == "submitted", "submitted"),
            n(Hazard.status == "closed", "closed"),
            n(Hazard.supervised_at.is_not(None), "supervised"),
            n(self.rebound(), "rebound"),
        ]


def _group_map(node: Area | None, level: str):
    """``(area_id, group_id)`` for every area under ``node``: the id of its ancestor (or
    itself) at ``level``, NULL for areas above that level. Computed over the area table only,
    once per query (a materialised CTE: inlined, SQLite would redo the prefix match for every
    hazard row)."""
    a, c = aliased(Area), aliased(Area)
    on = [c.level == level, func.substr(a.path, 1, func.length(c.path)) == c.path]
    where = []
    if node is not None:
        on.append(c.path.startswith(node.path, autoescape=True))
        where.append(a.path.startswith(node.path, autoescape=True))
    return (
        select(a.id.label("area_id"), c.id.label("group_id"))
        .select_from(a)
        .outerjoin(c, and_(*on))
        .where(*where)
        .cte("grp")
        .prefix_with("MATERIALIZED")
    )


def _grouped(stmt: Select, q: LedgerQuery, level: str) -> Select:
    """Add the group key of ``level`` (column ``key``) to ``stmt``, which joins ``Building``."""
    if level == "building":
        return stmt.add_columns(Building.id.label("key")).group_by(Building.id)
    grp = _group_map(q.node, level)
    stmt = stmt.join(grp, grp.c.area_id == Building.area_id)
    return stmt.add_columns(grp.c.group_id.label("key")).group_by(grp.c.group_id)


# ---------------------------------------------------------------------------------------------
# Rollup
# ---------------------------------------------------------------------------------------------


def rollup(
    session: Session,
    *,
    scope,
    node: Area | None,
    level: str | None = None,
    filters: Filters | None = None,
    today: date,
    tz: ZoneInfo | str = "Asia/Shanghai",
    rebound_days: int = DEFAULT_REBOUND_DAYS,
) -> Rollup:
    """The ledger of ``node`` grouped by ``level`` (default: one level down), limited to
    ``scope`` (a SQL condition on ``Building``: the caller's scope). Aggregate queries:
    buildings and inspected buildings by group; hazards by group × category × severity (one
    pass; by building, the groups and the breakdown are two passes); then the labels of the
    groups. Raises ``LedgerError`` for a level not below ``node``."""
    level = level or child_level(node)
    check_level(node, level)
    filters = filters or Filters()
    q = LedgerQuery(
        scope=scope,
        node=node,
        filters=filters,
        today=today,
        tz=ZoneInfo(tz) if isinstance(tz, str) else tz,
        rebound_days=rebound_days,
        dialect=session.get_bind().dialect.name,
    )
    groups: dict[int | None, Counts] = {}

    def counts(key) -> Counts:
        return groups.setdefault(key, Counts())

    stmt = _grouped(
        select(func.count(Building.id).label("n"))
        .select_from(Building)
        .where(*q.buildings_where()),
        q,
        level,
    )
    for n, key in session.execute(stmt):
        counts(key).buildings = n

    stmt = _grouped(
        select(func.count(func.distinct(Inspection.building_id)).label("n"))
        .select_from(Inspection)
        .join(Building, Inspection.building_id == Building.id)
        .where(*q.inspections_where()),
        q,
        level,
    )
    for n, key in session.execute(stmt):
        counts(key).inspected = n

    by_category: dict[str, Counts] = {}
    by_severity: dict[str, Counts] = {s: Counts() for s in SEVERITIES}
    hazards = (
        select(Hazard.category, Hazard.severity, *q.hazard_metrics())
        .select_from(Hazard)
        .join(Building, Hazard.building_id == Building.id)
        .where(*q.hazards_where())
        .group_by(Hazard.category, Hazard.severity)
    )
    if level == "building":
        # Many groups: the groups and the breakdown are two aggregates.
        for row in session.execute(
            _grouped(
                select(*q.hazard_metrics())
                .select_from(Hazard)
                .join(Building, Hazard.building_id == Building.id)
                .where(*q.hazards_where()),
                q,
                level,
            )
        ):
            counts(row.key).add(_hazard_counts(row))
        parts = [(None, row) for row in session.execute(hazards)]
    else:
        # Few groups: one pass over the hazards, grouped by area × category × severity.
        parts = [(row.key, row) for row in session.execute(_grouped(hazards, q, level))]
    for key, row in parts:
        part = _hazard_counts(row)
        if level != "building":
            counts(key).add(part)
        by_category.setdefault(row.category, Counts()).add(part)
        by_severity.setdefault(row.severity, Counts()).add(part)

    rows = _label(session, q, level, groups)
    total = Counts()
    for row in rows:
        total.add(row.counts)
    return Rollup(
        node=node,
        level=level,
        rows=rows,
        total=total,
        by_category=by_category,
        by_severity=by_severity,
        filters=filters,
        today=today,
        rebound_days=rebound_days,
    )


def _hazard_counts(row) -> Counts:
    return Counts(**{name: int(getattr(row, name)) for name in HAZARD_METRICS})


def _label(
    session: Session, q: LedgerQuery, level: str, groups: dict[int | None, Counts]
) -> list[Row]:
    """The rows in code order, with names; every area of the level appears, even empty."""
    rows: list[Row] = []
    if level == "building":
        for key, code, name in session.execute(
            select(Building.id, Building.code, Building.name)
            .where(*q.buildings_where())
            .order_by(Building.code)
        ):
            rows.append(Row(key, code, name, "building", groups.pop(key, Counts())))
    else:
        where = [Area.level == level]
        if q.node is not None:
            where.append(Area.path.startswith(q.node.path, autoescape=True))
        for key, code, name in session.execute(
            select(Area.id, Area.code, Area.name).where(*where).order_by(Area.code)
        ):
            rows.append(Row(key, code, name, level, groups.pop(key, Counts())))
    loose = groups.pop(None, None)
    if loose is not None:
        rows.append(Row(None, "", "直属（未划入下级区域）", level, loose))
    # Anything left belongs to a group the labels did not list (a building retired between the
    # two queries); it still counts in the total.
    for key, c in groups.items():
        rows.append(Row(key, str(key), "", level, c))
    return rows
