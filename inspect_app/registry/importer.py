"""Applying a planned import with bulk statements, and the whole import: read, check, plan and
(for a file without a problem) apply, in the caller's transaction."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ..models import Area, Building, User, building_manager
from .files import read_file
from .plan import Plan, _chunks, _getters, plan_import
from .report import Progress, Report, _NoProgress
from .tables import BATCH, IN_CHUNK, MAX_ROWS


def apply_plan(session: Session, plan: Plan, *, progress: Progress | None = None) -> Report:
    """Write the plan: areas, then buildings, then users, with bulk statements; flush, never
    commit. Refuses (ValueError) a plan whose report has problems.

    Passwords generated for new users without one in the file are put in the report.
    """
    report = plan.report
    if not report.ok:
        raise ValueError("a file with problems is never applied")
    progress = progress or _NoProgress()
    try:
        area_ids = _apply_areas(session, plan)
        _apply_buildings(session, plan, area_ids, progress)
        _apply_users(session, plan, area_ids)
    finally:
        progress.end()
    session.flush()
    report.applied = True
    return report


def _apply_areas(session: Session, plan: Plan) -> dict[str, int]:
    ids = {code: a.id for code, a in plan.areas.items() if a.id is not None}
    depth = None
    batch: list[Area] = []

    def flush() -> None:
        session.add_all(batch)
        session.flush()
        ids.update((a.code, a.id) for a in batch)
        batch.clear()

    for info in plan.new_areas:  # sorted by depth: parents are flushed before children
        if depth is not None and info.path.count("/") != depth:
            flush()
        depth = info.path.count("/")
        batch.append(
            Area(
                code=info.code,
                name=info.name,
                level=info.level,
                path=info.path,
                parent_id=ids[info.parent_code] if info.parent_code else None,
            )
        )
    if batch:
        flush()
    if plan.area_renames:
        session.execute(update(Area), plan.area_renames)
    return ids


def _apply_buildings(session: Session, plan: Plan, area_ids: dict[str, int], progress) -> None:
    table = plan.parsed.tables.get("buildings")
    if table is None:
        return
    progress.end()
    progress.begin("写入楼栋", len(plan.new_buildings) + len(plan.building_updates))
    columns = [(i, c) for i, c in enumerate(table.columns)]
    area_i = table.index("area")
    code_i = table.index("code")
    for chunk in _chunks(plan.new_buildings, BATCH):
        rows = []
        for _, values in chunk:
            row: dict[str, Any] = {"code": values[code_i], "area_id": area_ids[values[area_i]]}
            for i, column in columns:
                if column.attr is not None:
                    row[column.attr] = values[i]
            if row.get("underground_storeys", 0) is None:
                row["underground_storeys"] = 0
            rows.append(row)
        session.execute(insert(Building), rows)
        progress.advance(len(chunk))
    for chunk in _chunks(plan.building_updates, BATCH):
        rows = []
        for changes in chunk:
            row = dict(changes)
            if "area" in row:
                row["area_id"] = area_ids[row.pop("area")]
            rows.append(row)
        session.execute(update(Building), rows)
        progress.advance(len(chunk))


def _apply_users(session: Session, plan: Plan, area_ids: dict[str, int]) -> None:
    table = plan.parsed.tables.get("users")
    if table is None:
        return
    from ..auth import hash_password

    get = _getters(table)
    report = plan.report
    users: dict[str, User] = {}
    for _, values in plan.new_users:
        username = get(values, "username")
        password = get(values, "password")
        if password is None:
            password = secrets.token_urlsafe(9)
            report.passwords.append((username, password))
        area_code = get(values, "area")
        user = User(
            username=username,
            display_name=get(values, "display_name"),
            phone=get(values, "phone"),
            role=get(values, "role"),
            area_id=area_ids[area_code] if area_code else None,
            password_hash=hash_password(password),
        )
        users[username] = user
        if get(values, "buildings"):
            plan.link_changes[username] = get(values, "buildings")
    session.add_all(users.values())
    session.flush()
    user_ids = {name: u.id for name, u in users.items()}
    updates = []
    for changes in plan.user_updates:
        row = {k: v for k, v in changes.items() if k != "username"}
        user_ids[changes["username"]] = row["id"]
        if "area" in row:
            code = row.pop("area")
            row["area_id"] = area_ids[code] if code else None
        if len(row) > 1:
            updates.append(row)
    if updates:
        session.execute(update(User), updates)
    if not plan.link_changes:
        return
    codes = sorted({c for cs in plan.link_changes.values() for c in cs})
    building_ids: dict[str, int] = {}
    for chunk in _chunks(codes, IN_CHUNK):
        building_ids.update(
            session.execute(
                select(Building.code, Building.id).where(Building.code.in_(chunk))
            ).all()
        )
    changed = [user_ids[name] for name in plan.link_changes]
    for chunk in _chunks(changed, IN_CHUNK):
        session.execute(delete(building_manager).where(building_manager.c.user_id.in_(chunk)))
    links = [
        {"user_id": user_ids[name], "building_id": building_ids[code]}
        for name, cs in plan.link_changes.items()
        for code in cs
    ]
    if links:
        session.execute(insert(building_manager), links)


# --- the whole import -----------------------------------------------------------------------


def import_registry(
    session: Session,
    source: str | Path | IO[bytes],
    *,
    filename: str = "",
    actor: User | None = None,
    dry_run: bool = False,
    max_rows: int = MAX_ROWS,
    progress: Progress | None = None,
) -> Report:
    """Read, check and (unless ``dry_run`` or any problem was found) apply a registry file.

    Returns the report; ``report.applied`` tells whether anything was written. Flushes and
    never commits: the caller commits once (or rolls back).
    """
    parsed = read_file(source, filename=filename, max_rows=max_rows, progress=progress)
    if not parsed.report.ok:
        return parsed.report
    plan = plan_import(session, parsed, actor=actor)
    if not plan.report.ok or dry_run:
        return plan.report
    return apply_plan(session, plan, progress=progress)
