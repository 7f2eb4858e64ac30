"""Where normalised photos live: content-addressed by SHA-256, on a local folder
(``LocalPhotoStore``, the default) or an S3-compatible bucket (``S3PhotoStore``), chosen by the
``PHOTO_STORE`` setting (``store_from_config``). Callers write the file first, then commit the
row that references it; ``sweep_orphans`` later removes files no row references once they are
older than a grace period.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

_SHA_RE = re.compile(r"[0-9a-f]{64}")
# What ``LocalPhotoStore._write_atomic`` names a file while it is being written.
_TEMP_RE = re.compile(r"\.[0-9a-f]{64}(\.thumb)?\.jpg\.[^/]+\.tmp")


class PhotoStore(Protocol):
    """Content-addressed storage of normalised photos and their thumbnails.

    ``sha256`` arguments are 64 lowercase hex digits (anything else raises ValueError) and must
    be the digest of ``data``. Implementations make ``put`` durable before returning, so a row
    committed afterwards never references a missing file.
    """

    def put(self, sha256: str, data: bytes, thumb: bytes) -> None:
        """Store ``data`` and ``thumb`` under ``sha256``; storing an existing sha writes nothing."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether the photo (and therefore its thumbnail) is stored."""
        ...

    def read(self, sha256: str, thumb: bool = False) -> bytes:
        """The stored photo, or its thumbnail; FileNotFoundError when it is not stored."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the photo and its thumbnail; deleting a missing photo is not an error."""
        ...

    def iter_shas(self) -> Iterator[tuple[str, float]]:
        """Every stored sha with its last-modified time (epoch seconds), in no particular order."""
        ...

    def delete_stale_temporaries(self, before: float) -> int:
        """Remove what interrupted writes left, last modified before ``before``; how many."""
        ...


