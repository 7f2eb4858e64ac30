"""A deterministic demo district: areas, users, buildings, a campaign and months of history.

``generate`` fills an empty database (schema at head) with a plausible 綦江区: streets,
communities and grids; N high-rise buildings with their registry data; one user per role; the
year's “除险清患” campaign; and about 120 days of inspections, findings, rectification ledger
rows with their histories, and supervision listings (挂牌督办), covering every state a user
can meet.

Reproducibility: every value comes from ``random.Random`` streams seeded from ``seed`` and
all times derive from ``today``, so the same ``seed``, ``today`` and ``buildings`` give the
same rows (ids included, on an empty database). Three columns are deliberately *not*
reproducible because they are secrets or security nonces: ``Building.qr_token`` (from
``new_qr_token()``, the public code must not be guessable from the seed), ``User.session_nonce``
and the salt inside ``User.password_hash``.

Scale: registry and history rows are built as plain dicts and written with bulk Core
``INSERT``s in chunks of a few thousand rows, a thousand buildings at a time, so memory stays
flat. Ids are assigned here (after the current maximum of each table; PostgreSQL sequences are
moved past them afterwards), which lets findings, hazards and events reference each other
without a round trip. Nothing is thinned out for size: about 60 % of the buildings (80 % in the
inspector's grid) are surveyed, every inspection answers every applicable checklist item with
one finding, and hazards come only from failed findings. 50,000 buildings (≈ 1.9 million
findings) take 30–40 seconds on SQLite.

Needs an application context (the district's time zone and the deadline settings come from the
app's configuration).
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from .checklists import DEFAULT_CATALOG_PATH, applies, current_checklist, load_checklist
from .classification import building_class, is_super_high_rise
from .hazards import default_deadline
from .models import (
    Area,
    Building,
    Campaign,
    Checklist,
    ChecklistItem,
    Finding,
    Hazard,
    HazardEvent,
    Inspection,
    Supervision,
    User,
    building_manager,
    new_qr_token,
)
from .thresholds import evaluate

DEFAULT_TIMEZONE = "Asia/Shanghai"
CHUNK = 5000
HISTORY_DAYS = 120
# Below this many buildings every district-wide guarantee (≥ 10 buildings in the inspector's
# grid, every hazard state there) can be met; smaller districts get what fits.
MIN_FULL_DEMO = 12

# ---------------------------------------------------------------------------------------------
# Place names. Streets and communities are those of 綦江区 or plausible for it; roads, estates
# and companies are invented for the demo.
# ---------------------------------------------------------------------------------------------

STREETS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "GN",
        "古南街道",
        ("中山路社区", "沙溪社区", "桥河社区", "九龙社区"),
        ("滨河路", "沿河路", "中山路", "九龙大道", "沙溪路", "桥河路", "北街"),
    ),
    (
        "WL",
        "文龙街道",
        ("文龙社区", "沱湾社区", "双龙社区", "营盘山社区"),
        ("文龙大道", "金福路", "双龙路", "沱湾路", "营盘山路", "綦河路"),
    ),
    (
        "TH",
        "通惠街道",
        ("通惠社区", "南州社区", "河东社区", "陵园社区"),
        ("通惠大道", "南州大道", "河东路", "陵园路", "新华路"),
    ),
    (
        "XS",
        "新盛街道",
        ("新盛社区", "盛和社区", "永丰社区", "工业园社区"),
        ("新盛大道", "盛和路", "永丰路", "工业园路", "綦齿路"),
    ),
    (
        "SJ",
        "三江街道",
        ("三江社区", "河西社区", "桥东社区", "綦江社区"),
        ("三江大道", "綦江大道", "重庆南路", "河西路", "桥东路"),
    ),
    (
        "YX",
        "永新镇",
        ("永新社区", "场镇社区", "长生社区"),
        ("永新大道", "场镇路", "长生路", "新街"),
    ),
)
GRID_NAMES = ("第一网格", "第二网格", "第三网格")

RESIDENTIAL_ESTATES = (
    "滨江花园",
    "金科天湖",
    "阳光水岸",
    "世纪江山",
    "东方明珠花园",
    "綦河湾",
    "九龙华府",
    "翠湖天地",
    "江南印象",
    "新城国际",
    "锦绣山庄",
    "沙溪新城",
    "北渡雅居",
    "香樟林",
    "御景湾",
    "书香苑",
    "南州名城",
    "金福苑",
    "紫御江山",
    "通惠佳苑",
    "盛和家园",
    "万家丽城",
    "中央公园",
    "滨河壹号",
    "和平花园",
    "凤凰城",
    "长江丽景",
    "桃源居",
    "天奇花园",
    "龙湾一号",
    "学府名苑",
    "东郡花园",
    "河滨春天",
    "锦江华庭",
    "綦江明珠",
    "龙腾佳苑",
    "福星花园",
    "半岛国际",
    "西城丽景",
    "宏帆广场花园",
)
ESTATE_PHASES = ("", "二期", "三期", "四期", "五期", "六期")
NAME_WORDS = (
    "金源",
    "华龙",
    "东部",
    "綦河",
    "九龙",
    "文龙",
    "通惠",
    "南州",
    "世纪",
    "国贸",
    "新盛",
    "滨江",
    "古南",
    "锦城",
    "恒通",
    "鼎盛",
    "兴隆",
    "嘉禾",
    "银河",
    "天城",
)
# (name template, class I by use, assembly occupancy). GB 50016 5.1.1: medical buildings and
# large shops/financial buildings are class I whatever their height.
PUBLIC_KINDS: tuple[tuple[str, bool, bool], ...] = (
    ("{w}大厦", False, False),
    ("{w}商务中心", False, False),
    ("{w}国际酒店", False, True),
    ("{w}商业广场", True, True),
    ("{w}购物中心", True, True),
    ("{w}医院住院综合楼", True, False),
    ("{w}公寓", False, False),
    ("{w}金融大厦", True, False),
)
MIXED_KINDS = ("{w}时代广场", "{w}中心", "{w}财富广场", "{w}商住楼", "万达广场")
COMPANIES = (
    "重庆綦鑫物业服务有限公司",
    "重庆河畔物业管理有限公司",
    "綦江区城投物业管理有限公司",
    "重庆锦程物业服务有限公司",
    "重庆安居乐物业管理有限公司",
    "重庆华庭物业服务有限公司",
    "重庆嘉禾物业管理有限公司",
    "重庆九龙物业服务有限公司",
    "重庆盛世商业管理有限公司",
    "重庆恒信物业服务有限公司",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "建国",
    "志强",
    "晓东",
    "红梅",
    "海燕",
    "国庆",
    "永红",
    "德明",
    "小平",
    "玉兰",
    "文斌",
    "春梅",
    "世林",
    "光荣",
)
FUNDING = {
    "managed": ("物业专项维修资金", "管理单位自筹", "业主共同承担", "物业服务费列支"),
    "public": ("管理单位自筹", "产权单位自筹", "经营单位自筹"),
    "unmanaged": ("财政专项资金", "老旧小区改造资金", "街道代管经费", "业主共同承担"),
}
# Where a problem of each item is typically seen ({u} unit, {f} floor, {d} side); items about
# paperwork or training have no place.
_STAIRS = ("{u}单元疏散楼梯间", "{u}单元{f}层走道")
_LANE = ("小区{d}侧消防车道", "小区入口道闸处")
_SHAFT = ("{u}单元{f}层电缆井", "{u}单元{f}层管道井")
_SPRINKLER = ("{u}单元末端试水装置", "地下车库末端试水装置")
LOCATIONS: dict[str, tuple[str, ...]] = {
    "FAC-01": ("屋顶试验消火栓",),
    "FAC-02": ("屋顶试验消火栓",),
    "FAC-03": ("{u}单元{f}层消火栓箱",),
    "FAC-04": ("{u}单元{f}层消火栓箱", "{u}单元{f}层灭火器箱"),
    "FAC-05": ("小区{d}侧室外消火栓", "小区{d}侧水泵接合器"),
    "FAC-06": ("负一层消防水泵房",),
    "FAC-07": ("屋顶消防水箱间", "负一层消防水池"),
    "FAC-08": _SPRINKLER,
    "FAC-16": _SPRINKLER,
    "FAC-17": _SPRINKLER,
    "FAC-09": ("消防控制室",),
    "FAC-10": ("{u}单元{f}层前室送风口", "屋顶排烟风机房"),
    "FAC-11": ("配电房气体灭火系统",),
    "FAC-12": ("{u}单元{f}层", "地下车库"),
    "FAC-13": ("{u}单元{f}层", "地下车库"),
    "FAC-14": ("{u}单元疏散楼梯间", "地下车库"),
    "FAC-15": ("{u}单元消防电梯",),
    "LIFE-01": _LANE,
    "LIFE-02": _LANE,
    "LIFE-12": _LANE,
    "LIFE-03": ("消防车登高操作场地",),
    "LIFE-04": ("地下车库",),
    "LIFE-05": _STAIRS,
    "LIFE-06": ("首层安全出口", "{u}单元屋顶出口"),
    "LIFE-07": ("{u}单元{f}层防火门", "{u}单元疏散楼梯间"),
    "LIFE-08": ("{u}单元{f}层常闭防火门",),
    "LIFE-09": ("地下车库防火卷帘", "裙楼防火卷帘"),
    "LIFE-10": ("避难层",),
    "LIFE-11": ("{u}单元{f}层外窗",),
    "ELEC-01": ("{u}单元首层门厅", "{u}单元{f}层走道"),
    "ELEC-02": ("{u}单元首层门厅", "{u}单元{f}层走道"),
    "ELEC-03": ("{u}单元电梯",),
    "ELEC-04": ("电动自行车集中充电棚",),
    "ELEC-05": ("{u}单元{f}层走道", "一楼架空层"),
    "ELEC-06": _SHAFT,
    "ELEC-07": _SHAFT,
    "ELEC-08": ("配电房", "{u}单元首层配电箱"),
    "ELEC-09": ("裙楼商铺", "{u}单元{f}层住户"),
    "ELEC-10": ("裙楼商铺",),
    "ELEC-11": ("裙楼餐饮商铺",),
    "BLDG-01": ("屋顶平台", "一楼架空层"),
    "BLDG-02": ("{u}单元{f}层",),
    "BLDG-03": ("裙楼商铺",),
    "BLDG-04": ("地下车库", "裙楼"),
    "BLDG-05": ("外墙",),
    "BLDG-06": ("外墙",),
    "BLDG-07": _STAIRS,
    "BLDG-08": ("负一层消防水泵房", "配电房"),
}
GENERIC_MEASURES = (
    "落实整改责任人和整改资金，限期整改；整改期间采取临时防范措施，整改完成后报验收。"
)
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


@dataclass
class DemoResult:
    """What ``generate`` created: usernames by role, and row counts.

    ``hazard_states`` counts the ledger by the states a user sees: ``open`` (within deadline),
    ``overdue`` (open, deadline before ``today``), ``submitted``, ``closed``, ``fixed_on_spot``,
    and ``supervised`` (listed for supervision, whatever the status).
    """

    users: dict[str, str]
    areas: int = 0
    buildings: int = 0
    high_rise: int = 0
    inspected_buildings: int = 0
    inspections: dict[str, int] = field(default_factory=dict)
    findings: int = 0
    hazards: int = 0
    hazard_states: dict[str, int] = field(default_factory=dict)
    hazard_events: int = 0
    supervisions: int = 0
    campaign_id: int | None = None
    checklist: str = ""

    def summary(self) -> str:
        """One line for the CLI."""
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.inspections.items()))
        states = ", ".join(f"{k} {v}" for k, v in self.hazard_states.items())
        return (
            f"{self.areas} areas, {self.buildings} buildings ({self.high_rise} high-rise, "
            f"{self.inspected_buildings} inspected), inspections: {kinds}; "
            f"{self.findings} findings, {self.hazards} hazards ({states}), "
            f"{self.hazard_events} hazard events, {self.supervisions} supervision listings; "
            f"checklist {self.checklist}"
        )


# ---------------------------------------------------------------------------------------------
# Plans: plain objects describing what will be inserted.
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _ItemSpec:
    """A checklist item reduced to what the generator reads in its inner loop."""

    id: int
    code: str
    category: str
    numeric: bool
    unit: str
    rules: list[dict[str, Any]]
    severity: str
    fix_on_spot: bool
    direct: bool
    text_zh: str
    measures: str
    fail_rate: float
    reading: Reading
    orm: ChecklistItem


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


@dataclass
class _Ctx:
    """Everything the history pass needs, gathered once."""

    rng: random.Random
    tz: ZoneInfo
    today: date
    horizon: datetime  # history ends before the start of ``today`` in the district
    checklist_id: int
    campaign: Campaign
    users: dict[str, User]
    item_sets: dict[tuple[str | None, frozenset[str]], list[_ItemSpec]]
    verdicts: dict[tuple[int, str | None, frozenset[str], Decimal], tuple[str, str | None, str]]
    ids: dict[str, int]
    counts: Counter[str]
    inspections: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    hazards: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    supervisions: list[dict[str, Any]] = field(default_factory=list)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def generate(
    session: Session,
    *,
    buildings: int = 300,
    seed: int = 2023,
    password: str,
    today: date,
) -> DemoResult:
    """Create the demo district in ``session``; flush, never commit; print nothing.

    Assumes an empty database at schema head. Uses the current checklist, loading the shipped
    catalog when none is loaded. Creates users ``inspector``, ``manager``, ``street``, ``fire``
    and ``admin``, all with ``password``. With at least ``MIN_FULL_DEMO`` buildings the
    inspector's grid holds ≥ 10 buildings, and both that grid and the manager's buildings hold
    hazards in every state (open, overdue, submitted, closed, fixed on the spot, supervised)
    and buildings of every code colour (red, yellow, green, grey).

    :raise ValueError: ``buildings`` < 1 or an empty ``password``.
    """
    if buildings < 1:
        raise ValueError("buildings must be at least 1")
    if not password:
        raise ValueError("password must not be empty")
    tz = ZoneInfo(current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE))
    checklist = _checklist(session)
    # Independent streams per stage, so that a change in one stage does not reshuffle the rest.
    streams = {name: random.Random(f"{seed}:{name}") for name in ("areas", "buildings", "history")}
    # The registry existed before the history starts; fixed times keep rows reproducible.
    registered_at = _local(today - timedelta(days=HISTORY_DAYS + 30), 9 * 60, tz)

    areas, streets, grids = _make_areas(session, streams["areas"])
    plans = _plan_buildings(streams["buildings"], buildings, streets, grids, registered_at)
    users = _make_users(session, areas, streets, grids, password, registered_at)
    manager_plans = _assign_manager(streams["buildings"], plans, users["manager"])
    _force_27m(streams["buildings"], plans)
    _ensure_multi_owner(streams["buildings"], plans)
    _assign_profiles(manager_plans)

    base = _id_bases(session)
    for plan in plans:
        base["building"] += 1
        plan.row["id"] = base["building"]
    _insert(session, Building, [p.row for p in plans])
    session.execute(
        insert(building_manager),
        [{"building_id": p.row["id"], "user_id": users["manager"].id} for p in manager_plans],
    )

    campaign = _make_campaign(session, checklist, areas[0], today, registered_at)
    ctx = _Ctx(
        rng=streams["history"],
        tz=tz,
        today=today,
        horizon=_local(today, 0, tz),
        checklist_id=checklist.id,
        campaign=campaign,
        users=users,
        item_sets={},
        verdicts={},
        ids=base,
        counts=Counter(),
    )
    specs = _item_specs(checklist)
    _history(session, ctx, plans, specs)
    _fix_sequences(session)
    session.flush()

    states = ("open", "overdue", "submitted", "closed", "fixed_on_spot", "supervised")
    return DemoResult(
        users={role: user.username for role, user in users.items()},
        areas=len(areas),
        buildings=len(plans),
        high_rise=sum(1 for p in plans if p.building_class is not None),
        inspected_buildings=ctx.counts["inspected_buildings"],
        inspections={
            k.removeprefix("kind:"): v for k, v in ctx.counts.items() if k.startswith("kind:")
        },
        findings=ctx.counts["findings"],
        hazards=ctx.counts["hazards"],
        hazard_states={s: ctx.counts[f"state:{s}"] for s in states},
        hazard_events=ctx.counts["events"],
        supervisions=ctx.counts["supervisions"],
        campaign_id=campaign.id,
        checklist=f"{checklist.code} {checklist.version}",
    )


# ---------------------------------------------------------------------------------------------
# Checklist, areas, users, campaign
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Buildings
# ---------------------------------------------------------------------------------------------


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _mobile(rng: random.Random) -> str:
    # 1380000xxxx-style numbers: obviously fake, never a real subscriber's.
    return f"{rng.choice(('138', '139', '137', '136'))}0000{rng.randrange(10_000):04d}"


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


def _id_bases(session: Session) -> dict[str, int]:
    """The current maximum id of each table the generator fills with explicit ids."""
    models = {
        "building": Building,
        "inspection": Inspection,
        "finding": Finding,
        "hazard": Hazard,
        "hazard_event": HazardEvent,
        "supervision": Supervision,
    }
    return {
        name: session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0
        for name, model in models.items()
    }


def _insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Bulk-insert ``rows`` (all with the same keys) in chunks.

    Every row carries every key (None included), so each chunk is one ``executemany``.
    """
    # Core INSERT on the mapped table: the ORM's bulk path costs as much again per row.
    statement = insert(model.__table__)
    for start in range(0, len(rows), CHUNK):
        session.execute(statement, rows[start : start + CHUNK])


