"""Hazards of the demo ledger: each hazard in today's state with the changes that led there
(evidence, rejections, acceptance, supervision), the supervision listings (挂牌督办), and
the changes turned into events."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..hazards import default_deadline
from ..models import User
from .buildings import _BuildingPlan
from .context import _Ctx, _ItemSpec
from .settings import FORCED_STATES, _local
from .words import FUNDING

# (at, actor, role, action, new status or None for no change, note)
Change = tuple[datetime, User | None, str | None, str, str | None, str]


@dataclass(slots=True)
class _Pending:
    """A hazard of the building being generated, with its changes until they become events."""

    id: int
    value: Decimal | None
    reason: str | None
    changes: list[Change]
    row: dict[str, Any]

    def status_at(self, moment: datetime) -> str | None:
        status = None
        for at, _actor, _role, _action, to_status, _note in sorted(self.changes, key=_at):
            if at > moment:
                break
            status = to_status or status
        return status


def _at(change: Change) -> datetime:
    return change[0]


def _hazard(
    ctx: _Ctx,
    plan: _BuildingPlan,
    spec: _ItemSpec,
    finding: dict[str, Any],
    at: datetime,
    user: User,
    severity: str,
    description: str,
    forced: str | None,
) -> _Pending:
    """Append a hazard in today's state; its changes become events once the building is done."""
    rng = ctx.rng
    hazard_id = ctx.next_id("hazard")
    created_day = at.astimezone(ctx.tz).date()
    age_days = (ctx.horizon - at).total_seconds() / 86400
    status, supervised = _pick_status(rng, plan, spec, severity, age_days, forced)
    deadline = default_deadline(spec.orm, severity, today=created_day, campaign=ctx.campaign)
    if forced == "overdue" and deadline >= ctx.today:
        deadline = ctx.today - timedelta(days=12)
    elif forced in ("open", "submitted") and deadline < ctx.today:
        deadline = ctx.today + timedelta(days=10)
    if supervised and not (severity == "major" or spec.direct) and deadline >= ctx.today:
        supervised = False  # only overdue general hazards are escalated

    unit = plan.row["management_unit"]
    if unit is None:
        responsible = f"{plan.street_name}{'人民政府' if plan.is_town else '办事处'}"
        funding = rng.choice(FUNDING["unmanaged"])
    else:
        responsible = unit
        funding = rng.choice(FUNDING["public" if plan.row["use"] == "public" else "managed"])
    changes, closed_at, supervised_at = _timeline(
        ctx, plan, at, user, status, supervised, severity == "major" or spec.direct
    )
    fixed = status == "fixed_on_spot"
    ctx.hazards.append(
        {
            "id": hazard_id,
            "building_id": plan.row["id"],
            "finding_id": finding["id"],
            "item_id": spec.id,
            "category": spec.category,
            "severity": severity,
            "gb35181_direct": spec.direct,
            "description": description,
            # Fixed on the spot means no plan line, as when recorded through the form.
            "responsible_party": None if fixed else responsible,
            "measures": None if fixed else spec.measures,
            "deadline": None if fixed else deadline,
            "funding": None if fixed else funding,
            "status": status,
            "supervised_at": supervised_at,
            "supervision_id": None,
            "created_at": at,
            "closed_at": closed_at,
            "created_by_id": user.id,
            "version": 1,
        }
    )
    ctx.counts["hazards"] += 1
    overdue = status == "open" and deadline < ctx.today
    ctx.counts["state:overdue" if overdue else f"state:{status}"] += 1
    if supervised_at is not None:
        ctx.counts["state:supervised"] += 1
    return _Pending(hazard_id, finding["value"], finding["reason"], changes, ctx.hazards[-1])


def _pick_status(
    rng: random.Random,
    plan: _BuildingPlan,
    spec: _ItemSpec,
    severity: str,
    age_days: float,
    forced: str | None,
) -> tuple[str, bool]:
    """The hazard's status today and whether it is listed for supervision (挂牌督办).

    Older hazards are more often closed; fixable ones are mostly fixed on the spot; open
    major ones are often supervised. Showcase buildings keep to their colour.
    """
    if forced is not None:
        return FORCED_STATES[forced]
    if spec.fix_on_spot and rng.random() < 0.7:
        return "fixed_on_spot", False
    serious = severity == "major" or spec.direct
    if plan.profile == "green" or (plan.profile == "yellow" and serious):
        return "closed", False
    if age_days < 1.5:
        status = "open"
    else:
        r = rng.random()
        p_closed = min(0.8, 0.1 + age_days / 100)
        status = "closed" if r < p_closed else "submitted" if r < p_closed + 0.12 else "open"
    if plan.profile == "yellow":
        if status != "closed" and plan.unclosed_left > 0:
            plan.unclosed_left -= 1
            return status, False
        return "closed", False
    supervised = status != "closed" and age_days > 4 and rng.random() < (0.4 if serious else 0.1)
    return status, supervised


