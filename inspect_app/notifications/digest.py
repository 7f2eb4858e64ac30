"""The optional e-mail digest of unread inbox messages (off unless ``MAIL_SERVER`` is set)."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import (
    Notification,
    NotificationSetting,
    User,
    utcnow,
)
from .inbox import describe, inbox, target_url

log = logging.getLogger(__name__)

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
