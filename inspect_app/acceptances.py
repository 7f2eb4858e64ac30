"""Building-by-building acceptance (逐栋验收) in a campaign's consolidation phase.

The check group does an ``acceptance`` inspection of a building (the ordinary inspection
form); its verdict is then recorded here. The verdict passes only when every hazard of the
building is closed (accepted and 销号, or fixed on the spot) at that moment; otherwise it
fails, keeps the unclosed hazards' ids, and the building stays *tracked* (持续跟踪督办) until a
later acceptance inspection's verdict passes. One verdict per inspection; verdicts are never
changed.

A building's standing in the round, from its latest verdict and inspections:

- ``passed``: the latest verdict passed (验收合格);
- ``tracked``: the latest verdict failed (验收不合格，跟踪督办);
- ``awaiting``: an acceptance inspection newer than the latest verdict has no verdict yet;
- ``ready``: no verdict yet, inspected in the campaign and nothing unclosed (可验收);
- ``rectifying``: no verdict yet and hazards still unclosed (整改中);
- ``uninspected``: no verdict, nothing unclosed, and not inspected in the campaign yet
  (未检查: nothing to accept before the building has been looked at).

Functions here flush, never commit; permission checks are the caller's (``auth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from .campaigns import in_area_condition, population_condition
from .models import (
    OPEN_STATUSES,
    Acceptance,
    Area,
    Building,
    Campaign,
    Hazard,
    Inspection,
    User,
)

STANDINGS = ("awaiting", "tracked", "rectifying", "ready", "uninspected", "passed")


class AcceptanceError(ValueError):
    """A verdict that cannot be recorded; the message (Chinese) says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _since(campaign: Campaign | None, tz: ZoneInfo) -> datetime | None:
    if campaign is None:
        return None
    return datetime.combine(campaign.starts_on, time(0), tzinfo=tz).astimezone(UTC)


def unclosed_hazards(session: Session, building: Building) -> list[Hazard]:
    """The building's hazards still open or awaiting acceptance, oldest first."""
    return list(
        session.scalars(
            select(Hazard)
            .where(Hazard.building_id == building.id, Hazard.status.in_(OPEN_STATUSES))
            .order_by(Hazard.id)
        )
    )


def pending_inspection(
    session: Session, building: Building, campaign: Campaign | None, *, tz: ZoneInfo
) -> Inspection | None:
    """The building's latest acceptance inspection (in the campaign, when given) without a
    verdict and newer than the latest verdict; None when there is none."""
    latest = session.scalar(
        select(func.max(Acceptance.inspection_id)).where(Acceptance.building_id == building.id)
    )
    where = [
        Inspection.building_id == building.id,
        Inspection.kind == "acceptance",
        Inspection.id.not_in(select(Acceptance.inspection_id)),
    ]
    since = _since(campaign, tz)
    if since is not None:
        where.append(Inspection.submitted_at >= since)
    if latest is not None:
        where.append(Inspection.id > latest)
    return session.scalar(
        select(Inspection).where(*where).order_by(Inspection.submitted_at.desc()).limit(1)
    )


def record(
    session: Session,
    building: Building,
    inspection: Inspection,
    *,
    actor: User,
    campaign: Campaign | None,
    note: str | None,
) -> Acceptance:
    """Record the verdict of ``inspection`` (an acceptance inspection of ``building``): passed
    only when none of the building's hazards is unclosed now.

    :raise AcceptanceError: not an acceptance inspection of this building, or it already has
        a verdict.
    """
    if inspection.building_id != building.id or inspection.kind != "acceptance":
        raise AcceptanceError("只能对本楼栋的验收检查记录验收结论")
    if session.scalar(select(Acceptance.id).where(Acceptance.inspection_id == inspection.id)):
        raise AcceptanceError("该验收检查已有结论，请进行新的验收检查后再记录")
    unclosed = unclosed_hazards(session, building)
    verdict = Acceptance(
        building_id=building.id,
        campaign_id=campaign.id if campaign is not None else None,
        inspection_id=inspection.id,
        passed=not unclosed,
        unclosed_hazard_ids=[h.id for h in unclosed],
        note=(note or "").strip() or None,
        decided_by_id=actor.id,
    )
    session.add(verdict)
    session.flush()
    return verdict


@dataclass
class Standing:
    """One building's place in the acceptance round."""

    building_id: int
    code: str
    name: str
    address: str
    unclosed: int
    failed: int
    latest_passed: bool | None
    latest_at: datetime | None
    awaiting_inspection_id: int | None
    inspected: bool = True

    @property
    def standing(self) -> str:
        if self.awaiting_inspection_id is not None:
            return "awaiting"
        if self.latest_passed is True:
            return "passed"
        if self.latest_passed is False:
            return "tracked"
        if self.unclosed:
            return "rectifying"
        return "ready" if self.inspected else "uninspected"


def _where(campaign: Campaign, node: Area, scope) -> list:
    return [
        scope,
        population_condition(campaign),
        in_area_condition(node),
        Building.retired_at.is_(None),
    ]


