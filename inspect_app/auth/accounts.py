"""Who is logged in: passwords, sessions, API tokens, and what an anonymous request is told."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from flask import g, request
from flask_login import LoginManager
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit import deny, request_id
from ..db import db
from ..models import (
    ApiToken,
    User,
)

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page explains itself
# "basic": phones change address and network often; a changed identifier marks the
# session non-fresh instead of logging the worker out mid-inspection.
login_manager.session_protection = "basic"

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


def record_login(user: User) -> None:
    user.last_login_at = datetime.now(UTC)
