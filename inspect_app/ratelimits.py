"""Rate limits kept in the database, so every worker and every app server counts together.

A limit is ``limit`` attempts per fixed window of ``window`` seconds under a key (for example
``report:addr:<digest>``). Each attempt is one atomic upsert (``INSERT … ON CONFLICT DO UPDATE
… RETURNING``, on SQLite and PostgreSQL), so parallel requests never lose a count. Expired
windows are deleted as new attempts arrive; nothing needs to run on a schedule.

Why not an in-process counter: the app runs under several gunicorn workers and possibly several
servers behind a load balancer, where per-process memory would let each worker allow the full
limit; the database is the one store they already share. The cost is one small write per
counted attempt, which is why only writes (a resident's report) are counted, never page views.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from .models import RateLimitWindow


@dataclass(frozen=True)
class Verdict:
    """The outcome of one counted attempt: ``allowed`` while ``count`` ≤ the limit;
    ``retry_after`` is the number of seconds until the window resets."""

    allowed: bool
    count: int
    retry_after: int


def client_key(secret: str, address: str | None) -> str:
    """A keyed digest of a network address: stable for one server secret, not reversible to
    the address without it, so the database never holds residents' addresses."""
    digest = hmac.new(secret.encode(), (address or "unknown").encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def _insert(session: Session):
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the app supports these two engines
        raise NotImplementedError(f"rate limits need SQLite or PostgreSQL, not {name}")
    return insert


def hit(
    session: Session, key: str, *, limit: int, window: int, now: float | None = None
) -> Verdict:
    """Count one attempt under ``key`` and say whether it is within ``limit`` per ``window``
    seconds. Flushes nothing else; the caller commits (also when the attempt is refused, so
    that refused attempts keep counting)."""
    if limit < 1 or window < 1:
        raise ValueError("limit and window must be positive")
    moment = int(time.time() if now is None else now)
    start = moment - moment % window
    table = RateLimitWindow.__table__
    insert = _insert(session)
    statement = (
        insert(table)
        .values(key=key[:100], window_start=start, count=1, expires_at=start + window)
        .on_conflict_do_update(
            index_elements=[table.c.key, table.c.window_start],
            set_={"count": table.c.count + 1},
        )
        .returning(table.c.count)
    )
    count = session.execute(statement).scalar_one()
    session.execute(delete(table).where(table.c.expires_at <= moment))
    return Verdict(allowed=count <= limit, count=count, retry_after=start + window - moment)


def count(session: Session, key: str, *, window: int, now: float | None = None) -> int:
    """The attempts counted under ``key`` in the current window of ``window`` seconds, without
    counting one more (for limits that count failures only and check before trying)."""
    from sqlalchemy import select

    moment = int(time.time() if now is None else now)
    table = RateLimitWindow.__table__
    value = session.execute(
        select(table.c.count).where(
            table.c.key == key[:100], table.c.window_start == moment - moment % window
        )
    ).scalar_one_or_none()
    return int(value or 0)