def _fix_sequences(session: Session) -> None:
    """PostgreSQL: move the id sequences past the ids assigned here."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("building", "inspection", "finding", "hazard", "hazard_event", "supervision"):
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


# ---------------------------------------------------------------------------------------------
# History: inspections, findings, hazards and their events
# ---------------------------------------------------------------------------------------------

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

# (at, actor, role, action, new status or None for no change, note)
Change = tuple[datetime, User | None, str | None, str, str | None, str]


@dataclass(slots=True)
class _Pending:
    """A hazard of the building being generated, with its changes until they become events."""

    id: int
    value: Decimal | None
    reason: str | None
    changes: list[Change]
    row: dict[str, Any]

    def status_at(self, moment: datetime) -> str | None:
        status = None
        for at, _actor, _role, _action, to_status, _note in sorted(self.changes, key=_at):
            if at > moment:
                break
            status = to_status or status
        return status


def _at(change: Change) -> datetime:
    return change[0]


def _local(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """``minutes`` after local midnight of ``day``, as an aware UTC datetime."""
    return (datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minutes)).astimezone(UTC)


def _item_specs(checklist: Checklist) -> list[_ItemSpec]:
    return [
        _ItemSpec(
            id=item.id,
            code=item.code,
            category=item.category,
            numeric=item.answer_type == "numeric",
            unit=item.unit or "",
            rules=list(item.rules or []),
            severity=item.default_severity,
            fix_on_spot=bool(item.fix_on_spot),
            direct=item.gb35181_direct,
            text_zh=item.text_zh,
            measures="；".join(item.measures_zh or []) or GENERIC_MEASURES,
            fail_rate=FAIL_RATE.get(item.category, DEFAULT_FAIL_RATE),
            reading=READINGS.get(item.code) or UNIT_READINGS.get(item.unit or "", DEFAULT_READING),
            orm=item,
        )
        for item in checklist.items
    ]


def _applicable(ctx: _Ctx, specs: list[_ItemSpec], plan: _BuildingPlan) -> list[_ItemSpec]:
    """The items asked for a building; they depend only on its class and flags, so cached."""
    key = (plan.building_class, plan.flags)
    found = ctx.item_sets.get(key)
    if found is None:
        found = [s for s in specs if applies(s.orm.applies_to, plan.building_class, plan.flags)]
        ctx.item_sets[key] = found
    return found


def _history(
    session: Session, ctx: _Ctx, plans: list[_BuildingPlan], specs: list[_ItemSpec]
) -> None:
    """Plan every building's visits, then generate and write them a batch at a time."""
    rng = ctx.rng
    surveyed: dict[int, list[tuple[_BuildingPlan, int]]] = {}  # street → (plan, days ago)
    schedule: list[list[tuple[str, int]]] = []  # per building: (kind, days before today)
    for plan in plans:
        visits: list[tuple[str, int]] = []
        if plan.profile in SHOWCASE_DAYS:
            # Counted for the sampling rate, never drawn: a showcase keeps its single visit.
            visits.append(("survey", SHOWCASE_DAYS[plan.profile]))
            surveyed.setdefault(plan.street_index, []).append((plan, 0))
        elif plan.profile is None:
            if rng.random() < (INSPECTOR_GRID_SHARE if plan.grid_index == 0 else INSPECTED_SHARE):
                days = rng.randint(1, HISTORY_DAYS)
                visits.append(("survey", days))
                surveyed.setdefault(plan.street_index, []).append((plan, days))
            if plan.managed and rng.random() < 0.7:
                visits.append(("self_check", rng.randint(1, HISTORY_DAYS)))
        schedule.append(visits)
    # Department spot checks (部门抽查) follow the street's survey: per street, at least the
    # campaign's rate (10 % public and mixed, 5 % residential) of the surveyed buildings,
    # drawn among those surveyed at least two days ago so that the check can come after.
    rates = {
        True: float(ctx.campaign.sample_rate_residential),
        False: float(ctx.campaign.sample_rate_public),
    }
    spot: dict[str, int] = {}
    for street_plans in surveyed.values():
        for residential in (False, True):
            group = [
                (p, d) for p, d in street_plans if (p.row["use"] == "residential") == residential
            ]
            eligible = [(p, d) for p, d in group if d >= 2]
            wanted = min(len(eligible), math.ceil(len(group) * rates[residential]))
            for p, d in rng.sample(eligible, wanted):
                spot[p.row["code"]] = rng.randint(1, d - 1)
    pending = 0
    for plan, visits in zip(plans, schedule, strict=True):
        if plan.row["code"] in spot:
            visits.append(("spot_check", spot[plan.row["code"]]))
        if not visits:
            continue
        ctx.counts["inspected_buildings"] += 1
        _building_history(ctx, specs, plan, visits)
        pending += 1
        if pending >= BATCH_BUILDINGS:
            _write(session, ctx)
            pending = 0
    _write(session, ctx)


