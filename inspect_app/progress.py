"""A campaign's progress (the dashboard): where the campaign stands against its current
phase, per area with a ranking, week by week, and what the spot checks found.

Every figure is about the campaign's population (high-rises in service in its area,
``campaigns.population_condition``) within the chosen area and the caller's scope, over the
campaign's dates. The ledger (``ledger.rollup``) computes them, grouped one level below the
area (streets under a district):

- ``buildings``: high-rises; ``surveyed``: those with a street survey (街镇排查, inspection kind
  ``survey``) in the campaign — a second rollup whose scope is limited to surveyed
  buildings gives it, so there is one aggregation, the ledger's; ``survey_coverage`` =
  surveyed / buildings; ``inspected`` and ``coverage`` are the ledger's (any inspection).
- hazard figures as the ledger defines them: hazards found in the campaign, by where they
  stand today (found, fixed on the spot, open, overdue, awaiting acceptance, closed,
  supervised, rebound; rectification rate = (closed + fixed on the spot) / found).

The weekly trend (Monday to Sunday in the district's time zone, clipped to the campaign) counts
hazards found and hazards rectified (closed or fixed on the spot, by the day they were
closed) each week, and the share of high-rises surveyed by each week's end: one grouped
query per series, each row numbered with its week by an ordered ``CASE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from . import acceptances, ledger, sampling
from .campaigns import Phase, current_phase, in_area_condition, phases, population_condition
from .models import Area, Building, Campaign, Hazard, Inspection

RANKINGS = ("survey_coverage", "rectification_rate", "overdue")
# The figure that measures each kind of phase, and so ranks areas by default in it.
PHASE_METRIC = {
    "survey": "survey_coverage",
    "rectify": "rectification_rate",
    "consolidate": "acceptance_rate",
}


@dataclass
class Figures:
    """The dashboard's figures for one area (see the module docstring)."""

    counts: ledger.Counts
    surveyed: int = 0

    @property
    def survey_coverage(self) -> float | None:
        b = self.counts.buildings
        return self.surveyed / b if b else None

    def get(self, name: str):
        if name == "survey_coverage":
            return self.survey_coverage
        if name == "surveyed":
            return self.surveyed
        return getattr(self.counts, name)

    def as_dict(self) -> dict:
        out = self.counts.as_dict()
        out["surveyed"] = self.surveyed
        out["survey_coverage"] = _round(self.survey_coverage)
        out["rectified"] = self.counts.rectified
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class AreaRow:
    key: int | None
    code: str
    name: str
    figures: Figures
    rank: int | None = None

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "rank": self.rank, **self.figures.as_dict()}


@dataclass
class Week:
    starts_on: date
    ends_on: date
    found: int = 0
    rectified: int = 0
    surveyed: int = 0  # cumulative: high-rises surveyed by the week's end

    def as_dict(self, buildings: int) -> dict:
        return {
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "found": self.found,
            "rectified": self.rectified,
            "surveyed": self.surveyed,
            "survey_coverage": _round(self.surveyed / buildings) if buildings else None,
        }


@dataclass
class PhaseProgress:
    """The current phase, the share of its time gone, and its measure (None in phases that
    have none, such as mobilisation)."""

    phase: Phase
    elapsed: float
    days_left: int
    metric: str | None
    value: float | None

    @property
    def on_track(self) -> bool | None:
        if self.metric is None or self.value is None:
            return None
        return self.value >= self.elapsed

    def as_dict(self) -> dict:
        return {
            **self.phase.as_dict(),
            "elapsed": _round(self.elapsed),
            "days_left": self.days_left,
            "metric": self.metric,
            "value": _round(self.value),
            "on_track": self.on_track,
        }


