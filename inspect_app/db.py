"""The database handle and engine-level settings.

SQLite gets WAL and a busy timeout so that several request threads and a CLI command can
share one file; PostgreSQL needs nothing special here.
"""

from __future__ import annotations

from flask import current_app, has_app_context, has_request_context, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic's batch mode on SQLite and autogenerate stable.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _render_item(type_, obj, autogen_context):
    """Write the models' UTCDateTime as a plain timezone-aware DateTime in migrations, so
    migration files never import the app."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


# The highest page number a listing is asked for: any page past the last is empty, and a larger
# number from a query string would be an OFFSET the database cannot hold (an error, not a page).
MAX_PAGE = 1_000_000


class _SQLAlchemy(SQLAlchemy):
    def paginate(self, select, *, page=None, per_page=None, max_per_page=None, **kw):
        """Flask-SQLAlchemy's ``paginate``, with ``page`` and ``per_page`` (also when read from
        the query string) kept within what the database can take: pages past ``MAX_PAGE`` are
        the empty ``MAX_PAGE``, and a ``per_page`` from the query string is at most 100."""
        if has_request_context():
            if page is None:
                page = request.args.get("page", 1, type=int)
            if per_page is None:
                per_page = request.args.get("per_page", 20, type=int)
                max_per_page = min(max_per_page or 100, 100)
        if page is not None:
            page = min(page, MAX_PAGE)
        return super().paginate(
            select, page=page, per_page=per_page, max_per_page=max_per_page, **kw
        )


db = _SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True, render_item=_render_item)


SYNCHRONOUS_MODES = ("FULL", "NORMAL")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        # FULL: a commit the phone was told about survives a power loss, not only a crash
        # (NORMAL in WAL mode may roll the last commits back then); about 0.2 ms a commit here.
        mode = current_app.config.get("SQLITE_SYNCHRONOUS") if has_app_context() else None
        mode = mode if mode in SYNCHRONOUS_MODES else "FULL"
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={mode}")
        cur.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_begin_before_savepoint(conn, _name) -> None:
    """Open the SQLite transaction before a savepoint when nothing has opened it yet.

    The sqlite3 module only sends BEGIN before a data-changing statement, so a savepoint taken
    before the transaction's first write is SQLite's outermost savepoint, and releasing it
    COMMITS what it holds at once: an inspection claimed in a savepoint would be committed
    alone, before its findings, and a crash or an error in between would leave it half-written
    for good. With BEGIN first the savepoint nests inside the session's transaction, as on
    PostgreSQL, and the sqlite3 module then sends no BEGIN of its own.
    """
    if conn.dialect.name != "sqlite":
        return
    dbapi_connection = conn.connection.dbapi_connection
    if not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")
