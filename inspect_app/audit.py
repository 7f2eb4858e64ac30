"""The audit log: who changed what, and who was refused, as one JSON object per line.

Contract
--------
- Every committed insert, update and delete of a row is logged once the commit has succeeded
  (work that is rolled back, savepoints included, is never logged): ``"event": "change"`` with
  the action, the table, the row ids and, for updates, the names of the changed columns.
  Statements that write many rows at once (imports, the demo generator) are logged as one
  ``"bulk"`` line per statement with the number of rows passed.
- Every refused request is logged: ``"event": "denied"`` with the status and the reason —
  ``login_required`` (anonymous on a page that needs a login), ``unauthenticated`` (API without
  a valid token), ``forbidden`` (the role may not do this), ``not_found`` (an object that does
  not exist or is outside the user's scope: the app answers both with 404 on purpose),
  ``csrf``, ``rate_limited``, ``login_failed``.
- Each line carries ``time`` (UTC, ISO 8601), ``request_id`` (also sent back in the
  ``X-Request-ID`` response header and shown on error pages), ``actor`` (user name, or
  ``anonymous``, or ``system:<command>`` for command-line work, ``system`` for other work
  outside a request), ``role``, ``method`` and
  ``path`` (never the query string).
- Values are never logged, only column names and ids, so passwords, password hashes, API
  tokens, session data and CSRF tokens cannot reach the log.

Where it goes: ``AUDIT_LOG`` names a file (appended to; reopened when rotated away), ``-`` (the
default) means standard error, where a process manager collects it.

Tables left out (``SKIPPED``) hold derived bookkeeping — inbox messages and reminder claims made
from logged history, webhook delivery attempts, rate-limit counters, announced colours —
logging them would repeat each logged change many times over.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from logging.handlers import WatchedFileHandler
from typing import Any

import click
from flask import Flask, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ORMExecuteState, Session

from .db import db

log = logging.getLogger("inspect_app.audit")

SKIPPED = frozenset(
    {
        "notification",
        "hazard_reminder",
        "webhook_delivery",
        "rate_limit_window",
        "announced_colour",
    }
)

# Statuses that mean "refused", with the reason logged when the view gave none.
DENIALS = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 429: "rate_limited"}

# A request id from the client (or a proxy) is kept when it looks like one; anything else is
# replaced, so the log cannot be fed arbitrary text through a header.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_PENDING = "inspect_app.audit.pending"
IDS_PER_LINE = 500
_HANDLER_NAME = "inspect_app.audit"


# ---------------------------------------------------------------------------------------------
# Wiring
# ---------------------------------------------------------------------------------------------


def install(app: Flask) -> None:
    """Send audit lines where ``AUDIT_LOG`` says, and hook requests and the database session."""
    configure(app.config.get("AUDIT_LOG") or "-")
    if not event.contains(db.session, "after_flush", _collect):
        event.listen(db.session, "after_flush", _collect)
        event.listen(db.session, "do_orm_execute", _collect_statement)
        event.listen(db.session, "after_commit", _emit)
        event.listen(db.session, "after_soft_rollback", _forget)

    app.before_request(_begin_request)
    app.after_request(_end_request)


def configure(target: str) -> None:
    """Write audit lines to the file ``target`` (appended), or to standard error for ``-``."""
    # One handler at a time: a second app in the same process (tests) replaces the first's.
    for handler in [h for h in log.handlers if h.get_name() == _HANDLER_NAME]:
        log.removeHandler(handler)
        handler.close()
    handler = logging.StreamHandler(sys.stderr) if target == "-" else WatchedFileHandler(target)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    # Lines are already complete records; the root logger would print them a second time.
    log.propagate = False


# ---------------------------------------------------------------------------------------------
# Requests: the request id, the actor, refusals
# ---------------------------------------------------------------------------------------------


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return g.request_id


def _begin_request() -> None:
    request_id()
    # The actor is read once, before any flush: loading the user inside a flush or after a
    # commit would query in the middle of the session's own work.
    if not request.path.startswith(("/static/", "/sw.js")):
        set_actor(current_user)


def set_actor(user: Any) -> None:
    """Record who acts for the rest of this request (called again when somebody logs in)."""
    if getattr(user, "is_authenticated", False):
        g.audit_actor = {"actor": user.username, "role": user.role}
    else:
        g.audit_actor = {"actor": "anonymous", "role": None}


def deny(reason: str, **fields: Any) -> None:
    """Name the reason this request is refused, with any ids worth logging (written when the
    response is sent)."""
    g.audit_denied = (reason, fields)


def _end_request(response):
    response.headers.setdefault("X-Request-ID", request_id())
    reason, fields = g.pop("audit_denied", (None, {}))
    status = response.status_code
    # A 404 on a path no route matches is not access to anything; only refusals of routed
    # objects (missing or out of scope, which look the same on purpose) count.
    if reason is None and status in DENIALS and (status != 404 or request.url_rule is not None):
        reason = DENIALS[status]
    if reason is not None:
        # Refused before ``_begin_request`` ran (CSRF is checked first): name the actor now.
        if "audit_actor" not in g:
            set_actor(current_user)
        write("denied", status=status, reason=reason, **_object(), **fields)
    return response


def _object() -> dict[str, Any]:
    """What the refused request aimed at: its endpoint and the ids in its URL."""
    if request.url_rule is None:
        return {}
    return {"endpoint": request.endpoint, "object": dict(request.view_args or {}) or None}


# ---------------------------------------------------------------------------------------------
# Writing lines
# ---------------------------------------------------------------------------------------------


def _who() -> dict[str, Any]:
    if has_request_context():
        who = dict(g.get("audit_actor") or {"actor": "anonymous", "role": None})
        who.update(method=request.method, path=request.path, request_id=request_id())
        return who
    ctx = click.get_current_context(silent=True)
    return {"actor": f"system:{ctx.command_path}" if ctx else "system", "role": None}


def write(kind: str, **fields: Any) -> None:
    """Log one audit line of ``kind`` (``change``, ``denied``, ``login``…) with ``fields``,
    stamped with the time and the actor. Callers pass ids and names, never secrets."""
    record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": kind}
    record.update(_who())
    record.update(fields)
    log.info(json.dumps(record, ensure_ascii=False, default=str, separators=(",", ":")))


# ---------------------------------------------------------------------------------------------
# The session hook: changes are collected at each flush and written after the commit
# ---------------------------------------------------------------------------------------------


def _collect(session: Session, _flush_context) -> None:
    # In after_flush the session still lists what this flush wrote, with attribute history.
    pending = session.info.setdefault(_PENDING, [])
    tx = _current_transaction(session)
    for action, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            state = sa_inspect(obj)
            table = state.mapper.persist_selectable
            name = getattr(table, "name", None)
            if name is None or name in SKIPPED:
                continue
            fields = None
            if action == "update":
                fields = sorted(
                    attr.key
                    for attr in state.mapper.column_attrs
                    if state.attrs[attr.key].history.has_changes()
                )
                if not fields:
                    continue
            ids = state.mapper.primary_key_from_instance(obj)
            pending.append((tx, action, name, ids[0] if len(ids) == 1 else ids, fields))


def _collect_statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or name in SKIPPED:
        return
    params = state.parameters
    rows = len(params) if isinstance(params, list) else None
    action = "insert" if state.is_insert else "update" if state.is_update else "delete"
    session = state.session
    session.info.setdefault(_PENDING, []).append(
        (_current_transaction(session), action, name, None, rows)
    )


def _emit(session: Session) -> None:
    # Releasing a savepoint fires after_commit too; its work is committed only with the outer
    # transaction, which may still roll back.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    groups: dict[tuple, dict] = {}
    bulk = []
    for _tx, action, table, ident, extra in pending:
        if ident is None:
            bulk.append((action, table, extra))
        else:
            key = (action, table, tuple(extra) if extra else None)
            groups.setdefault(key, {})[ident] = None
    for (action, table, fields), idents in groups.items():
        ids = list(idents)
        # Long lines are cut by log collectors: a big import is written in parts.
        for start in range(0, len(ids), IDS_PER_LINE):
            line = {"action": action, "table": table, "ids": ids[start : start + IDS_PER_LINE]}
            if fields:
                line["fields"] = list(fields)
            write("change", **line)
    for action, table, rows in bulk:
        write("change", action=action, table=table, bulk=True, rows=rows)


def _current_transaction(session: Session):
    return session.get_nested_transaction() or session.get_transaction()


def _forget(session: Session, rolled_back) -> None:
    """Drop what was written inside the transaction (or savepoint) just rolled back."""
    pending = session.info.get(_PENDING)
    if not pending:
        return

    def inside(tx) -> bool:
        while tx is not None:
            if tx is rolled_back:
                return True
            tx = tx.parent
        return False

    session.info[_PENDING] = [entry for entry in pending if not inside(entry[0])]
