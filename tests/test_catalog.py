"""The shipped checklist catalog and the catalog reader's validation (pure, no database)."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from inspect_app.checklists import (
    DEFAULT_CATALOG_PATH,
    CatalogError,
    applies,
    evaluate_item,
    read_catalog,
)
from inspect_app.classification import CLASS_LABELS

# Every item code of the draft catalog (reference/checklist-catalog.draft.yaml): none may be lost.
DRAFT_CODES = (
    [f"FAC-{n:02}" for n in range(1, 16)]
    + [f"LIFE-{n:02}" for n in range(1, 12)]
    + [f"ELEC-{n:02}" for n in range(1, 12)]
    + [f"BLDG-{n:02}" for n in range(1, 9)]
    + [f"MGMT-{n:02}" for n in range(1, 13)]
    + [f"AWARE-{n:02}" for n in range(1, 5)]
)


@pytest.fixture(scope="module")
def catalog():
    return read_catalog(DEFAULT_CATALOG_PATH)


@pytest.fixture(scope="module")
def items(catalog):
    return {item.code: item for item in catalog.items}


def verdict(items, code, value, building_class=None, flags=()):
    return evaluate_item(items[code], value, building_class=building_class, flags=set(flags))


# --- the shipped catalog ---------------------------------------------------------------------


def test_shipped_catalog_identity_and_shape(catalog):
    assert catalog.id == "cq-highrise-fire-checklist"
    assert catalog.version == "2026.1"
    assert [c.code for c in catalog.categories] == ["FAC", "LIFE", "ELEC", "BLDG", "MGMT", "AWARE"]
    assert len(catalog.items) >= 61
    assert len(DRAFT_CODES) == 61
    assert set(DRAFT_CODES) <= {item.code for item in catalog.items}
    assert [item.position for item in catalog.items] == list(range(1, len(catalog.items) + 1))
    assert len(catalog.content_sha256) == 64


def test_every_item_is_complete(catalog):
    for item in catalog.items:
        assert item.text_zh and item.text_en, item.code
        assert item.legal_basis, item.code
        assert 1 <= len(item.measures_zh) <= 3, item.code
        if item.answer_type == "numeric":
            assert item.unit and item.rules, item.code
            assert item.how_zh, f"{item.code}: a measurement needs a how-to"
        else:
            assert item.unit is None and item.rules == (), item.code


def test_gb35181_references_use_2017_element_keys(catalog):
    refs = {item.code: item.gb35181 for item in catalog.items if item.gb35181}
    assert all(
        set(ref) == {"direct", "direct_2017", "composite_2017", "note_zh"} for ref in refs.values()
    )
    assert [code for code, ref in refs.items() if ref["direct"]] == ["ELEC-10"]
    assert refs["ELEC-10"]["direct_2017"] == ["6.2", "6.8"]
    assert refs["FAC-01"]["composite_2017"] == "7.4.3"
    # Conditional direct elements say their condition.
    assert refs["BLDG-01"] == {
        "direct": False,
        "direct_2017": ["6.10"],
        "composite_2017": None,
        "note_zh": refs["BLDG-01"]["note_zh"],
    }
    assert "人员密集场所" in refs["BLDG-01"]["note_zh"]
    # The composite rule (>= 6 distinct elements) must be reachable from the catalog alone.
    composites = {ref["composite_2017"] for ref in refs.values() if ref["composite_2017"]}
    assert len(composites) >= 6


def test_conditional_items_declare_their_condition(items):
    assert items["MGMT-02"].applies_to == {"flags": ["has_control_room"]}
    assert items["FAC-08"].applies_to == {"flags": ["has_sprinklers"]}
    assert items["MGMT-13"].applies_to == {"classes": ["P1", "P2"]}
    assert items["LIFE-01"].applies_to is None


# FAC-01: indoor hydrant static pressure at the most unfavourable point (GB 50974 5.2.2/5.3.3).


@pytest.mark.parametrize("building_class", ["R1", "R2", "P1", "P2", None])
def test_fac01_zero_is_no_water_and_major(items, building_class):
    v = verdict(items, "FAC-01", 0, building_class)
    assert (v.result, v.severity) == ("fail", "major")
    assert "无水" in v.reason_zh


@pytest.mark.parametrize("building_class", ["R1", "R2", "P2"])
@pytest.mark.parametrize(
    ("value", "result"), [("0.069", "fail"), ("0.07", "pass"), ("0.071", "pass")]
)
def test_fac01_residential_and_class_ii_public_limit_0_07(items, building_class, value, result):
    v = verdict(items, "FAC-01", Decimal(value), building_class)
    assert v.result == result
    if result == "fail":
        assert v.severity == "major"
        assert v.limit == Decimal("0.07")
        assert CLASS_LABELS[building_class][0] in v.reason_zh


@pytest.mark.parametrize(
    ("value", "result"), [(0.07, "fail"), (0.099, "fail"), (0.10, "pass"), (0.101, "pass")]
)
def test_fac01_class_i_public_limit_0_10(items, value, result):
    assert verdict(items, "FAC-01", value, "P1").result == result


@pytest.mark.parametrize(
    ("value", "result"), [(0.10, "fail"), (0.149, "fail"), (0.15, "pass"), (0.151, "pass")]
)
def test_fac01_class_i_public_over_100_m_limit_0_15(items, value, result):
    assert verdict(items, "FAC-01", value, "P1", {"super_high_rise"}).result == result


def test_fac01_residential_over_100_m_keeps_0_07(items):
    assert verdict(items, "FAC-01", 0.08, "R1", {"super_high_rise"}).result == "pass"


def test_fac01_reason_names_the_class_and_limit(items):
    v = verdict(items, "FAC-01", 0.12, "P1", {"super_high_rise"})
    assert v.reason_zh == "静压 0.12 MPa 低于建筑高度超过100 m的一类高层公共建筑要求 0.15 MPa"
    assert "Class-I high-rise public" in v.reason_en


def test_fac01_unknown_class_falls_back_to_0_07(items):
    assert verdict(items, "FAC-01", 0.06, None).result == "fail"
    assert verdict(items, "FAC-01", 0.07, None).result == "pass"


@pytest.mark.parametrize(
    ("value", "result", "severity"),
    [(0.10, "fail", "general"), (0.15, "fail", "general"), (0.16, "pass", None)],
)
def test_fac01_pressure_stabiliser_needs_more_than_0_15(items, value, result, severity):
    v = verdict(items, "FAC-01", value, "R2", {"has_pressure_stabilizer"})
    assert (v.result, v.severity) == (result, severity)


def test_fac01_class_limit_beats_the_stabiliser_rule(items):
    v = verdict(items, "FAC-01", 0.06, "R2", {"has_pressure_stabilizer"})
    assert (v.result, v.severity) == ("fail", "major")


@pytest.mark.parametrize(("value", "result"), [(1.0, "pass"), (1.01, "warn")])
def test_fac01_over_1_mpa_warns_to_zone_the_system(items, value, result):
    assert verdict(items, "FAC-01", value, "R1").result == result


# FAC-02: flowing pressure (GB 50974 7.4.12).


@pytest.mark.parametrize(
    ("value", "result", "severity"),
    [
        (0, "fail", "major"),
        (0.349, "fail", "major"),
        (0.35, "pass", None),
        (0.50, "pass", None),
        (0.51, "warn", "general"),
        (0.70, "warn", "general"),
        (0.71, "fail", "general"),
    ],
)
def test_fac02_flowing_pressure(items, value, result, severity):
    v = verdict(items, "FAC-02", value, "R2")
    assert (v.result, v.severity) == (result, severity)


@pytest.mark.parametrize(
    ("code", "value", "result"),
    [
        ("FAC-08", 0, "fail"),
        ("FAC-08", 0.049, "fail"),
        ("FAC-08", 0.05, "pass"),
        ("FAC-17", 0.099, "fail"),
        ("FAC-17", 0.10, "pass"),
        ("LIFE-02", 3.99, "fail"),
        ("LIFE-02", 4.0, "pass"),
        ("LIFE-12", 3.5, "fail"),
        ("LIFE-12", 4, "pass"),
        ("MGMT-06", 12, "pass"),
        ("MGMT-06", 13, "fail"),
        ("ELEC-01", 0, "pass"),
        ("ELEC-01", 1, "fail"),
        ("MGMT-03", 0, "pass"),
        ("MGMT-03", 1, "fail"),
        ("AWARE-04", 59, "warn"),
        ("AWARE-04", 60, "pass"),
    ],
)
def test_other_numeric_limits(items, code, value, result):
    assert verdict(items, code, value, "R2").result == result


@pytest.mark.parametrize(
    ("value", "result", "severity"),
    [(0, "pass", None), (0.5, "fail", "general"), (30, "fail", "general"), (30.1, "fail", "major")],
)
def test_fac14_emergency_lighting_over_30_percent_is_major(items, value, result, severity):
    v = verdict(items, "FAC-14", value, "R2")
    assert (v.result, v.severity) == (result, severity)


@pytest.mark.parametrize(
    ("value", "flags", "severity"),
    [
        (20, {"has_assembly_occupancy"}, "general"),
        (20.5, {"has_assembly_occupancy"}, "major"),
        (20.5, set(), "general"),
        (50, set(), "general"),
        (51, set(), "major"),
    ],
)
def test_life07_fire_door_defects_20_percent_with_assembly_else_50(items, value, flags, severity):
    assert verdict(items, "LIFE-07", value, "P2", flags).severity == severity


@pytest.mark.parametrize(
    ("value", "result", "severity"),
    [(0, "fail", "major"), (1, "fail", "general"), (2, "pass", None)],
)
def test_mgmt02_control_room_needs_two_on_duty(items, value, result, severity):
    v = verdict(items, "MGMT-02", value, "P1", {"has_control_room"})
    assert (v.result, v.severity) == (result, severity)
    if value == 1:
        assert v.reason_zh == "当班值班人员 1 人，少于 2 人"


def test_evaluate_item_refuses_pass_fail_items(items):
    with pytest.raises(ValueError, match="LIFE-05"):
        verdict(items, "LIFE-05", 1)


# --- applies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("applies_to", "building_class", "flags", "expected"),
    [
        (None, None, set(), True),
        ({}, "R2", set(), True),
        ({"flags": ["has_control_room"]}, "P1", {"has_control_room"}, True),
        ({"flags": ["has_control_room"]}, "P1", set(), False),
        ({"flags": ["has_sprinklers", "has_control_room"]}, "P1", {"has_sprinklers"}, False),
        ({"classes": ["P1", "P2"]}, "P2", set(), True),
        ({"classes": ["P1", "P2"]}, "R1", set(), False),
        ({"classes": ["P1", "P2"]}, None, set(), False),
        ({"classes": ["P1"], "flags": ["multi_owner"]}, "P1", {"multi_owner"}, True),
        ({"classes": ["P1"], "flags": ["multi_owner"]}, "P2", {"multi_owner"}, False),
    ],
)
def test_applies(applies_to, building_class, flags, expected):
    assert applies(applies_to, building_class, flags) is expected


# --- bad catalogs -----------------------------------------------------------------------------

HEADER = """\
id = "test-list"
version = "1"
title_zh = "测试"
title_en = "Test"

