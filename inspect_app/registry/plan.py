"""Planning an import: the checked rows against the database and the importer's scope
(unknown areas, codes used outside the scope, roles the importer may not give), each row
sorted into create, update or unchanged; writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AREA_LEVELS, Area, Building, User, building_manager
from .cells import _CENT
from .report import Report
from .rows import ParsedFile, ParsedTable
from .tables import IN_CHUNK, ROLE_CHOICES


@dataclass
class _AreaInfo:
    id: int | None
    code: str
    name: str
    level: str
    path: str
    parent_code: str | None


@dataclass
class Plan:
    """What applying the file will do; built by :func:`plan_import`, used by
    :func:`apply_plan`."""

    parsed: ParsedFile
    actor: User | None
    areas: dict[str, _AreaInfo] = field(default_factory=dict)
    new_areas: list[_AreaInfo] = field(default_factory=list)
    area_renames: list[dict[str, Any]] = field(default_factory=list)
    new_buildings: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    building_updates: list[dict[str, Any]] = field(default_factory=list)
    new_users: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    user_updates: list[dict[str, Any]] = field(default_factory=list)
    link_changes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    file_buildings: set[str] = field(default_factory=set)
    failed_areas: set[str] = field(default_factory=set)

    @property
    def report(self) -> Report:
        return self.parsed.report


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plan_import(session: Session, parsed: ParsedFile, *, actor: User | None = None) -> Plan:
    """Check the parsed file against the database and the importer's scope; write nothing.

    ``actor`` None is the command line, which may do anything; a user may only write inside
    their own area subtree and give the roles ``auth.assignable_roles`` allows.
    """
    plan = Plan(parsed, actor)
    _plan_areas(session, plan)
    _plan_buildings(session, plan)
    _plan_users(session, plan)
    return plan


def _prefix(actor: User | None) -> str | None:
    """The path prefix an actor may write under; "" for the command line (everything)."""
    if actor is None:
        return ""
    from ..auth import area_prefix

    return area_prefix(actor)


def _plan_areas(session: Session, plan: Plan) -> None:
    report = plan.report
    known = {
        code: _AreaInfo(id_, code, name, level, path, None)
        for id_, code, name, level, path in session.execute(
            select(Area.id, Area.code, Area.name, Area.level, Area.path)
        )
    }
    plan.areas = known
    table = plan.parsed.tables.get("areas")
    if table is None:
        return
    prefix = _prefix(plan.actor)
    get = _getters(table)
    rows = {get(values, "code"): (number, values) for number, values in table.rows}
    new: dict[str, tuple[int, tuple[Any, ...]]] = {}
    for code, (number, values) in rows.items():
        existing = known.get(code)
        parent = get(values, "parent")
        if existing is None:
            new[code] = (number, values)
            continue
        stored_parent = (
            existing.path.rstrip("/").split("/")[-2] if existing.path.count("/") > 2 else None
        )
        if parent != stored_parent:
            report.add(
                table.sheet,
                number,
                "上级区域编码",
                f"区域“{code}”已存在，上级为“{stored_parent or '无'}”；导入不能移动区域",
            )
        elif get(values, "level") != existing.level:
            report.add(
                table.sheet, number, "层级", f"区域“{code}”已存在，层级不同；导入不能修改层级"
            )
        elif get(values, "name") != existing.name:
            if prefix is None or not existing.path.startswith(prefix):
                report.add(table.sheet, number, "区域编码", f"区域“{code}”不在您的管辖范围内")
            else:
                plan.area_renames.append({"id": existing.id, "name": get(values, "name")})
                report.areas.updated += 1
        else:
            report.areas.unchanged += 1
    # New areas hang under a known area or under another new one; resolve parents first.
    levels = {level: i for i, level in enumerate(AREA_LEVELS)}
    resolving: set[str] = set()  # the chain being resolved, to tell a cycle
    failed: set[str] = set()

    def resolve(code: str) -> _AreaInfo | None:
        if code in known:
            return known[code]
        if code not in new or code in failed:
            return None
        resolving.add(code)
        try:
            info = resolve_new(code)
        finally:
            resolving.discard(code)
        if info is None:
            failed.add(code)
        return info

    def resolve_new(code: str) -> _AreaInfo | None:
        number, values = new[code]
        parent_code = get(values, "parent")
        level = get(values, "level")
        parent = None
        if parent_code is not None:
            if parent_code in resolving:
                report.add(table.sheet, number, "上级区域编码", f"上级区域“{parent_code}”形成循环")
                return None
            parent = resolve(parent_code)
            if parent is None:
                if parent_code not in new:
                    report.add(
                        table.sheet,
                        number,
                        "上级区域编码",
                        f"上级区域“{parent_code}”不存在（系统和本表中都没有）",
                    )
                return None  # otherwise the parent's own row carries the problem
            if levels[level] <= levels[parent.level]:
                report.add(table.sheet, number, "层级", "层级必须低于上级区域的层级")
                return None
        path = f"{parent.path if parent else '/'}{code}/"
        if prefix is None or (prefix and (parent is None or not path.startswith(prefix))):
            report.add(
                table.sheet,
                number,
                "上级区域编码",
                "只能在您的管辖范围内新建区域" if parent else "只有命令行导入可以新建顶级区域",
            )
            return None
        info = _AreaInfo(None, code, get(values, "name"), level, path, parent_code)
        known[code] = info
        plan.new_areas.append(info)
        report.areas.created += 1
        return info

    for code in new:
        resolve(code)
    plan.failed_areas = failed
    plan.new_areas.sort(key=lambda a: a.path.count("/"))


def _unknown_area(plan: Plan, code: str) -> str:
    if code in plan.failed_areas:
        return f"区域“{code}”在区域表中有错误，请先更正该行"
    return f"区域“{code}”不存在（系统和区域表中都没有）"


def _getters(table: ParsedTable) -> Callable[[tuple[Any, ...], str], Any]:
    index = {c.key: i for i, c in enumerate(table.columns)}
    return lambda values, key: values[index[key]] if key in index else None


def _scope_area_codes(plan: Plan) -> Callable[[_AreaInfo], bool]:
    prefix = _prefix(plan.actor)
    if prefix is None:
        return lambda area: False
    return lambda area: area.path.startswith(prefix)


def _norm_text(value: Any) -> Any:
    return value or None


def _plan_buildings(session: Session, plan: Plan) -> None:
    table = plan.parsed.tables.get("buildings")
    if table is None:
        return
    in_scope = _scope_area_codes(plan)
    areas_by_id = {a.id: a for a in plan.areas.values() if a.id is not None}
    key_i, area_i = table.index("code"), table.index("area")
    area_header, key_header = table.columns[area_i].header, table.columns[key_i].header
    stored_cols = [(i, c) for i, c in enumerate(table.columns) if c.attr is not None]
    attrs = [getattr(Building, c.attr) for _, c in stored_cols]
    report = plan.report
    # Stored rows are fetched chunk by chunk, so memory holds one chunk of them at a time.
    for chunk in _chunks(table.rows, IN_CHUNK):
        existing = {
            row[0]: tuple(row[1:])
            for row in session.execute(
                select(Building.code, Building.id, Building.area_id, *attrs).where(
                    Building.code.in_([values[key_i] for _, values in chunk])
                )
            )
        }
        for number, values in chunk:
            code = values[key_i]
            area = plan.areas.get(values[area_i])
            if area is None:
                report.add(table.sheet, number, area_header, _unknown_area(plan, values[area_i]))
                continue
            if not in_scope(area):
                message = f"区域“{area.code}”不在您的管辖范围内"
                report.add(table.sheet, number, area_header, message)
                continue
            plan.file_buildings.add(code)
            stored = existing.get(code)
            if stored is None:
                plan.new_buildings.append((number, values))
                report.buildings.created += 1
                continue
            building_id, area_id, *current = stored
            stored_area = areas_by_id.get(area_id)
            if stored_area is None or not in_scope(stored_area):
                message = f"编码“{code}”已被您管辖范围之外的楼栋使用"
                report.add(table.sheet, number, key_header, message)
                continue
            changes = _changes(values, current, stored_cols)
            if area.id != area_id:
                changes["area"] = area.code
            if changes:
                changes["id"] = building_id
                plan.building_updates.append(changes)
                report.buildings.updated += 1
            else:
                report.buildings.unchanged += 1


def _changes(values, current, stored_cols) -> dict[str, Any]:
    """The attributes whose file value differs from the stored one, compared as stored."""
    changes: dict[str, Any] = {}
    for (i, column), old in zip(stored_cols, current, strict=True):
        new = values[i]
        if column.kind == "decimal":
            old = Decimal(old).quantize(_CENT) if old is not None else None
        elif column.kind in ("text", "phone"):
            old = _norm_text(old)
        elif column.key == "underground_storeys" and new is None:
            new = 0
        if new != old:
            changes[column.attr] = new
    return changes


def _plan_users(session: Session, plan: Plan) -> None:
    table = plan.parsed.tables.get("users")
    if table is None:
        return
    from ..auth import assignable_roles, user_scope

    report = plan.report
    actor = plan.actor
    in_scope = _scope_area_codes(plan)
    get = _getters(table)
    roles = assignable_roles(actor) if actor is not None else tuple(ROLE_CHOICES.values())
    names = [get(values, "username") for _, values in table.rows]
    existing: dict[str, tuple[Any, ...]] = {}
    administered: set[int] = set()
    for chunk in _chunks(names, IN_CHUNK):
        for row in session.execute(
            select(
                User.username, User.id, User.display_name, User.phone, User.role, User.area_id
            ).where(User.username.in_(chunk))
        ):
            existing[row[0]] = tuple(row[1:])
        if actor is not None:
            administered.update(
                session.scalars(select(User.id).where(User.username.in_(chunk), user_scope(actor)))
            )
    links: dict[int, set[str]] = {}
    for chunk in _chunks([v[0] for v in existing.values()], IN_CHUNK):
        for user_id, code in session.execute(
            select(building_manager.c.user_id, Building.code)
            .join(Building, Building.id == building_manager.c.building_id)
            .where(building_manager.c.user_id.in_(chunk))
        ):
            links.setdefault(user_id, set()).add(code)
    # Managed buildings are rows of this file (already checked) or stored buildings in scope.
    wanted = sorted(
        {c for _, values in table.rows for c in (get(values, "buildings") or ())}
        - plan.file_buildings
    )
    stored_buildings: dict[str, int] = {}
    for chunk in _chunks(wanted, IN_CHUNK):
        stored_buildings.update(
            session.execute(
                select(Building.code, Building.area_id).where(Building.code.in_(chunk))
            ).all()
        )
    areas_by_id = {a.id: a for a in plan.areas.values() if a.id is not None}
    area_header = table.table.column("area").header
    has_area, has_buildings = table.index("area") is not None, table.index("buildings") is not None
    for number, values in table.rows:
        username, role = get(values, "username"), get(values, "role")
        if role not in roles:
            report.add(table.sheet, number, "角色", "您不能创建或修改该角色的用户")
            continue
        area_code = get(values, "area")
        area = plan.areas.get(area_code) if area_code is not None else None
        if area_code is not None and area is None:
            report.add(table.sheet, number, area_header, _unknown_area(plan, area_code))
            continue
        if area is not None and not in_scope(area):
            report.add(table.sheet, number, area_header, f"区域“{area_code}”不在您的管辖范围内")
            continue
        codes = get(values, "buildings") or ()
        outside = next(
            (
                code
                for code in codes
                if code not in plan.file_buildings
                and not ((found := areas_by_id.get(stored_buildings.get(code))) and in_scope(found))
            ),
            None,
        )
        if outside is not None:
            report.add(
                table.sheet, number, "管理楼栋编码", f"楼栋“{outside}”不存在或不在您的管辖范围内"
            )
            continue
        stored = existing.get(username)
        if stored is None:
            plan.new_users.append((number, values))
            report.users.created += 1
            continue
        user_id, display_name, phone, stored_role, stored_area_id = stored
        if actor is not None:
            if user_id not in administered or stored_role not in roles:
                report.add(table.sheet, number, "用户名", f"用户“{username}”已存在，您无权修改")
                continue
            if user_id == actor.id and role != stored_role:
                report.add(table.sheet, number, "角色", "不能修改自己的角色")
                continue
        changes: dict[str, Any] = {}
        for key, old in (
            ("display_name", display_name),
            ("phone", _norm_text(phone)),
            ("role", stored_role),
        ):
            if table.index(key) is not None and get(values, key) != old:
                changes[key] = get(values, key)
        if has_area:
            new_area = area is not None and area.id is None  # an area this file creates
            if new_area or (area.id if area else None) != stored_area_id:
                changes["area"] = area_code
        # The file's list replaces the managed buildings; a user who is no manager has none.
        if (has_buildings or role != "manager") and set(codes) != links.get(user_id, set()):
            plan.link_changes[username] = codes
        if changes or username in plan.link_changes:
            changes["id"] = user_id
            changes["username"] = username
            plan.user_updates.append(changes)
            report.users.updated += 1
        else:
            report.users.unchanged += 1
