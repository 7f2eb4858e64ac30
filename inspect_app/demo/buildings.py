"""The demo buildings as plans (plain rows and what the history pass needs): estates with
their names, addresses and management, heights and installations by class, the boundary
cases, and the manager's and showcase buildings."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..classification import building_class, is_super_high_rise
from ..models import Area, Building, User, new_qr_token
from .settings import MIN_FULL_DEMO
from .words import (
    COMPANIES,
    ESTATE_PHASES,
    MIXED_KINDS,
    NAME_WORDS,
    PUBLIC_KINDS,
    RESIDENTIAL_ESTATES,
    STREETS,
    _mobile,
    _person,
)


@dataclass(slots=True)
class _BuildingPlan:
    row: dict[str, Any]
    grid_index: int
    street_index: int
    street_name: str
    is_town: bool
    building_class: str | None
    flags: frozenset[str]
    condition: float
    latitude: float
    longitude: float
    managed: bool = False
    profile: str | None = None  # forced colour in the inspector's grid: red/yellow/green/grey
    # A yellow showcase keeps at most this many chance hazards unclosed, so that the
    # composite count of GB 35181 can never turn it red.
    unclosed_left: int = 1


def _grid_counts(rng: random.Random, n: int, n_grids: int) -> list[int]:
    """Buildings per grid: the first (the inspector's) gets at least 12, the rest by weight."""
    first = min(n, max(MIN_FULL_DEMO, round(1.5 * n / n_grids)))
    rest = n - first
    weights = [rng.uniform(0.4, 1.6) for _ in range(n_grids - 1)]
    total = sum(weights) or 1.0
    shares = [rest * w / total for w in weights]
    counts = [math.floor(s) for s in shares]
    # Largest remainders get the leftover buildings (ties broken by position: deterministic).
    order = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in order[: rest - sum(counts)]:
        counts[i] += 1
    return [first, *counts]


def _plan_buildings(
    rng: random.Random,
    n: int,
    streets: list[Area],
    grids: list[Area],
    registered_at: datetime,
) -> list[_BuildingPlan]:
    street_info = {s.code: (i, s.name, STREETS[i][3]) for i, s in enumerate(streets)}
    used_names: Counter[str] = Counter()
    plans: list[_BuildingPlan] = []
    seq = 0
    for grid_index, (grid, count) in enumerate(
        zip(grids, _grid_counts(rng, n, len(grids)), strict=True)
    ):
        street_code = grid.path.split("/")[2]
        street_index, street_name, roads = street_info[street_code]
        left = count
        while left > 0:
            estate = _plan_estate(rng, used_names, street_name, roads)
            size = min(left, estate["size"])
            left -= size
            for k in range(1, size + 1):
                seq += 1
                plans.append(
                    _plan_building(
                        rng,
                        estate,
                        k,
                        size,
                        seq,
                        grid,
                        grid_index,
                        street_code,
                        street_index,
                        street_name,
                        registered_at,
                    )
                )
    return plans


def _unique(rng: random.Random, used: Counter[str], make: Callable[[], str]) -> str:
    """A fresh name from ``make``; after a few collisions a phase suffix (二期…) separates it."""
    name = make()
    for _ in range(4):
        if not used[name]:
            break
        name = make()
    used[name] += 1
    n = used[name]
    if n == 1:
        return name
    return name + (ESTATE_PHASES[n - 1] if n <= len(ESTATE_PHASES) else f"{n}期")


def _plan_estate(
    rng: random.Random, used: Counter[str], street_name: str, roads: Sequence[str]
) -> dict[str, Any]:
    """One 小区/complex: a use, a name, an address, a build year and its management."""
    r = rng.random()
    address = f"綦江区{street_name}{rng.choice(roads)}{rng.randint(1, 388)}号"
    company = rng.choice(COMPANIES)
    estate: dict[str, Any] = {
        "address": address,
        "multi_owner": False,
        "management_unit": company,
        "class_i_by_use": False,
        "assembly": False,
    }
    if r < 0.16:
        # Old towers whose flats were sold off with no property company or unified manager
        # (多业主无统一管理人): the street office answers for their common parts.
        road = address.removeprefix(f"綦江区{street_name}")
        size = rng.choice((1, 1, 2, 3))
        estate.update(
            use="residential",
            size=size,
            multi_owner=True,
            management_unit=None,
            name=_unique(rng, used, lambda: road + ("楼" if size == 1 else "院")),
            built=rng.randint(1996, 2008),
            storeys=rng.choice((10, 11, 12, 14, 16, 18)),
        )
    elif r < 0.78:
        estate.update(
            use="residential",
            size=rng.randint(3, 12),
            name=_unique(rng, used, lambda: rng.choice(RESIDENTIAL_ESTATES)),
            built=rng.randint(2000, 2022),
            storeys=rng.choice((11, 11, 17, 18, 18, 24, 26, 28, 30, 32, 33)),
        )
        if rng.random() < 0.06:
            estate["storeys"] = rng.randint(34, 45)  # the few 100 m+ towers of the district
    elif r < 0.88:
        template = rng.choice(MIXED_KINDS)
        estate.update(
            use="mixed",
            size=rng.randint(1, 3),
            assembly=rng.random() < 0.5,
            name=_unique(rng, used, lambda: template.format(w=rng.choice(NAME_WORDS))),
            built=rng.randint(2005, 2022),
            storeys=rng.randint(12, 32),
        )
    else:
        template, class_i, assembly = rng.choice(PUBLIC_KINDS)
        estate.update(
            use="public",
            size=rng.randint(1, 2),
            class_i_by_use=class_i,
            assembly=assembly,
            name=_unique(rng, used, lambda: template.format(w=rng.choice(NAME_WORDS))),
            built=rng.randint(2003, 2022),
            storeys=rng.randint(7, 28),
        )
    estate["contact"] = _mobile(rng)
    return estate


def _plan_building(
    rng: random.Random,
    estate: dict[str, Any],
    k: int,
    size: int,
    seq: int,
    grid: Area,
    grid_index: int,
    street_code: str,
    street_index: int,
    street_name: str,
    registered_at: datetime,
) -> _BuildingPlan:
    use = estate["use"]
    if use == "residential":
        name = estate["name"] if size == 1 and estate["multi_owner"] else f"{estate['name']}{k}栋"
        storeys = max(10, estate["storeys"] + rng.choice((-1, 0, 0, 0, 1)))
        height = round(storeys * rng.uniform(2.9, 3.05), 1)
        height = max(height, 28.0)  # a residential tower of 10+ storeys is above 27 m
    else:
        name = estate["name"] if size == 1 else f"{estate['name']}{'ABCDEFGH'[k - 1]}座"
        storeys = max(6, estate["storeys"] + rng.randint(-2, 2))
        per_storey = rng.uniform(3.6, 4.4) if use == "public" else rng.uniform(3.1, 3.5)
        height = round(storeys * per_storey, 1)
        height = min(max(height, 25.0), 120.0)
    height_m = Decimal(f"{height:.1f}")
    cls = building_class(use, height_m, storeys, class_i_by_use=estate["class_i_by_use"])
    flags = _flags(rng, use, height, cls, estate["built"], estate["assembly"])
    flags["multi_owner"] = estate["multi_owner"]
    unit = estate["management_unit"]
    row: dict[str, Any] = {
        "code": f"QJ-{street_code}-{seq:06d}",
        "name": name,
        "address": estate["address"],
        "area_id": grid.id,
        "use": use,
        "height_m": height_m,
        "storeys": storeys,
        "underground_storeys": 0 if estate["built"] < 2003 else rng.randint(1, 3),
        "built_year": estate["built"],
        "class_i_by_use": estate["class_i_by_use"],
        **flags,
        "management_unit": unit,
        "management_contact": estate["contact"] if unit else None,
        "fire_manager_name": _person(rng),
        "fire_manager_phone": _mobile(rng),
        "public_commitment": (
            "严格落实消防安全主体责任，确保消防设施完好有效、疏散通道和消防车道畅通。"
            if unit
            else None
        ),
        "qr_token": new_qr_token(),  # secret-random by design, see the module docstring
        "created_at": registered_at,
        "retired_at": None,
    }
    condition = 1.0
    if estate["built"] < 2008:
        condition *= 1.6
    elif estate["built"] >= 2016:
        condition *= 0.6
    if estate["multi_owner"]:
        condition *= 1.8
    return _BuildingPlan(
        row=row,
        grid_index=grid_index,
        street_index=street_index,
        street_name=street_name,
        is_town=street_name.endswith("镇"),
        building_class=cls,
        flags=_flag_set(row),
        condition=condition,
        latitude=29.03 + rng.uniform(-0.04, 0.04),
        longitude=106.65 + rng.uniform(-0.04, 0.04),
    )


def _flags(
    rng: random.Random, use: str, height: float, cls: str | None, built: int, assembly: bool
) -> dict[str, bool]:
    """Plausible installations by class: what GB 50016 requires, less what old towers lack."""
    p = rng.random
    old = 0.6 if built < 2005 else 1.0
    super_high = height > 100
    if cls is None:
        f = dict(
            sprinklers=False,
            alarm=False,
            control=False,
            stabilizer=p() < 0.3,
            refuge=False,
            elevator=False,
            gas=False,
        )
    elif use == "residential":
        if super_high:
            f = dict(
                sprinklers=True,
                alarm=True,
                control=True,
                stabilizer=p() < 0.8,
                refuge=True,
                elevator=True,
                gas=False,
            )
        elif cls == "R1":
            f = dict(
                sprinklers=p() < 0.5 * old,
                alarm=p() < 0.85 * old,
                control=p() < 0.8 * old,
                stabilizer=p() < 0.7,
                refuge=False,
                elevator=True,
                gas=False,
            )
        else:
            f = dict(
                sprinklers=p() < 0.1,
                alarm=p() < 0.35 * old,
                control=p() < 0.25 * old,
                stabilizer=p() < 0.5,
                refuge=False,
                elevator=height > 33,
                gas=False,
            )
    elif use == "public":
        f = dict(
            sprinklers=p() < (1.0 if cls == "P1" else 0.95),
            alarm=True,
            control=True,
            stabilizer=p() < 0.75,
            refuge=super_high,
            elevator=cls == "P1" or height > 32,
            gas=p() < (0.3 if cls == "P1" else 0.1),
        )
    else:
        f = dict(
            sprinklers=True,
            alarm=True,
            control=p() < 0.85,
            stabilizer=p() < 0.7,
            refuge=super_high,
            elevator=height > 32,
            gas=p() < 0.1,
        )
    if f["control"]:
        f["alarm"] = True  # a control room exists to watch an alarm system
    return {
        "has_sprinklers": f["sprinklers"],
        "has_fire_alarm_system": f["alarm"],
        "has_control_room": f["control"],
        "has_pressure_stabilizer": f["stabilizer"],
        "has_refuge_floor": f["refuge"],
        "has_fire_elevator": f["elevator"],
        "has_gas_suppression": f["gas"],
        "has_assembly_occupancy": assembly and cls is not None,
    }


def _flag_set(row: dict[str, Any]) -> frozenset[str]:
    flags = {name for name in Building.FLAG_NAMES if row[name]}
    if is_super_high_rise(row["height_m"]):
        flags.add("super_high_rise")
    return frozenset(flags)


def _force_27m(rng: random.Random, plans: list[_BuildingPlan]) -> None:
    """Turn about 2 % of residential towers (at least one) into 9-storey, exactly 27.0 m
    buildings: the boundary case that is *not* high-rise (residential needs > 27 m)."""
    # Not among the manager's buildings, which should showcase high-rise rules.
    residential = [p for p in plans if p.row["use"] == "residential" and not p.managed]
    residential = residential or [p for p in plans if not p.managed] or plans
    for plan in rng.sample(residential, min(len(residential), max(1, round(len(plans) * 0.02)))):
        row = plan.row
        row.update(height_m=Decimal("27.0"), storeys=9, use="residential", class_i_by_use=False)
        row.update(
            has_sprinklers=False,
            has_fire_alarm_system=False,
            has_control_room=False,
            has_refuge_floor=False,
            has_fire_elevator=False,
            has_gas_suppression=False,
            has_assembly_occupancy=False,
        )
        plan.building_class = None
        plan.flags = _flag_set(row)


def _ensure_multi_owner(rng: random.Random, plans: list[_BuildingPlan]) -> None:
    """Make sure a building without a unified manager exists (small districts may draw none):
    its hazards are the street office's to answer for."""
    if any(p.row["multi_owner"] for p in plans):
        return
    candidates = [
        p for p in plans if not p.managed and p.row["use"] == "residential" and p.building_class
    ]
    if not candidates:
        return
    plan = rng.choice(candidates)
    plan.row.update(
        multi_owner=True, management_unit=None, management_contact=None, public_commitment=None
    )
    plan.flags = _flag_set(plan.row)
    plan.condition *= 1.8


def _assign_manager(
    rng: random.Random, plans: list[_BuildingPlan], manager: User
) -> list[_BuildingPlan]:
    """Give the manager 5–10 buildings of the inspector's grid and two elsewhere.

    They become one company's buildings (the manager is that company's account), so their
    management unit is rewritten to it; towers without a unified manager are left out.
    """
    in_grid = [p for p in plans if p.grid_index == 0 and not p.row["multi_owner"]]
    elsewhere = [p for p in plans if p.grid_index != 0 and not p.row["multi_owner"]]
    if not in_grid:
        in_grid = [p for p in plans if p.grid_index == 0]
    want = min(len(in_grid), rng.randint(5, 10))
    units = Counter(p.row["management_unit"] for p in in_grid)
    company = units.most_common(1)[0][0] if units else COMPANIES[0]
    company = company or COMPANIES[0]
    # Prefer the company's own buildings, then neighbours in grid order.
    ordered = sorted(in_grid, key=lambda p: (p.row["management_unit"] != company, p.row["code"]))
    chosen = ordered[:want] + rng.sample(elsewhere, min(2, len(elsewhere)))
    for plan in chosen:
        plan.managed = True
        plan.row["management_unit"] = company
        plan.row["multi_owner"] = False
        plan.row["management_contact"] = manager.phone
        plan.flags = _flag_set(plan.row)
    return chosen


def _assign_profiles(manager_plans: list[_BuildingPlan]) -> None:
    """Force one red, yellow, green and grey building among the manager's buildings in the
    inspector's grid, so that both scopes show every colour and every hazard state."""
    candidates = [p for p in manager_plans if p.grid_index == 0]
    # High-rise towers first: a non-high-rise one would be a poor showcase.
    candidates.sort(key=lambda p: (p.building_class is None, p.row["code"]))
    for plan, profile in zip(candidates, ("red", "yellow", "green", "grey"), strict=False):
        plan.profile = profile