def _write(session: Session, ctx: _Ctx) -> None:
    """Insert the buffered rows in foreign-key order and empty the buffers."""
    for model, rows in (
        (Inspection, ctx.inspections),
        (Finding, ctx.findings),
        (Supervision, ctx.supervisions),
        (Hazard, ctx.hazards),
        (HazardEvent, ctx.events),
    ):
        if rows:
            _insert(session, model, rows)
            rows.clear()


def _building_history(
    ctx: _Ctx, specs: list[_ItemSpec], plan: _BuildingPlan, visits: list[tuple[str, int]]
) -> None:
    """All visits of one building in time order, then the events of its hazards."""
    rng = ctx.rng
    items = _applicable(ctx, specs, plan)
    forced = _forced_failures(items, plan.profile)
    ledger: dict[int, _Pending] = {}  # item id → its latest hazard
    hazards: list[_Pending] = []
    for kind, days_ago in sorted(visits, key=lambda v: -v[1]):
        day = ctx.today - timedelta(days=days_ago)
        started = _local(day, rng.randint(8 * 60 + 30, 16 * 60), ctx.tz)
        submitted = started + timedelta(minutes=rng.randint(25, 80))
        user = ctx.users[VISITOR[kind]]
        inspection_id = ctx.next_id("inspection")
        ctx.counts[f"kind:{kind}"] += 1
        ctx.inspections.append(
            {
                "id": inspection_id,
                "client_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "content_sha256": None,
                "kind": kind,
                "building_id": plan.row["id"],
                "checklist_id": ctx.checklist_id,
                "campaign_id": ctx.campaign.id,
                "inspector_id": user.id,
                "started_at": started,
                "submitted_at": submitted,
                "latitude": Decimal(f"{plan.latitude + rng.uniform(-2e-4, 2e-4):.6f}"),
                "longitude": Decimal(f"{plan.longitude + rng.uniform(-2e-4, 2e-4):.6f}"),
                "note": None,
            }
        )
        for spec in items:
            created = _answer(ctx, plan, spec, inspection_id, submitted, user, forced, ledger)
            if created is not None:
                hazards.append(created)
                ledger[spec.id] = created
        forced = {}  # forced answers belong to the first visit only
    _list_for_supervision(ctx, plan, hazards)
    for hazard in hazards:
        _emit_events(ctx, hazard)


