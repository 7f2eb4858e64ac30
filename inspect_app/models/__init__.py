"""Typed SQLAlchemy models: the registry, the checklist, inspections and the rectification ledger.

Conventions: timestamps are UTC (``UTCDateTime``), dates (deadlines) are the district's local
dates; status-like columns are short strings guarded by named CHECK constraints; derived facts
(overdue, code colour, building class) are computed, never stored.

Every model, table and vocabulary is importable from here (``from .models import Hazard``);
the submodules group them by noun:

- :mod:`.columns`: the vocabularies, ``utcnow`` and the ``UTCDateTime`` column type;
- :mod:`.areas`: the administrative tree;
- :mod:`.buildings`: buildings, their managers, proposed corrections of their facts;
- :mod:`.users`: users and API tokens;
- :mod:`.checklists`: checklists and their items;
- :mod:`.campaigns`: campaigns, spot-check draws and tasks, acceptance verdicts;
- :mod:`.inspections`: inspections and findings;
- :mod:`.hazards`: hazards, hazard events, supervision listings, major-hazard reviews;
- :mod:`.photos`: photos;
- :mod:`.public`: residents' reports and rate-limit windows;
- :mod:`.notifications`: inbox messages, reminders, e-mail settings;
- :mod:`.webhooks`: webhooks, deliveries, announced colours.

A new model goes into the submodule of its noun (or a new one) and is imported here, so that
it is registered on ``db.metadata`` whenever the models are (Alembic and the drift test see
exactly what this package imports). Relationships name models of other submodules by
annotation only (imported under ``TYPE_CHECKING``); SQLAlchemy resolves them by class name.
"""

from .areas import Area
from .buildings import CHANGE_STATUSES, Building, BuildingChange, building_manager, new_qr_token
from .campaigns import SAMPLE_GROUPS, Acceptance, Campaign, SpotCheck, SpotCheckTask
from .checklists import Checklist, ChecklistItem
from .columns import (
    AREA_LEVELS,
    HAZARD_STATUSES,
    INSPECTION_KINDS,
    OPEN_STATUSES,
    RESULTS,
    ROLES,
    SEVERITIES,
    USES,
    UTCDateTime,
    utcnow,
)
from .hazards import (
    REVIEW_DECISIONS,
    SUPERVISION_SOURCES,
    SUPERVISION_STATUSES,
    Hazard,
    HazardEvent,
    MajorHazardReview,
    Supervision,
)
from .inspections import Finding, Inspection
from .notifications import NOTIFICATION_KINDS, HazardReminder, Notification, NotificationSetting
from .photos import Photo
from .public import REPORT_STATUSES, RateLimitWindow, Report
from .users import ApiToken, User
from .webhooks import DELIVERY_STATUSES, WEBHOOK_EVENTS, AnnouncedColour, Webhook, WebhookDelivery

__all__ = [
    "AREA_LEVELS",
    "Acceptance",
    "AnnouncedColour",
    "ApiToken",
    "Area",
    "Building",
    "BuildingChange",
    "CHANGE_STATUSES",
    "Campaign",
    "Checklist",
    "ChecklistItem",
    "DELIVERY_STATUSES",
    "Finding",
    "HAZARD_STATUSES",
    "Hazard",
    "HazardEvent",
    "HazardReminder",
    "INSPECTION_KINDS",
    "Inspection",
    "MajorHazardReview",
    "NOTIFICATION_KINDS",
    "Notification",
    "NotificationSetting",
    "OPEN_STATUSES",
    "Photo",
    "REPORT_STATUSES",
    "RESULTS",
    "REVIEW_DECISIONS",
    "ROLES",
    "RateLimitWindow",
    "Report",
    "SAMPLE_GROUPS",
    "SEVERITIES",
    "SUPERVISION_SOURCES",
    "SUPERVISION_STATUSES",
    "SpotCheck",
    "SpotCheckTask",
    "Supervision",
    "USES",
    "UTCDateTime",
    "User",
    "WEBHOOK_EVENTS",
    "Webhook",
    "WebhookDelivery",
    "building_manager",
    "new_qr_token",
    "utcnow",
]
