"""Photos are served only inside the scope of the building they document, always as JPEG;
the sweep removes unused uploads and orphan files and nothing else."""

import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from inspect_app.db import db
from inspect_app.models import Photo
from inspect_app.photos import store_from_config

from .conftest import login
from .test_inspections import jpeg, site, token  # noqa: F401  (fixtures)


def _upload(client, headers, colour=(10, 10, 200)):
    response = client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(jpeg(colour)), "p.jpg")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    return response.json["sha256"]


def test_pending_photo_is_visible_only_to_its_uploader(app, client, site, token, make):
    sha = _upload(client, token)
    with app.app_context():
        photo_id = db.session.scalar(select(Photo.id).where(Photo.sha256 == sha))
    response = client.get(f"/photos/{photo_id}/thumb", headers=token)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data[:3] == b"\xff\xd8\xff"
    make.user("fire", "fire", site["building"].area)
    other = app.test_client()
    login(other, "fire")
    assert other.get(f"/photos/{photo_id}").status_code == 404
    assert app.test_client().get(f"/photos/{photo_id}").status_code == 302


def test_sweep_removes_stale_pending_uploads_and_orphans_only(app, client, site, token):
    keep = _upload(client, token, (1, 2, 3))
    stale = _upload(client, token, (200, 200, 0))
    with app.app_context():
        old = db.session.scalar(select(Photo).where(Photo.sha256 == stale))
        old.created_at = datetime.now(UTC) - timedelta(days=10)
        db.session.commit()
    store = store_from_config(app.config)
    orphan = "ab" * 32
    store.put(orphan, jpeg(), jpeg())
    result = app.test_cli_runner().invoke(args=["sweep-photos", "--grace-hours", "1"])
    assert result.exit_code == 0, result.output
    # Files younger than the grace period stay even when unreferenced (uploads in flight).
    assert "removed 1 unused uploads" in result.output
    assert store.exists(keep) and store.exists(stale) and store.exists(orphan)
    with app.app_context():
        assert db.session.scalars(select(Photo.sha256)).all() == [keep]