def _forced_failures(items: list[_ItemSpec], profile: str | None) -> dict[int, str]:
    """For a showcase building: which items fail and the state each hazard must end in."""
    if profile not in SHOWCASE_DAYS:
        return {}
    plain = [s for s in items if not s.numeric and not s.direct]
    major = [s for s in plain if s.severity == "major" and not s.fix_on_spot]
    general = [s for s in plain if s.severity == "general" and not s.fix_on_spot]
    general = general or [s for s in plain if not s.fix_on_spot] or plain
    fixable = [s for s in plain if s.fix_on_spot] or general
    wanted = {
        "red": ((major or general, "supervised"), (general, "overdue")),
        "yellow": ((general, "open"), (general, "submitted")),
        "green": ((fixable, "fixed_on_spot"), (general, "closed")),
    }[profile]
    chosen: dict[int, str] = {}
    for pool, state in wanted:
        spec = next((s for s in pool if s.id not in chosen), None)
        if spec is not None:
            chosen[spec.id] = state
    return chosen


def _answer(
    ctx: _Ctx,
    plan: _BuildingPlan,
    spec: _ItemSpec,
    inspection_id: int,
    at: datetime,
    user: User,
    forced: dict[int, str],
    ledger: dict[int, _Pending],
) -> _Pending | None:
    """One finding for one item; returns the new hazard when the item newly fails."""
    rng = ctx.rng
    ctx.counts["findings"] += 1
    row: dict[str, Any] = {
        "id": ctx.next_id("finding"),
        "inspection_id": inspection_id,
        "item_id": spec.id,
        "result": "pass",
        "value": None,
        "reason": None,
        "note": None,
    }
    ctx.findings.append(row)
    known = ledger.get(spec.id)
    if known is not None and known.status_at(at) == "open":
        # Still open on the ledger: a later visit sees the same problem, records it as still
        # present on the existing hazard and opens no new one.
        row.update(
            result="fail", value=known.value, reason=known.reason, note="隐患仍存在，已在整改清单中"
        )
        known.changes.append((at, user, user.role, "confirmed_present", None, "复查：隐患仍存在"))
        return None
    forced_state = forced.get(spec.id)
    fail = forced_state is not None or rng.random() < spec.fail_rate * plan.condition
    severity = spec.severity
    reason = None
    if spec.numeric:
        value = _reading(rng, spec.reading[1] if fail else spec.reading[0])
        result, rule_severity, reason = _verdict(ctx, spec, plan, value)
        row.update(value=value, reason=reason)
        if result != "fail":
            return None
        severity = rule_severity or severity
    elif not fail:
        if rng.random() < NA_RATE:
            row.update(result="na", reason="现场不具备检查条件，下次补查")
        return None
    location = _location(rng, spec.code, plan.row["storeys"])
    row.update(result="fail", note=location)
    if reason:
        description = f"{reason}（{location}）" if location else reason
    else:
        description = (
            f"{location}：不符合“{spec.text_zh}”" if location else f"不符合“{spec.text_zh}”"
        )
    return _hazard(ctx, plan, spec, row, at, user, severity, description, forced_state)


