"""Sending what is due: one signed POST per delivery, exponential backoff, nothing dropped."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import (
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
