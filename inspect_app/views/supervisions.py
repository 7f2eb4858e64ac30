"""Supervision listings (挂牌督办): the list, one notice (督办通知书) with its PDF, the written
report back and the closing outcome."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from forms.hazards import SupervisionCloseForm, SupervisionReportForm

from .. import hazards, pdf, supervisions
from ..auth import building_scope, can, require, supervision_or_404
from ..codes import local_today
from ..db import db
from ..models import Building, Supervision
from .plans import _pdf_response

bp = Blueprint("supervisions", __name__)


@bp.get("/supervisions")
@require("view_ledger")
def index():
    status = request.args.get("status", "active")
    if status not in ("active", "closed", "all"):
        status = "active"
    query = (
        select(Supervision)
        .join(Building, Supervision.building_id == Building.id)
        .where(building_scope(current_user))
        .order_by(Supervision.report_by, Supervision.id)
    )
    if status != "all":
        query = query.where(Supervision.status == status)
    page = db.paginate(
        query, page=request.args.get("page", 1, type=int) or 1, per_page=50, error_out=False
    )
    return render_template(
        "supervisions/index.html",
        page=page,
        status=status,
        today=local_today(),
        number=supervisions.number,
    )


def _render(supervision: Supervision, *, forms=None, status: int = 200):
    forms = dict(forms or {})
    if can(current_user, "manage_supervision") and supervision.status == "active":
        forms.setdefault("report", SupervisionReportForm(prefix="report", formdata=None))
        forms.setdefault("close", SupervisionCloseForm(prefix="close", formdata=None))
    return (
        render_template(
            "supervisions/show.html",
            supervision=supervision,
            number=supervisions.number(supervision),
            forms=forms,
            today=local_today(),
        ),
        status,
    )


@bp.get("/supervisions/<int:supervision_id>")
@require("view_ledger")
def show(supervision_id: int):
    """The supervision notice, printable (A4 print CSS)."""
    return _render(supervision_or_404(current_user, supervision_id))


@bp.get("/supervisions/<int:supervision_id>.pdf")
@require("view_ledger")
def show_pdf(supervision_id: int):
    supervision = supervision_or_404(current_user, supervision_id)
    number = supervisions.number(supervision)
    body = pdf.render(
        "pdf/notice.html", supervision=supervision, number=number, today=local_today()
    )
    return _pdf_response(body, f"督办通知书_{number}.pdf")


@bp.post("/supervisions/<int:supervision_id>/<action>")
@require("manage_supervision")
def act(supervision_id: int, action: str):
    """``report``: the written report arrived; ``close``: 销案 with the outcome."""
    supervision = supervision_or_404(current_user, supervision_id)
    if action == "report":
        form = SupervisionReportForm(prefix="report")
    elif action == "close":
        form = SupervisionCloseForm(prefix="close")
    else:
        abort(404)
    if not form.validate_on_submit():
        return _render(supervision, forms={action: form}, status=422)
    try:
        if action == "report":
            supervisions.record_report(
                db.session, supervision, actor=current_user, note=form.note.data
            )
        else:
            supervisions.close_supervision(
                db.session, supervision, actor=current_user, outcome=form.outcome.data
            )
        db.session.commit()
    except hazards.TransitionError as err:
        db.session.rollback()
        form.form_errors.append(err.message)
        return _render(supervision, forms={action: form}, status=err.status)
    flash("已记录书面报告" if action == "report" else "督办已销案")
    return redirect(url_for("supervisions.show", supervision_id=supervision.id))
