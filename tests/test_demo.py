"""The demo district generator: reproducible, complete enough to show every state, honest data."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from inspect_app.checklists import applies, current_checklist, load_checklist
from inspect_app.codes import building_codes
from inspect_app.db import db
from inspect_app.demo import generate
from inspect_app.models import (
    Area,
    Building,
    Campaign,
    ChecklistItem,
    Finding,
    Hazard,
    HazardEvent,
    Inspection,
    User,
)

from .conftest import CATALOG, fresh_database_url, make_test_app

TODAY = date(2026, 11, 22)
PASSWORD = "演示密码 2023"
N = 40
STATES = ("open", "overdue", "submitted", "closed", "fixed_on_spot", "supervised")
COLOURS = {"red", "yellow", "green", "grey"}


def _generate(session, **kw):
    args = {"buildings": N, "seed": 2023, "password": PASSWORD, "today": TODAY}
    args.update(kw)
    result = generate(session, **args)
    session.commit()
    return result


def _snapshot(session) -> dict[str, list[tuple]]:
    """Everything that must come out the same from the same seed (ids included)."""
    return {
        "areas": session.execute(
            select(Area.id, Area.code, Area.name, Area.path).order_by(Area.id)
        ).all(),
        "buildings": session.execute(
            select(
                Building.id,
                Building.code,
                Building.name,
                Building.address,
                Building.use,
                Building.height_m,
                Building.storeys,
                Building.area_id,
                Building.multi_owner,
                Building.management_unit,
                Building.fire_manager_phone,
                Building.has_sprinklers,
            ).order_by(Building.id)
        ).all(),
        "inspections": session.execute(
            select(
                Inspection.id,
                Inspection.client_uuid,
                Inspection.kind,
                Inspection.building_id,
                Inspection.submitted_at,
            ).order_by(Inspection.id)
        ).all(),
        "findings": session.execute(
            select(Finding.id, Finding.item_id, Finding.result, Finding.value).order_by(Finding.id)
        ).all(),
        "hazards": session.execute(
            select(
                Hazard.id,
                Hazard.building_id,
                Hazard.status,
                Hazard.severity,
                Hazard.deadline,
                Hazard.description,
                Hazard.supervised_at,
                Hazard.closed_at,
            ).order_by(Hazard.id)
        ).all(),
        "events": session.execute(
            select(HazardEvent.hazard_id, HazardEvent.action, HazardEvent.at).order_by(
                HazardEvent.id
            )
        ).all(),
        "managed": [
            b.code
            for b in session.scalar(
                select(User).where(User.username == "manager")
            ).managed_buildings
        ],
    }


def _states(session, building_ids) -> Counter[str]:
    counts: Counter[str] = Counter()
    for hazard in session.scalars(select(Hazard).where(Hazard.building_id.in_(building_ids))):
        overdue = hazard.status == "open" and hazard.deadline < TODAY
        counts["overdue" if overdue else hazard.status] += 1
        if hazard.supervised_at is not None:
            counts["supervised"] += 1
    return counts


def _users(session) -> dict[str, User]:
    return {u.username: u for u in session.scalars(select(User))}


def test_same_seed_gives_the_same_district(app, db_session, tmp_path):
    first = _generate(db_session)
    one = _snapshot(db_session)
    tokens_one = set(db_session.scalars(select(Building.qr_token)))

    other = make_test_app(tmp_path, fresh_database_url(tmp_path))
    with other.app_context():
        upgrade()
        second = _generate(db.session)
        two = _snapshot(db.session)
        tokens_two = set(db.session.scalars(select(Building.qr_token)))
        db.session.remove()
        db.engine.dispose()

    assert first == second
    for table in one:
        assert one[table] == two[table], table
    # The public code's token is secret-random on purpose: never derived from the seed.
    assert len(tokens_one) == len(tokens_two) == N
    assert not tokens_one & tokens_two


def test_another_seed_gives_another_district(db_session):
    _generate(db_session)
    names = list(db_session.scalars(select(Building.name).order_by(Building.id)))
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in ("checklist", "checklist_item"):
            db_session.execute(table.delete())
    db_session.commit()
    _generate(db_session, seed=7)
    assert list(db_session.scalars(select(Building.name).order_by(Building.id))) != names


def test_every_state_and_colour_in_the_inspector_grid_and_the_manager_buildings(app, db_session):
    _generate(db_session)
    users = _users(db_session)
    grid = db_session.scalars(
        select(Building).where(Building.area_id == users["inspector"].area_id)
    ).all()
    managed = users["manager"].managed_buildings
    validity = db_session.scalar(select(Campaign.validity_days))
    for scope in (grid, managed):
        states = _states(db_session, [b.id for b in scope])
        assert all(states[s] >= 1 for s in STATES), states
        with app.test_request_context():
            codes = building_codes(db_session, scope, today=TODAY, validity_days=validity)
        assert {c.colour for c in codes.values()} == COLOURS


def test_heights_storeys_and_the_27_m_boundary(db_session):
    _generate(db_session, buildings=300)
    buildings = db_session.scalars(select(Building)).all()
    at_27 = [b for b in buildings if b.height_m == Decimal("27.0")]
    assert at_27, "the boundary case must be there"
    assert all(b.use == "residential" and b.building_class is None for b in at_27)
    others = [b for b in buildings if b not in at_27]
    assert all(b.building_class is not None for b in others)
    assert any(b.height_m > 100 for b in others)
    for b in others:
        if b.use == "residential":
            assert Decimal("28") <= b.height_m <= Decimal("160"), b.code
        else:
            assert Decimal("25") <= b.height_m <= Decimal("120"), b.code
        assert 2.8 <= float(b.height_m) / b.storeys <= 4.6, b.code
    uses = Counter(b.use for b in buildings)
    assert uses["residential"] > uses["public"] + uses["mixed"] > 0
    multi = [b for b in buildings if b.multi_owner]
    assert 0.02 <= len(multi) / len(buildings) <= 0.10
    assert all(b.management_unit is None for b in multi)
    assert all(b.management_unit for b in buildings if not b.multi_owner)
    # QJ-<street>-<6-digit district sequence>: unique, and sorting sorts by street, then number.
    for b in buildings:
        assert re.fullmatch(r"QJ-[A-Z]{2}-[0-9]{6}", b.code), b.code
        assert b.code.split("-")[1] == b.area.path.split("/")[2]
    numbers = [int(b.code[-6:]) for b in sorted(buildings, key=lambda b: b.id)]
    assert numbers == sorted(set(numbers))


def test_users_one_per_role_with_the_password_and_scopes(db_session):
    result = _generate(db_session)
    users = _users(db_session)
    assert result.users == {role: role for role in users}
    assert set(users) == {"inspector", "manager", "street", "fire", "admin"}
    for name, user in users.items():
        assert user.role == name
        assert check_password_hash(user.password_hash, PASSWORD)
        assert not check_password_hash(user.password_hash, PASSWORD + "x")
        assert user.display_name and not user.display_name.isascii()
    assert users["inspector"].area.level == "grid"
    assert users["street"].area.level == "street"
    assert users["fire"].area.level == users["admin"].area.level == "district"
    assert users["inspector"].area.path.startswith(users["street"].area.path)
    grid_size = db_session.scalar(
        select(func.count()).where(Building.area_id == users["inspector"].area_id)
    )
    assert grid_size >= 10
    manager = users["manager"]
    assert manager.area_id is None
    in_grid = [b for b in manager.managed_buildings if b.area_id == users["inspector"].area_id]
    assert 5 <= len(in_grid) <= 10
    assert 1 <= len(manager.managed_buildings) - len(in_grid) <= 2


def test_areas_and_campaign(db_session):
    _generate(db_session)
    district = db_session.scalar(select(Area).where(Area.level == "district"))
    assert (district.code, district.name, district.path) == ("500110", "綦江区", "/500110/")
    areas = db_session.scalars(select(Area)).all()
    streets = [a for a in areas if a.level == "street"]
    assert 4 <= len(streets) <= 6
    for area in areas:
        assert "/" not in area.code
        if area.parent is not None:
            assert area.path == Area.child_path(area.parent, area.code)
    for street in streets:
        assert 2 <= len(street.children) <= 4
        assert all(2 <= len(c.children) <= 3 for c in street.children)
        assert all(g.level == "grid" for c in street.children for g in c.children)

    campaign = db_session.scalar(select(Campaign))
    assert campaign.name == "2026年高层建筑消防安全“除险清患”专项行动"
    assert campaign.area_id == district.id
    assert campaign.checklist_id == current_checklist(db_session).id
    assert campaign.starts_on <= TODAY <= campaign.ends_on == date(2026, 12, 31)
    assert [(p["name"], p["ends_on"]) for p in campaign.phases] == [
        ("动员部署", "2026-03-20"),
        ("全面排查", "2026-04-30"),
        ("整治攻坚", "2026-11-30"),
        ("巩固提升", "2026-12-31"),
    ]
    assert campaign.category_deadlines == {"water": "2026-12-20"}
    assert campaign.validity_days == 180
    assert (campaign.sample_rate_public, campaign.sample_rate_residential) == (
        Decimal("0.10"),
        Decimal("0.05"),
    )


def test_history_is_consistent(db_session):
    result = _generate(db_session)
    count = lambda model: db_session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert (result.buildings, result.findings, result.hazards, result.hazard_events) == (
        count(Building),
        count(Finding),
        count(Hazard),
        count(HazardEvent),
    )
    assert sum(result.inspections.values()) == count(Inspection)
    start_of_today = datetime.combine(TODAY, time(0), tzinfo=ZoneInfo("Asia/Shanghai"))
    earliest = start_of_today - timedelta(days=121)

    # One finding per applicable item in every inspection.
    items = db_session.scalars(select(ChecklistItem)).all()
    for inspection in db_session.scalars(select(Inspection)):
        building = inspection.building
        wanted = {
            i.id for i in items if applies(i.applies_to, building.building_class, building.flags)
        }
        assert {f.item_id for f in inspection.findings} == wanted
        assert earliest <= inspection.started_at < inspection.submitted_at < start_of_today
        assert inspection.submitted_at.tzinfo is not None
    kinds = Counter(i.kind for i in db_session.scalars(select(Inspection)))
    assert kinds["survey"] > kinds["spot_check"] > 0
    assert kinds["self_check"] > 0
    users = _users(db_session)
    assert {i.inspector.username for i in db_session.scalars(select(Inspection))} <= {
        "inspector",
        "manager",
        "fire",
    }
    uninspected = db_session.scalars(
        select(Building).where(
            Building.area_id == users["inspector"].area_id,
            ~Building.id.in_(select(Inspection.building_id)),
        )
    ).all()
    assert uninspected

    for hazard in db_session.scalars(select(Hazard)):
        assert hazard.version == 1
        assert hazard.finding.result == "fail"
        assert hazard.finding.inspection.building_id == hazard.building_id
        assert hazard.category == hazard.item.category
        assert hazard.gb35181_direct == hazard.item.gb35181_direct
        events = hazard.events
        assert [e.at for e in events] == sorted(e.at for e in events)
        assert all(e.at < start_of_today for e in events)
        assert events[0].action in ("created", "fixed_on_spot")
        assert events[0].at == hazard.created_at
        assert events[-1].to_status == hazard.status
        if hazard.status == "fixed_on_spot":
            assert hazard.closed_at == hazard.created_at
            assert hazard.deadline is None
        else:
            assert hazard.deadline and hazard.responsible_party and hazard.measures
            assert hazard.funding
        if hazard.status == "closed":
            accepted = [e for e in events if e.action == "accepted"]
            assert accepted[-1].at == hazard.closed_at
            assert accepted[-1].actor.role in ("fire", "street")
        if hazard.status in ("open", "submitted"):
            assert hazard.closed_at is None
        supervised = [e for e in events if e.action == "supervised"]
        assert bool(supervised) == (hazard.supervised_at is not None)
        if supervised:
            assert supervised[0].at == hazard.supervised_at
            assert supervised[0].actor.role == "fire"
            listing = hazard.supervision
            assert listing.building_id == hazard.building_id
            assert listing.created_at == hazard.supervised_at
            assert listing.created_by.role == "fire" and listing.status == "active"
            assert hazard.description in listing.issues
            assert listing.report_by > listing.created_at.date()
        else:
            assert hazard.supervision_id is None
        if hazard.building.multi_owner:
            assert hazard.status == "fixed_on_spot" or "街道" in hazard.responsible_party


def test_spot_checks_meet_the_campaign_rates(db_session):
    _generate(db_session, buildings=300)
    rows = db_session.execute(
        select(Building, Inspection.kind).join(Inspection, Inspection.building_id == Building.id)
    ).all()
    counts: Counter[tuple[str, str, str]] = Counter()
    for building, kind in rows:
        street = building.area.path.split("/")[2]
        use = "residential" if building.use == "residential" else "public"
        counts[(street, use, kind)] += 1
    streets = {street for street, _use, _kind in counts}
    for street in streets:
        for use, rate in (("public", 0.10), ("residential", 0.05)):
            surveyed = counts[(street, use, "survey")]
            assert counts[(street, use, "spot_check")] >= math.ceil(surveyed * rate), street


def test_new_rows_get_ids_after_the_demo(db_session):
    """The generator assigns ids itself; later inserts (PostgreSQL sequences) must not clash."""
    _generate(db_session, buildings=15)
    grid = db_session.scalar(select(Area).where(Area.level == "grid"))
    building = Building(
        code="QJ-NEW-1",
        name="新楼",
        address="綦江区新路1号",
        area=grid,
        use="residential",
        height_m=Decimal("60"),
        storeys=20,
    )
    hazard = db_session.scalar(select(Hazard).limit(1))
    event = HazardEvent(hazard=hazard, action="confirmed_present", note="复查")
    db_session.add_all([building, event])
    db_session.commit()
    assert building.id > 15
    assert event.id > db_session.scalar(select(func.count()).select_from(HazardEvent)) - 1


def test_flushes_but_never_commits(db_session):
    generate(db_session, buildings=15, password=PASSWORD, today=TODAY)
    assert db_session.scalar(select(func.count()).select_from(Building)) == 15
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Building)) == 0
    assert db_session.scalar(select(func.count()).select_from(User)) == 0


def test_uses_the_loaded_checklist(db_session):
    loaded, _ = load_checklist(db_session, CATALOG)
    db_session.commit()
    _generate(db_session, buildings=15)
    assert {i.checklist_id for i in db_session.scalars(select(Inspection))} == {loaded.id}
    assert db_session.scalar(select(func.count()).select_from(type(loaded))) == 1


@pytest.mark.parametrize("bad", [{"buildings": 0}, {"password": ""}])
def test_rejects_bad_arguments(db_session, bad):
    with pytest.raises(ValueError):
        generate(db_session, **{"buildings": 5, "password": PASSWORD, "today": TODAY, **bad})
