"""The outbox in a real browser: inspections filled in with no network are kept on the phone
through reloads, closed tabs and a browser restart, and reach the server exactly once, with
their photos, whatever the network and the server do meanwhile."""

import re
from datetime import UTC, datetime

import itsdangerous.timed
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from inspect_app.db import db
from inspect_app.models import Hazard

from . import offline_kit as kit


@pytest.fixture
def grid(app, district, checklist, make):
    """The inspector's grid: two buildings, the first with an open hazard to re-check."""
    area = district["areas"]["S1G1"]
    a = make.building(area, name="滨江花园1栋", management_unit="金科物业")
    b = make.building(area, name="滨江花园2栋")
    with app.app_context():
        hazard = Hazard(
            building_id=a.id,
            category="LIFE",
            severity="general",
            description="楼道堆放杂物",
            status="open",
        )
        db.session.add(hazard)
        db.session.commit()
        hazard_id = hazard.id
    return {"a": a, "b": b, "hazard": hazard_id}


def go_offline_ready(page: Page, live_server: str) -> None:
    kit.login(page, live_server)
    kit.wait_offline_ready(page)
    page.context.set_offline(True)


def queue_one(page, live_server, building, photo=None) -> str:
    """Fill in and submit one inspection of ``building``; its client_uuid."""
    kit.open_form(page, live_server, building.id)
    uuid = page.input_value("input[name=client_uuid]")
    kit.answer_all_pass(page)
    kit.report_hazard(page, photo)
    kit.submit(page)
    expect(page.get_by_role("status").filter(has_text="已保存在本机，等待上传")).to_be_visible()
    return uuid


def test_three_offline_inspections_survive_a_reload_and_arrive_once(
    app, page: Page, live_server, grid, tmp_path
):
    go_offline_ready(page, live_server)
    big = kit.camera_photo(tmp_path / "IMG_0001.jpg")
    uuids = [
        queue_one(page, live_server, grid["a"], big),
        queue_one(page, live_server, grid["b"], kit.small_photo(tmp_path / "b.jpg")),
        queue_one(page, live_server, grid["a"], kit.small_photo(tmp_path / "c.jpg", (9, 9, 9))),
    ]
    assert len(set(uuids)) == 3  # each form opened offline got its own key
    expect(kit.header(page)).to_have_text("待上传 3 · 离线")
    queued = kit.outbox(page)
    assert [q["id"] for q in queued] == uuids
    # Shrunk on the phone before it was queued: a JPEG far smaller than the camera's.
    assert queued[0]["photos"][0]["type"] == "image/jpeg"
    assert queued[0]["photos"][0]["size"] < big.stat().st_size / 2

    page.reload()
    expect(kit.header(page)).to_have_text("待上传 3 · 离线")
    assert kit.inspections(app) == []

    page.context.set_offline(False)
    kit.wait_sent(page)
    rows = kit.inspections(app)
    assert sorted(r.client_uuid for r in rows) == sorted(uuids)
    assert [r.building.code for r in rows] == [grid["a"].code, grid["b"].code, grid["a"].code]
    photos = [p for r in rows for f in r.findings for p in f.photos]
    assert len(photos) == 3 and kit.photo_count(app) == 3
    # The camera photo: at most 1600 px, upright (it was shot sideways), capture time kept.
    camera = next(p for p in photos if p.width != 640)
    assert (camera.width, camera.height) == (1200, 1600)
    assert camera.taken_at == datetime(2026, 11, 20, 2, 11, 12, tzinfo=UTC)

    # In the building's plan and inspection record, and in the district ledger.
    page.goto(f"{live_server}/buildings/{grid['a'].id}")
    expect(page.locator(".card").filter(has_text="检查记录").locator("li")).to_have_count(2)
    page.goto(f"{live_server}/ledger/hazards")
    expect(page.get_by_text("滨江花园1栋").first).to_be_visible()
    expect(page.get_by_text("滨江花园2栋").first).to_be_visible()


def test_queue_survives_closing_the_tab(app, context, live_server, grid):
    page = context.new_page()
    go_offline_ready(page, live_server)
    uuid = queue_one(page, live_server, grid["b"])
    page.close()
    page = context.new_page()
    page.goto(f"{live_server}/")
    expect(kit.header(page)).to_have_text("待上传 1 · 离线")
    context.set_offline(False)
    kit.wait_sent(page)
    assert [r.client_uuid for r in kit.inspections(app)] == [uuid]


