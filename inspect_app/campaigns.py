"""Campaigns (专项行动): their definition, which one is running, its current phase, and the
buildings it is about.

A campaign runs over an area from ``starts_on`` to ``ends_on`` (the district's dates, both
inclusive) in consecutive phases: each phase is stored with its end date only and starts the day
after the previous one ends (the first on the campaign's first day); the last one ends with the
campaign. ``category_deadlines`` maps a checklist category, or a checklist item tag such as
``water``, to the date hazards of that group are due (``hazards.default_deadline`` reads it).

The campaign's *population* is the high-rise buildings in service in its area: residential
above 27 m, public and mixed above 24 m with more than one storey (``classification``).

Functions here flush, never commit; permission checks are the caller's (``auth``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .classification import PUBLIC_HIGH_RISE_M, RESIDENTIAL_HIGH_RISE_M
from .models import Area, Building, Campaign, Checklist, ChecklistItem, SpotCheck

# What a phase is for: the dashboard measures progress against the current phase by it.
PHASE_KINDS = ("mobilise", "survey", "rectify", "consolidate", "other")
# Names of the item tags a deadline can be set for (other tags show their code).
TAG_NAMES = {"water": "消防给水（供水问题）"}
MAX_VALIDITY_DAYS = 3650
RATE_STEP = Decimal("0.001")


def seed_phases(year: int) -> list[dict[str, str]]:
    """The phases of the 2023 綦江区 plan (动员部署 by 3-20, 全面排查 by 4-30, 整治攻坚 by
    11-30, 巩固提升 by 12-31), in ``year``."""
    return [
        {"code": "mobilise", "name": "动员部署", "ends_on": f"{year}-03-20"},
        {"code": "survey", "name": "全面排查", "ends_on": f"{year}-04-30"},
        {"code": "rectify", "name": "整治攻坚", "ends_on": f"{year}-11-30"},
        {"code": "consolidate", "name": "巩固提升", "ends_on": f"{year}-12-31"},
    ]


def seed_deadlines(year: int) -> dict[str, str]:
    """The plan's per-group deadline: water supply problems rectified by 12-20."""
    return {"water": f"{year}-12-20"}


# ---------------------------------------------------------------------------------------------
# Which campaign, which phase
# ---------------------------------------------------------------------------------------------


def current_campaign(session: Session, today: date) -> Campaign | None:
    """The most recently started campaign running on ``today``, if any."""
    return session.scalar(
        select(Campaign)
        .where(Campaign.starts_on <= today, Campaign.ends_on >= today)
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        .limit(1)
    )


def running_for(session: Session, area: Area, today: date) -> Campaign | None:
    """The most recently started campaign running on ``today`` whose area contains
    ``area``."""
    return session.scalar(
        select(Campaign)
        .join(Area, Campaign.area_id == Area.id)
        .where(
            Campaign.starts_on <= today,
            Campaign.ends_on >= today,
            func.substr(area.path, 1, func.length(Area.path)) == Area.path,
        )
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        .limit(1)
    )


def validity_days(session: Session, today: date) -> int:
    """Days an inspection keeps a code out of grey: the running campaign's, else the default."""
    campaign = current_campaign(session, today)
    if campaign is not None:
        return campaign.validity_days
    return int(current_app.config["CODE_VALIDITY_DAYS"])


@dataclass(frozen=True)
class Phase:
    """One phase with both its dates (inclusive)."""

    number: int
    code: str
    name: str
    starts_on: date
    ends_on: date

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    def elapsed(self, today: date) -> float:
        """The share of the phase's days gone by the end of ``today`` (0–1)."""
        if today < self.starts_on:
            return 0.0
        return min(1.0, ((today - self.starts_on).days + 1) / self.days)

    def days_left(self, today: date) -> int:
        """Days from ``today`` to the phase's end, ``today`` included (0 once it is over)."""
        return max(0, (self.ends_on - today).days + 1)

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "code": self.code,
            "name": self.name,
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
        }


def phases(campaign: Campaign) -> list[Phase]:
    """The campaign's phases with their start dates, in order."""
    out: list[Phase] = []
    starts = campaign.starts_on
    for n, raw in enumerate(campaign.phases or (), 1):
        ends = date.fromisoformat(raw["ends_on"])
        out.append(Phase(n, raw.get("code") or "other", raw.get("name") or "", starts, ends))
        starts = ends + timedelta(days=1)
    return out


def current_phase(campaign: Campaign, today: date) -> Phase | None:
    """The phase ``today`` falls in; None before the campaign starts or after it ends."""
    for phase in phases(campaign):
        if phase.starts_on <= today <= phase.ends_on:
            return phase
    return None


