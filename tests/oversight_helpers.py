"""Builders for the campaign oversight tests: a campaign around today, inspections with
findings at given times, and hazards in any state at given times. Each writes committed rows
in its own app context and returns plain ids (or detached rows)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from inspect_app.db import db
from inspect_app.models import (
    Building,
    Campaign,
    Checklist,
    ChecklistItem,
    Finding,
    Hazard,
    HazardEvent,
    Inspection,
    User,
)

TZ = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10) -> datetime:
    """A UTC instant at ``hour`` o'clock on the district date ``day``."""
    return datetime.combine(day, time(hour), tzinfo=TZ).astimezone(UTC)


def seed_like_phases(starts: date, ends: date) -> list[dict]:
    """Four phases of the seed's shape spread over ``starts``–``ends``."""
    span = (ends - starts).days
    marks = [starts + timedelta(days=round(span * f)) for f in (0.05, 0.3, 0.85)] + [ends]
    names = [
        ("mobilise", "动员部署"),
        ("survey", "全面排查"),
        ("rectify", "整治攻坚"),
        ("consolidate", "巩固提升"),
    ]
    return [
        {"code": code, "name": name, "ends_on": m.isoformat()}
        for (code, name), m in zip(names, marks, strict=True)
    ]


def make_campaign(app, area, checklist, *, starts: date, ends: date, **kw) -> int:
    with app.app_context():
        values = dict(
            name="测试专项行动",
            area_id=area.id,
            checklist_id=checklist.id,
            starts_on=starts,
            ends_on=ends,
            phases=seed_like_phases(starts, ends),
            category_deadlines={"water": ends.isoformat()},
            validity_days=180,
            sample_rate_public=Decimal("0.10"),
            sample_rate_residential=Decimal("0.05"),
        )
        values.update(kw)
        campaign = Campaign(**values)
        db.session.add(campaign)
        db.session.commit()
        return campaign.id


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def add_inspection(
    app,
    building_id: int,
    *,
    kind: str,
    when: datetime,
    username: str = "fire",
    results: dict[str, str] | None = None,
) -> int:
    """An inspection of ``kind`` submitted at ``when`` with findings ``{item code: result}``
    (items of the current checklist)."""
    with app.app_context():
        checklist = db.session.scalar(select(Checklist).order_by(Checklist.id.desc()))
        inspection = Inspection(
            client_uuid=str(uuid.uuid4()),
            kind=kind,
            building_id=building_id,
            checklist_id=checklist.id,
            inspector_id=db.session.scalar(select(User.id).where(User.username == username)),
            started_at=when - timedelta(minutes=30),
            submitted_at=when,
        )
        db.session.add(inspection)
        db.session.flush()
        for code, result in (results or {}).items():
            item = db.session.scalar(
                select(ChecklistItem).where(
                    ChecklistItem.checklist_id == checklist.id, ChecklistItem.code == code
                )
            )
            db.session.add(Finding(inspection_id=inspection.id, item_id=item.id, result=result))
        db.session.commit()
        return inspection.id


def add_hazard(
    app,
    building_id: int,
    *,
    created: datetime,
    status: str = "open",
    severity: str = "general",
    deadline: date | None = None,
    closed: datetime | None = None,
    supervised: datetime | None = None,
    category: str = "LIFE",
    item_code: str | None = None,
    rejections: int = 0,
    description: str = "测试隐患",
) -> int:
    with app.app_context():
        item_id = None
        if item_code:
            item_id = db.session.scalar(
                select(ChecklistItem.id)
                .where(ChecklistItem.code == item_code)
                .order_by(ChecklistItem.id.desc())
            )
        if status in ("closed", "fixed_on_spot") and closed is None:
            closed = created + timedelta(days=1)
        hazard = Hazard(
            building_id=building_id,
            item_id=item_id,
            category=category,
            severity=severity,
            description=description,
            responsible_party="测试物业公司",
            deadline=deadline,
            status=status,
            created_at=created,
            closed_at=closed,
            supervised_at=supervised,
        )
        db.session.add(hazard)
        db.session.flush()
        for n in range(rejections):
            db.session.add(
                HazardEvent(
                    hazard_id=hazard.id,
                    action="rejected",
                    from_status="submitted",
                    to_status="open",
                    note=f"第 {n + 1} 次退回",
                    at=created + timedelta(days=n + 1),
                )
            )
        db.session.commit()
        return hazard.id


def building(app, building_id: int) -> Building:
    with app.app_context():
        row = db.session.get(Building, building_id)
        db.session.expunge(row)
        return row
