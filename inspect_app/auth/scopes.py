"""Which objects a user may see: buildings by area subtree (managers: their buildings), and every
object through its building or area. Out of scope answers 404, so existence is not revealed.
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import Select, and_, false, select

from ..db import db
from ..models import (
    ApiToken,
    Area,
    Building,
    BuildingChange,
    Campaign,
    Hazard,
    Inspection,
    Notification,
    Photo,
    Report,
    SpotCheck,
    Supervision,
    User,
    Webhook,
    building_manager,
)
from .roles import can


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
    return db.first_or_404(select(Building).where(key, building_scope(user)))


def _via_building_or_404(user: User, model, object_id: int):
    """The ``model`` row with this id if the building it belongs to (``model.building_id``) is
    in the user's scope; 404 otherwise, so that its existence is not revealed."""
    return db.first_or_404(
        select(model)
        .join(Building, model.building_id == Building.id)
        .where(model.id == object_id, building_scope(user))
    )


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


# --- registry and administration -------------------------------------------------------------


def area_in_scope(user: User, area: Area) -> bool:
    """Whether ``area`` lies in ``user``'s area subtree (the user's own area included)."""
    prefix = area_prefix(user)
    return prefix is not None and area.path.startswith(prefix)


def area_or_404(user: User, area_id: int) -> Area:
    """The area if it lies in the user's subtree; 404 otherwise."""
    return db.first_or_404(select(Area).where(Area.id == area_id, area_scope(user)))


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
    return db.first_or_404(select(User).where(User.id == user_id, user_scope(actor)))


def token_or_404(actor: User, token_id: int) -> ApiToken:
    """The API token if its owner is an account ``actor`` administers; 404 otherwise."""
    return db.first_or_404(
        select(ApiToken)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.id == token_id, user_scope(actor))
    )


def change_or_404(user: User, change_id: int):
    """The proposed building change if its building is in the user's scope; 404 otherwise."""
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
        select(Report).join(Building, Report.building_id == Building.id).where(building_scope(user))
    )


def report_or_404(user: User, report_id: int) -> Report:
    """The resident's report if its building is in the user's scope; 404 otherwise."""
    return db.first_or_404(scoped_reports(user).where(Report.id == report_id))


# --- rectification ledger: hazard transitions, supervision, ledger areas ----------------------


def supervision_or_404(user: User, supervision_id: int):
    """The supervision if its building is in the user's scope; 404 otherwise."""
    return _via_building_or_404(user, Supervision, supervision_id)


def ledger_area_or_404(user: User, code: str | None) -> Area | None:
    """The area a ledger rollup is about: ``code`` if it lies in the user's subtree (404
    otherwise), else the user's own area; None for managers, whose ledger is their buildings."""
    if not code:
        return user.area
    return db.first_or_404(select(Area).where(Area.code == code, area_scope(user)))


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
    return and_(Notification.user_id == user.id, building_scope(user))


def notification_or_404(user: User, notification_id: int):
    """The user's own message if its building is in the user's scope; 404 otherwise."""
    return db.first_or_404(
        select(Notification)
        .join(Building, Notification.building_id == Building.id)
        .where(Notification.id == notification_id, notification_scope(user))
    )


def webhook_scope(user: User):
    """A SQL condition on ``Webhook``: hooks registered for an area of the user's subtree."""
    prefix = area_prefix(user)
    if prefix is None:
        return false()
    return Webhook.area_id.in_(select(Area.id).where(Area.path.startswith(prefix)))


def webhook_or_404(user: User, webhook_id: int):
    """The webhook if it serves an area of the user's subtree; 404 otherwise."""
    return db.first_or_404(select(Webhook).where(Webhook.id == webhook_id, webhook_scope(user)))


# --- campaign oversight: campaigns, spot-check draws, the area a campaign view is about -------


def campaign_scope(user: User):
    """A SQL condition on ``Campaign``: campaigns over the user's area, an area containing
    it, or an area inside the user's subtree."""
    from ..campaigns import covers_condition

    prefix = area_prefix(user)
    if prefix is None:
        return false()
    return Campaign.area_id.in_(select(Area.id).where(covers_condition(prefix)))


def campaign_or_404(user: User, campaign_id: int):
    """The campaign if it meets the user's area (see ``campaign_scope``); 404 otherwise."""
    return db.first_or_404(select(Campaign).where(Campaign.id == campaign_id, campaign_scope(user)))


def campaign_area_or_404(user: User, campaign, code: str | None) -> Area:
    """The area a view of ``campaign`` is about: ``code`` when it lies both in the user's
    subtree and in the campaign's area (404 otherwise), else the deeper of the user's area and
    the campaign's area."""
    from ..campaigns import campaign_node

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
    from ..campaigns import covers_condition

    prefix = area_prefix(user)
    if prefix is None:
        abort(404)
    return db.first_or_404(
        select(SpotCheck)
        .join(Area, SpotCheck.area_id == Area.id)
        .where(SpotCheck.id == spot_check_id, covers_condition(prefix))
    )


def may_manage_campaign(user, campaign) -> bool:
    """Whether ``user`` may change ``campaign``: the role defines campaigns and the campaign's
    area lies in the user's subtree (a campaign over a wider area belongs to a higher level)."""
    return can(user, "manage_campaigns") and area_in_scope(user, campaign.area)
