"""Flask CLI commands, grouped by what they work on. Each exits non-zero with one readable line
on bad input (``fail``)."""

from __future__ import annotations

import click
from flask import Flask


def fail(message: str) -> None:
    """Stop the command with ``message`` (exit status 1)."""
    raise click.ClickException(message)


def register_cli(app: Flask) -> None:
    """Add every command to ``app.cli``."""
    from . import campaigns, codes, district, maintenance, messages, registry

    for command in (
        district.load_checklist_command,
        district.create_user_command,
        district.create_token_command,
        district.demo_command,
        maintenance.sweep_photos_command,
        maintenance.backup_command,
        registry.registry_template_command,
        registry.import_registry_command,
        codes.rotate_code_command,
        codes.posters_command,
        # Inbox reminders and webhook deliveries (meant for cron or a systemd timer).
        messages.send_reminders_command,
        messages.send_webhooks_command,
        # Campaign oversight: spot-check draws and the monthly summary.
        campaigns.draw_spot_checks_command,
        campaigns.monthly_report_command,
    ):
        app.cli.add_command(command)