[[categories]]
code = "FAC"
zh = "消防设施"
en = "Facilities"
"""

PASS_FAIL_ITEM = """\
[[items]]
code = "FAC-01"
category = "FAC"
text_zh = "消火栓完好"
text_en = "Hydrants intact"
answer_type = "pass_fail_na"
default_severity = "general"
fix_on_spot = false
legal_basis = ["消防法第二十八条"]
measures_zh = ["修复消火栓"]
"""

NUMERIC_ITEM = """\
[[items]]
code = "FAC-02"
category = "FAC"
text_zh = "静压"
text_en = "Static pressure"
answer_type = "numeric"
unit = "MPa"
default_severity = "major"
fix_on_spot = false
legal_basis = ["GB 50974-2014 第5.2.2条"]
measures_zh = ["恢复供水"]

[[items.rules]]
lt = 0.07
result = "fail"
severity = "major"
reason_zh = "静压 {value} {unit}"
reason_en = "Static {value} {unit}"

[[items.rules]]
result = "pass"
"""


def write(tmp_path, text, name="catalog.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_minimal_catalog_is_valid(tmp_path):
    data = read_catalog(write(tmp_path, HEADER + PASS_FAIL_ITEM + NUMERIC_ITEM))
    assert [item.code for item in data.items] == ["FAC-01", "FAC-02"]
    assert data.items[1].rules[0]["lt"] == 0.07


def test_hash_ignores_comments_and_layout_but_not_content(tmp_path):
    base = read_catalog(write(tmp_path, HEADER + PASS_FAIL_ITEM, "a.toml")).content_sha256
    commented = "# a comment\n\n" + HEADER + "\n# more\n" + PASS_FAIL_ITEM
    assert read_catalog(write(tmp_path, commented, "b.toml")).content_sha256 == base
    changed = HEADER + PASS_FAIL_ITEM.replace("消火栓完好", "消火栓完好有效")
    assert read_catalog(write(tmp_path, changed, "c.toml")).content_sha256 != base


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            HEADER + PASS_FAIL_ITEM.replace('category = "FAC"', 'category = "ZZZ"'),
            "item FAC-01: unknown category 'ZZZ'",
        ),
        (
            HEADER + PASS_FAIL_ITEM + PASS_FAIL_ITEM,
            "item FAC-01: duplicate item code",
        ),
        (
            HEADER + PASS_FAIL_ITEM.replace('"pass_fail_na"', '"yes_no"'),
            "item FAC-01: unknown answer_type 'yes_no'",
        ),
        (
            HEADER + PASS_FAIL_ITEM.replace('code = "FAC-01"', 'code = "LIFE-01"'),
            "item LIFE-01: code prefix does not match category 'FAC'",
        ),
        (
            HEADER + PASS_FAIL_ITEM.replace("fix_on_spot = false", 'fix_on_spot = "no"'),
            "item FAC-01: fix_on_spot must be true or false",
        ),
        (
            HEADER + PASS_FAIL_ITEM.replace('"general"', '"critical"'),
            "item FAC-01: unknown default_severity 'critical'",
        ),
        (
            HEADER + PASS_FAIL_ITEM + 'note = "x"\n',
            "item FAC-01: unknown key 'note'",
        ),
        (
            HEADER + PASS_FAIL_ITEM.replace('measures_zh = ["修复消火栓"]\n', ""),
            "item FAC-01: missing measures_zh",
        ),
        (
            HEADER + PASS_FAIL_ITEM.replace('["修复消火栓"]', '["一", "二", "三", "四"]'),
            "item FAC-01: measures_zh has 4 lines, at most 3",
        ),
        (
            HEADER + PASS_FAIL_ITEM.replace('["消防法第二十八条"]', "[]"),
            "item FAC-01: legal_basis must be a non-empty list",
        ),
        (
            HEADER + PASS_FAIL_ITEM + 'unit = "MPa"\n',
            "item FAC-01: a pass_fail_na item has no unit",
        ),
        (
            HEADER + NUMERIC_ITEM.replace('unit = "MPa"\n', ""),
            "item FAC-02: a numeric item needs a unit",
        ),
        (
            HEADER + NUMERIC_ITEM.replace('unit = "MPa"', 'unit = "bar"'),
            "item FAC-02: unknown unit 'bar'",
        ),
        (
            HEADER + NUMERIC_ITEM.split("[[items.rules]]")[0],
            "item FAC-02: a numeric item needs rules",
        ),
        (
            HEADER + NUMERIC_ITEM.replace("lt = 0.07", 'when = "value < 0.07"'),
            "item FAC-02: rule 1: unknown key 'when'",
        ),
        (
            HEADER + NUMERIC_ITEM.replace("lt = 0.07", "lt = 0.07\ngt = 1.0"),
            "item FAC-02: rule 1: more than one comparison (lt, gt)",
        ),
        (
            HEADER + NUMERIC_ITEM.replace("lt = 0.07", 'classes = ["R3"]\nlt = 0.07'),
            "item FAC-02: rule 1: unknown class 'R3'",
        ),
        (
            HEADER + NUMERIC_ITEM.replace("{value} {unit}", "{reading}", 1),
            "item FAC-02: rule 1: reason_zh uses unknown placeholder {reading}",
        ),
        (
            HEADER + NUMERIC_ITEM + '\n[[items.rules]]\nlt = 1\nresult = "pass"\n',
            "item FAC-02: rule 2: a rule without condition (else) must be the last rule",
        ),
        (
            HEADER
            + NUMERIC_ITEM.replace('result = "fail"', 'result = "pass"').replace(
                '\nseverity = "major"\n', "\n"
            ),
            "item FAC-02: no rule gives warn or fail",
        ),
        (
            HEADER + PASS_FAIL_ITEM + 'applies_to = { flags = ["has_lift"] }\n',
            "item FAC-01: applies_to: unknown flag 'has_lift'",
        ),
        (
            HEADER + PASS_FAIL_ITEM + 'applies_to = { classes = ["R1"], when = "x" }\n',
            "item FAC-01: applies_to: unknown key 'when'",
        ),
        (
            HEADER
            + PASS_FAIL_ITEM
            + '\n[items.gb35181]\ndirect = false\ncomposite_2017 = "7.10.1"\n',
            "item FAC-01: gb35181: '7.10.1' is not a GB 35181-2017 composite element",
        ),
        (
            HEADER
            + PASS_FAIL_ITEM
            + '\n[items.gb35181]\ndirect = false\ncomposite_2017 = ["7.4.3"]\n',
            "item FAC-01: gb35181: composite_2017 must be a non-empty string",
        ),
        (
            HEADER + PASS_FAIL_ITEM + '\n[items.gb35181]\ndirect = true\ndirect_2017 = ["7.4.3"]\n',
            "item FAC-01: gb35181: '7.4.3' is not a GB 35181-2017 direct element",
        ),
        (
            HEADER + PASS_FAIL_ITEM + "\n[items.gb35181]\ndirect = true\n",
            "item FAC-01: gb35181: direct = true needs direct_2017",
        ),
        (
            HEADER
            + PASS_FAIL_ITEM
            + '\n[items.gb35181]\ndirect = true\ndirect_2017 = ["6.2"]\ncomposite_2017 = "7.1.3"\n',
            "item FAC-01: gb35181: a direct element has no composite_2017",
        ),
        (
            HEADER + PASS_FAIL_ITEM + '\n[items.gb35181]\ndirect = false\ndirect_2017 = ["6.2"]\n',
            "item FAC-01: gb35181: conditional direct_2017 needs a note_zh",
        ),
        (
            HEADER
            + PASS_FAIL_ITEM
            + '\n[items.gb35181]\ndirect = "no"\ncomposite_2017 = "7.4.3"\n',
            "item FAC-01: gb35181: direct must be true or false",
        ),
        (
            HEADER + PASS_FAIL_ITEM + '\n[items.gb35181]\nedition = "2025"\ndirect = false\n',
            "item FAC-01: gb35181: unknown key 'edition'",
        ),
        (
            HEADER + PASS_FAIL_ITEM + "\n[items.gb35181]\ndirect = false\n",
            "item FAC-01: gb35181: names no element",
        ),
    ],
)
def test_bad_items_name_the_item(tmp_path, text, message):
    with pytest.raises(CatalogError) as err:
        read_catalog(write(tmp_path, text))
    assert str(err.value).startswith("catalog.toml: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + PASS_FAIL_ITEM + "[[items]\n", "invalid TOML"),
        (HEADER, "needs at least one [[items]] table"),
        (HEADER.replace('version = "1"', "version = 2026.1") + PASS_FAIL_ITEM, "version must be"),
        (HEADER.replace('id = "test-list"', 'id = "Test List"') + PASS_FAIL_ITEM, "id 'Test List'"),
        (HEADER.replace('title_en = "Test"\n', "") + PASS_FAIL_ITEM, "missing title_en"),
        ("scope = 'x'\n" + HEADER + PASS_FAIL_ITEM, "unknown key 'scope'"),
        (
            HEADER + '[[categories]]\ncode = "LIFE"\nzh = "通道"\nen = "Life"\n' + PASS_FAIL_ITEM,
            "category LIFE has no items",
        ),
        (
            HEADER + '[[categories]]\ncode = "FAC"\nzh = "重复"\nen = "Dup"\n' + PASS_FAIL_ITEM,
            "category FAC: duplicate category code",
        ),
    ],
)
def test_bad_catalogs_are_rejected(tmp_path, text, message):
    with pytest.raises(CatalogError) as err:
        read_catalog(write(tmp_path, text))
    assert message in str(err.value)


def test_missing_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="file not found"):
        read_catalog(tmp_path / "nope.toml")
