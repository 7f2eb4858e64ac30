"""Drawing spot-check samples: the algorithm anyone can re-run, the population in the database,
the draw itself and its verification.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..campaigns import high_rise_condition, in_area_condition
from ..models import (
    SAMPLE_GROUPS,
    Area,
    Building,
    Campaign,
    Inspection,
    SpotCheck,
    SpotCheckTask,
    User,
)
from .tasks import task_states

ALGORITHM = "random-keys/v1"
MAX_SEED = 2**64 - 1
DEFAULT_TEAM = "区住房城乡建设委、区经济信息委、区城市管理局、区消防救援支队联合检查组"


class SamplingError(ValueError):
    """A draw that cannot be made; the message (Chinese) says why. Nothing was saved."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# ---------------------------------------------------------------------------------------------
# The algorithm (pure; what anyone re-runs)
# ---------------------------------------------------------------------------------------------


def sample_size(population: int, rate: Decimal | str) -> int:
    """⌈population × rate⌉ in exact decimal arithmetic (10 % of 30 is 3, not 4), capped at
    the population; 0 for an empty population."""
    if population <= 0:
        return 0
    return min(population, math.ceil(Decimal(population) * Decimal(rate)))


def draw_sample(
    population: Mapping[str, Sequence[int]], sizes: Mapping[str, int], seed: int | str
) -> dict[str, list[int]]:
    """The sample of ``population`` (ids by group) of ``sizes`` for ``seed``: see the module
    docstring. Returns the chosen ids of each group, ascending."""
    rng = random.Random(int(seed))
    out: dict[str, list[int]] = {}
    for group in SAMPLE_GROUPS:
        ids = sorted(population.get(group) or ())
        keyed = sorted((rng.random(), building_id) for building_id in ids)
        out[group] = sorted(building_id for _key, building_id in keyed[: sizes.get(group, 0)])
    return out


def population_digest(population: Mapping[str, Sequence[int]]) -> str:
    """sha256 of the canonical JSON of the population: groups in order, ids ascending, no
    spaces (``{"public":[3,8],"residential":[1]}``)."""
    canonical = {g: sorted(population.get(g) or ()) for g in SAMPLE_GROUPS}
    text = json.dumps(canonical, separators=(",", ":"), sort_keys=False)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_seed(value: str | int | None) -> int | None:
    """A seed as given by a person: a whole number from 0 to 2⁶⁴−1; None when blank.

    :raise SamplingError: anything else.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 20 or int(text) > MAX_SEED:
        raise SamplingError("随机种子应为 0 到 18446744073709551615 之间的整数", "seed")
    return int(text)


# ---------------------------------------------------------------------------------------------
# The population in the database
# ---------------------------------------------------------------------------------------------


@dataclass
class Population:
    """The buildings a draw is made from: ids by group, and each one's latest survey."""

    ids: dict[str, list[int]]
    surveys: dict[int, int]

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.ids.values())


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def population(
    session: Session, campaign: Campaign, street: Area, *, until: datetime, tz: ZoneInfo
) -> Population:
    """The street's surveyed high-rises for ``campaign``, as of ``until`` (see the module
    docstring); whatever the caller's scope (a draw is about the whole street)."""
    since = _local_midnight(campaign.starts_on, tz)
    rows = session.execute(
        select(Inspection.id, Inspection.building_id, Inspection.submitted_at, Building.use)
        .join(Building, Inspection.building_id == Building.id)
        .where(
            Inspection.kind == "survey",
            Inspection.submitted_at >= since,
            Inspection.submitted_at <= until,
            Building.retired_at.is_(None),
            high_rise_condition(),
            in_area_condition(street),
            in_area_condition(campaign.area),
        )
        .order_by(Inspection.submitted_at, Inspection.id)
    )
    ids: dict[str, set[int]] = {g: set() for g in SAMPLE_GROUPS}
    surveys: dict[int, int] = {}
    for inspection_id, building_id, _at, use in rows:
        ids["residential" if use == "residential" else "public"].add(building_id)
        surveys[building_id] = inspection_id  # ordered by time: the latest one wins
    return Population({g: sorted(v) for g, v in ids.items()}, surveys)


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------


def sizes_for(population_ids: Mapping[str, Sequence[int]], draw_or_campaign) -> dict[str, int]:
    """The sample sizes at the rates of a ``SpotCheck`` (its recorded rates) or a
    ``Campaign`` (its current rates)."""
    if isinstance(draw_or_campaign, SpotCheck):
        rates = {
            "public": draw_or_campaign.rate_public,
            "residential": draw_or_campaign.rate_residential,
        }
    else:
        rates = {
            "public": draw_or_campaign.sample_rate_public,
            "residential": draw_or_campaign.sample_rate_residential,
        }
    return {g: sample_size(len(population_ids.get(g) or ()), rates[g]) for g in SAMPLE_GROUPS}


def pending_tasks(session: Session, campaign: Campaign, street: Area) -> int:
    """Tasks of earlier draws on ``street`` in ``campaign`` not done yet."""
    draws = session.scalars(
        select(SpotCheck).where(
            SpotCheck.campaign_id == campaign.id, SpotCheck.area_id == street.id
        )
    ).all()
    return sum(1 for d in draws for t in task_states(session, d).values() if t is None)


