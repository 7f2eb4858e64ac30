"""The numbers the demo district is made of: sizes, history length, shares of buildings
surveyed, failure rates, showcase days and states, and field-typical readings; and local times
in the district."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"
HISTORY_DAYS = 120
# Below this many buildings every district-wide guarantee (≥ 10 buildings in the inspector's
# grid, every hazard state there) can be met; smaller districts get what fits.
MIN_FULL_DEMO = 12
# Base chance that one applicable item fails, by category; a building's condition scales it.
FAIL_RATE = {"FAC": 0.05, "LIFE": 0.06, "ELEC": 0.05, "BLDG": 0.025, "MGMT": 0.045, "AWARE": 0.03}
DEFAULT_FAIL_RATE = 0.04
# Shares of buildings surveyed in the last HISTORY_DAYS: the district, the inspector's grid.
INSPECTED_SHARE = 0.60
INSPECTOR_GRID_SHARE = 0.80
NA_RATE = 0.004
BATCH_BUILDINGS = 1000
# Who visits for each kind of inspection (one account per role in the demo).
VISITOR = {"survey": "inspector", "self_check": "manager", "spot_check": "fire"}
# Showcase buildings: when they were surveyed (days before today), chosen so that a general
# hazard of the red one is overdue and the yellow one's are within their deadline.
SHOWCASE_DAYS = {"red": 52, "yellow": 9, "green": 41}
# Forced ledger states of showcase hazards → (status, listed for supervision).
FORCED_STATES = {
    "supervised": ("open", True),
    "overdue": ("open", False),
    "open": ("open", False),
    "submitted": ("submitted", False),
    "closed": ("closed", False),
    "fixed_on_spot": ("fixed_on_spot", False),
}

# Readings of numeric items: (alternatives when the item is fine, alternatives when it is not);
# each alternative is (low, high, decimals). Field-typical values: hydrant static pressure
# mostly 0.08–0.6 MPa, flowing pressure 0.35–0.5 MPa, counts and damage rates mostly zero.
Reading = tuple[tuple[tuple[float, float, int], ...], tuple[tuple[float, float, int], ...]]
READINGS: dict[str, Reading] = {
    "FAC-01": (((0.08, 0.60, 2),), ((0, 0, 2), (0.02, 0.069, 2))),
    "FAC-02": (((0.35, 0.52, 2),), ((0, 0, 2), (0.15, 0.34, 2))),
    "FAC-08": (((0.06, 0.25, 2),), ((0, 0, 2), (0.01, 0.049, 2))),
    "FAC-17": (((0.12, 0.45, 2),), ((0, 0, 2), (0.04, 0.099, 2))),
    "FAC-14": (((0, 0, 0),), ((3, 45, 0),)),
    "LIFE-02": (((4.0, 7.0, 1),), ((3.0, 3.9, 1),)),
    "LIFE-12": (((4.0, 5.5, 1),), ((3.2, 3.9, 1),)),
    "LIFE-07": (((0, 0, 0),), ((5, 60, 0),)),
    "ELEC-01": (((0, 0, 0),), ((1, 6, 0),)),
    "MGMT-02": (((2, 3, 0),), ((0, 1, 0),)),
    "MGMT-03": (((0, 0, 0),), ((1, 2, 0),)),
    "MGMT-06": (((1, 11, 0),), ((13, 30, 0),)),
    "AWARE-04": (((60, 95, 0),), ((30, 59, 0),)),
}
UNIT_READINGS: dict[str, Reading] = {
    "MPa": READINGS["FAC-01"],
    "m": READINGS["LIFE-02"],
    "%": READINGS["FAC-14"],
    "persons": READINGS["MGMT-03"],
    "vehicles": READINGS["ELEC-01"],
    "months": READINGS["MGMT-06"],
}
DEFAULT_READING: Reading = (((0, 0, 0),), ((1, 5, 0),))


def _local(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """``minutes`` after local midnight of ``day``, as an aware UTC datetime."""
    return (datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minutes)).astimezone(UTC)
