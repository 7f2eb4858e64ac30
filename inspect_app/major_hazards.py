"""Suspected major fire hazards (疑似重大火灾隐患): a prompt, never a verdict.

From a building's unclosed hazards the app collects their GB 35181 elements: a hazard whose
checklist item is a *direct* element flags the building by itself; *composite* elements are
counted (each element once, however many hazards carry it) against the counting rules of the
active rule set for the building's place type. The rules are versioned data
(``checklists/gb35181_rules.toml``): the 2017 edition's, because the 2025 edition's counting
rules have not been checked yet, and every flag says so.

The detachment then decides: it *confirms* (the building's flagged hazards are listed for
supervision) or *dismisses* the flag. A dismissal covers exactly the elements it saw; a new
element raises the flag again. Decisions are recorded in ``MajorHazardReview`` and never
changed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from .checklists import GB35181_2017_COMPOSITE
from .models import (
    OPEN_STATUSES,
    Building,
    ChecklistItem,
    Hazard,
    MajorHazardReview,
    Supervision,
    User,
)

RULES_PATH = Path(__file__).with_name("checklists") / "gb35181_rules.toml"
OTHER_PLACE = "other"


class RulesError(ValueError):
    """The rule file is malformed; the message names the place."""


@dataclass(frozen=True)
class Rule:
    """One counting rule: at least ``minimum`` distinct elements (from ``elements``, or any
    composite element when None) in a building whose place types meet ``places``."""

    code: str
    places: frozenset[str]
    elements: frozenset[str] | None
    minimum: int
    text_zh: str

    def counted(self, present: Iterable[str]) -> frozenset[str]:
        present = frozenset(present)
        return present if self.elements is None else present & self.elements


@dataclass(frozen=True)
class RuleSet:
    id: str
    standard: str
    clause: str
    element_key: str
    status: str
    confidence: str
    caveat_zh: str
    places: Mapping[str, str | None]
    rules: tuple[Rule, ...]

    def places_of(self, building: Building) -> frozenset[str]:
        """The place types of ``building`` under this rule set; ``other`` when none applies."""
        found = {
            place
            for place, flag in self.places.items()
            if flag and bool(getattr(building, flag, False))
        }
        return frozenset(found or {OTHER_PLACE})

    def met(self, present: Iterable[str], places: frozenset[str]) -> list[tuple[Rule, frozenset]]:
        """The rules ``present`` composite elements meet in a place of types ``places``."""
        present = frozenset(present)
        out = []
        for rule in self.rules:
            if not rule.places & places:
                continue
            counted = rule.counted(present)
            if len(counted) >= rule.minimum:
                out.append((rule, counted))
        return out


def load_rulesets(path: Path = RULES_PATH) -> tuple[dict[str, RuleSet], str]:
    """Read and check the rule file: ``({id: RuleSet}, active id)``. Raises ``RulesError``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise RulesError(f"{path.name}: {err}") from err
    sets: dict[str, RuleSet] = {}
    for n, raw in enumerate(data.get("rulesets") or (), 1):
        ruleset = _ruleset(raw, f"{path.name}: ruleset {n}")
        if ruleset.id in sets:
            raise RulesError(f"{path.name}: ruleset {ruleset.id!r} defined twice")
        sets[ruleset.id] = ruleset
    active = data.get("active")
    if active not in sets:
        raise RulesError(f"{path.name}: active ruleset {active!r} is not defined")
    return sets, active


