"""Blind spots of fire-safety management (盲区清零): buildings without a unified manager, a
management unit or a named fire-safety manager."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..models import Building

BLIND_SPOTS = ("no_unified_manager", "no_management_unit", "no_fire_manager")


def _blank_column(column):
    return or_(column.is_(None), func.trim(column) == "")


def blind_spot(kind: str):
    """The SQL condition on ``Building`` for a blind spot of fire-safety management (盲区清零:
    every high-rise needs a management unit and a named fire-safety manager):

    - ``no_unified_manager``: several owners or users and nobody managing the common parts
      (多业主无统一管理人), the case the seeds single out;
    - ``no_management_unit``: no management unit at all;
    - ``no_fire_manager``: no fire-safety manager named.

    :raise ValueError: unknown kind.
    """
    if kind == "no_unified_manager":
        return Building.multi_owner.is_(True) & _blank_column(Building.management_unit)
    if kind == "no_management_unit":
        return _blank_column(Building.management_unit)
    if kind == "no_fire_manager":
        return _blank_column(Building.fire_manager_name)
    raise ValueError(kind)


def blind_spot_counts(session: Session, buildings) -> dict[str, int]:
    """How many of ``buildings`` (a ``select(Building)``, e.g. a user's scope) fall in each
    blind spot, by kind."""
    return {
        kind: session.scalar(
            select(func.count()).select_from(buildings.where(blind_spot(kind)).subquery())
        )
        for kind in BLIND_SPOTS
    }
