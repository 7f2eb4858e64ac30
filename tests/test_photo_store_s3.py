"""The S3-compatible photo store against moto's standalone S3 server on loopback.

moto's server speaks the S3 HTTP API, so boto3 goes through its real request path (signing,
Content-MD5, errors); only the far side of the wire is a stand-in, as for MinIO in a deployment.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer
from PIL import Image
from sqlalchemy import select

from inspect_app.auth import issue_token
from inspect_app.db import db
from inspect_app.models import Photo, User
from inspect_app.photo_stores import (
    LocalPhotoStore,
    S3PhotoStore,
    check_store_config,
    store_from_config,
    sweep_orphans,
)

from .conftest import make_test_app


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """An S3 endpoint URL on 127.0.0.1, with credentials for it in the standard variables and
    the machine's own AWS files hidden."""
    empty = tmp_path_factory.mktemp("aws") / "none"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "inspect-test")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "inspect-test-secret")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", str(empty))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture(scope="module")
def s3_client(s3_endpoint):
    """One client made the way the app makes it, shared by the tests (making one costs ~0.2 s)."""
    return S3PhotoStore.connect("unused", endpoint_url=s3_endpoint).client


@pytest.fixture
def bucket(s3_client):
    name = f"photos-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def store(s3_client, bucket):
    return S3PhotoStore(bucket, client=s3_client)


@pytest.fixture
def operations(s3_client):
    """(operation, key) of every S3 request the shared client sends during the test."""
    seen: list[tuple[str, str | None]] = []

    def record(params, model, **_):
        seen.append((model.name, params.get("Key")))

    s3_client.meta.events.register("before-parameter-build.s3.*", record, unique_id="rec")
    yield seen
    s3_client.meta.events.unregister("before-parameter-build.s3.*", unique_id="rec")


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keys(store: S3PhotoStore) -> list[str]:
    listing = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(o["Key"] for o in listing.get("Contents", ()))


def test_put_read_exists_delete_round_trip(store):
    data, thumb = b"\xff\xd8\xff photo", b"\xff\xd8\xff thumb"
    sha = sha_of(data)
    assert not store.exists(sha)
    store.put(sha, data, thumb)
    assert store.exists(sha)
    assert store.read(sha) == data and store.read(sha, thumb=True) == thumb
    assert keys(store) == [f"photos/{sha[:2]}/{sha}.jpg", f"photos/{sha[:2]}/{sha}.thumb.jpg"]
    head = store.client.head_object(Bucket=store.bucket, Key=f"photos/{sha[:2]}/{sha}.jpg")
    assert head["ContentType"] == "image/jpeg"
    store.delete(sha)
    assert not store.exists(sha) and keys(store) == []
    with pytest.raises(FileNotFoundError):
        store.read(sha)
    with pytest.raises(FileNotFoundError):
        store.read(sha, thumb=True)
    store.delete(sha)  # deleting what is gone is fine


def test_storing_a_stored_sha_uploads_nothing_and_keeps_the_bytes(store, operations):
    data = b"original"
    sha = sha_of(data)
    store.put(sha, data, b"thumb")
    operations.clear()
    store.put(sha, b"different bytes", b"different thumb")
    # Refreshed in place (server-side copies, so the sweep sees it as recent), never rewritten.
    assert [op for op, _ in operations] == ["CopyObject", "CopyObject"]
    assert store.read(sha) == data and store.read(sha, thumb=True) == b"thumb"


def test_a_new_photo_is_written_thumbnail_first(store, operations):
    operations.clear()
    sha = sha_of(b"new")
    store.put(sha, b"new", b"t")
    # The thumbnail goes first, so a stored photo always has its thumbnail.
    assert [key for op, key in operations if op == "PutObject"] == [
        f"photos/{sha[:2]}/{sha}.thumb.jpg",
        f"photos/{sha[:2]}/{sha}.jpg",
    ]


def test_bad_sha_is_refused_before_any_request(store, operations):
    operations.clear()
    for bad in ("abc", "A" * 64, "../" + "a" * 61, 42):
        with pytest.raises(ValueError):
            store.put(bad, b"x", b"y")
        with pytest.raises(ValueError):
            store.exists(bad)
    assert operations == []


def test_iter_shas_lists_each_sha_once_and_ignores_foreign_keys(store):
    shas = sorted(sha_of(bytes([n])) for n in range(5))
    for sha in shas:
        store.put(sha, b"p", b"t")
    # A thumbnail left alone (crash between the two puts) is still listed, so it gets swept.
    lone = sha_of(b"lonely")
    store.client.put_object(
        Bucket=store.bucket, Key=f"photos/{lone[:2]}/{lone}.thumb.jpg", Body=b"t"
    )
    for foreign in ("photos/readme.txt", f"photos/zz/{shas[0]}.jpg", f"other/{shas[1][:2]}/x"):
        store.client.put_object(Bucket=store.bucket, Key=foreign, Body=b"x")
    listed = list(store.iter_shas())
    assert sorted(sha for sha, _ in listed) == sorted([*shas, lone])
    now = datetime.now(UTC).timestamp()
    assert all(now - 300 < mtime <= now + 300 for _, mtime in listed)