@dataclass
class Progress:
    campaign: Campaign
    node: Area
    level: str
    today: date
    total: Figures
    rows: list[AreaRow]
    rank_by: str
    phases: list[Phase]
    current: PhaseProgress | None
    weeks: list[Week]
    spot_checks: list[sampling.StreetSpotChecks]
    acceptance: dict[str, int] = field(default_factory=dict)

    @property
    def acceptance_rate(self) -> float | None:
        b = self.total.counts.buildings
        return self.acceptance.get("passed", 0) / b if b else None

    def as_dict(self) -> dict:
        return {
            "campaign": {
                "id": self.campaign.id,
                "name": self.campaign.name,
                "area_code": self.campaign.area.code,
                "starts_on": self.campaign.starts_on.isoformat(),
                "ends_on": self.campaign.ends_on.isoformat(),
            },
            "area": {"code": self.node.code, "name": self.node.name, "level": self.node.level},
            "today": self.today.isoformat(),
            "phases": [p.as_dict() for p in self.phases],
            "current_phase": self.current.as_dict() if self.current else None,
            "totals": self.total.as_dict(),
            "level": self.level,
            "rank_by": self.rank_by,
            "rows": [r.as_dict() for r in self.rows],
            "weeks": [w.as_dict(self.total.counts.buildings) for w in self.weeks],
            "spot_checks": [s.as_dict() for s in self.spot_checks],
            "acceptance": {**self.acceptance, "rate": _round(self.acceptance_rate)},
        }


def _utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def surveyed_between(start: date | None, end: date, tz: ZoneInfo):
    """SQL on ``Building``: it had a street survey (inspection kind ``survey``) between the
    district dates ``start`` (None: ever) and ``end``, both inclusive."""
    where = [
        Inspection.kind == "survey",
        Inspection.submitted_at < _utc(end + timedelta(days=1), tz),
    ]
    if start is not None:
        where.append(Inspection.submitted_at >= _utc(start, tz))
    return Building.id.in_(select(Inspection.building_id).where(*where))


def surveyed_condition(campaign: Campaign, tz: ZoneInfo):
    """SQL on ``Building``: it had a street survey in the campaign's dates."""
    return surveyed_between(campaign.starts_on, campaign.ends_on, tz)


def default_ranking(campaign: Campaign, today: date) -> str:
    phase = current_phase(campaign, today)
    if phase is not None and phase.code == "survey":
        return "survey_coverage"
    if phase is not None and phase.code in ("rectify", "consolidate"):
        return "rectification_rate"
    return "survey_coverage" if today <= campaign.starts_on else "rectification_rate"


def rank(rows: list[AreaRow], by: str) -> None:
    """Order ``rows`` best first by ``by`` and number them (equal values share a rank);
    rows without a value (no buildings, no hazards) come last, unranked."""
    if by not in RANKINGS:
        raise ValueError(f"unknown ranking {by!r}")
    reverse = by != "overdue"

    def value(row: AreaRow):
        return row.figures.get(by)

    valued = [r for r in rows if value(r) is not None and r.figures.counts.buildings]
    chosen = {id(r) for r in valued}
    empty = [r for r in rows if id(r) not in chosen]
    valued.sort(key=lambda r: r.code)
    valued.sort(key=value, reverse=reverse)
    previous, position = object(), 0
    for n, row in enumerate(valued, 1):
        if value(row) != previous:
            position, previous = n, value(row)
        row.rank = position
    for row in empty:
        row.rank = None
    rows[:] = valued + sorted(empty, key=lambda r: r.code)


def weeks_of(campaign: Campaign, today: date) -> list[Week]:
    """The campaign's weeks up to ``today`` (Monday–Sunday, clipped to the campaign)."""
    end = min(today, campaign.ends_on)
    out: list[Week] = []
    day = campaign.starts_on
    while day <= end:
        sunday = day + timedelta(days=6 - day.weekday())
        out.append(Week(day, min(sunday, campaign.ends_on)))
        day = sunday + timedelta(days=1)
    return out


def _weekly(
    session: Session,
    weeks: list[Week],
    column,
    where: list,
    tz: ZoneInfo,
    *,
    cumulative: bool = False,
) -> list[int]:
    """Per week: how many rows of ``where`` have ``column`` within the week (or, with
    ``cumulative``, before the week's end). One query: each row gets the index of its week
    from an ordered ``CASE`` (the first bound it falls below) and rows are counted by index."""
    if not weeks:
        return []
    bounds = [_utc(w.ends_on + timedelta(days=1), tz) for w in weeks]
    first = _utc(weeks[0].starts_on, tz)
    index = case(*[(column < hi, i) for i, hi in enumerate(bounds)], else_=None).label("week")
    stmt = select(index, func.count()).where(*where, column >= first, column < bounds[-1])
    counts = [0] * len(weeks)
    for i, n in session.execute(stmt.group_by(index)):
        if i is None:
            continue
        counts[int(i)] += int(n)
    if cumulative:
        # Rows before the first week count in every week's running total.
        before = session.scalar(select(func.count()).where(*where, column < first)) or 0
        total = before
        for i, n in enumerate(counts):
            total += n
            counts[i] = total
    return counts


