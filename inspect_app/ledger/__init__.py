"""The rectification ledger (整改台账): rollups at any level, their filters, rebounds and rows.

A rollup is about one *node* (an area, or — for property managers — their buildings) and
groups it by a deeper *level*: district → street → community → grid → building. Every number
is a SQL aggregate: the area tree is a materialised path, so "the street an area belongs to"
is a prefix match computed once over the (small) area table and joined to buildings; hazards
and inspections are then counted with ``GROUP BY`` in the database. Python only adds up the
few aggregated rows for the total and the breakdowns.

What each figure means (all within the node and the caller's scope, buildings in service):

- ``buildings``: buildings; ``inspected``: buildings with an inspection in the period;
  ``coverage`` = inspected / buildings.
- Hazard figures count hazards *found in the period* (created then) that pass the hazard
  filters, by where they stand today: ``found`` (all of them), ``fixed_on_spot``, ``open``
  (待整改), ``overdue`` (open and past the deadline in the district's time zone — a subset of
  open), ``submitted`` (待验收), ``closed`` (已销号), ``supervised`` (listed for supervision,
  whatever the status), ``rebound`` (反弹, below). ``rectification_rate`` = (closed + fixed on
  the spot) / found.
- **Rebound**: a hazard of the same building and checklist item found within
  ``REBOUND_DAYS`` (configurable, default 90) after an earlier one was closed (accepted or
  fixed on the spot).

The campaign filter limits the period to the campaign's dates (intersected with an explicit
period). Hazard filters (status, category, severity, overdue, supervised, rebound) never
change the building and coverage figures.

Modules: ``rollups`` (filters, figures, the grouped SQL) and ``rows`` (hazard lists, names,
rebounds of one hazard).
"""

from .rollups import (
    CLOSED_STATUSES,
    DEFAULT_REBOUND_DAYS,
    HAZARD_METRICS,
    LEVELS,
    Counts,
    Filters,
    LedgerError,
    Rollup,
    Row,
    check_level,
    child_level,
    plus_days,
    rebound_condition,
    rebound_days,
    rollup,
)
from .rows import (
    area_names,
    count_rows,
    hazard_rows,
    iter_rows,
    path_names,
    rebound_of,
    rebounds_after,
)

__all__ = [
    "CLOSED_STATUSES",
    "DEFAULT_REBOUND_DAYS",
    "HAZARD_METRICS",
    "LEVELS",
    "Counts",
    "Filters",
    "LedgerError",
    "Rollup",
    "Row",
    "area_names",
    "check_level",
    "child_level",
    "count_rows",
    "hazard_rows",
    "iter_rows",
    "path_names",
    "plus_days",
    "rebound_condition",
    "rebound_days",
    "rebound_of",
    "rebounds_after",
    "rollup",
]
