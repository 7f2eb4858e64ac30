"""Fire safety codes: rotating a building's code, printing posters."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import db
from ..models import Area, Building
from . import fail


@click.command("rotate-code")
@click.argument("codes", nargs=-1, required=True)
@with_appcontext
def rotate_code_command(codes: tuple[str, ...]) -> None:
    """Give each building (by registry CODE) a new fire safety code; its old QR code answers
    404 at once, so printed posters must be replaced. Prints each building's new public URL."""
    from flask import current_app

    from ..public import rotate_token

    buildings = []
    for code in codes:
        building = db.session.scalar(select(Building).where(Building.code == code))
        if building is None:
            fail(f"楼栋编码不存在：{code}")
        buildings.append(building)
    tokens = [rotate_token(db.session, b) for b in buildings]
    db.session.commit()
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    for building, token in zip(buildings, tokens, strict=True):
        click.echo(f"{building.code} {base}/c/{token}")


@click.command("posters")
@click.option("--area", "area_code", help="Area code (street, community…); default: all.")
@click.option("--size", type=click.Choice(["a4", "label"]), default="a4", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--base-url", help="Public address in the QR codes (default: PUBLIC_BASE_URL).")
@with_appcontext
def posters_command(area_code: str | None, size: str, out: Path, base_url: str | None) -> None:
    """Write the fire safety code posters (or labels) of an area's buildings as one PDF."""
    from flask import current_app

    from .. import posters
    from ..campaigns import validity_days
    from ..codes import local_today

    base = (base_url or current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base.startswith(("https://", "http://")):
        fail("请用 --base-url 或 PUBLIC_BASE_URL 指定公众访问地址，如 https://xf.example.gov.cn")
    query = select(Building).where(Building.retired_at.is_(None))
    title = "全部楼栋"
    if area_code:
        area = db.session.scalar(select(Area).where(Area.code == area_code))
        if area is None:
            fail(f"区域编码不存在：{area_code}")
        query = query.where(
            Building.area_id.in_(select(Area.id).where(Area.path.startswith(area.path)))
        )
        title = area.name
    from sqlalchemy.orm import selectinload

    buildings = posters.ordered(db.session.scalars(query.options(selectinload(Building.area))))
    if not buildings:
        fail("该范围内没有楼栋")
    today = local_today()
    items = posters.posters_for(
        db.session,
        buildings,
        today=today,
        validity_days=validity_days(db.session, today),
        base=base,
    )
    out.write_bytes(posters.render_pdf(items, size, printed_on=today, title=title))
    click.echo(f"{len(items)} buildings, {size}, written to {out}")
