"""Photo ingest and storage, on real image files made with Pillow (and one hand-made PNG bomb)."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import time
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageCms, TiffImagePlugin

from inspect_app import photo_stores, photos
from inspect_app.photo_stores import LocalPhotoStore, store_from_config
from inspect_app.photos import PhotoError, process

R = TiffImagePlugin.IFDRational
RED = (255, 0, 0)

# Where the test photo was "taken": 31°14'34.56"N 121°28'12.34"E, 2026-03-14 09:26:53 local.
LAT_DMS = (R(31, 1), R(14, 1), R(3456, 100))
LON_DMS = (R(121, 1), R(28, 1), R(1234, 100))
LAT = Decimal("31.242933")  # 31 + 14/60 + 34.56/3600 = 31.2429333…
LON = Decimal("121.470094")  # 121 + 28/60 + 12.34/3600 = 121.4700944…


def make_exif(
    orientation: int | None = None,
    *,
    taken: str | None = None,
    offset: str | None = None,
    gps: dict[int, object] | None = None,
) -> bytes:
    """EXIF bytes with the given orientation, DateTimeOriginal (+ offset) and GPS IFD."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if taken is not None or offset is not None:
        sub = exif.get_ifd(0x8769)
        if taken is not None:
            sub[0x9003] = taken
        if offset is not None:
            sub[0x9011] = offset
    if gps:
        exif.get_ifd(0x8825).update(gps)
    return exif.tobytes()


