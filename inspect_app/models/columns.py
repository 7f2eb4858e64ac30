"""What every model shares: the vocabularies of the status-like columns, the UTC timestamp
column type, and the helper that turns a vocabulary into a CHECK constraint."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

ROLES = ("inspector", "manager", "street", "fire", "admin")
AREA_LEVELS = ("city", "district", "street", "community", "grid")
USES = ("residential", "public", "mixed")
INSPECTION_KINDS = ("self_check", "survey", "spot_check", "acceptance", "patrol")
RESULTS = ("pass", "fail", "na")
SEVERITIES = ("minor", "general", "major")
HAZARD_STATUSES = ("open", "submitted", "closed", "fixed_on_spot")
OPEN_STATUSES = ("open", "submitted")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every engine (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