def _check_sha(sha256: str) -> str:
    """``sha256`` unchanged if it is 64 lowercase hex digits; ValueError otherwise."""
    if not isinstance(sha256, str) or not _SHA_RE.fullmatch(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


def _fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (creations, renames) durable."""
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _older(path: str, before: float) -> bool:
    try:
        return os.stat(path).st_mtime < before
    except FileNotFoundError:
        return False


class LocalPhotoStore:
    """A ``PhotoStore`` on a directory: ``<root>/<sha[:2]>/<sha>.jpg`` and ``<sha>.thumb.jpg``.

    Files are written atomically (temporary file in the same directory, fsync, rename, fsync of
    the directory), so readers see a whole file or none, and a crash leaves at worst a
    ``.*.tmp`` file behind. Safe to share between processes and threads.
    """

    # Group-readable so a backup or a front-end server in the app's group can read the files;
    # never world-readable because photos are not public.
    FILE_MODE = 0o640

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Use ``root`` (created on first ``put``) as the store's directory."""
        self.root = Path(root)

    def _paths(self, sha256: str) -> tuple[Path, Path]:
        """(photo path, thumbnail path) for a validated sha."""
        folder = self.root / _check_sha(sha256)[:2]
        return folder / f"{sha256}.jpg", folder / f"{sha256}.thumb.jpg"

    def put(self, sha256: str, data: bytes, thumb: bytes) -> None:
        """Store both files unless present; a repeated put only refreshes their mtimes.

        The thumbnail is written first, so an existing photo file implies its thumbnail exists.
        Refreshing the mtime of files already stored keeps ``sweep_orphans`` from deleting a
        long-orphaned file in the moment between this put and the commit of the row that
        re-references it.
        """
        photo_path, thumb_path = self._paths(sha256)
        for path, content in ((thumb_path, thumb), (photo_path, data)):
            if path.exists():
                try:
                    os.utime(path)
                    continue
                except FileNotFoundError:
                    pass  # swept between the two calls: write it again
            self._write_atomic(path, content)

    def _write_atomic(self, path: Path, content: bytes) -> None:
        """Write ``content`` to ``path`` so that it appears complete or not at all, durably."""
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            # A new shard folder is itself an entry of the root: without this, a power loss
            # could drop the folder, and with it the file a committed row refers to.
            _fsync_dir(path.parent.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fchmod(fh.fileno(), self.FILE_MODE)
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # The rename is only durable once the directory entry is on disk too.
        _fsync_dir(path.parent)

    def exists(self, sha256: str) -> bool:
        """Whether the photo file is stored (its thumbnail was written before it)."""
        return self._paths(sha256)[0].is_file()

    def read(self, sha256: str, thumb: bool = False) -> bytes:
        """The photo or thumbnail bytes; FileNotFoundError when not stored."""
        photo_path, thumb_path = self._paths(sha256)
        return (thumb_path if thumb else photo_path).read_bytes()

    def delete(self, sha256: str) -> None:
        """Remove the photo, then its thumbnail (the reverse of ``put``); missing is fine."""
        for path in self._paths(sha256):
            path.unlink(missing_ok=True)

    def delete_stale_temporaries(self, before: float) -> int:
        """Remove the temporary files of writes that never finished (a crash between creating
        one and renaming it into place) last modified before ``before`` (epoch seconds); a
        write in progress is younger than any grace period. Returns how many were removed."""
        removed = 0
        if not self.root.is_dir():
            return removed
        for folder in sorted(self.root.iterdir()):
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            with os.scandir(folder) as entries:
                stale = [e.path for e in entries if _TEMP_RE.fullmatch(e.name)]
            stale = [path for path in stale if _older(path, before)]
            for path in stale:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    removed += 1
        return removed

    def iter_shas(self) -> Iterator[tuple[str, float]]:
        """Each sha with a photo or thumbnail file, with the newer of their mtimes.

        A thumbnail left alone by a crash mid-put is listed too, so the sweep can remove it.
        Temporary files and anything not named like a stored photo are ignored.
        """
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            newest: dict[str, float] = {}
            with os.scandir(folder) as entries:
                for entry in entries:
                    sha = entry.name.removesuffix(".jpg").removesuffix(".thumb")
                    if entry.name not in (f"{sha}.jpg", f"{sha}.thumb.jpg"):
                        continue
                    if not _SHA_RE.fullmatch(sha) or sha[:2] != folder.name:
                        continue
                    try:
                        mtime = entry.stat().st_mtime
                    except FileNotFoundError:
                        continue  # deleted while listing
                    newest[sha] = max(mtime, newest.get(sha, mtime))
            yield from newest.items()


class S3PhotoStore:
    """A ``PhotoStore`` in an S3-compatible bucket: ``<prefix><sha[:2]>/<sha>.jpg`` and
    ``<sha>.thumb.jpg`` (AWS S3, MinIO, Ceph RGW, and the object stores of Chinese clouds).

    ``client`` is a boto3 S3 client (thread-safe, so one store serves every request thread);
    ``connect`` builds one from the standard AWS credential chain. A successful ``put_object``
    is durable, so a row committed after ``put`` never references a missing object. The bucket
    must exist; the app never creates or configures it. Objects are private: photos are served
    through the app, which checks the viewer's scope first.
    """

    CONTENT_TYPE = "image/jpeg"

    def __init__(self, bucket: str, *, client: Any, prefix: str = "photos/") -> None:
        """Use ``bucket`` through ``client``; every key starts with ``prefix`` ("" for none)."""
        if not bucket:
            raise ValueError("an S3 bucket name is required")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        prefix: str = "photos/",
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str | None = None,
    ) -> S3PhotoStore:
        """A store with a new boto3 client. Credentials and (unless given) the region come from
        the standard AWS chain: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``
        and ``~/.aws/``, or an instance role. ``endpoint_url`` points at a non-AWS service.

        Raises RuntimeError when boto3 is not installed (it is the ``prod`` extra).
        """
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise RuntimeError(
                "PHOTO_STORE=s3 needs boto3: pip install 'inspect_app[prod]'"
            ) from exc
        config = Config(
            s3={"addressing_style": addressing_style or "auto"},
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=5,
            read_timeout=30,
            # One client serves all request threads of a worker.
            max_pool_connections=32,
            # Newer boto3 adds CRC checksums many S3-compatible services reject; integrity is
            # checked with Content-MD5 instead, which all of them accept.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None, config=config
        )
        return cls(bucket, client=client, prefix=prefix)

    def _keys(self, sha256: str) -> tuple[str, str]:
        """(photo key, thumbnail key) for a validated sha."""
        base = f"{self.prefix}{_check_sha(sha256)[:2]}/{sha256}"
        return f"{base}.jpg", f"{base}.thumb.jpg"

    def put(self, sha256: str, data: bytes, thumb: bytes) -> None:
        """Store both objects unless present; a repeated put only refreshes their
        last-modified time (a server-side copy onto itself, no upload), for the same reason
        ``LocalPhotoStore.put`` touches its files: the orphan sweep goes by that time.

        The thumbnail is written first, so an existing photo implies its thumbnail exists.
        """
        photo_key, thumb_key = self._keys(sha256)
        for key, content in ((thumb_key, thumb), (photo_key, data)):
            if not self._refresh(key):
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=content,
                    ContentType=self.CONTENT_TYPE,
                    ContentMD5=base64.b64encode(hashlib.md5(content).digest()).decode(),
                )

    def _refresh(self, key: str) -> bool:
        """Touch an existing object; False when there is none."""
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                # Copying an object onto itself is only allowed when it "changes" metadata.
                MetadataDirective="REPLACE",
                ContentType=self.CONTENT_TYPE,
            )
        except Exception as exc:
            if _s3_missing(exc):
                return False
            raise
        return True

    def exists(self, sha256: str) -> bool:
        """Whether the photo object is stored (its thumbnail was written before it)."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._keys(sha256)[0])
        except Exception as exc:
            if not _s3_missing(exc):
                raise
            # A HEAD answer has no body to tell a missing object from a missing bucket;
            # a missing bucket is a misconfiguration and must not read as "no photo".
            self.client.head_bucket(Bucket=self.bucket)
            return False
        return True

    def read(self, sha256: str, thumb: bool = False) -> bytes:
        """The photo or thumbnail bytes; FileNotFoundError when not stored."""
        photo_key, thumb_key = self._keys(sha256)
        key = thumb_key if thumb else photo_key
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _s3_missing(exc):
                raise FileNotFoundError(f"s3://{self.bucket}/{key}") from None
            raise
        with response["Body"] as body:
            return body.read()

    def delete(self, sha256: str) -> None:
        """Remove the photo, then its thumbnail (the reverse of ``put``); missing is fine."""
        for key in self._keys(sha256):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_stale_temporaries(self, before: float) -> int:
        """Nothing to remove: a ``put_object`` stores the whole object or none of it."""
        return 0

    def iter_shas(self) -> Iterator[tuple[str, float]]:
        """Each sha with a photo or thumbnail object, with the newer of their times.

        Streams the listing: S3 lists keys in byte order, in which ``<sha>.jpg`` and
        ``<sha>.thumb.jpg`` are neighbours, so nothing is held beyond the current sha. Keys not
        named like a stored photo are ignored.
        """
        paginator = self.client.get_paginator("list_objects_v2")
        current: str | None = None
        newest = 0.0
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", ()):
                sha = _sha_of_key(obj["Key"][len(self.prefix) :])
                if sha is None:
                    continue
                mtime = obj["LastModified"].timestamp()
                if sha != current:
                    if current is not None:
                        yield current, newest
                    current, newest = sha, mtime
                else:
                    newest = max(newest, mtime)
        if current is not None:
            yield current, newest


def _sha_of_key(name: str) -> str | None:
    """The sha of ``ab/<sha>.jpg`` or ``ab/<sha>.thumb.jpg``; None for any other name."""
    folder, _, file = name.partition("/")
    sha = file.removesuffix(".jpg").removesuffix(".thumb")
    if file not in (f"{sha}.jpg", f"{sha}.thumb.jpg"):
        return None
    if not _SHA_RE.fullmatch(sha) or folder != sha[:2]:
        return None
    return sha


def _s3_missing(exc: Exception) -> bool:
    """Whether a botocore error says the object (not the bucket) does not exist."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    if code == "NoSuchBucket":
        return False
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("NoSuchKey", "NotFound", "404") or status == 404