def test_prefix_separates_stores_in_one_bucket(s3_client, bucket):
    a = S3PhotoStore(bucket, client=s3_client, prefix="district-a")
    b = S3PhotoStore(bucket, client=s3_client, prefix="district-b/")
    assert a.prefix == "district-a/"
    sha = sha_of(b"a")
    a.put(sha, b"a", b"t")
    assert a.exists(sha) and not b.exists(sha)
    assert [s for s, _ in a.iter_shas()] == [sha] and list(b.iter_shas()) == []


def test_sweep_deletes_only_old_unreferenced_objects(store):
    keep, drop = sha_of(b"keep"), sha_of(b"drop")
    store.put(keep, b"keep", b"t1")
    store.put(drop, b"drop", b"t2")
    now = datetime.now(UTC)
    # Within the grace period nothing goes, referenced or not.
    assert sweep_orphans(store, {keep}, older_than=timedelta(hours=1), now=now) == []
    later = now + timedelta(hours=2)
    assert sweep_orphans(store, {keep}, older_than=timedelta(hours=1), now=later) == [drop]
    assert store.exists(keep) and not store.exists(drop)
    assert keys(store) == [f"photos/{keep[:2]}/{keep}.jpg", f"photos/{keep[:2]}/{keep}.thumb.jpg"]


def test_a_missing_bucket_is_an_error_not_a_missing_photo(s3_client):
    store = S3PhotoStore(f"absent-{uuid.uuid4().hex[:8]}", client=s3_client)
    sha = sha_of(b"x")
    with pytest.raises(ClientError):
        store.read(sha)
    with pytest.raises(ClientError):
        store.exists(sha)
    with pytest.raises(ClientError):
        store.put(sha, b"x", b"t")


def test_store_from_config_chooses_by_photo_store(tmp_path, s3_endpoint, bucket):
    local = store_from_config({"PHOTO_DIR": str(tmp_path), "PHOTO_STORE": "local"})
    assert isinstance(local, LocalPhotoStore)
    config = {
        "PHOTO_DIR": str(tmp_path),
        "PHOTO_STORE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_PREFIX": "p/",
    }
    remote = store_from_config(config)
    assert isinstance(remote, S3PhotoStore)
    assert (remote.bucket, remote.prefix) == (bucket, "p/")
    # One client per setting, shared by every request.
    assert store_from_config(dict(config)) is remote
    remote.put(sha_of(b"c"), b"c", b"t")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"PHOTO_STORE": "ftp"}, "PHOTO_STORE must be 'local' or 's3'"),
        ({"PHOTO_STORE": "s3"}, "needs S3_BUCKET"),
        ({"PHOTO_STORE": "s3", "S3_BUCKET": ""}, "needs S3_BUCKET"),
    ],
)
def test_unusable_store_settings_stop_the_app_at_start(tmp_path, settings, message):
    with pytest.raises(ValueError, match=message):
        check_store_config({"PHOTO_DIR": str(tmp_path), **settings})
    with pytest.raises(ValueError, match=message):
        make_test_app(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", **settings)


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 220)).save(buf, "JPEG")
    return buf.getvalue()


def test_the_app_stores_and_serves_photos_from_the_bucket(app, tmp_path, make, s3_endpoint, bucket):
    """Upload through the API and read back through the photo route with PHOTO_STORE=s3: the
    bytes live in the bucket and nothing is written to the server's disk."""
    s3_app = make_test_app(
        tmp_path,
        app.config["SQLALCHEMY_DATABASE_URI"],
        PHOTO_STORE="s3",
        S3_BUCKET=bucket,
        S3_ENDPOINT_URL=s3_endpoint,
    )
    grid = make.area("G", "grid")
    inspector = make.user("inspector", "inspector", grid)
    with s3_app.app_context():
        token = issue_token(db.session.get(User, inspector.id), "test")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = s3_app.test_client()
    response = client.post(
        "/api/v1/photos",
        data={"photo": (io.BytesIO(jpeg_bytes()), "p.jpg")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    sha = response.json["sha256"]
    with s3_app.app_context():
        photo_id = db.session.scalar(select(Photo.id).where(Photo.sha256 == sha))
    served = client.get(f"/photos/{photo_id}", headers=headers)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert sha_of(served.data) == sha
    thumb = client.get(f"/photos/{photo_id}/thumb", headers=headers)
    assert thumb.status_code == 200 and thumb.data[:3] == b"\xff\xd8\xff"
    remote = store_from_config(s3_app.config)
    assert remote.read(sha) == served.data
    assert not (tmp_path / "photos").exists()
    # A row whose object is gone answers 404, never a 500.
    remote.delete(sha)
    assert client.get(f"/photos/{photo_id}", headers=headers).status_code == 404
