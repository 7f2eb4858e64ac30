"""Webhooks: what happens, told to other systems as signed JSON, queued and retried.

An administrator registers a receiver URL and the events it wants (``WEBHOOK_EVENTS``); the
hook hears of buildings in the administrator's area only. Events are queued as
``WebhookDelivery`` rows in the same transaction as the change they describe (see
``notifications.install``), so a user's request never waits on a receiver and a rolled-back
change is never announced. ``send_due`` (the ``send-webhooks`` command, and the end of
``send-reminders``) sends what is due, one POST per delivery, and retries failures with
exponential backoff until ``WEBHOOK_MAX_ATTEMPTS``; then the delivery is ``failed`` and stays in
the log, where an administrator can queue it again. Nothing is ever dropped from the queue.

What a receiver gets::

    POST <url>
    Content-Type: application/json; charset=utf-8
    X-Inspect-Event: hazard.changed
    X-Inspect-Event-Id: 7d3c…            (the same on every retry: deduplicate on it)
    X-Inspect-Delivery: 42               (this hook's delivery number)
    X-Inspect-Attempt: 1
    X-Inspect-Signature: sha256=<hex>    (HMAC-SHA256 of the raw body with the hook's secret)

    {"data": {…}, "id": "7d3c…", "occurred_at": "2026-11-23T02:00:00Z", "type": "hazard.changed"}

Verify the signature over the bytes received, before parsing, with a constant-time
comparison. Any 2xx answer counts as delivered; redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import (
    WEBHOOK_EVENTS,
    AnnouncedColour,
    Area,
    Building,
    Hazard,
    HazardEvent,
    Inspection,
    Report,
    User,
    Webhook,
    WebhookDelivery,
    utcnow,
)

log = logging.getLogger(__name__)

USER_AGENT = "inspect_app-webhooks/1"
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_RETRY_BASE_SECONDS = 60
DEFAULT_RETRY_MAX_SECONDS = 6 * 3600
DEFAULT_TIMEOUT_SECONDS = 10
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "::1", "0.0.0.0", "::"}


class WebhookError(ValueError):
    """Input an administrator must correct; ``message`` says what, in Chinese, and ``field``
    names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = "url"):
        super().__init__(message)
        self.message = message
        self.field = field


# ---------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------


def _host_key(host: str | None, port: int | None, scheme: str) -> tuple[str, int]:
    host = (host or "").strip("[]").lower().rstrip(".")
    if host in LOOPBACK_NAMES or host.startswith("127."):
        host = "loopback"
    return host, port or (443 if scheme == "https" else 80)


def own_addresses(config, request_host: str | None = None, scheme: str = "http") -> set:
    """The ``(host, port)`` pairs the app itself answers on, as far as it knows: the current
    request's host, ``PUBLIC_BASE_URL`` and ``SERVER_NAME``."""
    found = set()
    for base in (
        f"{scheme}://{request_host}" if request_host else None,
        config.get("PUBLIC_BASE_URL"),
        f"http://{config['SERVER_NAME']}" if config.get("SERVER_NAME") else None,
    ):
        if not base:
            continue
        try:
            parts = urlsplit(base)
            found.add(_host_key(parts.hostname, parts.port, parts.scheme))
        except ValueError:
            continue
    return found


def check_url(url: str | None, *, own: set) -> str:
    """The receiver URL, trimmed, if it can work: http(s), a host, a valid port, no
    credentials, and not the app itself (which would feed its own events back in a loop)."""
    url = (url or "").strip()
    if not url:
        raise WebhookError("请填写接收地址")
    if len(url) > 500:
        raise WebhookError("接收地址太长（最多 500 个字符）")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookError("接收地址格式不正确（端口无效）") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookError("只支持 http:// 或 https:// 开头的接收地址")
    if not parts.hostname:
        raise WebhookError("接收地址缺少主机名")
    if parts.username or parts.password:
        raise WebhookError("接收地址中不能包含用户名或密码；请在接收方用签名验证来源")
    if _host_key(parts.hostname, port, parts.scheme) in own:
        raise WebhookError("该地址指向本系统自身，会造成循环推送；请填写外部系统的接收地址")
    return url


