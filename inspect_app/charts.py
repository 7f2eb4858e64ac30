"""Server-side SVG charts: no script, no CDN, readable offline and in print.

Each function returns inline SVG markup (``Markup``) sized by its ``viewBox`` (it scales to
the width of its container), with ``role="img"``, a ``<title>`` and a ``<desc>`` that states
the data in words for screen readers. Pages show the same numbers in a table next to every
chart: the chart is never the only place a figure appears.

Colours are SVG presentation attributes, not ``style`` attributes, so the app's Content
Security Policy (no inline styles) does not affect them. Text is escaped.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import gettext
from markupsafe import Markup, escape

# Colour-blind-safe palette (Okabe–Ito), in the order series use it.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
GRID = "#d0d0d0"
# Narrow view boxes keep the text legible when a chart shrinks to a phone's width; pages cap
# how wide a chart grows (oversight.css).
BAR_WIDTH = 420
LINE_WIDTH = 480
INK = "#222222"
MUTED = "#666666"
FONT = 13

_ids = itertools.count(1)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _num(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _open(width: float, height: float, title: str, desc: str, css_class: str) -> tuple[str, str]:
    n = next(_ids)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css_class)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" width="100%" role="img" '
        f'aria-labelledby="chart-{n}-t chart-{n}-d" font-size="{FONT}" fill="{INK}">'
        f'<title id="chart-{n}-t">{escape(title)}</title>'
        f'<desc id="chart-{n}-d">{escape(desc)}</desc>'
    )
    return head, "</svg>"


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    fill: str = INK,
    size: int | None = None,
    weight: str | None = None,
) -> str:
    extra = f' font-size="{size}"' if size else ""
    extra += f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" fill="{fill}"'
        f"{extra}>{escape(text)}</text>"
    )


def _text_width(text: str) -> float:
    """About how wide ``text`` is: CJK characters one em, others about half of one."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.6 for ch in text) * FONT


def _label_width(labels: Sequence[str]) -> float:
    """Room for the longest label (at least 40, at most 160 units)."""
    return min(160.0, max(40.0, max((_text_width(t) for t in labels), default=0) + 12))


def _legend(
    items: Sequence[tuple[str, str]], *, x0: float, width: float
) -> tuple[list[str], float]:
    """Swatches and names of ``(name, colour)`` from ``x0``, wrapping onto further lines within
    ``width``; returns the markup and the height it takes."""
    out: list[str] = []
    x, y, line_h = x0, 6.0, 20
    for name, colour in items:
        step = 16 + _text_width(name) + 14
        if x > x0 and x + step > width:
            x, y = x0, y + line_h
        out.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="12" height="12" fill="{colour}"/>')
        out.append(_text(x + 16, y + 11, name))
        x += step
    return out, y + line_h


# ---------------------------------------------------------------------------------------------
# Horizontal bars (a ranking)
# ---------------------------------------------------------------------------------------------


