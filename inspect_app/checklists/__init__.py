"""Checklist catalogs: read and validate a catalog file, store it as a version, find the latest.

A catalog is a TOML file (``checklists/catalog.toml`` ships with the app).
:func:`read_catalog` (module ``catalog``) is pure: it parses and fully validates the file and
returns :class:`CatalogData`, or raises :class:`CatalogError` with one readable line naming the
file and the item. :func:`load_checklist` stores a catalog as a new
:class:`~inspect_app.models.Checklist` version; it flushes and never
commits (the caller owns the transaction).

A version is identified by the sha256 of the catalog's canonical JSON form (not of the file's
bytes), so editing comments or layout of the file does not count as a change of content.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Checklist, ChecklistItem
from ..thresholds import Verdict, evaluate
from .catalog import (
    DEFAULT_CATALOG_PATH,
    GB35181_2017_COMPOSITE,
    CatalogData,
    CatalogError,
    CatalogItem,
    category_row,
    item_row,
    read_catalog,
)

__all__ = [
    "DEFAULT_CATALOG_PATH",
    "GB35181_2017_COMPOSITE",
    "CatalogData",
    "CatalogError",
    "CatalogItem",
    "applies",
    "category_row",
    "current_checklist",
    "evaluate_item",
    "item_row",
    "load_checklist",
    "read_catalog",
]


# --- applicability and evaluation ------------------------------------------------------------


def applies(
    item_applies_to: Mapping[str, Sequence[str]] | None,
    building_class: str | None,
    flags: Iterable[str],
) -> bool:
    """Whether an item with this ``applies_to`` is asked for this building.

    No ``applies_to`` (None or empty) applies to every building. ``classes``: the building's
    class must be listed (a building without class never matches). ``flags``: every listed
    flag must be among the building's set flags.
    """
    if not item_applies_to:
        return True
    classes = item_applies_to.get("classes")
    if classes and building_class not in classes:
        return False
    required = item_applies_to.get("flags")
    return not required or set(required).issubset(flags)


def evaluate_item(
    item: ChecklistItem | CatalogItem,
    value: Decimal | float | int,
    *,
    building_class: str | None,
    flags: Iterable[str],
) -> Verdict:
    """The verdict of a numeric item's rules for a measured value (see thresholds.evaluate).

    :raise ValueError: the item is not numeric, or as :func:`~inspect_app.thresholds.evaluate`.
    """
    if item.answer_type != "numeric" or item.unit is None:
        raise ValueError(f"item {item.code} is not a numeric item")
    return evaluate(
        list(item.rules), value, building_class=building_class, flags=flags, unit=item.unit
    )


# --- storage ----------------------------------------------------------------------------------


def load_checklist(session: Session, path: str | Path) -> tuple[Checklist, bool]:
    """Store the catalog at ``path`` as a new checklist version; flush, never commit.

    Returns ``(checklist, True)`` for a new version, or ``(existing, False)`` when a checklist
    with the same content (sha256) is already stored, so loading twice is harmless.

    :raise CatalogError: the file is invalid (see :func:`read_catalog`), or the same id and
        version are stored with different content ("版本号已存在但内容不同"): a changed catalog
        must get a new version, because inspections pin the version they used.
    """
    data = read_catalog(path)
    existing = session.scalar(
        select(Checklist).where(Checklist.content_sha256 == data.content_sha256)
    )
    if existing is not None:
        return existing, False
    clash = session.scalar(
        select(Checklist).where(Checklist.code == data.id, Checklist.version == data.version)
    )
    if clash is not None:
        raise CatalogError(f"版本号已存在但内容不同：{data.id} {data.version}")

    checklist = Checklist(
        code=data.id,
        version=data.version,
        title_zh=data.title_zh,
        title_en=data.title_en,
        categories=[category_row(c) for c in data.categories],
        content_sha256=data.content_sha256,
    )
    checklist.items = [ChecklistItem(**item_row(item)) for item in data.items]
    session.add(checklist)
    session.flush()
    return checklist, True


def current_checklist(session: Session, code: str | None = None) -> Checklist | None:
    """The most recently loaded checklist (of catalog id ``code`` when given), or None."""
    query = select(Checklist).order_by(Checklist.loaded_at.desc(), Checklist.id.desc()).limit(1)
    if code is not None:
        query = query.where(Checklist.code == code)
    return session.scalar(query)
