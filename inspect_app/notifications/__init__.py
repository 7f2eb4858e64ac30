"""The inbox (收件箱): messages derived from the ledger's history, deadline reminders, overdue
escalation, and the optional e-mail digest.

Where messages come from
------------------------
No domain function calls this module. ``install`` puts a hook on the database session: every
``HazardEvent``, ``Inspection``, ``Report`` and ``SpotCheckTask`` inserted in a transaction is
collected when it is flushed and, just before that transaction commits, turned into
``Notification`` rows for the people whose scope covers the building (``auth.covering_users``)
and into queued webhook deliveries (``webhooks.Outbox``). They commit or roll back together
with the change they describe: a message never announces something that did not happen, and a
change never loses its message. A new kind of hazard event needs a line in
``messages.EVENT_KINDS`` (and a route in ``messages._route_event``) to reach an inbox; it
reaches webhooks as ``hazard.changed`` without one.

Who hears of what (always only people whose scope covers the building, never the actor):

=====================  ==============================================================
new hazard             grid workers, managers of the building, street office; the fire
                       detachment too when only it may accept the hazard (major, GB 35181
                       direct element, supervised). Hazards found by one inspection make
                       one message, linked to the inspection.
evidence submitted     whoever may accept it (``auth.may_transition``)
evidence rejected      whoever submitted that evidence, and the building's managers
closed (accepted)      grid workers, managers, whoever submitted the evidence
deadline extended      grid workers and managers
plan updated           managers
listed for supervision grid workers, managers, street office, fire detachment
resident report        grid workers and the street office (who verify reports)
inspection, no hazard  the building's managers
spot-check task        street office and fire detachment
=====================  ==============================================================

Reminders
---------
``run_reminders`` (the ``send-reminders`` command) announces open hazards whose deadline is
``REMINDER_DAYS`` days away or closer (default 7 and 1; only the tightest threshold reached is
announced, so a hazard found with two days left gets one "due in 2 days" message), and
escalates overdue ones up the chain after ``OVERDUE_ESCALATION`` days past the deadline (default
grid workers and managers on day 1, street office on day 7, fire detachment on day 15). Each
(hazard, deadline, threshold) is claimed in ``HazardReminder`` under a unique constraint before
anyone is told, so however often the command runs, even twice at once, each reminder goes out
once; an extended deadline starts a fresh set.

Modules: ``messages`` (the session hook and routing), ``inbox`` (reading, wording, links,
e-mail settings), ``reminders`` (``send-reminders``), ``digest`` (the e-mail digest).
"""

from .digest import DigestRun, send_digests
from .inbox import describe, inbox, mark_read, save_settings, settings_for, target_url, unread_count
from .messages import derive, install
from .reminders import ConfigError, ReminderRun, run_reminders

__all__ = [
    "ConfigError",
    "DigestRun",
    "ReminderRun",
    "derive",
    "describe",
    "inbox",
    "install",
    "mark_read",
    "run_reminders",
    "save_settings",
    "send_digests",
    "settings_for",
    "target_url",
    "unread_count",
]
