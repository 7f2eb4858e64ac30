"""Every permission decision of the app lives here.

Two questions are answered, always on the server:

- *Scope*: which buildings may this user see at all? Areas are a subtree (``Area.path`` prefix);
  managers see the buildings they manage. An object outside the scope answers **404**, so its
  existence is not revealed.
- *Action*: may this role do this thing? A forbidden action on an object in scope answers
  **403**.

Views call ``building_or_404``, ``scoped_buildings`` and ``require`` and nothing else.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import abort, g, request
from flask_login import LoginManager, current_user, login_required
from sqlalchemy import Select, and_, false, select
from werkzeug.security import check_password_hash, generate_password_hash

from .audit import deny, request_id
from .db import db
from .models import (
    ApiToken,
    Area,
    Building,
    Hazard,
    Inspection,
    Photo,
    Report,
    User,
    building_manager,
)

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page explains itself
# "basic": phones change address and network often; a changed identifier marks the
# session non-fresh instead of logging the worker out mid-inspection.
login_manager.session_protection = "basic"

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

# Hashing a password for an unknown user keeps login time the same whether or not the name
# exists, so the form does not reveal which accounts there are.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def authenticate(username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same cost either way)."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def existing_username(username: str) -> str | None:
    """``username`` as stored when such an account exists, else None."""
    return db.session.scalar(select(User.username).where(User.username == username.strip()))


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_nonce != nonce:
        return None
    return user


@login_manager.request_loader
def _load_token_user(req) -> User | None:
    """API clients authenticate with ``Authorization: Bearer <token>``."""
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    row = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_sha256 == _token_digest(token.strip()), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.active:
        return None
    g.api_token = row
    return row.user


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/"):
        from flask import jsonify

        message = "需要登录或有效的 API 令牌"
        return jsonify(error="unauthorized", message=message, request_id=request_id()), 401
    from flask import redirect, url_for

    deny("login_required")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str) -> str:
    """Create an API token for ``user`` and return it; only its digest is stored."""
    token = "ia_" + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(user=user, name=name, prefix=token[:10], token_sha256=_token_digest(token))
    )
    db.session.flush()
    return token


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


def area_prefix(user: User) -> str | None:
    """The ``Area.path`` prefix of the user's scope; None means the user has no area scope."""
    return user.area.path if user.area is not None else None


def building_scope(user: User):
    """A SQL condition on ``Building`` that holds exactly for the buildings ``user`` may see."""
    if user.role == "manager":
        return Building.id.in_(
            select(building_manager.c.building_id).where(building_manager.c.user_id == user.id)
        )
    prefix = area_prefix(user)
    if prefix is None:
        return false()
    return Building.area_id.in_(select(Area.id).where(Area.path.startswith(prefix)))


def area_scope(user: User):
    """A SQL condition on ``Area`` for the areas inside the user's scope."""
    prefix = area_prefix(user)
    if prefix is None:
        return false()
    return Area.path.startswith(prefix)


def scoped_buildings(user: User) -> Select:
    """``select(Building)`` limited to the user's scope and to buildings still in service."""
    return select(Building).where(building_scope(user), Building.retired_at.is_(None))


def building_or_404(user: User, building_id: int | None = None, *, code: str | None = None):
    """The building (by id or by code) if the user may see it; 404 otherwise, so that its
    existence is not revealed."""
    key = Building.id == building_id if code is None else Building.code == code
    building = db.session.scalar(select(Building).where(key, building_scope(user)))
    if building is None:
        abort(404)
    return building


def _via_building_or_404(user: User, model, object_id: int):
    """The ``model`` row with this id if the building it belongs to (``model.building_id``) is
    in the user's scope; 404 otherwise, so that its existence is not revealed."""
    row = db.session.scalar(
        select(model)
        .join(Building, model.building_id == Building.id)
        .where(model.id == object_id, building_scope(user))
    )
    if row is None:
        abort(404)
    return row


def inspection_or_404(user: User, inspection_id: int) -> Inspection:
    """The inspection if its building is in the user's scope; 404 otherwise."""
    return _via_building_or_404(user, Inspection, inspection_id)


def photo_or_404(user: User, photo_id: int) -> Photo:
    """The photo if the building it documents is in the user's scope (a pending upload, linked
    to nothing yet, only for its uploader); 404 otherwise."""
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        abort(404)
    # A resident's photo is for the people who verify reports until it documents a hazard.
    if photo.report_id is not None and photo.hazard_id is None and not can(user, "review_reports"):
        abort(404)
    building_id = photo.building_id()
    if building_id is None:
        if photo.uploaded_by_id != user.id:
            abort(404)
    else:
        building_or_404(user, building_id)
    return photo


def record_login(user: User) -> None:
    user.last_login_at = datetime.now(UTC)


