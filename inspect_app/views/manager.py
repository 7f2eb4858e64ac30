"""A property manager's self-service (物业自助) for the buildings they manage: the plan with
what is still open, self-check (单位自查, the same checklist, kind ``self_check``), the public
commitment (公示承诺) shown on the code's public page, and rectification evidence (photos and a
note) that moves a hazard to awaiting acceptance. Buildings and hazards outside the manager's
buildings answer 404 (``auth``)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, select
from sqlalchemy.orm.exc import StaleDataError

from forms.manager import CommitmentForm, EvidenceForm

from .. import hazards, photo_stores, photos
from ..auth import building_or_404, can, hazard_or_404, require
from ..campaigns import validity_days
from ..codes import building_code, days_overdue, local_today
from ..db import db
from ..models import Hazard, utcnow

bp = Blueprint("manager", __name__, url_prefix="/manage")

MAX_EVIDENCE_PHOTOS = 6


@bp.get("/buildings/<int:building_id>")
@require("self_service")
def building(building_id: int):
    b = building_or_404(current_user, building_id)
    today = local_today()
    code = building_code(db.session, b, today=today, validity_days=validity_days(db.session, today))
    # What needs the manager first: open hazards by deadline, then those awaiting acceptance.
    rows = db.session.scalars(
        select(Hazard)
        .where(Hazard.building_id == b.id, Hazard.status.in_(("open", "submitted")))
        .order_by(case((Hazard.status == "open", 0), else_=1), Hazard.deadline, Hazard.id)
    ).all()
    return render_template(
        "manager/building.html",
        building=b,
        code=code,
        hazards=rows,
        today=today,
        days_overdue=days_overdue,
    )


@bp.route("/buildings/<int:building_id>/commitment", methods=["GET", "POST"])
@require("self_service")
def commitment(building_id: int):
    b = building_or_404(current_user, building_id)
    form = CommitmentForm(data={"text": b.public_commitment or ""})
    if form.validate_on_submit():
        b.public_commitment = form.text.data.strip()
        b.public_commitment_at = utcnow()
        db.session.commit()
        flash(_("公示承诺已更新，扫码即可看到。"))
        return redirect(url_for("manager.building", building_id=b.id))
    status = 422 if form.errors else 200
    return render_template("manager/commitment.html", building=b, form=form), status


def _evidence_page(hazard, form, status=200, message=None):
    if message is not None:
        form.version.data = str(hazard.version)  # a resubmission is against what is shown now
    return (
        render_template("manager/evidence.html", hazard=hazard, form=form, message=message),
        status,
    )


@bp.route("/hazards/<int:hazard_id>/evidence", methods=["GET", "POST"])
@require("submit_evidence")
def evidence(hazard_id: int):
    """Photos after the fix and a note: ``open`` → ``submitted`` (待验收). The page carries the
    hazard's version; if someone changed the hazard meanwhile, nothing is stored and the
    current state is shown (409)."""
    hazard = hazard_or_404(current_user, hazard_id)
    form = EvidenceForm()
    if not form.is_submitted():
        form.version.data = str(hazard.version)
    if not form.validate_on_submit():
        return _evidence_page(hazard, form, 422 if form.is_submitted() else 200)
    files = [f for f in form.photos.data or () if hasattr(f, "read")]
    raws = [data for data in (f.read() for f in files) if data]
    if not raws:
        form.photos.errors = [_("请上传至少一张整改后照片")]
        return _evidence_page(hazard, form, 422)
    if len(raws) > MAX_EVIDENCE_PHOTOS:
        form.photos.errors = [_("最多上传 %(n)s 张照片", n=MAX_EVIDENCE_PHOTOS)]
        return _evidence_page(hazard, form, 422)
    store = photo_stores.store_from_config(current_app.config)
    rows = []
    for n, raw in enumerate(raws, 1):
        try:
            photo, _created = photos.upload_pending(
                db.session,
                store=store,
                user=current_user,
                raw=raw,
                max_pixels=int(current_app.config["MAX_PHOTO_PIXELS"]),
            )
        except photos.PhotoError as err:
            db.session.rollback()
            form.photos.errors = [_("第 %(n)s 张照片：%(e)s", n=n, e=str(err))]
            return _evidence_page(hazard, form, 422)
        rows.append(photo)
    try:
        hazards.submit_evidence(
            db.session,
            hazard,
            actor=current_user,
            version=int(form.version.data),
            note=form.note.data,
            photos=rows,
        )
        db.session.commit()
    except hazards.TransitionError as err:
        db.session.rollback()
        db.session.refresh(hazard)
        return _evidence_page(hazard, form, err.status, message=err.message)
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(hazard)
        message = _("该隐患已被他人更新，以下是最新状态；请核对后再提交")
        return _evidence_page(hazard, form, 409, message=message)
    flash(_("整改材料已提交，等待验收。"))
    if can(current_user, "self_service"):
        return redirect(url_for("manager.building", building_id=hazard.building_id))
    return redirect(url_for("buildings.show", building_id=hazard.building_id))
