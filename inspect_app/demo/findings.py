"""Findings of the demo inspections: the items asked of a building, the answer to each (with
readings for numeric items judged by the item's threshold rules), and the forced failures of
the showcase buildings."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..checklists import applies
from ..models import Checklist, User
from ..thresholds import evaluate
from .buildings import _BuildingPlan
from .context import _Ctx, _ItemSpec
from .hazards import _hazard, _Pending
from .settings import (
    DEFAULT_FAIL_RATE,
    DEFAULT_READING,
    FAIL_RATE,
    NA_RATE,
    READINGS,
    SHOWCASE_DAYS,
    UNIT_READINGS,
)
from .words import GENERIC_MEASURES, LOCATIONS


def _item_specs(checklist: Checklist) -> list[_ItemSpec]:
    return [
        _ItemSpec(
            id=item.id,
            code=item.code,
            category=item.category,
            numeric=item.answer_type == "numeric",
            unit=item.unit or "",
            rules=list(item.rules or []),
            severity=item.default_severity,
            fix_on_spot=bool(item.fix_on_spot),
            direct=item.gb35181_direct,
            text_zh=item.text_zh,
            measures="；".join(item.measures_zh or []) or GENERIC_MEASURES,
            fail_rate=FAIL_RATE.get(item.category, DEFAULT_FAIL_RATE),
            reading=READINGS.get(item.code) or UNIT_READINGS.get(item.unit or "", DEFAULT_READING),
            orm=item,
        )
        for item in checklist.items
    ]


def _applicable(ctx: _Ctx, specs: list[_ItemSpec], plan: _BuildingPlan) -> list[_ItemSpec]:
    """The items asked for a building; they depend only on its class and flags, so cached."""
    key = (plan.building_class, plan.flags)
    found = ctx.item_sets.get(key)
    if found is None:
        found = [s for s in specs if applies(s.orm.applies_to, plan.building_class, plan.flags)]
        ctx.item_sets[key] = found
    return found


def _forced_failures(items: list[_ItemSpec], profile: str | None) -> dict[int, str]:
    """For a showcase building: which items fail and the state each hazard must end in."""
    if profile not in SHOWCASE_DAYS:
        return {}
    plain = [s for s in items if not s.numeric and not s.direct]
    major = [s for s in plain if s.severity == "major" and not s.fix_on_spot]
    general = [s for s in plain if s.severity == "general" and not s.fix_on_spot]
    general = general or [s for s in plain if not s.fix_on_spot] or plain
    fixable = [s for s in plain if s.fix_on_spot] or general
    wanted = {
        "red": ((major or general, "supervised"), (general, "overdue")),
        "yellow": ((general, "open"), (general, "submitted")),
        "green": ((fixable, "fixed_on_spot"), (general, "closed")),
    }[profile]
    chosen: dict[int, str] = {}
    for pool, state in wanted:
        spec = next((s for s in pool if s.id not in chosen), None)
        if spec is not None:
            chosen[spec.id] = state
    return chosen


def _answer(
    ctx: _Ctx,
    plan: _BuildingPlan,
    spec: _ItemSpec,
    inspection_id: int,
    at: datetime,
    user: User,
    forced: dict[int, str],
    ledger: dict[int, _Pending],
) -> _Pending | None:
    """One finding for one item; returns the new hazard when the item newly fails."""
    rng = ctx.rng
    ctx.counts["findings"] += 1
    row: dict[str, Any] = {
        "id": ctx.next_id("finding"),
        "inspection_id": inspection_id,
        "item_id": spec.id,
        "result": "pass",
        "value": None,
        "reason": None,
        "note": None,
    }
    ctx.findings.append(row)
    known = ledger.get(spec.id)
    if known is not None and known.status_at(at) == "open":
        # Still open on the ledger: a later visit sees the same problem, records it as still
        # present on the existing hazard and opens no new one.
        row.update(
            result="fail", value=known.value, reason=known.reason, note="隐患仍存在，已在整改清单中"
        )
        known.changes.append((at, user, user.role, "confirmed_present", None, "复查：隐患仍存在"))
        return None
    forced_state = forced.get(spec.id)
    fail = forced_state is not None or rng.random() < spec.fail_rate * plan.condition
    severity = spec.severity
    reason = None
    if spec.numeric:
        value = _reading(rng, spec.reading[1] if fail else spec.reading[0])
        result, rule_severity, reason = _verdict(ctx, spec, plan, value)
        row.update(value=value, reason=reason)
        if result != "fail":
            return None
        severity = rule_severity or severity
    elif not fail:
        if rng.random() < NA_RATE:
            row.update(result="na", reason="现场不具备检查条件，下次补查")
        return None
    location = _location(rng, spec.code, plan.row["storeys"])
    row.update(result="fail", note=location)
    if reason:
        description = f"{reason}（{location}）" if location else reason
    else:
        description = (
            f"{location}：不符合“{spec.text_zh}”" if location else f"不符合“{spec.text_zh}”"
        )
    return _hazard(ctx, plan, spec, row, at, user, severity, description, forced_state)


def _reading(rng: random.Random, alternatives: Sequence[tuple[float, float, int]]) -> Decimal:
    low, high, decimals = rng.choice(alternatives)
    if decimals == 0:
        return Decimal(rng.randint(int(low), int(high)))
    return Decimal(f"{rng.uniform(low, high):.{decimals}f}")


def _location(rng: random.Random, code: str, storeys: int) -> str | None:
    """Where in the building a problem was seen; None for paperwork and training items."""
    templates = LOCATIONS.get(code)
    if not templates:
        return None
    return rng.choice(templates).format(
        u=rng.randint(1, 3), f=rng.randint(1, max(1, storeys)), d=rng.choice("东南西北")
    )


def _verdict(
    ctx: _Ctx, spec: _ItemSpec, plan: _BuildingPlan, value: Decimal
) -> tuple[str, str | None, str]:
    """(finding result, severity, reason) of a reading under the item's threshold rules.

    As on the inspection form, ``warn`` is recorded as a pass with its reason: it is not a
    hazard. Cached, because readings repeat and ``evaluate`` validates the rules every time.
    """
    key = (spec.id, plan.building_class, plan.flags, value)
    cached = ctx.verdicts.get(key)
    if cached is None:
        verdict = evaluate(
            spec.rules,
            value,
            building_class=plan.building_class,
            flags=plan.flags,
            unit=spec.unit,
        )
        result = "fail" if verdict.result == "fail" else "pass"
        cached = (result, verdict.severity if result == "fail" else None, verdict.reason_zh)
        ctx.verdicts[key] = cached
    return cached
