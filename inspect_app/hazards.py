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
from .photos import link_reference

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


# ---------------------------------------------------------------------------------------------
# Transitions of a hazard on the ledger
#
# Each takes the ``version`` the actor saw: a different current version means someone else
# acted meanwhile and nothing is changed (``Stale``). Two actors who saw the same version race
# at flush instead: the loser's UPDATE matches no row (``version_id_col``) and SQLAlchemy raises
# ``StaleDataError``, which views answer the same way. Permission (role, scope) is checked by
# the caller through ``auth.may_transition``; these functions check state and input only.
# ---------------------------------------------------------------------------------------------

# action → (statuses it starts from, status it leads to or None, event action recorded)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "submit_evidence": (("open",), "submitted", "evidence_submitted"),
    "accept": (("submitted",), "closed", "accepted"),
    "reject": (("submitted",), "open", "rejected"),
    "extend_deadline": (("open", "submitted"), None, "deadline_extended"),
    "update_plan": (("open", "submitted"), None, "plan_updated"),
    "supervise": (("open", "submitted"), None, "supervised"),
}

_WRONG_STATE = {
    ("submit_evidence", "submitted"): "该隐患已提交整改材料，正在等待验收",
    ("accept", "open"): "该隐患尚未提交整改材料，不能验收销号",
    ("reject", "open"): "该隐患尚未提交整改材料，没有可以退回的内容",
}
_CLOSED = "该隐患已销号（状态：{status}），不能再执行此操作"


class TransitionError(Exception):
    """A transition that cannot happen. ``status`` is the HTTP status that fits; ``field``
    names the form field the message belongs to (None for the whole form)."""

    status = 409

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Stale(TransitionError):
    """The hazard changed since the actor loaded it (``version`` differs)."""

    def __init__(self, hazard: Hazard):
        super().__init__("该隐患已被他人更新，以下是最新状态；请核对后再提交")
        self.hazard = hazard


class InvalidTransition(TransitionError):
    """Not possible from the hazard's current status (e.g. closing a closed hazard)."""


class InvalidInput(TransitionError):
    """The input is wrong (a deadline in the past, an empty reason)."""

    status = 422


def available(hazard: Hazard, action: str) -> bool:
    """Whether ``action`` can start from the hazard's current status."""
    starts, _to, _event = TRANSITIONS[action]
    if action == "supervise" and hazard.supervised_at is not None:
        return False
    return hazard.status in starts


def _begin(hazard: Hazard, action: str, version: int | None) -> None:
    if version is None:
        raise InvalidInput("缺少版本号（version），请刷新页面后重试", "version")
    if version != hazard.version:
        raise Stale(hazard)
    starts, _to, _event = TRANSITIONS[action]
    if hazard.status not in starts:
        message = _WRONG_STATE.get((action, hazard.status))
        if message is None:
            from .labels import STATUS

            message = _CLOSED.format(status=STATUS.get(hazard.status, hazard.status))
        raise InvalidTransition(message)


def _text(value: str | None, *, required: str | None = None, field: str = "note") -> str | None:
    value = (value or "").strip() or None
    if value is None and required:
        raise InvalidInput(required, field)
    return value


def submit_evidence(
    session: Session,
    hazard: Hazard,
    *,
    actor: User,
    version: int | None,
    note: str | None,
    photos: list,
) -> HazardEvent:
    """Evidence of rectification is in: ``open`` → ``submitted`` (待验收). ``photos`` are
    ``Photo`` rows of ``actor`` (pending uploads or earlier ones); at least one is needed. They
    are linked to the hazard and to the event (a copy row when already linked elsewhere)."""
    _begin(hazard, "submit_evidence", version)
    if not photos:
        raise InvalidInput("提交整改材料需要至少一张整改后照片", "photos")
    event = record(
        session,
        hazard,
        actor=actor,
        action="evidence_submitted",
        to_status="submitted",
        note=_text(note),
    )
    session.flush()
    link_photos(session, photos, hazard=hazard, event=event, user=actor)
    return event