def deadline_groups(checklist: Checklist | None, session: Session | None = None) -> dict[str, str]:
    """What a per-category deadline can be set for: the checklist's categories (code → name)
    and the tags its items carry (``water`` → 消防给水（供水问题）)."""
    if checklist is None:
        return {}
    groups = {c["code"]: c.get("zh") or c["code"] for c in checklist.categories or ()}
    if session is not None:
        tag_lists = session.scalars(
            select(ChecklistItem.tags).where(ChecklistItem.checklist_id == checklist.id)
        )
    else:
        tag_lists = (item.tags for item in checklist.items)
    for tags in tag_lists:
        for tag in tags or ():
            groups.setdefault(tag, TAG_NAMES.get(tag, tag))
    return groups


# ---------------------------------------------------------------------------------------------
# The population: SQL conditions on Building
# ---------------------------------------------------------------------------------------------


def high_rise_condition():
    """SQL: the building is a high-rise (same rule as ``classification.is_high_rise``)."""
    return or_(
        and_(Building.use == "residential", Building.height_m > RESIDENTIAL_HIGH_RISE_M),
        and_(
            Building.use != "residential",
            Building.height_m > PUBLIC_HIGH_RISE_M,
            Building.storeys != 1,
        ),
    )


def in_area_condition(area: Area):
    """SQL: the building lies in ``area``'s subtree."""
    return Building.area_id.in_(
        select(Area.id).where(Area.path.startswith(area.path, autoescape=True))
    )


def population_condition(campaign: Campaign):
    """SQL: the building is in the campaign's population (high-rise, in its area; whether it
    is in service is the ledger's own condition)."""
    return and_(high_rise_condition(), in_area_condition(campaign.area))


def campaign_node(campaign: Campaign, area: Area | None) -> Area | None:
    """The area a view of ``campaign`` from ``area`` is about: the deeper of the two when one
    contains the other, None when they do not meet."""
    if area is None:
        return None
    if area.path.startswith(campaign.area.path):
        return area
    if campaign.area.path.startswith(area.path):
        return campaign.area
    return None


def covers_condition(area_path: str):
    """SQL on ``Area`` (the campaign's area): it contains ``area_path`` or lies inside it."""
    return or_(
        Area.path.startswith(area_path, autoescape=True),
        func.substr(area_path, 1, func.length(Area.path)) == Area.path,
    )


# ---------------------------------------------------------------------------------------------
# Defining and editing a campaign
# ---------------------------------------------------------------------------------------------