def test_queue_survives_a_browser_restart(
    app, playwright, live_server, grid, tmp_path, browser_type_launch_args, browser_context_args
):
    profile = tmp_path / "profile"
    options = {
        **browser_type_launch_args,
        **{k: v for k, v in browser_context_args.items() if k != "base_url"},
    }
    context = playwright.chromium.launch_persistent_context(profile, **options)
    page = context.pages[0] if context.pages else context.new_page()
    go_offline_ready(page, live_server)
    uuid = queue_one(page, live_server, grid["a"])
    context.close()  # the browser process ends

    context = playwright.chromium.launch_persistent_context(profile, **options)
    try:
        context.set_offline(True)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{live_server}/")  # served from the phone
        expect(kit.header(page)).to_contain_text("待上传 1")
        assert [q["id"] for q in kit.outbox(page)] == [uuid]
        assert kit.inspections(app) == []
        context.set_offline(False)
        page.goto(f"{live_server}/")
        if "/login" in page.url:  # a session cookie ends with the browser
            kit.login(page, live_server)
        kit.wait_sent(page)
    finally:
        context.close()
    assert [r.client_uuid for r in kit.inspections(app)] == [uuid]


def test_a_server_error_is_retried_with_back_off_and_makes_one_record(
    app, page: Page, live_server, grid
):
    go_offline_ready(page, live_server)
    uuid = queue_one(page, live_server, grid["b"])
    calls = []

    def first_fails(route):
        calls.append(route.request.method)
        if len(calls) == 1:
            route.fulfill(status=500, json={"error": "server_error", "message": "服务器出错了"})
        else:
            route.continue_()

    page.route(re.compile(r".*/api/v1/buildings/[^/]+/inspections$"), first_fails)
    page.context.set_offline(False)
    kit.eventually(page, lambda: len(calls), 1)
    kit.eventually(page, lambda: kit.outbox(page)[0]["attempts"], 1)
    waiting = kit.outbox(page)[0]
    assert waiting["state"] == "pending" and waiting["error"]["status"] == 500
    assert kit.inspections(app) == []
    # Nobody taps anything: the back-off timer sends it again.
    kit.wait_sent(page)
    assert calls == ["POST", "POST"]
    assert [r.client_uuid for r in kit.inspections(app)] == [uuid]


def test_a_response_lost_after_commit_is_sent_again_and_makes_one_record(
    app, page: Page, live_server, grid
):
    go_offline_ready(page, live_server)
    uuid = queue_one(page, live_server, grid["a"])
    statuses = []

    def lose_the_first_answer(route):
        response = route.fetch()  # the server gets it and commits
        statuses.append(response.status)
        if len(statuses) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    page.route(re.compile(r".*/api/v1/buildings/[^/]+/inspections$"), lose_the_first_answer)
    page.context.set_offline(False)
    kit.eventually(page, lambda: statuses, [201])
    assert len(kit.inspections(app)) == 1
    kit.eventually(page, lambda: kit.outbox(page)[0]["attempts"], 1)  # still waiting, rightly
    page.locator("#outbox [data-outbox-send]").tap()
    kit.wait_sent(page)
    assert statuses == [201, 200]  # the second answer is the replay
    assert [r.client_uuid for r in kit.inspections(app)] == [uuid]


def test_two_tabs_sending_the_same_inspection_make_one_record(
    app, context, live_server, grid, tmp_path
):
    first = context.new_page()
    kit.login(first, live_server)
    endpoint = re.compile(r".*/api/v1/buildings/[^/]+/inspections$")
    first.route(endpoint, lambda route: route.abort("connectionreset"))
    kit.open_form(first, live_server, grid["a"].id)
    uuid = first.input_value("input[name=client_uuid]")
    kit.answer_all_pass(first)
    kit.report_hazard(first, kit.small_photo(tmp_path / "p.jpg"))
    kit.submit(first)  # the photo goes up, the inspection does not: it waits in the outbox
    expect(first.get_by_role("status").filter(has_text="已保存在本机")).to_be_visible()
    first.unroute(endpoint)
    second = context.new_page()
    second.goto(f"{live_server}/outbox")
    expect(second.locator(".outbox-item")).to_have_count(1)
    # Both tabs send it at once, bypassing the lock that normally lets only one tab send.
    start = """id => { window.sent = InspectOutbox.probe().then(s =>
                 InspectOutbox.get(id).then(item => InspectOutbox.sendItem(item, s))); }"""
    first.evaluate(start, uuid)
    second.evaluate(start, uuid)
    results = [first.evaluate("() => window.sent"), second.evaluate("() => window.sent")]
    assert [r["state"] for r in results] == ["sent", "sent"]
    assert results[0]["url"] == results[1]["url"]
    rows = kit.inspections(app)
    assert [r.client_uuid for r in rows] == [uuid]
    assert sum(len(f.photos) for f in rows[0].findings) == 1


