"""Scheduled sending: inbox reminders with escalation, webhook deliveries (cron or timer)."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from ..db import db
from . import fail


@click.command("send-reminders")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The district date to remind for (default: today in the district).",
)
@click.option("--no-webhooks", is_flag=True, help="Queue webhook deliveries, do not send them.")
@with_appcontext
def send_reminders_command(today, no_webhooks: bool) -> None:
    """Deadline reminders and overdue escalations into inboxes (each once per hazard, deadline
    and threshold, however often this runs), code colour changes to webhooks, the e-mail
    digest when MAIL_SERVER is set, then the queued webhook deliveries. For cron or a timer."""
    from flask import current_app

    from .. import notifications, webhooks
    from ..codes import local_today

    day: date = today.date() if today else local_today()
    try:
        run = notifications.run_reminders(db.session, today=day, config=current_app.config)
    except notifications.ConfigError as err:
        db.session.rollback()
        fail(str(err))
    db.session.commit()
    click.echo(run.summary())
    changed = webhooks.sweep_colours(db.session, today=day)
    db.session.commit()
    click.echo(f"code colours: {changed} changes announced")
    digest = notifications.send_digests(db.session, config=current_app.config)
    db.session.commit()
    click.echo(digest.summary(), err=bool(digest.failed))
    if not no_webhooks:
        sent = webhooks.send_due(db.session, config=current_app.config)
        click.echo(sent.summary(), err=bool(sent.errors))


@click.command("send-webhooks")
@click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True)
@with_appcontext
def send_webhooks_command(limit: int) -> None:
    """Send the webhook deliveries that are due (new ones and retries whose wait is over)."""
    from flask import current_app

    from .. import webhooks

    sent = webhooks.send_due(db.session, config=current_app.config, limit=limit)
    click.echo(sent.summary(), err=bool(sent.errors))
