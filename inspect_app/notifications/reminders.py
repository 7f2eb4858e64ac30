"""Deadline reminders and overdue escalation (the ``send-reminders`` command)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import (
    Area,
    Building,
    Hazard,
    HazardReminder,
    utcnow,
)
from .messages import Message, Places, hazard_data, with_roles, write_messages

DEFAULT_REMINDER_DAYS = (7, 1)
# Days past the deadline after which each level hears of an overdue hazard, in chain order.
DEFAULT_ESCALATION = {"grid": 1, "street": 7, "fire": 15}
ESCALATION_LEVELS = ("grid", "street", "fire")
LEVEL_ROLES = {"grid": ("inspector", "manager"), "street": ("street",), "fire": ("fire",)}


# ---------------------------------------------------------------------------------------------
# Reminders and escalation
# ---------------------------------------------------------------------------------------------


class ConfigError(ValueError):
    """A reminder setting that cannot work; the message says which and why."""


def reminder_days(config) -> tuple[int, ...]:
    """``REMINDER_DAYS`` as distinct non-negative integers, largest first."""
    raw = config.get("REMINDER_DAYS", DEFAULT_REMINDER_DAYS)
    if isinstance(raw, str):
        raw = [p for p in raw.replace(" ", "").split(",") if p]
    try:
        days = sorted({int(n) for n in raw}, reverse=True)
    except (TypeError, ValueError):
        raise ConfigError(f"REMINDER_DAYS 应为整数列表，例如 7,1：{raw!r}") from None
    if any(n < 0 for n in days):
        raise ConfigError("REMINDER_DAYS 不能为负数")
    return tuple(days)


def escalation(config) -> list[tuple[str, int]]:
    """``OVERDUE_ESCALATION`` as ``(level, days)`` in chain order (grid → street → fire);
    the days must not decrease along the chain and the first is at least 1."""
    raw = config.get("OVERDUE_ESCALATION", DEFAULT_ESCALATION)
    if isinstance(raw, str):
        try:
            raw = dict(part.split("=") for part in raw.replace(" ", "").split(",") if part)
        except ValueError:
            raise ConfigError(
                f"OVERDUE_ESCALATION 应写成 grid=1,street=7,fire=15：{raw!r}"
            ) from None
    unknown = set(raw) - set(ESCALATION_LEVELS)
    if unknown:
        raise ConfigError(f"OVERDUE_ESCALATION 中有未知层级：{', '.join(sorted(unknown))}")
    try:
        chain = [(level, int(raw[level])) for level in ESCALATION_LEVELS if level in raw]
    except (TypeError, ValueError):
        raise ConfigError(f"OVERDUE_ESCALATION 的天数应为整数：{raw!r}") from None
    if not chain:
        raise ConfigError("OVERDUE_ESCALATION 至少需要一个层级")
    days = [d for _level, d in chain]
    if days[0] < 1 or days != sorted(days):
        raise ConfigError("OVERDUE_ESCALATION 的天数须从 1 起，并沿 网格→街道→消防 不减少")
    return chain


@dataclass
class ReminderRun:
    """What one reminder run announced."""

    due: int = 0
    overdue: int = 0
    notifications: int = 0

    def summary(self) -> str:
        return (
            f"reminders: {self.due} deadlines soon, {self.overdue} overdue escalations, "
            f"{self.notifications} messages"
        )


def _claim(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """Insert the reminder rows not yet there; return ``(id, hazard_id, threshold)`` of those
    this call inserted. The unique constraint decides, so concurrent runs never both win."""
    if not rows:
        return []
    table = HazardReminder.__table__
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        # One statement, sent in batches with RETURNING (SQLAlchemy's "insertmanyvalues").
        stmt = (
            dialect_insert(table)
            .on_conflict_do_nothing(index_elements=["hazard_id", "deadline", "threshold"])
            .returning(table.c.id, table.c.hazard_id, table.c.threshold)
        )
        return [tuple(r) for r in session.execute(stmt, rows)]
    won = []
    for row in rows:  # other engines: one savepoint per row
        try:
            with session.begin_nested():
                rid = session.execute(insert(table).values(row).returning(table.c.id))
                won.append((rid.scalar_one(), row["hazard_id"], row["threshold"]))
        except IntegrityError:
            continue
    return won


def _candidates(session: Session, where, final_threshold: str) -> list[tuple[Hazard, str]]:
    done = exists().where(
        HazardReminder.hazard_id == Hazard.id,
        HazardReminder.deadline == Hazard.deadline,
        HazardReminder.threshold == final_threshold,
    )
    return list(
        session.execute(
            select(Hazard, Area.path)
            .join(Building, Hazard.building_id == Building.id)
            .join(Area, Building.area_id == Area.id)
            .where(Hazard.status == "open", Building.retired_at.is_(None), *where, ~done)
            .order_by(Hazard.id)
        ).all()
    )


def run_reminders(session: Session, *, today: date, config) -> ReminderRun:
    """Claim and announce the reminders due on ``today`` (the district's date): deadlines
    soon and overdue escalations. Flushes; the caller commits. Raises ``ConfigError`` for
    unusable settings before anything is written."""
    due_days = reminder_days(config)
    chain = escalation(config)
    run = ReminderRun()
    places = Places(session)
    messages: list[Message] = []
    now = utcnow()

    if due_days:
        tightest_overall = f"due:{min(due_days)}"
        soon = _candidates(
            session,
            [Hazard.deadline >= today, Hazard.deadline <= today + timedelta(days=max(due_days))],
            tightest_overall,
        )
        places.load(hazard.building_id for hazard, _path in soon)
        rows, announce = [], {}
        for hazard, _path in soon:
            left = (hazard.deadline - today).days
            reached = [n for n in due_days if n >= left]
            for n in reached:
                rows.append(_reminder_row(hazard, f"due:{n}", now))
            announce[(hazard.id, f"due:{min(reached)}")] = (hazard, left)
        for rid, hazard_id, threshold in _claim(session, rows):
            if (hazard_id, threshold) not in announce:
                continue  # a wider threshold passed over: the tighter one speaks
            hazard, left = announce[(hazard_id, threshold)]
            place = places.get(hazard.building_id)
            run.due += 1
            messages.append(
                Message(
                    "deadline_soon",
                    f"reminder:{rid}",
                    hazard.building_id,
                    with_roles(place.users, ("inspector", "manager")),
                    hazard_id=hazard.id,
                    data={**hazard_data(hazard, place.building), "days": left},
                )
            )

    from .. import webhooks

    outbox = webhooks.Outbox(session)
    final = f"overdue:{chain[-1][0]}"
    late = _candidates(session, [Hazard.deadline < today], final)
    places.load(hazard.building_id for hazard, _path in late)
    rows, info = [], {}
    for hazard, _path in late:
        days = (today - hazard.deadline).days
        for level, after in chain:
            if days >= after:
                rows.append(_reminder_row(hazard, f"overdue:{level}", now))
                info[(hazard.id, f"overdue:{level}")] = (hazard, level, days)
    first_level = f"overdue:{chain[0][0]}"
    for rid, hazard_id, threshold in _claim(session, rows):
        hazard, level, days = info[(hazard_id, threshold)]
        place = places.get(hazard.building_id)
        run.overdue += 1
        messages.append(
            Message(
                "overdue",
                f"reminder:{rid}",
                hazard.building_id,
                with_roles(place.users, LEVEL_ROLES[level]),
                hazard_id=hazard.id,
                data={**hazard_data(hazard, place.building), "days": days, "level": level},
            )
        )
        if threshold == first_level:
            outbox.hazard_overdue(hazard, place.building, place.path, days=days)
    run.notifications = write_messages(session, messages)
    session.flush()
    return run


def _reminder_row(hazard: Hazard, threshold: str, now: datetime) -> dict[str, Any]:
    return {
        "hazard_id": hazard.id,
        "deadline": hazard.deadline,
        "threshold": threshold,
        "created_at": now,
    }