def test_a_token_that_expired_while_offline_does_not_stop_the_upload(
    app, page: Page, live_server, grid, monkeypatch
):
    go_offline_ready(page, live_server)
    kit.open_form(page, live_server, grid["b"].id)
    token = page.input_value("input[name=csrf_token]")
    uuid = queue_one(page, live_server, grid["b"])
    # Two hours pass with no signal; the form's CSRF token lives one.
    now = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now(self) + 7200
    )
    stale = page.request.post(
        f"{live_server}/api/v1/photos",
        headers={"X-CSRFToken": token},
        multipart={"photo": {"name": "x.jpg", "mimeType": "image/jpeg", "buffer": b"x"}},
    )
    assert stale.status == 400 and "令牌" in stale.json()["message"]
    page.context.set_offline(False)
    kit.wait_sent(page)
    assert [r.client_uuid for r in kit.inspections(app)] == [uuid]


def test_a_rejected_inspection_is_parked_shown_and_can_be_fixed(
    app, page: Page, live_server, grid, tmp_path
):
    go_offline_ready(page, live_server)
    kit.open_form(page, live_server, grid["a"].id)
    rejected = page.input_value("input[name=client_uuid]")
    kit.answer_all_pass(page)
    followup = page.locator("fieldset.followup")
    expect(followup.locator("legend")).to_have_text("楼道堆放杂物")
    followup.locator("label.seg-present").tap()
    kit.report_hazard(page, kit.small_photo(tmp_path / "a.jpg"))
    kit.submit(page)
    expect(page.get_by_role("status").filter(has_text="已保存在本机")).to_be_visible()
    accepted = queue_one(page, live_server, grid["b"])
    # Meanwhile the hazard was closed at the office: re-checking it is no longer possible.
    with app.app_context():
        db.session.execute(update(Hazard).values(status="closed"))
        db.session.commit()

    page.context.set_offline(False)
    expect(kit.header(page)).to_have_text("待上传 1 · 需处理 1", timeout=15_000)
    assert [r.client_uuid for r in kit.inspections(app)] == [accepted]
    parked = kit.outbox(page)
    assert [(q["id"], q["state"], q["error"]["status"]) for q in parked] == [
        (rejected, "parked", 422)
    ]
    page.goto(f"{live_server}/outbox")
    row = page.locator(".outbox-item.state-parked")
    expect(row).to_contain_text("服务器拒收（422）：提交的数据有误")
    expect(row.locator(".errors")).to_contain_text("楼道堆放杂物：该隐患不是本楼待整改的隐患")
    page.reload()  # parked is kept, not dropped
    expect(page.locator(".outbox-item.state-parked")).to_have_count(1)

    # 打开修改: the form comes back filled in, with the server's message; sending again works.
    page.locator(".outbox-item").get_by_role("link", name="打开修改").tap()
    expect(page.locator("form.inspection")).to_have_attribute("data-ready", "1")
    assert page.input_value("input[name=client_uuid]") == rejected
    expect(page.locator("fieldset.followup")).to_have_count(0)  # the hazard is closed
    assert page.locator('input[name$="-result"][value=fail]:checked').count() == 1
    files = page.eval_on_selector_all(
        "input[type=file]", "els => els.reduce((n, e) => n + e.files.length, 0)"
    )
    assert files == 1
    kit.submit(page)
    expect(page.get_by_text("检查已提交")).to_be_visible()
    rows = kit.inspections(app)
    assert sorted(r.client_uuid for r in rows) == sorted([accepted, rejected])
    assert kit.outbox(page) == []
