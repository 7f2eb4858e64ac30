"""The queue of residents' reports for whoever works the buildings' grids: look, then confirm
(→ a hazard on the building's plan) or dismiss with a reason."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from forms.reports import ConfirmReportForm, DismissReportForm

from .. import hazards, reports
from ..auth import report_or_404, require, scoped_reports
from ..campaigns import current_campaign
from ..codes import local_today
from ..db import db
from ..models import Report

bp = Blueprint("reports", __name__)

PER_PAGE = 50


@bp.get("/reports")
@require("review_reports")
def index():
    """Unverified reports first (oldest first: they have waited longest), or all of them."""
    show_all = request.args.get("all") == "1"
    query = scoped_reports(current_user)
    if show_all:
        query = query.order_by(Report.created_at.desc())
    else:
        query = query.where(Report.status == "new").order_by(Report.created_at)
    rows = db.session.scalars(query.limit(PER_PAGE)).all()
    waiting = db.session.scalar(
        select(func.count()).select_from(
            scoped_reports(current_user).where(Report.status == "new").subquery()
        )
    )
    return render_template("reports/index.html", reports=rows, show_all=show_all, waiting=waiting)


def _forms(report: Report):
    confirm = ConfirmReportForm(prefix="confirm")
    dismiss = DismissReportForm(prefix="dismiss")
    if "confirm-description" not in request.form:  # a fresh page, or the other form sent
        today = local_today()
        campaign = current_campaign(db.session, today)
        plan = hazards.default_plan(
            report.building, None, "general", today=today, campaign=campaign
        )
        confirm.description.data = report.description
        confirm.responsible_party.data = plan.responsible_party
        confirm.deadline.data = plan.deadline
    return confirm, dismiss


def _page(report, confirm, dismiss, status=200, message=None):
    return (
        render_template(
            "reports/show.html", report=report, confirm=confirm, dismiss=dismiss, message=message
        ),
        status,
    )


@bp.get("/reports/<int:report_id>")
@require("review_reports")
def show(report_id: int):
    report = report_or_404(current_user, report_id)
    confirm, dismiss = _forms(report)
    return _page(report, confirm, dismiss)


def _already(report, confirm, dismiss):
    db.session.rollback()
    db.session.refresh(report)
    return _page(report, confirm, dismiss, 409, _("这条举报已经有人处理过了，以下是处理结果。"))


@bp.post("/reports/<int:report_id>/confirm")
@require("review_reports")
def confirm(report_id: int):
    report = report_or_404(current_user, report_id)
    confirm_form, dismiss_form = _forms(report)
    # Decided meanwhile: its forms are gone from the page, so field errors would show nowhere.
    if report.status != "new":
        return _already(report, confirm_form, dismiss_form)
    if not confirm_form.validate_on_submit():
        return _page(report, confirm_form, dismiss_form, 422)
    today = local_today()
    severity = confirm_form.severity.data
    suggested = hazards.default_plan(
        report.building, None, severity, today=today, campaign=current_campaign(db.session, today)
    )
    deadline = confirm_form.deadline.data or suggested.deadline
    if deadline < today:
        confirm_form.deadline.errors = [_("整改期限不能早于今天")]
        return _page(report, confirm_form, dismiss_form, 422)
    decision = reports.Confirmation(
        category=confirm_form.category.data,
        severity=severity,
        description=confirm_form.description.data,
        plan=hazards.PlanLine(
            responsible_party=(confirm_form.responsible_party.data or "").strip()
            or suggested.responsible_party,
            measures=(confirm_form.measures.data or "").strip() or None,
            deadline=deadline,
            funding=None,
        ),
        note=confirm_form.note.data,
    )
    try:
        reports.confirm(db.session, report, actor=current_user, decision=decision)
    except reports.AlreadyReviewed:
        return _already(report, confirm_form, dismiss_form)
    db.session.commit()
    flash(_("已确认为隐患，列入本楼整改清单。"))
    return redirect(url_for("reports.index"))


@bp.post("/reports/<int:report_id>/dismiss")
@require("review_reports")
def dismiss(report_id: int):
    report = report_or_404(current_user, report_id)
    confirm_form, dismiss_form = _forms(report)
    if report.status != "new":
        return _already(report, confirm_form, dismiss_form)
    if not dismiss_form.validate_on_submit():
        return _page(report, confirm_form, dismiss_form, 422)
    try:
        reports.dismiss(db.session, report, actor=current_user, note=dismiss_form.note.data)
    except reports.AlreadyReviewed:
        return _already(report, confirm_form, dismiss_form)
    db.session.commit()
    flash(_("已处理：不予采纳。"))
    return redirect(url_for("reports.index"))
