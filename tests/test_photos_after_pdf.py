"""A worker that has rendered a PDF still refuses half-uploaded photos.

WeasyPrint switches Pillow's process-wide ``LOAD_TRUNCATED_IMAGES`` on when imported; under
gunicorn the same worker renders plans as PDFs and takes uploads, so the photo check must not
depend on that flag.
"""

import io

import pytest
from PIL import Image, ImageFile

from inspect_app.photos import PhotoError, process


def test_truncated_upload_is_refused_even_after_weasyprint_is_loaded(monkeypatch):
    pytest.importorskip("weasyprint")
    # What the import did to the process (set again: an earlier upload may have reset it).
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    buf = io.BytesIO()
    Image.effect_noise((600, 400), 64).convert("RGB").save(buf, "JPEG")
    raw = buf.getvalue()
    with pytest.raises(PhotoError, match="图片已损坏或不完整"):
        process(raw[: len(raw) // 2])
    assert process(raw).width == 600
