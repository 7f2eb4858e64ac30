"""Threshold rules of numeric checklist items: a closed data format, its validator and evaluator.

A rule set is a list of tables, evaluated in order; the first rule whose conditions all hold
gives the verdict. Conditions (all optional, all must hold):

* ``classes``: the building's class is one of these (``R1``, ``R2``, ``P1``, ``P2``);
* ``flags``: every one of these building flags is set;
* one comparison of the measured value against a number: ``lt``, ``le``, ``gt``, ``ge``, ``eq``.

A rule also says ``result`` (``pass``, ``warn``, ``fail``), ``severity`` (``minor``,
``general``, ``major``; required for warn and fail, absent for pass) and ``reason_zh`` /
``reason_en``, short templates that may use ``{value}``, ``{limit}``, ``{unit}``,
``{class_zh}`` and ``{class_en}``. The last rule has no condition (the "else" rule), so every
value gets a verdict.

Nothing here parses expressions or runs code from the data: keys, comparisons and
placeholders come from fixed lists, and numbers are compared as ``Decimal`` so that a reading
exactly at a limit (0.07 against ``lt = 0.07``) is exactly at it.
"""

from __future__ import annotations

import operator
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from .classification import CLASS_LABELS

RESULTS = ("pass", "warn", "fail")
SEVERITIES = ("minor", "general", "major")
BUILDING_CLASSES = tuple(CLASS_LABELS)
FLAGS = (
    "has_assembly_occupancy",
    "has_pressure_stabilizer",
    "has_sprinklers",
    "has_fire_alarm_system",
    "has_control_room",
    "has_refuge_floor",
    "has_fire_elevator",
    "has_gas_suppression",
    "multi_owner",
    "super_high_rise",
)
COMPARISONS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
}
PLACEHOLDERS = ("value", "limit", "unit", "class_zh", "class_en")
RULE_KEYS = ("classes", "flags", *COMPARISONS, "result", "severity", "reason_zh", "reason_en")

# What a pass says when its rule gives no reason of its own.
DEFAULT_PASS_REASON = ("符合要求", "Within limits")

Result = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one measured value under one rule set.

    ``severity`` is None for a pass; ``limit`` is the number the matching rule compared
    against (None for a rule without comparison, e.g. the else rule).
    """

    result: Result
    severity: str | None
    reason_zh: str
    reason_en: str
    limit: Decimal | None


def to_decimal(value: Decimal | float | int) -> Decimal:
    """A measured value or limit as an exact, finite, non-negative ``Decimal``.

    Floats go through their shortest decimal text (``0.07`` becomes ``Decimal("0.07")``, not
    the binary 0.07000000000000000666…), so comparisons and messages match what was typed.

    :raise TypeError: not a number (``bool`` and ``str`` included).
    :raise ValueError: NaN, infinite or negative.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | float | int):
        raise TypeError(f"expected a number, got {value!r}")
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"value must be finite, got {value!r}")
    if number < 0:
        raise ValueError(f"value must not be negative, got {value!r}")
    return number


def format_number(number: Decimal) -> str:
    """Plain decimal text, no exponent or trailing zeros: ``0.050`` → ``0.05``, ``4.0`` → ``4``."""
    return format(number.normalize(), "f")


def is_else_rule(rule: Mapping[str, Any]) -> bool:
    """Whether the rule has no condition at all and so matches every value."""
    return not any(key in rule for key in ("classes", "flags", *COMPARISONS))


def validate_rules(rules: Sequence[Mapping[str, Any]]) -> None:
    """Check a rule set; return None when it is usable.

    :raise ValueError: one line naming the rule (1-based) and the problem: not a list, empty,
        unknown key, two comparisons, a limit that is not a non-negative number, unknown
        class/flag/result/severity, severity missing on warn/fail or present on pass, missing
        reason, a reason template with an unknown or unusable placeholder, an else rule that
        is not last, or a last rule that is not an else rule.
    """
    if isinstance(rules, str | bytes) or not isinstance(rules, Sequence):
        raise ValueError(f"rules must be a list of tables, got {type(rules).__name__}")
    if not rules:
        raise ValueError("rules must not be empty")
    for index, rule in enumerate(rules):
        where = f"rule {index + 1}"
        _validate_rule(rule, where)
        if is_else_rule(rule) and index != len(rules) - 1:
            raise ValueError(f"{where}: a rule without condition (else) must be the last rule")
    if not is_else_rule(rules[-1]):
        raise ValueError(
            f"rule {len(rules)}: the last rule must have no condition (else), "
            "so that every value gets a verdict"
        )


