"""The threshold rule format: validation of every kind of mistake and the evaluator's semantics."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inspect_app.thresholds import Verdict, evaluate, format_number, validate_rules

# The indoor-hydrant static pressure rules of GB 50974-2014 5.2.2 / 5.3.3, written here
# independently of the shipped catalog so the engine is tested on its own.
HYDRANT = [
    {"eq": 0, "result": "fail", "severity": "major", "reason_zh": "无水", "reason_en": "No water"},
    {
        "classes": ["P1"],
        "flags": ["super_high_rise"],
        "lt": 0.15,
        "result": "fail",
        "severity": "major",
        "reason_zh": "静压 {value} {unit} 低于{class_zh}要求 {limit} {unit}",
        "reason_en": "Static pressure {value} {unit} below the {class_en} requirement of {limit}",
    },
    {
        "classes": ["P1"],
        "lt": 0.10,
        "result": "fail",
        "severity": "major",
        "reason_zh": "静压 {value} {unit} 低于{class_zh}要求 {limit} {unit}",
        "reason_en": "Static pressure {value} {unit} below the {class_en} requirement of {limit}",
    },
    {
        "classes": ["R1", "R2", "P2"],
        "lt": 0.07,
        "result": "fail",
        "severity": "major",
        "reason_zh": "静压 {value} {unit} 低于{class_zh}要求 {limit} {unit}",
        "reason_en": "Static pressure {value} {unit} below the {class_en} requirement of {limit}",
    },
    {
        "flags": ["has_pressure_stabilizer"],
        "le": 0.15,
        "result": "fail",
        "severity": "general",
        "reason_zh": "稳压泵系统静压应大于 {limit}",
        "reason_en": "Must exceed {limit} with a stabiliser",
    },
    {
        "gt": 1.0,
        "result": "warn",
        "severity": "general",
        "reason_zh": "超过 {limit}",
        "reason_en": "Above {limit}",
    },
    {"result": "pass"},
]


def run(value, building_class=None, flags=(), rules=HYDRANT):
    return evaluate(rules, value, building_class=building_class, flags=set(flags), unit="MPa")


# --- evaluation ------------------------------------------------------------------------------


@pytest.mark.parametrize("building_class", ["R1", "R2", "P1", "P2", None])
def test_zero_is_no_water_for_every_class(building_class):
    verdict = run(0, building_class)
    assert (verdict.result, verdict.severity, verdict.reason_zh) == ("fail", "major", "无水")
    assert verdict.limit == Decimal("0")


@pytest.mark.parametrize("building_class", ["R1", "R2", "P2"])
@pytest.mark.parametrize(
    ("value", "result"),
    [(0.069, "fail"), (Decimal("0.0699"), "fail"), (0.07, "pass"), (0.071, "pass")],
)
def test_residential_and_class_ii_public_need_0_07(building_class, value, result):
    assert run(value, building_class).result == result


@pytest.mark.parametrize(
    ("value", "result"), [(0.07, "fail"), (0.099, "fail"), (0.10, "pass"), (0.101, "pass")]
)
def test_class_i_public_needs_0_10(value, result):
    assert run(value, "P1").result == result


@pytest.mark.parametrize(
    ("value", "result"), [(0.10, "fail"), (0.149, "fail"), (0.15, "pass"), (0.151, "pass")]
)
def test_class_i_public_over_100_m_needs_0_15(value, result):
    assert run(value, "P1", {"super_high_rise"}).result == result


def test_super_high_rise_flag_does_not_raise_the_residential_limit():
    # GB 50974 5.2.2: the 0.15 MPa step is for class-I public buildings only.
    assert run(0.08, "R1", {"super_high_rise"}).result == "pass"


def test_failing_verdict_names_value_limit_unit_and_class():
    verdict = run(0.05, "P1")
    assert verdict == Verdict(
        result="fail",
        severity="major",
        reason_zh="静压 0.05 MPa 低于一类高层公共建筑要求 0.1 MPa",
        reason_en="Static pressure 0.05 MPa below the Class-I high-rise public requirement of 0.1",
        limit=Decimal("0.1"),
    )


def test_first_matching_rule_wins():
    # 0.05 for a P1 building with a stabiliser matches both the P1 rule and the stabiliser
    # rule; the earlier, major one must win.
    verdict = run(0.05, "P1", {"has_pressure_stabilizer"})
    assert verdict.severity == "major"
    assert verdict.limit == Decimal("0.1")


@pytest.mark.parametrize(
    ("value", "result", "severity"),
    [(0.12, "fail", "general"), (0.15, "fail", "general"), (0.151, "pass", None)],
)
def test_stabiliser_needs_more_than_0_15(value, result, severity):
    verdict = run(value, "R2", {"has_pressure_stabilizer"})
    assert (verdict.result, verdict.severity) == (result, severity)


def test_rules_with_flags_need_every_flag():
    # Without the super_high_rise flag, 0.12 for P1 passes (0.10 applies).
    assert run(0.12, "P1").result == "pass"
    assert run(0.12, "P1", {"has_sprinklers"}).result == "pass"
    rules = [
        {
            "flags": ["has_sprinklers", "has_control_room"],
            "gt": 0,
            "result": "fail",
            "severity": "minor",
            "reason_zh": "x",
            "reason_en": "x",
        },
        {"result": "pass"},
    ]
    assert run(1, flags={"has_sprinklers"}, rules=rules).result == "pass"
    assert run(1, flags={"has_control_room"}, rules=rules).result == "pass"
    assert run(1, flags={"has_sprinklers", "has_control_room"}, rules=rules).result == "fail"


def test_rules_with_classes_never_match_a_building_without_class():
    assert run(0.05, None).result == "pass"


@pytest.mark.parametrize(("value", "result"), [(1.0, "pass"), (1.01, "warn")])
def test_gt_is_strict(value, result):
    assert run(value, "R2").result == result


def test_else_rule_without_reason_gives_the_default_pass_and_no_limit():
    verdict = run(0.3, "R2")
    assert verdict == Verdict("pass", None, "符合要求", "Within limits", None)


@pytest.mark.parametrize(
    ("op", "at", "below", "above"),
    [
        ("lt", False, True, False),
        ("le", True, True, False),
        ("gt", False, False, True),
        ("ge", True, False, True),
        ("eq", True, False, False),
    ],
)
def test_each_comparison_at_and_around_the_limit(op, at, below, above):
    rules = [
        {op: 0.07, "result": "fail", "severity": "minor", "reason_zh": "x", "reason_en": "x"},
        {"result": "pass"},
    ]
    for value, expected in ((0.07, at), (0.0699, below), (0.0701, above)):
        assert (run(value, rules=rules).result == "fail") is expected, (op, value)


def test_decimal_and_float_values_compare_exactly():
    rules = [
        {"lt": 0.07, "result": "fail", "severity": "major", "reason_zh": "x", "reason_en": "x"},
        {"result": "pass"},
    ]
    # 0.07 as a float is 0.07000000000000000666… in binary; it must count as exactly 0.07.
    assert run(0.07, rules=rules).result == "pass"
    assert run(Decimal("0.070"), rules=rules).result == "pass"
    assert run(Decimal("0.06999999999"), rules=rules).result == "fail"


def test_numbers_are_formatted_without_float_noise():
    rules = [
        {
            "lt": 0.35,
            "result": "fail",
            "severity": "major",
            "reason_zh": "{value}<{limit}{unit}",
            "reason_en": "{value}<{limit}{unit}",
        },
        {"result": "pass"},
    ]
    assert run(0.05, rules=rules).reason_zh == "0.05<0.35MPa"
    assert run(Decimal("0.050"), rules=rules).reason_en == "0.05<0.35MPa"
    assert format_number(Decimal("4.0")) == "4"
    assert format_number(Decimal("100")) == "100"
    assert format_number(Decimal("0.10")) == "0.1"


@pytest.mark.parametrize(
    "value", [-0.01, Decimal("-1"), float("nan"), float("inf"), Decimal("NaN")]
)
def test_negative_nan_and_infinite_values_are_rejected(value):
    with pytest.raises(ValueError):
        run(value, "R2")


@pytest.mark.parametrize("value", ["0.1", True, None])
def test_non_numbers_are_rejected(value):
    with pytest.raises(TypeError):
        run(value, "R2")


def test_unknown_building_class_or_flag_is_rejected():
    with pytest.raises(ValueError, match="building class"):
        run(0.1, "R3")
    with pytest.raises(ValueError, match="flag 'has_sprinkler'"):
        run(0.1, "R2", {"has_sprinkler"})


def test_evaluate_refuses_invalid_rules():
    with pytest.raises(ValueError, match="unknown key 'when'"):
        run(0.1, "R2", rules=[{"when": "value < 1", "result": "fail"}, {"result": "pass"}])


# --- validation ------------------------------------------------------------------------------


def fail(**extra):
    rule = {"result": "fail", "severity": "major", "reason_zh": "低", "reason_en": "low"}
    rule.update(extra)
    return {k: v for k, v in rule.items() if v is not None}


ELSE = {"result": "pass"}


def test_valid_rules_pass_validation():
    assert validate_rules(HYDRANT) is None


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("lt 0.07", "must be a list"),
        ([], "must not be empty"),
        (["lt 0.07", ELSE], "rule 1: must be a table"),
        ([fail(lt=0.07, when="x"), ELSE], "rule 1: unknown key 'when'"),
        ([fail(lt=0.07, gt=1), ELSE], "rule 1: more than one comparison (lt, gt)"),
        ([fail(lt="0.07"), ELSE], "rule 1: lt must be a non-negative number"),
        ([fail(lt=-1), ELSE], "rule 1: lt must be a non-negative number"),
        ([fail(lt=True), ELSE], "rule 1: lt must be a non-negative number"),
        ([fail(lt=float("nan")), ELSE], "rule 1: lt must be a non-negative number"),
        ([fail(lt=1, classes=["R3"]), ELSE], "rule 1: unknown class 'R3'"),
        ([fail(lt=1, classes="P1"), ELSE], "rule 1: classes must be a non-empty list"),
        ([fail(lt=1, classes=[]), ELSE], "rule 1: classes must be a non-empty list"),
        ([fail(lt=1, classes=["P1", "P1"]), ELSE], "rule 1: classes lists a name twice"),
        ([fail(lt=1, flags=["sprinklers"]), ELSE], "rule 1: unknown flag 'sprinklers'"),
        ([fail(lt=1, result="bad"), ELSE], "rule 1: unknown result 'bad'"),
        ([fail(lt=1, result=None), ELSE], "rule 1: missing result"),
        ([fail(lt=1, severity="high"), ELSE], "rule 1: unknown severity 'high'"),
        ([fail(lt=1, severity=None), ELSE], "rule 1: a fail needs a severity"),
        ([ELSE | {"severity": "minor"}], "rule 1: a pass has no severity"),
        ([fail(lt=1, reason_en=None), ELSE], "rule 1: missing reason_en"),
        ([fail(lt=1, reason_zh=None, reason_en=None), ELSE], "rule 1: missing reason_zh"),
        ([ELSE | {"reason_zh": "好"}], "rule 1: missing reason_en"),
        ([fail(lt=1, reason_zh=""), ELSE], "rule 1: reason_zh must be a non-empty string"),
        ([fail(lt=1, reason_zh="{val}"), ELSE], "rule 1: reason_zh uses unknown placeholder {val}"),
        ([fail(lt=1, reason_en="{value.real}"), ELSE], "unknown placeholder {value.real}"),
        ([fail(lt=1, reason_en="{value:.2f}"), ELSE], "placeholder {value} must be plain"),
        ([fail(lt=1, reason_en="{value!r}"), ELSE], "placeholder {value} must be plain"),
        ([fail(lt=1, reason_en="{}"), ELSE], "unknown placeholder {}"),
        ([fail(lt=1, reason_en="{value"), ELSE], "reason_en is not a valid template"),
        ([fail(flags=["multi_owner"], reason_zh="{limit}"), ELSE], "{limit} but the rule has no"),
        ([fail(lt=1, reason_zh="{class_zh}"), ELSE], "{class_zh} but the rule has no classes"),
        ([ELSE, fail(lt=1)], "rule 1: a rule without condition (else) must be the last"),
        ([fail(lt=1)], "rule 1: the last rule must have no condition"),
        ([fail(lt=1), fail(gt=2)], "rule 2: the last rule must have no condition"),
    ],
)
def test_invalid_rules_are_rejected_with_one_readable_line(rules, message):
    with pytest.raises(ValueError) as err:
        validate_rules(rules)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_warn_needs_a_severity_and_reasons():
    with pytest.raises(ValueError, match="a warn needs a severity"):
        validate_rules([{"gt": 1, "result": "warn", "reason_zh": "高", "reason_en": "hi"}, ELSE])
    with pytest.raises(ValueError, match="missing reason_zh"):
        validate_rules([{"gt": 1, "result": "warn", "severity": "minor"}, ELSE])
