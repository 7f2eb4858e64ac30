"""Corrections of a building's registry facts (实名制排查), proposed on site and decided by the
street office.

A grid worker (or the property manager) proposes new values for some facts of a building,
optionally with photos; only the facts that differ from the stored ones are kept, as
``{"from": stored, "to": proposed}``. The street office accepts or rejects a proposal once:
acceptance applies the new values to the building and records who and when. The building's
class (R1/R2/P1/P2) is derived from use, height and storeys (``classification``), and the
checklist items asked of it follow from the class and flags (``checklists.applies``), so an
accepted change reclassifies the building and changes its checklist with no further step;
``class_before``/``class_after`` keep the reclassification in the history.

Administrators' direct edits go through :func:`apply_direct`, which records an accepted change
too, so the history of a building's facts is complete. Every function flushes and never
commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import photo_stores, photos
from .checklists import applies, current_checklist
from .models import USES, Area, Building, BuildingChange, ChecklistItem, User, utcnow

# Facts a person on site may propose, in the order the form shows them.
FIELD_KINDS: dict[str, str] = {
    "management_unit": "text",
    "management_contact": "text",
    "fire_manager_name": "text",
    "fire_manager_phone": "text",
    "use": "use",
    "height_m": "decimal",
    "storeys": "int",
    "underground_storeys": "int",
    "multi_owner": "bool",
    "has_sprinklers": "bool",
    "has_fire_alarm_system": "bool",
    "has_control_room": "bool",
    "has_pressure_stabilizer": "bool",
    "has_refuge_floor": "bool",
    "has_fire_elevator": "bool",
    "has_gas_suppression": "bool",
    "has_assembly_occupancy": "bool",
}
FIELDS = tuple(FIELD_KINDS)
# Facts only an administrator edits (identity, place and the class-by-use judgement).
ADMIN_FIELD_KINDS: dict[str, str] = {
    "name": "required_text",
    "address": "required_text",
    "area_id": "int",
    "built_year": "int",
    "class_i_by_use": "bool",
    **FIELD_KINDS,
}
ADMIN_FIELDS = tuple(ADMIN_FIELD_KINDS)
MAX_LENGTHS = {
    "name": 120,
    "address": 200,
    "management_unit": 120,
    "management_contact": 40,
    "fire_manager_name": 40,
    "fire_manager_phone": 40,
}
_CENT = Decimal("0.01")


class Invalid(Exception):
    """Bad proposal; ``errors`` maps field names (or ``""`` for the whole form) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class Conflict(Exception):
    """The proposal was decided by someone else meanwhile, or a replayed submission differs."""


@dataclass(frozen=True)
class Outcome:
    """What an accepted change did: the class on either side and the checklist items that
    now apply or no longer apply (codes, in checklist order)."""

    change: BuildingChange
    class_before: str | None
    class_after: str | None
    items_added: tuple[str, ...] = ()
    items_removed: tuple[str, ...] = ()
    fields: tuple[str, ...] = field(default_factory=tuple)

    @property
    def reclassified(self) -> bool:
        return self.class_before != self.class_after


def _normalise(name: str, value: Any, kinds: Mapping[str, str]) -> Any:
    kind = kinds[name]
    if kind in ("text", "required_text"):
        text = " ".join(str(value).split()) if value is not None else ""
        return text or None
    if kind == "decimal":
        return None if value is None else Decimal(str(value)).quantize(_CENT, ROUND_HALF_UP)
    if kind == "bool":
        return bool(value)
    return value


def to_json(value: Any) -> Any:
    """A fact as stored in ``changes``: decimals as text, everything else as is."""
    return str(value) if isinstance(value, Decimal) else value


def from_json(name: str, value: Any) -> Any:
    """A fact from ``changes`` back to the building attribute's type."""
    kind = ADMIN_FIELD_KINDS.get(name)
    if kind == "decimal" and value is not None:
        return Decimal(value)
    return value