def _reading(rng: random.Random, alternatives: Sequence[tuple[float, float, int]]) -> Decimal:
    low, high, decimals = rng.choice(alternatives)
    if decimals == 0:
        return Decimal(rng.randint(int(low), int(high)))
    return Decimal(f"{rng.uniform(low, high):.{decimals}f}")


def _location(rng: random.Random, code: str, storeys: int) -> str | None:
    """Where in the building a problem was seen; None for paperwork and training items."""
    templates = LOCATIONS.get(code)
    if not templates:
        return None
    return rng.choice(templates).format(
        u=rng.randint(1, 3), f=rng.randint(1, max(1, storeys)), d=rng.choice("东南西北")
    )


def _verdict(
    ctx: _Ctx, spec: _ItemSpec, plan: _BuildingPlan, value: Decimal
) -> tuple[str, str | None, str]:
    """(finding result, severity, reason) of a reading under the item's threshold rules.

    As on the inspection form, ``warn`` is recorded as a pass with its reason: it is not a
    hazard. Cached, because readings repeat and ``evaluate`` validates the rules every time.
    """
    key = (spec.id, plan.building_class, plan.flags, value)
    cached = ctx.verdicts.get(key)
    if cached is None:
        verdict = evaluate(
            spec.rules,
            value,
            building_class=plan.building_class,
            flags=plan.flags,
            unit=spec.unit,
        )
        result = "fail" if verdict.result == "fail" else "pass"
        cached = (result, verdict.severity if result == "fail" else None, verdict.reason_zh)
        ctx.verdicts[key] = cached
    return cached


