"""Queueing events: each change becomes one JSON body per interested hook, in the transaction
of the change; fire safety code colours are announced when they change.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    AnnouncedColour,
    Area,
    Building,
    Hazard,
    HazardEvent,
    Inspection,
    Report,
    Webhook,
    WebhookDelivery,
    utcnow,
)

# ---------------------------------------------------------------------------------------------
# Queueing events
# ---------------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    if moment is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(event_type: str, data: dict[str, Any], occurred_at: datetime) -> tuple[str, str]:
    event_id = str(uuid.uuid4())
    body = json.dumps(
        {"id": event_id, "type": event_type, "occurred_at": _iso(occurred_at), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )
    return event_id, body


def building_data(building: Building, path: str) -> dict[str, Any]:
    return {"id": building.id, "code": building.code, "name": building.name, "area_path": path}


def hazard_data(hazard: Hazard) -> dict[str, Any]:
    return {
        "id": hazard.id,
        "category": hazard.category,
        "severity": hazard.severity,
        "gb35181_direct": hazard.gb35181_direct,
        "description": hazard.description,
        "responsible_party": hazard.responsible_party,
        "deadline": hazard.deadline.isoformat() if hazard.deadline else None,
        "status": hazard.status,
        "supervised": hazard.supervised_at is not None,
        "created_at": _iso(hazard.created_at),
        "closed_at": _iso(hazard.closed_at),
        "version": hazard.version,
    }


class Outbox:
    """Queues the deliveries of one transaction. The active hooks are read once, on first
    use; with no hook registered nothing else is ever queried."""

    def __init__(self, session: Session):
        self.session = session
        self._hooks: list[tuple[Webhook, str]] | None = None
        self.queued = 0

    @property
    def hooks(self) -> list[tuple[Webhook, str]]:
        if self._hooks is None:
            self._hooks = list(
                self.session.execute(
                    select(Webhook, Area.path)
                    .join(Area, Webhook.area_id == Area.id)
                    .where(Webhook.active.is_(True))
                    .order_by(Webhook.id)
                ).all()
            )
        return self._hooks

    def listeners(self, event_type: str, path: str) -> list[Webhook]:
        """The active hooks that want ``event_type`` for a building with area ``path``."""
        return [
            hook
            for hook, area_path in self.hooks
            if event_type in (hook.events or ()) and path.startswith(area_path)
        ]

    def wants(self, event_type: str) -> bool:
        return any(event_type in (hook.events or ()) for hook, _path in self.hooks)

    def emit(
        self, event_type: str, path: str, data: dict[str, Any], occurred_at: datetime
    ) -> str | None:
        """Queue ``event_type`` for every hook that wants it here; the event id, or None."""
        hooks = self.listeners(event_type, path)
        if not hooks:
            return None
        event_id, body = event_body(event_type, data, occurred_at)
        for hook in hooks:
            self.session.add(
                WebhookDelivery(
                    webhook_id=hook.id,
                    event_id=event_id,
                    event_type=event_type,
                    body=body,
                    status="pending",
                    attempts=0,
                    next_attempt_at=occurred_at,
                )
            )
            self.queued += 1
        return event_id

    def hazard_event(self, ev: HazardEvent, building: Building, path: str) -> None:
        if ev.action in ("created", "fixed_on_spot"):
            kind = "hazard.created"
        elif ev.to_status == "closed" and ev.from_status != "closed":
            kind = "hazard.closed"
        else:
            kind = "hazard.changed"
        if not self.listeners(kind, path):
            return
        self.emit(
            kind,
            path,
            {
                "building": building_data(building, path),
                "hazard": hazard_data(ev.hazard),
                "event": {
                    "id": ev.id,
                    "action": ev.action,
                    "from_status": ev.from_status,
                    "to_status": ev.to_status,
                    "actor_role": ev.actor_role,
                    "note": ev.note,
                    "at": _iso(ev.at),
                },
            },
            ev.at or utcnow(),
        )

    def hazard_overdue(self, hazard: Hazard, building: Building, path: str, *, days: int):
        if self.listeners("hazard.overdue", path):
            self.emit(
                "hazard.overdue",
                path,
                {
                    "building": building_data(building, path),
                    "hazard": hazard_data(hazard),
                    "days_overdue": days,
                },
                utcnow(),
            )

    def inspection(self, inspection: Inspection, building: Building, path: str) -> None:
        if not self.listeners("inspection.submitted", path):
            return
        findings = inspection.findings
        self.emit(
            "inspection.submitted",
            path,
            {
                "building": building_data(building, path),
                "inspection": {
                    "id": inspection.id,
                    "kind": inspection.kind,
                    "checklist_id": inspection.checklist_id,
                    "campaign_id": inspection.campaign_id,
                    "submitted_at": _iso(inspection.submitted_at),
                    "findings": len(findings),
                    "failed": sum(1 for f in findings if f.result == "fail"),
                },
            },
            inspection.submitted_at or utcnow(),
        )

    def report(self, report: Report, building: Building, path: str) -> None:
        # The resident's contact and network digest stay in the app.
        if self.listeners("report.received", path):
            self.emit(
                "report.received",
                path,
                {
                    "building": building_data(building, path),
                    "report": {
                        "id": report.id,
                        "description": report.description,
                        "status": report.status,
                        "created_at": _iso(report.created_at),
                    },
                },
                report.created_at or utcnow(),
            )

    def colour_changes(self, building_ids: list[int], *, today: date | None = None) -> int:
        """Announce the buildings among ``building_ids`` whose code colour is no longer the one
        last announced. Costs nothing unless a hook wants colour changes."""
        if not building_ids or not self.wants("building.colour_changed"):
            return 0
        rows = self.session.execute(
            select(Building, Area.path)
            .join(Area, Building.area_id == Area.id)
            .where(Building.id.in_(building_ids), Building.retired_at.is_(None))
        ).all()
        return _announce(self.session, self, list(rows), today=today)


def _announce(session: Session, outbox: Outbox, rows: list, *, today, seed=False) -> int:
    """Compare the computed colour of each ``(building, path)`` with the last announced one;
    announce and record changes (``seed``: record silently what was never recorded)."""
    from ..campaigns import validity_days
    from ..codes import building_codes, local_today

    rows = [(b, p) for b, p in rows if outbox.listeners("building.colour_changed", p)]
    if not rows:
        return 0
    today = today or local_today()
    codes = building_codes(
        session, [b for b, _p in rows], today=today, validity_days=validity_days(session, today)
    )
    known = {
        a.building_id: a
        for a in session.scalars(
            select(AnnouncedColour).where(AnnouncedColour.building_id.in_([b.id for b, _ in rows]))
        )
    }
    now = utcnow()
    changed = 0
    for building, path in rows:
        status = codes[building.id]
        before = known.get(building.id)
        if before is not None and before.colour == status.colour:
            continue
        previous = before.colour if before is not None else None
        if before is None:
            session.add(
                AnnouncedColour(building_id=building.id, colour=status.colour, changed_at=now)
            )
        else:
            before.colour, before.changed_at = status.colour, now
        if seed and before is None:
            continue
        changed += 1
        outbox.emit(
            "building.colour_changed",
            path,
            {
                "building": building_data(building, path),
                "from": previous,
                "to": status.colour,
                "reasons": [str(r.text) for r in status.reasons],
            },
            now,
        )
    return changed


def seed_colours(session: Session, hook: Webhook, *, today: date, batch: int = 1000) -> None:
    """Record the current colour of every building in ``hook``'s area that has none recorded,
    without announcing it, so the hook hears of changes, not of every building at once."""
    _sweep(session, today=today, seed=True, area_id=hook.area_id, batch=batch)


def sweep_colours(session: Session, *, today: date, batch: int = 1000) -> int:
    """Announce colour changes that happened without an event (an inspection ageing out of
    its validity window, a deadline passing): every building some colour hook covers. Commits
    after each batch, so a long sweep holds no lock for long."""
    return _sweep(session, today=today, seed=False, area_id=None, batch=batch)


def _sweep(session: Session, *, today: date, seed: bool, area_id: int | None, batch: int) -> int:
    outbox = Outbox(session)
    if not outbox.wants("building.colour_changed"):
        return 0
    prefixes = [p for h, p in outbox.hooks if "building.colour_changed" in (h.events or ())]
    if area_id is not None:
        prefixes = [session.scalar(select(Area.path).where(Area.id == area_id))]
    from sqlalchemy import or_

    where = [Building.retired_at.is_(None), or_(*(Area.path.startswith(p) for p in prefixes))]
    last_id, total = 0, 0
    while True:
        rows = list(
            session.execute(
                select(Building, Area.path)
                .join(Area, Building.area_id == Area.id)
                .where(*where, Building.id > last_id)
                .order_by(Building.id)
                .limit(batch)
            ).all()
        )
        if not rows:
            return total
        last_id = rows[-1][0].id
        total += _announce(session, outbox, rows, today=today, seed=seed)
        if not seed:
            session.commit()
