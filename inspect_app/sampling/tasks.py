"""Spot-check tasks and what they found: task states, survey-vs-spot-check comparison, and the
draws of a campaign by street.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..campaigns import in_area_condition
from ..models import (
    Area,
    Building,
    Campaign,
    ChecklistItem,
    Finding,
    Inspection,
    SpotCheck,
    SpotCheckTask,
)

# ---------------------------------------------------------------------------------------------
# Tasks and what they found
# ---------------------------------------------------------------------------------------------


def task_states(session: Session, spot_check: SpotCheck) -> dict[int, Inspection | None]:
    """building id → the first ``spot_check`` inspection of that building submitted after the
    draw (the task is done), or None (still to do)."""
    building_ids = [t.building_id for t in spot_check.tasks]
    out: dict[int, Inspection | None] = dict.fromkeys(building_ids)
    if not building_ids:
        return out
    for inspection in session.scalars(
        select(Inspection)
        .where(
            Inspection.kind == "spot_check",
            Inspection.building_id.in_(building_ids),
            Inspection.submitted_at >= spot_check.drawn_at,
        )
        .order_by(Inspection.submitted_at.desc(), Inspection.id.desc())
    ):
        out[inspection.building_id] = inspection  # descending: the first one is kept last
    return out


@dataclass
class ItemRef:
    code: str
    text: str


@dataclass
class Comparison:
    """One drawn building: the street's survey against the spot check, by checklist item
    code (the two may use different checklist versions). ``missed``: a hazard the spot check
    found on an item the survey did not fail (漏查); ``not_found``: an item the survey failed
    that the spot check passed (rectified since, or a disagreement); ``agreed``: failed in both."""

    task: SpotCheckTask
    survey: Inspection | None
    spot: Inspection | None
    missed: list[ItemRef] = field(default_factory=list)
    not_found: list[ItemRef] = field(default_factory=list)
    agreed: list[ItemRef] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.spot is not None

    @property
    def discrepant(self) -> bool:
        return bool(self.missed)


def _results(session: Session, inspection_ids: Iterable[int]) -> dict[int, dict[str, tuple]]:
    """inspection id → {item code: (result, item text)}."""
    ids = sorted(set(inspection_ids))
    out: dict[int, dict[str, tuple]] = {i: {} for i in ids}
    if not ids:
        return out
    for inspection_id, code, result, text in session.execute(
        select(Finding.inspection_id, ChecklistItem.code, Finding.result, ChecklistItem.text_zh)
        .join(ChecklistItem, Finding.item_id == ChecklistItem.id)
        .where(Finding.inspection_id.in_(ids))
    ):
        out[inspection_id][code] = (result, text)
    return out


def compare(session: Session, spot_check: SpotCheck) -> list[Comparison]:
    """The survey-versus-spot-check comparison of every task of ``spot_check``."""
    states = task_states(session, spot_check)
    surveys = {
        i.id: i
        for i in session.scalars(
            select(Inspection).where(
                Inspection.id.in_(
                    [t.survey_inspection_id for t in spot_check.tasks if t.survey_inspection_id]
                )
            )
        )
    }
    results = _results(session, [*surveys, *(i.id for i in states.values() if i is not None)])
    out = []
    for task in spot_check.tasks:
        survey = surveys.get(task.survey_inspection_id)
        spot = states.get(task.building_id)
        c = Comparison(task=task, survey=survey, spot=spot)
        if spot is not None:
            before = results.get(survey.id, {}) if survey is not None else {}
            after = results.get(spot.id, {})
            for code in sorted(set(before) | set(after)):
                was = before.get(code, (None, ""))
                now = after.get(code, (None, ""))
                ref = ItemRef(code, now[1] or was[1])
                if now[0] == "fail" and was[0] == "fail":
                    c.agreed.append(ref)
                elif now[0] == "fail":
                    c.missed.append(ref)
                elif was[0] == "fail" and now[0] == "pass":
                    c.not_found.append(ref)
        out.append(c)
    return out


@dataclass
class StreetSpotChecks:
    """The spot checks of one street in a campaign, for the dashboard."""

    area_id: int
    code: str
    name: str
    draws: int = 0
    drawn: int = 0
    done: int = 0
    discrepant: int = 0
    missed_items: int = 0
    not_found_items: int = 0

    @property
    def discrepancy_rate(self) -> float | None:
        return self.discrepant / self.done if self.done else None

    def as_dict(self) -> dict:
        return {
            "area_code": self.code,
            "area_name": self.name,
            "draws": self.draws,
            "drawn": self.drawn,
            "done": self.done,
            "discrepant": self.discrepant,
            "missed_items": self.missed_items,
            "not_found_items": self.not_found_items,
            "discrepancy_rate": None
            if self.discrepancy_rate is None
            else round(self.discrepancy_rate, 4),
        }


def draws_for(session: Session, campaign: Campaign, node: Area) -> list[SpotCheck]:
    """The campaign's draws on streets that meet ``node`` (inside it, or containing it),
    newest first."""
    from ..campaigns import covers_condition

    return list(
        session.scalars(
            select(SpotCheck)
            .join(Area, SpotCheck.area_id == Area.id)
            .where(SpotCheck.campaign_id == campaign.id, covers_condition(node.path))
            .order_by(SpotCheck.drawn_at.desc(), SpotCheck.id.desc())
        )
    )


def by_street(
    session: Session, campaign: Campaign, node: Area, *, scope=None
) -> list[StreetSpotChecks]:
    """Per street: draws, buildings drawn, spot checks done, buildings where the spot check
    found something the survey missed, and the item counts. Only tasks whose building lies in
    ``node`` and in ``scope`` (a SQL condition on ``Building``) count."""
    draws = draws_for(session, campaign, node)
    visible: set[int] | None = None
    task_ids = [t.building_id for d in draws for t in d.tasks]
    if task_ids:
        where = [Building.id.in_(task_ids), in_area_condition(node)]
        if scope is not None:
            where.append(scope)
        visible = set(session.scalars(select(Building.id).where(and_(*where))))
    streets: dict[int, StreetSpotChecks] = {}
    for d in sorted(draws, key=lambda d: d.id):
        row = streets.setdefault(d.area_id, StreetSpotChecks(d.area_id, d.area.code, d.area.name))
        row.draws += 1
        for c in compare(session, d):
            if visible is not None and c.task.building_id not in visible:
                continue
            row.drawn += 1
            if c.done:
                row.done += 1
                row.discrepant += int(c.discrepant)
                row.missed_items += len(c.missed)
                row.not_found_items += len(c.not_found)
    return sorted(streets.values(), key=lambda r: r.code)


def surveyed_streets(session: Session, campaign: Campaign, node: Area) -> list[Area]:
    """The streets of ``campaign``'s area that meet ``node`` (inside it or containing it), in
    code order (the draw form's choices)."""
    from ..campaigns import covers_condition

    return list(
        session.scalars(
            select(Area)
            .where(
                Area.level == "street",
                Area.path.startswith(campaign.area.path, autoescape=True),
                covers_condition(node.path),
            )
            .order_by(Area.code)
        )
    )


def count_tasks(session: Session, spot_check_ids: Sequence[int]) -> dict[int, int]:
    """spot check id → number of tasks."""
    if not spot_check_ids:
        return {}
    return dict(
        session.execute(
            select(SpotCheckTask.spot_check_id, func.count(SpotCheckTask.id))
            .where(SpotCheckTask.spot_check_id.in_(spot_check_ids))
            .group_by(SpotCheckTask.spot_check_id)
        ).all()
    )
