"""What each role may do: the permission table, the ``require`` decorator, inspection kinds,
roles one may give, hazard transitions, campaign management. Scope applies on top.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from ..models import (
    Hazard,
    User,
)

# What each role may do. Scope still applies on top of this table.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_buildings": frozenset({"inspector", "manager", "street", "fire", "admin"}),
    "view_ledger": frozenset({"inspector", "manager", "street", "fire", "admin"}),
    "start_inspection": frozenset({"inspector", "manager", "street", "fire"}),
    "upload_photo": frozenset({"inspector", "manager", "street", "fire"}),
    "manage_users": frozenset({"admin"}),
    # Building registry (基础台账): imports and decisions on proposed corrections belong to the
    # street office and the administrator; people on site propose.
    "import_registry": frozenset({"street", "admin"}),
    "propose_building_change": frozenset({"inspector", "manager", "street", "admin"}),
    "decide_building_change": frozenset({"street", "admin"}),
    "view_blind_spots": frozenset({"inspector", "street", "fire", "admin"}),
    "manage_areas": frozenset({"admin"}),
    "manage_buildings": frozenset({"admin"}),
    "manage_tokens": frozenset({"admin"}),
    # Fire safety code (消防安全码): who prints posters, who revokes a printed code, who works
    # residents' reports, and the property manager's self-service (commitment, evidence).
    "print_posters": frozenset({"manager", "street", "fire", "admin"}),
    "rotate_code": frozenset({"admin"}),
    "review_reports": frozenset({"inspector", "street", "fire"}),
    "submit_evidence": frozenset({"manager", "inspector"}),
    # Rectification ledger (整改台账): exports, the detachment's judgement of suspected major
    # hazards (疑似重大火灾隐患) and supervision (挂牌督办) notices.
    "export_ledger": frozenset({"street", "fire", "admin"}),
    "review_major": frozenset({"fire"}),
    "manage_supervision": frozenset({"fire"}),
    "self_service": frozenset({"manager"}),
    # Integrations: registering webhook receivers and reading their delivery log.
    "manage_webhooks": frozenset({"admin"}),
    # Campaign oversight (专项行动): the detachment defines campaigns and draws spot checks
    # (部门抽查); street offices and the detachment follow progress, record building
    # acceptance (逐栋验收) and produce the monthly summary (工作小结).
    "view_campaigns": frozenset({"street", "fire", "admin"}),
    "manage_campaigns": frozenset({"fire", "admin"}),
    "view_dashboard": frozenset({"street", "fire"}),
    "view_spot_checks": frozenset({"street", "fire"}),
    "draw_spot_checks": frozenset({"fire"}),
    "record_acceptance": frozenset({"street", "fire"}),
    "monthly_report": frozenset({"street", "fire"}),
    "view_supervision_candidates": frozenset({"street", "fire"}),
}


def can(user: Any, action: str) -> bool:
    """Whether ``user``'s role allows ``action`` (see PERMISSIONS); anonymous users may not."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.role in PERMISSIONS[action]


def require(action: str) -> Callable:
    """View decorator: login required, then 403 unless the role may do ``action``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, action):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# The inspection kinds each role records: managers do unit self-checks (单位自查); grid
# workers survey and patrol; the detachment spot-checks and accepts.
INSPECTION_KINDS: dict[str, tuple[str, ...]] = {
    "inspector": ("survey", "patrol", "acceptance"),
    "street": ("survey", "patrol", "spot_check", "acceptance"),
    "fire": ("spot_check", "acceptance", "patrol"),
    "manager": ("self_check",),
    "admin": (),
}


def allowed_kinds(user: User) -> tuple[str, ...]:
    """The inspection kinds ``user`` may record, the usual one first."""
    return INSPECTION_KINDS[user.role]


# Roles a user may give to others (user admin pages and registry imports): street offices enrol
# their grid workers and property managers; administrators give any role.
ASSIGNABLE_ROLES: dict[str, tuple[str, ...]] = {
    "admin": ("inspector", "manager", "street", "fire", "admin"),
    "street": ("inspector", "manager"),
}


def assignable_roles(user: User) -> tuple[str, ...]:
    """The roles ``user`` may give to accounts they create or edit."""
    return ASSIGNABLE_ROLES.get(user.role, ())


# Who may move a hazard along its workflow (scope applies on top). The responsible party or the
# grid worker submits evidence; the street office accepts, rejects and extends minor and
# general hazards; major ones, GB 35181 direct elements and supervised ones are the
# detachment's (see ``fire_accepts``); only the detachment lists for supervision.
HAZARD_ACTIONS: dict[str, frozenset[str]] = {
    "submit_evidence": PERMISSIONS["submit_evidence"],
    "accept": frozenset({"street", "fire"}),
    "reject": frozenset({"street", "fire"}),
    "extend_deadline": frozenset({"street", "fire"}),
    "update_plan": frozenset({"street", "fire"}),
    "supervise": PERMISSIONS["manage_supervision"],
}


def fire_accepts(hazard: Hazard) -> bool:
    """Whether only the detachment may accept or reject ``hazard`` (销号): major, a GB 35181
    direct element, or listed for supervision."""
    return hazard.severity == "major" or hazard.gb35181_direct or hazard.supervised_at is not None


def may_transition(user, hazard: Hazard, action: str) -> bool:
    """Whether ``user``'s role may take ``action`` on ``hazard`` (a hazard in the user's scope:
    check that first with ``hazard_or_404``). Unknown actions are never allowed."""
    if not getattr(user, "is_authenticated", False) or action not in HAZARD_ACTIONS:
        return False
    if user.role not in HAZARD_ACTIONS[action]:
        return False
    if action in ("accept", "reject") and user.role != "fire":
        return not fire_accepts(hazard)
    return True