PHOTO_STORES = ("local", "s3")


def check_store_config(config: Mapping[str, Any]) -> None:
    """Raise ValueError (a message for the operator) when the photo store settings cannot work:
    ``PHOTO_STORE`` is not ``local`` or ``s3``, or ``s3`` lacks ``S3_BUCKET``. Connects nowhere."""
    kind = str(config.get("PHOTO_STORE") or "local").lower()
    if kind not in PHOTO_STORES:
        raise ValueError(f"PHOTO_STORE must be 'local' or 's3', not {kind!r}")
    if kind == "s3" and not config.get("S3_BUCKET"):
        raise ValueError("PHOTO_STORE=s3 needs S3_BUCKET (INSPECT_S3_BUCKET)")


def store_from_config(config: Mapping[str, Any]) -> PhotoStore:
    """The photo store the app's configuration names.

    ``PHOTO_STORE`` is ``local`` (default: a ``LocalPhotoStore`` on ``PHOTO_DIR``) or ``s3``
    (an ``S3PhotoStore`` on ``S3_BUCKET``, with optional ``S3_PREFIX`` (default ``photos/``),
    ``S3_ENDPOINT_URL``, ``S3_REGION`` and ``S3_ADDRESSING_STYLE``). The S3 client is made
    once per setting and shared. Raises ValueError for settings ``check_store_config`` refuses.
    """
    check_store_config(config)
    if str(config.get("PHOTO_STORE") or "local").lower() == "local":
        return LocalPhotoStore(config["PHOTO_DIR"])
    return _s3_store(
        str(config["S3_BUCKET"]),
        str(config.get("S3_PREFIX", "photos/")),
        config.get("S3_ENDPOINT_URL") or None,
        config.get("S3_REGION") or None,
        config.get("S3_ADDRESSING_STYLE") or None,
    )


