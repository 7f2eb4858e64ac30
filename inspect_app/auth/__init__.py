"""Every permission decision of the app lives in this package.

Two questions are answered, always on the server:

- *Scope* (``scopes``): which buildings may this user see at all? Areas are a subtree
  (``Area.path`` prefix); managers see the buildings they manage. An object outside the scope
  answers **404**, so its existence is not revealed.
- *Action* (``roles``): may this role do this thing? A forbidden action on an object in scope
  answers **403**.

Who the user is — passwords, sessions, API tokens — is ``accounts``. Views call
``building_or_404``, ``scoped_buildings``, ``require`` and the other ``*_or_404`` lookups, and
decide nothing themselves.
"""

from .accounts import (
    authenticate,
    existing_username,
    hash_password,
    issue_token,
    login_manager,
    record_login,
)
from .roles import (
    ASSIGNABLE_ROLES,
    HAZARD_ACTIONS,
    INSPECTION_KINDS,
    PERMISSIONS,
    allowed_kinds,
    assignable_roles,
    can,
    fire_accepts,
    may_transition,
    require,
)
from .scopes import (
    area_in_scope,
    area_or_404,
    area_prefix,
    area_scope,
    building_or_404,
    building_scope,
    campaign_area_or_404,
    campaign_or_404,
    campaign_scope,
    change_or_404,
    covering_users,
    hazard_or_404,
    in_scope,
    inspection_or_404,
    ledger_area_or_404,
    managed_user_or_404,
    may_manage_campaign,
    notification_or_404,
    notification_scope,
    photo_or_404,
    report_or_404,
    scoped_buildings,
    scoped_reports,
    spot_check_or_404,
    supervision_or_404,
    token_or_404,
    user_scope,
    webhook_or_404,
    webhook_scope,
)

__all__ = [
    "ASSIGNABLE_ROLES",
    "HAZARD_ACTIONS",
    "INSPECTION_KINDS",
    "PERMISSIONS",
    "allowed_kinds",
    "area_in_scope",
    "area_or_404",
    "area_prefix",
    "area_scope",
    "assignable_roles",
    "authenticate",
    "building_or_404",
    "building_scope",
    "campaign_area_or_404",
    "campaign_or_404",
    "campaign_scope",
    "can",
    "change_or_404",
    "covering_users",
    "existing_username",
    "fire_accepts",
    "hash_password",
    "hazard_or_404",
    "in_scope",
    "inspection_or_404",
    "issue_token",
    "ledger_area_or_404",
    "login_manager",
    "managed_user_or_404",
    "may_manage_campaign",
    "may_transition",
    "notification_or_404",
    "notification_scope",
    "photo_or_404",
    "record_login",
    "report_or_404",
    "require",
    "scoped_buildings",
    "scoped_reports",
    "spot_check_or_404",
    "supervision_or_404",
    "token_or_404",
    "user_scope",
    "webhook_or_404",
    "webhook_scope",
]