def _check(session: Session, values: Mapping[str, Any], kinds: Mapping[str, str]) -> None:
    """Domain checks beyond the form's: required facts, lengths, ranges, known area and use."""
    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for name, value in values.items():
        kind = kinds[name]
        if kind == "required_text" and not value:
            bad(name, "必填")
        if isinstance(value, str) and len(value) > MAX_LENGTHS.get(name, 10_000):
            bad(name, f"不能超过 {MAX_LENGTHS[name]} 个字符")
    height = values.get("height_m")
    if "height_m" in values and (height is None or not 0 < height <= 1000):
        bad("height_m", "建筑高度必须大于 0 米且不超过 1000 米")
    if "storeys" in values and (values["storeys"] is None or not 1 <= values["storeys"] <= 200):
        bad("storeys", "地上层数必须在 1 到 200 之间")
    underground = values.get("underground_storeys")
    if "underground_storeys" in values and (underground is None or not 0 <= underground <= 20):
        bad("underground_storeys", "地下层数必须在 0 到 20 之间")
    year = values.get("built_year")
    if year is not None and not 1900 <= year <= 2100:
        bad("built_year", "建成年份必须在 1900 到 2100 之间")
    if "use" in values and values["use"] not in USES:
        bad("use", "请选择使用性质")
    if "area_id" in values and session.get(Area, values["area_id"] or 0) is None:
        bad("area_id", "请选择所属区域")
    if errors:
        raise Invalid(errors)


def diff(
    session: Session,
    building: Building,
    values: Mapping[str, Any],
    *,
    fields: Iterable[str] = FIELDS,
    kinds: Mapping[str, str] = FIELD_KINDS,
) -> dict[str, dict[str, Any]]:
    """The facts among ``fields`` whose value in ``values`` differs from the building's, as
    ``{name: {"from": stored, "to": new}}`` (JSON form). Values missing from ``values`` are
    not compared. Raises Invalid for values no building may have."""
    given = {name: _normalise(name, values[name], kinds) for name in fields if name in values}
    _check(session, given, kinds)
    changes = {}
    for name, new in given.items():
        old = _normalise(name, getattr(building, name), kinds)
        if new != old:
            changes[name] = {"from": to_json(old), "to": to_json(new)}
    return changes


def find_replay(session: Session, client_uuid: str | None) -> BuildingChange | None:
    if not client_uuid:
        return None
    return session.scalar(select(BuildingChange).where(BuildingChange.client_uuid == client_uuid))


def propose(
    session: Session,
    *,
    building: Building,
    user: User,
    values: Mapping[str, Any],
    note: str | None = None,
    photo_files: Iterable[bytes] = (),
    store: photo_stores.PhotoStore | None = None,
    client_uuid: str | None = None,
    max_pixels: int = 50_000_000,
) -> tuple[BuildingChange, bool]:
    """Record a proposal of new values for ``building``'s facts, with optional photos.

    Returns ``(change, True)``, or ``(existing, False)`` when ``client_uuid`` was already
    submitted by the same user for the same building (a replay). Raises Conflict when the key
    was used for something else, Invalid when nothing differs from the stored facts, a value
    is impossible or a photo is not acceptable. Photo files are stored before the rows that
    reference them are flushed.
    """
    existing = find_replay(session, client_uuid)
    if existing is not None:
        if existing.building_id != building.id or existing.proposed_by_id != user.id:
            raise Conflict(client_uuid)
        return existing, False
    changes = diff(session, building, values)
    if not changes:
        raise Invalid({"": ["没有修改任何信息：请修改需要更正的项目后再提交"]})
    processed = []
    for n, raw in enumerate(photo_files, 1):
        try:
            processed.append(photos.process(raw, max_pixels=max_pixels))
        except photos.PhotoError as err:
            raise Invalid({"photo": [f"第 {n} 张照片：{err}"]}) from None
    if processed and store is None:
        raise ValueError("photos need a store")
    change = BuildingChange(
        client_uuid=client_uuid,
        building_id=building.id,
        proposed_by_id=user.id,
        changes=changes,
        note=(note or "").strip() or None,
        status="pending",
    )
    session.add(change)
    session.flush()
    for p in processed:
        store.put(p.sha256, p.data, p.thumb)
        session.add(photos.photo_row(p, uploaded_by_id=user.id, building_change_id=change.id))
    session.flush()
    return change, True


