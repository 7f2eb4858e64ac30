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
from sqlalchemy import Select, false, select
from werkzeug.security import check_password_hash, generate_password_hash

from .db import db
from .models import ApiToken, Area, Building, Inspection, Photo, User, building_manager

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page explains itself
login_manager.session_protection = "strong"

# What each role may do. Scope still applies on top of this table.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_buildings": frozenset({"inspector", "manager", "street", "fire", "admin"}),
    "view_ledger": frozenset({"inspector", "manager", "street", "fire", "admin"}),
    "start_inspection": frozenset({"inspector", "manager", "street", "fire"}),
    "upload_photo": frozenset({"inspector", "manager", "street", "fire"}),
    "manage_users": frozenset({"admin"}),
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

        return jsonify(error="unauthorized", message="需要登录或有效的 API 令牌"), 401
    from flask import redirect, url_for

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


def inspection_or_404(user: User, inspection_id: int) -> Inspection:
    """The inspection if its building is in the user's scope; 404 otherwise."""
    inspection = db.session.scalar(
        select(Inspection)
        .join(Building, Inspection.building_id == Building.id)
        .where(Inspection.id == inspection_id, building_scope(user))
    )
    if inspection is None:
        abort(404)
    return inspection


def photo_or_404(user: User, photo_id: int) -> Photo:
    """The photo if the building it documents is in the user's scope (a pending upload, linked
    to nothing yet, only for its uploader); 404 otherwise."""
    photo = db.session.get(Photo, photo_id)
    if photo is None:
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
