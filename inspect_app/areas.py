"""The administrative tree (city → district → street → community → grid) as administrators edit
it: add an area under one they administer, rename one. Areas are never moved or deleted here:
their materialised paths are the scope of users and buildings, and a move would silently change
who sees what. Functions flush and never commit.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from .auth import area_in_scope, area_scope
from .models import AREA_LEVELS, Area, User

CODE_RE = re.compile(r"[^\s/\\]{1,32}")


class Invalid(Exception):
    """Bad area data; ``errors`` maps form field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def child_levels(parent: Area) -> tuple[str, ...]:
    """The levels an area directly under ``parent`` may have (any level below the parent's:
    a deployment may skip a level, e.g. grids straight under a street)."""
    return AREA_LEVELS[AREA_LEVELS.index(parent.level) + 1 :]


def create_area(
    session: Session, *, actor: User, parent: Area, code: str, name: str, level: str
) -> Area:
    """Add an area under ``parent`` (which must be in the actor's subtree). Raises Invalid."""
    errors: dict[str, list[str]] = {}
    code = (code or "").strip()
    name = (name or "").strip()
    if not area_in_scope(actor, parent):
        errors.setdefault("parent", []).append("上级区域不在您的管辖范围内")
    if not CODE_RE.fullmatch(code):
        errors.setdefault("code", []).append("编码为 1 到 32 个字符，不含空格或“/”")
    elif session.scalar(select(Area.id).where(Area.code == code)) is not None:
        errors.setdefault("code", []).append("该区域编码已被使用")
    if not name or len(name) > 100:
        errors.setdefault("name", []).append("请填写名称（不超过 100 个字）")
    if level not in child_levels(parent):
        errors.setdefault("level", []).append("层级必须低于上级区域的层级")
    if errors:
        raise Invalid(errors)
    area = Area(
        code=code, name=name, level=level, parent_id=parent.id, path=Area.child_path(parent, code)
    )
    session.add(area)
    session.flush()
    return area


def rename_area(session: Session, area: Area, name: str) -> None:
    """Change an area's display name (its code and place in the tree stay). Raises Invalid."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid({"name": ["请填写名称（不超过 100 个字）"]})
    area.name = name
    session.flush()


def tree(session: Session, actor: User) -> list[tuple[Area, int]]:
    """The areas of the actor's subtree in tree order, each with its depth below the actor's
    own area (0 for that area)."""
    areas = session.scalars(select(Area).where(area_scope(actor))).all()
    # Sorted on the path's parts, not the string: a collation that ignores "/" would
    # otherwise put "/D/S10/" before "/D/S1/C/".
    areas = sorted(areas, key=lambda a: a.path.split("/"))
    if not areas:
        return []
    base = min(a.path.count("/") for a in areas)
    return [(a, a.path.count("/") - base) for a in areas]
