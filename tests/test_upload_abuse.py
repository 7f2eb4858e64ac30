"""Hostile uploads through the real endpoints (photo API, inspection form and JSON API):
disguised files, truncated images, a decompression bomb, too many files. Every one is refused
with a clear message, nothing of the inspection is written, and what is served is a JPEG."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image
from sqlalchemy import select

from inspect_app.db import db
from inspect_app.inspections import MAX_PHOTOS_PER_FIELD, MAX_PHOTOS_PER_SUBMISSION
from inspect_app.models import Inspection, Photo
from tests import test_inspections
from tests.conftest import login
from tests.test_inspections import count, form_data, index_of, post_form
from tests.test_photos import png

# The inspection tests' fixtures: a building with its applicable items, an inspector's token.
site = test_inspections.site
token = test_inspections.token

HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(2)</script></svg>"
)


def jpeg(width=64, height=48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def noisy_png() -> bytes:
    buf = io.BytesIO()
    noise = random.Random(8).randbytes(128 * 128)
    Image.frombytes("L", (128, 128), noise).save(buf, "PNG")
    return buf.getvalue()


def upload(client, headers, raw: bytes, name="photo.jpg"):
    return client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(raw), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(HTML, id="html-named-jpg"),
        pytest.param(b"\xff\xd8\xff\xe0" + HTML, id="html-behind-jpeg-magic"),
        pytest.param(SVG, id="svg-named-jpg"),
        pytest.param(jpeg()[:300], id="truncated-jpeg"),
        pytest.param(noisy_png()[:2000], id="truncated-png"),
        pytest.param(b"", id="empty"),
        pytest.param(b"GIF89a" + b"\x00" * 40, id="broken-gif"),
    ],
)
def test_photo_api_refuses_what_is_not_an_image(app, client, site, token, raw):
    response = upload(client, token, raw)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "invalid_photo"
    assert response.json["message"]  # a sentence for the person, in Chinese
    assert count(app, Photo) == 0


def test_png_bomb_is_refused_before_it_is_decoded(app, client, site, token):
    """20,000 × 20,000 pixels in a few tens of KB: refused from its header (the pixel count),
    so the 400 MB it would take decoded are never allocated (speed: bench, not here)."""
    bomb = png(20_000, 20_000)
    assert len(bomb) < 200_000
    response = upload(client, token, bomb, "bomb.png")
    assert response.status_code == 422
    assert response.json["error"] == "invalid_photo"
    assert count(app, Photo) == 0


def test_form_refuses_disguised_photos_and_writes_nothing(app, client, site):
    login(client, "inspector")
    data = form_data(site, {site["plain"]: {"result": "fail"}})
    i = index_of(site, site["plain"])
    data[f"findings-{i}-photos"] = [(io.BytesIO(HTML), "evil.jpg"), (io.BytesIO(SVG), "x.jpg")]
    response = post_form(client, site, data)
    assert response.status_code in (400, 422)
    text = response.get_data(as_text=True)
    assert "第 1 张照片" in text and "第 2 张照片" in text
    assert "<script>alert" not in text
    assert count(app, Inspection) == 0 and count(app, Photo) == 0


def test_too_many_photos_on_one_finding(app, client, site):
    login(client, "inspector")
    data = form_data(site, {site["plain"]: {"result": "fail"}})
    i = index_of(site, site["plain"])
    n = MAX_PHOTOS_PER_FIELD + 1
    data[f"findings-{i}-photos"] = [(io.BytesIO(jpeg()), f"{k}.jpg") for k in range(n)]
    response = post_form(client, site, data)
    assert response.status_code in (400, 422)
    assert f"每项最多 {MAX_PHOTOS_PER_FIELD} 张照片" in response.get_data(as_text=True)
    assert count(app, Inspection) == 0
    # Refused before decoding: not even the good photos were kept as pending uploads.
    assert count(app, Photo) == 0


def test_too_many_photos_in_one_submission(app, client, site, token):
    """Through the JSON API with earlier uploads referenced: the per-submission limit holds
    even when every field is within its own."""
    body = {"client_uuid": "6f1c3a2e-0000-4000-8000-000000000001", "kind": "survey"}
    findings = []
    per_field = MAX_PHOTOS_PER_FIELD
    fields = MAX_PHOTOS_PER_SUBMISSION // per_field + 1
    for k, (code, _) in enumerate(list(site["answers"].items())[:fields]):
        refs = [f"{k:02d}{j:02d}".ljust(64, "0") for j in range(per_field)]
        findings.append({"item": code, "result": "fail", "photo_refs": refs})
    body["findings"] = findings
    url = f"/api/v1/buildings/{site['building'].code}/inspections"
    response = client.post(url, json=body, headers=token)
    assert response.status_code in (400, 422), response.json
    assert any(
        f"一次提交最多 {MAX_PHOTOS_PER_SUBMISSION} 张照片" in m for m in response.json["errors"][""]
    )
    assert count(app, Inspection) == 0


def test_served_photos_are_jpeg_with_nosniff(app, client, site, token):
    """Whatever was uploaded (here a PNG), what comes back is a re-encoded JPEG that a browser
    is told not to sniff."""
    login(client, "inspector")
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(buf, "PNG")
    assert upload(client, token, buf.getvalue(), "p.png").status_code == 201
    with app.app_context():
        photo_id = db.session.scalar(select(Photo.id))
    for url in (f"/photos/{photo_id}", f"/photos/{photo_id}/thumb"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.data[:3] == b"\xff\xd8\xff"
        assert "attachment" in response.headers["Content-Disposition"] or (
            "inline" in response.headers["Content-Disposition"]
        )