# --- registry and administration -------------------------------------------------------------

# Roles a user may give to others (user admin pages and registry imports): street offices enrol
# their grid workers and property managers; administrators give any role.
ASSIGNABLE_ROLES: dict[str, tuple[str, ...]] = {
    "admin": ("inspector", "manager", "street", "fire", "admin"),
    "street": ("inspector", "manager"),
}


def assignable_roles(user: User) -> tuple[str, ...]:
    """The roles ``user`` may give to accounts they create or edit."""
    return ASSIGNABLE_ROLES.get(user.role, ())


def area_in_scope(user: User, area: Area) -> bool:
    """Whether ``area`` lies in ``user``'s area subtree (the user's own area included)."""
    prefix = area_prefix(user)
    return prefix is not None and area.path.startswith(prefix)


def area_or_404(user: User, area_id: int) -> Area:
    """The area if it lies in the user's subtree; 404 otherwise."""
    area = db.session.scalar(select(Area).where(Area.id == area_id, area_scope(user)))
    if area is None:
        abort(404)
    return area


def user_scope(actor: User):
    """A SQL condition on ``User`` for the accounts ``actor`` administers: those scoped to an
    area of the actor's subtree, managers of a building in it, and accounts with no scope at
    all (a manager whose buildings are not assigned yet must be reachable by someone)."""
    from sqlalchemy import and_, or_

    prefix = area_prefix(actor)
    if prefix is None:
        return false()
    areas = select(Area.id).where(Area.path.startswith(prefix))
    managers_here = (
        select(building_manager.c.user_id)
        .join(Building, Building.id == building_manager.c.building_id)
        .where(Building.area_id.in_(areas))
    )
    unscoped = and_(User.area_id.is_(None), User.id.not_in(select(building_manager.c.user_id)))
    return or_(User.area_id.in_(areas), User.id.in_(managers_here), unscoped)


def managed_user_or_404(actor: User, user_id: int) -> User:
    """The account if ``actor`` administers it (see ``user_scope``); 404 otherwise."""
    user = db.session.scalar(select(User).where(User.id == user_id, user_scope(actor)))
    if user is None:
        abort(404)
    return user


def token_or_404(actor: User, token_id: int) -> ApiToken:
    """The API token if its owner is an account ``actor`` administers; 404 otherwise."""
    token = db.session.scalar(
        select(ApiToken)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.id == token_id, user_scope(actor))
    )
    if token is None:
        abort(404)
    return token


def change_or_404(user: User, change_id: int):
    """The proposed building change if its building is in the user's scope; 404 otherwise."""
    from .models import BuildingChange

    return _via_building_or_404(user, BuildingChange, change_id)


# --- fire safety code: scans, residents' reports, hazards a manager answers for --------------


def in_scope(user, building: Building) -> bool:
    """Whether a logged-in ``user`` may see ``building`` (False for anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(
            select(Building.id).where(Building.id == building.id, building_scope(user))
        )
        is not None
    )


def hazard_or_404(user: User, hazard_id: int) -> Hazard:
    """The hazard if its building is in the user's scope; 404 otherwise."""
    return _via_building_or_404(user, Hazard, hazard_id)


def scoped_reports(user: User) -> Select:
    """``select(Report)`` limited to the buildings of the user's scope."""
    return (
        select(Report)
        .join(Building, Report.building_id == Building.id)
        .where(building_scope(user))
    )


def report_or_404(user: User, report_id: int) -> Report:
    """The resident's report if its building is in the user's scope; 404 otherwise."""
    report = db.session.scalar(scoped_reports(user).where(Report.id == report_id))
    if report is None:
        abort(404)
    return report


# --- rectification ledger: hazard transitions, supervision, ledger areas ----------------------

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
    return (
        hazard.severity == "major" or hazard.gb35181_direct or hazard.supervised_at is not None
    )


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


def supervision_or_404(user: User, supervision_id: int):
    """The supervision if its building is in the user's scope; 404 otherwise."""
    from .models import Supervision

    return _via_building_or_404(user, Supervision, supervision_id)


def ledger_area_or_404(user: User, code: str | None) -> Area | None:
    """The area a ledger rollup is about: ``code`` if it lies in the user's subtree (404
    otherwise), else the user's own area; None for managers, whose ledger is their buildings."""
    if not code:
        return user.area
    area = db.session.scalar(select(Area).where(Area.code == code, area_scope(user)))
    if area is None:
        abort(404)
    return area


# --- inbox and webhooks ------------------------------------------------------------------------


