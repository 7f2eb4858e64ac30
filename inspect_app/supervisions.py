"""Supervision (挂牌督办): listing a building's hazards for supervision, and its notice.

The detachment lists one or more unclosed hazards of one building, directly or by confirming
a suspected major fire hazard. The listing carries the supervision notice (督办通知书): the
issues, the rectification plan, the responsible person (and unit), the rectification deadline
and the date a written report is due back. The written report is recorded when it arrives;
the listing is closed (销案) with its outcome once every listed hazard is closed.

Functions here flush, never commit; permission checks are the caller's (``auth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import hazards as hazard_rules
from .hazards import InvalidInput, InvalidTransition
from .models import OPEN_STATUSES, Building, Hazard, Supervision, User, utcnow

# Days the written report back is due after listing, unless the deadline comes first.
REPORT_DAYS = 15
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Notice:
    """The fields of a supervision notice (督办通知书)."""

    issues: str
    plan: str
    responsible_person: str
    responsible_unit: str | None
    deadline: date
    report_by: date


def number(supervision: Supervision) -> str:
    """The notice's number, stable for its lifetime: ``督〔2026〕0012号``."""
    year = supervision.created_at.year if supervision.created_at else date.today().year
    return f"督〔{year}〕{supervision.id:04d}号"


def suggested_notice(building: Building, listed: list[Hazard], *, today: date) -> Notice:
    """A notice to start the form from: the hazards as numbered issues, their measures as the
    plan, the building's fire-safety manager (else its management unit) as responsible."""
    issues = "\n".join(f"{n}. {h.description}" for n, h in enumerate(listed, 1))
    plan = "\n".join(f"{n}. {h.measures or '制定整改方案并落实'}" for n, h in enumerate(listed, 1))
    deadlines = [h.deadline for h in listed if h.deadline is not None and h.deadline >= today]
    deadline = max(deadlines) if deadlines else today + timedelta(days=DEFAULT_DAYS)
    return Notice(
        issues=issues,
        plan=plan + "\n整改期间落实临时防范措施，必要时停用危险部位。",
        responsible_person=building.fire_manager_name or building.management_unit or "",
        responsible_unit=building.management_unit,
        deadline=deadline,
        report_by=min(deadline, today + timedelta(days=REPORT_DAYS)),
    )


def _check_notice(notice: Notice, today: date) -> None:
    for field_name, label in (
        ("issues", "存在的问题"),
        ("plan", "整改方案"),
        ("responsible_person", "整改责任人"),
    ):
        if not (getattr(notice, field_name) or "").strip():
            raise InvalidInput(f"请填写{label}", field_name)
    if notice.deadline < today:
        raise InvalidInput("整改期限不能早于今天", "deadline")
    if notice.report_by < today:
        raise InvalidInput("书面报告日期不能早于今天", "report_by")
    if notice.report_by > notice.deadline:
        raise InvalidInput("书面报告日期不能晚于整改期限", "report_by")


def open_supervision(
    session: Session,
    building: Building,
    *,
    actor: User,
    listed: list[tuple[Hazard, int | None]],
    notice: Notice,
    today: date,
    source: str = "hazards",
) -> Supervision:
    """List ``listed`` hazards (each with the version the actor saw) of ``building`` for
    supervision under a new notice. Every hazard must be of this building, unclosed and not
    yet listed; raises ``InvalidInput``, ``InvalidTransition`` or ``hazards.Stale``."""
    if not listed:
        raise InvalidInput("请至少选择一项未销号的隐患", "hazards")
    _check_notice(notice, today)
    for hazard, _version in listed:
        if hazard.building_id != building.id:
            raise InvalidInput("只能选择本楼栋的隐患", "hazards")
    supervision = Supervision(
        building_id=building.id,
        source=source,
        issues=notice.issues.strip(),
        plan=notice.plan.strip(),
        responsible_person=notice.responsible_person.strip(),
        responsible_unit=(notice.responsible_unit or "").strip() or None,
        deadline=notice.deadline,
        report_by=notice.report_by,
        status="active",
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    session.add(supervision)
    session.flush()
    for hazard, version in listed:
        hazard_rules.list_for_supervision(
            session, hazard, actor=actor, version=version, supervision=supervision
        )
    session.flush()
    return supervision


def listable(session: Session, building: Building) -> list[Hazard]:
    """The building's hazards that can still be listed: unclosed and not yet supervised."""
    return list(
        session.scalars(
            select(Hazard)
            .where(
                Hazard.building_id == building.id,
                Hazard.status.in_(OPEN_STATUSES),
                Hazard.supervised_at.is_(None),
            )
            .order_by(Hazard.severity.desc(), Hazard.deadline, Hazard.id)
        )
    )


def record_report(
    session: Session, supervision: Supervision, *, actor: User, note: str | None
) -> None:
    """The written report back (书面报告) has arrived; its content is noted."""
    if supervision.status != "active":
        raise InvalidTransition("该督办已销案")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("请填写书面报告的主要内容", "note")
    supervision.report_note = note
    supervision.reported_at = utcnow()
    session.flush()


def close_supervision(
    session: Session, supervision: Supervision, *, actor: User, outcome: str | None
) -> None:
    """Close the listing (销案) with its outcome; every listed hazard must be closed."""
    if supervision.status != "active":
        raise InvalidTransition("该督办已销案")
    outcome = (outcome or "").strip()
    if not outcome:
        raise InvalidInput("请填写督办结果", "outcome")
    still_open = [h for h in supervision.hazards if h.status in OPEN_STATUSES]
    if still_open:
        raise InvalidTransition(f"还有 {len(still_open)} 项督办隐患未销号，全部验收销号后才能销案")
    supervision.status = "closed"
    supervision.outcome = outcome
    supervision.closed_at = utcnow()
    supervision.closed_by_id = actor.id
    session.flush()