def _hazard(
    ctx: _Ctx,
    plan: _BuildingPlan,
    spec: _ItemSpec,
    finding: dict[str, Any],
    at: datetime,
    user: User,
    severity: str,
    description: str,
    forced: str | None,
) -> _Pending:
    """Append a hazard in today's state; its changes become events once the building is done."""
    rng = ctx.rng
    hazard_id = ctx.next_id("hazard")
    created_day = at.astimezone(ctx.tz).date()
    age_days = (ctx.horizon - at).total_seconds() / 86400
    status, supervised = _pick_status(rng, plan, spec, severity, age_days, forced)
    deadline = default_deadline(spec.orm, severity, today=created_day, campaign=ctx.campaign)
    if forced == "overdue" and deadline >= ctx.today:
        deadline = ctx.today - timedelta(days=12)
    elif forced in ("open", "submitted") and deadline < ctx.today:
        deadline = ctx.today + timedelta(days=10)
    if supervised and not (severity == "major" or spec.direct) and deadline >= ctx.today:
        supervised = False  # only overdue general hazards are escalated

    unit = plan.row["management_unit"]
    if unit is None:
        responsible = f"{plan.street_name}{'人民政府' if plan.is_town else '办事处'}"
        funding = rng.choice(FUNDING["unmanaged"])
    else:
        responsible = unit
        funding = rng.choice(FUNDING["public" if plan.row["use"] == "public" else "managed"])
    changes, closed_at, supervised_at = _timeline(
        ctx, plan, at, user, status, supervised, severity == "major" or spec.direct
    )
    fixed = status == "fixed_on_spot"
    ctx.hazards.append(
        {
            "id": hazard_id,
            "building_id": plan.row["id"],
            "finding_id": finding["id"],
            "item_id": spec.id,
            "category": spec.category,
            "severity": severity,
            "gb35181_direct": spec.direct,
            "description": description,
            # Fixed on the spot means no plan line, as when recorded through the form.
            "responsible_party": None if fixed else responsible,
            "measures": None if fixed else spec.measures,
            "deadline": None if fixed else deadline,
            "funding": None if fixed else funding,
            "status": status,
            "supervised_at": supervised_at,
            "supervision_id": None,
            "created_at": at,
            "closed_at": closed_at,
            "created_by_id": user.id,
            "version": 1,
        }
    )
    ctx.counts["hazards"] += 1
    overdue = status == "open" and deadline < ctx.today
    ctx.counts["state:overdue" if overdue else f"state:{status}"] += 1
    if supervised_at is not None:
        ctx.counts["state:supervised"] += 1
    return _Pending(hazard_id, finding["value"], finding["reason"], changes, ctx.hazards[-1])


