"""Hazard rows: the list under a rollup and the detail sheet of exports, area names for them, and
the rebounds of one hazard.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Select,
    case,
    func,
    select,
)
from sqlalchemy.orm import Session

from ..models import (
    Area,
    Building,
    Hazard,
)
from .rollups import CLOSED_STATUSES, DEFAULT_REBOUND_DAYS, Filters, LedgerQuery

# ---------------------------------------------------------------------------------------------
# Hazard rows (the list under a rollup, and the detail sheet of exports)
# ---------------------------------------------------------------------------------------------


def hazard_rows(
    session: Session,
    *,
    scope,
    node: Area | None,
    filters: Filters | None = None,
    today: date,
    tz: ZoneInfo | str = "Asia/Shanghai",
    rebound_days: int = DEFAULT_REBOUND_DAYS,
) -> Select:
    """A ``select`` of the hazards a rollup counts (same node, scope and filters), one row per
    hazard with its building, area path and a ``rebound`` flag, oldest first. Add
    ``limit``/``offset`` for a page, or stream it for an export."""
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
    return (
        select(
            Hazard.id,
            Hazard.building_id,
            Building.code.label("building_code"),
            Building.name.label("building_name"),
            Building.address,
            Area.path.label("area_path"),
            Hazard.category,
            Hazard.severity,
            Hazard.gb35181_direct,
            Hazard.description,
            Hazard.responsible_party,
            Hazard.measures,
            Hazard.deadline,
            Hazard.funding,
            Hazard.status,
            Hazard.supervised_at,
            Hazard.created_at,
            Hazard.closed_at,
            Hazard.version,
            case((q.rebound(), True), else_=False).label("rebound"),
        )
        .select_from(Hazard)
        .join(Building, Hazard.building_id == Building.id)
        .join(Area, Building.area_id == Area.id)
        .where(*q.hazards_where())
        .order_by(Hazard.id)
    )


def count_rows(session: Session, stmt: Select) -> int:
    """How many rows ``stmt`` (from ``hazard_rows``, perhaps narrowed) returns, counted
    without computing its columns."""
    return session.scalar(stmt.with_only_columns(func.count(Hazard.id)).order_by(None)) or 0


def area_names(session: Session) -> dict[str, tuple[str, str]]:
    """``code → (level, name)`` of every area, to spell out area paths (the tree is small)."""
    return {
        code: (level, name)
        for code, level, name in session.execute(select(Area.code, Area.level, Area.name))
    }


def path_names(path: str, names: dict[str, tuple[str, str]]) -> dict[str, str]:
    """``level → name`` along an area path (``/500110/GN/GN01/GN01-03/``)."""
    out = {}
    for code in path.strip("/").split("/"):
        level, name = names.get(code, ("", code))
        out[level] = name
    return out


def rebound_of(session: Session, hazard: Hazard, *, days: int) -> Hazard | None:
    """The closed hazard that ``hazard`` rebounds from (same building and checklist item,
    closed at most ``days`` days before it was found), the most recent one; or None."""
    if hazard.item_id is None:
        return None
    return session.scalar(
        select(Hazard)
        .where(
            Hazard.building_id == hazard.building_id,
            Hazard.item_id == hazard.item_id,
            Hazard.id != hazard.id,
            Hazard.status.in_(CLOSED_STATUSES),
            Hazard.closed_at <= hazard.created_at,
            Hazard.closed_at >= hazard.created_at - timedelta(days=days),
        )
        .order_by(Hazard.closed_at.desc())
        .limit(1)
    )


def rebounds_after(session: Session, hazard: Hazard, *, days: int) -> list[Hazard]:
    """Hazards found again on the same building and item within ``days`` after ``hazard``
    was closed."""
    if hazard.item_id is None or hazard.closed_at is None:
        return []
    return list(
        session.scalars(
            select(Hazard)
            .where(
                Hazard.building_id == hazard.building_id,
                Hazard.item_id == hazard.item_id,
                Hazard.id != hazard.id,
                Hazard.created_at >= hazard.closed_at,
                Hazard.created_at <= hazard.closed_at + timedelta(days=days),
            )
            .order_by(Hazard.id)
        )
    )


def iter_rows(session: Session, stmt: Select, *, chunk: int = 2000) -> Iterator:
    """Stream the rows of ``stmt`` without holding them all (server-side cursor where the
    engine has one)."""
    result = session.execute(stmt.execution_options(yield_per=chunk))
    yield from result
