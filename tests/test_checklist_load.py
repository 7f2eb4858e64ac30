"""Storing catalog versions: load once, reload is a no-op, a changed catalog needs a new version."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from inspect_app.checklists import (
    DEFAULT_CATALOG_PATH,
    CatalogError,
    current_checklist,
    evaluate_item,
    load_checklist,
    read_catalog,
)
from inspect_app.models import Checklist, ChecklistItem


def variant(tmp_path, name, *, version=None, text_change=None):
    text = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
    if version:
        text = text.replace('version = "2026.1"', f'version = "{version}"', 1)
    if text_change:
        text = text.replace(*text_change, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_stores_every_item_in_order_and_reload_is_a_no_op(db_session):
    assert current_checklist(db_session) is None
    data = read_catalog(DEFAULT_CATALOG_PATH)

    row, created = load_checklist(db_session, DEFAULT_CATALOG_PATH)
    assert created is True
    assert (row.code, row.version, row.content_sha256) == (data.id, "2026.1", data.content_sha256)
    assert [c["code"] for c in row.categories] == ["FAC", "LIFE", "ELEC", "BLDG", "MGMT", "AWARE"]
    assert [i.code for i in row.items] == [i.code for i in data.items]

    fac01 = next(i for i in row.items if i.code == "FAC-01")
    assert (fac01.unit, fac01.answer_type, fac01.default_severity) == ("MPa", "numeric", "major")
    assert fac01.gb35181["composite_2017"] == "7.4.3" and not fac01.gb35181_direct
    v = evaluate_item(fac01, Decimal("0.09"), building_class="P1", flags=set())
    assert (v.result, v.limit) == ("fail", Decimal("0.1"))

    again, created_again = load_checklist(db_session, DEFAULT_CATALOG_PATH)
    assert (again.id, created_again) == (row.id, False)
    assert db_session.scalar(select(func.count()).select_from(Checklist)) == 1
    assert db_session.scalar(select(func.count()).select_from(ChecklistItem)) == len(data.items)


def test_same_version_with_other_content_is_refused(db_session, tmp_path):
    load_checklist(db_session, DEFAULT_CATALOG_PATH)
    edited = variant(
        tmp_path, "edited.toml", text_change=("室内消火栓最不利点", "室内消火栓最不利处")
    )
    with pytest.raises(CatalogError, match="版本号已存在但内容不同"):
        load_checklist(db_session, edited)
    assert db_session.scalar(select(func.count()).select_from(Checklist)) == 1


def test_new_version_becomes_current(db_session, tmp_path):
    first, _ = load_checklist(db_session, DEFAULT_CATALOG_PATH)
    newer = variant(
        tmp_path,
        "newer.toml",
        version="2026.2",
        text_change=("室内消火栓最不利点", "室内消火栓最不利处"),
    )
    second, created = load_checklist(db_session, newer)
    assert created and second.id != first.id
    assert current_checklist(db_session) is second
    assert current_checklist(db_session, "cq-highrise-fire-checklist") is second
    assert current_checklist(db_session, "another-list") is None
    # The first version stays intact: inspections pinned to it keep their items.
    assert len(first.items) == len(second.items)
