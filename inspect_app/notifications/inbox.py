"""Reading the inbox: what a user sees, how each message reads and where it links; the user's
e-mail settings.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from .. import labels
from ..auth import notification_scope
from ..models import (
    Building,
    Notification,
    NotificationSetting,
    User,
    utcnow,
)

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
