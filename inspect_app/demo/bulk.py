"""Bulk writing with ids assigned by the generator: the current maximum ids, chunked Core
inserts, and PostgreSQL sequences moved past the assigned ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from ..models import Building, Finding, Hazard, HazardEvent, Inspection, Supervision

CHUNK = 5000


def _id_bases(session: Session) -> dict[str, int]:
    """The current maximum id of each table the generator fills with explicit ids."""
    models = {
        "building": Building,
        "inspection": Inspection,
        "finding": Finding,
        "hazard": Hazard,
        "hazard_event": HazardEvent,
        "supervision": Supervision,
    }
    return {
        name: session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0
        for name, model in models.items()
    }


def _insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Bulk-insert ``rows`` (all with the same keys) in chunks.

    Every row carries every key (None included), so each chunk is one ``executemany``.
    """
    # Core INSERT on the mapped table: the ORM's bulk path costs as much again per row.
    statement = insert(model.__table__)
    for start in range(0, len(rows), CHUNK):
        session.execute(statement, rows[start : start + CHUNK])


def _fix_sequences(session: Session) -> None:
    """PostgreSQL: move the id sequences past the ids assigned here."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("building", "inspection", "finding", "hazard", "hazard_event", "supervision"):
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )
