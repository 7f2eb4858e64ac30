"""Campaigns (专项行动): which one is running, and the window a code colour stays valid."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Campaign


def current_campaign(session: Session, today: date) -> Campaign | None:
    """The most recently started campaign running on ``today``, if any."""
    return session.scalar(
        select(Campaign)
        .where(Campaign.starts_on <= today, Campaign.ends_on >= today)
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        .limit(1)
    )


def validity_days(session: Session, today: date) -> int:
    """Days an inspection keeps a code out of grey: the running campaign's, else the default."""
    campaign = current_campaign(session, today)
    if campaign is not None:
        return campaign.validity_days
    return int(current_app.config["CODE_VALIDITY_DAYS"])
