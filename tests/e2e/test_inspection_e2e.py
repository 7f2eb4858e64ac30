"""A grid worker inspects a building on a phone: quick-fill, readings, one hazard on the plan,
the location recorded, one submission."""

from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import select

from inspect_app.db import db
from inspect_app.inspections import applicable_items
from inspect_app.models import Building, Checklist, Hazard, Inspection
from inspect_app.thresholds import evaluate

from ..conftest import PASSWORD

CANDIDATES = [Decimal(v) for v in ("0", "0.3", "0.5", "1", "5", "10", "50", "100")]


def _passing_values(app, building_id, checklist_id):
    with app.app_context():
        b = db.session.get(Building, building_id)
        values = {}
        for item in applicable_items(db.session.get(Checklist, checklist_id), b):
            if item.answer_type == "numeric":
                values[item.code] = next(
                    v
                    for v in CANDIDATES
                    if evaluate(
                        item.rules,
                        v,
                        building_class=b.building_class,
                        flags=b.flags,
                        unit=item.unit,
                    ).result
                    == "pass"
                )
        return values


def test_inspect_a_building_on_a_phone(page: Page, live_server, app, make, checklist):
    d = make.area("D", "district")
    grid = make.area("G", "grid", d)
    building = make.building(grid, name="金科天湖2栋")
    make.user("inspector", "inspector", grid)
    values = _passing_values(app, building.id, checklist.id)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 29.0285, "longitude": 106.6512})

    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("inspector")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").tap()
    page.get_by_text("金科天湖2栋").tap()
    page.get_by_role("link", name="开始检查").tap()
    expect(page.get_by_role("heading", name="检查：金科天湖2栋")).to_be_visible()

    # One hazard: the fire lane is blocked, put on the plan with a responsible party.
    lane = page.locator("#item-LIFE-01")
    lane.locator(".seg-fail").tap()
    lane.get_by_text("整改安排（一楼一策）").tap()
    lane.get_by_label("责任方").fill("金科物业服务公司")
    for button in page.locator("[data-all-pass]").all():
        button.tap()
    for code, value in values.items():
        page.locator(f"#item-{code} input[name$='-value']").fill(str(value))
    expect(page.locator("input[name=latitude]")).not_to_have_value("")
    page.get_by_role("button", name="提交检查").tap()

    expect(page.get_by_role("heading", name="检查已提交")).to_be_visible()
    expect(page.get_by_text("金科物业服务公司")).to_be_visible()
    expect(page.locator(".code-yellow, .code-red").first).to_be_visible()
    with app.app_context():
        inspection = db.session.scalar(select(Inspection))
        assert round(float(inspection.latitude), 4) == 29.0285
        hazard = db.session.scalar(select(Hazard))
        assert hazard.item.code == "LIFE-01" and hazard.responsible_party == "金科物业服务公司"