def _events(events: list[str] | None) -> list[str]:
    chosen = [e for e in WEBHOOK_EVENTS if e in set(events or ())]
    unknown = set(events or ()) - set(WEBHOOK_EVENTS)
    if unknown:
        raise WebhookError(f"未知的事件类型：{', '.join(sorted(unknown))}", "events")
    if not chosen:
        raise WebhookError("请至少选择一种事件", "events")
    return chosen


def create(
    session: Session,
    *,
    actor: User,
    url: str,
    description: str | None,
    events: list[str],
    own: set,
    today: date,
) -> Webhook:
    """Register a hook for ``actor``'s area with a fresh secret. Raises ``WebhookError``.
    Flushes."""
    if actor.area_id is None:
        raise WebhookError("您的账号没有管辖区域，不能登记接收地址", None)
    hook = Webhook(
        url=check_url(url, own=own),
        description=(description or "").strip() or None,
        events=_events(events),
        secret=new_secret(),
        active=True,
        area_id=actor.area_id,
        created_by_id=actor.id,
    )
    session.add(hook)
    session.flush()
    if "building.colour_changed" in hook.events:
        seed_colours(session, hook, today=today)
    return hook


def change(
    session: Session,
    hook: Webhook,
    *,
    url: str,
    description: str | None,
    events: list[str],
    active: bool,
    own: set,
    today: date,
) -> None:
    """Change a hook's URL, events or state. Raises ``WebhookError``. Flushes."""
    hook.url = check_url(url, own=own)
    hook.description = (description or "").strip() or None
    hook.events = _events(events)
    hook.active = bool(active)
    session.flush()
    if hook.active and "building.colour_changed" in hook.events:
        seed_colours(session, hook, today=today)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def rotate_secret(session: Session, hook: Webhook) -> None:
    """A new secret; deliveries still queued are signed with it when sent."""
    hook.secret = new_secret()
    session.flush()


def requeue(session: Session, delivery: WebhookDelivery, *, now: datetime | None = None) -> None:
    """Send a failed delivery again from the next worker run (same event id). Raises
    ``WebhookError`` unless it failed."""
    if delivery.status != "failed":
        raise WebhookError("只能重新发送失败的推送", None)
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    session.flush()


def queue_ping(session: Session, hook: Webhook) -> WebhookDelivery:
    """Queue a ``ping`` event for ``hook`` so an administrator can test the receiver."""
    event_id, body = _body("ping", {"webhook_id": hook.id}, utcnow())
    delivery = WebhookDelivery(
        webhook_id=hook.id, event_id=event_id, event_type="ping", body=body, status="pending"
    )
    session.add(delivery)
    session.flush()
    return delivery


