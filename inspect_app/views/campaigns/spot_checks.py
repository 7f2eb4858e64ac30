"""Spot-check draws (部门抽查): drawing per street, the draws of a campaign, one draw with its
tasks, verification and the survey-vs-spot-check comparison."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from forms.campaigns import (
    DrawForm,
)

from ... import sampling
from ...auth import (
    allowed_kinds,
    area_in_scope,
    area_scope,
    building_scope,
    campaign_area_or_404,
    campaign_or_404,
    can,
    require,
    spot_check_or_404,
)
from ...codes import district_tz, local_today
from ...db import db
from ...models import Area, Building, Campaign
from . import bp


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
        may_inspect="spot_check" in allowed_kinds(current_user),
    )
