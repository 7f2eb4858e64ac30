"""Draw the app's home-screen icons once (Pillow); the PNGs are committed under static/icons/.

A white high-rise with a flame on the theme red. "any" icons use a rounded square; maskable
icons fill the square and keep the drawing inside the central safe zone (a circle of 40 % of
the size), as the maskable-icon rule asks.

    .venv/bin/python scripts/pwa_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

RED = (183, 28, 28)
WHITE = (255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
SCALE = 4  # drawn large, then reduced: smooth edges without anti-aliasing primitives


def _glyph(draw: ImageDraw.ImageDraw, size: int, extent: float) -> None:
    """The building and flame, fitted in a centred box ``extent`` × size wide."""
    box = size * extent
    x0 = (size - box) / 2
    y0 = (size - box) / 2 - 0.09 * box  # the drawing spans 0.18–1.0 of its box: centre it

    def px(fx: float, fy: float) -> tuple[float, float]:
        return (x0 + fx * box, y0 + fy * box)

    # The tower, with a grid of windows cut out in red.
    draw.rectangle([px(0.22, 0.18), px(0.62, 1.0)], fill=WHITE)
    for row in range(6):
        for col in range(3):
            fx = 0.28 + col * 0.115
            fy = 0.25 + row * 0.12
            draw.rectangle([px(fx, fy), px(fx + 0.06, fy + 0.065)], fill=RED)
    # The flame beside it: a teardrop of a circle and a triangle, with a red core.
    draw.ellipse([px(0.62, 0.56), px(0.92, 0.86)], fill=WHITE)
    draw.polygon([px(0.635, 0.66), px(0.905, 0.66), px(0.80, 0.30)], fill=WHITE)
    draw.ellipse([px(0.715, 0.68), px(0.825, 0.79)], fill=RED)
    draw.polygon([px(0.72, 0.72), px(0.82, 0.72), px(0.785, 0.58)], fill=RED)


def draw_icon(size: int, maskable: bool) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0) if not maskable else RED + (255,))
    draw = ImageDraw.Draw(image)
    if maskable:
        _glyph(draw, big, 0.56)  # inside the 80 % safe circle
    else:
        draw.rounded_rectangle([0, 0, big - 1, big - 1], radius=big * 0.18, fill=RED)
        _glyph(draw, big, 0.70)
    small = image.resize((size, size), Image.Resampling.LANCZOS)
    # Few colours keep the files small; 32 are enough for the smooth edges.
    return small.quantize(colors=32, method=Image.Quantize.FASTOCTREE)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw_icon(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        draw_icon(size, maskable=True).save(OUT / f"maskable-{size}.png", optimize=True)
    draw_icon(180, maskable=True).save(OUT / "apple-touch-icon.png", optimize=True)
    for path in sorted(OUT.glob("*.png")):
        print(path.name, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