def covering_users(building_ids) -> dict[int, list[User]]:
    """For each of ``building_ids``, the active users whose scope includes that building: the
    exact inverse of ``building_scope``. Managers of the building, and everyone else whose area
    is the building's area or one above it (its path a prefix of the building's area path).
    Two queries whatever the number of buildings (callers pass a few hundred at most)."""
    from sqlalchemy import func
    from sqlalchemy.orm import aliased

    ids = list(building_ids)
    out: dict[int, list[User]] = {building_id: [] for building_id in ids}
    if not ids:
        return out
    # Named aliases keep the statement's cache key stable, so it is compiled once.
    theirs, mine = aliased(Area, name="building_area"), aliased(Area, name="scope_area")
    by_area = db.session.execute(
        select(Building.id.label("building_id"), User)
        .join(theirs, Building.area_id == theirs.id)
        .join(mine, func.substr(theirs.path, 1, func.length(mine.path)) == mine.path)
        .join(User, User.area_id == mine.id)
        .where(Building.id.in_(ids), User.role != "manager", User.active.is_(True))
    ).all()
    by_building = db.session.execute(
        select(building_manager.c.building_id, User)
        .join(User, User.id == building_manager.c.user_id)
        .where(
            building_manager.c.building_id.in_(ids),
            User.role == "manager",
            User.active.is_(True),
        )
    ).all()
    for building_id, user in sorted(by_area + by_building, key=lambda p: (p[0], p[1].id)):
        out[building_id].append(user)
    return out


def notification_scope(user: User):
    """A SQL condition on ``Notification`` (joined to ``Building``): the user's own messages
    about buildings still in the user's scope, so a message outlives no change of scope."""
    from .models import Notification

    return and_(Notification.user_id == user.id, building_scope(user))


def notification_or_404(user: User, notification_id: int):
    """The user's own message if its building is in the user's scope; 404 otherwise."""
    from .models import Notification

    row = db.session.scalar(
        select(Notification)
        .join(Building, Notification.building_id == Building.id)
        .where(Notification.id == notification_id, notification_scope(user))
    )
    if row is None:
        abort(404)
    return row


def webhook_scope(user: User):
    """A SQL condition on ``Webhook``: hooks registered for an area of the user's subtree."""
    from .models import Webhook

    prefix = area_prefix(user)
    if prefix is None:
        return false()
    return Webhook.area_id.in_(select(Area.id).where(Area.path.startswith(prefix)))


def webhook_or_404(user: User, webhook_id: int):
    """The webhook if it serves an area of the user's subtree; 404 otherwise."""
    from .models import Webhook

    hook = db.session.scalar(select(Webhook).where(Webhook.id == webhook_id, webhook_scope(user)))
    if hook is None:
        abort(404)
    return hook


# --- campaign oversight: campaigns, spot-check draws, the area a campaign view is about -------


def campaign_scope(user: User):
    """A SQL condition on ``Campaign``: campaigns over the user's area, an area containing
    it, or an area inside the user's subtree."""
    from .campaigns import covers_condition
    from .models import Campaign

    prefix = area_prefix(user)
    if prefix is None:
        return false()
    return Campaign.area_id.in_(select(Area.id).where(covers_condition(prefix)))


def campaign_or_404(user: User, campaign_id: int):
    """The campaign if it meets the user's area (see ``campaign_scope``); 404 otherwise."""
    from .models import Campaign

    campaign = db.session.scalar(
        select(Campaign).where(Campaign.id == campaign_id, campaign_scope(user))
    )
    if campaign is None:
        abort(404)
    return campaign


def campaign_area_or_404(user: User, campaign, code: str | None) -> Area:
    """The area a view of ``campaign`` is about: ``code`` when it lies both in the user's
    subtree and in the campaign's area (404 otherwise), else the deeper of the user's area and
    the campaign's area."""
    from .campaigns import campaign_node

    if code:
        area = db.session.scalar(select(Area).where(Area.code == code, area_scope(user)))
        if area is None or not area.path.startswith(campaign.area.path):
            abort(404)
        return area
    node = campaign_node(campaign, user.area)
    if node is None:
        abort(404)
    return node


def spot_check_or_404(user: User, spot_check_id: int):
    """The spot-check draw if its street lies in the user's subtree or contains the user's
    area; 404 otherwise."""
    from .campaigns import covers_condition
    from .models import SpotCheck

    prefix = area_prefix(user)
    if prefix is None:
        abort(404)
    draw = db.session.scalar(
        select(SpotCheck)
        .join(Area, SpotCheck.area_id == Area.id)
        .where(SpotCheck.id == spot_check_id, covers_condition(prefix))
    )
    if draw is None:
        abort(404)
    return draw


def may_manage_campaign(user, campaign) -> bool:
    """Whether ``user`` may change ``campaign``: the role defines campaigns and the campaign's
    area lies in the user's subtree (a campaign over a wider area belongs to a higher level)."""
    return can(user, "manage_campaigns") and area_in_scope(user, campaign.area)
