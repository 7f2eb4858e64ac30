"""The demo district's frame: the checklist, the areas (district → streets → communities →
grids), one account per role, and the year's campaign."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..checklists import DEFAULT_CATALOG_PATH, current_checklist, load_checklist
from ..models import Area, Campaign, Checklist, User
from .settings import HISTORY_DAYS
from .words import GRID_NAMES, STREETS


def _checklist(session: Session) -> Checklist:
    current = current_checklist(session)
    if current is not None:
        return current
    loaded, _created = load_checklist(session, DEFAULT_CATALOG_PATH)
    return loaded


def _make_areas(session: Session, rng: random.Random) -> tuple[list[Area], list[Area], list[Area]]:
    """District → 4–6 streets → 2–4 communities → 2–3 grids; returns (all, streets, grids)."""
    district = Area(code="500110", name="綦江区", level="district", path="/500110/")
    areas = [district]
    streets: list[Area] = []
    grids: list[Area] = []
    for code, name, communities, _roads in STREETS[: rng.randint(4, 6)]:
        street = Area(
            code=code,
            name=name,
            level="street",
            parent=district,
            path=Area.child_path(district, code),
        )
        streets.append(street)
        areas.append(street)
        for c_index, c_name in enumerate(communities[: rng.randint(2, 4)], start=1):
            c_code = f"{code}{c_index:02d}"
            community = Area(
                code=c_code,
                name=c_name,
                level="community",
                parent=street,
                path=Area.child_path(street, c_code),
            )
            areas.append(community)
            for g_index, g_name in enumerate(GRID_NAMES[: rng.randint(2, 3)], start=1):
                g_code = f"{c_code}-{g_index:02d}"
                grid = Area(
                    code=g_code,
                    name=g_name,
                    level="grid",
                    parent=community,
                    path=Area.child_path(community, g_code),
                )
                grids.append(grid)
                areas.append(grid)
    session.add_all(areas)
    session.flush()
    return areas, streets, grids


DEMO_USERS = (
    # role, display name, phone, scope
    ("inspector", "张网格", "13800000001", "grid"),
    ("manager", "李物业", "13800000002", None),
    ("street", "王街道", "13800000003", "street"),
    ("fire", "赵消防", "13800000004", "district"),
    ("admin", "陈管理", "13800000005", "district"),
)


def _make_users(
    session: Session,
    areas: list[Area],
    streets: list[Area],
    grids: list[Area],
    password: str,
    created_at: datetime,
) -> dict[str, User]:
    # One hash for all five users: hashing is deliberately slow.
    password_hash = generate_password_hash(password)
    scope = {"grid": grids[0], "street": streets[0], "district": areas[0], None: None}
    users = {
        role: User(
            username=role,
            display_name=name,
            phone=phone,
            role=role,
            area_id=scope[level].id if scope[level] else None,
            password_hash=password_hash,
            created_at=created_at,
        )
        for role, name, phone, level in DEMO_USERS
    }
    session.add_all(users.values())
    session.flush()
    return users


def _make_campaign(
    session: Session, checklist: Checklist, district: Area, today: date, created_at: datetime
) -> Campaign:
    """The year's campaign with the 綦江区 2023 phase dates moved into ``today``'s year.

    It starts on 3-15 (the plan's issue date) or, early in the year, early enough to cover the
    generated history, so that it is the running campaign on ``today`` until 12-31.
    """
    year = today.year
    starts = min(date(year, 3, 15), today - timedelta(days=HISTORY_DAYS))
    campaign = Campaign(
        name=f"{year}年高层建筑消防安全“除险清患”专项行动",
        area_id=district.id,
        checklist_id=checklist.id,
        starts_on=starts,
        ends_on=date(year, 12, 31),
        phases=[
            {"code": "mobilise", "name": "动员部署", "ends_on": f"{year}-03-20"},
            {"code": "survey", "name": "全面排查", "ends_on": f"{year}-04-30"},
            {"code": "rectify", "name": "整治攻坚", "ends_on": f"{year}-11-30"},
            {"code": "consolidate", "name": "巩固提升", "ends_on": f"{year}-12-31"},
        ],
        category_deadlines={"water": f"{year}-12-20"},
        validity_days=180,
        sample_rate_public=Decimal("0.10"),
        sample_rate_residential=Decimal("0.05"),
        created_at=created_at,
    )
    session.add(campaign)
    session.flush()
    return campaign
