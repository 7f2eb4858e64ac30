"""The fire safety code (消防安全码): a building's colour, computed live from its ledger.

Rules (first that applies wins; every rule yields reasons a person can read):

- **red**: an unclosed hazard that is major or a GB 35181 direct element; or under supervision
  (挂牌督办); or suspected major by the composite count of the active GB 35181 rule set
  (``major_hazards``; versioned data, e.g. 2017 5.3.2: ≥ 6 distinct composite elements
  unclosed, ≥ 4 in a people-dense place) unless the detachment dismissed exactly that flag; a
  major hazard past its deadline is red with the days overdue.
- **yellow**: any other unclosed hazard (open, or evidence submitted and awaiting acceptance).
- **green**: nothing unclosed and an inspection within the validity window.
- **grey**: nothing unclosed and no inspection within the window.

Nothing here is stored: the colour is a function of hazards, inspections and ``today``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import major_hazards
from .models import OPEN_STATUSES, Building, ChecklistItem, Hazard, Inspection

COLOURS = ("red", "yellow", "green", "grey")


@dataclass(frozen=True)
class Reason:
    category: str | None
    text: str


@dataclass(frozen=True)
class CodeStatus:
    colour: str
    reasons: tuple[Reason, ...]
    last_inspected_on: date | None


@dataclass
class _OpenHazard:
    category: str
    severity: str
    direct: bool
    description: str
    deadline: date | None
    supervised: bool
    status: str


def district_tz() -> ZoneInfo:
    """The district's time zone (``TIMEZONE``)."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_today() -> date:
    """Today's date in the district's time zone."""
    return datetime.now(district_tz()).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(district_tz()).date()


def local_time(moment: datetime | None) -> str:
    """A UTC timestamp as the district's local date and time, to the minute; "—" for none."""
    if moment is None:
        return "—"
    return moment.astimezone(district_tz()).strftime("%Y-%m-%d %H:%M")


def days_overdue(deadline: date | None, today: date) -> int:
    """Whole days past ``deadline`` (0 when not overdue or when there is no deadline)."""
    if deadline is None or deadline >= today:
        return 0
    return (today - deadline).days


def building_codes(
    session: Session, buildings: Iterable[Building], *, today: date, validity_days: int
) -> dict[int, CodeStatus]:
    """The code status of each building, in three queries whatever the number of buildings."""
    by_id = {b.id: b for b in buildings}
    if not by_id:
        return {}
    rules = major_hazards.active_ruleset()
    hazards: dict[int, list[_OpenHazard]] = defaultdict(list)
    elements: dict[int, list[major_hazards.HazardElements]] = defaultdict(list)
    rows = session.execute(
        select(Hazard, ChecklistItem.gb35181)
        .outerjoin(ChecklistItem, Hazard.item_id == ChecklistItem.id)
        .where(Hazard.building_id.in_(by_id), Hazard.status.in_(OPEN_STATUSES))
        .order_by(Hazard.id)
    )
    for hazard, gb in rows:
        hazards[hazard.building_id].append(
            _OpenHazard(
                category=hazard.category,
                severity=hazard.severity,
                direct=hazard.gb35181_direct,
                description=hazard.description,
                deadline=hazard.deadline,
                supervised=hazard.supervised_at is not None,
                status=hazard.status,
            )
        )
        elements[hazard.building_id].append(
            major_hazards.elements_of(
                hazard.id, hazard.description, hazard.gb35181_direct, gb, rules
            )
        )
    reviews = major_hazards.latest_reviews(session, elements)
    last = dict(
        session.execute(
            select(Inspection.building_id, func.max(Inspection.submitted_at))
            .where(Inspection.building_id.in_(by_id))
            .group_by(Inspection.building_id)
        ).all()
    )
    result = {}
    for building_id, building in by_id.items():
        last_at = last.get(building_id)
        if isinstance(last_at, datetime) and last_at.tzinfo is None:
            last_at = last_at.replace(tzinfo=UTC)  # SQLite aggregates lose the column type
        result[building_id] = code_status(
            hazards.get(building_id, []),
            last_inspected_on=local_date(last_at) if last_at else None,
            assessment=major_hazards.assess(
                elements.get(building_id, ()),
                places=rules.places_of(building),
                rules=rules,
                review=reviews.get(building_id),
            ),
            today=today,
            validity_days=validity_days,
        )
    return result


def building_code(session: Session, building: Building, *, today: date, validity_days: int):
    return building_codes(session, [building], today=today, validity_days=validity_days)[
        building.id
    ]


def code_status(
    hazards: list[_OpenHazard],
    *,
    last_inspected_on: date | None,
    assessment: major_hazards.Assessment | None,
    today: date,
    validity_days: int,
) -> CodeStatus:
    """Apply the colour rules to one building's unclosed hazards and last inspection date."""
    red: list[Reason] = []
    yellow: list[Reason] = []
    for h in hazards:
        late = days_overdue(h.deadline, today)
        if h.supervised:
            red.append(Reason(h.category, _("%(d)s，已挂牌督办", d=h.description)))
        elif h.direct:
            red.append(Reason(h.category, _("%(d)s（重大火灾隐患直接判定要素）", d=h.description)))
        elif h.severity == "major" and late:
            red.append(Reason(h.category, _("%(d)s，已超期 %(n)s 天", d=h.description, n=late)))
        elif h.severity == "major":
            red.append(Reason(h.category, _("%(d)s（重大隐患，未销号）", d=h.description)))
        elif late:
            yellow.append(Reason(h.category, _("%(d)s，已超期 %(n)s 天", d=h.description, n=late)))
        elif h.status == "submitted":
            yellow.append(Reason(h.category, _("%(d)s，整改材料待验收", d=h.description)))
        else:
            yellow.append(
                Reason(h.category, _("%(d)s，整改期限 %(date)s", d=h.description, date=h.deadline))
            )
    if assessment is not None and assessment.count_flagged:
        codes = sorted(
            {c for _rule, counted in assessment.met for c in counted},
            key=lambda c: tuple(int(p) for p in c.split(".")),
        )
        red.append(
            Reason(
                None,
                _(
                    "未整改的综合判定要素 %(n)s 项（%(codes)s），疑似重大火灾隐患，"
                    "待消防救援机构判定",
                    n=len(codes),
                    codes="、".join(codes),
                ),
            )
        )
    if red:
        return CodeStatus("red", tuple(red + yellow), last_inspected_on)
    if yellow:
        return CodeStatus("yellow", tuple(yellow), last_inspected_on)
    window_start = today - timedelta(days=validity_days)
    if last_inspected_on is not None and last_inspected_on >= window_start:
        return CodeStatus(
            "green",
            (Reason(None, _("隐患均已销号，%(date)s 已检查", date=last_inspected_on)),),
            last_inspected_on,
        )
    if last_inspected_on is None:
        return CodeStatus("grey", (Reason(None, _("尚未检查")),), None)
    return CodeStatus(
        "grey",
        (
            Reason(
                None,
                _(
                    "最近一次检查在 %(date)s，已超过 %(n)s 天",
                    date=last_inspected_on,
                    n=validity_days,
                ),
            ),
        ),
        last_inspected_on,
    )
