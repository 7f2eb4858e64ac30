"""Residents' reports: sent from the public page with a photo, throttled, queued for the grid,
confirmed into a hazard or dismissed, each exactly once."""

import io
import re
import threading

from PIL import Image
from sqlalchemy import func, select

from inspect_app import ratelimits
from inspect_app.db import db
from inspect_app.models import Hazard, Photo, RateLimitWindow, Report
from inspect_app.photo_stores import store_from_config

from . import code_site as fixtures
from .code_site import form_token, jpeg, token_of
from .conftest import Builders, csrf_from, fresh_database_url, login, make_test_app

code_site = fixtures.code_site  # the fixture shared by the fire safety code tests


def send(
    client,
    token,
    description="5 楼楼道电动自行车在充电",
    photos=(),
    contact="",
    csrf_url=None,
    **environ,
):
    url = f"/c/{token}/report"
    data = {
        "csrf_token": csrf_from(client, csrf_url or url),
        "description": description,
        "contact": contact,
        "photos": [(io.BytesIO(raw), name) for raw, name in photos],
    }
    return client.post(url, data=data, content_type="multipart/form-data", **environ)


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (80, 60), (10, 120, 200))
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (29.0, 1.0, 30.0), 3: "E", 4: (106.0, 39.0, 0.0)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_a_resident_reports_with_a_photo_and_the_grid_sees_it(app, client, code_site):
    a = code_site["a"]
    response = send(
        client, token_of(app, a), photos=[(jpeg_with_gps(), "p.jpg")], contact="13800000000"
    )
    assert response.status_code == 302
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "谢谢，举报已收到" in thanks
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.status == "new" and report.building_id == a.id
        assert report.contact == "13800000000" and len(report.client_key) == 32
        assert "127.0.0.1" not in report.client_key
        [photo] = report.photos
        assert photo.uploaded_by_id is None and photo.purpose == "report"
        stored = store_from_config(app.config).read(photo.sha256)
        assert Image.open(io.BytesIO(stored)).getexif() == {}  # no GPS leaves the server
        photo_id, report_id = photo.id, report.id
    inspector = app.test_client()
    login(inspector, "inspector")
    queue = inspector.get("/reports").get_data(as_text=True)
    assert "滨江花园1栋" in queue and "电动自行车在充电" in queue and "待核实 1 条" in queue
    page = inspector.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "13800000000" in page and f"/photos/{photo_id}/thumb" in page
    assert inspector.get(f"/photos/{photo_id}").status_code == 200
    # Another grid's worker does not see it; a manager neither works the queue nor sees the
    # resident's photo, even of their own building.
    other = app.test_client()
    login(other, "inspector2")
    assert "滨江花园1栋" not in other.get("/reports").get_data(as_text=True)
    assert other.get(f"/reports/{report_id}").status_code == 404
    manager = app.test_client()
    login(manager, "manager")
    assert manager.get("/reports").status_code == 403
    assert manager.get(f"/photos/{photo_id}").status_code == 404