def link_photos(
    session: Session, photos: list, *, hazard: Hazard, event: HazardEvent, user
) -> None:
    """Attach ``photos`` to ``hazard`` and ``event``; a photo already documenting something
    else gets a new row for the same file (rows are cheap, files are shared by sha256)."""
    for photo in photos:
        link_reference(
            session, photo, uploaded_by_id=user.id, hazard_id=hazard.id, event_id=event.id
        )
    session.flush()


def accept(
    session: Session, hazard: Hazard, *, actor: User, version: int | None, note: str | None
) -> HazardEvent:
    """Acceptance (验收销号): ``submitted`` → ``closed``."""
    _begin(hazard, "accept", version)
    return record(
        session, hazard, actor=actor, action="accepted", to_status="closed", note=_text(note)
    )


def reject(
    session: Session, hazard: Hazard, *, actor: User, version: int | None, reason: str | None
) -> HazardEvent:
    """Failed acceptance: ``submitted`` → ``open`` with the reason (required)."""
    _begin(hazard, "reject", version)
    reason = _text(reason, required="请填写退回原因，整改责任方需要知道哪里不合格")
    return record(session, hazard, actor=actor, action="rejected", to_status="open", note=reason)


def extend_deadline(
    session: Session,
    hazard: Hazard,
    *,
    actor: User,
    version: int | None,
    deadline: date | None,
    reason: str | None,
    today: date,
) -> HazardEvent:
    """A later deadline, with the reason (both required). The new date must be after the
    current deadline and not before ``today`` (the district's date)."""
    _begin(hazard, "extend_deadline", version)
    if deadline is None:
        raise InvalidInput("请填写新的整改期限", "deadline")
    if hazard.deadline is not None and deadline <= hazard.deadline:
        raise InvalidInput(f"新的整改期限必须晚于原期限 {hazard.deadline.isoformat()}", "deadline")
    if deadline < today:
        raise InvalidInput("新的整改期限不能早于今天", "deadline")
    reason = _text(reason, required="请填写延期理由")
    old = hazard.deadline
    hazard.deadline = deadline
    return record(
        session,
        hazard,
        actor=actor,
        action="deadline_extended",
        note=reason,
        data={"from": old.isoformat() if old else None, "to": deadline.isoformat()},
    )


PLAN_FIELDS = ("responsible_party", "measures", "funding")


def update_plan(
    session: Session,
    hazard: Hazard,
    *,
    actor: User,
    version: int | None,
    values: dict[str, str | None],
    note: str | None,
) -> HazardEvent:
    """Change the plan line (responsible party, measures, funding); the deadline moves only
    through ``extend_deadline``. The event keeps each change as ``[old, new]``."""
    _begin(hazard, "update_plan", version)
    changes: dict[str, list[str | None]] = {}
    for name in PLAN_FIELDS:
        if name not in values:
            continue
        new = _text(values[name])
        old = getattr(hazard, name)
        if new != old:
            changes[name] = [old, new]
            setattr(hazard, name, new)
    if not changes:
        raise InvalidInput("整改安排没有变化")
    if "responsible_party" in changes and not changes["responsible_party"][1]:
        raise InvalidInput("责任方不能为空", "responsible_party")
    return record(
        session,
        hazard,
        actor=actor,
        action="plan_updated",
        note=_text(note),
        data={"changes": changes},
    )


def list_for_supervision(
    session: Session, hazard: Hazard, *, actor: User, version: int | None, supervision
) -> HazardEvent:
    """Mark ``hazard`` as listed for supervision (挂牌督办) under ``supervision``; its status is
    unchanged. Called by ``supervisions.open_supervision`` for each listed hazard."""
    _begin(hazard, "supervise", version)
    if hazard.supervised_at is not None:
        raise InvalidTransition("该隐患已挂牌督办")
    hazard.supervised_at = utcnow()
    hazard.supervision = supervision
    return record(
        session,
        hazard,
        actor=actor,
        action="supervised",
        note="列入挂牌督办，下发《督办通知书》",
        data={"supervision_id": supervision.id},
    )
