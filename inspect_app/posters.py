"""Fire safety code posters: the QR code of a building's public URL, as an A4 poster or a small
label, one building or a whole street or community in one printable document or PDF.

The QR encodes the absolute URL of ``/c/<token>`` (``code_url``). Posters are printed once and
stay on the wall for months while the colour is computed live, so the colour band says when it
was printed and the text tells people to scan for the current state.

QR symbols go into pages as one-pixel-per-module PNGs scaled up without smoothing, which prints
sharp at any size and lays out about three times faster in WeasyPrint than the same symbol as
an SVG path (error correction level Q, 25 %, because posters at entrances get dirty).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import qrcode
import qrcode.constants
from flask import current_app, has_request_context, render_template, request
from PIL import Image
from sqlalchemy.orm import Session

from . import labels, resource_dir
from .codes import building_codes
from .models import Building
from .pdf import html_to_pdf

SIZES = ("a4", "label")
LABELS_PER_PAGE = 21  # the common A4 sheet of 3 × 7 labels, 70 × 42.3 mm each
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q
STYLESHEET = "css/poster.css"


class NoBaseURL(RuntimeError):
    """Outside a request, ``PUBLIC_BASE_URL`` must say where the public page is served."""


def base_url() -> str:
    """Where the public pages are served: ``PUBLIC_BASE_URL`` when set (posters must carry the
    public address, not whatever host a staff member happened to use), else this request's."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    raise NoBaseURL("set PUBLIC_BASE_URL (e.g. https://xf.example.gov.cn) to print posters")


def code_url(building: Building, base: str | None = None) -> str:
    """The absolute URL the building's QR code encodes (``public.show``)."""
    return f"{base or base_url()}/c/{building.qr_token}"


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR modules of ``data`` (True = dark), with the 4-module quiet zone around them."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def qr_image(data: str, *, scale: int = 1) -> Image.Image:
    """The QR code of ``data`` as a black-and-white image, ``scale`` pixels per module."""
    matrix = qr_matrix(data)
    size = len(matrix)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    if scale > 1:
        image = image.resize((size * scale, size * scale), Image.Resampling.NEAREST)
    return image


def qr_png(data: str, *, scale: int = 10) -> bytes:
    """The QR code of ``data`` as a PNG, ``scale`` pixels per module (for downloads)."""
    buf = io.BytesIO()
    qr_image(data, scale=scale).save(buf, "PNG")
    return buf.getvalue()


def qr_data_uri(data: str) -> str:
    """A ``data:`` URI of the QR code at one pixel per module (a few hundred bytes), for pages
    that scale it up with ``image-rendering: pixelated``: browsers and WeasyPrint (which then
    writes ``/Interpolate false``) draw sharp modules at any size."""
    return "data:image/png;base64," + base64.b64encode(qr_png(data, scale=1)).decode("ascii")


@dataclass(frozen=True)
class Poster:
    """Everything printed on one poster or label."""

    name: str
    address: str
    class_label: str
    colour: str
    colour_label: str
    url: str
    qr: str  # a data: URI (qr_data_uri)


def posters_for(
    session: Session,
    buildings: Sequence[Building],
    *,
    today: date,
    validity_days: int,
    base: str | None = None,
) -> list[Poster]:
    """One ``Poster`` per building, in the given order (the colours in two queries)."""
    codes = building_codes(session, buildings, today=today, validity_days=validity_days)
    base = base or base_url()
    out = []
    for b in buildings:
        url = code_url(b, base)
        out.append(
            Poster(
                name=b.name,
                address=b.address,
                class_label=str(labels.CLASS[b.building_class]),
                colour=codes[b.id].colour,
                colour_label=str(labels.COLOUR[codes[b.id].colour]),
                url=url,
                qr=qr_data_uri(url),
            )
        )
    return out


def pages(posters: Sequence[Poster], size: str, *, copies: int = 1) -> list[list[Poster]]:
    """The posters laid out on sheets: one per A4 page, or ``LABELS_PER_PAGE`` labels a page
    (each building ``copies`` times, e.g. a full sheet of one building's labels)."""
    if size not in SIZES:
        raise ValueError(f"unknown poster size {size!r}")
    if size == "a4":
        return [[p] for p in posters for _ in range(copies)]
    labels_ = [p for p in posters for _ in range(copies)]
    return [labels_[i : i + LABELS_PER_PAGE] for i in range(0, len(labels_), LABELS_PER_PAGE)]


def render_html(
    posters: Sequence[Poster],
    size: str,
    *,
    printed_on: date,
    title: str,
    copies: int = 1,
    for_pdf: bool = False,
    links: dict[str, str] | None = None,
) -> str:
    """The printable document (``templates/posters/sheet.html``). ``for_pdf`` leaves out the
    stylesheet link and the on-screen toolbar; ``links`` are the toolbar's targets."""
    return render_template(
        "posters/sheet.html",
        sheets=pages(posters, size, copies=copies),
        size=size,
        printed_on=printed_on,
        title=title,
        for_pdf=for_pdf,
        links=links or {},
    )


def stylesheet_path() -> Path:
    return resource_dir("static") / STYLESHEET


def render_pdf(
    posters: Sequence[Poster], size: str, *, printed_on: date, title: str, copies: int = 1
) -> bytes:
    """The same document as a PDF with the Chinese font embedded."""
    html = render_html(
        posters, size, printed_on=printed_on, title=title, copies=copies, for_pdf=True
    )
    return html_to_pdf(html, stylesheets=[stylesheet_path()])


def ordered(buildings: Iterable[Building]) -> list[Building]:
    """Buildings in print order: by area, then address and name, so a street's posters come
    out grouped the way someone walks it."""
    return sorted(buildings, key=lambda b: (b.area.path, b.address, b.name, b.id))
