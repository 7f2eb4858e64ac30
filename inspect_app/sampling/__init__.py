"""Spot-check sampling (部门抽查): a recorded, re-verifiable draw per street, its tasks for the
joint team (联合检查组), and what the spot checks found compared with the street's survey.

The plan asks the joint team to spot-check, per street, at least 10 % of the public and 5 % of
the residential high-rises the street surveyed (the campaign's rates; rounded up). A draw:

1. **Population**: the street's high-rises in service (residential, or public — mixed-use
   buildings follow the public rules, as in ``classification``) with a ``survey`` inspection
   submitted between the campaign's first day and the moment of the draw; ids ascending.
2. **Sizes**: ⌈n × rate⌉ per group, in exact decimal arithmetic, never more than n.
3. **Sample** (``draw_sample``, algorithm ``ALGORITHM``): ``rng = random.Random(seed)``; for
   each group in the order ``public``, ``residential``, walk the group's ids in ascending order
   and draw one ``rng.random()`` per id; the sample is the ids with the smallest numbers
   (ties cannot occur in practice; they would go to the lower id). Only ``seed()`` and
   ``random()`` are used, the two parts of the module Python promises to keep reproducible
   across versions.

The draw records who, when, the population, its sha256, the rates, the seed and the sample
(``SpotCheck``), and one task per drawn building (``SpotCheckTask``). ``verify`` re-runs it.
A task is done when a ``spot_check`` inspection of the building is submitted after the draw.

Functions here flush, never commit; permission checks are the caller's (``auth``).

Modules: ``draws`` (the algorithm, the population, drawing and verifying) and ``tasks`` (task
states, comparison with the survey, draws by street).
"""

from .draws import (
    ALGORITHM,
    DEFAULT_TEAM,
    MAX_SEED,
    Population,
    SamplingError,
    Verification,
    draw,
    draw_sample,
    parse_seed,
    pending_tasks,
    population,
    population_digest,
    sample_size,
    sizes_for,
    verify,
)
from .tasks import (
    Comparison,
    ItemRef,
    StreetSpotChecks,
    by_street,
    compare,
    count_tasks,
    draws_for,
    surveyed_streets,
    task_states,
)

__all__ = [
    "ALGORITHM",
    "DEFAULT_TEAM",
    "MAX_SEED",
    "Comparison",
    "ItemRef",
    "Population",
    "SamplingError",
    "StreetSpotChecks",
    "Verification",
    "by_street",
    "compare",
    "count_tasks",
    "draw",
    "draw_sample",
    "draws_for",
    "parse_seed",
    "pending_tasks",
    "population",
    "population_digest",
    "sample_size",
    "sizes_for",
    "surveyed_streets",
    "task_states",
    "verify",
]
