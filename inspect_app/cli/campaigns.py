"""Campaign oversight: spot-check draws and the monthly summary."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import db
from ..models import Area, Building, User
from . import fail


@click.command("draw-spot-checks")
@click.option("--area", "area_code", required=True, help="Code of the street to draw on.")
@click.option("--seed", help="Random seed, 0 to 2**64-1 (a fresh random one when omitted).")
@click.option("--campaign", "campaign_id", type=int, help="Campaign id (default: the running one).")
@click.option("--team", help="The joint team (联合检查组) the tasks are for.")
@click.option("--due", type=click.DateTime(formats=["%Y-%m-%d"]), help="Date the checks are due.")
@click.option("--by", "username", help="Record the draw as this user (default: the OS login).")
@with_appcontext
def draw_spot_checks_command(area_code, seed, campaign_id, team, due, username) -> None:
    """Draw the spot checks (部门抽查) of one street and print the draw and its seed."""
    import getpass
    from datetime import UTC, datetime

    from .. import sampling
    from ..campaigns import running_for
    from ..codes import district_tz, local_today
    from ..models import Campaign

    street = db.session.scalar(select(Area).where(Area.code == area_code))
    if street is None:
        fail(f"区域编码不存在：{area_code}")
    today = local_today()
    if campaign_id is not None:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None:
            fail(f"专项行动不存在：{campaign_id}")
    else:
        campaign = running_for(db.session, street, today)
        if campaign is None:
            fail(f"今天（{today}）没有覆盖 {street.name} 的专项行动；请用 --campaign 指定")
    actor = None
    if username:
        actor = db.session.scalar(select(User).where(User.username == username))
        if actor is None:
            fail(f"用户不存在：{username}")
    label = (
        f"{actor.display_name}（{actor.username}）"
        if actor is not None
        else f"命令行（{getpass.getuser()}）"
    )
    try:
        spot_check = sampling.draw(
            db.session,
            campaign=campaign,
            street=street,
            actor=actor,
            actor_label=label,
            seed=sampling.parse_seed(seed),
            team=team,
            due_on=due.date() if due else None,
            now=datetime.now(UTC),
            today=today,
            tz=district_tz(),
        )
    except sampling.SamplingError as err:
        db.session.rollback()
        fail(err.message)
    db.session.commit()
    names = dict(
        db.session.execute(
            select(Building.id, Building.code).where(
                Building.id.in_([t.building_id for t in spot_check.tasks])
            )
        ).all()
    )
    click.echo(f"spot-check draw {spot_check.id}: {street.name} ({street.code}), {campaign.name}")
    click.echo(f"seed: {spot_check.seed}")
    click.echo(f"algorithm: {spot_check.algorithm}; drawn by {spot_check.drawn_by}")
    click.echo(f"population sha256: {spot_check.population_sha256}")
    for group in ("public", "residential"):
        pop, drawn = spot_check.population[group], spot_check.sample[group]
        rate = spot_check.rate_public if group == "public" else spot_check.rate_residential
        click.echo(f"{group}: {len(drawn)} of {len(pop)} surveyed (rate {float(rate) * 100:g}%)")
        for building_id in drawn:
            click.echo(f"  {names.get(building_id, building_id)}")


@click.command("monthly-report")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.option("--area", "area_code", help="Area code (default: the top of the area tree).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def monthly_report_command(month: str, area_code: str | None, out: Path) -> None:
    """Write the monthly summary (工作小结) of MONTH for an area as an XLSX workbook."""

    from flask import current_app
    from sqlalchemy import true

    from .. import summaries
    from ..codes import district_tz, local_today

    if area_code:
        node = db.session.scalar(select(Area).where(Area.code == area_code))
        if node is None:
            fail(f"区域编码不存在：{area_code}")
    else:
        roots = db.session.scalars(select(Area).where(Area.parent_id.is_(None))).all()
        if len(roots) != 1:
            fail("请用 --area 指定区域编码")
        node = roots[0]
    today = local_today()
    try:
        summary = summaries.monthly_summary(
            db.session,
            month=summaries.parse_month(month, today=today),
            node=node,
            scope=true(),
            today=today,
            tz=district_tz(),
            rebound_days=int(current_app.config.get("REBOUND_DAYS", 90)),
        )
    except summaries.SummaryError as err:
        fail(err.message)
    if out.parent and not out.parent.exists():
        fail(f"目录不存在：{out.parent}")
    with out.open("wb") as fh:
        summaries.write_xlsx(fh, summary)
    click.echo(f"wrote {out}: {summary.title}")
    click.echo(summary.narrative())