def draw(
    session: Session,
    *,
    campaign: Campaign,
    street: Area,
    actor: User | None,
    actor_label: str,
    seed: int | None = None,
    team: str | None = None,
    due_on: date | None = None,
    now: datetime,
    today: date,
    tz: ZoneInfo,
) -> SpotCheck:
    """Draw the spot checks of ``street`` for ``campaign`` and create their tasks; flush.

    ``seed`` None draws a fresh 64-bit seed (``secrets``); either way it is recorded.
    ``actor_label`` names who drew (a user's name, or the command-line operator).

    :raise SamplingError: the street is not a street of the campaign's area, the campaign is
        not running, an earlier draw of the street still has tasks to do, the street has no
        surveyed high-rise, or the due date is in the past.
    """
    if street.level != "street":
        raise SamplingError("抽查按街道（镇）进行，请选择一个街道或镇", "street")
    if not street.path.startswith(campaign.area.path):
        raise SamplingError(f"{street.name}不在专项行动“{campaign.name}”的范围内", "street")
    if today < campaign.starts_on:
        raise SamplingError(f"专项行动 {campaign.starts_on} 才开始，还不能抽查")
    if today > campaign.ends_on:
        raise SamplingError(f"专项行动已于 {campaign.ends_on} 结束，不能再抽查")
    if due_on is not None and due_on < today:
        raise SamplingError("完成期限不能早于今天", "due_on")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise SamplingError("随机种子应为 0 到 18446744073709551615 之间的整数", "seed")
    left = pending_tasks(session, campaign, street)
    if left:
        raise SamplingError(
            f"{street.name}上一轮抽查还有 {left} 栋未完成，完成后才能再次抽取", "street"
        )
    pop = population(session, campaign, street, until=now, tz=tz)
    if pop.size == 0:
        raise SamplingError(
            f"{street.name}在本专项行动中还没有街镇排查过的高层建筑，无法抽查；"
            "请待街镇排查录入后再抽取",
            "street",
        )
    seed = secrets.randbits(64) if seed is None else seed
    sizes = sizes_for(pop.ids, campaign)
    sample = draw_sample(pop.ids, sizes, seed)
    spot_check = SpotCheck(
        campaign_id=campaign.id,
        area_id=street.id,
        seed=str(seed),
        algorithm=ALGORITHM,
        rate_public=campaign.sample_rate_public,
        rate_residential=campaign.sample_rate_residential,
        population=pop.ids,
        population_sha256=population_digest(pop.ids),
        sample=sample,
        team=(team or "").strip() or DEFAULT_TEAM,
        due_on=due_on,
        drawn_by_id=actor.id if actor is not None else None,
        drawn_by=actor_label[:120],
        drawn_at=now,
    )
    session.add(spot_check)
    session.flush()
    for group in SAMPLE_GROUPS:
        for building_id in sample[group]:
            session.add(
                SpotCheckTask(
                    spot_check_id=spot_check.id,
                    building_id=building_id,
                    sample_group=group,
                    survey_inspection_id=pop.surveys.get(building_id),
                )
            )
    session.flush()
    return spot_check


# ---------------------------------------------------------------------------------------------
# Verifying
# ---------------------------------------------------------------------------------------------


@dataclass
class Verification:
    """``verify``'s answer. ``ok`` is the draw's own consistency: the digest matches the
    recorded population, the sizes meet the recorded rates, and the seed gives the recorded
    sample. ``population_now`` compares the recorded population with one recomputed today
    from the surveys submitted before the draw (None when not asked): it can differ later only
    if registry facts changed (a building retired or reclassified), which ``changes`` shows."""

    digest_ok: bool
    sizes_ok: bool
    sample_ok: bool
    expected: dict[str, list[int]]
    population_now: bool | None = None
    changes: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.digest_ok and self.sizes_ok and self.sample_ok


def verify(
    spot_check: SpotCheck, *, session: Session | None = None, tz: ZoneInfo | None = None
) -> Verification:
    """Re-run ``spot_check`` from what it recorded (see ``Verification``). With ``session``
    and ``tz`` the population is also recomputed from the database."""
    pop = {g: list(spot_check.population.get(g) or ()) for g in SAMPLE_GROUPS}
    sizes = sizes_for(pop, spot_check)
    recorded = {g: sorted(spot_check.sample.get(g) or ()) for g in SAMPLE_GROUPS}
    expected = draw_sample(pop, sizes, spot_check.seed)
    result = Verification(
        digest_ok=population_digest(pop) == spot_check.population_sha256,
        sizes_ok=all(len(recorded[g]) == sizes[g] for g in SAMPLE_GROUPS)
        and all(set(recorded[g]) <= set(pop[g]) for g in SAMPLE_GROUPS),
        sample_ok=expected == recorded,
        expected=expected,
    )
    if session is not None and tz is not None:
        now = population(
            session, spot_check.campaign, spot_check.area, until=spot_check.drawn_at, tz=tz
        )
        for g in SAMPLE_GROUPS:
            before, after = set(pop[g]), set(now.ids[g])
            if before != after:
                result.changes[g] = {
                    "missing": sorted(before - after),
                    "extra": sorted(after - before),
                }
        result.population_now = not result.changes
    return result
