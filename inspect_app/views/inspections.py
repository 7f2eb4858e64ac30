"""The one-building checklist on a phone: start, fill in, submit once, see the result."""

import uuid
from collections import defaultdict

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from forms.inspections import InspectionForm

from .. import inspections
from ..auth import allowed_kinds, building_or_404, inspection_or_404, require
from ..campaigns import current_campaign, validity_days
from ..checklists import current_checklist
from ..codes import building_code, local_today
from ..db import db
from ..hazards import default_plan
from ..models import Finding, Hazard, utcnow
from ..photo_stores import store_from_config
from .formtools import attach_errors

bp = Blueprint("inspections", __name__)


def _prepare(form: InspectionForm, building, checklist):
    """Fill a fresh form: one entry per applicable item, one per open hazard to re-check."""
    kinds = allowed_kinds(current_user)
    form.kind.choices = [c for c in form.kind.choices if c.value in kinds]
    if not form.is_submitted():
        form.client_uuid.data = str(uuid.uuid4())
        form.started_at.data = utcnow().isoformat()
        requested = request.args.get("kind")
        form.kind.data = requested if requested in kinds else kinds[0]
        for hazard in _open_hazards(building):
            form.followups.append_entry({"hazard": str(hazard.id)})
        today = local_today()
        campaign = current_campaign(db.session, today)
        for item in inspections.applicable_items(checklist, building):
            plan = default_plan(
                building, item, item.default_severity, today=today, campaign=campaign
            )
            form.findings.append_entry(
                {
                    "item": item.code,
                    "responsible_party": plan.responsible_party,
                    "measures": plan.measures,
                    "deadline": plan.deadline,
                }
            )


def _open_hazards(building):
    return db.session.scalars(
        select(Hazard)
        .where(Hazard.building_id == building.id, Hazard.status == "open")
        .order_by(Hazard.deadline, Hazard.id)
    ).all()


def _render(form, building, checklist, status=200):
    items = {i.code: i for i in checklist.items}
    hazards = {str(h.id): h for h in _open_hazards(building)}
    by_category = defaultdict(list)
    flagged = []
    for entry in form.findings:
        item = items.get(entry.form.item.data)
        if item is not None:
            by_category[item.category].append((entry, item))
            if any(f.errors for f in entry.form):
                flagged.append(item.code)
    return (
        render_template(
            "inspections/new.html",
            form=form,
            building=building,
            checklist=checklist,
            by_category=by_category,
            hazards=hazards,
            today=local_today(),
            invalid=status != 200,
            flagged=flagged,
        ),
        status,
    )


@bp.route("/buildings/<int:building_id>/inspections/new", methods=["GET", "POST"])
@require("start_inspection")
def new(building_id: int):
    building = building_or_404(current_user, building_id)
    checklist = current_checklist(db.session)
    if checklist is None:
        abort(503)
    form = InspectionForm()
    _prepare(form, building, checklist)
    if not form.validate_on_submit():
        return _render(form, building, checklist, 422 if form.is_submitted() else 200)
    today = local_today()
    try:
        inspection, _created = inspections.submit(
            db.session,
            user=current_user,
            building=building,
            data=form.data,
            files=inspections.collect_files(form.data),
            store=store_from_config(current_app.config),
            today=today,
            campaign=current_campaign(db.session, today),
        )
    except inspections.Invalid as err:
        db.session.commit()  # keeps the photos that were fine, so they need not be re-sent
        attach_errors(form, err.errors, err.kept)
        return _render(form, building, checklist, 422)
    except inspections.Conflict:
        db.session.rollback()
        form.client_uuid.errors.append("这份表单已经提交过不同的内容，请重新打开检查表")
        return _render(form, building, checklist, 409)
    db.session.commit()
    return redirect(url_for("inspections.show", inspection_id=inspection.id))


@bp.get("/inspections/<int:inspection_id>")
@require("view_buildings")
def show(inspection_id: int):
    inspection = inspection_or_404(current_user, inspection_id)
    today = local_today()
    code = building_code(
        db.session,
        inspection.building,
        today=today,
        validity_days=validity_days(db.session, today),
    )
    hazards = db.session.scalars(
        select(Hazard)
        .join(Finding, Hazard.finding_id == Finding.id)
        .where(Finding.inspection_id == inspection.id)
        .order_by(Hazard.id)
    ).all()
    return render_template(
        "inspections/show.html", inspection=inspection, code=code, hazards=hazards
    )
