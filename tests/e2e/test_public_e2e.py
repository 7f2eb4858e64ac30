"""A resident scans a building's fire safety code on a phone, reads it, and reports a hazard
with a photo; a grid worker who scans the same code lands on the inspection form."""

import io

from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from inspect_app.db import db
from inspect_app.models import Report

from .. import code_site as fixtures
from ..code_site import add_hazard, token_of
from ..conftest import PASSWORD

code_site = fixtures.code_site  # the fixture shared by the fire safety code tests

PHONE_CHECKS = """() => ({
  fits: document.documentElement.scrollWidth <= window.innerWidth,
  small: [...document.querySelectorAll('button, .button, input:not([type=hidden]), textarea')]
    .filter(e => e.offsetParent && e.getBoundingClientRect().height < 44)
    .map(e => e.outerHTML),
})"""


def photo_file() -> dict:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (180, 40, 40)).save(buf, "JPEG", quality=85)
    return {"name": "corridor.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}


def test_a_resident_reads_the_code_and_reports_a_hazard(page: Page, live_server, app, code_site):
    a = code_site["a"]
    add_hazard(app, a, category="LIFE", description="五楼楼道堆放纸箱")
    page.goto(f"{live_server}/c/{token_of(app, a)}")
    expect(page.get_by_role("heading", name="滨江花园1栋")).to_be_visible()
    expect(page.locator(".public-colour")).to_have_text("黄码")
    expect(page.get_by_text("1 项问题正在整改")).to_be_visible()
    expect(page.get_by_text("五楼楼道堆放纸箱")).to_have_count(0)
    expect(page.get_by_role("link", name="139-0000-1111")).to_have_attribute(
        "href", "tel:139-0000-1111"
    )
    expect(page.get_by_text("电动自行车不要在楼道")).to_be_visible()
    checks = page.evaluate(PHONE_CHECKS)
    assert checks == {"fits": True, "small": []}

    page.get_by_role("link", name="举报消防隐患").tap()
    expect(page.get_by_role("heading", name="举报消防隐患")).to_be_visible()
    checks = page.evaluate(PHONE_CHECKS)
    assert checks == {"fits": True, "small": []}
    # Sending too little is explained, and nothing typed is lost.
    page.get_by_label("联系电话").fill("13800000000")
    page.get_by_role("button", name="提交举报").tap()
    expect(page.get_by_text("请写下您发现的问题")).to_be_visible()
    expect(page.get_by_label("联系电话")).to_have_value("13800000000")
    page.get_by_label("发现了什么问题").fill("3 楼楼梯间有电动自行车在充电")
    page.get_by_label("照片").set_input_files(photo_file())
    page.get_by_role("button", name="提交举报").tap()
    expect(page.get_by_role("heading", name="谢谢，举报已收到")).to_be_visible()
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.description == "3 楼楼梯间有电动自行车在充电"
        assert report.contact == "13800000000" and len(report.photos) == 1
    page.get_by_role("link", name="返回本楼消防安全码").tap()
    expect(page.locator(".public-colour")).to_have_text("黄码")


def test_a_grid_worker_who_scans_lands_on_the_inspection_form(
    page: Page, live_server, app, code_site, checklist
):
    a = code_site["a"]
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("inspector")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").tap()
    expect(page.get_by_role("heading", name="我的网格楼栋")).to_be_visible()
    page.goto(f"{live_server}/c/{token_of(app, a)}")
    expect(page).to_have_url(f"{live_server}/buildings/{a.id}/inspections/new")
    expect(page.get_by_role("heading", name="检查：滨江花园1栋")).to_be_visible()
