"""The building acceptance round (逐栋验收): standings per building and recording a verdict."""

from __future__ import annotations

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from forms.campaigns import (
    AcceptanceForm,
)

from ... import acceptances
from ...auth import (
    allowed_kinds,
    building_or_404,
    building_scope,
    campaign_area_or_404,
    campaign_or_404,
    can,
    require,
)
from ...codes import district_tz
from ...db import db
from ...models import Area, Campaign, Inspection
from ..formtools import digits
from . import bp

PER_PAGE = 50


def _standings(campaign: Campaign, node: Area):
    return acceptances.standings(
        db.session, campaign, node, scope=building_scope(current_user), tz=district_tz()
    )


def _render_acceptance(campaign, node, *, errors=None, status=200):
    items = _standings(campaign, node)
    counts = acceptances.tally(items)
    wanted = request.args.get("standing") or ""
    if wanted in acceptances.STANDINGS:
        items = [s for s in items if s.standing == wanted]
    else:
        wanted = ""
    pages = max(1, -(-len(items) // PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    return (
        render_template(
            "campaigns/acceptance.html",
            campaign=campaign,
            node=node,
            items=items[(page - 1) * PER_PAGE : page * PER_PAGE],
            total=len(items),
            counts=counts,
            wanted=wanted,
            page=page,
            pages=pages,
            form=AcceptanceForm(formdata=None),
            errors=errors or {},
            may_record=can(current_user, "record_acceptance"),
            may_inspect="acceptance" in allowed_kinds(current_user),
        ),
        status,
    )


@bp.get("/campaigns/<int:campaign_id>/acceptance")
@require("view_campaigns")
def acceptance(campaign_id: int):
    campaign = campaign_or_404(current_user, campaign_id)
    node = campaign_area_or_404(current_user, campaign, request.args.get("area"))
    return _render_acceptance(campaign, node)


@bp.post("/campaigns/<int:campaign_id>/acceptance/<int:building_id>")
@require("record_acceptance")
def record_acceptance(campaign_id: int, building_id: int):
    """Record the verdict of the building's latest acceptance inspection."""
    campaign = campaign_or_404(current_user, campaign_id)
    building = building_or_404(current_user, building_id)
    node = campaign_area_or_404(current_user, campaign, None)
    form = AcceptanceForm()
    message = None
    inspection = None
    if not form.validate_on_submit():
        message = "；".join(str(e) for errs in form.errors.values() for e in errs)
    elif not digits(form.inspection.data):
        message = "缺少验收检查，请刷新页面"
    else:
        inspection = db.session.get(Inspection, int(form.inspection.data))
        pending = acceptances.pending_inspection(db.session, building, campaign, tz=district_tz())
        if inspection is None or pending is None or pending.id != inspection.id:
            message = "该楼栋没有待出结论的验收检查，或已有更新的验收检查，请刷新页面"
    if message is None:
        try:
            verdict = acceptances.record(
                db.session,
                building,
                inspection,
                actor=current_user,
                campaign=campaign,
                note=form.note.data,
            )
            db.session.commit()
        except acceptances.AcceptanceError as err:
            db.session.rollback()
            message = err.message
    if message is not None:
        return _render_acceptance(campaign, node, errors={building.id: message}, status=422)
    if verdict.passed:
        flash(f"{building.name}：验收合格")
    else:
        flash(
            f"{building.name}：验收不合格，还有 {len(verdict.unclosed_hazard_ids)} 项隐患未销号，"
            "已列入跟踪督办"
        )
    return redirect(
        url_for(
            "campaigns.acceptance",
            campaign_id=campaign.id,
            standing="tracked" if not verdict.passed else "passed",
        )
    )
