"""What the offline browser tests share: logging in, filling the inspection form the way a
worker would, reading the phone's outbox and the server's records."""

from __future__ import annotations

import io
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from inspect_app.db import db
from inspect_app.models import Inspection, Photo

from ..conftest import PASSWORD


def login(page: Page, base: str, username: str = "inspector") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").tap()
    expect(page.locator("#outbox")).to_have_attribute("data-user", username)


def wait_offline_ready(page: Page) -> None:
    """The service worker has kept the user's pages, form template and pack."""
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "1", timeout=20_000)


def camera_photo(path: Path, size=(3200, 2400), taken="2026:11:20 10:11:12") -> Path:
    """A phone-camera-like JPEG: large, sideways with EXIF Orientation 6, with a capture time."""
    image = Image.new("RGB", size, (170, 40, 40))
    image.paste((20, 20, 200), (0, 0, size[0] // 4, size[1] // 4))
    exif = image.getexif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = taken
    image.save(path, "JPEG", quality=92, exif=exif.tobytes())
    return path


def small_photo(path: Path, colour=(30, 140, 60)) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def open_form(page: Page, base: str, building_id: int) -> None:
    page.goto(f"{base}/buildings/{building_id}/inspections/new")
    expect(page.locator("form.inspection")).to_have_attribute("data-ready", "1")


def answer_all_pass(page: Page) -> int:
    """Answer every item: pass, or 不适用 for readings. Returns the number of items."""
    return page.evaluate(
        """() => {
          const items = document.querySelectorAll('fieldset.item[id^="item-"]');
          for (const fs of items) {
            const na = fs.querySelector('input[type=checkbox][value=na]');
            if (na) na.checked = true;
            else fs.querySelector('input[name$="-result"][value=pass]').checked = true;
          }
          return items.length;
        }"""
    )


def report_hazard(page: Page, photo: Path | None = None, nth: int = 0) -> str:
    """Tap 隐患 on the nth plain item (no on-the-spot fix), attach a photo; its item code."""
    fieldset = page.locator(
        'fieldset.item[id^="item-"]:not(.numeric):not(:has(input[name$="-disposition"]))'
    ).nth(nth)
    fieldset.locator("label.seg-fail").tap()
    if photo is not None:
        fieldset.locator('input[type=file][name$="-photos"]').first.set_input_files(str(photo))
    return fieldset.get_attribute("id").removeprefix("item-")


def submit(page: Page) -> None:
    page.get_by_role("button", name="提交检查").tap()


def outbox(page: Page) -> list[dict]:
    return page.evaluate(
        """() => InspectOutbox.all().then(list => list.map(i => ({
             id: i.id, state: i.state, attempts: i.attempts, error: i.error, user: i.user,
             code: i.building.code, photos: i.photos.map(p => ({size: p.blob.size,
             type: p.blob.type, sha256: p.sha256}))})))"""
    )


def header(page: Page):
    return page.locator("#outbox .outbox-count")


def inspections(app) -> list[Inspection]:
    with app.app_context():
        rows = db.session.scalars(select(Inspection).order_by(Inspection.id)).all()
        for row in rows:
            _ = row.building.code, [f.photos for f in row.findings]
        db.session.expunge_all()
        return rows


def photo_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Photo))


def eventually(page: Page, read, expected, timeout_ms: int = 10_000):
    """Wait until ``read()`` equals ``expected`` (the browser keeps running meanwhile)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = read()
        if value == expected or time.monotonic() > deadline:
            assert value == expected
            return value
        page.wait_for_timeout(50)


def wait_sent(page: Page, timeout_ms: int = 15_000) -> None:
    """Everything on the phone has been sent: the outbox is empty and the header says so."""
    eventually(page, lambda: outbox(page), [], timeout_ms)
    expect(page.locator("#outbox")).to_be_hidden()