def _pick_status(
    rng: random.Random,
    plan: _BuildingPlan,
    spec: _ItemSpec,
    severity: str,
    age_days: float,
    forced: str | None,
) -> tuple[str, bool]:
    """The hazard's status today and whether it is listed for supervision (挂牌督办).

    Older hazards are more often closed; fixable ones are mostly fixed on the spot; open
    major ones are often supervised. Showcase buildings keep to their colour.
    """
    if forced is not None:
        return FORCED_STATES[forced]
    if spec.fix_on_spot and rng.random() < 0.7:
        return "fixed_on_spot", False
    serious = severity == "major" or spec.direct
    if plan.profile == "green" or (plan.profile == "yellow" and serious):
        return "closed", False
    if age_days < 1.5:
        status = "open"
    else:
        r = rng.random()
        p_closed = min(0.8, 0.1 + age_days / 100)
        status = "closed" if r < p_closed else "submitted" if r < p_closed + 0.12 else "open"
    if plan.profile == "yellow":
        if status != "closed" and plan.unclosed_left > 0:
            plan.unclosed_left -= 1
            return status, False
        return "closed", False
    supervised = status != "closed" and age_days > 4 and rng.random() < (0.4 if serious else 0.1)
    return status, supervised


def _timeline(
    ctx: _Ctx,
    plan: _BuildingPlan,
    at: datetime,
    user: User,
    status: str,
    supervised: bool,
    serious: bool,
) -> tuple[list[Change], datetime | None, datetime | None]:
    """The changes from recording to today's status: (changes, closed_at, supervised_at).

    Everything happens before the start of ``today``. Evidence comes from the manager's
    account for the manager's buildings, from the street office for buildings without a
    management unit, otherwise from the responsible party (no account in the demo). The fire
    brigade accepts major hazards and everything outside the street office's street; the
    street office accepts most general ones in its street.
    """
    rng = ctx.rng
    users = ctx.users
    if status == "fixed_on_spot":
        return (
            [
                (
                    at,
                    user,
                    user.role,
                    "fixed_on_spot",
                    "fixed_on_spot",
                    "能当场改正，已督促立即整改并拍照留存",
                )
            ],
            at,
            None,
        )
    end = ctx.horizon - timedelta(minutes=5)
    span = max(end - at, timedelta(minutes=10))

    def moment(low: float, high: float) -> datetime:
        # A working-hours time on a day between recording and yesterday.
        day = (at + span * rng.uniform(low, high)).astimezone(ctx.tz).date()
        when = _local(day, rng.randint(8 * 60 + 30, 18 * 60 + 30), ctx.tz)
        if when <= at:
            when = at + timedelta(minutes=rng.randint(10, 90))
        return min(when, end)

    if plan.row["management_unit"] is None:
        submitter = users["street"] if plan.street_index == 0 else None
        submitter_role = "street"
    else:
        submitter = users["manager"] if plan.managed else None
        submitter_role = "manager"
    if serious or plan.street_index != 0 or rng.random() < 0.3:
        acceptor = users["fire"]
    else:
        acceptor = users["street"]

    changes: list[Change] = [(at, user, user.role, "created", "open", "列入“一楼一策”整改清单")]
    closed_at = supervised_at = None
    rejected_once = status == "open" and rng.random() < 0.15
    if status in ("submitted", "closed") or rejected_once:
        reject = rejected_once or rng.random() < 0.15
        # submit [, reject [, submit again]] [, accept]
        steps = 1 + reject + (reject and status != "open") + (status == "closed")
        times = sorted(moment(0.05, 0.95) for _ in range(steps))
        t = iter(times)
        changes.append(
            (
                next(t),
                submitter,
                submitter_role,
                "evidence_submitted",
                "submitted",
                "已整改，上传整改后照片",
            )
        )
        if reject:
            changes.append(
                (next(t), acceptor, acceptor.role, "rejected", "open", "整改不到位，退回重新整改")
            )
            if status != "open":
                changes.append(
                    (
                        next(t),
                        submitter,
                        submitter_role,
                        "evidence_submitted",
                        "submitted",
                        "已重新整改，补充整改照片",
                    )
                )
        if status == "closed":
            closed_at = next(t)
            changes.append(
                (
                    closed_at,
                    acceptor,
                    acceptor.role,
                    "accepted",
                    "closed",
                    "经现场验收，整改到位，予以销号",
                )
            )
    if supervised:
        supervised_at = moment(0.02, 0.3)
        changes.append(
            (
                supervised_at,
                users["fire"],
                "fire",
                "supervised",
                None,
                "列入挂牌督办，下发《督办通知书》，限期书面报告整改情况",
            )
        )
    return changes, closed_at, supervised_at


