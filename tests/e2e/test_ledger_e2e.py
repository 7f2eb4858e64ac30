"""The detachment on a phone: the ledger, drill-down to a building's plan, acceptance of a
hazard; no page wider than the screen and nothing the Content-Security-Policy blocks."""

from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import Page, expect

from inspect_app.db import db
from inspect_app.models import Hazard, HazardEvent

from ..conftest import PASSWORD


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").tap()


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_fire_drills_down_and_accepts_a_hazard(page: Page, live_server, district, _app):
    building = district["buildings"]["S1G1"]
    with _app.app_context():
        hazard = Hazard(
            building_id=building.id,
            category="LIFE",
            severity="major",
            description="消防车道被占用",
            responsible_party="测试物业公司",
            status="submitted",
            deadline=date.today() + timedelta(days=5),
            created_at=datetime.now(UTC) - timedelta(days=3),
        )
        db.session.add(hazard)
        db.session.flush()
        db.session.add(HazardEvent(hazard=hazard, action="created", to_status="open"))
        db.session.commit()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    _login(page, live_server, "fire")
    page.get_by_role("link", name="整改台账").first.tap()
    expect(page.get_by_role("heading", name="整改台账 · 测试区")).to_be_visible()
    _fits(page)
    page.get_by_role("link", name="S1街道").tap()
    page.get_by_role("link", name="S1社区").tap()
    page.get_by_role("link", name="S1G1网格").tap()
    page.get_by_role("link", name=building.name).tap()
    expect(page.get_by_role("heading", name="“一楼一策”整改清单")).to_be_visible()
    _fits(page)
    page.get_by_role("link", name="消防车道被占用").tap()
    page.get_by_label("验收意见").fill("现场复查，车道已清空")
    page.get_by_role("button", name="验收合格，销号").tap()
    expect(page.get_by_text("已验收销号")).to_be_visible()
    expect(page.locator(".tag.status-closed")).to_have_text("已销号")
    expect(page.get_by_text("现场复查，车道已清空")).to_be_visible()
    _fits(page)
    assert blocked == []