def _timeline(
    ctx: _Ctx,
    plan: _BuildingPlan,
    at: datetime,
    user: User,
    status: str,
    supervised: bool,
    serious: bool,
) -> tuple[list[Change], datetime | None, datetime | None]:
    """The changes from recording to today's status: (changes, closed_at, supervised_at).

    Everything happens before the start of ``today``. Evidence comes from the manager's
    account for the manager's buildings, from the street office for buildings without a
    management unit, otherwise from the responsible party (no account in the demo). The fire
    brigade accepts major hazards and everything outside the street office's street; the
    street office accepts most general ones in its street.
    """
    rng = ctx.rng
    users = ctx.users
    if status == "fixed_on_spot":
        return (
            [
                (
                    at,
                    user,
                    user.role,
                    "fixed_on_spot",
                    "fixed_on_spot",
                    "能当场改正，已督促立即整改并拍照留存",
                )
            ],
            at,
            None,
        )
    end = ctx.horizon - timedelta(minutes=5)
    span = max(end - at, timedelta(minutes=10))

    def moment(low: float, high: float) -> datetime:
        # A working-hours time on a day between recording and yesterday.
        day = (at + span * rng.uniform(low, high)).astimezone(ctx.tz).date()
        when = _local(day, rng.randint(8 * 60 + 30, 18 * 60 + 30), ctx.tz)
        if when <= at:
            when = at + timedelta(minutes=rng.randint(10, 90))
        return min(when, end)

    if plan.row["management_unit"] is None:
        submitter = users["street"] if plan.street_index == 0 else None
        submitter_role = "street"
    else:
        submitter = users["manager"] if plan.managed else None
        submitter_role = "manager"
    if serious or plan.street_index != 0 or rng.random() < 0.3:
        acceptor = users["fire"]
    else:
        acceptor = users["street"]

    changes: list[Change] = [(at, user, user.role, "created", "open", "列入“一楼一策”整改清单")]
    closed_at = supervised_at = None
    rejected_once = status == "open" and rng.random() < 0.15
    if status in ("submitted", "closed") or rejected_once:
        reject = rejected_once or rng.random() < 0.15
        # submit [, reject [, submit again]] [, accept]
        steps = 1 + reject + (reject and status != "open") + (status == "closed")
        times = sorted(moment(0.05, 0.95) for _ in range(steps))
        t = iter(times)
        changes.append(
            (
                next(t),
                submitter,
                submitter_role,
                "evidence_submitted",
                "submitted",
                "已整改，上传整改后照片",
            )
        )
        if reject:
            changes.append(
                (next(t), acceptor, acceptor.role, "rejected", "open", "整改不到位，退回重新整改")
            )
            if status != "open":
                changes.append(
                    (
                        next(t),
                        submitter,
                        submitter_role,
                        "evidence_submitted",
                        "submitted",
                        "已重新整改，补充整改照片",
                    )
                )
        if status == "closed":
            closed_at = next(t)
            changes.append(
                (
                    closed_at,
                    acceptor,
                    acceptor.role,
                    "accepted",
                    "closed",
                    "经现场验收，整改到位，予以销号",
                )
            )
    if supervised:
        supervised_at = moment(0.02, 0.3)
        changes.append(
            (
                supervised_at,
                users["fire"],
                "fire",
                "supervised",
                None,
                "列入挂牌督办，下发《督办通知书》，限期书面报告整改情况",
            )
        )
    return changes, closed_at, supervised_at


def _list_for_supervision(ctx: _Ctx, plan: _BuildingPlan, hazards: list[_Pending]) -> None:
    """One supervision listing (挂牌督办) with its notice per inspection whose hazards were
    escalated: the listed hazards share its date, and the notice names the building's fire
    safety manager, the plan, the deadline and when the written report is due."""
    groups: dict[datetime, list[_Pending]] = {}
    for hazard in hazards:
        if hazard.row["supervised_at"] is not None:
            groups.setdefault(hazard.row["created_at"], []).append(hazard)
    for listed in groups.values():
        when = min(h.row["supervised_at"] for h in listed)
        supervision_id = ctx.next_id("supervision")
        for hazard in listed:
            hazard.row.update(supervised_at=when, supervision_id=supervision_id)
            hazard.changes = [c if c[3] != "supervised" else (when, *c[1:]) for c in hazard.changes]
        report_by = when.astimezone(ctx.tz).date() + timedelta(days=15)
        reported = report_by < ctx.today and ctx.rng.random() < 0.7
        ctx.supervisions.append(
            {
                "id": supervision_id,
                "building_id": plan.row["id"],
                "source": "hazards",
                "issues": "；".join(h.row["description"] for h in listed),
                "plan": "；".join(dict.fromkeys(h.row["measures"] for h in listed)),
                "responsible_person": plan.row["fire_manager_name"],
                "responsible_unit": listed[0].row["responsible_party"],
                "deadline": max(h.row["deadline"] for h in listed),
                "report_by": report_by,
                "status": "active",
                "report_note": "已制定整改方案，落实整改责任人和资金，正在整改"
                if reported
                else None,
                "reported_at": _local(report_by, 10 * 60, ctx.tz) if reported else None,
                "outcome": None,
                "created_by_id": ctx.users["fire"].id,
                "created_at": when,
                "closed_by_id": None,
                "closed_at": None,
            }
        )
        ctx.counts["supervisions"] += 1


def _emit_events(ctx: _Ctx, hazard: _Pending) -> None:
    """Turn a hazard's changes into events in time order (ids follow time, as in the app)."""
    status: str | None = None
    for at, actor, role, action, to_status, note in sorted(hazard.changes, key=_at):
        ctx.events.append(
            {
                "id": ctx.next_id("hazard_event"),
                "hazard_id": hazard.id,
                "actor_id": actor.id if actor else None,
                "actor_role": role,
                "action": action,
                "from_status": status,
                "to_status": to_status or status,
                "note": note,
                "data": None,
                "at": at,
            }
        )
        status = to_status or status
    ctx.counts["events"] += len(hazard.changes)