def _decide(session: Session, change: BuildingChange, status: str, user: User, note) -> None:
    """Move a pending change to ``status`` exactly once, even under concurrent deciders: the
    conditional UPDATE matches only while the row is still pending."""
    result = session.execute(
        update(BuildingChange)
        .where(BuildingChange.id == change.id, BuildingChange.status == "pending")
        .values(status=status, decided_by_id=user.id, decided_at=utcnow(), decision_note=note)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(change)
        raise Conflict(change.id)
    session.refresh(change)


def _applicable(building: Building, items: list[ChecklistItem]) -> list[str]:
    klass, flags = building.building_class, building.flags
    return [i.code for i in items if applies(i.applies_to, klass, flags)]


def _apply(session: Session, change: BuildingChange, building: Building) -> Outcome:
    """Write ``change`` to ``building``; rewrite each ``from`` to the value actually replaced."""
    checklist = current_checklist(session)
    items = list(checklist.items) if checklist is not None else []
    before_items = _applicable(building, items)
    before = building.building_class
    applied = {}
    for name, entry in change.changes.items():
        old = _normalise(name, getattr(building, name), ADMIN_FIELD_KINDS)
        setattr(building, name, from_json(name, entry["to"]))
        applied[name] = {"from": to_json(old), "to": entry["to"]}
    after = building.building_class
    after_items = _applicable(building, items)
    change.changes = applied
    change.class_before, change.class_after = before, after
    session.flush()
    return Outcome(
        change=change,
        class_before=before,
        class_after=after,
        items_added=tuple(c for c in after_items if c not in before_items),
        items_removed=tuple(c for c in before_items if c not in after_items),
        fields=tuple(applied),
    )


def accept(
    session: Session, change: BuildingChange, *, user: User, note: str | None = None
) -> Outcome:
    """Accept a pending proposal and apply it to its building (who and when are recorded).

    Raises Conflict when it was decided already.
    """
    _decide(session, change, "accepted", user, (note or "").strip() or None)
    return _apply(session, change, change.building)


def reject(session: Session, change: BuildingChange, *, user: User, note: str | None) -> None:
    """Reject a pending proposal; the reason is required and shown to the proposer.

    Raises Invalid without a reason, Conflict when it was decided already.
    """
    reason = (note or "").strip()
    if not reason:
        raise Invalid({"note": ["退回时请填写原因"]})
    _decide(session, change, "rejected", user, reason)


def apply_direct(
    session: Session,
    building: Building,
    values: Mapping[str, Any],
    *,
    user: User,
    note: str | None = None,
    fields: Iterable[str] = ADMIN_FIELDS,
) -> Outcome | None:
    """Edit ``building``'s facts directly (the administrator's building page), recorded as a
    change proposed and accepted by ``user``, so the history stays complete.

    Returns None when nothing differs. Raises Invalid as :func:`diff`.
    """
    changes = diff(session, building, values, fields=fields, kinds=ADMIN_FIELD_KINDS)
    if not changes:
        return None
    now = utcnow()
    change = BuildingChange(
        building_id=building.id,
        proposed_by_id=user.id,
        proposed_at=now,
        changes=changes,
        note=(note or "").strip() or None,
        status="accepted",
        decided_by_id=user.id,
        decided_at=now,
    )
    session.add(change)
    session.flush()
    change.building = building
    return _apply(session, change, building)


def pending_count(session: Session, scope) -> int:
    """Pending proposals on the buildings matching the SQL condition ``scope``."""
    from sqlalchemy import func

    return session.scalar(
        select(func.count(BuildingChange.id))
        .join(Building, BuildingChange.building_id == Building.id)
        .where(BuildingChange.status == "pending", scope)
    )
