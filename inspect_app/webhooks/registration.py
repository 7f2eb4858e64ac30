"""Registering receivers: checked URLs, chosen events, secrets; a delivery queued again, a ping."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from ..models import (
    WEBHOOK_EVENTS,
    User,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from .outbox import event_body, seed_colours

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
    event_id, body = event_body("ping", {"webhook_id": hook.id}, utcnow())
    delivery = WebhookDelivery(
        webhook_id=hook.id, event_id=event_id, event_type="ping", body=body, status="pending"
    )
    session.add(delivery)
    session.flush()
    return delivery
