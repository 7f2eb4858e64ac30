"""The offline pack: what a phone keeps so that a worker's pages open without a network.

A grid worker's phone keeps the home page, a page per building, one inspection form
*template* and this pack. The template is the inspection form rendered once for every
checklist item, with placeholders (``SENTINELS``) where a building's own values go; the pack
says, per building, which items apply, who is responsible by default and which hazards are
open for re-checking. The page fills the template from the pack, so thirty buildings cost one
form plus a few hundred bytes each, not thirty forms.

Nothing here writes: ``buildings_for`` reads the user's scope (``auth.scoped_buildings``) and
returns plain data; the view turns it into JSON with the user's language.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .auth import scoped_buildings
from .inspections import applicable_items
from .models import Building, Checklist, Hazard, HazardEvent, Inspection

# Placeholders in the form template; never valid building data (brackets outside any code,
# name or unit the registry accepts), so the page can find and replace them exactly.
SENTINELS = {
    "id": "0",
    "name": "\u27e6building\u27e7",
    "code": "\u27e6code\u27e7",
    "unit": "\u27e6unit\u27e7",
    "hazard": "\u27e6hazard\u27e7",
}


def template_building() -> SimpleNamespace:
    """A stand-in building for rendering the form template: placeholders for what varies."""
    return SimpleNamespace(
        id=int(SENTINELS["id"]),
        code=SENTINELS["code"],
        name=SENTINELS["name"],
        management_unit=SENTINELS["unit"],
        building_class=None,
        flags=set(),
    )


@dataclass
class OfflineBuilding:
    """One building as the pack carries it; ``tag`` changes whenever its page would."""

    building: Building
    items: list[str]
    followups: list[Hazard] = field(default_factory=list)
    tag: str = ""


def buildings_for(
    session: Session, user, *, checklist: Checklist | None, today: date, limit: int
) -> tuple[list[OfflineBuilding], bool]:
    """The user's buildings to keep offline, at most ``limit``, the work still to do first
    (never inspected, then longest ago), and whether the list was cut at ``limit``."""
    last = (
        select(Inspection.building_id, func.max(Inspection.submitted_at).label("last_at"))
        .group_by(Inspection.building_id)
        .subquery()
    )
    query = (
        scoped_buildings(user)
        .outerjoin(last, last.c.building_id == Building.id)
        .order_by(last.c.last_at.is_not(None), last.c.last_at, Building.code)
        .limit(limit + 1)
    )
    rows = list(session.scalars(query))
    truncated = len(rows) > limit
    rows = rows[:limit]
    ids = [b.id for b in rows]
    if not ids:
        return [], truncated

    open_hazards: dict[int, list[Hazard]] = {i: [] for i in ids}
    for hazard in session.scalars(
        select(Hazard)
        .where(Hazard.building_id.in_(ids), Hazard.status == "open")
        .order_by(Hazard.deadline, Hazard.id)
    ):
        open_hazards[hazard.building_id].append(hazard)
    # Every hazard change bumps its version (the optimistic lock) or appends an event.
    hazard_state = {
        row[0]: list(row[1:])
        for row in session.execute(
            select(
                Hazard.building_id,
                func.count(Hazard.id),
                func.max(Hazard.id),
                func.sum(Hazard.version),
                func.max(HazardEvent.id),
            )
            .outerjoin(HazardEvent, HazardEvent.hazard_id == Hazard.id)
            .where(Hazard.building_id.in_(ids))
            .group_by(Hazard.building_id)
        ).all()
    }
    last_inspection = dict(
        session.execute(
            select(Inspection.building_id, func.max(Inspection.id))
            .where(Inspection.building_id.in_(ids))
            .group_by(Inspection.building_id)
        ).all()
    )
    out = []
    for b in rows:
        items = [i.code for i in applicable_items(checklist, b)] if checklist else []
        state = [
            today.isoformat(),
            b.code,
            b.name,
            b.address,
            b.management_unit,
            b.management_contact,
            b.fire_manager_name,
            b.fire_manager_phone,
            str(b.height_m),
            b.storeys,
            b.area_id,
            sorted(b.flags),
            hazard_state.get(b.id),
            last_inspection.get(b.id),
        ]
        out.append(OfflineBuilding(b, items, open_hazards[b.id], digest(state)))
    return out, truncated


def digest(value) -> str:
    """A short, stable fingerprint of JSON-able ``value``."""
    raw = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]
