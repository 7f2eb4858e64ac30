"""High-rise classification boundaries (GB 50016-2014 (2018) 5.1.1; MEM order 5 art. 50)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inspect_app.classification import (
    CLASS_LABELS,
    building_class,
    is_high_rise,
    is_super_high_rise,
)


@pytest.mark.parametrize(
    ("height", "expected"),
    [
        (0, False),
        (27, False),
        (27.0, False),
        (Decimal("27.00"), False),
        (27.01, True),
        (Decimal("27.01"), True),
        (54, True),
    ],
)
def test_residential_is_high_rise_strictly_above_27_m(height, expected):
    assert is_high_rise("residential", height, 10) is expected


@pytest.mark.parametrize("use", ["public", "mixed"])
@pytest.mark.parametrize(
    ("height", "storeys", "expected"),
    [
        (24.0, 8, False),
        (Decimal("24"), 8, False),
        (24.01, 8, True),
        (25, 2, True),
        (30, 1, False),  # a single-storey hall is never high-rise
        (120, 1, False),
        (30, None, True),  # unknown storeys: treated as multi-storey
    ],
)
def test_public_and_mixed_are_high_rise_above_24_m_unless_single_storey(
    use, height, storeys, expected
):
    assert is_high_rise(use, height, storeys) is expected


def test_mixed_use_follows_the_public_rule_not_the_residential_one():
    # 25 m: not high-rise as a residential building, high-rise as a mixed (商住) building.
    assert is_high_rise("residential", 25, 9) is False
    assert is_high_rise("mixed", 25, 9) is True
    assert building_class("mixed", 25, 9) == "P2"


@pytest.mark.parametrize(
    ("height", "expected"),
    [
        (27.0, None),
        (27.01, "R2"),
        (54.0, "R2"),
        (Decimal("54.00"), "R2"),
        (54.01, "R1"),
        (100, "R1"),
    ],
)
def test_residential_classes(height, expected):
    assert building_class("residential", height, 20) == expected


@pytest.mark.parametrize(
    ("use", "height", "storeys", "by_use", "expected"),
    [
        ("public", 24.0, 8, False, None),
        ("public", 24.01, 8, False, "P2"),
        ("public", 50.0, 14, False, "P2"),
        ("public", 50.01, 14, False, "P1"),
        ("public", 30, 8, True, "P1"),  # class I by use (e.g. a hospital)
        ("public", 24.0, 8, True, None),  # class I by use never makes a building high-rise
        ("public", 60, 1, False, None),  # single storey
        ("mixed", 50.0, 16, False, "P2"),
        ("mixed", 60, 20, False, "P1"),
        ("mixed", 30, 10, True, "P1"),
    ],
)
def test_public_classes(use, height, storeys, by_use, expected):
    assert building_class(use, height, storeys, class_i_by_use=by_use) == expected


def test_class_i_by_use_does_not_change_residential_class():
    assert building_class("residential", 30, 10, class_i_by_use=True) == "R2"


@pytest.mark.parametrize(
    ("height", "expected"),
    [(99.99, False), (100.0, False), (Decimal("100.00"), False), (100.01, True), (250, True)],
)
def test_super_high_rise_strictly_above_100_m(height, expected):
    assert is_super_high_rise(height) is expected


@pytest.mark.parametrize("height", [-0.01, Decimal("-1"), float("nan"), float("inf"), True, "30"])
def test_bad_heights_are_rejected(height):
    with pytest.raises(ValueError):
        building_class("public", height, 10)
    with pytest.raises(ValueError):
        is_super_high_rise(height)


def test_unknown_use_and_bad_storeys_are_rejected():
    with pytest.raises(ValueError, match="unknown building use"):
        is_high_rise("industrial", 30, 10)
    with pytest.raises(ValueError, match="storeys"):
        is_high_rise("public", 30, 0)


def test_class_labels_cover_every_class_in_both_languages():
    assert set(CLASS_LABELS) == {"R1", "R2", "P1", "P2"}
    assert CLASS_LABELS["P1"] == ("一类高层公共建筑", "Class-I high-rise public")
    assert CLASS_LABELS["R2"][0] == "二类高层住宅"
