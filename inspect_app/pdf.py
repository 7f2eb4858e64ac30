"""PDF documents with Chinese text (building plans, supervision notices, posters).

Pages are ordinary Jinja templates rendered to HTML and laid out by WeasyPrint, which embeds
a subset of the CJK font it finds through fontconfig (Noto Sans CJK SC from fonts-noto-cjk,
else WenQuanYi Micro Hei). Documents are self-contained: photos go in as ``data:`` URIs and
stylesheets are read from the app's own files, and the fetcher refuses every other URL, so
user text can never make the server load anything.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

from flask import render_template

from . import resource_dir


class PdfError(RuntimeError):
    """The PDF could not be produced (WeasyPrint missing)."""


def _fetcher():
    """WeasyPrint's fetcher limited to ``data:`` URIs and files under the app's static folder."""
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import URLFetcher

    static = resource_dir("static").resolve()

    class OwnFiles(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file:"):
                path = Path(unquote(urlparse(url).path)).resolve()
                if not path.is_relative_to(static):
                    raise ValueError(f"file outside the app refused in a PDF: {path.name}")
            return super().fetch(url, headers)

    return OwnFiles(allowed_protocols={"data", "file"})


def html_to_pdf(html: str, *, stylesheets: Iterable[str | PathLike] = ()) -> bytes:
    """Lay out ``html`` as a PDF, with extra ``stylesheets`` (files of the app's own)."""
    try:
        from weasyprint import CSS, HTML
    except ImportError as err:  # pragma: no cover - the dependency is declared
        raise PdfError("WeasyPrint is not installed") from err
    fetcher = _fetcher()
    sheets = [CSS(filename=str(path), url_fetcher=fetcher) for path in stylesheets]
    return HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=sheets)


def render(template: str, **context) -> bytes:
    """Render ``template`` (a self-contained document template) and lay it out."""
    return html_to_pdf(render_template(template, **context))


def thumbnails(store, photos: Iterable, *, limit: int = 3) -> list[str]:
    """``data:`` URIs of the thumbnails of up to ``limit`` photos (missing files skipped)."""
    out = []
    for photo in photos:
        if len(out) >= limit:
            break
        try:
            data = store.read(photo.sha256, thumb=True)
        except (FileNotFoundError, OSError, KeyError):
            continue
        out.append("data:image/jpeg;base64," + base64.b64encode(data).decode("ascii"))
    return out
