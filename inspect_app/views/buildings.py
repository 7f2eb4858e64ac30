from datetime import datetime, time

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import func, or_, select

from forms.search import BuildingSearchForm

from ..auth import building_or_404, require, scoped_buildings
from ..campaigns import current_campaign, validity_days
from ..codes import building_code, building_codes, days_overdue, district_tz, local_today
from ..db import db
from ..models import Building, Hazard, Inspection

bp = Blueprint("buildings", __name__)


@bp.get("/")
@require("view_buildings")
def index():
    """The role's home: the buildings in scope, searchable, each with its code colour."""
    form = BuildingSearchForm(request.args)
    query = scoped_buildings(current_user)
    valid = form.validate()
    q = form.q.data.strip() if valid and form.q.data else ""
    if q:
        query = query.where(
            or_(
                Building.name.contains(q, autoescape=True),
                Building.address.contains(q, autoescape=True),
                Building.code.contains(q, autoescape=True),
            )
        )
    today = local_today()
    campaign = current_campaign(db.session, today)
    # The work still to do comes first: buildings not yet inspected in the running campaign
    # (without a campaign: never inspected, then the longest since).
    last_at = (
        select(func.max(Inspection.submitted_at))
        .where(Inspection.building_id == Building.id)
        .correlate(Building)
        .scalar_subquery()
    )
    if campaign is not None:
        start = datetime.combine(campaign.starts_on, time(), district_tz())
        query = query.order_by(func.coalesce(last_at >= start, False), Building.code)
    else:
        query = query.order_by(last_at.is_not(None), last_at, Building.code)
    page = db.paginate(
        query,
        # An out-of-range page number is reported on the form, never sent to the database.
        page=(form.page.data if valid else None) or 1,
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    codes = building_codes(
        db.session, page.items, today=today, validity_days=validity_days(db.session, today)
    )
    return render_template(
        "buildings/index.html", form=form, page=page, codes=codes, q=q, campaign=campaign
    )


@bp.get("/buildings/<int:building_id>")
@require("view_buildings")
def show(building_id: int):
    building = building_or_404(current_user, building_id)
    today = local_today()
    code = building_code(
        db.session, building, today=today, validity_days=validity_days(db.session, today)
    )
    hazards = db.session.scalars(
        select(Hazard).where(Hazard.building_id == building.id).order_by(Hazard.id.desc())
    ).all()
    inspections = db.session.scalars(
        select(Inspection)
        .where(Inspection.building_id == building.id)
        .order_by(Inspection.submitted_at.desc())
        .limit(10)
    ).all()
    return render_template(
        "buildings/show.html",
        building=building,
        code=code,
        hazards=hazards,
        inspections=inspections,
        today=today,
        days_overdue=days_overdue,
    )
