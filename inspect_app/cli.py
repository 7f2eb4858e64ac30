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
    from .photo_stores import store_from_config, sweep_orphans

    now = datetime.now(UTC)
    grace = timedelta(hours=grace_hours)
    stale = db.session.scalars(
        select(Photo).where(
            Photo.finding_id.is_(None),
            Photo.hazard_id.is_(None),
            Photo.event_id.is_(None),
            Photo.building_change_id.is_(None),
            Photo.report_id.is_(None),
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


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace FILE when it exists.")
@with_appcontext
def backup_command(file: Path, overwrite: bool) -> None:
    """Write a consistent copy of the live SQLite database to FILE (online backup API; the app
    may keep running). On PostgreSQL it refuses and prints the pg_dump command to use."""
    from flask import current_app

    from .backups import BackupError, backup_sqlite

    try:
        result = backup_sqlite(
            current_app.config["SQLALCHEMY_DATABASE_URI"], file, overwrite=overwrite
        )
    except BackupError as err:
        _fail(str(err))
    click.echo(result.summary())


class _ProgressBar:
    """Registry import progress as click progress bars on stderr, one per stage."""

    def __init__(self) -> None:
        self.bar = None

    def begin(self, label: str, total: int | None) -> None:
        self.end()
        if total:
            import sys

            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()

    def advance(self, n: int) -> None:
        if self.bar is not None and n:
            self.bar.update(n)

    def end(self) -> None:
        if self.bar is not None:
            bar, self.bar = self.bar, None
            bar.__exit__(None, None, None)


@click.command("registry-template")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def registry_template_command(file: Path) -> None:
    """Write the registry import template (XLSX, Chinese headers, example rows) to FILE."""
    from .registry import write_template

    if file.suffix.lower() != ".xlsx":
        _fail("模板文件名应以 .xlsx 结尾")
    if not file.parent.is_dir():
        _fail(f"目录不存在：{file.parent}")
    write_template(file)
    click.echo(f"template written: {file}")


@click.command("import-registry")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@with_appcontext
def import_registry_command(file: Path, dry_run: bool) -> None:
    """Import areas, buildings and users from FILE (.xlsx or .csv). Every row is checked first;
    a file with any problem changes nothing and the command exits non-zero with the report."""
    from flask import current_app
    from sqlalchemy.exc import IntegrityError

    from .registry import MAX_ROWS, import_registry

    if not file.is_file():
        _fail(f"文件不存在：{file}")
    progress = _ProgressBar()
    report = import_registry(
        db.session,
        file,
        dry_run=dry_run,
        max_rows=current_app.config.get("REGISTRY_MAX_ROWS", MAX_ROWS),
        progress=progress,
    )
    progress.end()
    if not report.ok:
        db.session.rollback()
        for problem in report.problems:
            click.echo(str(problem), err=True)
        if report.unlisted:
            click.echo(f"另有 {report.unlisted} 个问题未列出", err=True)
        _fail(f"文件有 {report.problem_count} 个问题，未导入任何数据")
    if dry_run:
        db.session.rollback()
        click.echo(f"校验通过，未写入（--dry-run）：{report.summary()}")
        return
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _fail("导入期间数据被同时修改（编码或用户名冲突），未导入任何数据，请重试")
    click.echo(f"导入完成：{report.summary()}")
    for username, password in report.passwords:
        click.echo(f"  新用户 {username} 初始密码：{password}")


@click.command("rotate-code")
@click.argument("codes", nargs=-1, required=True)
@with_appcontext
def rotate_code_command(codes: tuple[str, ...]) -> None:
    """Give each building (by registry CODE) a new fire safety code; its old QR code answers
    404 at once, so printed posters must be replaced. Prints each building's new public URL."""
    from flask import current_app

    from .public import rotate_token

    buildings = []
    for code in codes:
        building = db.session.scalar(select(Building).where(Building.code == code))
        if building is None:
            _fail(f"楼栋编码不存在：{code}")
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

    from . import posters
    from .campaigns import validity_days
    from .codes import local_today

    base = (base_url or current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base.startswith(("https://", "http://")):
        _fail("请用 --base-url 或 PUBLIC_BASE_URL 指定公众访问地址，如 https://xf.example.gov.cn")
    query = select(Building).where(Building.retired_at.is_(None))
    title = "全部楼栋"
    if area_code:
        area = db.session.scalar(select(Area).where(Area.code == area_code))
        if area is None:
            _fail(f"区域编码不存在：{area_code}")
        query = query.where(
            Building.area_id.in_(select(Area.id).where(Area.path.startswith(area.path)))
        )
        title = area.name
    from sqlalchemy.orm import selectinload

    buildings = posters.ordered(db.session.scalars(query.options(selectinload(Building.area))))
    if not buildings:
        _fail("该范围内没有楼栋")
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


@click.command("send-reminders")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The district date to remind for (default: today in the district).",
)
@click.option("--no-webhooks", is_flag=True, help="Queue webhook deliveries, do not send them.")
@with_appcontext
def send_reminders_command(today, no_webhooks: bool) -> None:
    """Deadline reminders and overdue escalations into inboxes (each once per hazard, deadline
    and threshold, however often this runs), code colour changes to webhooks, the e-mail
    digest when MAIL_SERVER is set, then the queued webhook deliveries. For cron or a timer."""
    from flask import current_app

    from . import notifications, webhooks
    from .codes import local_today

    day: date = today.date() if today else local_today()
    try:
        run = notifications.run_reminders(db.session, today=day, config=current_app.config)
    except notifications.ConfigError as err:
        db.session.rollback()
        _fail(str(err))
    db.session.commit()
    click.echo(run.summary())
    changed = webhooks.sweep_colours(db.session, today=day)
    db.session.commit()
    click.echo(f"code colours: {changed} changes announced")
    digest = notifications.send_digests(db.session, config=current_app.config)
    db.session.commit()
    click.echo(digest.summary(), err=bool(digest.failed))
    if not no_webhooks:
        sent = webhooks.send_due(db.session, config=current_app.config)
        click.echo(sent.summary(), err=bool(sent.errors))


@click.command("send-webhooks")
@click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True)
@with_appcontext
def send_webhooks_command(limit: int) -> None:
    """Send the webhook deliveries that are due (new ones and retries whose wait is over)."""
    from flask import current_app

    from . import webhooks

    sent = webhooks.send_due(db.session, config=current_app.config, limit=limit)
    click.echo(sent.summary(), err=bool(sent.errors))



# --- campaign oversight ----------------------------------------------------------------------


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
    from zoneinfo import ZoneInfo

    from flask import current_app

    from . import sampling
    from .campaigns import running_for
    from .codes import local_today
    from .models import Campaign

    street = db.session.scalar(select(Area).where(Area.code == area_code))
    if street is None:
        _fail(f"区域编码不存在：{area_code}")
    today = local_today()
    if campaign_id is not None:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None:
            _fail(f"专项行动不存在：{campaign_id}")
    else:
        campaign = running_for(db.session, street, today)
        if campaign is None:
            _fail(f"今天（{today}）没有覆盖 {street.name} 的专项行动；请用 --campaign 指定")
    actor = None
    if username:
        actor = db.session.scalar(select(User).where(User.username == username))
        if actor is None:
            _fail(f"用户不存在：{username}")
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
            tz=ZoneInfo(current_app.config["TIMEZONE"]),
        )
    except sampling.SamplingError as err:
        db.session.rollback()
        _fail(err.message)
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
    from zoneinfo import ZoneInfo

    from flask import current_app
    from sqlalchemy import true

    from . import summaries
    from .codes import local_today

    if area_code:
        node = db.session.scalar(select(Area).where(Area.code == area_code))
        if node is None:
            _fail(f"区域编码不存在：{area_code}")
    else:
        roots = db.session.scalars(select(Area).where(Area.parent_id.is_(None))).all()
        if len(roots) != 1:
            _fail("请用 --area 指定区域编码")
        node = roots[0]
    today = local_today()
    try:
        summary = summaries.monthly_summary(
            db.session,
            month=summaries.parse_month(month, today=today),
            node=node,
            scope=true(),
            today=today,
            tz=ZoneInfo(current_app.config["TIMEZONE"]),
            rebound_days=int(current_app.config.get("REBOUND_DAYS", 90)),
        )
    except summaries.SummaryError as err:
        _fail(err.message)
    if out.parent and not out.parent.exists():
        _fail(f"目录不存在：{out.parent}")
    with out.open("wb") as fh:
        summaries.write_xlsx(fh, summary)
    click.echo(f"wrote {out}: {summary.title}")
    click.echo(summary.narrative())


def register_cli(app: Flask) -> None:
    for command in (
        load_checklist_command,
        create_user_command,
        create_token_command,
        demo_command,
        sweep_photos_command,
        registry_template_command,
        import_registry_command,
        backup_command,
        rotate_code_command,
        posters_command,
    ):
        app.cli.add_command(command)

    # Inbox reminders and webhook deliveries (meant for cron or a systemd timer).
    for command in (send_reminders_command, send_webhooks_command):
        app.cli.add_command(command)

    # Campaign oversight: spot-check draws and the monthly summary.
    for command in (draw_spot_checks_command, monthly_report_command):
        app.cli.add_command(command)