def _list_for_supervision(ctx: _Ctx, plan: _BuildingPlan, hazards: list[_Pending]) -> None:
    """One supervision listing (挂牌督办) with its notice per inspection whose hazards were
    escalated: the listed hazards share its date, and the notice names the building's fire
    safety manager, the plan, the deadline and when the written report is due."""
    groups: dict[datetime, list[_Pending]] = {}
    for hazard in hazards:
        if hazard.row["supervised_at"] is not None:
            groups.setdefault(hazard.row["created_at"], []).append(hazard)
    for listed in groups.values():
        when = min(h.row["supervised_at"] for h in listed)
        supervision_id = ctx.next_id("supervision")
        for hazard in listed:
            hazard.row.update(supervised_at=when, supervision_id=supervision_id)
            hazard.changes = [c if c[3] != "supervised" else (when, *c[1:]) for c in hazard.changes]
        report_by = when.astimezone(ctx.tz).date() + timedelta(days=15)
        reported = report_by < ctx.today and ctx.rng.random() < 0.7
        ctx.supervisions.append(
            {
                "id": supervision_id,
                "building_id": plan.row["id"],
                "source": "hazards",
                "issues": "；".join(h.row["description"] for h in listed),
                "plan": "；".join(dict.fromkeys(h.row["measures"] for h in listed)),
                "responsible_person": plan.row["fire_manager_name"],
                "responsible_unit": listed[0].row["responsible_party"],
                "deadline": max(h.row["deadline"] for h in listed),
                "report_by": report_by,
                "status": "active",
                "report_note": "已制定整改方案，落实整改责任人和资金，正在整改"
                if reported
                else None,
                "reported_at": _local(report_by, 10 * 60, ctx.tz) if reported else None,
                "outcome": None,
                "created_by_id": ctx.users["fire"].id,
                "created_at": when,
                "closed_by_id": None,
                "closed_at": None,
            }
        )
        ctx.counts["supervisions"] += 1


def _emit_events(ctx: _Ctx, hazard: _Pending) -> None:
    """Turn a hazard's changes into events in time order (ids follow time, as in the app)."""
    status: str | None = None
    for at, actor, role, action, to_status, note in sorted(hazard.changes, key=_at):
        ctx.events.append(
            {
                "id": ctx.next_id("hazard_event"),
                "hazard_id": hazard.id,
                "actor_id": actor.id if actor else None,
                "actor_role": role,
                "action": action,
                "from_status": status,
                "to_status": to_status or status,
                "note": note,
                "data": None,
                "at": at,
            }
        )
        status = to_status or status
    ctx.counts["events"] += len(hazard.changes)