class CampaignInvalid(Exception):
    """The definition is wrong; ``errors`` maps a field name (``phases-1-ends_on``…) to its
    messages in Chinese. Nothing was saved."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


@dataclass
class PhaseInput:
    code: str | None
    name: str | None
    ends_on: date | None


@dataclass
class DeadlineInput:
    group: str | None
    due_on: date | None


@dataclass
class CampaignInput:
    """A campaign definition as entered. Rates are fractions (0.1 for 10 %). Phase and
    deadline rows left entirely blank are ignored (forms offer spare rows)."""

    name: str | None
    area: Area | None
    checklist: Checklist | None
    starts_on: date | None
    ends_on: date | None
    phases: list[PhaseInput] = field(default_factory=list)
    deadlines: list[DeadlineInput] = field(default_factory=list)
    validity_days: int | None = None
    sample_rate_public: Decimal | None = None
    sample_rate_residential: Decimal | None = None


class _Errors(dict):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


def _rate(value, name: str, label: str, errors: _Errors) -> Decimal | None:
    if value is None:
        errors.add(name, f"请填写{label}")
        return None
    try:
        rate = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        errors.add(name, f"{label}必须是数字")
        return None
    if not rate.is_finite() or rate <= 0 or rate > 1:
        errors.add(name, f"{label}必须大于 0% 且不超过 100%")
        return None
    if rate != rate.quantize(RATE_STEP):
        errors.add(name, f"{label}最多保留一位小数（例如 10 或 12.5）")
        return None
    return rate


def check(data: CampaignInput, groups: dict[str, str]) -> tuple[list[dict], dict[str, str]]:
    """Check ``data``; return the phases and deadlines as stored. ``groups`` are the
    deadline groups of the chosen checklist (``deadline_groups``).

    :raise CampaignInvalid: with every problem found, by field.
    """
    errors = _Errors()
    if not (data.name or "").strip():
        errors.add("name", "请填写专项行动名称")
    elif len(data.name.strip()) > 200:
        errors.add("name", "名称不能超过 200 个字")
    if data.area is None:
        errors.add("area", "请选择专项行动的范围（区域）")
    elif data.area.level == "grid":
        errors.add("area", "专项行动的范围不能是网格，请选择区县、街道或社区")
    if data.checklist is None:
        errors.add("checklist", "请选择检查表版本")
    if data.starts_on is None:
        errors.add("starts_on", "请填写开始日期")
    if data.ends_on is None:
        errors.add("ends_on", "请填写结束日期")
    dated = data.starts_on is not None and data.ends_on is not None
    if dated and data.ends_on < data.starts_on:
        errors.add("ends_on", "结束日期不能早于开始日期")
        dated = False

    stored_phases: list[dict] = []
    previous: tuple[str, date] | None = None
    rows = [
        (i, p) for i, p in enumerate(data.phases) if (p.name or "").strip() or p.ends_on is not None
    ]
    if not rows:
        errors.add("phases", "请至少填写一个阶段（名称和截止日期）")
    for n, (i, p) in enumerate(rows, 1):
        name = (p.name or "").strip()
        code = p.code if p.code in PHASE_KINDS else "other"
        label = f"第 {n} 个阶段" + (f"“{name}”" if name else "")
        if not name:
            errors.add(f"phases-{i}-name", f"请填写{label}的名称")
        elif len(name) > 40:
            errors.add(f"phases-{i}-name", f"{label}的名称不能超过 40 个字")
        if p.ends_on is None:
            errors.add(f"phases-{i}-ends_on", f"请填写{label}的截止日期")
            previous = None
            continue
        if dated and p.ends_on < data.starts_on:
            errors.add(
                f"phases-{i}-ends_on",
                f"{label}的截止日期 {p.ends_on} 早于专项行动开始日期 {data.starts_on}",
            )
        elif dated and p.ends_on > data.ends_on:
            errors.add(
                f"phases-{i}-ends_on",
                f"{label}的截止日期 {p.ends_on} 晚于专项行动结束日期 {data.ends_on}",
            )
        elif previous is not None and p.ends_on <= previous[1]:
            errors.add(
                f"phases-{i}-ends_on",
                f"阶段日期重叠或颠倒：{label}的截止日期 {p.ends_on} 必须晚于上一阶段"
                f"“{previous[0]}”的截止日期 {previous[1]}",
            )
        previous = (name, p.ends_on)
        stored_phases.append({"code": code, "name": name, "ends_on": p.ends_on.isoformat()})
    last = rows[-1] if rows else None
    if (
        dated
        and last is not None
        and last[1].ends_on is not None
        and last[1].ends_on < data.ends_on
        and f"phases-{last[0]}-ends_on" not in errors
    ):
        errors.add(
            f"phases-{last[0]}-ends_on",
            f"最后一个阶段应在专项行动结束日期 {data.ends_on} 截止（现为 {last[1].ends_on}）",
        )

    deadlines: dict[str, str] = {}
    for i, d in enumerate(data.deadlines):
        if not d.group and d.due_on is None:
            continue
        name = f"deadlines-{i}"
        if not d.group:
            errors.add(f"{name}-group", "请选择该期限适用的类别")
            continue
        if d.group not in groups:
            errors.add(f"{name}-group", f"检查表中没有该类别：{d.group}")
            continue
        label = groups[d.group]
        if d.due_on is None:
            errors.add(f"{name}-due_on", f"请填写“{label}”的整改期限")
            continue
        if d.group in deadlines:
            errors.add(f"{name}-group", f"“{label}”的期限填写了两次")
            continue
        if dated and not (data.starts_on <= d.due_on <= data.ends_on):
            errors.add(
                f"{name}-due_on",
                f"“{label}”的整改期限 {d.due_on} 不在专项行动期间"
                f"（{data.starts_on} 至 {data.ends_on}）内",
            )
            continue
        deadlines[d.group] = d.due_on.isoformat()

    if data.validity_days is None:
        errors.add("validity_days", "请填写安全码有效期（天）")
    elif not 1 <= data.validity_days <= MAX_VALIDITY_DAYS:
        errors.add("validity_days", f"安全码有效期应在 1 到 {MAX_VALIDITY_DAYS} 天之间")
    data.sample_rate_public = _rate(
        data.sample_rate_public, "sample_rate_public", "公共建筑抽查比例", errors
    )
    data.sample_rate_residential = _rate(
        data.sample_rate_residential, "sample_rate_residential", "住宅建筑抽查比例", errors
    )
    if errors:
        raise CampaignInvalid(dict(errors))
    return stored_phases, deadlines


def save(session: Session, campaign: Campaign | None, data: CampaignInput) -> Campaign:
    """Create a campaign (``campaign`` None) or change one from ``data``; flush.

    The area cannot change once spot checks were drawn under the campaign (their
    populations belong to the old area).

    :raise CampaignInvalid: nothing is changed.
    """
    groups = deadline_groups(data.checklist, session)
    stored_phases, deadlines = check(data, groups)
    if (
        campaign is not None
        and data.area is not None
        and data.area.id != campaign.area_id
        and session.scalar(select(SpotCheck.id).where(SpotCheck.campaign_id == campaign.id))
    ):
        raise CampaignInvalid({"area": ["已在本专项行动中抽查过，范围（区域）不能再修改"]})
    if campaign is None:
        campaign = Campaign()
        session.add(campaign)
    campaign.name = data.name.strip()
    campaign.area_id = data.area.id
    campaign.area = data.area
    campaign.checklist_id = data.checklist.id
    campaign.starts_on = data.starts_on
    campaign.ends_on = data.ends_on
    campaign.phases = stored_phases
    campaign.category_deadlines = deadlines
    campaign.validity_days = data.validity_days
    campaign.sample_rate_public = data.sample_rate_public
    campaign.sample_rate_residential = data.sample_rate_residential
    session.flush()
    return campaign