def test_confirming_puts_a_hazard_on_the_plan_once(app, client, code_site):
    a = code_site["a"]
    assert send(client, token_of(app, a), photos=[(jpeg(), "p.jpg")]).status_code == 302
    with app.app_context():
        report_id = db.session.scalar(select(Report.id))
    inspector = app.test_client()
    login(inspector, "inspector")
    page = inspector.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "金科物业" in page  # the plan's default responsible party
    form = {
        "confirm-csrf_token": form_token(page, "confirm-csrf_token"),
        "confirm-category": "LIFE",
        "confirm-severity": "general",
        "confirm-description": "5 楼楼道电动自行车充电",
        "confirm-responsible_party": "金科物业",
        "confirm-deadline": "2099-01-31",
        "confirm-note": "现场核实属实",
    }
    response = inspector.post(f"/reports/{report_id}/confirm", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        report = db.session.get(Report, report_id)
        hazard = report.hazard
        assert report.status == "confirmed" and report.reviewed_by.username == "inspector"
        assert hazard.status == "open" and hazard.category == "LIFE"
        assert hazard.description == "5 楼楼道电动自行车充电"
        assert str(hazard.deadline) == "2099-01-31"
        assert hazard.events[0].action == "created"
        assert hazard.events[0].data == {"report_id": report_id}
        assert [p.hazard_id for p in report.photos] == [hazard.id]
    public = client.get(f"/c/{token_of(app, a)}", headers={"Accept": "application/json"})
    assert public.get_json()["colour"] == "yellow"
    # A second decision, confirm or dismiss, changes nothing and shows what happened.
    again = inspector.post(f"/reports/{report_id}/confirm", data=form)
    assert again.status_code == 409 and "已经有人处理过了" in again.get_data(as_text=True)
    page = inspector.get(f"/reports/{report_id}").get_data(as_text=True)
    assert f"/reports/{report_id}/confirm" not in page and "已确认为隐患" in page
    token = csrf_from(inspector, f"/reports/{report_id}")
    dismiss = inspector.post(
        f"/reports/{report_id}/dismiss",
        data={"dismiss-csrf_token": token, "dismiss-note": "重复"},
    )
    assert dismiss.status_code == 409
    assert count(app, Hazard) == 1


def test_dismissing_needs_a_reason(app, client, code_site):
    a = code_site["a"]
    send(client, token_of(app, a))
    with app.app_context():
        report_id = db.session.scalar(select(Report.id))
    street = app.test_client()
    login(street, "street")
    page = street.get(f"/reports/{report_id}").get_data(as_text=True)
    token = form_token(page, "dismiss-csrf_token")
    empty = street.post(f"/reports/{report_id}/dismiss", data={"dismiss-csrf_token": token})
    assert empty.status_code == 422 and "请写明不予采纳的原因" in empty.get_data(as_text=True)
    done = street.post(
        f"/reports/{report_id}/dismiss",
        data={"dismiss-csrf_token": token, "dismiss-note": "现场核查无此情况"},
    )
    assert done.status_code == 302
    with app.app_context():
        report = db.session.get(Report, report_id)
        assert report.status == "dismissed" and report.review_note == "现场核查无此情况"
    assert count(app, Hazard) == 0


def test_two_simultaneous_decisions_make_one(app, code_site):
    """Two reviewers press their buttons at the same moment: one hazard, one 409."""
    a = code_site["a"]
    send(app.test_client(), token_of(app, a))
    with app.app_context():
        report_id = db.session.scalar(select(Report.id))
    clients, forms = [], []
    for username in ("inspector", "street"):
        c = app.test_client()
        login(c, username)
        page = c.get(f"/reports/{report_id}").get_data(as_text=True)
        forms.append(
            {
                "confirm-csrf_token": form_token(page, "confirm-csrf_token"),
                "confirm-category": "LIFE",
                "confirm-severity": "minor",
                "confirm-description": "楼道堆物",
            }
        )
        clients.append(c)
    barrier = threading.Barrier(2)
    codes = []

    def go(c, form):
        barrier.wait()
        codes.append(c.post(f"/reports/{report_id}/confirm", data=form).status_code)

    threads = [threading.Thread(target=go, args=pair) for pair in zip(clients, forms, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [302, 409]
    assert count(app, Hazard) == 1


def test_bad_photos_are_explained_and_nothing_is_stored(app, client, code_site):
    token = token_of(app, code_site["a"])
    cases = [
        (
            [(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.jpg")],
            "文件不是 JPEG、PNG 或 WebP 图片",
        ),
        ([(jpeg()[:200], "cut.jpg")], "图片已损坏或不完整"),
        ([(jpeg(), f"{n}.jpg") for n in range(4)], "最多上传 3 张照片"),
    ]
    for photos, message in cases:
        response = send(client, token, photos=photos)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and message in html, message
        assert "5 楼楼道电动自行车在充电" in html  # what was written is kept
    short = send(client, token, description="火")
    assert short.status_code == 422 and "请用 5 到 1000 个字描述问题" in short.get_data(
        as_text=True
    )
    bad_phone = send(client, token, contact="call me")
    assert "请填写有效的电话号码" in bad_phone.get_data(as_text=True)
    assert count(app, Report) == 0 and count(app, Photo) == 0


def test_oversized_photos_get_a_clear_message(app, client, code_site, monkeypatch):
    token = token_of(app, code_site["a"])
    monkeypatch.setitem(app.config, "REPORT_MAX_PHOTO_BYTES", 1024 * 1024)
    big = io.BytesIO()
    Image.effect_noise((900, 900), 100).convert("RGB").save(big, "PNG")
    assert len(big.getvalue()) > 1024 * 1024
    response = send(client, token, photos=[(big.getvalue(), "big.png")])
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "第 1 张照片太大（超过 1 MB）" in html
    # Beyond the request limit the body is refused before it is read, still in plain words.
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 512 * 1024)
    response = send(client, token, photos=[(big.getvalue(), "big.png")])
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "上传的照片太大了" in html and f"/c/{token}/report" in html
    assert count(app, Report) == 0


def test_flooding_the_form_gets_429_with_a_friendly_message(app, client, code_site, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_LIMIT_PER_ADDRESS", (3, 900))
    token = token_of(app, code_site["a"])
    flood = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    assert send(client, token, **flood).status_code == 302
    assert send(client, token, description="x", **flood).status_code == 422  # counts too
    # Posting to tokens that do not exist counts as well: no free guesses.
    missing = send(client, "nonexistent-token-123", csrf_url=f"/c/{token}", **flood)
    assert missing.status_code == 404
    response = send(client, token, **flood)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "提交太频繁了" in response.get_data(as_text=True)
    json_response = client.post(
        f"/c/{token}/report",
        data={"csrf_token": csrf_from(client, f"/c/{token}")},
        headers={"Accept": "application/json"},
        **flood,
    )
    assert json_response.status_code == 429
    assert json_response.get_json()["error"] == "too_many_requests"
    # Someone else, elsewhere, is not affected; the page itself is never throttled.
    other = {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}}
    assert send(app.test_client(), token, **other).status_code == 302
    assert client.get(f"/c/{token}", **flood).status_code == 200
    assert count(app, Report) == 2


def test_one_building_takes_a_bounded_number_of_reports(app, code_site, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_LIMIT_PER_BUILDING", (2, 3600))
    a, b = code_site["a"], code_site["b"]
    statuses = []
    for n in range(3):
        c = app.test_client()
        statuses.append(
            send(c, token_of(app, a), environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
        )
    assert statuses == [302, 302, 429]
    assert send(app.test_client(), token_of(app, b)).status_code == 302
    assert count(app, Report) == 3


def test_rate_windows_count_atomically_and_expire(app):
    with app.app_context():
        t0 = 1_700_000_000
        verdicts = [ratelimits.hit(db.session, "k", limit=2, window=60, now=t0) for _ in range(3)]
        assert [v.allowed for v in verdicts] == [True, True, False]
        assert [v.count for v in verdicts] == [1, 2, 3]
        assert verdicts[0].retry_after == 60 - t0 % 60
        # The next window starts afresh, and the old one is purged.
        assert ratelimits.hit(db.session, "k", limit=2, window=60, now=t0 + 60).count == 1
        db.session.commit()
        rows = db.session.scalars(select(RateLimitWindow)).all()
        assert [(r.key, r.count) for r in rows] == [("k", 1)]


def test_parallel_hits_lose_no_count(app):
    """Twenty workers, each with its own connection, hit one key at once."""
    barrier = threading.Barrier(20)
    counts, errors = [], []

    def worker():
        with app.app_context():
            barrier.wait()
            try:
                verdict = ratelimits.hit(db.session, "shared", limit=10, window=3600)
                db.session.commit()
                counts.append(verdict.count)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(counts) == list(range(1, 21))


def test_client_key_is_a_keyed_digest():
    one = ratelimits.client_key("secret", "203.0.113.9")
    assert one == ratelimits.client_key("secret", "203.0.113.9")
    assert one != ratelimits.client_key("other secret", "203.0.113.9")
    assert one != ratelimits.client_key("secret", "203.0.113.10")
    assert re.fullmatch(r"[0-9a-f]{32}", one) and "203" not in one


def test_behind_a_proxy_each_resident_counts_alone(tmp_path):
    """With PROXY_HOPS=1 the address is the one our proxy saw, not the proxy's, and an address
    a client writes into X-Forwarded-For itself is not believed."""
    proxied = make_test_app(
        tmp_path,
        fresh_database_url(tmp_path),
        PROXY_HOPS=1,
        REPORT_LIMIT_PER_ADDRESS=(1, 900),
    )
    with proxied.app_context():
        from flask_migrate import upgrade

        upgrade()
    make = Builders(proxied)
    grid = make.area("G", "grid")
    token = token_of(proxied, make.building(grid))
    client = proxied.test_client()

    def from_(chain):
        return send(client, token, headers={"X-Forwarded-For": chain})

    assert from_("203.0.113.1").status_code == 302
    assert from_("203.0.113.1").status_code == 429
    assert from_("198.51.100.2").status_code == 302  # another resident, same proxy
    assert from_("192.0.2.99, 203.0.113.1").status_code == 429  # a forged first hop
    with proxied.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 2
        db.engine.dispose()
