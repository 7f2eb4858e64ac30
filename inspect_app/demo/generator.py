"""The demo generator's entry point: ``generate`` builds the district stage by stage and
returns a ``DemoResult``."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..models import Building, building_manager
from .buildings import (
    _assign_manager,
    _assign_profiles,
    _ensure_multi_owner,
    _force_27m,
    _plan_buildings,
)
from .bulk import _fix_sequences, _id_bases, _insert
from .context import _Ctx
from .district import _checklist, _make_areas, _make_campaign, _make_users
from .findings import _item_specs
from .history import _history
from .settings import DEFAULT_TIMEZONE, HISTORY_DAYS, _local


@dataclass
class DemoResult:
    """What ``generate`` created: usernames by role, and row counts.

    ``hazard_states`` counts the ledger by the states a user sees: ``open`` (within deadline),
    ``overdue`` (open, deadline before ``today``), ``submitted``, ``closed``, ``fixed_on_spot``,
    and ``supervised`` (listed for supervision, whatever the status).
    """

    users: dict[str, str]
    areas: int = 0
    buildings: int = 0
    high_rise: int = 0
    inspected_buildings: int = 0
    inspections: dict[str, int] = field(default_factory=dict)
    findings: int = 0
    hazards: int = 0
    hazard_states: dict[str, int] = field(default_factory=dict)
    hazard_events: int = 0
    supervisions: int = 0
    campaign_id: int | None = None
    checklist: str = ""

    def summary(self) -> str:
        """One line for the CLI."""
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.inspections.items()))
        states = ", ".join(f"{k} {v}" for k, v in self.hazard_states.items())
        return (
            f"{self.areas} areas, {self.buildings} buildings ({self.high_rise} high-rise, "
            f"{self.inspected_buildings} inspected), inspections: {kinds}; "
            f"{self.findings} findings, {self.hazards} hazards ({states}), "
            f"{self.hazard_events} hazard events, {self.supervisions} supervision listings; "
            f"checklist {self.checklist}"
        )


def generate(
    session: Session,
    *,
    buildings: int = 300,
    seed: int = 2023,
    password: str,
    today: date,
) -> DemoResult:
    """Create the demo district in ``session``; flush, never commit; print nothing.

    Assumes an empty database at schema head. Uses the current checklist, loading the shipped
    catalog when none is loaded. Creates users ``inspector``, ``manager``, ``street``, ``fire``
    and ``admin``, all with ``password``. With at least ``MIN_FULL_DEMO`` buildings the
    inspector's grid holds ≥ 10 buildings, and both that grid and the manager's buildings hold
    hazards in every state (open, overdue, submitted, closed, fixed on the spot, supervised)
    and buildings of every code colour (red, yellow, green, grey).

    :raise ValueError: ``buildings`` < 1 or an empty ``password``.
    """
    if buildings < 1:
        raise ValueError("buildings must be at least 1")
    if not password:
        raise ValueError("password must not be empty")
    tz = ZoneInfo(current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE))
    checklist = _checklist(session)
    # Independent streams per stage, so that a change in one stage does not reshuffle the rest.
    streams = {name: random.Random(f"{seed}:{name}") for name in ("areas", "buildings", "history")}
    # The registry existed before the history starts; fixed times keep rows reproducible.
    registered_at = _local(today - timedelta(days=HISTORY_DAYS + 30), 9 * 60, tz)

    areas, streets, grids = _make_areas(session, streams["areas"])
    plans = _plan_buildings(streams["buildings"], buildings, streets, grids, registered_at)
    users = _make_users(session, areas, streets, grids, password, registered_at)
    manager_plans = _assign_manager(streams["buildings"], plans, users["manager"])
    _force_27m(streams["buildings"], plans)
    _ensure_multi_owner(streams["buildings"], plans)
    _assign_profiles(manager_plans)

    base = _id_bases(session)
    for plan in plans:
        base["building"] += 1
        plan.row["id"] = base["building"]
    _insert(session, Building, [p.row for p in plans])
    session.execute(
        insert(building_manager),
        [{"building_id": p.row["id"], "user_id": users["manager"].id} for p in manager_plans],
    )

    campaign = _make_campaign(session, checklist, areas[0], today, registered_at)
    ctx = _Ctx(
        rng=streams["history"],
        tz=tz,
        today=today,
        horizon=_local(today, 0, tz),
        checklist_id=checklist.id,
        campaign=campaign,
        users=users,
        item_sets={},
        verdicts={},
        ids=base,
        counts=Counter(),
    )
    specs = _item_specs(checklist)
    _history(session, ctx, plans, specs)
    _fix_sequences(session)
    session.flush()

    states = ("open", "overdue", "submitted", "closed", "fixed_on_spot", "supervised")
    return DemoResult(
        users={role: user.username for role, user in users.items()},
        areas=len(areas),
        buildings=len(plans),
        high_rise=sum(1 for p in plans if p.building_class is not None),
        inspected_buildings=ctx.counts["inspected_buildings"],
        inspections={
            k.removeprefix("kind:"): v for k, v in ctx.counts.items() if k.startswith("kind:")
        },
        findings=ctx.counts["findings"],
        hazards=ctx.counts["hazards"],
        hazard_states={s: ctx.counts[f"state:{s}"] for s in states},
        hazard_events=ctx.counts["events"],
        supervisions=ctx.counts["supervisions"],
        campaign_id=campaign.id,
        checklist=f"{checklist.code} {checklist.version}",
    )
