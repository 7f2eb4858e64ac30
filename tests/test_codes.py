"""The fire safety code colour and its reasons, from real hazards and inspections."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from inspect_app.codes import building_code
from inspect_app.db import db
from inspect_app.models import Building, Hazard, Inspection

TODAY = date(2026, 6, 15)


@pytest.fixture
def site(app, make, checklist):
    d = make.area("D", "district")
    grid = make.area("G", "grid", d)
    inspector = make.user("inspector", "inspector", grid)
    return {"grid": grid, "inspector": inspector, "checklist": checklist, "make": make}


def _inspect(app, site, building, on: date):
    with app.app_context():
        db.session.add(
            Inspection(
                client_uuid=str(uuid.uuid4()),
                kind="survey",
                building_id=building.id,
                checklist_id=site["checklist"].id,
                inspector_id=site["inspector"].id,
                started_at=datetime(on.year, on.month, on.day, 2, tzinfo=UTC),
                submitted_at=datetime(on.year, on.month, on.day, 3, tzinfo=UTC),
            )
        )
        db.session.commit()


def _hazard(app, building, **kw):
    values = dict(
        building_id=building.id,
        category="LIFE",
        severity="general",
        description="消防车道被占用",
        deadline=TODAY + timedelta(days=10),
        status="open",
    )
    values.update(kw)
    with app.app_context():
        db.session.add(Hazard(**values))
        db.session.commit()


def _code(app, building, validity_days=90):
    with app.app_context():
        b = db.session.get(Building, building.id)
        return building_code(db.session, b, today=TODAY, validity_days=validity_days)


def test_never_inspected_is_grey(app, site):
    b = site["make"].building(site["grid"])
    code = _code(app, b)
    assert code.colour == "grey" and code.reasons[0].text == "尚未检查"


def test_inspected_within_window_without_hazards_is_green(app, site):
    b = site["make"].building(site["grid"])
    _inspect(app, site, b, TODAY - timedelta(days=90))
    assert _code(app, b, validity_days=90).colour == "green"
    assert _code(app, b, validity_days=89).colour == "grey"


def test_general_hazard_within_deadline_is_yellow_and_explained(app, site):
    b = site["make"].building(site["grid"])
    _inspect(app, site, b, TODAY)
    _hazard(app, b, deadline=TODAY)
    code = _code(app, b)
    assert code.colour == "yellow"
    assert code.reasons[0].text == f"消防车道被占用，整改期限 {TODAY}"
    assert code.reasons[0].category == "LIFE"


def test_general_hazard_past_deadline_stays_yellow_with_days_overdue(app, site):
    b = site["make"].building(site["grid"])
    _hazard(app, b, deadline=TODAY - timedelta(days=12))
    code = _code(app, b)
    assert code.colour == "yellow" and code.reasons[0].text == "消防车道被占用，已超期 12 天"


def test_major_hazard_is_red_and_past_deadline_says_how_late(app, site):
    b = site["make"].building(site["grid"])
    _hazard(app, b, severity="major", deadline=TODAY - timedelta(days=12))
    code = _code(app, b)
    assert code.colour == "red" and code.reasons[0].text == "消防车道被占用，已超期 12 天"


def test_direct_element_and_supervision_are_red(app, site):
    a = site["make"].building(site["grid"])
    _hazard(app, a, gb35181_direct=True)
    b = site["make"].building(site["grid"])
    _hazard(app, b, supervised_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert _code(app, a).colour == "red" and "直接判定要素" in _code(app, a).reasons[0].text
    assert _code(app, b).colour == "red" and "已挂牌督办" in _code(app, b).reasons[0].text


def test_submitted_is_still_unclosed_and_closed_counts_for_nothing(app, site):
    b = site["make"].building(site["grid"])
    _inspect(app, site, b, TODAY)
    _hazard(app, b, status="closed", severity="major", closed_at=datetime(2026, 6, 2, tzinfo=UTC))
    _hazard(app, b, status="fixed_on_spot", severity="major")
    assert _code(app, b).colour == "green"
    _hazard(app, b, status="submitted")
    code = _code(app, b)
    assert code.colour == "yellow" and "整改材料待验收" in code.reasons[0].text


def _composite_items(checklist, n):
    items = [
        i
        for i in checklist.items
        if i.gb35181 and i.gb35181.get("composite_2017") and not i.gb35181.get("direct")
    ]
    elements = {}
    for item in items:
        elements.setdefault(item.gb35181["composite_2017"], item)
    assert len(elements) >= n, "the catalog maps too few composite elements"
    return list(elements.values())[:n]


@pytest.mark.parametrize(
    ("assembly", "count", "colour"),
    [
        (False, 5, "yellow"),
        (False, 6, "red"),
        (True, 3, "yellow"),
        (True, 4, "red"),
    ],
)
def test_composite_count_flags_suspected_major(app, site, assembly, count, colour):
    b = site["make"].building(site["grid"], has_assembly_occupancy=assembly)
    for item in _composite_items(site["checklist"], count):
        _hazard(app, b, item_id=item.id, category=item.category, description=item.text_zh)
    code = _code(app, b)
    assert code.colour == colour
    assert any("疑似重大火灾隐患" in r.text for r in code.reasons) == (colour == "red")


def test_home_page_shows_the_colour(app, site, client):
    from .conftest import login

    b = site["make"].building(site["grid"], name="红码大厦")
    _hazard(app, b, severity="major")
    login(client, "inspector")
    html = client.get("/").get_data(as_text=True)
    assert "红码大厦" in html and 'class="code code-red"' in html
    page = client.get(f"/buildings/{b.id}").get_data(as_text=True)
    assert "消防车道被占用" in page and "code-red" in page
