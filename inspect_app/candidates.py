"""Supervision candidates (挂牌督办候选): buildings with hazards that meet the criteria for
listing, and listing them in one action.

A hazard of the campaign's population is a candidate when it is unclosed, not yet listed, and:

- ``major``: major, or a GB 35181 direct element (重大火灾隐患);
- ``overdue``: open and more than N days past its deadline (N chosen by the user; default
  ``OVERDUE_DAYS``);
- ``rebound``: found again within the rebound window after the same item of the same building
  was closed (反弹; the ledger's definition, ``ledger.rebound_condition``);
- ``rejected``: its evidence was rejected at acceptance at least twice (验收两次以上不合格);
- ``failed_acceptance``: its building failed the building acceptance (逐栋验收) at least twice
  in the campaign and the latest verdict failed.

Listing goes through ``supervisions.open_supervision`` with the notice it suggests
(``supervisions.suggested_notice``), one supervision per building.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from . import supervisions
from .acceptances import repeatedly_failed
from .campaigns import in_area_condition, population_condition
from .hazards import InvalidInput
from .ledger import rebound_condition
from .models import OPEN_STATUSES, Area, Building, Campaign, Hazard, HazardEvent, User

OVERDUE_DAYS = 30
REJECTIONS = 2
REASONS = ("major", "overdue", "rebound", "rejected", "failed_acceptance")


@dataclass
class Candidate:
    """A hazard that meets at least one criterion."""

    hazard: Hazard
    reasons: list[str]
    days_overdue: int


@dataclass
class BuildingCandidates:
    building: Building
    hazards: list[Candidate] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        seen = {r for c in self.hazards for r in c.reasons}
        return [r for r in REASONS if r in seen]


def find(
    session: Session,
    campaign: Campaign,
    node: Area,
    *,
    scope,
    today: date,
    overdue_days: int = OVERDUE_DAYS,
    rebound_days: int,
) -> list[BuildingCandidates]:
    """The candidates in ``node`` and ``scope`` (a SQL condition on ``Building``), grouped by
    building (most reasons first, then building code); hazards by deadline."""
    dialect = session.get_bind().dialect.name
    rejections = (
        select(func.count(HazardEvent.id))
        .where(HazardEvent.hazard_id == Hazard.id, HazardEvent.action == "rejected")
        .correlate(Hazard)
        .scalar_subquery()
    )
    is_major = or_(Hazard.severity == "major", Hazard.gb35181_direct.is_(True))
    is_overdue = and_(
        Hazard.status == "open", Hazard.deadline < today - timedelta(days=overdue_days)
    )
    is_rebound = rebound_condition(Hazard, days=rebound_days, dialect=dialect)
    is_rejected = rejections >= REJECTIONS
    is_failed = repeatedly_failed(session, campaign)
    flags = [
        case((is_major, True), else_=False).label("major"),
        case((is_overdue, True), else_=False).label("overdue"),
        case((is_rebound, True), else_=False).label("rebound"),
        case((is_rejected, True), else_=False).label("rejected"),
        case((is_failed, True), else_=False).label("failed_acceptance"),
    ]
    rows = session.execute(
        select(Hazard, *flags)
        .join(Building, Hazard.building_id == Building.id)
        .where(
            scope,
            population_condition(campaign),
            in_area_condition(node),
            Building.retired_at.is_(None),
            Hazard.status.in_(OPEN_STATUSES),
            Hazard.supervised_at.is_(None),
            or_(is_major, is_overdue, is_rebound, is_rejected, is_failed),
        )
        .order_by(Building.code, Hazard.deadline, Hazard.id)
    ).all()
    grouped: OrderedDict[int, BuildingCandidates] = OrderedDict()
    for row in rows:
        hazard = row[0]
        reasons = [r for r in REASONS if getattr(row, r)]
        late = (today - hazard.deadline).days if hazard.deadline and hazard.deadline < today else 0
        entry = grouped.setdefault(hazard.building_id, BuildingCandidates(hazard.building))
        entry.hazards.append(Candidate(hazard, reasons, late))
    out = list(grouped.values())
    out.sort(key=lambda b: (-len(b.reasons), b.building.code))
    return out


def list_for_supervision(
    session: Session,
    chosen: dict[int, list[tuple[Hazard, int]]],
    *,
    actor: User,
    today: date,
) -> list:
    """List each building's chosen hazards (with the versions the actor saw) for supervision
    under the suggested notice; one supervision per building. Raises what
    ``supervisions.open_supervision`` raises (``InvalidInput``, ``InvalidTransition``,
    ``hazards.Stale``); the caller rolls back, so it is all or nothing."""
    out = []
    for _building_id, listed in chosen.items():
        hazards = [h for h, _v in listed]
        building = hazards[0].building
        notice = supervisions.suggested_notice(building, hazards, today=today)
        if not notice.responsible_person.strip():
            # No fire-safety manager or management unit on record: the plan line's
            # responsible party answers for the rectification.
            fallback = next((h.responsible_party for h in hazards if h.responsible_party), "")
            notice = supervisions.Notice(
                issues=notice.issues,
                plan=notice.plan,
                responsible_person=fallback,
                responsible_unit=notice.responsible_unit,
                deadline=notice.deadline,
                report_by=notice.report_by,
            )
        if not notice.responsible_person.strip():
            raise InvalidInput(
                f"{building.name}没有登记消防安全管理人、管理单位或整改责任方，"
                "请在该楼的“一楼一策”页面填写督办通知书"
            )
        out.append(
            supervisions.open_supervision(
                session, building, actor=actor, listed=listed, notice=notice, today=today
            )
        )
    return out
