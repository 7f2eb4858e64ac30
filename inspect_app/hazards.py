"""Hazards (the ledger rows) and their append-only history.

Every change of a hazard goes through ``record``: it writes a ``HazardEvent`` (who, role,
when, from → to, note) and moves the status in the same flush. Functions here flush, never
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from .models import Building, Campaign, ChecklistItem, Finding, Hazard, HazardEvent, User, utcnow

DEFAULT_DEADLINE_DAYS = {"minor": 7, "general": 30, "major": 90}


@dataclass(frozen=True)
class PlanLine:
    """What the one-building-one-plan (一楼一策) line says about a hazard."""

    responsible_party: str | None
    measures: str | None
    deadline: date | None
    funding: str | None


def default_deadline(
    item: ChecklistItem | None, severity: str, *, today: date, campaign: Campaign | None
) -> date:
    """The suggested deadline: the campaign's date for the item's group (water supply has its
    own), else ``today`` plus the days configured for the severity."""
    if campaign is not None and item is not None:
        for tag in item.tags or ():
            if tag in (campaign.category_deadlines or {}):
                return date.fromisoformat(campaign.category_deadlines[tag])
        if item.category in (campaign.category_deadlines or {}):
            return date.fromisoformat(campaign.category_deadlines[item.category])
    days = current_app.config.get("DEADLINE_DAYS", DEFAULT_DEADLINE_DAYS)[severity]
    return today + timedelta(days=days)


def default_plan(
    building: Building, item: ChecklistItem | None, severity: str, *, today: date, campaign
) -> PlanLine:
    """The plan line a form starts from: the management unit (or the street office where the
    building has none) is responsible; measures from the catalog; the default deadline."""
    return PlanLine(
        responsible_party=building.management_unit or "街道办事处（无统一管理单位）",
        measures="；".join(item.measures_zh) if item and item.measures_zh else None,
        deadline=default_deadline(item, severity, today=today, campaign=campaign),
        funding=None,
    )


def record(
    session: Session,
    hazard: Hazard,
    *,
    actor: User | None,
    action: str,
    to_status: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> HazardEvent:
    """Append an event to ``hazard``'s history and apply its status change (if any)."""
    event = HazardEvent(
        hazard=hazard,
        actor=actor,
        actor_role=actor.role if actor else None,
        action=action,
        from_status=hazard.status if hazard.id is not None else None,
        to_status=to_status or hazard.status,
        note=note,
        data=data,
    )
    if to_status is not None:
        hazard.status = to_status
        if to_status in ("closed", "fixed_on_spot"):
            hazard.closed_at = utcnow()
    session.add(event)
    return event


def create(
    session: Session,
    *,
    building: Building,
    finding: Finding | None,
    item: ChecklistItem | None,
    severity: str,
    description: str,
    plan: PlanLine | None,
    fixed_on_spot: bool,
    actor: User,
    note: str | None = None,
) -> tuple[Hazard, HazardEvent]:
    """A new hazard with its birth event: ``fixed_on_spot`` (closed at birth) or ``open`` on
    the building's plan."""
    hazard = Hazard(
        building=building,
        finding=finding,
        item=item,
        category=item.category if item else "MGMT",
        severity=severity,
        gb35181_direct=bool(item and item.gb35181_direct),
        description=description,
        created_by_id=actor.id,
        status="open",
    )
    if plan is not None and not fixed_on_spot:
        hazard.responsible_party = plan.responsible_party
        hazard.measures = plan.measures
        hazard.deadline = plan.deadline
        hazard.funding = plan.funding
    session.add(hazard)
    event = HazardEvent(
        hazard=hazard,
        actor=actor,
        actor_role=actor.role,
        action="fixed_on_spot" if fixed_on_spot else "created",
        from_status=None,
        to_status="fixed_on_spot" if fixed_on_spot else "open",
        note=note,
    )
    if fixed_on_spot:
        hazard.status = "fixed_on_spot"
        hazard.closed_at = utcnow()
    session.add(event)
    return hazard, event
