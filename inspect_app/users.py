"""Accounts administered in the app: create, edit scope and role, disable, reset passwords.

Every change that must end a person's open sessions (a password reset, disabling) rotates
``User.session_nonce``. The nonce is part of the login session id (``User.get_id``), so
sessions and remember-me cookies issued before stop working at their next request.

Who may give which role and scope is decided in ``auth`` (``assignable_roles``,
``area_in_scope``, ``building_scope``); these functions enforce it and raise ``Invalid`` with
messages per form field. They flush and never commit.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from .auth import area_in_scope, assignable_roles, building_scope, hash_password
from .models import ApiToken, Area, Building, User, building_manager, utcnow

USERNAME_RE = re.compile(r"[A-Za-z0-9_.@-]{2,64}")
MIN_PASSWORD = 8
_CODES_SPLIT = re.compile(r"[\s、,，;；]+")


class Invalid(Exception):
    """Bad account data; ``errors`` maps form field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def split_codes(text: str | None) -> list[str]:
    """Building codes typed in one box, separated by spaces, commas or 、, without repeats."""
    return list(dict.fromkeys(c for c in _CODES_SPLIT.split(text or "") if c))


def new_password() -> str:
    """A random password to hand over once (12 URL-safe characters, 72 bits)."""
    return secrets.token_urlsafe(9)


def rotate_sessions(user: User) -> None:
    """End every session and remember-me cookie the user has open."""
    user.session_nonce = uuid.uuid4().hex


def _scope(
    session: Session,
    actor: User,
    role: str,
    area: Area | None,
    building_codes: Sequence[str],
    errors: dict[str, list[str]],
) -> list[Building]:
    """Check role and scope against what ``actor`` may give; the managed buildings found."""
    if role not in assignable_roles(actor):
        errors.setdefault("role", []).append("您不能设置该角色")
    buildings: list[Building] = []
    if role == "manager":
        if area is not None:
            errors.setdefault("area", []).append("物业用户按管理楼栋划定范围，不选管辖区域")
        if not building_codes:
            errors.setdefault("buildings", []).append("请填写所管理楼栋的编码")
        found = {
            b.code: b
            for b in session.scalars(
                select(Building).where(Building.code.in_(building_codes), building_scope(actor))
            )
        }
        missing = [c for c in building_codes if c not in found]
        if missing:
            errors.setdefault("buildings", []).append(
                f"楼栋编码不存在或不在您的管辖范围内：{'、'.join(missing)}"
            )
        buildings = [found[c] for c in building_codes if c in found]
    else:
        if area is None:
            errors.setdefault("area", []).append("请选择管辖区域")
        elif not area_in_scope(actor, area):
            errors.setdefault("area", []).append("该区域不在您的管辖范围内")
        if building_codes:
            errors.setdefault("buildings", []).append("只有物业用户填写管理楼栋")
    return buildings


def _check_password(password: str | None, errors: dict[str, list[str]]) -> None:
    if password is not None and not MIN_PASSWORD <= len(password) <= 128:
        errors.setdefault("password", []).append(f"密码至少 {MIN_PASSWORD} 位")


def create_user(
    session: Session,
    *,
    actor: User,
    username: str,
    display_name: str,
    role: str,
    phone: str | None = None,
    area: Area | None = None,
    building_codes: Sequence[str] = (),
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create an account. Returns ``(user, generated)`` where ``generated`` is the random
    password made when none was given (to be shown once), else None. Raises Invalid."""
    errors: dict[str, list[str]] = {}
    username = (username or "").strip()
    if not USERNAME_RE.fullmatch(username):
        errors.setdefault("username", []).append("用户名只能用 2 到 64 个字母、数字或 _ . - @")
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors.setdefault("username", []).append("该用户名已被使用")
    if not (display_name or "").strip():
        errors.setdefault("display_name", []).append("请填写姓名")
    password = password or None
    _check_password(password, errors)
    buildings = _scope(session, actor, role, area, building_codes, errors)
    if errors:
        raise Invalid(errors)
    generated = None if password else new_password()
    user = User(
        username=username,
        display_name=display_name.strip(),
        phone=(phone or "").strip() or None,
        role=role,
        area_id=area.id if area is not None else None,
        password_hash=hash_password(password or generated),
        managed_buildings=buildings,
    )
    session.add(user)
    session.flush()
    return user, generated


def update_user(
    session: Session,
    user: User,
    *,
    actor: User,
    display_name: str,
    role: str,
    phone: str | None = None,
    area: Area | None = None,
    building_codes: Sequence[str] = (),
) -> None:
    """Change name, phone, role and scope. An administrator cannot change their own role (so
    that nobody locks the last administrator out by mistake). Raises Invalid."""
    errors: dict[str, list[str]] = {}
    if not (display_name or "").strip():
        errors.setdefault("display_name", []).append("请填写姓名")
    if user.id == actor.id and role != user.role:
        errors.setdefault("role", []).append("不能修改自己的角色")
    if user.role not in assignable_roles(actor):
        errors.setdefault("role", []).append("您不能修改该角色的用户")
    buildings = _scope(session, actor, role, area, building_codes, errors)
    if errors:
        raise Invalid(errors)
    user.display_name = display_name.strip()
    user.phone = (phone or "").strip() or None
    user.role = role
    user.area_id = area.id if area is not None else None
    # Managed buildings outside the actor's scope are not the actor's to remove.
    outside = set(
        session.scalars(
            select(building_manager.c.building_id)
            .join(Building, Building.id == building_manager.c.building_id)
            .where(building_manager.c.user_id == user.id, ~building_scope(actor))
        )
    )
    kept = [b for b in user.managed_buildings if b.id in outside]
    user.managed_buildings = kept + buildings if role == "manager" else []
    session.flush()


def reset_password(session: Session, user: User, *, password: str | None = None) -> str | None:
    """Set a new password (a random one when none is given, returned to be shown once) and end
    the user's sessions. Returns the generated password or None. Raises Invalid."""
    errors: dict[str, list[str]] = {}
    password = password or None
    _check_password(password, errors)
    if errors:
        raise Invalid(errors)
    generated = None if password else new_password()
    user.password_hash = hash_password(password or generated)
    rotate_sessions(user)
    session.flush()
    return generated


def set_active(session: Session, user: User, active: bool, *, actor: User) -> None:
    """Enable or disable an account; disabling ends its sessions (its API tokens stop working
    too, as they only act for active users). Nobody disables their own account."""
    if not active and user.id == actor.id:
        raise Invalid({"": ["不能停用自己的账户"]})
    if user.active and not active:
        rotate_sessions(user)
    user.active = active
    session.flush()


def revoke_token(session: Session, token: ApiToken) -> bool:
    """Revoke an API token at once (it stops authenticating on its next request); False when
    it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    session.flush()
    return True
