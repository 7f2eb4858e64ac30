"""Campaign definitions: the list, a new campaign (prefilled with the district plan), editing,
the campaign page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from forms.campaigns import (
    CampaignForm,
)

from ...auth import (
    area_scope,
    campaign_or_404,
    campaign_scope,
    may_manage_campaign,
    require,
)
from ...campaigns import (
    CampaignInput,
    CampaignInvalid,
    DeadlineInput,
    PhaseInput,
    current_phase,
    deadline_groups,
    phases,
    save,
    seed_deadlines,
    seed_phases,
)
from ...checklists import current_checklist
from ...codes import local_today
from ...db import db
from ...models import Area, Campaign, Checklist
from ..formtools import attach_errors, digits
from . import bp


@bp.get("/campaigns")
@require("view_campaigns")
def index():
    items = db.session.scalars(
        select(Campaign)
        .where(campaign_scope(current_user))
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
    ).all()
    today = local_today()
    return render_template(
        "campaigns/index.html",
        campaigns=items,
        today=today,
        phase_of={c.id: current_phase(c, today) for c in items},
    )


def _choices(form: CampaignForm) -> None:
    areas = db.session.scalars(
        select(Area)
        .where(area_scope(current_user), Area.level.in_(("city", "district", "street")))
        .order_by(Area.path)
    ).all()
    form.area.choices = [("", "请选择")] + [(str(a.id), a.name) for a in areas]
    lists = db.session.scalars(select(Checklist).order_by(Checklist.loaded_at.desc())).all()
    form.checklist.choices = [("", "请选择")] + [
        (str(c.id), f"{c.title_zh}（{c.version}）") for c in lists
    ]
    chosen = (
        db.session.get(Checklist, int(form.checklist.data))
        if digits(form.checklist.data)
        else current_checklist(db.session)
    )
    groups = deadline_groups(chosen, db.session)
    for entry in form.deadlines:
        entry.form.group.choices = [("", "—")] + list(groups.items())
    # The rows show their labels as table headings; screen readers get them on each input.
    for rows in (form.phases, form.deadlines):
        for n, entry in enumerate(rows, 1):
            for field in entry.form:
                label = _("第 %(n)s 行：%(field)s", n=n, field=field.label.text)
                field.render_kw = {**(field.render_kw or {}), "aria-label": label}


def _prefill(form: CampaignForm, campaign: Campaign | None) -> None:
    """A fresh form: the campaign's values, or the 2023 plan's for a new one."""
    today = local_today()
    if campaign is None:
        year = today.year
        form.name.data = f"{year}年高层建筑消防安全“除险清患”专项行动"
        form.area.data = str(current_user.area_id or "")
        checklist = current_checklist(db.session)
        form.checklist.data = str(checklist.id) if checklist else ""
        form.starts_on.data = date(year, 3, 15)
        form.ends_on.data = date(year, 12, 31)
        stored_phases, stored_deadlines = seed_phases(year), seed_deadlines(year)
        form.validity_days.data = int(current_app.config.get("CODE_VALIDITY_DAYS", 180))
        public, residential = Decimal("10"), Decimal("5")
    else:
        form.name.data = campaign.name
        form.area.data = str(campaign.area_id)
        form.checklist.data = str(campaign.checklist_id)
        form.starts_on.data = campaign.starts_on
        form.ends_on.data = campaign.ends_on
        stored_phases, stored_deadlines = campaign.phases, campaign.category_deadlines
        form.validity_days.data = campaign.validity_days
        public = campaign.sample_rate_public * 100
        residential = campaign.sample_rate_residential * 100
    form.sample_rate_public.data = public.normalize()
    form.sample_rate_residential.data = residential.normalize()
    for entry, raw in zip(form.phases, stored_phases or (), strict=False):
        entry.form.name.data = raw.get("name")
        entry.form.code.data = raw.get("code")
        entry.form.ends_on.data = date.fromisoformat(raw["ends_on"])
    for entry, (group, due) in zip(form.deadlines, (stored_deadlines or {}).items(), strict=False):
        entry.form.group.data = group
        entry.form.due_on.data = date.fromisoformat(due)


def _input(form: CampaignForm) -> CampaignInput:
    area = None
    if digits(form.area.data):
        area = db.session.scalar(
            select(Area).where(Area.id == int(form.area.data), area_scope(current_user))
        )
    checklist = (
        db.session.get(Checklist, int(form.checklist.data)) if digits(form.checklist.data) else None
    )

    def rate(value):
        return None if value is None else Decimal(value) / 100

    return CampaignInput(
        name=form.name.data,
        area=area,
        checklist=checklist,
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        phases=[
            PhaseInput(e.form.code.data, e.form.name.data, e.form.ends_on.data) for e in form.phases
        ],
        deadlines=[DeadlineInput(e.form.group.data, e.form.due_on.data) for e in form.deadlines],
        validity_days=form.validity_days.data,
        sample_rate_public=rate(form.sample_rate_public.data),
        sample_rate_residential=rate(form.sample_rate_residential.data),
    )


def _render_form(form: CampaignForm, campaign: Campaign | None, status: int = 200):
    return (
        render_template("campaigns/form.html", form=form, campaign=campaign, invalid=status == 422),
        status,
    )


def _submit(form: CampaignForm, campaign: Campaign | None):
    """Validate and save; the page again with every message (422) when something is wrong."""
    if not form.validate_on_submit():
        return _render_form(form, campaign, 422)
    try:
        saved = save(db.session, campaign, _input(form))
        db.session.commit()
    except CampaignInvalid as err:
        db.session.rollback()
        attach_errors(form, err.errors)
        return _render_form(form, campaign, 422)
    flash("专项行动已保存" if campaign else "专项行动已创建")
    return redirect(url_for("campaigns.show", campaign_id=saved.id))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@require("manage_campaigns")
def new():
    form = CampaignForm()
    _choices(form)
    if request.method == "GET":
        _prefill(form, None)
        return _render_form(form, None)
    return _submit(form, None)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@require("manage_campaigns")
def edit(campaign_id: int):
    campaign = campaign_or_404(current_user, campaign_id)
    if not may_manage_campaign(current_user, campaign):
        abort(403)
    form = CampaignForm()
    _choices(form)
    if request.method == "GET":
        _prefill(form, campaign)
        return _render_form(form, campaign)
    return _submit(form, campaign)


@bp.get("/campaigns/<int:campaign_id>")
@require("view_campaigns")
def show(campaign_id: int):
    campaign = campaign_or_404(current_user, campaign_id)
    today = local_today()
    groups = deadline_groups(campaign.checklist, db.session)
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        phases=phases(campaign),
        current=current_phase(campaign, today),
        today=today,
        groups=groups,
        may_edit=may_manage_campaign(current_user, campaign),
    )
