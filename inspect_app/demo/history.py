"""The demo history: every building's visits over the last ``HISTORY_DAYS`` (surveys,
self-checks, department spot checks at the campaign's rates), generated a building at a time
and written in batches."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from ..models import Finding, Hazard, HazardEvent, Inspection, Supervision
from .buildings import _BuildingPlan
from .bulk import _insert
from .context import _Ctx, _ItemSpec
from .findings import _answer, _applicable, _forced_failures
from .hazards import _emit_events, _list_for_supervision, _Pending
from .settings import (
    BATCH_BUILDINGS,
    HISTORY_DAYS,
    INSPECTED_SHARE,
    INSPECTOR_GRID_SHARE,
    SHOWCASE_DAYS,
    VISITOR,
    _local,
)


def _history(
    session: Session, ctx: _Ctx, plans: list[_BuildingPlan], specs: list[_ItemSpec]
) -> None:
    """Plan every building's visits, then generate and write them a batch at a time."""
    rng = ctx.rng
    surveyed: dict[int, list[tuple[_BuildingPlan, int]]] = {}  # street → (plan, days ago)
    schedule: list[list[tuple[str, int]]] = []  # per building: (kind, days before today)
    for plan in plans:
        visits: list[tuple[str, int]] = []
        if plan.profile in SHOWCASE_DAYS:
            # Counted for the sampling rate, never drawn: a showcase keeps its single visit.
            visits.append(("survey", SHOWCASE_DAYS[plan.profile]))
            surveyed.setdefault(plan.street_index, []).append((plan, 0))
        elif plan.profile is None:
            if rng.random() < (INSPECTOR_GRID_SHARE if plan.grid_index == 0 else INSPECTED_SHARE):
                days = rng.randint(1, HISTORY_DAYS)
                visits.append(("survey", days))
                surveyed.setdefault(plan.street_index, []).append((plan, days))
            if plan.managed and rng.random() < 0.7:
                visits.append(("self_check", rng.randint(1, HISTORY_DAYS)))
        schedule.append(visits)
    # Department spot checks (部门抽查) follow the street's survey: per street, at least the
    # campaign's rate (10 % public and mixed, 5 % residential) of the surveyed buildings,
    # drawn among those surveyed at least two days ago so that the check can come after.
    rates = {
        True: float(ctx.campaign.sample_rate_residential),
        False: float(ctx.campaign.sample_rate_public),
    }
    spot: dict[str, int] = {}
    for street_plans in surveyed.values():
        for residential in (False, True):
            group = [
                (p, d) for p, d in street_plans if (p.row["use"] == "residential") == residential
            ]
            eligible = [(p, d) for p, d in group if d >= 2]
            wanted = min(len(eligible), math.ceil(len(group) * rates[residential]))
            for p, d in rng.sample(eligible, wanted):
                spot[p.row["code"]] = rng.randint(1, d - 1)
    pending = 0
    for plan, visits in zip(plans, schedule, strict=True):
        if plan.row["code"] in spot:
            visits.append(("spot_check", spot[plan.row["code"]]))
        if not visits:
            continue
        ctx.counts["inspected_buildings"] += 1
        _building_history(ctx, specs, plan, visits)
        pending += 1
        if pending >= BATCH_BUILDINGS:
            _write(session, ctx)
            pending = 0
    _write(session, ctx)


def _write(session: Session, ctx: _Ctx) -> None:
    """Insert the buffered rows in foreign-key order and empty the buffers."""
    for model, rows in (
        (Inspection, ctx.inspections),
        (Finding, ctx.findings),
        (Supervision, ctx.supervisions),
        (Hazard, ctx.hazards),
        (HazardEvent, ctx.events),
    ):
        if rows:
            _insert(session, model, rows)
            rows.clear()


def _building_history(
    ctx: _Ctx, specs: list[_ItemSpec], plan: _BuildingPlan, visits: list[tuple[str, int]]
) -> None:
    """All visits of one building in time order, then the events of its hazards."""
    rng = ctx.rng
    items = _applicable(ctx, specs, plan)
    forced = _forced_failures(items, plan.profile)
    ledger: dict[int, _Pending] = {}  # item id → its latest hazard
    hazards: list[_Pending] = []
    for kind, days_ago in sorted(visits, key=lambda v: -v[1]):
        day = ctx.today - timedelta(days=days_ago)
        started = _local(day, rng.randint(8 * 60 + 30, 16 * 60), ctx.tz)
        submitted = started + timedelta(minutes=rng.randint(25, 80))
        user = ctx.users[VISITOR[kind]]
        inspection_id = ctx.next_id("inspection")
        ctx.counts[f"kind:{kind}"] += 1
        ctx.inspections.append(
            {
                "id": inspection_id,
                "client_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "content_sha256": None,
                "kind": kind,
                "building_id": plan.row["id"],
                "checklist_id": ctx.checklist_id,
                "campaign_id": ctx.campaign.id,
                "inspector_id": user.id,
                "started_at": started,
                "submitted_at": submitted,
                "latitude": Decimal(f"{plan.latitude + rng.uniform(-2e-4, 2e-4):.6f}"),
                "longitude": Decimal(f"{plan.longitude + rng.uniform(-2e-4, 2e-4):.6f}"),
                "note": None,
            }
        )
        for spec in items:
            created = _answer(ctx, plan, spec, inspection_id, submitted, user, forced, ledger)
            if created is not None:
                hazards.append(created)
                ledger[spec.id] = created
        forced = {}  # forced answers belong to the first visit only
    _list_for_supervision(ctx, plan, hazards)
    for hazard in hazards:
        _emit_events(ctx, hazard)