def _facts(session: Session, campaign: Campaign, ids_in, tz: ZoneInfo):
    """What decides the standings, for the buildings ``ids_in`` selects, in four grouped
    queries: unclosed hazards by building, the campaign's verdicts by building (oldest
    first), the latest acceptance inspection without a verdict by building, and the
    buildings inspected in the campaign. Buildings with none of the first three are
    ``ready`` when inspected, else ``uninspected``."""
    unclosed = dict(
        session.execute(
            select(Hazard.building_id, func.count(Hazard.id))
            .where(Hazard.building_id.in_(ids_in), Hazard.status.in_(OPEN_STATUSES))
            .group_by(Hazard.building_id)
        ).all()
    )
    verdicts: dict[int, list[tuple]] = {}
    for building_id, passed, inspection_id, decided_at in session.execute(
        select(
            Acceptance.building_id,
            Acceptance.passed,
            Acceptance.inspection_id,
            Acceptance.decided_at,
        )
        .where(Acceptance.building_id.in_(ids_in), Acceptance.campaign_id == campaign.id)
        .order_by(Acceptance.inspection_id)
    ):
        verdicts.setdefault(building_id, []).append((passed, inspection_id, decided_at))
    pending = dict(
        session.execute(
            select(Inspection.building_id, func.max(Inspection.id))
            .where(
                Inspection.building_id.in_(ids_in),
                Inspection.kind == "acceptance",
                Inspection.submitted_at >= _since(campaign, tz),
                Inspection.id.not_in(select(Acceptance.inspection_id)),
            )
            .group_by(Inspection.building_id)
        ).all()
    )
    inspected = set(
        session.scalars(
            select(Inspection.building_id)
            .where(
                Inspection.building_id.in_(ids_in),
                Inspection.submitted_at >= _since(campaign, tz),
            )
            .distinct()
        )
    )
    return unclosed, verdicts, pending, inspected


def _standing(building_id: int, unclosed, verdicts, pending, inspected, **labels) -> Standing:
    mine = verdicts.get(building_id, [])
    latest = mine[-1] if mine else None
    waiting = pending.get(building_id)
    if waiting is not None and latest is not None and waiting < latest[1]:
        waiting = None  # an older inspection left without a verdict: superseded
    return Standing(
        building_id=building_id,
        code=labels.get("code", ""),
        name=labels.get("name", ""),
        address=labels.get("address", ""),
        unclosed=int(unclosed.get(building_id, 0)),
        failed=sum(1 for passed, _i, _at in mine if not passed),
        latest_passed=latest[0] if latest else None,
        latest_at=latest[2] if latest else None,
        awaiting_inspection_id=waiting,
        inspected=building_id in inspected,
    )


def standings(
    session: Session, campaign: Campaign, node: Area, *, scope, tz: ZoneInfo
) -> list[Standing]:
    """Every building of the campaign's population in ``node`` and ``scope`` (a SQL condition
    on ``Building``) with its standing, in order of ``STANDINGS`` then building code. Five
    queries, whatever the number of buildings."""
    where = _where(campaign, node, scope)
    facts = _facts(session, campaign, select(Building.id).where(*where), tz)
    out = [
        _standing(building_id, *facts, code=code, name=name, address=address)
        for building_id, code, name, address in session.execute(
            select(Building.id, Building.code, Building.name, Building.address).where(*where)
        )
    ]
    out.sort(key=lambda s: (STANDINGS.index(s.standing), s.code))
    return out


def tally(items: list[Standing]) -> dict[str, int]:
    """How many buildings are in each standing."""
    counts = dict.fromkeys(STANDINGS, 0)
    for s in items:
        counts[s.standing] += 1
    return counts


def tally_for(
    session: Session, campaign: Campaign, node: Area, *, scope, tz: ZoneInfo
) -> dict[str, int]:
    """``tally(standings(…))`` without loading every building: the buildings no fact names
    are counted as ``ready``."""
    where = _where(campaign, node, scope)
    ids_in = select(Building.id).where(*where)
    unclosed, verdicts, pending, inspected = _facts(session, campaign, ids_in, tz)
    counts = dict.fromkeys(STANDINGS, 0)
    named = set(unclosed) | set(verdicts) | set(pending)
    for building_id in named:
        counts[_standing(building_id, unclosed, verdicts, pending, inspected).standing] += 1
    total = session.scalar(select(func.count()).select_from(ids_in.subquery())) or 0
    counts["ready"] += len(inspected - named)
    counts["uninspected"] += total - len(named) - len(inspected - named)
    return counts


def repeatedly_failed(session: Session, campaign: Campaign, *, times: int = 2):
    """SQL on ``Building``: the building failed acceptance at least ``times`` times in
    ``campaign`` and its latest verdict failed."""
    latest = (
        select(Acceptance.building_id, func.max(Acceptance.inspection_id).label("last"))
        .where(Acceptance.campaign_id == campaign.id)
        .group_by(Acceptance.building_id)
        .subquery()
    )
    failing_now = (
        select(Acceptance.building_id)
        .join(
            latest,
            and_(
                latest.c.building_id == Acceptance.building_id,
                latest.c.last == Acceptance.inspection_id,
            ),
        )
        .where(Acceptance.passed.is_(False))
    )
    failures = (
        select(Acceptance.building_id)
        .where(Acceptance.campaign_id == campaign.id, Acceptance.passed.is_(False))
        .group_by(Acceptance.building_id)
        .having(func.count(Acceptance.id) >= times)
    )
    return and_(Building.id.in_(failing_now), Building.id.in_(failures))
