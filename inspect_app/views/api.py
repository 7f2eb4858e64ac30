"""The JSON API under ``/api/v1``; clients authenticate with a bearer token or a session."""

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from sqlalchemy import or_

from ..auth import building_or_404, require, scoped_buildings
from ..campaigns import validity_days
from ..codes import building_code, building_codes, local_today
from ..db import db
from ..models import Building
from ..openapi import spec
from ..web import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Token clients send no CSRF token; session-authenticated browsers only read here so far.
csrf.exempt(bp)


def _building_json(building: Building, code) -> dict:
    return {
        "id": building.id,
        "code": building.code,
        "name": building.name,
        "address": building.address,
        "use": building.use,
        "height_m": float(building.height_m),
        "storeys": building.storeys,
        "building_class": building.building_class,
        "area_code": building.area.code,
        "colour": code.colour,
        "reasons": [r.text for r in code.reasons],
        "last_inspected_on": code.last_inspected_on.isoformat() if code.last_inspected_on else None,
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec())


@bp.get("/buildings")
@require("view_buildings")
def buildings():
    """The caller's buildings, 100 a page, optionally filtered by ``q``."""
    try:
        page_no = int(request.args.get("page", "1"))
    except ValueError:
        return jsonify(error="bad_request", message="page must be a positive integer"), 400
    if page_no < 1:
        return jsonify(error="bad_request", message="page must be a positive integer"), 400
    q = request.args.get("q", "").strip()[:100]
    query = scoped_buildings(current_user).order_by(Building.code)
    if q:
        query = query.where(
            or_(
                Building.name.contains(q, autoescape=True),
                Building.address.contains(q, autoescape=True),
                Building.code.contains(q, autoescape=True),
            )
        )
    page = db.paginate(query, page=page_no, per_page=100, error_out=False)
    today = local_today()
    codes = building_codes(
        db.session, page.items, today=today, validity_days=validity_days(db.session, today)
    )
    return jsonify(
        items=[_building_json(b, codes[b.id]) for b in page.items],
        page=page.page,
        pages=page.pages,
        total=page.total,
    )


@bp.get("/buildings/<int:building_id>")
@require("view_buildings")
def building(building_id: int):
    b = building_or_404(current_user, building_id)
    today = local_today()
    code = building_code(db.session, b, today=today, validity_days=validity_days(db.session, today))
    return jsonify(_building_json(b, code))


@bp.get("/me")
@require("view_buildings")
def me():
    u = current_user
    return jsonify(
        username=u.username,
        display_name=u.display_name,
        role=u.role,
        area_code=u.area.code if u.area else None,
        app_version=current_app.config.get("VERSION", "0.1.0"),
    )
