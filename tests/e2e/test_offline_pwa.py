"""The installable app in a real browser: Chrome finds it installable, one online visit makes
a worker's pages open with the network off (the inspection form of any of their buildings
included), the service worker leaves POSTs alone, and logging out warns while anything is
unsent and keeps it."""

import re

import pytest
from playwright.sync_api import Page, expect

from inspect_app.db import db
from inspect_app.inspections import applicable_items
from inspect_app.models import Building, Checklist, Hazard

from . import offline_kit as kit


@pytest.fixture
def grid(app, district, checklist, make):
    area = district["areas"]["S1G1"]
    tall = make.building(area, name="江岸国际1栋", height_m=120, storeys=40, has_sprinklers=True)
    plain = make.building(area, name="江岸国际2栋", management_unit=None)
    with app.app_context():
        db.session.add(
            Hazard(
                building_id=tall.id,
                category="FAC",
                severity="major",
                description="消防水泵控制柜处于手动状态",
                status="open",
            )
        )
        db.session.commit()
        cl = db.session.get(Checklist, checklist.id)
        items = {
            b.id: [i.code for i in applicable_items(cl, db.session.get(Building, b.id))]
            for b in (tall, plain)
        }
    assert items[tall.id] != items[plain.id]  # the two forms differ
    return {"tall": tall, "plain": plain, "items": items}


def test_chrome_finds_the_app_installable(
    playwright, live_server, district, tmp_path, browser_type_launch_args, browser_context_args
):
    # A persistent profile: Chrome never offers to install from an incognito window.
    context = playwright.chromium.launch_persistent_context(
        tmp_path / "profile",
        **browser_type_launch_args,
        **{k: v for k, v in browser_context_args.items() if k != "base_url"},
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        kit.login(page, live_server)
        scope = page.evaluate("() => navigator.serviceWorker.ready.then(r => r.scope)")
        assert scope == f"{live_server}/"
        page.reload()
        assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL").endswith(
            "/sw.js"
        )
        cdp = context.new_cdp_session(page)
        assert cdp.send("Page.getInstallabilityErrors") == {"installabilityErrors": []}
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [] and manifest["url"] == f"{live_server}/manifest.webmanifest"
        worker = page.request.get(f"{live_server}/sw.js")
        assert worker.headers["content-type"].startswith("text/javascript")
    finally:
        context.close()


def test_one_visit_makes_every_form_of_the_grid_open_offline(app, page: Page, live_server, grid):
    kit.login(page, live_server)
    kit.wait_offline_ready(page)
    page.context.set_offline(True)

    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", name="我的网格楼栋")).to_be_visible()
    expect(page.locator(".offline-banner")).to_contain_text("离线：显示的是")
    page.get_by_text("江岸国际1栋").tap()
    expect(page.get_by_role("heading", name=re.compile("江岸国际1栋"))).to_be_visible()
    page.get_by_role("link", name="开始检查").tap()

    # Never opened online, yet here, filled in for this building from the template.
    form = page.locator("form.inspection")
    expect(form).to_have_attribute("data-ready", "1")
    expect(page.get_by_role("heading", name="检查：江岸国际1栋")).to_be_visible()
    assert page.title().startswith("检查 江岸国际1栋")
    codes = page.eval_on_selector_all(
        'fieldset.item[id^="item-"]', "els => els.map(e => e.id.slice(5))"
    )
    assert codes == grid["items"][grid["tall"].id]
    names = page.eval_on_selector_all(
        'input[name$="-item"]', "els => els.map(e => e.name + '=' + e.value)"
    )
    assert names == [f"findings-{i}-item={c}" for i, c in enumerate(codes)]
    expect(page.locator("fieldset.followup legend")).to_have_text(["消防水泵控制柜处于手动状态"])
    assert page.input_value('input[name="findings-0-responsible_party"]') == "测试物业公司"
    assert re.fullmatch(r"[0-9a-f-]{36}", page.input_value("input[name=client_uuid]"))
    expect(page.get_by_role("link", name="← 江岸国际1栋")).to_have_attribute(
        "href", f"/buildings/{grid['tall'].id}"
    )

    # Unanswered items are pointed out before anything is saved.
    kit.submit(page)
    expect(page.get_by_role("alert")).to_contain_text(f"还有 {len(codes)} 项未作答")
    assert kit.outbox(page) == []

    # The other building's form: its own items, no re-check, the street office responsible.
    kit.open_form(page, live_server, grid["plain"].id)
    codes = page.eval_on_selector_all(
        'fieldset.item[id^="item-"]', "els => els.map(e => e.id.slice(5))"
    )
    assert codes == grid["items"][grid["plain"].id]
    expect(page.locator("fieldset.followup")).to_have_count(0)
    assert page.input_value('input[name="findings-0-responsible_party"]').startswith("街道办事处")

    # A page never kept: the offline page, not the browser's error.
    page.goto(f"{live_server}/ledger")
    expect(page.get_by_role("heading", name="没有网络")).to_be_visible()


def test_logout_warns_while_unsent_and_keeps_the_queue(app, page: Page, live_server, grid):
    kit.login(page, live_server)
    kit.wait_offline_ready(page)
    page.context.set_offline(True)
    kit.open_form(page, live_server, grid["plain"].id)
    uuid = page.input_value("input[name=client_uuid]")
    kit.answer_all_pass(page)
    kit.submit(page)
    expect(page.get_by_role("status").filter(has_text="已保存在本机")).to_be_visible()
    page.context.set_offline(False)
    page.route(re.compile(r".*/api/v1/buildings/[^/]+/inspections$"), lambda r: r.abort())
    page.goto(f"{live_server}/")

    messages = []

    def answer(dialog, accept):
        messages.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="退出").tap()
    expect(page.locator("#outbox")).to_have_attribute("data-user", "inspector")
    assert messages and "还有 1 份检查没有上传" in messages[0]

    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="退出").tap()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    # The user's kept pages are gone; the inspection is not.
    kit.eventually(page, lambda: page.evaluate("() => caches.has('pages')"), False)
    assert [q["id"] for q in kit.outbox(page)] == [uuid]
    expect(kit.header(page)).to_have_text("待上传 1 · 请登录后上传")

    page.unroute(re.compile(r".*/api/v1/buildings/[^/]+/inspections$"))
    posts = []
    page.on(
        "response",
        lambda r: r.request.method == "POST" and posts.append((r.url, r.from_service_worker)),
    )
    kit.login(page, live_server)
    kit.wait_sent(page)
    assert [r.client_uuid for r in kit.inspections(app)] == [uuid]
    # The outbox sends; the service worker never answers a POST.
    sent = [u for u, from_sw in posts if "/api/v1/" in u]
    assert sent and not any(from_sw for _, from_sw in posts)