def _validate_rule(rule: Any, where: str) -> None:
    if not isinstance(rule, Mapping):
        raise ValueError(f"{where}: must be a table, got {type(rule).__name__}")
    unknown = sorted(str(key) for key in rule if key not in RULE_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}")

    ops = [op for op in COMPARISONS if op in rule]
    if len(ops) > 1:
        raise ValueError(f"{where}: more than one comparison ({', '.join(ops)}); use one per rule")
    for op in ops:
        try:
            to_decimal(rule[op])
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: {op} must be a non-negative number, got {rule[op]!r}"
            ) from None

    _validate_names(rule, "classes", BUILDING_CLASSES, where)
    _validate_names(rule, "flags", FLAGS, where)

    result = rule.get("result")
    if result is None:
        raise ValueError(f"{where}: missing result (one of {', '.join(RESULTS)})")
    if result not in RESULTS:
        raise ValueError(f"{where}: unknown result {result!r} (one of {', '.join(RESULTS)})")

    severity = rule.get("severity")
    if result == "pass":
        if severity is not None:
            raise ValueError(f"{where}: a pass has no severity")
    elif severity is None:
        raise ValueError(f"{where}: a {result} needs a severity ({', '.join(SEVERITIES)})")
    elif severity not in SEVERITIES:
        raise ValueError(f"{where}: unknown severity {severity!r} (one of {', '.join(SEVERITIES)})")

    # A pass may fall back to the default reason; anything else must say why, in both languages.
    given = [key for key in ("reason_zh", "reason_en") if key in rule]
    if len(given) == 1 or (result != "pass" and not given):
        missing = "reason_zh" if "reason_zh" not in rule else "reason_en"
        raise ValueError(f"{where}: missing {missing}")
    for key in given:
        _validate_template(rule[key], where, key, has_limit=bool(ops), has_class="classes" in rule)


def _validate_names(rule: Mapping[str, Any], key: str, known: Sequence[str], where: str) -> None:
    if key not in rule:
        return
    names = rule[key]
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise ValueError(f"{where}: {key} must be a non-empty list")
    for name in names:
        if name not in known:
            singular = "flag" if key == "flags" else "class"
            raise ValueError(f"{where}: unknown {singular} {name!r} (one of {', '.join(known)})")
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: {key} lists a name twice")


def _validate_template(
    template: Any, where: str, key: str, *, has_limit: bool, has_class: bool
) -> None:
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f"{where}: {key} must be a non-empty string")
    try:
        fields = [
            (name, spec, conversion)
            for _text, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as err:
        raise ValueError(f"{where}: {key} is not a valid template ({err})") from None
    for name, spec, conversion in fields:
        if name not in PLACEHOLDERS:
            raise ValueError(
                f"{where}: {key} uses unknown placeholder {{{name}}} "
                f"(allowed: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
            )
        if spec or conversion:
            raise ValueError(f"{where}: {key} placeholder {{{name}}} must be plain, without format")
        if name == "limit" and not has_limit:
            raise ValueError(f"{where}: {key} uses {{limit}} but the rule has no comparison")
        if name in ("class_zh", "class_en") and not has_class:
            raise ValueError(f"{where}: {key} uses {{{name}}} but the rule has no classes")


def evaluate(
    rules: Sequence[Mapping[str, Any]],
    value: Decimal | float | int,
    *,
    building_class: str | None,
    flags: Iterable[str],
    unit: str,
) -> Verdict:
    """The verdict of the first rule that matches ``value`` for this building.

    ``building_class`` is ``R1``/``R2``/``P1``/``P2`` or None (not high-rise or unknown; rules
    with ``classes`` then never match); ``flags`` are the building flags that are set;
    ``unit`` is put into ``{unit}``. The rules are validated first, so a rule set read from
    storage cannot format arbitrary text.

    :raise ValueError: invalid rules, unknown class or flag, a negative/NaN/infinite value.
    :raise TypeError: ``value`` is not a number.
    """
    validate_rules(rules)
    measured = to_decimal(value)
    if building_class is not None and building_class not in BUILDING_CLASSES:
        raise ValueError(f"unknown building class {building_class!r}")
    flag_set = frozenset(flags)
    unknown = sorted(flag_set.difference(FLAGS))
    if unknown:
        raise ValueError(f"unknown building flag {unknown[0]!r}")

    # The last rule is the else rule (validated above), so the loop always ends in a verdict.
    for rule in rules[:-1]:
        if _matches(rule, measured, building_class, flag_set):
            return _verdict(rule, measured, building_class, unit)
    return _verdict(rules[-1], measured, building_class, unit)


def _matches(
    rule: Mapping[str, Any], measured: Decimal, building_class: str | None, flags: frozenset[str]
) -> bool:
    if "classes" in rule and building_class not in rule["classes"]:
        return False
    if "flags" in rule and not flags.issuperset(rule["flags"]):
        return False
    for op, compare in COMPARISONS.items():
        if op in rule and not compare(measured, to_decimal(rule[op])):
            return False
    return True


def _verdict(
    rule: Mapping[str, Any], measured: Decimal, building_class: str | None, unit: str
) -> Verdict:
    limit = next((to_decimal(rule[op]) for op in COMPARISONS if op in rule), None)
    class_zh, class_en = CLASS_LABELS.get(building_class or "", ("", ""))
    fields = {
        "value": format_number(measured),
        "limit": format_number(limit) if limit is not None else "",
        "unit": unit,
        "class_zh": class_zh,
        "class_en": class_en,
    }
    if "reason_zh" in rule:
        reason_zh = rule["reason_zh"].format(**fields)
        reason_en = rule["reason_en"].format(**fields)
    else:
        reason_zh, reason_en = DEFAULT_PASS_REASON
    return Verdict(
        result=rule["result"],
        severity=rule.get("severity"),
        reason_zh=reason_zh,
        reason_en=reason_en,
        limit=limit,
    )
