"""A grid worker logs in on a phone and finds a building of their grid."""

from playwright.sync_api import Page, expect

from ..conftest import PASSWORD


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").tap()


def test_inspector_logs_in_and_searches_on_a_phone(page: Page, live_server, district, make):
    make.building(district["areas"]["S1G1"], name="滨江花园3栋", address="滨江路8号")
    _login(page, live_server, "inspector")
    expect(page.get_by_role("heading", name="我的网格楼栋")).to_be_visible()
    expect(page.locator(".list .row")).to_have_count(3)
    page.get_by_label("搜索楼栋").fill("滨江")
    page.get_by_role("button", name="搜索").tap()
    expect(page.locator(".list .row")).to_have_count(1)
    page.get_by_text("滨江花园3栋").tap()
    expect(page.get_by_role("heading", name="滨江花园3栋")).to_be_visible()
    expect(page.locator(".code-grey")).to_have_text("灰码")
    # Mobile first: nothing wider than the phone, and tap targets of at least 44 px.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    small = page.evaluate(
        """[...document.querySelectorAll('button, .button, input:not([type=hidden])')]
           .filter(e => e.offsetParent && e.getBoundingClientRect().height < 44)
           .map(e => e.outerHTML)"""
    )
    assert small == []


def test_wrong_password_is_explained(page: Page, live_server, district):
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("inspector")
    page.get_by_label("密码").fill("wrong")
    page.get_by_role("button", name="登录").tap()
    expect(page.get_by_text("用户名或密码不正确")).to_be_visible()


def test_fire_reviewer_sees_the_district(page: Page, live_server, district):
    _login(page, live_server, "fire")
    expect(page.get_by_role("heading", name="辖区楼栋")).to_be_visible()
    expect(page.locator(".list .row")).to_have_count(8)
