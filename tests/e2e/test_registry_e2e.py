"""On a phone: a grid worker corrects a building's facts on site, the street office accepts
the proposal, and the building is reclassified."""

from decimal import Decimal

from playwright.sync_api import Page, expect

from ..conftest import PASSWORD


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").tap()
    page.wait_for_url(lambda url: "/login" not in url)


def test_grid_worker_proposes_and_street_accepts(page: Page, live_server, district, make):
    building = make.building(
        district["areas"]["S1G1"], name="滨江花园5栋", height_m=Decimal("27"), storeys=9
    )
    _login(page, live_server, "inspector")
    page.goto(f"{live_server}/buildings/{building.id}")
    page.get_by_role("link", name="更正楼栋信息").tap()
    expect(page.get_by_role("heading", name="更正楼栋信息：滨江花园5栋")).to_be_visible()
    # Mobile first: the long form fits the phone and every control is big enough to tap.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    small = page.evaluate(
        """[...document.querySelectorAll('button, .button, input:not([type=hidden]), select')]
           .filter(e => e.offsetParent && e.getBoundingClientRect().height < 24)
           .map(e => e.outerHTML)"""
    )
    assert small == []
    page.get_by_label("建筑高度（米）").fill("28")
    page.get_by_label("消防控制室").check()
    page.get_by_label("说明（信息来源、核实情况）").fill("现场测量")
    page.get_by_role("button", name="提交审核").tap()
    expect(page.get_by_text("已提交，等待街道审核后更新台账")).to_be_visible()

    page.get_by_role("button", name="退出").tap()
    # Logging out is a navigation of its own: let it land before starting the next one.
    page.wait_for_url(lambda url: "/login" in url)
    _login(page, live_server, "street")
    page.get_by_role("link", name="基础台账").tap()
    page.get_by_role("link", name="待处理 1 条").tap()
    page.get_by_text("滨江花园5栋").tap()
    expect(page.get_by_text("现场测量")).to_be_visible()
    page.get_by_role("button", name="采纳并更新台账").tap()
    expect(page.locator(".flash")).to_contain_text("楼栋类别由“非高层”变为“二类高层住宅”")
    page.goto(f"{live_server}/buildings/{building.id}")
    expect(page.get_by_text("二类高层住宅")).to_be_visible()