def weekly_trend(
    session: Session, campaign: Campaign, node: Area, *, scope, today: date, tz: ZoneInfo
) -> list[Week]:
    weeks = weeks_of(campaign, today)
    if not weeks:
        return weeks
    buildings = [
        scope,
        population_condition(campaign),
        in_area_condition(node),
        Building.retired_at.is_(None),
    ]
    start = _utc(campaign.starts_on, tz)
    end = _utc(campaign.ends_on + timedelta(days=1), tz)
    in_campaign = [Hazard.created_at >= start, Hazard.created_at < end]
    found = _weekly(
        session,
        weeks,
        Hazard.created_at,
        [Hazard.building_id.in_(select(Building.id).where(*buildings)), *in_campaign],
        tz,
    )
    rectified = _weekly(
        session,
        weeks,
        Hazard.closed_at,
        [
            Hazard.building_id.in_(select(Building.id).where(*buildings)),
            Hazard.status.in_(ledger.CLOSED_STATUSES),
            *in_campaign,
        ],
        tz,
    )
    first = (
        select(func.min(Inspection.submitted_at).label("first"))
        .where(
            Inspection.kind == "survey",
            Inspection.submitted_at >= start,
            Inspection.submitted_at < end,
            Inspection.building_id.in_(select(Building.id).where(*buildings)),
        )
        .group_by(Inspection.building_id)
        .subquery()
    )
    surveyed = _weekly(session, weeks, first.c.first, [], tz, cumulative=True)
    for w, f, r, s in zip(weeks, found, rectified, surveyed, strict=True):
        w.found, w.rectified, w.surveyed = f, r, s
    return weeks


def campaign_progress(
    session: Session,
    campaign: Campaign,
    *,
    node: Area,
    scope,
    today: date,
    tz: ZoneInfo,
    rebound_days: int = ledger.DEFAULT_REBOUND_DAYS,
    rank_by: str | None = None,
    level: str | None = None,
) -> Progress:
    """The dashboard of ``campaign`` for ``node`` within ``scope`` (a SQL condition on
    ``Building``: the caller's scope). ``node`` must lie in the campaign's area.

    :raise ledger.LedgerError: ``level`` not below ``node``.
    :raise ValueError: unknown ``rank_by``.
    """
    if rank_by is not None and rank_by not in RANKINGS:
        raise ValueError(f"unknown ranking {rank_by!r}")
    population = and_(scope, population_condition(campaign))
    filters = ledger.Filters(campaign=campaign)
    common = dict(
        node=node, level=level, filters=filters, today=today, tz=tz, rebound_days=rebound_days
    )
    main = ledger.rollup(session, scope=population, **common)
    surveyed = ledger.rollup(
        session, scope=and_(population, surveyed_condition(campaign, tz)), **common
    )
    surveyed_by_key = {r.key: r.counts.buildings for r in surveyed.rows}
    rows = [
        AreaRow(r.key, r.code, r.name, Figures(r.counts, surveyed_by_key.get(r.key, 0)))
        for r in main.rows
    ]
    total = Figures(main.total, surveyed.total.buildings)
    rank_by = rank_by or default_ranking(campaign, today)
    rank(rows, rank_by)

    standing = acceptances.tally_for(session, campaign, node, scope=scope, tz=tz)
    progress = Progress(
        campaign=campaign,
        node=node,
        level=main.level,
        today=today,
        total=total,
        rows=rows,
        rank_by=rank_by,
        phases=phases(campaign),
        current=None,
        weeks=weekly_trend(session, campaign, node, scope=scope, today=today, tz=tz),
        spot_checks=sampling.by_street(session, campaign, node, scope=scope),
        acceptance=standing,
    )
    phase = current_phase(campaign, today)
    if phase is not None:
        metric = PHASE_METRIC.get(phase.code)
        if metric == "acceptance_rate":
            value = progress.acceptance_rate
        elif metric is not None:
            value = total.get(metric)
        else:
            value = None
        progress.current = PhaseProgress(
            phase=phase,
            elapsed=phase.elapsed(today),
            days_left=phase.days_left(today),
            metric=metric,
            value=value,
        )
    return progress
