"""Messages derived from the ledger's history: the session hook, and the routing of each
change to the people who should hear of it (see the package docstring).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from ..auth import covering_users, fire_accepts, may_transition
from ..db import db
from ..models import (
    Area,
    Building,
    Hazard,
    HazardEvent,
    Inspection,
    Notification,
    Report,
    SpotCheckTask,
    User,
    utcnow,
)

REPORT_ROLES = ("inspector", "street")
SPOT_CHECK_ROLES = ("street", "fire")

_PENDING = "inspect_app.notifications.pending"
_WATCHED = (HazardEvent, Inspection, Report, SpotCheckTask)


# ---------------------------------------------------------------------------------------------
# The session hook
# ---------------------------------------------------------------------------------------------


def install() -> None:
    """Hook the app's database session (idempotent). Called once by ``create_app``."""
    if event.contains(db.session, "after_flush", _collect):
        return
    event.listen(db.session, "after_flush", _collect)
    event.listen(db.session, "before_commit", _before_commit)
    event.listen(db.session, "after_rollback", _forget)


def _collect(session: Session, _flush_context) -> None:
    # ``session.new`` still lists what this flush inserted.
    found = [obj for obj in session.new if isinstance(obj, _WATCHED)]
    if found:
        session.info.setdefault(_PENDING, []).extend(found)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _before_commit(session: Session) -> None:
    if not session.info.get(_PENDING) and not any(isinstance(obj, _WATCHED) for obj in session.new):
        return
    session.flush()
    pending = session.info.pop(_PENDING, [])
    # A savepoint rolled back since the flush leaves its rows transient: skip them.
    alive = [obj for obj in pending if sa_inspect(obj).persistent]
    if alive:
        derive(session, alive)


# ---------------------------------------------------------------------------------------------
# From history to messages
# ---------------------------------------------------------------------------------------------


@dataclass
class Place:
    """A building, its area path and the users whose scope covers it (loaded once)."""

    building: Building
    path: str
    users: list[User]


class Places:
    """Buildings, their area paths and the users covering them, loaded in bulk and kept for
    the transaction (``load`` ahead of a batch; ``get`` loads what was not loaded)."""

    CHUNK = 500

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[int, Place] = {}

    def load(self, building_ids: Iterable[int]) -> None:
        wanted = sorted({b for b in building_ids if b not in self.cache})
        for start in range(0, len(wanted), self.CHUNK):
            chunk = wanted[start : start + self.CHUNK]
            rows = self.session.execute(
                select(Building, Area.path)
                .join(Area, Building.area_id == Area.id)
                .where(Building.id.in_(chunk))
            ).all()
            users = covering_users(chunk)
            for building, path in rows:
                self.cache[building.id] = Place(building, path, users[building.id])

    def get(self, building_id: int) -> Place:
        if building_id not in self.cache:
            self.load([building_id])
        return self.cache[building_id]


@dataclass
class Message:
    kind: str
    source: str
    building_id: int
    recipients: list[User]
    hazard_id: int | None = None
    inspection_id: int | None = None
    report_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def with_roles(users: Iterable[User], roles: Iterable[str]) -> list[User]:
    wanted = set(roles)
    return [u for u in users if u.role in wanted]


def _without(users: Iterable[User], actor_id: int | None) -> list[User]:
    return [u for u in users if u.id != actor_id]