GPS_SHANGHAI = {1: "N", 2: LAT_DMS, 3: "E", 4: LON_DMS}


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def marked_photo(width: int, height: int) -> Image.Image:
    """A grey RGB image with a red block in its top-left corner, to follow rotations."""
    img = Image.new("RGB", (width, height), (128, 128, 128))
    img.paste(RED, (0, 0, width // 8, height // 8))
    return img


def png(width: int, height: int, rows: bytes | None = None, *, bit_depth: int = 1) -> bytes:
    """A valid greyscale PNG built by hand; every row equals ``rows`` (default all black).

    zlib turns 20000 identical rows into a few tens of KB, which is what makes a PNG bomb.
    """

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    row = b"\x00" + (rows if rows is not None else bytes((width * bit_depth + 7) // 8))
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_segments(data: bytes) -> list[int]:
    """Marker bytes of a JPEG's header segments up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    return markers


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# --- fixtures: real files, made once per session ---------------------------------------------


@pytest.fixture(scope="session")
def phone_jpeg() -> bytes:
    """12 MP landscape-sensor JPEG, q92, Orientation=6 (shot in portrait), GPS and taken-at."""
    exif = make_exif(6, taken="2026:03:14 09:26:53", gps=GPS_SHANGHAI)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(
        marked_photo(4000, 3000),
        "JPEG",
        quality=92,
        exif=exif,
        icc_profile=icc,
        comment=b"inspector 7, Room 1201",
    )


@pytest.fixture(scope="session")
def png_bomb() -> bytes:
    """A genuine 20000x20000 (400 MP) 1-bit PNG of about 50 KB."""
    return png(20000, 20000)


# --- process(): normalisation -----------------------------------------------------------------


def test_phone_photo_is_upright_downscaled_and_metadata_extracted(phone_jpeg):
    result = process(phone_jpeg)

    assert (result.width, result.height) == (1200, 1600)
    img = opened(result.data)
    assert img.format == "JPEG" and img.mode == "RGB" and img.size == (1200, 1600)
    # Orientation 6 means "rotate 90° clockwise to display": the stored top-left corner ends up
    # top-right, and nothing is left at top-left.
    assert img.getpixel((1200 - 40, 40))[0] > 200 and img.getpixel((1200 - 40, 40))[1] < 60
    assert img.getpixel((40, 40)) == pytest.approx((128, 128, 128), abs=8)

    assert result.taken_at == datetime(2026, 3, 14, 1, 26, 53, tzinfo=UTC)
    assert result.taken_at.utcoffset() == timedelta(0)
    assert (result.latitude, result.longitude) == (LAT, LON)
    assert result.latitude.as_tuple().exponent == -6


def test_output_carries_no_metadata_at_all(phone_jpeg):
    result = process(phone_jpeg)
    for data in (result.data, result.thumb):
        img = opened(data)
        assert len(img.getexif()) == 0
        assert img.getexif().get_ifd(0x8825) == {}
        for key in ("exif", "icc_profile", "xmp", "comment"):
            assert key not in img.info
        # Only JFIF (APP0), tables, frame header and scan: no APP1 EXIF/XMP, APP2 ICC or COM.
        markers = jpeg_segments(data)
        assert set(markers) <= {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}, [hex(m) for m in markers]
        assert 0xC2 not in markers  # baseline, not progressive
    assert b"Room 1201" not in result.data


def test_thumbnail_and_sha(phone_jpeg):
    result = process(phone_jpeg)
    assert opened(result.thumb).size == (240, 320)
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    # Deterministic: the same upload always normalises to the same bytes.
    assert process(phone_jpeg).sha256 == result.sha256


def test_max_side_is_respected_and_small_images_are_not_enlarged():
    small = encode(marked_photo(800, 600), "JPEG", quality=90)
    assert (process(small).width, process(small).height) == (800, 600)
    result = process(encode(marked_photo(3000, 2000), "JPEG"), max_side=1000)
    assert (result.width, result.height) == (1000, 667)
    assert opened(result.thumb).size == (320, 213)


def test_extreme_aspect_ratio():
    result = process(encode(Image.new("RGB", (8000, 16), RED), "JPEG"))
    assert (result.width, result.height) == (1600, 3)


@pytest.mark.parametrize(
    ("size", "max_side", "wanted", "decoded"),
    [
        ((4000, 3000), 1600, (1600, 1200), (2000, 1500)),  # 1/2: 1/4 would be 1000 < 1600
        ((3000, 4000), 1600, (1200, 1600), (1500, 2000)),
        ((6000, 4000), 1600, (1600, 1067), (3000, 2000)),
        ((8000, 6000), 1000, (1000, 750), (1000, 750)),  # exactly 1/8
        ((1200, 900), 1600, (1200, 900), (1200, 900)),  # already small: no reduction
    ],
)
def test_draft_request_never_reduces_below_max_side(size, max_side, wanted, decoded):
    assert photos._draft_request(*size, max_side) == wanted
    with Image.open(io.BytesIO(encode(Image.new("RGB", size), "JPEG"))) as im:
        im.draft("RGB", wanted)
        assert im.size == decoded
        assert max(im.size) >= min(max_side, max(size))


def test_png_alpha_is_flattened_onto_white():
    img = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    img.paste((255, 0, 0, 255), (100, 0, 200, 100))
    out = opened(process(encode(img, "PNG")).data)
    assert out.mode == "RGB" and out.size == (200, 100)
    assert out.getpixel((20, 50)) == pytest.approx((255, 255, 255), abs=3)
    assert out.getpixel((180, 50)) == pytest.approx(RED, abs=6)


def test_palette_png_with_transparency_is_flattened():
    img = Image.new("P", (64, 64), 0)
    img.putpalette([0, 0, 255] + [255, 0, 0] * 255)
    img.paste(1, (32, 0, 64, 64))
    out = opened(process(encode(img, "PNG", transparency=0)).data)
    assert out.getpixel((10, 32)) == pytest.approx((255, 255, 255), abs=3)
    assert out.getpixel((54, 32)) == pytest.approx(RED, abs=6)


def test_sixteen_bit_greyscale_png_keeps_its_tones():
    mid = struct.pack(">H", 0x8000) * 64  # 50 % grey, 16 bits per pixel
    out = opened(process(png(64, 64, mid, bit_depth=16)).data)
    assert out.getpixel((32, 32)) == pytest.approx((128, 128, 128), abs=3)


def test_webp_with_exif_is_accepted():
    exif = make_exif(taken="2025:12:31 23:59:59", gps={1: "S", 2: LAT_DMS, 3: "W", 4: LON_DMS})
    result = process(encode(marked_photo(900, 600), "WEBP", quality=90, exif=exif))
    assert (result.width, result.height) == (900, 600)
    assert result.taken_at == datetime(2025, 12, 31, 15, 59, 59, tzinfo=UTC)
    assert (result.latitude, result.longitude) == (-LAT, -LON)


def test_cmyk_and_greyscale_jpegs_become_rgb():
    for img in (Image.new("CMYK", (50, 40), (0, 255, 255, 0)), Image.new("L", (50, 40), 90)):
        out = opened(process(encode(img, "JPEG")).data)
        assert out.mode == "RGB" and out.size == (50, 40)


def test_mpo_from_a_phone_is_accepted_as_jpeg():
    frames = [marked_photo(400, 300), Image.new("RGB", (400, 300))]
    raw = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(raw)).format == "MPO"
    assert process(raw).width == 400


# --- process(): metadata details ---------------------------------------------------------------


def jpeg_with(exif: bytes) -> bytes:
    return encode(Image.new("RGB", (32, 32)), "JPEG", exif=exif)


def test_taken_at_uses_the_district_time_zone():
    raw = jpeg_with(make_exif(taken="2026:07:01 12:00:00"))
    assert process(raw).taken_at == datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
    assert process(raw, tz="Europe/Berlin").taken_at == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


def test_taken_at_prefers_the_offset_recorded_by_the_camera():
    raw = jpeg_with(make_exif(taken="2026:07:01 12:00:00", offset="-03:30"))
    assert process(raw).taken_at == datetime(2026, 7, 1, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize("value", ["0000:00:00 00:00:00", "    :  :     :  :  ", "yesterday"])
def test_unusable_taken_at_is_none(value):
    assert process(jpeg_with(make_exif(taken=value))).taken_at is None


def test_no_exif_gives_no_metadata():
    result = process(encode(Image.new("RGB", (32, 32)), "PNG"))
    assert (result.taken_at, result.latitude, result.longitude) == (None, None, None)


@pytest.mark.parametrize(
    "gps",
    [
        {2: LAT_DMS, 4: LON_DMS},  # no hemisphere: the sign is unknown
        {1: "N", 2: LAT_DMS, 3: "E"},  # no longitude
        {1: "N", 2: (R(0, 0), R(0, 0), R(0, 0)), 3: "E", 4: LON_DMS},  # camera had no fix
        {1: "N", 2: (R(91, 1), R(0, 1), R(0, 1)), 3: "E", 4: LON_DMS},  # out of range
    ],
)
def test_unusable_gps_is_dropped(gps):
    result = process(jpeg_with(make_exif(gps=gps)))
    assert (result.latitude, result.longitude) == (None, None)


def test_gps_with_decimal_minutes():
    gps = {1: "N", 2: (R(31, 1), R(145760, 10000), R(0, 1)), 3: "E", 4: LON_DMS}
    assert process(jpeg_with(make_exif(gps=gps))).latitude == LAT


# --- process(): rejection -------------------------------------------------------------------


def rejected(raw: bytes, **kw: object) -> str:
    with pytest.raises(PhotoError) as info:
        process(raw, **kw)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_empty_upload():
    assert rejected(b"") == "图片为空"


def test_html_named_jpg_is_rejected_before_pillow(tmp_path, monkeypatch):
    path = tmp_path / "photo.jpg"
    path.write_text("<!doctype html><script>alert(1)</script>")

    def no_pillow(*args, **kwargs):
        raise AssertionError("Pillow must not see this file")

    monkeypatch.setattr(photos.Image, "open", no_pillow)
    assert rejected(path.read_bytes()) == "文件不是 JPEG、PNG 或 WebP 图片"


@pytest.mark.parametrize(
    "raw",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        encode(Image.new("RGB", (16, 16)), "GIF"),
        encode(Image.new("RGB", (16, 16)), "BMP"),
        encode(Image.new("RGB", (16, 16)), "TIFF"),
        b"%PDF-1.7\n",
    ],
    ids=["svg", "svg-xml", "gif", "bmp", "tiff", "pdf"],
)
def test_other_formats_are_rejected(raw):
    assert rejected(raw) == "文件不是 JPEG、PNG 或 WebP 图片"


@pytest.mark.parametrize(
    "raw",
    [
        b"\x89PNG\r\n\x1a\n" + b"<html>" * 20,  # PNG magic, no PNG behind it
        b"\xff\xd8\xff" + b"\x00" * 64,
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16,
    ],
    ids=["png", "jpeg", "webp"],
)
def test_magic_without_a_matching_image_is_broken(raw):
    assert rejected(raw) == "图片已损坏或不完整"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_image_is_rejected_not_partially_decoded(fmt):
    raw = encode(Image.effect_noise((1000, 800), 64).convert("RGB"), fmt)
    assert rejected(raw[: len(raw) // 2]) == "图片已损坏或不完整"


def test_truncated_phone_photo_is_rejected(phone_jpeg):
    assert rejected(phone_jpeg[: len(phone_jpeg) // 2]) == "图片已损坏或不完整"


def test_png_bomb_is_rejected_quickly_without_decoding(png_bomb):
    assert len(png_bomb) < 100_000
    started = time.perf_counter()
    message = rejected(png_bomb)
    elapsed = time.perf_counter() - started
    # A safety bound, not a benchmark: decoding 400 MP would take seconds and gigabytes.
    assert elapsed < 1.0
    assert message == "图片像素过多（超过 5000 万像素），请压缩后重新上传"


def test_pixel_limit_is_checked_from_the_header():
    raw = encode(Image.new("RGB", (200, 200)), "PNG")
    assert rejected(raw, max_pixels=10_000) == "图片像素过多（超过 1 万像素），请压缩后重新上传"
    assert process(raw, max_pixels=40_000).width == 200


def test_pillow_bomb_warning_is_an_error_even_above_a_generous_limit(recwarn):
    # 100 MP lies between Pillow's MAX_IMAGE_PIXELS (~89 MP) and twice that, where Pillow only
    # warns; the effective limit is the smaller of the two.
    message = rejected(png(10_000, 10_000), max_pixels=500_000_000)
    limit = int(Image.MAX_IMAGE_PIXELS) // 10_000
    assert message == f"图片像素过多（超过 {limit} 万像素），请压缩后重新上传"
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_invalid_arguments_are_programming_errors():
    raw = encode(Image.new("RGB", (8, 8)), "PNG")
    with pytest.raises(ValueError) as info:
        process(raw, max_side=0)
    assert not isinstance(info.value, PhotoError)
    with pytest.raises(KeyError):  # ZoneInfoNotFoundError
        process(raw, tz="Mars/Olympus_Mons")


# --- storage -----------------------------------------------------------------------------------


def stored(store: LocalPhotoStore, data: bytes = b"photo", thumb: bytes = b"thumb") -> str:
    sha = hashlib.sha256(data).hexdigest()
    store.put(sha, data, thumb)
    return sha


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_store_layout_and_round_trip(tmp_path):
    store = LocalPhotoStore(tmp_path / "photos")
    sha = stored(store)
    assert files_under(tmp_path / "photos") == [
        f"{sha[:2]}/{sha}.jpg",
        f"{sha[:2]}/{sha}.thumb.jpg",
    ]
    assert store.exists(sha)
    assert store.read(sha) == b"photo" and store.read(sha, thumb=True) == b"thumb"
    assert (os.stat(tmp_path / "photos" / sha[:2] / f"{sha}.jpg").st_mode & 0o777) == 0o640
    store.delete(sha)
    assert not store.exists(sha)
    assert files_under(tmp_path / "photos") == []
    store.delete(sha)  # deleting twice is fine
    with pytest.raises(FileNotFoundError):
        store.read(sha)


def test_same_photo_twice_is_one_file_and_the_second_put_writes_nothing(tmp_path, phone_jpeg):
    store = LocalPhotoStore(tmp_path)
    first, second = process(phone_jpeg), process(phone_jpeg)
    assert first.sha256 == second.sha256
    store.put(first.sha256, first.data, first.thumb)
    path = tmp_path / first.sha256[:2] / f"{first.sha256}.jpg"
    inode = path.stat().st_ino
    store.put(second.sha256, b"not written", b"not written")
    assert path.stat().st_ino == inode
    assert store.read(first.sha256) == first.data
    assert len(files_under(tmp_path)) == 2


def test_repeated_put_refreshes_mtime_so_a_sweep_cannot_race_the_commit(tmp_path):
    store = LocalPhotoStore(tmp_path)
    sha = stored(store)
    long_ago = time.time() - 30 * 86400
    for path in (tmp_path / sha[:2]).iterdir():
        os.utime(path, (long_ago, long_ago))
    stored(store)
    [(listed, mtime)] = list(store.iter_shas())
    assert listed == sha and mtime > time.time() - 60


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    store = LocalPhotoStore(tmp_path)

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(photo_stores.os, "replace", disk_full)
    with pytest.raises(OSError):
        stored(store)
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    "sha",
    [
        "../../etc/passwd",
        "A" * 64,
        "a" * 63,
        "a" * 65,
        "a" * 64 + "\n",
        "../" + "a" * 61,
        "g" * 64,
        "",
    ],
)
def test_bad_sha_is_refused(tmp_path, sha):
    store = LocalPhotoStore(tmp_path)
    for call in (
        lambda: store.put(sha, b"x", b"y"),
        lambda: store.exists(sha),
        lambda: store.read(sha),
        lambda: store.read(sha, thumb=True),
        lambda: store.delete(sha),
    ):
        with pytest.raises(ValueError):
            call()
    assert files_under(tmp_path) == []


def test_iter_shas_lists_photos_and_stray_thumbnails_only(tmp_path):
    store = LocalPhotoStore(tmp_path)
    sha = stored(store)
    stray = hashlib.sha256(b"crashed mid-put").hexdigest()
    (tmp_path / stray[:2]).mkdir(exist_ok=True)
    (tmp_path / stray[:2] / f"{stray}.thumb.jpg").write_bytes(b"t")
    (tmp_path / sha[:2] / f".{sha}.jpg.x1y2.tmp").write_bytes(b"partial")
    (tmp_path / sha[:2] / "notes.txt").write_text("x")
    (tmp_path / "README").write_text("x")
    assert sorted(s for s, _ in store.iter_shas()) == sorted([sha, stray])
    assert list(LocalPhotoStore(tmp_path / "missing").iter_shas()) == []


def test_sweep_removes_only_old_unreferenced_files(tmp_path):
    store = LocalPhotoStore(tmp_path)
    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    old = (now - timedelta(days=3)).timestamp()
    kept_in_use = stored(store, b"referenced")
    orphan = stored(store, b"orphan")
    in_flight = stored(store, b"just uploaded")
    for sha in (kept_in_use, orphan):
        for path in (tmp_path / sha[:2]).glob(f"{sha}*"):
            os.utime(path, (old, old))
    in_flight_time = (now - timedelta(minutes=5)).timestamp()
    for path in (tmp_path / in_flight[:2]).glob(f"{in_flight}*"):
        os.utime(path, (in_flight_time, in_flight_time))

    deleted = photo_stores.sweep_orphans(
        store, {kept_in_use}, older_than=timedelta(days=1), now=now
    )

    assert deleted == [orphan]
    assert not store.exists(orphan)
    assert not (tmp_path / orphan[:2] / f"{orphan}.thumb.jpg").exists()
    assert store.exists(kept_in_use) and store.exists(in_flight)


def test_sweep_needs_an_aware_now(tmp_path):
    with pytest.raises(ValueError):
        photo_stores.sweep_orphans(
            LocalPhotoStore(tmp_path), set(), older_than=timedelta(1), now=datetime(2026, 1, 1)
        )


def test_store_from_config(tmp_path):
    store = store_from_config({"PHOTO_DIR": str(tmp_path / "p")})
    assert isinstance(store, LocalPhotoStore)
    assert store.root == tmp_path / "p"
