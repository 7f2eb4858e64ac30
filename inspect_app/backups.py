"""Backups of the database.

SQLite: ``backup_sqlite`` copies a live database with SQLite's online backup API. The copy is
taken in one step, inside one read transaction, so it is the database as of one moment:
committed transactions only, none half-applied, while the app goes on reading and writing (in
WAL mode writers do not wait for it). The copy is checked, made self-contained (no ``-wal``
file) and renamed into place, so the target is a whole backup or absent.

PostgreSQL: ``pg_dump``/``pg_restore`` (the README's backup section); ``backup_sqlite`` refuses
with the command to use instead.

Photos are not in the database: copy the photo store after the database backup, so every
photo the backup references is in the copy (files are written before the rows that use them,
and the orphan sweep only deletes unreferenced ones).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """A backup that cannot be made; ``str()`` is one line for the operator (Chinese)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    hazards: int
    inspections: int

    def summary(self) -> str:
        return (
            f"backup written: {self.path} ({self.size_bytes / 1e6:.1f} MB, "
            f"{self.inspections} inspections, {self.hazards} hazards)"
        )


def pg_dump_hint(url: URL) -> str:
    """The pg_dump command for ``url`` (password hidden), in the libpq URL form."""
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=True)
    return f'pg_dump --format=custom --file=FILE "{libpq}"'


def backup_sqlite(database_url: str | URL, target: str | os.PathLike[str], *, overwrite=False):
    """Write a consistent copy of the SQLite database at ``database_url`` to ``target``.

    Returns a ``BackupResult``. Raises ``BackupError`` when the database is not a SQLite file
    (PostgreSQL: the message gives the pg_dump command), the file is missing, ``target`` is the
    database itself, exists (unless ``overwrite``) or is in a missing folder, or the copy fails
    its check. Never leaves a partial ``target``.
    """
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        raise BackupError(
            "PostgreSQL 数据库请用 pg_dump 备份、pg_restore 恢复（见 README 的 Backups 一节）："
            + pg_dump_hint(url)
        )
    if backend != "sqlite":
        raise BackupError(f"不支持备份此数据库：{backend}")
    source = url.database
    if not source or source == ":memory:" or url.query.get("mode") == "memory":
        raise BackupError("内存数据库无法备份")
    source_path = Path(source).resolve()
    if not source_path.is_file():
        raise BackupError(f"数据库文件不存在：{source_path}")
    target_path = Path(target).absolute()
    if target_path.resolve() == source_path:
        raise BackupError("备份文件不能是数据库文件本身")
    if not target_path.parent.is_dir():
        raise BackupError(f"目录不存在：{target_path.parent}")
    if target_path.exists() and not overwrite:
        raise BackupError(f"文件已存在：{target_path}（用 --overwrite 覆盖）")

    tmp = target_path.with_name(f".{target_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        _copy(source_path, tmp)
        counts = _counts(tmp)
        _fsync(tmp)
        os.replace(tmp, target_path)
        _fsync(target_path.parent)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            leftover.unlink(missing_ok=True)
    return BackupResult(target_path, target_path.stat().st_size, *counts)


def _copy(source: Path, tmp: Path) -> None:
    """Online backup of ``source`` into the new file ``tmp``, checked and self-contained."""
    # mode=rw: never create an empty database where the source should be.
    src = sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(tmp)
        try:
            # pages=-1: the whole database in one step, i.e. in one read transaction, so the
            # copy is a single snapshot (a multi-step copy restarts whenever a writer commits).
            src.backup(dst, pages=-1)
            # The header copied from a WAL database says WAL; a backup should be one file.
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"备份校验失败：{check}")
        finally:
            dst.close()
    except sqlite3.Error as err:
        raise BackupError(f"备份失败：{err}") from err
    finally:
        src.close()


def _counts(path: Path) -> tuple[int, int]:
    """(hazards, inspections) in the backup, for the operator to compare with the app."""
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        try:
            hazards = conn.execute("SELECT count(*) FROM hazard").fetchone()[0]
            inspections = conn.execute("SELECT count(*) FROM inspection").fetchone()[0]
        except sqlite3.OperationalError as err:  # not this app's schema (not migrated yet)
            raise BackupError(f"备份中没有本系统的数据表：{err}") from err
    return hazards, inspections


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
