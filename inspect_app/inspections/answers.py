"""Checking answers against the checklist and the building: readings judged by the class rules,
plan lines, follow-ups of open hazards. Errors are collected by form field name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ..models import (
    ChecklistItem,
    Hazard,
)
from ..thresholds import evaluate

# Plausible ranges per unit; outside them a reading is a typo, not a measurement.
UNIT_RANGES = {
    "MPa": (Decimal("0"), Decimal("5")),
    "m": (Decimal("0"), Decimal("1000")),
    "%": (Decimal("0"), Decimal("100")),
}


DEFAULT_RANGE = (Decimal("0"), Decimal("100000"))


@dataclass
class Errors:
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


@dataclass
class Answer:
    item: ChecklistItem
    entry: dict[str, Any]
    result: str
    value: Decimal | None
    reason: str | None
    severity: str | None


def check_findings(entries, items, building, today, errors) -> list[tuple[int, Answer]]:
    seen: set[str] = set()
    answers = []
    for i, entry in enumerate(entries):
        name = f"findings-{i}"
        item = items.get(entry.get("item") or "")
        if item is None:
            errors.add(f"{name}-item", "检查项不在本楼适用的检查清单中")
            continue
        if item.code in seen:
            errors.add(f"{name}-item", "同一检查项提交了两次")
            continue
        seen.add(item.code)
        answer = _judge(item, entry, building, name, errors)
        if answer is None:
            continue
        if answer.result == "fail":
            _check_disposition(item, entry, name, today, errors)
        answers.append((i, answer))
    for code in items.keys() - seen:
        errors.add("findings", f"检查项 {code}（{items[code].text_zh}）未作答")
    return answers


def _judge(item, entry, building, name, errors) -> Answer | None:
    result = entry.get("result") or None
    value = entry.get("value")
    if result not in (None, "pass", "fail", "na"):
        errors.add(f"{name}-result", "请选择 合格、隐患 或 不适用")
        return None
    if item.answer_type == "numeric" and result != "na":
        if value is None:
            errors.add(f"{name}-value", f"请填写读数（{item.unit}），或选择不适用")
            return None
        low, high = UNIT_RANGES.get(item.unit or "", DEFAULT_RANGE)
        if not low <= value <= high:
            errors.add(f"{name}-value", f"读数 {value} {item.unit} 不合理，应在 {low}–{high} 之间")
            return None
        verdict = evaluate(
            item.rules,
            value,
            building_class=building.building_class,
            flags=building.flags,
            unit=item.unit or "",
        )
        # A warning is recorded with its reason but is not a hazard.
        judged = "fail" if verdict.result == "fail" else "pass"
        return Answer(item, entry, judged, value, verdict.reason_zh, verdict.severity)
    if result is None:
        errors.add(f"{name}-result", "请选择 合格、隐患 或 不适用")
        return None
    return Answer(item, entry, result, None, None, item.default_severity)


def _check_disposition(item, entry, name, today, errors) -> None:
    # Only what can be fixed on the spot needs a choice; everything else goes on the plan.
    if not entry.get("disposition") and not item.fix_on_spot:
        entry["disposition"] = "plan"
    disposition = entry.get("disposition")
    if disposition not in ("plan", "fixed"):
        errors.add(f"{name}-disposition", "请选择：当场整改，或列入整改清单")
    elif disposition == "fixed" and not item.fix_on_spot:
        errors.add(f"{name}-disposition", "该项不能当场整改，请列入整改清单")
    elif disposition == "plan":
        deadline = entry.get("deadline")
        if deadline is not None and deadline < today:
            errors.add(f"{name}-deadline", "整改期限不能早于今天")


def check_followups(session, entries, building, errors):
    _lock_hazards(session, entries)
    out = []
    for i, entry in enumerate(entries):
        name = f"followups-{i}"
        try:
            hazard_id = int(entry.get("hazard") or "")
        except ValueError:
            hazard_id = 0
        hazard = session.get(Hazard, hazard_id) if hazard_id else None
        if hazard is None or hazard.building_id != building.id or hazard.status != "open":
            errors.add(f"{name}-hazard", "该隐患不是本楼待整改的隐患")
            continue
        outcome = entry.get("outcome") or None
        if outcome is None:
            continue  # not re-checked this time
        if outcome not in ("present", "fixed"):
            errors.add(f"{name}-outcome", "请选择 仍存在 或 已整改")
            continue
        out.append((i, hazard, entry))
    return out


def _lock_hazards(session, entries) -> None:
    """Lock the re-checked hazards' rows until the commit, in id order (no deadlock), and load
    them as committed now. Two re-inspections of one hazard then run one after the other and
    the second sees what the first did, exactly as if they had been sent minutes apart;
    without the lock both pass the status check and the second dies in the version check."""
    ids = set()
    for entry in entries:
        try:
            ids.add(int(entry.get("hazard") or ""))
        except ValueError:
            continue
    if ids:
        session.scalars(
            select(Hazard)
            .where(Hazard.id.in_(sorted(ids)))
            .order_by(Hazard.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
