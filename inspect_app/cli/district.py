"""Setting up a district: the checklist, users and API tokens, the demo district."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth import hash_password, issue_token
from ..db import db
from ..models import ROLES, Area, Building, User
from . import fail

DEMO_ROLES = ("inspector", "manager", "street", "fire", "admin")


@click.command("load-checklist")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def load_checklist_command(file: Path) -> None:
    """Load a checklist catalog FILE (TOML) as a new version."""
    from ..checklists import CatalogError, load_checklist

    if not file.is_file():
        fail(f"文件不存在：{file}")
    try:
        checklist, created = load_checklist(db.session, file)
    except CatalogError as err:
        db.session.rollback()
        fail(str(err))
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
        fail(f"用户已存在：{username}")
    area = None
    if area_code:
        area = db.session.scalar(select(Area).where(Area.code == area_code))
        if area is None:
            fail(f"区域编码不存在：{area_code}")
    if role == "manager":
        if area is not None:
            fail("物业用户的范围是所管理的楼栋，请用 --building 指定，不用 --area")
    elif area is None:
        fail(f"角色 {role} 需要用 --area 指定管辖区域")
    buildings = []
    for code in building_codes:
        building = db.session.scalar(select(Building).where(Building.code == code))
        if building is None:
            fail(f"楼栋编码不存在：{code}")
        buildings.append(building)
    if buildings and role != "manager":
        fail("只有物业用户（manager）可以用 --building")
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
        fail(f"用户不存在：{username}")
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
    from ..codes import local_today

    password = password or secrets.token_urlsafe(9)
    day: date = today.date() if today else local_today()
    if db.session.scalar(select(Area.id).limit(1)) is None:
        from ..demo import generate

        result = generate(db.session, buildings=count, seed=seed, password=password, today=day)
        db.session.commit()
        click.echo(f"demo district created: {result.summary()}")
    else:
        users = db.session.scalars(select(User).where(User.username.in_(DEMO_ROLES))).all()
        if not users:
            fail("数据库中已有数据但没有演示账户；请使用空数据库运行 demo")
        new_hash = hash_password(password)
        for user in users:
            user.password_hash = new_hash
        db.session.commit()
        click.echo("demo district already present; demo passwords reset")
    click.echo("demo logins (username / password):")
    for role in DEMO_ROLES:
        click.echo(f"  {role:<10} {password}")