def _ruleset(raw: Mapping[str, Any], where: str) -> RuleSet:
    def text(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise RulesError(f"{where}: {key} must be a non-empty string")
        return value

    places = raw.get("places") or {}
    if not isinstance(places, Mapping) or not all(isinstance(v, str) for v in places.values()):
        raise RulesError(f"{where}: places must map a place type to a building flag name")
    flags = set(Building.FLAG_NAMES)
    for place, flag in places.items():
        if flag and flag not in flags:
            raise RulesError(f"{where}: place {place!r}: unknown building flag {flag!r}")
    known_places = set(places) | {OTHER_PLACE}
    rules = []
    for n, rule in enumerate(raw.get("rules") or (), 1):
        here = f"{where}: rule {n}"
        rule_places = rule.get("places")
        if not isinstance(rule_places, list) or not rule_places:
            raise RulesError(f"{here}: places must be a non-empty list")
        unknown = [p for p in rule_places if p not in known_places]
        if unknown:
            raise RulesError(f"{here}: unknown place type {unknown[0]!r}")
        elements = rule.get("elements")
        if elements is not None:
            if not isinstance(elements, list) or not elements:
                raise RulesError(f"{here}: elements must be a non-empty list when given")
            bad = [e for e in elements if e not in GB35181_2017_COMPOSITE]
            if raw.get("element_key") == "composite_2017" and bad:
                raise RulesError(f"{here}: {bad[0]!r} is not a GB 35181-2017 composite element")
        minimum = rule.get("min")
        if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 1:
            raise RulesError(f"{here}: min must be a positive integer")
        code, text_zh = rule.get("code"), rule.get("text_zh")
        if not isinstance(code, str) or not isinstance(text_zh, str):
            raise RulesError(f"{here}: code and text_zh must be strings")
        rules.append(
            Rule(
                code=code,
                places=frozenset(rule_places),
                elements=frozenset(elements) if elements is not None else None,
                minimum=minimum,
                text_zh=text_zh,
            )
        )
    if not rules:
        raise RulesError(f"{where}: no rules")
    return RuleSet(
        id=text("id"),
        standard=text("standard"),
        clause=text("clause"),
        element_key=text("element_key"),
        status=text("status"),
        confidence=text("confidence"),
        caveat_zh=text("caveat_zh"),
        places=dict(places),
        rules=tuple(rules),
    )


@cache
def _loaded() -> tuple[dict[str, RuleSet], str]:
    return load_rulesets()


def active_ruleset() -> RuleSet:
    """The rule set in use: ``GB35181_RULESET`` from the configuration, else the file's."""
    sets, default = _loaded()
    chosen = current_app.config.get("GB35181_RULESET") if has_app_context() else None
    return sets[chosen or default]


def ruleset(ruleset_id: str) -> RuleSet | None:
    return _loaded()[0].get(ruleset_id)


# ---------------------------------------------------------------------------------------------
# Assessment of one building
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HazardElements:
    """What one unclosed hazard contributes: its direct elements or its composite element."""

    hazard_id: int
    description: str
    direct: tuple[str, ...] = ()
    composite: str | None = None
    is_direct: bool = False


def elements_of(
    hazard_id: int, description: str, is_direct: bool, gb: Mapping[str, Any] | None, rules: RuleSet
) -> HazardElements:
    """The GB 35181 elements a hazard carries, from its checklist item's ``gb35181`` table."""
    gb = gb or {}
    if is_direct:
        return HazardElements(
            hazard_id, description, tuple(gb.get("direct_2017") or ()), None, is_direct=True
        )
    return HazardElements(hazard_id, description, (), gb.get(rules.element_key), False)


@dataclass(frozen=True)
class Element:
    """An element present in the building, with the hazards that carry it."""

    code: str
    kind: str  # "direct" or "composite"
    hazard_ids: tuple[int, ...]
    descriptions: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    """The flag for one building. ``suspected`` is what the rules say; ``flagged`` is whether
    the detachment still has to decide (not covered by a dismissal)."""

    ruleset: RuleSet
    places: frozenset[str]
    direct: tuple[Element, ...]
    composite: tuple[Element, ...]
    met: tuple[tuple[Rule, frozenset[str]], ...]
    review: MajorHazardReview | None = field(default=None)

    @property
    def suspected(self) -> bool:
        return bool(self.direct or self.met)

    @property
    def element_codes(self) -> frozenset[str]:
        """The elements that raised the flag: every direct one and the counted composites."""
        counted: set[str] = set()
        for _rule, codes in self.met:
            counted |= codes
        return frozenset({e.code for e in self.direct} | counted)

    @property
    def triggering(self) -> tuple[Element, ...]:
        codes = self.element_codes
        return tuple(e for e in self.direct + self.composite if e.code in codes)

    @property
    def hazard_ids(self) -> tuple[int, ...]:
        return tuple(sorted({h for e in self.triggering for h in e.hazard_ids}))

    @property
    def dismissed(self) -> bool:
        """A dismissal on record covers every element that raises the flag now."""
        return (
            self.suspected
            and self.review is not None
            and self.review.decision == "dismissed"
            and self.element_codes <= set(self.review.elements or ())
        )

    @property
    def flagged(self) -> bool:
        return self.suspected and not self.dismissed

    @property
    def count_flagged(self) -> bool:
        """Flagged by the composite count (the colour's own rule), not dismissed."""
        return bool(self.met) and not self.dismissed


def assess(
    hazards: Iterable[HazardElements],
    *,
    places: frozenset[str],
    rules: RuleSet,
    review: MajorHazardReview | None = None,
) -> Assessment:
    """Apply ``rules`` to the elements of a building's unclosed hazards."""
    direct: dict[str, list[HazardElements]] = {}
    composite: dict[str, list[HazardElements]] = {}
    for h in hazards:
        if h.is_direct:
            code = "、".join(h.direct) or "直接判定要素"
            direct.setdefault(code, []).append(h)
        elif h.composite:
            composite.setdefault(h.composite, []).append(h)

    def element(code: str, kind: str, hs: list[HazardElements]) -> Element:
        return Element(code, kind, tuple(h.hazard_id for h in hs), tuple(h.description for h in hs))

    return Assessment(
        ruleset=rules,
        places=places,
        direct=tuple(element(c, "direct", hs) for c, hs in sorted(direct.items())),
        composite=tuple(
            element(c, "composite", hs) for c, hs in sorted(composite.items(), key=_clause)
        ),
        met=tuple(rules.met(composite, places)),
        review=review,
    )


def _clause(pair: tuple[str, Any]) -> tuple[int, ...]:
    return tuple(int(p) for p in pair[0].split(".") if p.isdigit())


def latest_reviews(session: Session, building_ids: Iterable[int]) -> dict[int, MajorHazardReview]:
    """The most recent decision for each of ``building_ids`` that has one (one query)."""
    ids = list(building_ids)
    if not ids:
        return {}
    out: dict[int, MajorHazardReview] = {}
    for review in session.scalars(
        select(MajorHazardReview)
        .where(MajorHazardReview.building_id.in_(ids))
        .order_by(MajorHazardReview.id)
    ):
        out[review.building_id] = review
    return out


def unclosed_elements(
    session: Session, building_ids: Iterable[int], rules: RuleSet
) -> dict[int, list[HazardElements]]:
    """The elements of the unclosed hazards of each building, by building id (one query)."""
    ids = list(building_ids)
    out: dict[int, list[HazardElements]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(
            Hazard.id,
            Hazard.building_id,
            Hazard.description,
            Hazard.gb35181_direct,
            ChecklistItem.gb35181,
        )
        .join(ChecklistItem, Hazard.item_id == ChecklistItem.id)
        .where(
            Hazard.building_id.in_(ids),
            Hazard.status.in_(OPEN_STATUSES),
            ChecklistItem.gb35181.is_not(None),
        )
        .order_by(Hazard.id)
    )
    for hazard_id, building_id, description, direct, gb in rows:
        out[building_id].append(elements_of(hazard_id, description, direct, gb, rules))
    return out


def assess_building(session: Session, building: Building) -> Assessment:
    rules = active_ruleset()
    elements = unclosed_elements(session, [building.id], rules)[building.id]
    review = latest_reviews(session, [building.id]).get(building.id)
    return assess(elements, places=rules.places_of(building), rules=rules, review=review)


def flagged_buildings(
    session: Session, scope, *, limit: int = 1000
) -> list[tuple[Building, Assessment]]:
    """Buildings within ``scope`` (a SQL condition on ``Building``) that the rules flag and no
    dismissal covers, worst first.

    One aggregate over the unclosed hazards narrows the buildings down in SQL: a building can
    only be flagged with a direct element, or with at least as many distinct composite
    elements as the lowest threshold for its place types (the items' elements are mapped in
    the query). The rules proper then run on those few buildings only."""
    rules = active_ruleset()
    items = dict(
        session.execute(
            select(ChecklistItem.id, ChecklistItem.gb35181).where(
                ChecklistItem.gb35181.is_not(None)
            )
        ).all()
    )
    element_of = {
        item_id: gb.get(rules.element_key)
        for item_id, gb in items.items()
        if gb and gb.get(rules.element_key) and not gb.get("direct")
    }
    if not items:
        return []
    lowest = {
        place: min(r.minimum for r in rules.rules if place in r.places)
        for place in {p for r in rules.rules for p in r.places}
    }
    by_flag = sorted(
        (lowest[place], flag) for place, flag in rules.places.items() if flag and place in lowest
    )
    threshold = case(
        *((getattr(Building, flag).is_(True), n) for n, flag in by_flag),
        else_=lowest.get(OTHER_PLACE, 10**6),
    )
    element = case(
        *((Hazard.item_id == item_id, code) for item_id, code in element_of.items()),
        else_=None,
    )
    candidates = session.scalars(
        select(Hazard.building_id)
        .join(Building, Hazard.building_id == Building.id)
        .where(
            scope,
            Building.retired_at.is_(None),
            Hazard.status.in_(OPEN_STATUSES),
            Hazard.item_id.in_(list(items)),
        )
        .group_by(Hazard.building_id)
        .having(
            or_(
                func.max(case((Hazard.gb35181_direct.is_(True), 1), else_=0)) == 1,
                func.count(func.distinct(element)) >= func.min(threshold),
            )
        )
    ).all()
    out: list[tuple[Building, Assessment]] = []
    for start in range(0, len(candidates), 500):
        ids = candidates[start : start + 500]
        elements = unclosed_elements(session, ids, rules)
        reviews = latest_reviews(session, ids)
        for b in session.scalars(select(Building).where(Building.id.in_(ids))):
            a = assess(
                elements[b.id], places=rules.places_of(b), rules=rules, review=reviews.get(b.id)
            )
            if a.flagged:
                out.append((b, a))
    out.sort(key=lambda pair: (-len(pair[1].direct), -len(pair[1].element_codes), pair[0].code))
    return out[:limit]


NOT_FLAGGED = "该楼栋当前未被标记为待判定的疑似重大火灾隐患（可能已判定，或隐患已销号），无需判定"


class ReviewError(Exception):
    """The decision cannot be recorded (nothing is flagged any more, or a stale view)."""


def decide(
    session: Session,
    building: Building,
    *,
    actor: User,
    decision: str,
    note: str,
    seen: Iterable[str],
    supervision: Supervision | None = None,
) -> MajorHazardReview:
    """Record the detachment's decision on ``building``'s flag.

    ``seen`` is the element set the decider was shown; it must still be the building's
    current set, so a decision is never recorded against elements nobody looked at (raises
    ``ReviewError``). A confirmation names the supervision it opened. Flushes.
    """
    if decision not in ("confirmed", "dismissed"):
        raise ValueError(decision)
    assessment = assess_building(session, building)
    if not assessment.suspected:
        raise ReviewError(NOT_FLAGGED)
    if set(seen) != set(assessment.element_codes):
        raise ReviewError("判定要素已发生变化，请核对最新的要素后重新提交")
    if decision == "confirmed" and supervision is None:
        raise ValueError("a confirmation opens a supervision")
    review = MajorHazardReview(
        building_id=building.id,
        decision=decision,
        ruleset=assessment.ruleset.id,
        elements=sorted(assessment.element_codes, key=lambda c: _clause((c, None))),
        hazard_ids=list(assessment.hazard_ids),
        note=note,
        supervision=supervision,
        decided_by_id=actor.id,
    )
    session.add(review)
    session.flush()
    return review
