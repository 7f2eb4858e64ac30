"""The building registry from the command line: the import template and the import itself."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..db import db
from . import fail


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
    from ..registry import write_template

    if file.suffix.lower() != ".xlsx":
        fail("模板文件名应以 .xlsx 结尾")
    if not file.parent.is_dir():
        fail(f"目录不存在：{file.parent}")
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

    from ..registry import MAX_ROWS, import_registry

    if not file.is_file():
        fail(f"文件不存在：{file}")
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
        fail(f"文件有 {report.problem_count} 个问题，未导入任何数据")
    if dry_run:
        db.session.rollback()
        click.echo(f"校验通过，未写入（--dry-run）：{report.summary()}")
        return
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        fail("导入期间数据被同时修改（编码或用户名冲突），未导入任何数据，请重试")
    click.echo(f"导入完成：{report.summary()}")
    for username, password in report.passwords:
        click.echo(f"  新用户 {username} 初始密码：{password}")
