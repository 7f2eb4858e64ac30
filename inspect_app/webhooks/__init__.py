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

Modules: ``registration`` (receivers, URLs, secrets), ``outbox`` (queueing events in the
change's transaction), ``delivery`` (sending, signing, backoff).
"""

from .delivery import SendRun, backoff, headers_for, send_due, sign
from .outbox import Outbox, building_data, hazard_data, seed_colours, sweep_colours
from .registration import (
    WebhookError,
    change,
    check_url,
    create,
    new_secret,
    own_addresses,
    queue_ping,
    requeue,
    rotate_secret,
)

__all__ = [
    "Outbox",
    "SendRun",
    "WebhookError",
    "backoff",
    "building_data",
    "change",
    "check_url",
    "create",
    "hazard_data",
    "headers_for",
    "new_secret",
    "own_addresses",
    "queue_ping",
    "requeue",
    "rotate_secret",
    "seed_colours",
    "send_due",
    "sign",
    "sweep_colours",
]
