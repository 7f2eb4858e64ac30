"""Photos: check and normalise an upload before anything trusts it.

``process`` turns untrusted upload bytes into a normalised JPEG (upright, at most ``max_side``
pixels on its longest side, RGB, no EXIF/ICC/XMP/comment) plus a 320 px thumbnail, and
returns the taken-at time and GPS position read from EXIF, which are kept private in the
database and never appear in a served file.

The results are kept by ``photo_stores`` under their SHA-256 (same bytes, one file).
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from hashlib import sha256 as _sha256
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageFile, ImageOps

from . import photo_stores

__all__ = [
    "THUMB_SIDE",
    "PhotoError",
    "Processed",
    "process",
]

THUMB_SIDE = 320
JPEG_QUALITY = 80

MSG_EMPTY = "图片为空"
MSG_NOT_IMAGE = "文件不是 JPEG、PNG 或 WebP 图片"
MSG_BROKEN = "图片已损坏或不完整"
MSG_TOO_MANY_PIXELS = "图片像素过多（超过 {limit} 万像素），请压缩后重新上传"

# EXIF tags (TIFF/EXIF 2.32 numbering).
_TAG_EXIF_IFD = 0x8769
_TAG_GPS_IFD = 0x8825
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4

_SIX_PLACES = Decimal("0.000001")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_OFFSET_RE = re.compile(r"([+-])(\d{2}):(\d{2})")

# Pillow format names a sniffed container may legitimately open as. Phones that store a
# depth map or a second view write MPO, which is a JPEG whose first frame is the photo.
_ACCEPTED_FORMATS = {"JPEG": {"JPEG", "MPO"}, "PNG": {"PNG"}, "WEBP": {"WEBP"}}

# Modes Image.thumbnail resamples well and _flatten_to_rgb understands; anything else is
# converted first ("P" and "1" would otherwise be resized with nearest-neighbour).
_RESIZABLE_MODES = {"L", "LA", "RGB", "RGBA"}


class PhotoError(ValueError):
    """An upload that is not an acceptable photo; ``str()`` is a message for the user (Chinese)."""


@dataclass(frozen=True)
class Processed:
    """A normalised photo.

    ``data`` is the JPEG to store and serve (``sha256`` is its hex digest), ``thumb`` a JPEG whose
    longest side is at most 320 px, ``width``/``height`` the size of ``data``. ``taken_at`` is
    tz-aware UTC or None; ``latitude``/``longitude`` are signed degrees with 6 decimal places, or
    None when the upload had no usable GPS position (both or neither are set).
    """

    sha256: str
    data: bytes
    thumb: bytes
    width: int
    height: int
    taken_at: datetime | None
    latitude: Decimal | None
    longitude: Decimal | None


def process(
    raw: bytes,
    *,
    max_side: int = 1600,
    max_pixels: int = 50_000_000,
    tz: str = "Asia/Shanghai",
) -> Processed:
    """Check and normalise one uploaded photo.

    Accepts JPEG (including MPO), PNG and WebP, recognised by their magic bytes before Pillow
    parses anything; the container Pillow then reads must agree with the magic. Images with more
    than ``max_pixels`` pixels (or more than Pillow's own ``Image.MAX_IMAGE_PIXELS``, whichever
    is smaller) are rejected from their header, before any pixel is decoded. Truncated or corrupt
    files are rejected, never returned partially decoded.

    The result is upright (EXIF orientation applied), RGB with transparency flattened onto white,
    at most ``max_side`` px on its longest side (never enlarged), JPEG quality 80, baseline, with
    no EXIF, ICC, XMP or comment. ``taken_at`` comes from EXIF DateTimeOriginal, read in the
    offset recorded with it (OffsetTimeOriginal) when there is one, otherwise in ``tz`` (the
    district's IANA zone). Latitude/longitude come from the EXIF GPS IFD.

    Raises ``PhotoError`` (message for the user) for anything wrong with ``raw``; ``ValueError``
    for a non-positive ``max_side``/``max_pixels``; ``zoneinfo.ZoneInfoNotFoundError`` for an
    unknown ``tz``. Safe to call from several threads (the pixel limit never depends on the
    process-wide warnings filter it also sets).
    """
    if max_side < 1 or max_pixels < 1:
        raise ValueError("max_side and max_pixels must be positive")
    zone = ZoneInfo(tz)
    if not raw:
        raise PhotoError(MSG_EMPTY)
    sniffed = _sniff(raw)
    if sniffed is None:
        raise PhotoError(MSG_NOT_IMAGE)

    limit = max_pixels
    if Image.MAX_IMAGE_PIXELS:
        limit = min(limit, int(Image.MAX_IMAGE_PIXELS))
    too_many = PhotoError(MSG_TOO_MANY_PIXELS.format(limit=_ten_thousands(limit)))

    try:
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; as an error it stops the
        # open. catch_warnings swaps process-global state, so the explicit size check below is
        # what actually enforces the limit; this is the second line of defence.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=[sniffed]) as im:
                width, height = im.size
                if width * height > limit:
                    raise too_many
                if im.format not in _ACCEPTED_FORMATS[sniffed]:
                    raise PhotoError(MSG_NOT_IMAGE)
                if sniffed == "JPEG":
                    # Decoding at 1/2, 1/4 or 1/8 scale in the DCT domain is the single largest
                    # saving (over 2x on a 12 MP photo); it must come before anything loads.
                    im.draft("RGB", _draft_request(width, height, max_side))
                # Decode here, where any error becomes a PhotoError: getexif() on a PNG also
                # decodes, and _metadata deliberately swallows errors, so a truncated file must
                # not depend on some later step failing again to be rejected.
                # WeasyPrint (the PDFs) sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on
                # import, which would make load() accept half an upload; the app's own PDFs
                # only embed whole, normalised JPEGs, so switching it back off costs nothing.
                ImageFile.LOAD_TRUNCATED_IMAGES = False
                im.load()
                taken_at, latitude, longitude = _metadata(im, zone)
                img = _upright(im)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many from None
    except MemoryError:
        raise
    except Exception as exc:
        # Any other failure while parsing untrusted bytes (OSError, SyntaxError, struct.error,
        # ValueError, ...) is the upload's fault, and must reach the user as a 4xx, not a 500.
        raise PhotoError(MSG_BROKEN) from exc

    img = _resizable(img)
    img.thumbnail((max_side, max_side))
    img = _flatten_to_rgb(img)
    data = _encode_jpeg(img)
    thumb_img = img.copy()
    # reducing_gap=1.0 lets a box-filter reduce() do nearly all of the 5x shrink; the default
    # (2.0) leaves a bicubic pass over 800 px that costs 4x as long for no visible gain at 320.
    thumb_img.thumbnail((THUMB_SIDE, THUMB_SIDE), reducing_gap=1.0)
    thumb = _encode_jpeg(thumb_img)
    return Processed(
        sha256=_sha256(data).hexdigest(),
        data=data,
        thumb=thumb,
        width=img.width,
        height=img.height,
        taken_at=taken_at,
        latitude=latitude,
        longitude=longitude,
    )


def _sniff(raw: bytes) -> str | None:
    """The Pillow format name the magic bytes announce, or None for anything else."""
    if raw.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(raw) >= 12 and raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WEBP"
    return None


def _ten_thousands(pixels: int) -> str:
    """``pixels`` in units of 万 (10 000): whole 万 when at least one, else a short decimal."""
    return str(pixels // 10_000) if pixels >= 10_000 else f"{pixels / 10_000:g}"


def _draft_request(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size to ask ``JpegImageFile.draft`` for so the decoded image keeps >= ``max_side``.

    draft() picks the largest 1/2^k reduction that keeps *both* dimensions at or above the
    request, so asking for a square (max_side, max_side) would stop a 4000x3000 photo at full
    size (1500 < 1600 on the short side). Asking for the aspect-correct target, rounded up,
    lets it reduce exactly as far as the final resize allows.
    """
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _upright(im: Image.Image) -> Image.Image:
    """An upright copy of the loaded ``im`` (EXIF orientation applied).

    A copy, not ``in_place``: closing the file (end of the ``with`` block) also invalidates the
    pixels of the opened image object itself.
    """
    return ImageOps.exif_transpose(im)


def _resizable(img: Image.Image) -> Image.Image:
    """``img`` in a mode ``thumbnail`` resamples properly (L, LA, RGB or RGBA)."""
    if img.mode in _RESIZABLE_MODES:
        return img
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit greyscale PNG: Pillow's convert("L") clips at 255, which turns the photo white.
        return img.convert("I").point(lambda v: v * (1 / 256), "L")
    if img.has_transparency_data:
        return img.convert("RGBA")
    return img.convert("RGB")


def _flatten_to_rgb(img: Image.Image) -> Image.Image:
    """``img`` as RGB; any alpha is composited onto white (JPEG has no transparency)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _encode_jpeg(img: Image.Image) -> bytes:
    """``img`` (RGB) as a baseline JPEG at quality 80 carrying no metadata at all."""
    # Pillow copies ``info["comment"]`` into the output by default, and the info dict of an
    # image derived from the upload still holds its EXIF, ICC profile and XMP; emptying it
    # guarantees nothing of the original's metadata is written.
    img.info = {}
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return buf.getvalue()


def _metadata(
    im: Image.Image, zone: ZoneInfo
) -> tuple[datetime | None, Decimal | None, Decimal | None]:
    """Taken-at time (UTC) and GPS latitude/longitude from ``im``'s EXIF; None where absent.

    Metadata is optional: malformed EXIF yields None values instead of rejecting the photo.
    """
    try:
        exif = im.getexif()
    except Exception:
        return None, None, None
    try:
        taken_at = _taken_at(exif.get_ifd(_TAG_EXIF_IFD), zone)
    except Exception:
        taken_at = None
    try:
        latitude, longitude = _position(exif.get_ifd(_TAG_GPS_IFD))
    except Exception:
        latitude = longitude = None
    return taken_at, latitude, longitude


def _text(value: Any) -> str | None:
    """An EXIF ASCII value as stripped text (Pillow gives str, some writers bytes)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ")


def _taken_at(exif_ifd: Mapping[int, Any], zone: ZoneInfo) -> datetime | None:
    """DateTimeOriginal as UTC: in OffsetTimeOriginal's offset if recorded, else in ``zone``."""
    text = _text(exif_ifd.get(_TAG_DATETIME_ORIGINAL))
    if not text:
        return None
    local = None
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            local = datetime.strptime(text[:19], fmt)
            break
        except ValueError:
            continue
    if local is None:
        # Unset clocks write "0000:00:00 00:00:00" or blanks; that is no time, not an error.
        return None
    offset = _text(exif_ifd.get(_TAG_OFFSET_TIME_ORIGINAL))
    match = _OFFSET_RE.fullmatch(offset) if offset else None
    if match and int(match[2]) <= 14 and int(match[3]) < 60:
        delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
        tzinfo: ZoneInfo | timezone = timezone(-delta if match[1] == "-" else delta)
    else:
        tzinfo = zone
    return local.replace(tzinfo=tzinfo).astimezone(UTC)


def _position(gps_ifd: Mapping[int, Any]) -> tuple[Decimal | None, Decimal | None]:
    """Signed decimal (latitude, longitude); (None, None) unless both are present and valid."""
    latitude = _coordinate(gps_ifd.get(_GPS_LAT), gps_ifd.get(_GPS_LAT_REF), "N", "S", 90)
    longitude = _coordinate(gps_ifd.get(_GPS_LON), gps_ifd.get(_GPS_LON_REF), "E", "W", 180)
    if latitude is None or longitude is None:
        return None, None
    return latitude, longitude


def _coordinate(dms: Any, ref: Any, positive: str, negative: str, bound: int) -> Decimal | None:
    """Degrees/minutes/seconds plus a hemisphere letter as signed degrees, 6 places.

    Without a hemisphere reference the sign is unknown, so the value is dropped rather than
    guessed; so is anything with a zero denominator, negative part or out of range.
    """
    hemisphere = (_text(ref) or "").upper()[:1]
    if hemisphere not in (positive, negative):
        return None
    if not isinstance(dms, tuple | list) or len(dms) != 3:
        return None
    total = Fraction(0)
    for part, divisor in zip(dms, (1, 60, 3600), strict=True):
        value = _fraction(part)
        if value is None or value < 0:
            return None
        total += value / divisor
    if total > bound:
        return None
    degrees = Decimal(total.numerator) / Decimal(total.denominator)
    degrees = degrees.quantize(_SIX_PLACES, rounding=ROUND_HALF_UP)
    return -degrees if hemisphere == negative else degrees


def _fraction(value: Any) -> Fraction | None:
    """An EXIF RATIONAL (Pillow's IFDRational), int or float as an exact Fraction, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value) if math.isfinite(value) else None
    # IFDRational (and Fraction): its parts may be ints or, when built from a float, floats.
    numerator = getattr(value, "numerator", None)
    denominator = getattr(value, "denominator", None)
    if numerator is None or denominator is None:
        return None
    top, bottom = _fraction(numerator), _fraction(denominator)
    if top is None or not bottom:
        return None
    return top / bottom


def photo_row(processed: Processed, **columns):
    """A ``Photo`` row for a processed upload: the file's digest, size and private metadata,
    plus ``columns`` (the uploader, the purpose, what it documents)."""
    from .models import Photo

    return Photo(
        sha256=processed.sha256,
        width=processed.width,
        height=processed.height,
        size_bytes=len(processed.data),
        taken_at=processed.taken_at,
        latitude=processed.latitude,
        longitude=processed.longitude,
        **columns,
    )


def link_reference(session, photo, *, uploaded_by_id: int, **links) -> None:
    """Point an earlier upload at ``links`` (``finding=``, ``hazard=``, ``event=``…): the row
    itself while it is pending; once it documents something else, a new row for the same file
    (rows are cheap, files are shared by sha256)."""
    if photo.is_pending:
        for key, value in links.items():
            setattr(photo, key, value)
        return
    from .models import Photo

    session.add(
        Photo(
            sha256=photo.sha256,
            content_type=photo.content_type,
            width=photo.width,
            height=photo.height,
            size_bytes=photo.size_bytes,
            taken_at=photo.taken_at,
            latitude=photo.latitude,
            longitude=photo.longitude,
            uploaded_by_id=uploaded_by_id,
            **links,
        )
    )


def upload_pending(
    session, *, store: photo_stores.PhotoStore, user, raw: bytes, max_pixels: int
) -> tuple[Any, bool]:
    """Process and store a photo sent ahead of the submission that will use it.

    Returns ``(photo, created)``: a row linked to nothing yet, owned by ``user``, which a later
    submission links by its sha256. The same image sent again by the same user returns the
    existing row. Raises ``PhotoError``. Flushes; the caller commits.
    """
    from sqlalchemy import select

    from .models import Photo

    processed = process(raw, max_pixels=max_pixels)
    existing = session.scalar(
        select(Photo)
        .where(Photo.sha256 == processed.sha256, Photo.uploaded_by_id == user.id)
        .order_by(Photo.id)
        .limit(1)
    )
    store.put(processed.sha256, processed.data, processed.thumb)
    if existing is not None:
        return existing, False
    photo = photo_row(processed, uploaded_by_id=user.id)
    session.add(photo)
    session.flush()
    return photo, True