def hbar(
    rows: Sequence[tuple[str, float | None]],
    *,
    title: str,
    max_value: float | None = None,
    fmt: Callable[[float | None], str] = percent,
    colour: str = PALETTE[0],
    target: float | None = None,
    target_label: str = "",
) -> Markup:
    """One bar per ``(label, value)``, top to bottom in the given order; ``None`` values show
    "—" and no bar. ``max_value`` is the scale's end (default: the largest value, or 1 for
    an all-empty chart); ``target`` draws a dashed reference line."""
    values = [v for _l, v in rows if v is not None]
    top = max_value if max_value is not None else max([*values, 0]) or 1
    label_w = _label_width([label for label, _v in rows])
    bar_h, gap, value_w = 22, 8, 64
    width = BAR_WIDTH
    plot_w = width - label_w - value_w
    height = 16 + len(rows) * (bar_h + gap) + (18 if target is not None else 0)
    desc = "；".join(f"{label}：{fmt(v)}" for label, v in rows) or gettext("没有数据")
    head, tail = _open(width, height, title, desc, "chart-hbar")
    parts = [head]
    y = 8.0
    for label, value in rows:
        parts.append(_text(label_w - 8, y + bar_h * 0.7, label, anchor="end"))
        parts.append(
            f'<rect x="{_num(label_w)}" y="{_num(y)}" width="{_num(plot_w)}" '
            f'height="{bar_h}" fill="#f2f2f2"/>'
        )
        if value is not None and value > 0:
            w = plot_w * min(value, top) / top
            parts.append(
                f'<rect class="bar" x="{_num(label_w)}" y="{_num(y)}" width="{_num(w)}" '
                f'height="{bar_h}" fill="{colour}"><title>{escape(label)}：'
                f"{escape(fmt(value))}</title></rect>"
            )
        parts.append(_text(label_w + plot_w + 6, y + bar_h * 0.7, fmt(value)))
        y += bar_h + gap
    if target is not None and top:
        x = label_w + plot_w * min(target, top) / top
        parts.append(
            f'<line x1="{_num(x)}" y1="4" x2="{_num(x)}" y2="{_num(y)}" stroke="{INK}" '
            f'stroke-dasharray="4 3"/>'
        )
        parts.append(_text(x, y + 14, target_label or fmt(target), anchor="middle", fill=MUTED))
    parts.append(tail)
    return Markup("".join(parts))


# ---------------------------------------------------------------------------------------------
# Stacked horizontal bars (parts of a whole per row)
# ---------------------------------------------------------------------------------------------


def stacked_hbar(
    rows: Sequence[tuple[str, Sequence[int]]],
    *,
    series: Sequence[str],
    title: str,
    colours: Sequence[str] = PALETTE,
) -> Markup:
    """One bar per row split into ``series`` parts (counts), on a common scale (the largest
    row total), with a legend. Each part carries its own tooltip."""
    totals = [sum(parts) for _l, parts in rows]
    top = max([*totals, 0]) or 1
    label_w = _label_width([label for label, _p in rows])
    bar_h, gap, value_w = 22, 8, 56
    width = BAR_WIDTH
    plot_w = width - label_w - value_w
    legend, legend_h = _legend(
        [(name, colours[i % len(colours)]) for i, name in enumerate(series)], x0=4, width=width
    )
    height = legend_h + 8 + len(rows) * (bar_h + gap)
    desc = "；".join(
        f"{label}：" + "，".join(f"{s} {n}" for s, n in zip(series, parts, strict=True))
        for label, parts in rows
    ) or gettext("没有数据")
    head, tail = _open(width, height, title, desc, "chart-stacked")
    out = [head, *legend]
    y = float(legend_h + 8)
    for (label, parts), total in zip(rows, totals, strict=True):
        out.append(_text(label_w - 8, y + bar_h * 0.7, label, anchor="end"))
        x = label_w
        for i, n in enumerate(parts):
            if n <= 0:
                continue
            w = plot_w * n / top
            out.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{bar_h}" '
                f'fill="{colours[i % len(colours)]}"><title>{escape(label)} · '
                f"{escape(series[i])}：{n}</title></rect>"
            )
            x += w
        out.append(_text(x + 6, y + bar_h * 0.7, str(total)))
        y += bar_h + gap
    out.append(tail)
    return Markup("".join(out))


# ---------------------------------------------------------------------------------------------
# Lines over time
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    colour: str | None = None


