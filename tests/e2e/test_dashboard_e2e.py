"""The street office opens the campaign dashboard on a tablet-sized screen and on a phone:
the SVG charts draw, every request stays on the app's own server (no CDN), nothing is wider
than the screen, and the monthly summary offers its print button."""

from datetime import timedelta

from playwright.sync_api import Page, expect

from inspect_app.codes import local_today

from ..conftest import PASSWORD
from ..oversight_helpers import add_hazard, add_inspection, at, make_campaign


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").tap()


def test_dashboard_charts_draw_offline_from_the_app_alone(
    page: Page, live_server, app, district, checklist
):
    with app.app_context():
        today = local_today()
    start = today - timedelta(days=40)
    make_campaign(
        app, district["areas"]["D"], checklist, starts=start, ends=today + timedelta(days=40)
    )
    for code in ("S1G1", "S1G2"):
        b = district["buildings"][code].id
        add_inspection(app, b, kind="survey", when=at(today - timedelta(days=20)))
        add_hazard(app, b, created=at(today - timedelta(days=15)), status="closed")
        add_hazard(
            app, b, created=at(today - timedelta(days=5)), deadline=today - timedelta(days=1)
        )
    hosts = []
    page.on("request", lambda r: hosts.append(r.url.split("/")[2]))
    _login(page, live_server, "street")
    page.get_by_role("link", name="工作台").first.tap()
    expect(page.get_by_role("heading", name="阶段进度")).to_be_visible()
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() >= 4
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 20
    expect(page.locator("svg.chart-hbar rect.bar").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert set(hosts) == {live_server.split("/")[2]}, hosts

    page.get_by_role("link", name="工作小结").first.tap()
    expect(page.get_by_role("heading", name="工作小结", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="打印")).to_be_visible()
    expect(page.get_by_role("link", name="导出 Excel")).to_be_visible()
