"""The inbox (收件箱): messages derived from the ledger's history, deadline reminders, overdue
escalation, and the optional e-mail digest.

Where messages come from
------------------------
No domain function calls this module. ``install`` puts a hook on the database session: every
``HazardEvent``, ``Inspection``, ``Report`` and ``SpotCheckTask`` inserted in a transaction is
collected when it is flushed and, just before that transaction commits, turned into
``Notification`` rows for the people whose scope covers the building (``auth.covering_users``)
and into queued webhook deliveries (``webhooks.Outbox``). They commit or roll back together
with the change they describe: a message never announces something that did not happen, and a
change never loses its message. A new kind of hazard event needs a line in ``EVENT_ROUTES`` to
reach an inbox; it reaches webhooks as ``hazard.changed`` without one.

Who hears of what (always only people whose scope covers the building, never the actor):

=====================  ==============================================================
new hazard             grid workers, managers of the building, street office; the fire
                       detachment too when only it may accept the hazard (major, GB 35181
                       direct element, supervised). Hazards found by one inspection make
                       one message, linked to the inspection.
evidence submitted     whoever may accept it (``auth.may_transition``)
evidence rejected      whoever submitted that evidence, and the building's managers
closed (accepted)      grid workers, managers, whoever submitted the evidence
deadline extended      grid workers and managers
plan updated           managers
listed for supervision grid workers, managers, street office, fire detachment
resident report        grid workers and the street office (who verify reports)
inspection, no hazard  the building's managers
spot-check task        street office and fire detachment
=====================  ==============================================================

Reminders
---------
``run_reminders`` (the ``send-reminders`` command) announces open hazards whose deadline is
``REMINDER_DAYS`` days away or closer (default 7 and 1; only the tightest threshold reached is
announced, so a hazard found with two days left gets one "due in 2 days" message), and
escalates overdue ones up the chain after ``OVERDUE_ESCALATION`` days past the deadline (default
grid workers and managers on day 1, street office on day 7, fire detachment on day 15). Each
(hazard, deadline, threshold) is claimed in ``HazardReminder`` under a unique constraint before
anyone is told, so however often the command runs, even twice at once, each reminder goes out
once; an extended deadline starts a fresh set.
"""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import Select, event, exists, func, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from . import labels
from .auth import covering_users, fire_accepts, may_transition, notification_scope
from .db import db
from .models import (
    Area,
    Building,
    Hazard,
    HazardEvent,
    HazardReminder,
    Inspection,
    Notification,
    NotificationSetting,
    Report,
    SpotCheckTask,
    User,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_REMINDER_DAYS = (7, 1)
# Days past the deadline after which each level hears of an overdue hazard, in chain order.
DEFAULT_ESCALATION = {"grid": 1, "street": 7, "fire": 15}
ESCALATION_LEVELS = ("grid", "street", "fire")
LEVEL_ROLES = {"grid": ("inspector", "manager"), "street": ("street",), "fire": ("fire",)}
REPORT_ROLES = ("inspector", "street")
SPOT_CHECK_ROLES = ("street", "fire")

_PENDING = "inspect_app.notifications.pending"
_WATCHED = (HazardEvent, Inspection, Report, SpotCheckTask)


# ---------------------------------------------------------------------------------------------
# The session hook
# ---------------------------------------------------------------------------------------------


def install() -> None:
    """Hook the app's database session (idempotent). Called once by ``create_app``."""
    if event.contains(db.session, "after_flush", _collect):
        return
    event.listen(db.session, "after_flush", _collect)
    event.listen(db.session, "before_commit", _before_commit)
    event.listen(db.session, "after_rollback", _forget)


def _collect(session: Session, _flush_context) -> None:
    # ``session.new`` still lists what this flush inserted.
    found = [obj for obj in session.new if isinstance(obj, _WATCHED)]
    if found:
        session.info.setdefault(_PENDING, []).extend(found)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _before_commit(session: Session) -> None:
    if not session.info.get(_PENDING) and not any(isinstance(obj, _WATCHED) for obj in session.new):
        return
    session.flush()
    pending = session.info.pop(_PENDING, [])
    # A savepoint rolled back since the flush leaves its rows transient: skip them.
    alive = [obj for obj in pending if sa_inspect(obj).persistent]
    if alive:
        derive(session, alive)


# ---------------------------------------------------------------------------------------------
# From history to messages
# ---------------------------------------------------------------------------------------------


@dataclass
class _Place:
    """A building, its area path and the users whose scope covers it (loaded once)."""

    building: Building
    path: str
    users: list[User]


class _Places:
    """Buildings, their area paths and the users covering them, loaded in bulk and kept for
    the transaction (``load`` ahead of a batch; ``get`` loads what was not loaded)."""

    CHUNK = 500

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[int, _Place] = {}

    def load(self, building_ids: Iterable[int]) -> None:
        wanted = sorted({b for b in building_ids if b not in self.cache})
        for start in range(0, len(wanted), self.CHUNK):
            chunk = wanted[start : start + self.CHUNK]
            rows = self.session.execute(
                select(Building, Area.path)
                .join(Area, Building.area_id == Area.id)
                .where(Building.id.in_(chunk))
            ).all()
            users = covering_users(chunk)
            for building, path in rows:
                self.cache[building.id] = _Place(building, path, users[building.id])

    def get(self, building_id: int) -> _Place:
        if building_id not in self.cache:
            self.load([building_id])
        return self.cache[building_id]


@dataclass
class _Message:
    kind: str
    source: str
    building_id: int
    recipients: list[User]
    hazard_id: int | None = None
    inspection_id: int | None = None
    report_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _roles(users: Iterable[User], roles: Iterable[str]) -> list[User]:
    wanted = set(roles)
    return [u for u in users if u.role in wanted]


def _without(users: Iterable[User], actor_id: int | None) -> list[User]:
    return [u for u in users if u.id != actor_id]


def _short(text: str | None, n: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _hazard_data(hazard: Hazard, building: Building) -> dict[str, Any]:
    return {
        "building": building.name,
        "description": _short(hazard.description),
        "severity": hazard.severity,
        "deadline": hazard.deadline.isoformat() if hazard.deadline else None,
    }


def _evidence_submitter(session: Session, hazard_id: int, before_id: int) -> int | None:
    return session.scalar(
        select(HazardEvent.actor_id)
        .where(
            HazardEvent.hazard_id == hazard_id,
            HazardEvent.action == "evidence_submitted",
            HazardEvent.id < before_id,
        )
        .order_by(HazardEvent.id.desc())
        .limit(1)
    )


def _route_event(session: Session, ev: HazardEvent, place: _Place) -> list[User]:
    """The people told of one hazard event (the actor excluded by the caller)."""
    hazard, users = ev.hazard, place.users
    action = ev.action
    if action == "created":
        roles = ["inspector", "manager", "street"] + (["fire"] if fire_accepts(hazard) else [])
        return _roles(users, roles)
    if action == "evidence_submitted":
        # Whose job acceptance is: the detachment's for what only it may accept, else the
        # street office's (the detachment may, but is not asked to, accept general hazards).
        able = [u for u in users if may_transition(u, hazard, "accept")]
        expected = [u for u in able if (u.role == "fire") == fire_accepts(hazard)]
        return expected or able
    if action == "rejected":
        submitter = _evidence_submitter(session, hazard.id, ev.id)
        return [u for u in users if u.id == submitter or u.role == "manager"]
    if action == "accepted":
        submitter = _evidence_submitter(session, hazard.id, ev.id)
        return [u for u in users if u.id == submitter or u.role in ("inspector", "manager")]
    if action == "deadline_extended":
        return _roles(users, ("inspector", "manager"))
    if action == "plan_updated":
        return _roles(users, ("manager",))
    if action == "supervised":
        return _roles(users, ("inspector", "manager", "street", "fire"))
    return []


EVENT_KINDS = {
    "created": "hazard_created",
    "evidence_submitted": "evidence_submitted",
    "rejected": "evidence_rejected",
    "accepted": "hazard_closed",
    "deadline_extended": "deadline_extended",
    "plan_updated": "plan_updated",
    "supervised": "supervised",
}


def derive(session: Session, objects: list) -> None:
    """Turn new history rows into inbox messages and webhook deliveries (flushes nothing;
    the commit that called it writes them)."""
    from . import webhooks

    places = _Places(session)
    outbox = webhooks.Outbox(session)
    messages: list[_Message] = []
    touched: set[int] = set()

    events = sorted((o for o in objects if isinstance(o, HazardEvent)), key=lambda e: e.id)
    inspections = [o for o in objects if isinstance(o, Inspection)]
    reports = [o for o in objects if isinstance(o, Report)]
    tasks = [o for o in objects if isinstance(o, SpotCheckTask)]
    places.load(
        [e.hazard.building_id for e in events]
        + [o.building_id for o in (*inspections, *reports, *tasks)]
    )

    # Hazards found by one inspection make one message per person, not one per hazard.
    created_by_inspection: dict[int, list[HazardEvent]] = defaultdict(list)
    for ev in events:
        hazard = ev.hazard
        place = places.get(hazard.building_id)
        touched.add(hazard.building_id)
        outbox.hazard_event(ev, place.building, place.path)
        if ev.action == "created" and hazard.finding is not None:
            created_by_inspection[hazard.finding.inspection_id].append(ev)
            continue
        kind = EVENT_KINDS.get(ev.action)
        if kind is None:
            continue
        data = _hazard_data(hazard, place.building)
        if ev.action == "rejected":
            data["note"] = _short(ev.note, 200)
        messages.append(
            _Message(
                kind,
                f"event:{ev.id}",
                hazard.building_id,
                _without(_route_event(session, ev, place), ev.actor_id),
                hazard_id=hazard.id,
                data=data,
            )
        )

    for inspection_id, group in created_by_inspection.items():
        first = group[0]
        place = places.get(first.hazard.building_id)
        recipients: dict[int, User] = {}
        for ev in group:
            for user in _without(_route_event(session, ev, place), ev.actor_id):
                recipients[user.id] = user
        if len(group) == 1:
            messages.append(
                _Message(
                    "hazard_created",
                    f"event:{first.id}",
                    place.building.id,
                    list(recipients.values()),
                    hazard_id=first.hazard.id,
                    inspection_id=inspection_id,
                    data=_hazard_data(first.hazard, place.building),
                )
            )
            continue
        messages.append(
            _Message(
                "hazard_created",
                f"inspection:{inspection_id}:hazards",
                place.building.id,
                list(recipients.values()),
                inspection_id=inspection_id,
                data={
                    "building": place.building.name,
                    "count": len(group),
                    "major": sum(1 for ev in group if ev.hazard.severity == "major"),
                },
            )
        )

    for inspection in inspections:
        place = places.get(inspection.building_id)
        touched.add(inspection.building_id)
        outbox.inspection(inspection, place.building, place.path)
        if inspection.id in created_by_inspection:
            continue  # the hazards' message covers it
        messages.append(
            _Message(
                "inspection_submitted",
                f"inspection:{inspection.id}",
                inspection.building_id,
                _without(_roles(place.users, ("manager",)), inspection.inspector_id),
                inspection_id=inspection.id,
                data={"building": place.building.name, "inspection_kind": inspection.kind},
            )
        )

    for report in reports:
        place = places.get(report.building_id)
        outbox.report(report, place.building, place.path)
        messages.append(
            _Message(
                "report_received",
                f"report:{report.id}",
                report.building_id,
                _roles(place.users, REPORT_ROLES),
                report_id=report.id,
                data={"building": place.building.name, "description": _short(report.description)},
            )
        )

    for task in tasks:
        place = places.get(task.building_id)
        spot = task.spot_check
        messages.append(
            _Message(
                "spot_check_task",
                f"spot_check_task:{task.id}",
                task.building_id,
                _without(_roles(place.users, SPOT_CHECK_ROLES), spot.drawn_by_id),
                data={
                    "building": place.building.name,
                    "due_on": spot.due_on.isoformat() if spot.due_on else None,
                    "team": _short(spot.team, 80),
                },
            )
        )

    _write(session, messages)
    outbox.colour_changes(sorted(touched))


def _write(session: Session, messages: list[_Message]) -> int:
    now = utcnow()
    rows = []
    for m in messages:
        seen: set[int] = set()
        for user in m.recipients:
            if user.id in seen:
                continue
            seen.add(user.id)
            rows.append(
                {
                    "user_id": user.id,
                    "building_id": m.building_id,
                    "kind": m.kind,
                    "source": m.source,
                    "hazard_id": m.hazard_id,
                    "inspection_id": m.inspection_id,
                    "report_id": m.report_id,
                    "data": m.data,
                    "created_at": now,
                }
            )
    if rows:
        # Core executemany on the table: the ORM's bulk path costs as much again per row.
        session.execute(insert(Notification.__table__), rows)
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Reading the inbox
# ---------------------------------------------------------------------------------------------


def inbox(user: User, *, unread_only: bool = False) -> Select:
    """``select(Notification)`` of the user's inbox, newest first, limited to buildings in the
    user's scope."""
    stmt = (
        select(Notification)
        .join(Building, Notification.building_id == Building.id)
        .where(notification_scope(user))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt


def unread_count(session: Session, user: User, *, cap: int = 100) -> int:
    """How many unread messages the user has, counted up to ``cap`` (the header shows
    "99+"), in one query on the (user, read) index."""
    ids = (
        select(Notification.id)
        .join(Building, Notification.building_id == Building.id)
        .where(notification_scope(user), Notification.read_at.is_(None))
        .limit(cap)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(ids)) or 0


def mark_read(session: Session, user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's messages (or, with None, all of them) read; returns how many
    changed. Someone else's message is never touched."""
    stmt = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return session.execute(stmt).rowcount


def _severity(code: str | None) -> str:
    return str(labels.SEVERITY.get(code, code or ""))


def describe(n: Notification) -> tuple[str, str]:
    """The message's title and detail line, in the current language."""
    d = n.data or {}
    b = d.get("building", "")
    kind = n.kind
    detail = d.get("description", "")
    if kind == "hazard_created":
        if "count" in d:
            title = _("%(b)s：检查发现 %(n)s 项隐患", b=b, n=d["count"])
            detail = _("其中重大隐患 %(n)s 项", n=d["major"]) if d.get("major") else ""
        else:
            title = _("%(b)s：新隐患（%(s)s）", b=b, s=_severity(d.get("severity")))
    elif kind == "evidence_submitted":
        title = _("%(b)s：整改材料待验收", b=b)
    elif kind == "evidence_rejected":
        title = _("%(b)s：整改材料被退回", b=b)
        detail = _("退回原因：%(r)s", r=d.get("note") or "—") + " · " + detail
    elif kind == "hazard_closed":
        title = _("%(b)s：隐患已验收销号", b=b)
    elif kind == "deadline_extended":
        title = _("%(b)s：整改期限延至 %(d)s", b=b, d=d.get("deadline"))
    elif kind == "plan_updated":
        title = _("%(b)s：整改安排已更新", b=b)
    elif kind == "supervised":
        title = _("%(b)s：隐患列入挂牌督办", b=b)
    elif kind == "deadline_soon":
        if d.get("days") == 0:
            title = _("%(b)s：隐患今天到期", b=b)
        else:
            title = _(
                "%(b)s：隐患 %(n)s 天后到期（%(d)s）", b=b, n=d.get("days"), d=d.get("deadline")
            )
    elif kind == "overdue":
        if d.get("level") == "grid":
            title = _("%(b)s：隐患已超期 %(n)s 天", b=b, n=d.get("days"))
        else:
            title = _("%(b)s：隐患超期 %(n)s 天未整改（逐级上报）", b=b, n=d.get("days"))
    elif kind == "report_received":
        title = _("%(b)s：收到居民举报", b=b)
    elif kind == "inspection_submitted":
        label = labels.KIND.get(d.get("inspection_kind"), d.get("inspection_kind", ""))
        title = _("%(b)s：%(k)s已完成，未发现待整改隐患", b=b, k=label)
        detail = ""
    elif kind == "spot_check_task":
        title = _("抽查任务：%(b)s", b=b)
        parts = [d.get("team") or ""]
        if d.get("due_on"):
            parts.append(_("完成期限 %(d)s", d=d["due_on"]))
        detail = " · ".join(p for p in parts if p)
    else:
        title = b
    return str(title), str(detail)


def _first_url(*candidates: tuple[str, dict[str, Any]]) -> str:
    for endpoint, values in candidates:
        try:
            return url_for(endpoint, **values)
        except BuildError:
            continue
    return url_for("buildings.index")


def target_url(n: Notification) -> str:
    """Where the message leads (the page checks scope again when opened)."""
    building = ("buildings.show", {"building_id": n.building_id})
    if n.hazard_id is not None:
        return _first_url(("hazards.show", {"hazard_id": n.hazard_id}), building)
    if n.inspection_id is not None:
        return _first_url(("inspections.show", {"inspection_id": n.inspection_id}), building)
    if n.report_id is not None:
        return _first_url(("reports.show", {"report_id": n.report_id}), building)
    if n.kind == "spot_check_task":
        return _first_url(
            ("inspections.new", {"building_id": n.building_id, "kind": "spot_check"}), building
        )
    return _first_url(building)


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
    places = _Places(session)
    messages: list[_Message] = []
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
                _Message(
                    "deadline_soon",
                    f"reminder:{rid}",
                    hazard.building_id,
                    _roles(place.users, ("inspector", "manager")),
                    hazard_id=hazard.id,
                    data={**_hazard_data(hazard, place.building), "days": left},
                )
            )

    from . import webhooks

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
            _Message(
                "overdue",
                f"reminder:{rid}",
                hazard.building_id,
                _roles(place.users, LEVEL_ROLES[level]),
                hazard_id=hazard.id,
                data={**_hazard_data(hazard, place.building), "days": days, "level": level},
            )
        )
        if threshold == first_level:
            outbox.hazard_overdue(hazard, place.building, place.path, days=days)
    run.notifications = _write(session, messages)
    session.flush()
    return run


def _reminder_row(hazard: Hazard, threshold: str, now: datetime) -> dict[str, Any]:
    return {
        "hazard_id": hazard.id,
        "deadline": hazard.deadline,
        "threshold": threshold,
        "created_at": now,
    }


# ---------------------------------------------------------------------------------------------
# E-mail digest
# ---------------------------------------------------------------------------------------------


@dataclass
class DigestRun:
    """What one digest run did. ``enabled`` is False when no SMTP server is configured."""

    enabled: bool = True
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.enabled:
            return "e-mail digest: off (MAIL_SERVER not set)"
        text = f"e-mail digest: {self.sent} sent, {self.failed} failed"
        return text + "".join(f"\n  {e}" for e in self.errors)


DIGEST_MAX_ITEMS = 50


def _smtp(config):
    host, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 0)
    timeout = float(config.get("MAIL_TIMEOUT_SECONDS", 15))
    if config.get("MAIL_USE_SSL"):
        client = smtplib.SMTP_SSL(host, port or 465, timeout=timeout)
    else:
        client = smtplib.SMTP(host, port or 25, timeout=timeout)
        if config.get("MAIL_USE_TLS"):
            client.starttls()
    if config.get("MAIL_USERNAME"):
        client.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return client


def _digest(user: User, address: str, items: list[Notification], config) -> EmailMessage:
    # Paths from url_for already carry any prefix the public address has: keep its origin.
    parts = urlsplit(config.get("PUBLIC_BASE_URL") or "")
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    msg = EmailMessage()
    msg["Subject"] = _("高层消防巡查：%(n)s 条新消息", n=len(items))
    msg["From"] = config.get("MAIL_FROM") or "inspect-app@localhost"
    msg["To"] = address
    lines = [_("%(name)s，您好：", name=user.display_name), ""]
    for n in items[:DIGEST_MAX_ITEMS]:
        title, detail = describe(n)
        lines.append(f"• {title}")
        if detail:
            lines.append(f"  {detail}")
        if base:
            lines.append(f"  {base}{target_url(n)}")
    if len(items) > DIGEST_MAX_ITEMS:
        lines.append(_("……另有 %(n)s 条，请登录查看收件箱", n=len(items) - DIGEST_MAX_ITEMS))
    lines += ["", _("此邮件由系统自动发送，请勿回复。")]
    msg.set_content("\n".join(str(line) for line in lines))
    return msg


def send_digests(session: Session, *, config, now: datetime | None = None) -> DigestRun:
    """E-mail each user who asked for it one digest of their unread messages not e-mailed
    before. Off unless ``MAIL_SERVER`` is set. A message is marked e-mailed only after the
    server took it, and each user's mark is committed at once (a sent e-mail cannot be rolled
    back): a refusing server loses nothing, the next run tries again."""
    if not config.get("MAIL_SERVER"):
        return DigestRun(enabled=False)
    now = now or utcnow()
    run = DigestRun()
    people = session.execute(
        select(User, NotificationSetting.email)
        .join(NotificationSetting, NotificationSetting.user_id == User.id)
        .where(
            NotificationSetting.email_digest.is_(True),
            NotificationSetting.email.is_not(None),
            User.active.is_(True),
        )
        .order_by(User.id)
    ).all()
    batches = []
    for user, address in people:
        items = list(
            session.scalars(inbox(user, unread_only=True).where(Notification.emailed_at.is_(None)))
        )
        if items:
            batches.append((user, address, items))
    if not batches:
        return run
    with current_app.test_request_context(base_url=config.get("PUBLIC_BASE_URL") or None):
        messages = [(u, a, items, _digest(u, a, items, config)) for u, a, items in batches]
    try:
        client = _smtp(config)
    except (OSError, smtplib.SMTPException) as err:
        run.failed = len(messages)
        run.errors.append(f"无法连接邮件服务器 {config['MAIL_SERVER']}：{err}")
        log.error("e-mail digest: cannot reach %s: %s", config["MAIL_SERVER"], err)
        return run
    try:
        for user, address, items, msg in messages:
            try:
                client.send_message(msg)
            except (OSError, smtplib.SMTPException) as err:
                run.failed += 1
                run.errors.append(f"{user.username} <{address}>：邮件服务器拒绝：{err}")
                log.warning("e-mail digest to %s refused: %s", address, err)
                continue
            session.execute(
                update(Notification)
                .where(Notification.id.in_([n.id for n in items]))
                .values(emailed_at=now)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            run.sent += 1
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return run


def settings_for(session: Session, user: User) -> NotificationSetting:
    """The user's e-mail settings row (a fresh, unsaved one when there is none)."""
    row = session.get(NotificationSetting, user.id)
    return row or NotificationSetting(user_id=user.id, email=None, email_digest=False)


def save_settings(session: Session, user: User, *, email: str | None, digest: bool) -> None:
    """Store the user's e-mail address and digest choice. A digest needs an address
    (``ValueError`` otherwise, with the message for the form). Flushes."""
    email = (email or "").strip() or None
    if digest and not email:
        raise ValueError("开启邮件摘要需要填写邮箱地址")
    row = session.get(NotificationSetting, user.id)
    if row is None:
        row = NotificationSetting(user_id=user.id)
        session.add(row)
    row.email = email
    row.email_digest = digest
    session.flush()