def _nice_top(value: float) -> float:
    """A round scale end ≥ ``value`` (1, 2, 2.5, 5 × 10ⁿ)."""
    if value <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def line(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    y_max: float | None = None,
    fmt: Callable[[float | None], str] = number,
    ticks: int = 4,
) -> Markup:
    """Lines of ``series`` over ``x_labels`` (one point per label; ``None`` breaks the
    line), with a legend, horizontal grid lines and every few x labels."""
    values = [v for s in series for v in s.values if v is not None]
    top = y_max if y_max is not None else _nice_top(max([*values, 0]))
    colours = [s.colour or PALETTE[k % len(PALETTE)] for k, s in enumerate(series)]
    legend, legend_h = _legend(
        [(s.name, c) for s, c in zip(series, colours, strict=True)], x0=4, width=LINE_WIDTH
    )
    width, left, right, bottom = LINE_WIDTH, 52, 18, 40
    top_pad = legend_h + 12
    height = top_pad + 170 + bottom
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    n = len(x_labels)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top_pad + plot_h * (1 - min(v, top) / top)

    desc_parts = []
    for s in series:
        points = "，".join(
            f"{x} {fmt(v)}" for x, v in zip(x_labels, s.values, strict=True) if v is not None
        )
        desc_parts.append(f"{s.name}：{points or gettext('没有数据')}")
    head, tail = _open(width, height, title, "；".join(desc_parts), "chart-line")
    out = [head]
    for k in range(ticks + 1):
        v = top * k / ticks
        y = py(v)
        out.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" '
            f'stroke="{GRID}"/>'
        )
        out.append(_text(left - 6, y + 4, fmt(v), anchor="end", fill=MUTED, size=11))
    every = max(1, math.ceil(n / 6))
    for i, label in enumerate(x_labels):
        # Every few labels, and the last one unless it would touch the one before.
        if i % every == 0 or (i == n - 1 and (n - 1) % every > every // 2):
            out.append(
                _text(px(i), height - bottom + 18, label, anchor="middle", fill=MUTED, size=11)
            )
    out.extend(legend)
    for s, colour in zip(series, colours, strict=True):
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(s.values):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{_num(px(i))},{_num(py(v))}")
            out.append(
                f'<circle cx="{_num(px(i))}" cy="{_num(py(v))}" r="3" fill="{colour}">'
                f"<title>{escape(s.name)} {escape(x_labels[i])}：{escape(fmt(v))}</title>"
                "</circle>"
            )
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                out.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                    f'points="{" ".join(seg)}"/>'
                )
    out.append(tail)
    return Markup("".join(out))


# ---------------------------------------------------------------------------------------------
# A meter: one share against the time gone
# ---------------------------------------------------------------------------------------------


def meter(
    value: float | None,
    *,
    title: str,
    marker: float | None = None,
    marker_label: str = "",
    colour: str = PALETTE[2],
) -> Markup:
    """A 0–100 % bar filled to ``value`` with an optional ``marker`` (e.g. the share of the
    phase's time gone) drawn as a tick with its label."""
    width, height, pad = BAR_WIDTH, 54 if marker is not None else 36, 4
    bar_w = width - 2 * pad
    desc = f"{title}：{percent(value)}"
    if marker is not None:
        desc += f"；{marker_label}：{percent(marker)}"
    head, tail = _open(width, height, title, desc, "chart-meter")
    out = [head, f'<rect x="{pad}" y="4" width="{bar_w}" height="22" fill="#eeeeee"/>']
    if value is not None and value > 0:
        out.append(
            f'<rect x="{pad}" y="4" width="{_num(bar_w * min(value, 1))}" height="22" '
            f'fill="{colour}"/>'
        )
    out.append(_text(pad + 6, 20, percent(value), weight="bold"))
    if marker is not None:
        x = pad + bar_w * min(max(marker, 0), 1)
        out.append(
            f'<line x1="{_num(x)}" y1="0" x2="{_num(x)}" y2="30" stroke="{INK}" stroke-width="2"/>'
        )
        anchor = "end" if marker > 0.8 else "start" if marker < 0.2 else "middle"
        out.append(_text(x, 46, f"{marker_label} {percent(marker)}", anchor=anchor, fill=MUTED))
    out.append(tail)
    return Markup("".join(out))
