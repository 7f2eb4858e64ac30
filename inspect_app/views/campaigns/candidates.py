"""Supervision candidates (挂牌督办候选): overdue major hazards listed for supervision at once."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from forms.campaigns import (
    CandidateFilterForm,
    CandidatesForm,
)

from ... import candidates, hazards
from ...auth import (
    building_scope,
    campaign_area_or_404,
    campaign_or_404,
    can,
    require,
)
from ...codes import local_today
from ...db import db
from ...ledger import rebound_days
from ...models import Building, Hazard
from ..formtools import digits
from . import bp


def _render_candidates(campaign, node, filters, *, form=None, status=200):
    overdue_days = filters.overdue_days.data
    if overdue_days is None:
        overdue_days = candidates.OVERDUE_DAYS
    found = candidates.find(
        db.session,
        campaign,
        node,
        scope=building_scope(current_user),
        today=local_today(),
        overdue_days=overdue_days,
        rebound_days=rebound_days(),
    )
    may_list = can(current_user, "manage_supervision")
    if may_list:
        form = form or CandidatesForm(formdata=None)
        form.hazards.choices = [
            (f"{c.hazard.id}:{c.hazard.version}", c.hazard.description)
            for b in found
            for c in b.hazards
        ]
        if not form.is_submitted():
            form.hazards.data = [value for value, _label in form.hazards.choices]
    return (
        render_template(
            "campaigns/candidates.html",
            campaign=campaign,
            node=node,
            filters=filters,
            found=found,
            form=form if may_list else None,
            overdue_days=overdue_days,
            today=local_today(),
        ),
        status,
    )


@bp.get("/campaigns/<int:campaign_id>/candidates")
@require("view_supervision_candidates")
def candidates_list(campaign_id: int):
    campaign = campaign_or_404(current_user, campaign_id)
    filters = CandidateFilterForm(request.args)
    if not filters.validate():
        filters.overdue_days.data = candidates.OVERDUE_DAYS
        node = campaign_area_or_404(current_user, campaign, None)
        return _render_candidates(campaign, node, filters, status=400)
    node = campaign_area_or_404(current_user, campaign, filters.area.data or None)
    return _render_candidates(campaign, node, filters)


@bp.post("/campaigns/<int:campaign_id>/candidates")
@require("manage_supervision")
def list_candidates(campaign_id: int):
    """List the checked hazards for supervision, one notice per building, all or nothing."""
    campaign = campaign_or_404(current_user, campaign_id)
    filters = CandidateFilterForm(request.args)
    if not filters.validate():
        filters.overdue_days.data = candidates.OVERDUE_DAYS
    node = campaign_area_or_404(current_user, campaign, filters.area.data or None)
    form = CandidatesForm()
    if not form.validate_on_submit():
        return _render_candidates(campaign, node, filters, form=form, status=422)
    chosen: list[tuple[int, int]] = []
    for value in form.hazards.data or ():
        hid, _, version = str(value).partition(":")
        if not (digits(hid) and digits(version)):
            form.hazards.errors = ["所选隐患无效，请刷新页面后重试"]
            return _render_candidates(campaign, node, filters, form=form, status=422)
        chosen.append((int(hid), int(version)))
    if not chosen:
        form.hazards.errors = ["请至少勾选一项隐患"]
        return _render_candidates(campaign, node, filters, form=form, status=422)
    rows = {
        h.id: h
        for h in db.session.scalars(
            select(Hazard)
            .join(Building, Hazard.building_id == Building.id)
            .where(Hazard.id.in_([h for h, _v in chosen]), building_scope(current_user))
        )
    }
    if len(rows) != len(chosen):
        abort(404)
    grouped: dict[int, list[tuple[Hazard, int]]] = {}
    for hid, version in chosen:
        grouped.setdefault(rows[hid].building_id, []).append((rows[hid], version))
    try:
        listed = candidates.list_for_supervision(
            db.session, grouped, actor=current_user, today=local_today()
        )
        db.session.commit()
    except (hazards.TransitionError, StaleDataError) as err:
        db.session.rollback()
        db.session.expire_all()
        form = CandidatesForm(formdata=None)
        form.form_errors.append(
            getattr(err, "message", None) or "所选隐患已被他人更新，请核对最新状态后重新选择"
        )
        status = getattr(err, "status", 409)
        return _render_candidates(campaign, node, filters, form=form, status=status)
    flash(f"已挂牌督办 {len(listed)} 栋楼，共 {len(chosen)} 项隐患，督办通知书已生成")
    return redirect(url_for("supervisions.index"))
