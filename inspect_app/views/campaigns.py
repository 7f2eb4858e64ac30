"""Campaigns (专项行动): the list, definition and editing, spot-check draws (部门抽查) and their
tasks, the building acceptance round (逐栋验收) and the supervision candidates (挂牌督办候选)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from flask import (
    Blueprint,
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
from sqlalchemy.orm.exc import StaleDataError

from forms.campaigns import (
    AcceptanceForm,
    CampaignForm,
    CandidateFilterForm,
    CandidatesForm,
    DrawForm,
)

from .. import acceptances, candidates, hazards, sampling
from ..auth import (
    allowed_kinds,
    area_in_scope,
    area_scope,
    building_or_404,
    building_scope,
    campaign_area_or_404,
    campaign_or_404,
    campaign_scope,
    can,
    may_manage_campaign,
    require,
    spot_check_or_404,
)
from ..campaigns import (
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
from ..checklists import current_checklist
from ..codes import district_tz, local_today
from ..db import db
from ..ledger import rebound_days
from ..models import Area, Building, Campaign, Checklist, Hazard, Inspection
from .formtools import attach_errors

bp = Blueprint("campaigns", __name__)

PER_PAGE = 50


# ---------------------------------------------------------------------------------------------
# Definition
# ---------------------------------------------------------------------------------------------


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
        if _digits(form.checklist.data)
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


def _digits(value) -> bool:
    return str(value or "").isdigit()


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
    if _digits(form.area.data):
        area = db.session.scalar(
            select(Area).where(Area.id == int(form.area.data), area_scope(current_user))
        )
    checklist = (
        db.session.get(Checklist, int(form.checklist.data))
        if _digits(form.checklist.data)
        else None
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


# ---------------------------------------------------------------------------------------------
# Spot checks (部门抽查)
# ---------------------------------------------------------------------------------------------


def _draw_form(campaign: Campaign, node: Area, form: DrawForm | None = None) -> DrawForm:
    form = form or DrawForm(formdata=None)
    streets = [
        s
        for s in sampling.surveyed_streets(db.session, campaign, node)
        if area_in_scope(current_user, s)
    ]
    form.street.choices = [("", "请选择")] + [(s.code, s.name) for s in streets]
    if not form.team.data:
        form.team.data = sampling.DEFAULT_TEAM
    return form


def _render_draws(campaign: Campaign, node: Area, form: DrawForm | None, status: int = 200):
    draws = sampling.draws_for(db.session, campaign, node)
    done = {d.id: sampling.task_states(db.session, d) for d in draws}
    form = _draw_form(campaign, node, form) if can(current_user, "draw_spot_checks") else None
    return (
        render_template(
            "campaigns/spot_checks.html",
            campaign=campaign,
            node=node,
            draws=draws,
            done={k: sum(v is not None for v in states.values()) for k, states in done.items()},
            form=form,
            today=local_today(),
        ),
        status,
    )


@bp.get("/campaigns/<int:campaign_id>/spot-checks")
@require("view_spot_checks")
def spot_checks(campaign_id: int):
    campaign = campaign_or_404(current_user, campaign_id)
    node = campaign_area_or_404(current_user, campaign, request.args.get("area"))
    return _render_draws(campaign, node, None)


@bp.post("/campaigns/<int:campaign_id>/spot-checks")
@require("draw_spot_checks")
def draw(campaign_id: int):
    """Draw one street's spot checks; the draw and its tasks are saved together or not at
    all."""
    campaign = campaign_or_404(current_user, campaign_id)
    node = campaign_area_or_404(current_user, campaign, None)
    form = _draw_form(campaign, node, DrawForm())
    if not form.validate_on_submit():
        return _render_draws(campaign, node, form, 422)
    street = db.session.scalar(
        select(Area).where(Area.code == (form.street.data or ""), area_scope(current_user))
    )
    if street is None:
        form.street.errors = ["请选择要抽查的街道（镇）"]
        return _render_draws(campaign, node, form, 422)
    try:
        seed = sampling.parse_seed(form.seed.data)
        spot_check = sampling.draw(
            db.session,
            campaign=campaign,
            street=street,
            actor=current_user,
            actor_label=f"{current_user.display_name}（{current_user.username}）",
            seed=seed,
            team=form.team.data,
            due_on=form.due_on.data,
            now=datetime.now(UTC),
            today=local_today(),
            tz=district_tz(),
        )
        db.session.commit()
    except sampling.SamplingError as err:
        db.session.rollback()
        target = getattr(form, err.field, None) if err.field else None
        if target is not None:
            target.errors = [*target.errors, err.message]
        else:
            form.form_errors.append(err.message)
        return _render_draws(campaign, node, form, 422)
    flash(f"已抽取 {len(spot_check.tasks)} 栋，随机种子 {spot_check.seed}")
    return redirect(url_for("campaigns.spot_check", spot_check_id=spot_check.id))


@bp.get("/spot-checks/<int:spot_check_id>")
@require("view_spot_checks")
def spot_check(spot_check_id: int):
    """One draw: how to re-verify it, its verification, and its tasks with the comparison of
    the street's survey and the spot check."""
    draw = spot_check_or_404(current_user, spot_check_id)
    comparisons = sampling.compare(db.session, draw)
    visible = set(
        db.session.scalars(
            select(Building.id).where(
                Building.id.in_([c.task.building_id for c in comparisons]),
                building_scope(current_user),
            )
        )
    )
    ids = [i for g in draw.population.values() for i in g]
    codes = dict(
        db.session.execute(select(Building.id, Building.code).where(Building.id.in_(ids))).all()
    )
    return render_template(
        "campaigns/spot_check.html",
        draw=draw,
        verification=sampling.verify(draw, session=db.session, tz=district_tz()),
        comparisons=[c for c in comparisons if c.task.building_id in visible],
        codes=codes,
        sizes=sampling.sizes_for(draw.population, draw),
        may_inspect="spot_check" in _kinds(),
    )


def _kinds() -> tuple[str, ...]:
    return allowed_kinds(current_user)


# ---------------------------------------------------------------------------------------------
# Acceptance round (逐栋验收)
# ---------------------------------------------------------------------------------------------


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
            may_inspect="acceptance" in _kinds(),
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
    elif not _digits(form.inspection.data):
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


# ---------------------------------------------------------------------------------------------
# Supervision candidates (挂牌督办候选)
# ---------------------------------------------------------------------------------------------


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
        if not (hid.isdigit() and version.isdigit()):
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
