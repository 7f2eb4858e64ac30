"""Catalog files: read and fully validate a TOML catalog into :class:`CatalogData` (pure; no
database). Errors are :class:`CatalogError` with one readable line naming the file and the item.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..thresholds import (
    BUILDING_CLASSES,
    FLAGS,
    SEVERITIES,
    validate_rules,
)

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.toml")

ANSWER_TYPES = ("pass_fail_na", "numeric")
CONFIDENCE_LEVELS = ("high", "medium", "low")

# Units a numeric item may use, as the (Chinese-first) form prints them, with zh/en labels.
# Reason templates only put ``{unit}`` where zh and en write it the same way (MPa, m, %).
UNIT_LABELS: dict[str, tuple[str, str]] = {
    "MPa": ("MPa", "MPa"),
    "m": ("m", "m"),
    "%": ("%", "%"),
    "人": ("人", "persons"),
    "辆": ("辆", "vehicles"),
    "个月": ("个月", "months"),
}

# GB 35181-2017 element numbers (the 2025 edition renumbered them; its text is not yet checked):
# direct elements 6.1–6.10 and the composite elements of chapter 7.
GB35181_2017_DIRECT = tuple(f"6.{n}" for n in range(1, 11))
GB35181_2017_COMPOSITE = (
    *(f"7.1.{n}" for n in range(1, 5)),
    *(f"7.2.{n}" for n in range(1, 4)),
    *(f"7.3.{n}" for n in range(1, 13)),
    *(f"7.4.{n}" for n in range(1, 7)),
    "7.5",
    *(f"7.6.{n}" for n in range(1, 4)),
    *(f"7.7.{n}" for n in range(1, 4)),
    *(f"7.8.{n}" for n in range(1, 3)),
    *(f"7.9.{n}" for n in range(1, 6)),
)

# Rectification measures prefill one line each of the plan; more than three stops being a hint.
MAX_MEASURES = 3
MAX_MEASURE_CHARS = 40

_ID_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]*")
_CATEGORY_RE = re.compile(r"[A-Z]{2,16}")
_ITEM_CODE_RE = re.compile(r"([A-Z]{2,16})-[0-9]{2,3}")

_TOP_KEYS = ("id", "version", "title_zh", "title_en", "categories", "items")
_CATEGORY_KEYS = ("code", "zh", "en")
_ITEM_KEYS = (
    "code",
    "category",
    "text_zh",
    "text_en",
    "answer_type",
    "unit",
    "rules",
    "applies_to",
    "default_severity",
    "fix_on_spot",
    "legal_basis",
    "gb35181",
    "how_zh",
    "measures_zh",
    "tags",
    "confidence",
)
# Item tags the app acts on: "water" items take the campaign's water-supply deadline.
KNOWN_TAGS = ("water",)
_APPLIES_KEYS = ("classes", "flags")
_GB35181_KEYS = ("direct", "direct_2017", "composite_2017", "note_zh")


class CatalogError(Exception):
    """A catalog that cannot be used; the message is one line naming the file and item."""


@dataclass(frozen=True)
class CatalogCategory:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class CatalogItem:
    """One validated checklist item; field names match :class:`ChecklistItem` columns.

    ``confidence`` (how sure the thresholds and legal references are) has no column yet and
    is kept here only.
    """

    code: str
    category: str
    position: int
    text_zh: str
    text_en: str
    answer_type: str
    unit: str | None
    rules: tuple[dict[str, Any], ...]
    applies_to: dict[str, list[str]] | None
    default_severity: str
    fix_on_spot: bool
    legal_basis: tuple[str, ...]
    gb35181: dict[str, Any] | None
    how_zh: str | None
    measures_zh: tuple[str, ...]
    tags: tuple[str, ...]
    confidence: str | None


@dataclass(frozen=True)
class CatalogData:
    """A parsed, validated catalog and the sha256 of its canonical content."""

    id: str
    version: str
    title_zh: str
    title_en: str
    categories: tuple[CatalogCategory, ...]
    items: tuple[CatalogItem, ...]
    content_sha256: str


# --- reading and validation (pure) ---------------------------------------------------------


def read_catalog(path: str | Path) -> CatalogData:
    """Parse and validate the catalog file at ``path``.

    :raise CatalogError: unreadable file, invalid TOML, or any content problem (unknown key or
        category, duplicate item code, bad answer type, numeric item without unit or rules,
        invalid rules, unknown class/flag/GB 35181 element, missing measures…). The message
        is one line: ``<file>: item <code>: <problem>``.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise CatalogError(f"{path}: file not found") from None
    except OSError as err:
        raise CatalogError(f"{path}: cannot read ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise CatalogError(f"{path.name}: invalid TOML ({err})") from None
    return parse_catalog(raw, source=path.name)


def parse_catalog(raw: Mapping[str, Any], *, source: str = "catalog") -> CatalogData:
    """Validate an already-parsed catalog mapping; ``source`` prefixes error messages.

    :raise CatalogError: as for :func:`read_catalog`.
    """
    _only_keys(raw, _TOP_KEYS, source)
    catalog_id = _text(raw, "id", source)
    if not _ID_RE.fullmatch(catalog_id) or len(catalog_id) > 64:
        raise CatalogError(f"{source}: id {catalog_id!r} must be lowercase words joined by '-'")
    version = _text(raw, "version", source)
    if not _VERSION_RE.fullmatch(version) or len(version) > 32:
        raise CatalogError(f"{source}: version {version!r} must look like '2026.1'")
    title_zh = _text(raw, "title_zh", source)
    title_en = _text(raw, "title_en", source)

    categories = _categories(_tables(raw, "categories", source), source)
    category_codes = {category.code for category in categories}
    items: list[CatalogItem] = []
    seen: set[str] = set()
    for index, table in enumerate(_tables(raw, "items", source)):
        item = _item(table, index + 1, category_codes, source)
        if item.code in seen:
            raise CatalogError(f"{source}: item {item.code}: duplicate item code")
        seen.add(item.code)
        items.append(item)
    empty = [c.code for c in categories if not any(i.category == c.code for i in items)]
    if empty:
        raise CatalogError(f"{source}: category {empty[0]} has no items")

    content = {
        "id": catalog_id,
        "version": version,
        "title_zh": title_zh,
        "title_en": title_en,
        "categories": [category_row(c) for c in categories],
        "items": [{**item_row(i), "confidence": i.confidence} for i in items],
    }
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return CatalogData(
        id=catalog_id,
        version=version,
        title_zh=title_zh,
        title_en=title_en,
        categories=tuple(categories),
        items=tuple(items),
        content_sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
    )


def category_row(category: CatalogCategory) -> dict[str, str]:
    """The JSON form of a category as stored in ``Checklist.categories``."""
    return {"code": category.code, "zh": category.zh, "en": category.en}


def item_row(item: CatalogItem) -> dict[str, Any]:
    """The column values of a :class:`ChecklistItem` for ``item`` (JSON-ready, fresh copies)."""
    return {
        "code": item.code,
        "category": item.category,
        "position": item.position,
        "text_zh": item.text_zh,
        "text_en": item.text_en,
        "answer_type": item.answer_type,
        "unit": item.unit,
        "rules": [dict(rule) for rule in item.rules],
        "applies_to": {k: list(v) for k, v in item.applies_to.items()} if item.applies_to else None,
        "default_severity": item.default_severity,
        "fix_on_spot": item.fix_on_spot,
        "legal_basis": list(item.legal_basis),
        "gb35181": json.loads(json.dumps(item.gb35181)) if item.gb35181 else None,
        "how_zh": item.how_zh,
        "measures_zh": list(item.measures_zh),
        "tags": list(item.tags),
    }


def _categories(tables: list[Mapping[str, Any]], source: str) -> list[CatalogCategory]:
    categories: list[CatalogCategory] = []
    for index, table in enumerate(tables):
        where = f"{source}: category #{index + 1}"
        _only_keys(table, _CATEGORY_KEYS, where)
        code = _text(table, "code", where)
        where = f"{source}: category {code}"
        if not _CATEGORY_RE.fullmatch(code):
            raise CatalogError(f"{where}: code must be 2–16 capital letters")
        if any(c.code == code for c in categories):
            raise CatalogError(f"{where}: duplicate category code")
        categories.append(
            CatalogCategory(code, _text(table, "zh", where), _text(table, "en", where))
        )
    return categories


def _item(
    table: Mapping[str, Any], position: int, category_codes: set[str], source: str
) -> CatalogItem:
    where = f"{source}: item #{position}"
    if not isinstance(table, Mapping):
        raise CatalogError(f"{where}: must be a table")
    code = _text(table, "code", where)
    where = f"{source}: item {code}"
    _only_keys(table, _ITEM_KEYS, where)
    match = _ITEM_CODE_RE.fullmatch(code)
    if not match:
        raise CatalogError(f"{where}: code must look like 'FAC-01'")
    category = _text(table, "category", where)
    if category not in category_codes:
        raise CatalogError(f"{where}: unknown category {category!r}")
    if match.group(1) != category:
        raise CatalogError(f"{where}: code prefix does not match category {category!r}")

    answer_type = _text(table, "answer_type", where)
    if answer_type not in ANSWER_TYPES:
        raise CatalogError(
            f"{where}: unknown answer_type {answer_type!r} (one of {', '.join(ANSWER_TYPES)})"
        )
    unit, rules = _answer(table, answer_type, where)

    default_severity = _text(table, "default_severity", where)
    if default_severity not in SEVERITIES:
        raise CatalogError(
            f"{where}: unknown default_severity {default_severity!r} "
            f"(one of {', '.join(SEVERITIES)})"
        )
    fix_on_spot = table.get("fix_on_spot")
    if not isinstance(fix_on_spot, bool):
        raise CatalogError(f"{where}: fix_on_spot must be true or false")
    confidence = table.get("confidence")
    if confidence is not None and confidence not in CONFIDENCE_LEVELS:
        raise CatalogError(
            f"{where}: unknown confidence {confidence!r} (one of {', '.join(CONFIDENCE_LEVELS)})"
        )
    how_zh = _text(table, "how_zh", where) if "how_zh" in table else None

    measures = _text_list(table, "measures_zh", where)
    if len(measures) > MAX_MEASURES:
        raise CatalogError(
            f"{where}: measures_zh has {len(measures)} lines, at most {MAX_MEASURES}"
        )
    for line in measures:
        if len(line) > MAX_MEASURE_CHARS:
            raise CatalogError(
                f"{where}: measures_zh line longer than {MAX_MEASURE_CHARS} characters: {line!r}"
            )

    tags = _text_list(table, "tags", where) if "tags" in table else []
    unknown = sorted(set(tags) - set(KNOWN_TAGS))
    if unknown:
        raise CatalogError(f"{where}: unknown tag {unknown[0]!r} (one of {', '.join(KNOWN_TAGS)})")

    return CatalogItem(
        code=code,
        category=category,
        position=position,
        text_zh=_text(table, "text_zh", where),
        text_en=_text(table, "text_en", where),
        answer_type=answer_type,
        unit=unit,
        rules=rules,
        applies_to=_applies_to(table.get("applies_to"), where),
        default_severity=default_severity,
        fix_on_spot=fix_on_spot,
        legal_basis=tuple(_text_list(table, "legal_basis", where)),
        gb35181=_gb35181(table.get("gb35181"), where),
        how_zh=how_zh,
        measures_zh=tuple(measures),
        tags=tuple(tags),
        confidence=confidence,
    )


def _answer(
    table: Mapping[str, Any], answer_type: str, where: str
) -> tuple[str | None, tuple[dict[str, Any], ...]]:
    if answer_type == "pass_fail_na":
        for key in ("unit", "rules"):
            if key in table:
                raise CatalogError(f"{where}: a pass_fail_na item has no {key}")
        return None, ()
    if "unit" not in table:
        raise CatalogError(f"{where}: a numeric item needs a unit")
    unit = table["unit"]
    if unit not in UNIT_LABELS:
        raise CatalogError(f"{where}: unknown unit {unit!r} (one of {', '.join(UNIT_LABELS)})")
    rules = table.get("rules")
    if not rules:
        raise CatalogError(f"{where}: a numeric item needs rules")
    try:
        validate_rules(rules)
    except ValueError as err:
        raise CatalogError(f"{where}: {err}") from None
    if all(rule["result"] == "pass" for rule in rules):
        raise CatalogError(f"{where}: no rule gives warn or fail")
    return unit, tuple(dict(rule) for rule in rules)


def _applies_to(value: Any, where: str) -> dict[str, list[str]] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value:
        raise CatalogError(f"{where}: applies_to must be a table with classes and/or flags")
    _only_keys(value, _APPLIES_KEYS, f"{where}: applies_to")
    result: dict[str, list[str]] = {}
    for key, known in (("classes", BUILDING_CLASSES), ("flags", FLAGS)):
        if key not in value:
            continue
        names = _text_list(value, key, f"{where}: applies_to")
        unknown = [name for name in names if name not in known]
        if unknown:
            singular = "flag" if key == "flags" else "class"
            raise CatalogError(f"{where}: applies_to: unknown {singular} {unknown[0]!r}")
        result[key] = names
    return result


def _gb35181(value: Any, where: str) -> dict[str, Any] | None:
    """The GB 35181 reference of an item, as stored: keys carry the edition (2017) because
    the 2025 edition renumbered the elements and its text is not yet checked.

    ``direct``: any finding of this item is a (suspected) direct element; ``direct_2017``: the
    direct elements it may meet (a condition in ``note_zh`` when ``direct`` is false);
    ``composite_2017``: the one composite element a finding counts as, since the composite
    rule counts distinct elements and one finding must not count twice.
    """
    if value is None:
        return None
    where = f"{where}: gb35181"
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: must be a table")
    _only_keys(value, _GB35181_KEYS, where)
    direct = value.get("direct")
    if not isinstance(direct, bool):
        raise CatalogError(f"{where}: direct must be true or false")
    direct_elements = _text_list(value, "direct_2017", where) if "direct_2017" in value else []
    unknown = [name for name in direct_elements if name not in GB35181_2017_DIRECT]
    if unknown:
        raise CatalogError(f"{where}: {unknown[0]!r} is not a GB 35181-2017 direct element (6.x)")
    composite = _text(value, "composite_2017", where) if "composite_2017" in value else None
    if composite is not None and composite not in GB35181_2017_COMPOSITE:
        raise CatalogError(f"{where}: {composite!r} is not a GB 35181-2017 composite element")
    note = _text(value, "note_zh", where) if "note_zh" in value else None
    if direct and not direct_elements:
        raise CatalogError(f"{where}: direct = true needs direct_2017")
    if direct and composite is not None:
        raise CatalogError(f"{where}: a direct element has no composite_2017")
    if not direct and direct_elements and note is None:
        raise CatalogError(f"{where}: conditional direct_2017 needs a note_zh with the condition")
    if not direct_elements and composite is None and note is None:
        raise CatalogError(f"{where}: names no element; leave the table out instead")
    return {
        "direct": direct,
        "direct_2017": direct_elements,
        "composite_2017": composite,
        "note_zh": note,
    }


def _only_keys(table: Any, allowed: Sequence[str], where: str) -> None:
    if not isinstance(table, Mapping):
        raise CatalogError(f"{where}: must be a table")
    unknown = sorted(str(key) for key in table if key not in allowed)
    if unknown:
        raise CatalogError(f"{where}: unknown key {unknown[0]!r}")


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if value is None:
        raise CatalogError(f"{where}: missing {key}")
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _text_list(table: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key)
    if value is None:
        raise CatalogError(f"{where}: missing {key}")
    if not isinstance(value, list) or not value:
        raise CatalogError(f"{where}: {key} must be a non-empty list")
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(f"{where}: {key} must list non-empty strings")
    names = [v.strip() for v in value]
    if len(set(names)) != len(names):
        raise CatalogError(f"{where}: {key} lists an entry twice")
    return names


def _tables(raw: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = raw.get(key)
    if not isinstance(value, list) or not value:
        raise CatalogError(f"{where}: needs at least one [[{key}]] table")
    return value
