"""Flask CLI commands. Each exits non-zero with one readable line on bad input."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from .auth import hash_password, issue_token
from .db import db
from .models import ROLES, Area, Building, User

DEMO_ROLES = ("inspector", "manager", "street", "fire", "admin")


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.command("load-checklist")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def load_checklist_command(file: Path) -> None:
    """Load a checklist catalog FILE (TOML) as a new version."""
    from .checklists import CatalogError, load_checklist

    if not file.is_file():
        _fail(f"文件不存在：{file}")
    try:
        checklist, created = load_checklist(db.session, file)
    except CatalogError as err:
        db.session.rollback()
        _fail(str(err))
    db.session.commit()
    state = "loaded" if created else "already loaded, unchanged"
    click.echo(
        f"checklist {checklist.code} {checklist.version}: {len(checklist.items)} items, {state}"
    )


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--area", "area_code", help="Area code of the user's scope (not for managers).")
@click.option("--building", "building_codes", multiple=True, help="Managed building code.")
@click.option("--name", "display_name", help="Display name (defaults to USERNAME).")
@click.option("--password", help="Password; a random one is printed when omitted.")
@with_appcontext
def create_user_command(username, role, area_code, building_codes, display_name, password):
    """Create a user with ROLE, scoped to an area or (managers) to buildings."""
    if db.session.scalar(select(User).where(User.username == username)):
        _fail(f"用户已存在：{username}")
    area = None
    if area_code:
        area = db.session.scalar(select(Area).where(Area.code == area_code))
        if area is None:
            _fail(f"区域编码不存在：{area_code}")
    if role == "manager":
        if area is not None:
            _fail("物业用户的范围是所管理的楼栋，请用 --building 指定，不用 --area")
    elif area is None:
        _fail(f"角色 {role} 需要用 --area 指定管辖区域")
    buildings = []
    for code in building_codes:
        building = db.session.scalar(select(Building).where(Building.code == code))
        if building is None:
            _fail(f"楼栋编码不存在：{code}")
        buildings.append(building)
    if buildings and role != "manager":
        _fail("只有物业用户（manager）可以用 --building")
    shown = password is None
    password = password or secrets.token_urlsafe(9)
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        area=area,
        password_hash=hash_password(password),
        managed_buildings=buildings,
    )
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {role} {username}" + (f" password: {password}" if shown else ""))


@click.command("create-token")
@click.argument("username")
@click.option("--label", default="api", show_default=True, help="What the token is for.")
@with_appcontext
def create_token_command(username: str, label: str) -> None:
    """Create an API token for USERNAME and print it (it is shown only once)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _fail(f"用户不存在：{username}")
    token = issue_token(user, label)
    db.session.commit()
    click.echo(token)


@click.command("demo")
@click.option(
    "--buildings", "count", type=click.IntRange(1, 200_000), default=300, show_default=True
)
@click.option("--seed", type=int, default=2023, show_default=True)
@click.option("--password", help="Password of every demo user; a random one when omitted.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date the history is built around (default: today in the district).",
)
@with_appcontext
def demo_command(count: int, seed: int, password: str | None, today) -> None:
    """Create a demo district, or, when one exists, reset the demo users' passwords."""
    from .codes import local_today

    password = password or secrets.token_urlsafe(9)
    day: date = today.date() if today else local_today()
    if db.session.scalar(select(Area.id).limit(1)) is None:
        from .demo import generate

        result = generate(db.session, buildings=count, seed=seed, password=password, today=day)
        db.session.commit()
        click.echo(f"demo district created: {result.summary()}")
    else:
        users = db.session.scalars(select(User).where(User.username.in_(DEMO_ROLES))).all()
        if not users:
            _fail("数据库中已有数据但没有演示账户；请使用空数据库运行 demo")
        new_hash = hash_password(password)
        for user in users:
            user.password_hash = new_hash
        db.session.commit()
        click.echo("demo district already present; demo passwords reset")
    click.echo("demo logins (username / password):")
    for role in DEMO_ROLES:
        click.echo(f"  {role:<10} {password}")


@click.command("sweep-photos")
@click.option("--grace-hours", type=click.IntRange(1, 24 * 365), default=48, show_default=True)
@with_appcontext
def sweep_photos_command(grace_hours: int) -> None:
    """Delete photo files no row points at, and pending uploads never used, older than the
    grace period (which must exceed the longest offline delay between upload and submit)."""
    from datetime import UTC, datetime, timedelta

    from flask import current_app

    from .models import Photo
    from .photos import store_from_config, sweep_orphans

    now = datetime.now(UTC)
    grace = timedelta(hours=grace_hours)
    stale = db.session.scalars(
        select(Photo).where(
            Photo.finding_id.is_(None),
            Photo.hazard_id.is_(None),
            Photo.event_id.is_(None),
            Photo.created_at < now - grace,
        )
    ).all()
    for photo in stale:
        db.session.delete(photo)
    db.session.commit()
    referenced = set(db.session.scalars(select(Photo.sha256).distinct()))
    deleted = sweep_orphans(
        store_from_config(current_app.config), referenced, older_than=grace, now=now
    )
    click.echo(f"removed {len(stale)} unused uploads and {len(deleted)} orphan files")


def register_cli(app: Flask) -> None:
    for command in (
        load_checklist_command,
        create_user_command,
        create_token_command,
        demo_command,
        sweep_photos_command,
    ):
        app.cli.add_command(command)