@functools.lru_cache(maxsize=8)
def _s3_store(
    bucket: str,
    prefix: str,
    endpoint_url: str | None,
    region: str | None,
    addressing_style: str | None,
) -> S3PhotoStore:
    # Making a boto3 client costs tens of milliseconds; requests reuse one per setting.
    return S3PhotoStore.connect(
        bucket,
        prefix=prefix,
        endpoint_url=endpoint_url,
        region=region,
        addressing_style=addressing_style,
    )


def sweep_orphans(
    store: PhotoStore, referenced: set[str], *, older_than: timedelta, now: datetime
) -> list[str]:
    """Delete stored photos not in ``referenced`` whose mtime is before ``now - older_than``.

    ``referenced`` is every sha a database row points at, queried by the caller *before* the
    sweep; the grace period must exceed the longest time between ``put`` and the commit of the
    referencing row, so uploads in flight are never swept. ``now`` must be tz-aware (ValueError
    otherwise). Returns the deleted shas in the order they were deleted. The partial files of
    writes a crash interrupted, older than the same grace period, are removed too.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    cutoff = (now - older_than).timestamp()
    store.delete_stale_temporaries(cutoff)
    # Listing fully before deleting keeps the store's iterator off a directory being changed.
    candidates = [
        sha for sha, mtime in store.iter_shas() if sha not in referenced and mtime < cutoff
    ]
    deleted: list[str] = []
    for sha in candidates:
        store.delete(sha)
        deleted.append(sha)
    return deleted
