"""A hazard's page and its transitions: evidence, acceptance, rejection, deadline extension,
plan changes. Supervision listings are made from the building's plan page (views/plans.py).

A stale form (someone acted on the hazard meanwhile) answers 409 with the page showing the
current state and the user's input kept, its version moved to the current one, so a second
submit is a decision taken with the new state in view.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from forms.hazards import AcceptForm, EvidenceForm, ExtendForm, PlanForm, RejectForm

from .. import hazards, ledger, photo_stores, photos
from ..auth import hazard_or_404, may_transition, require
from ..codes import days_overdue, local_today
from ..db import db
from ..models import Hazard, Photo

bp = Blueprint("hazards", __name__)

FORMS = {
    "submit_evidence": EvidenceForm,
    "accept": AcceptForm,
    "reject": RejectForm,
    "extend_deadline": ExtendForm,
    "update_plan": PlanForm,
}
DONE = {
    "submit_evidence": "整改材料已提交，等待验收",
    "accept": "已验收销号",
    "reject": "已退回整改",
    "extend_deadline": "整改期限已延长",
    "update_plan": "整改安排已更新",
}


class PhotoProblem(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def resolve_refs(shas) -> list[Photo]:
    """Photos the current user uploaded earlier (pending or not), by sha256."""
    found = []
    for sha in [s for s in shas if s]:
        photo = db.session.scalar(
            select(Photo)
            .where(Photo.sha256 == sha, Photo.uploaded_by_id == current_user.id)
            .order_by(Photo.id.desc())
            .limit(1)
        )
        if photo is None:
            raise PhotoProblem(f"照片 {sha[:12]}… 未上传或已过期，请重新上传")
        found.append(photo)
    return found


def store_uploads(files) -> list[Photo]:
    """Process and store uploaded photo files as pending uploads of the current user; a bad
    file raises ``PhotoProblem`` naming it (the good ones are kept as pending)."""
    stored = []
    store = photo_stores.store_from_config(current_app.config)
    for n, upload in enumerate([f for f in files or () if getattr(f, "filename", "")], 1):
        try:
            photo, _created = photos.upload_pending(
                db.session,
                store=store,
                user=current_user,
                raw=upload.read(),
                max_pixels=current_app.config.get("MAX_PHOTO_PIXELS", 50_000_000),
            )
        except photos.PhotoError as err:
            raise PhotoProblem(f"第 {n} 张照片：{err}") from err
        stored.append(photo)
    return stored


def perform(hazard: Hazard, action: str, *, version, data: dict, evidence: list[Photo]):
    """Run one transition for the current user (permission already checked). Raises the
    ``hazards.TransitionError`` family; flushes, never commits."""
    session, actor = db.session, current_user
    if action == "submit_evidence":
        return hazards.submit_evidence(
            session, hazard, actor=actor, version=version, note=data.get("note"), photos=evidence
        )
    if action == "accept":
        return hazards.accept(session, hazard, actor=actor, version=version, note=data.get("note"))
    if action == "reject":
        return hazards.reject(
            session,
            hazard,
            actor=actor,
            version=version,
            reason=data.get("reason") or data.get("note"),
        )
    if action == "extend_deadline":
        return hazards.extend_deadline(
            session,
            hazard,
            actor=actor,
            version=version,
            deadline=data.get("deadline"),
            reason=data.get("reason") or data.get("note"),
            today=local_today(),
        )
    if action == "update_plan":
        return hazards.update_plan(
            session,
            hazard,
            actor=actor,
            version=version,
            values={k: data[k] for k in hazards.PLAN_FIELDS if k in data},
            note=data.get("note"),
        )
    raise ValueError(action)


def current_state(hazard_id: int) -> Hazard:
    """The hazard as committed now (after a rollback), for a 409 answer."""
    db.session.expire_all()
    hazard = db.session.get(Hazard, hazard_id)
    if hazard is None:  # pragma: no cover - hazards are never deleted
        abort(404)
    return hazard


def _forms_for(hazard: Hazard, kept: dict | None = None) -> dict:
    """A form per action the user may take now, prefilled; ``kept`` overrides (a failed
    submission keeps its input)."""
    out = {}
    for action, form_class in FORMS.items():
        if not (may_transition(current_user, hazard, action) and hazards.available(hazard, action)):
            continue
        if kept and action in kept:
            out[action] = kept[action]
            continue
        form = form_class(prefix=action, formdata=None)
        form.version.data = hazard.version
        if action == "update_plan":
            form.responsible_party.data = hazard.responsible_party
            form.measures.data = hazard.measures
            form.funding.data = hazard.funding
        if action == "extend_deadline" and hazard.deadline is not None:
            from datetime import timedelta

            form.deadline.data = max(hazard.deadline, local_today()) + timedelta(days=30)
        out[action] = form
    return out


def render_hazard(hazard: Hazard, *, kept=None, message: str | None = None, status: int = 200):
    days = int(current_app.config.get("REBOUND_DAYS", ledger.DEFAULT_REBOUND_DAYS))
    today = local_today()
    before = []
    if hazard.finding is not None:
        before = list(hazard.finding.photos)
    loose = [p for p in hazard.photos if p.event_id is None]
    forms = _forms_for(hazard, kept)
    # Input for an action that is no longer possible is shown back, never dropped silently.
    stranded = [form for action, form in (kept or {}).items() if action not in forms]
    return (
        render_template(
            "hazards/show.html",
            hazard=hazard,
            building=hazard.building,
            forms=forms,
            stranded=stranded,
            message=message,
            today=today,
            late=days_overdue(hazard.deadline, today) if hazard.is_open else 0,
            rebound_of=ledger.rebound_of(db.session, hazard, days=days),
            rebounds=ledger.rebounds_after(db.session, hazard, days=days),
            rebound_days=days,
            before=before + loose,
            can_supervise=may_transition(current_user, hazard, "supervise")
            and hazards.available(hazard, "supervise"),
        ),
        status,
    )


@bp.get("/hazards/<int:hazard_id>")
@require("view_ledger")
def show(hazard_id: int):
    return render_hazard(hazard_or_404(current_user, hazard_id))


@bp.post("/hazards/<int:hazard_id>/<action>")
@require("view_ledger")
def transition(hazard_id: int, action: str):
    hazard = hazard_or_404(current_user, hazard_id)
    if action not in FORMS:
        abort(404)
    if not may_transition(current_user, hazard, action):
        abort(403)
    form = FORMS[action](prefix=action)
    if not form.validate_on_submit():
        return render_hazard(hazard, kept={action: form}, status=422)
    evidence: list[Photo] = []
    if action == "submit_evidence":
        try:
            evidence = resolve_refs(form.photo_refs.data) + store_uploads(form.photos.data)
        except PhotoProblem as err:
            db.session.commit()  # the photos that were fine stay as pending uploads
            form.photos.errors = [err.message]
            return render_hazard(hazard, kept={action: form}, status=422)
        # Uploads are kept whatever happens next: a conflict must not cost a re-take.
        db.session.commit()
        for photo in evidence:
            if photo.sha256 not in form.photo_refs.data:
                form.photo_refs.append_entry(photo.sha256)
    try:
        perform(hazard, action, version=form.version.data, data=form.data, evidence=evidence)
        db.session.commit()
    except hazards.InvalidInput as err:
        db.session.rollback()
        target = getattr(form, err.field or "", None)
        if target is not None and hasattr(target, "errors"):
            target.errors = [*target.errors, err.message]
        else:
            form.form_errors.append(err.message)
        return render_hazard(current_state(hazard_id), kept={action: form}, status=422)
    except (hazards.Stale, hazards.InvalidTransition, StaleDataError, OperationalError) as err:
        db.session.rollback()
        hazard = current_state(hazard_id)
        if isinstance(err, OperationalError) and hazard.version == form.version.data:
            raise  # a real database failure, not a lost race
        # The kept form now carries the current version (what it renders is the raw input).
        form.version.data = hazard.version
        form.version.raw_data = [str(hazard.version)]
        message = getattr(err, "message", None) or hazards.Stale(hazard).message
        return render_hazard(hazard, kept={action: form}, message=message, status=409)
    flash(DONE[action])
    return redirect(url_for("hazards.show", hazard_id=hazard.id))