def _short(text: str | None, n: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def hazard_data(hazard: Hazard, building: Building) -> dict[str, Any]:
    return {
        "building": building.name,
        "description": _short(hazard.description),
        "severity": hazard.severity,
        "deadline": hazard.deadline.isoformat() if hazard.deadline else None,
    }


def _evidence_submitter(session: Session, hazard_id: int, before_id: int) -> int | None:
    return session.scalar(
        select(HazardEvent.actor_id)
        .where(
            HazardEvent.hazard_id == hazard_id,
            HazardEvent.action == "evidence_submitted",
            HazardEvent.id < before_id,
        )
        .order_by(HazardEvent.id.desc())
        .limit(1)
    )


def _route_event(session: Session, ev: HazardEvent, place: Place) -> list[User]:
    """The people told of one hazard event (the actor excluded by the caller)."""
    hazard, users = ev.hazard, place.users
    action = ev.action
    if action == "created":
        roles = ["inspector", "manager", "street"] + (["fire"] if fire_accepts(hazard) else [])
        return with_roles(users, roles)
    if action == "evidence_submitted":
        # Whose job acceptance is: the detachment's for what only it may accept, else the
        # street office's (the detachment may, but is not asked to, accept general hazards).
        able = [u for u in users if may_transition(u, hazard, "accept")]
        expected = [u for u in able if (u.role == "fire") == fire_accepts(hazard)]
        return expected or able
    if action == "rejected":
        submitter = _evidence_submitter(session, hazard.id, ev.id)
        return [u for u in users if u.id == submitter or u.role == "manager"]
    if action == "accepted":
        submitter = _evidence_submitter(session, hazard.id, ev.id)
        return [u for u in users if u.id == submitter or u.role in ("inspector", "manager")]
    if action == "deadline_extended":
        return with_roles(users, ("inspector", "manager"))
    if action == "plan_updated":
        return with_roles(users, ("manager",))
    if action == "supervised":
        return with_roles(users, ("inspector", "manager", "street", "fire"))
    return []


EVENT_KINDS = {
    "created": "hazard_created",
    "evidence_submitted": "evidence_submitted",
    "rejected": "evidence_rejected",
    "accepted": "hazard_closed",
    "deadline_extended": "deadline_extended",
    "plan_updated": "plan_updated",
    "supervised": "supervised",
}


def derive(session: Session, objects: list) -> None:
    """Turn new history rows into inbox messages and webhook deliveries (flushes nothing;
    the commit that called it writes them)."""
    from .. import webhooks

    places = Places(session)
    outbox = webhooks.Outbox(session)
    messages: list[Message] = []
    touched: set[int] = set()

    events = sorted((o for o in objects if isinstance(o, HazardEvent)), key=lambda e: e.id)
    inspections = [o for o in objects if isinstance(o, Inspection)]
    reports = [o for o in objects if isinstance(o, Report)]
    tasks = [o for o in objects if isinstance(o, SpotCheckTask)]
    places.load(
        [e.hazard.building_id for e in events]
        + [o.building_id for o in (*inspections, *reports, *tasks)]
    )

    # Hazards found by one inspection make one message per person, not one per hazard.
    created_by_inspection: dict[int, list[HazardEvent]] = defaultdict(list)
    for ev in events:
        hazard = ev.hazard
        place = places.get(hazard.building_id)
        touched.add(hazard.building_id)
        outbox.hazard_event(ev, place.building, place.path)
        if ev.action == "created" and hazard.finding is not None:
            created_by_inspection[hazard.finding.inspection_id].append(ev)
            continue
        kind = EVENT_KINDS.get(ev.action)
        if kind is None:
            continue
        data = hazard_data(hazard, place.building)
        if ev.action == "rejected":
            data["note"] = _short(ev.note, 200)
        messages.append(
            Message(
                kind,
                f"event:{ev.id}",
                hazard.building_id,
                _without(_route_event(session, ev, place), ev.actor_id),
                hazard_id=hazard.id,
                data=data,
            )
        )

    for inspection_id, group in created_by_inspection.items():
        first = group[0]
        place = places.get(first.hazard.building_id)
        recipients: dict[int, User] = {}
        for ev in group:
            for user in _without(_route_event(session, ev, place), ev.actor_id):
                recipients[user.id] = user
        if len(group) == 1:
            messages.append(
                Message(
                    "hazard_created",
                    f"event:{first.id}",
                    place.building.id,
                    list(recipients.values()),
                    hazard_id=first.hazard.id,
                    inspection_id=inspection_id,
                    data=hazard_data(first.hazard, place.building),
                )
            )
            continue
        messages.append(
            Message(
                "hazard_created",
                f"inspection:{inspection_id}:hazards",
                place.building.id,
                list(recipients.values()),
                inspection_id=inspection_id,
                data={
                    "building": place.building.name,
                    "count": len(group),
                    "major": sum(1 for ev in group if ev.hazard.severity == "major"),
                },
            )
        )

    for inspection in inspections:
        place = places.get(inspection.building_id)
        touched.add(inspection.building_id)
        outbox.inspection(inspection, place.building, place.path)
        if inspection.id in created_by_inspection:
            continue  # the hazards' message covers it
        messages.append(
            Message(
                "inspection_submitted",
                f"inspection:{inspection.id}",
                inspection.building_id,
                _without(with_roles(place.users, ("manager",)), inspection.inspector_id),
                inspection_id=inspection.id,
                data={"building": place.building.name, "inspection_kind": inspection.kind},
            )
        )

    for report in reports:
        place = places.get(report.building_id)
        outbox.report(report, place.building, place.path)
        messages.append(
            Message(
                "report_received",
                f"report:{report.id}",
                report.building_id,
                with_roles(place.users, REPORT_ROLES),
                report_id=report.id,
                data={"building": place.building.name, "description": _short(report.description)},
            )
        )

    for task in tasks:
        place = places.get(task.building_id)
        spot = task.spot_check
        messages.append(
            Message(
                "spot_check_task",
                f"spot_check_task:{task.id}",
                task.building_id,
                _without(with_roles(place.users, SPOT_CHECK_ROLES), spot.drawn_by_id),
                data={
                    "building": place.building.name,
                    "due_on": spot.due_on.isoformat() if spot.due_on else None,
                    "team": _short(spot.team, 80),
                },
            )
        )

    write_messages(session, messages)
    outbox.colour_changes(sorted(touched))


def write_messages(session: Session, messages: list[Message]) -> int:
    now = utcnow()
    rows = []
    for m in messages:
        seen: set[int] = set()
        for user in m.recipients:
            if user.id in seen:
                continue
            seen.add(user.id)
            rows.append(
                {
                    "user_id": user.id,
                    "building_id": m.building_id,
                    "kind": m.kind,
                    "source": m.source,
                    "hazard_id": m.hazard_id,
                    "inspection_id": m.inspection_id,
                    "report_id": m.report_id,
                    "data": m.data,
                    "created_at": now,
                }
            )
    if rows:
        # Core executemany on the table: the ORM's bulk path costs as much again per row.
        session.execute(insert(Notification.__table__), rows)
    return len(rows)