# ---------------------------------------------------------------------------------------------
# Queueing events
# ---------------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    if moment is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(event_type: str, data: dict[str, Any], occurred_at: datetime) -> tuple[str, str]:
    event_id = str(uuid.uuid4())
    body = json.dumps(
        {"id": event_id, "type": event_type, "occurred_at": _iso(occurred_at), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )
    return event_id, body


def building_data(building: Building, path: str) -> dict[str, Any]:
    return {"id": building.id, "code": building.code, "name": building.name, "area_path": path}


def hazard_data(hazard: Hazard) -> dict[str, Any]:
    return {
        "id": hazard.id,
        "category": hazard.category,
        "severity": hazard.severity,
        "gb35181_direct": hazard.gb35181_direct,
        "description": hazard.description,
        "responsible_party": hazard.responsible_party,
        "deadline": hazard.deadline.isoformat() if hazard.deadline else None,
        "status": hazard.status,
        "supervised": hazard.supervised_at is not None,
        "created_at": _iso(hazard.created_at),
        "closed_at": _iso(hazard.closed_at),
        "version": hazard.version,
    }


class Outbox:
    """Queues the deliveries of one transaction. The active hooks are read once, on first
    use; with no hook registered nothing else is ever queried."""

    def __init__(self, session: Session):
        self.session = session
        self._hooks: list[tuple[Webhook, str]] | None = None
        self.queued = 0

    @property
    def hooks(self) -> list[tuple[Webhook, str]]:
        if self._hooks is None:
            self._hooks = list(
                self.session.execute(
                    select(Webhook, Area.path)
                    .join(Area, Webhook.area_id == Area.id)
                    .where(Webhook.active.is_(True))
                    .order_by(Webhook.id)
                ).all()
            )
        return self._hooks

    def listeners(self, event_type: str, path: str) -> list[Webhook]:
        """The active hooks that want ``event_type`` for a building with area ``path``."""
        return [
            hook
            for hook, area_path in self.hooks
            if event_type in (hook.events or ()) and path.startswith(area_path)
        ]

    def wants(self, event_type: str) -> bool:
        return any(event_type in (hook.events or ()) for hook, _path in self.hooks)

    def emit(
        self, event_type: str, path: str, data: dict[str, Any], occurred_at: datetime
    ) -> str | None:
        """Queue ``event_type`` for every hook that wants it here; the event id, or None."""
        hooks = self.listeners(event_type, path)
        if not hooks:
            return None
        event_id, body = _body(event_type, data, occurred_at)
        for hook in hooks:
            self.session.add(
                WebhookDelivery(
                    webhook_id=hook.id,
                    event_id=event_id,
                    event_type=event_type,
                    body=body,
                    status="pending",
                    attempts=0,
                    next_attempt_at=occurred_at,
                )
            )
            self.queued += 1
        return event_id

    def hazard_event(self, ev: HazardEvent, building: Building, path: str) -> None:
        if ev.action in ("created", "fixed_on_spot"):
            kind = "hazard.created"
        elif ev.to_status == "closed" and ev.from_status != "closed":
            kind = "hazard.closed"
        else:
            kind = "hazard.changed"
        if not self.listeners(kind, path):
            return
        self.emit(
            kind,
            path,
            {
                "building": building_data(building, path),
                "hazard": hazard_data(ev.hazard),
                "event": {
                    "id": ev.id,
                    "action": ev.action,
                    "from_status": ev.from_status,
                    "to_status": ev.to_status,
                    "actor_role": ev.actor_role,
                    "note": ev.note,
                    "at": _iso(ev.at),
                },
            },
            ev.at or utcnow(),
        )

    def hazard_overdue(self, hazard: Hazard, building: Building, path: str, *, days: int):
        if self.listeners("hazard.overdue", path):
            self.emit(
                "hazard.overdue",
                path,
                {
                    "building": building_data(building, path),
                    "hazard": hazard_data(hazard),
                    "days_overdue": days,
                },
                utcnow(),
            )

    def inspection(self, inspection: Inspection, building: Building, path: str) -> None:
        if not self.listeners("inspection.submitted", path):
            return
        findings = inspection.findings
        self.emit(
            "inspection.submitted",
            path,
            {
                "building": building_data(building, path),
                "inspection": {
                    "id": inspection.id,
                    "kind": inspection.kind,
                    "checklist_id": inspection.checklist_id,
                    "campaign_id": inspection.campaign_id,
                    "submitted_at": _iso(inspection.submitted_at),
                    "findings": len(findings),
                    "failed": sum(1 for f in findings if f.result == "fail"),
                },
            },
            inspection.submitted_at or utcnow(),
        )

    def report(self, report: Report, building: Building, path: str) -> None:
        # The resident's contact and network digest stay in the app.
        if self.listeners("report.received", path):
            self.emit(
                "report.received",
                path,
                {
                    "building": building_data(building, path),
                    "report": {
                        "id": report.id,
                        "description": report.description,
                        "status": report.status,
                        "created_at": _iso(report.created_at),
                    },
                },
                report.created_at or utcnow(),
            )

    def colour_changes(self, building_ids: list[int], *, today: date | None = None) -> int:
        """Announce the buildings among ``building_ids`` whose code colour is no longer the one
        last announced. Costs nothing unless a hook wants colour changes."""
        if not building_ids or not self.wants("building.colour_changed"):
            return 0
        rows = self.session.execute(
            select(Building, Area.path)
            .join(Area, Building.area_id == Area.id)
            .where(Building.id.in_(building_ids), Building.retired_at.is_(None))
        ).all()
        return _announce(self.session, self, list(rows), today=today)


def _announce(session: Session, outbox: Outbox, rows: list, *, today, seed=False) -> int:
    """Compare the computed colour of each ``(building, path)`` with the last announced one;
    announce and record changes (``seed``: record silently what was never recorded)."""
    from .campaigns import validity_days
    from .codes import building_codes, local_today

    rows = [(b, p) for b, p in rows if outbox.listeners("building.colour_changed", p)]
    if not rows:
        return 0
    today = today or local_today()
    codes = building_codes(
        session, [b for b, _p in rows], today=today, validity_days=validity_days(session, today)
    )
    known = {
        a.building_id: a
        for a in session.scalars(
            select(AnnouncedColour).where(AnnouncedColour.building_id.in_([b.id for b, _ in rows]))
        )
    }
    now = utcnow()
    changed = 0
    for building, path in rows:
        status = codes[building.id]
        before = known.get(building.id)
        if before is not None and before.colour == status.colour:
            continue
        previous = before.colour if before is not None else None
        if before is None:
            session.add(
                AnnouncedColour(building_id=building.id, colour=status.colour, changed_at=now)
            )
        else:
            before.colour, before.changed_at = status.colour, now
        if seed and before is None:
            continue
        changed += 1
        outbox.emit(
            "building.colour_changed",
            path,
            {
                "building": building_data(building, path),
                "from": previous,
                "to": status.colour,
                "reasons": [str(r.text) for r in status.reasons],
            },
            now,
        )
    return changed


def seed_colours(session: Session, hook: Webhook, *, today: date, batch: int = 1000) -> None:
    """Record the current colour of every building in ``hook``'s area that has none recorded,
    without announcing it, so the hook hears of changes, not of every building at once."""
    _sweep(session, today=today, seed=True, area_id=hook.area_id, batch=batch)


def sweep_colours(session: Session, *, today: date, batch: int = 1000) -> int:
    """Announce colour changes that happened without an event (an inspection ageing out of
    its validity window, a deadline passing): every building some colour hook covers. Commits
    after each batch, so a long sweep holds no lock for long."""
    return _sweep(session, today=today, seed=False, area_id=None, batch=batch)


def _sweep(session: Session, *, today: date, seed: bool, area_id: int | None, batch: int) -> int:
    outbox = Outbox(session)
    if not outbox.wants("building.colour_changed"):
        return 0
    prefixes = [p for h, p in outbox.hooks if "building.colour_changed" in (h.events or ())]
    if area_id is not None:
        prefixes = [session.scalar(select(Area.path).where(Area.id == area_id))]
    from sqlalchemy import or_

    where = [Building.retired_at.is_(None), or_(*(Area.path.startswith(p) for p in prefixes))]
    last_id, total = 0, 0
    while True:
        rows = list(
            session.execute(
                select(Building, Area.path)
                .join(Area, Building.area_id == Area.id)
                .where(*where, Building.id > last_id)
                .order_by(Building.id)
                .limit(batch)
            ).all()
        )
        if not rows:
            return total
        last_id = rows[-1][0].id
        total += _announce(session, outbox, rows, today=today, seed=seed)
        if not seed:
            session.commit()


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def headers_for(hook: Webhook, delivery: WebhookDelivery, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Inspect-Event": delivery.event_type,
        "X-Inspect-Event-Id": delivery.event_id,
        "X-Inspect-Delivery": str(delivery.id),
        "X-Inspect-Attempt": str(delivery.attempts),
        "X-Inspect-Signature": sign(hook.secret, body),
    }


@dataclass
class SendRun:
    """What one worker run did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"webhooks: {self.delivered} delivered, {self.retrying} to retry, "
            f"{self.failed} failed for good"
        )
        return text + "".join(f"\n  {e}" for e in self.errors[:20])


def backoff(attempts: int, *, base: int, cap: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``base`` doubled each time, at most
    ``cap`` seconds."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _post(http: requests.Session, url: str, body: bytes, headers, timeout: float):
    """``(status_code, error)``: error is None for a 2xx answer."""
    try:
        response = http.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        )
    except requests.Timeout:
        return None, f"接收方在 {timeout:g} 秒内没有响应"
    except requests.ConnectionError as err:
        return None, f"无法连接接收方：{_reason(err)}"
    except requests.RequestException as err:
        return None, f"发送失败：{err}"
    try:
        if 200 <= response.status_code < 300:
            return response.status_code, None
        snippet = response.raw.read(300, decode_content=True) or b""
        text = snippet.decode("utf-8", "replace").strip()
        if 300 <= response.status_code < 400:
            where = response.headers.get("Location", "")
            return (
                response.status_code,
                f"接收方返回重定向 HTTP {response.status_code}（不跟随）{where}",
            )
        return response.status_code, f"接收方返回 HTTP {response.status_code}" + (
            f"：{text}" if text else ""
        )
    finally:
        response.close()


def _reason(err: Exception) -> str:
    text = str(err)
    for marker in ("Connection refused", "Name or service not known", "No route to host"):
        if marker in text:
            return marker
    return text[:300]


def send_due(session: Session, *, config, now: datetime | None = None, limit: int = 200) -> SendRun:
    """Send up to ``limit`` deliveries that are due at ``now``, oldest first.

    Each is claimed first by a conditional UPDATE that pushes its next attempt past the
    timeout and counts the attempt, and that claim is committed before the POST: two workers
    never send the same delivery at once, and a worker that dies mid-send leaves it to be
    retried. Then the outcome is committed (``delivered``, a retry time, or ``failed``).
    """
    now = now or utcnow()
    timeout = float(config.get("WEBHOOK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
    max_attempts = int(config.get("WEBHOOK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
    base = int(config.get("WEBHOOK_RETRY_BASE_SECONDS", DEFAULT_RETRY_BASE_SECONDS))
    cap = int(config.get("WEBHOOK_RETRY_MAX_SECONDS", DEFAULT_RETRY_MAX_SECONDS))
    lease = timedelta(seconds=2 * timeout + 60)
    run = SendRun()
    due = list(
        session.scalars(
            select(WebhookDelivery.id)
            .join(Webhook, WebhookDelivery.webhook_id == Webhook.id)
            .where(
                Webhook.active.is_(True),
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )
    session.commit()
    if not due:
        return run
    with requests.Session() as http:
        for delivery_id in due:
            claimed = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= now,
                )
                .values(
                    next_attempt_at=now + lease,
                    attempts=WebhookDelivery.attempts + 1,
                    last_attempt_at=now,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
            if claimed != 1:
                continue  # another worker has it
            delivery = session.get(WebhookDelivery, delivery_id)
            hook = delivery.webhook
            body = delivery.body.encode("utf-8")
            code, error = _post(http, hook.url, body, headers_for(hook, delivery, body), timeout)
            delivery.last_status_code = code
            if error is None:
                delivery.status = "delivered"
                delivery.delivered_at = utcnow()
                delivery.last_error = None
                run.delivered += 1
            else:
                delivery.last_error = error
                line = f"#{delivery.id} {delivery.event_type} → {hook.url}: {error}"
                if delivery.attempts >= max_attempts:
                    delivery.status = "failed"
                    run.failed += 1
                    log.error("webhook delivery failed for good %s", line)
                else:
                    delivery.next_attempt_at = now + backoff(delivery.attempts, base=base, cap=cap)
                    run.retrying += 1
                    log.warning("webhook delivery will be retried %s", line)
                run.errors.append(line)
            session.commit()
    return run
