"""What anyone who scans a building's fire safety code may see, and the code's token.

The public view is an explicit allow-list (``public_view``): building name, address, use and
class, height and storeys, the code colour with its reasons summarised per category in plain
words (never a hazard's description, photo or location), the last inspection date, the contacts
the rules require to be posted (the fire-safety manager, 5号令第八条, and the management unit),
the manager's public commitment (公示承诺) and seasonal safety tips. Nothing else leaves this
module: no ids, no registry code, no inspector, no hazard detail. The page and the JSON are both
made from the same dictionary.

Tokens are 128-bit random strings (``models.new_qr_token``), unique per building, looked up by
exact match; a rotated token is simply gone, so it answers exactly like one never issued.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import labels
from .codes import CodeStatus, building_code, days_overdue, local_date
from .models import OPEN_STATUSES, Building, Hazard, new_qr_token

# token_urlsafe(16) gives 22 characters; anything outside this shape is not a token at all.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")

# Seasonal tips by month of the district's calendar (empty set: all year). Sources: 5号令
# 第三十七条 (e-bikes), 第四十二条 (what to remind residents of); the rest is common guidance.
TIPS: tuple[tuple[frozenset[int], object], ...] = (
    (
        frozenset(),
        _l(
            "电动自行车不要在楼道、楼梯间、门厅和安全出口停放或充电，不要推进电梯，"
            "请到集中停放充电点充电。"
        ),
    ),
    (frozenset(), _l("楼梯间、疏散通道和安全出口保持畅通，不堆放杂物；常闭式防火门随手关上。")),
    (
        frozenset({11, 12, 1, 2}),
        _l("取暖器、电热毯远离被褥和窗帘，人走断电；不要私拉乱接电线。"),
    ),
    (
        frozenset({11, 12, 1, 2, 3}),
        _l("使用燃气时保持通风；闻到燃气味先关阀门、开窗，不要开关电器或打电话。"),
    ),
    (frozenset({1, 2}), _l("春节期间不要在楼道、阳台和屋顶燃放烟花爆竹。")),
    (
        frozenset({6, 7, 8, 9}),
        _l("空调等大功率电器不要共用一个插线板；外出时关闭电源。"),
    ),
    (
        frozenset({3, 4, 5, 10}),
        _l("天气干燥，纸箱、旧家具等可燃物不要堆在楼道和地下室。"),
    ),
)


def building_for_token(session: Session, token: str) -> Building | None:
    """The building in service whose code carries ``token``; None for anything else
    (malformed, unknown, rotated away, or a retired building)."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None
    return session.scalar(
        select(Building).where(Building.qr_token == token, Building.retired_at.is_(None))
    )


def rotate_token(session: Session, building: Building) -> str:
    """Give ``building`` a new random token; the old one stops working when this commits.
    Every poster printed before must be replaced. Flushes; returns the new token."""
    old = building.qr_token
    token = new_qr_token()
    while token == old:  # pragma: no cover - 2**-128
        token = new_qr_token()
    building.qr_token = token
    session.flush()
    return token


def seasonal_tips(today: date) -> list[str]:
    """The tips for ``today``'s month: the all-year ones first."""
    return [str(text) for months, text in TIPS if not months or today.month in months]


def public_reasons(session: Session, building: Building, status: CodeStatus, today: date):
    """The colour's reasons in plain words, one line per category of unclosed problems:
    how many, whether any is serious, overdue or under supervision, whether they await
    acceptance. Counts only, never what the problems are."""
    rows = session.execute(
        select(
            Hazard.category,
            Hazard.severity,
            Hazard.gb35181_direct,
            Hazard.deadline,
            Hazard.supervised_at,
            Hazard.status,
        ).where(Hazard.building_id == building.id, Hazard.status.in_(OPEN_STATUSES))
    ).all()
    by_category: dict[str, list] = defaultdict(list)
    for row in rows:
        by_category[row.category].append(row)
    order = list(labels.CATEGORY)
    reasons = []
    for category in sorted(by_category, key=lambda c: (order.index(c) if c in order else 99, c)):
        group = by_category[category]
        n = len(group)
        waiting = sum(1 for h in group if h.status == "submitted")
        parts = [
            _("%(n)s 项问题已整改，等待验收", n=n)
            if waiting == n
            else _("%(n)s 项问题正在整改", n=n)
        ]
        if any(h.supervised_at is not None for h in group):
            parts.append(_("已挂牌督办"))
        elif any(h.severity == "major" or h.gb35181_direct for h in group):
            parts.append(_("含严重问题"))
        late = sum(1 for h in group if days_overdue(h.deadline, today))
        if late:
            parts.append(_("%(n)s 项已超过整改期限", n=late))
        reasons.append(
            {
                "category": category,
                "category_label": str(labels.CATEGORY.get(category, _("其他"))),
                "text": "，".join(parts),
            }
        )
    # The composite count is the one reason with no category (codes.code_status).
    if status.colour == "red" and any(r.category is None for r in status.reasons):
        reasons.append(
            {
                "category": None,
                "category_label": None,
                "text": _("多项问题叠加，正由消防救援机构核查"),
            }
        )
    if not reasons:
        if status.colour == "green":
            text = _("近期已检查，没有未整改的问题")
        elif status.last_inspected_on is None:
            text = _("尚未检查")
        else:
            text = _("最近一次检查已超过有效期，等待复查")
        reasons.append({"category": None, "category_label": None, "text": text})
    return reasons


def _contact(name: str | None, phone: str | None) -> dict[str, str | None] | None:
    name, phone = (name or "").strip() or None, (phone or "").strip() or None
    return {"name": name, "phone": phone} if name or phone else None


def public_view(session: Session, building: Building, *, today: date, validity_days: int) -> dict:
    """The allow-list of what the public sees of ``building`` (see the module docstring);
    JSON-ready (dates as ISO strings, labels as plain text)."""
    status = building_code(session, building, today=today, validity_days=validity_days)
    commitment = (building.public_commitment or "").strip()
    return {
        "name": building.name,
        "address": building.address,
        "use": building.use,
        "use_label": str(labels.USE[building.use]),
        "building_class": building.building_class,
        "class_label": str(labels.CLASS[building.building_class]),
        "height_m": float(building.height_m),
        "storeys": building.storeys,
        "colour": status.colour,
        "colour_label": str(labels.COLOUR[status.colour]),
        "reasons": public_reasons(session, building, status, today),
        "last_inspected_on": (
            status.last_inspected_on.isoformat() if status.last_inspected_on else None
        ),
        "fire_safety_manager": _contact(building.fire_manager_name, building.fire_manager_phone),
        "management_unit": _contact(building.management_unit, building.management_contact),
        "commitment": (
            {
                "text": commitment,
                "updated_on": (
                    local_date(building.public_commitment_at).isoformat()
                    if building.public_commitment_at
                    else None
                ),
            }
            if commitment
            else None
        ),
        "tips": seasonal_tips(today),
        "as_of": today.isoformat(),
    }
