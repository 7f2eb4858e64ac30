"""Shared pieces of the generated-input tests (``test_fuzz_forms.py``, ``test_fuzz_api.py``).

- ``JUNK`` and friends: hypothesis strategies for hostile form values (unicode, CJK, control
  characters, very long strings, out-of-range numbers, impossible dates, negative ids …);
- ``page_forms``: the forms a rendered page holds, with their real field names and the values
  the page offers (hidden values, select and radio options);
- ``verdict``: what is wrong with a response to bad input (a 500; a 4xx page without a Chinese
  message; an API 4xx that is not JSON ``{"error", "message"}``), or ``None``;
- ``COUNTS``: how many generated inputs each endpoint was sent, written out at the end of the
  session (printed, visible with ``-s``, and saved as ``fuzz_counts.txt`` in pytest's base
  temporary folder, or in the file named by ``INSPECT_FUZZ_COUNTS``).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

COUNTS: Counter[str] = Counter()
SECONDS: Counter[str] = Counter()  # wall time spent per endpoint, for the summary

# Reproducible in CI (derandomize), nothing remembered between runs (database=None), and no
# complaint that the app fixture outlives the examples: every example builds its own input
# from the world the test made once.
FUZZ = settings(
    deadline=None,
    # No shrinking: one answer costs a request, and shrinking an input of a big form can take
    # minutes; the first failing input is reported as it is.
    phases=[Phase.explicit, Phase.generate],
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


# --- values -------------------------------------------------------------------------------------

NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\r\n",
        "\t",
        "0",
        "-1",
        "-2147483649",
        "9223372036854775808",
        "99999999999999999999999999",
        "1e309",
        "-1e309",
        "NaN",
        "inf",
        "-0",
        "0.0000001",
        "1,5",
        "１２３",  # full-width digits
        "²",  # a digit to str.isdigit(), not to int()
        "9999-12-31",
        "10000-01-01",
        "0001-01-01",
        "0000-00-00",
        "2024-02-30",
        "2026-13-01",
        "1900-01-01T00:00:00",
        "2026-03-14T25:61:61Z",
        "true",
        "on",
        "null",
        "None",
        "[]",
        "{}",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%00",
        "%",
        "_",
        "\\",
        "../../etc/passwd",
        "\u202eevil",
        "\ufeff",
        "🔥" * 10,
        "消防车道被占用",
        "中" * 3000,
        "a" * 70000,
    ]
)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
CJK = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=30)
CONTROL = st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=5)
LONG = st.builds(
    lambda c, n: c * n, st.sampled_from(["a", "中", "\x00", "😀", "9"]), st.integers(100, 20000)
)
NUMBER = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
DATE = st.one_of(
    st.dates().map(str),
    st.builds(
        lambda y, m, d: f"{y}-{m:02}-{d:02}",
        st.integers(-10, 99999),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
)
JUNK = st.one_of(NASTY, TEXT, CJK, CONTROL, LONG, NUMBER, DATE)
FIELD_NAME = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x9a\xa0\xa0\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
FILE_BYTES = st.one_of(
    st.binary(max_size=2000),
    st.sampled_from(
        [
            b"",
            b"<html><script>alert(1)</script></html>",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",  # a JPEG that stops after its header
            PNG_1PX,
            PNG_1PX[:30],
            b"PK\x03\x04" + b"\x00" * 40,  # a zip (xlsx) that is not one
            _zip({"[Content_Types].xml": b"<x/>"}),
            _zip({"xl/workbook.xml": b"\x00" * 100}),
            "楼栋编码,名称\n,\n\x00,中\n".encode(),
            "\ufeff楼栋编码,楼栋名称,地址\nB-1,测试,路\n".encode("utf-8"),
            "楼栋编码,名称\n".encode("gb18030"),
        ]
    ),
    st.builds(
        lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8", "replace"),
        st.lists(st.lists(TEXT, max_size=6), max_size=8),
    ),
)
FILENAME = st.sampled_from(
    ["photo.jpg", "a.png", "registry.xlsx", "registry.csv", "中文.xlsx", "../x.csv", "", "a" * 300]
)


# --- forms a page renders -----------------------------------------------------------------------


@dataclass
class FormField:
    name: str
    kind: str  # input type, "select" or "textarea"
    values: list[str] = field(default_factory=list)


@dataclass
class PageForm:
    method: str
    action: str | None
    enctype: str
    fields: dict[str, FormField] = field(default_factory=dict)

    def add(self, name: str, kind: str, value: str | None):
        f = self.fields.setdefault(name, FormField(name, kind))
        if value is not None and value not in f.values:
            f.values.append(value)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self.form: PageForm | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = PageForm(
                method=(a.get("method") or "get").lower(),
                action=a.get("action"),
                enctype=a.get("enctype") or "",
            )
            self.forms.append(self.form)
            return
        target = self.form
        if target is None or not a.get("name"):
            if tag == "option" and self.select and target is not None:
                target.add(self.select, "select", a.get("value"))
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                if a.get("value") is not None:
                    target.add(name, "submit", a.get("value"))
                return
            target.add(name, kind, None if kind == "file" else a.get("value", "on"))
        elif tag == "textarea":
            target.add(name, "textarea", None)
        elif tag == "select":
            self.select = name
            target.add(name, "select", None)
        elif tag == "button" and a.get("value") is not None:
            target.add(name, "submit", a.get("value"))

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None


def page_forms(html: str) -> list[PageForm]:
    """Every ``<form>`` of ``html`` with its fields (``csrf_token`` included)."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


# Forms larger than this (the inspection form: hundreds of fields) get junk in a few fields at
# a time, the others keeping what the page offers: structurally plausible, and cheap to send.
BIG_FORM = 40


@st.composite
def form_data(draw, fields: list[FormField], csrf: str | None):
    """A form body: each real field kept with an offered value, given junk, repeated or left
    out; a few made-up fields; the valid CSRF token (when there is one)."""
    # Every CSRF field (forms with a prefix have their own) carries the valid token: the input
    # under test is the rest of the form.
    tokens = [f.name for f in fields if f.name.endswith("csrf_token")]
    fields = [f for f in fields if not f.name.endswith("csrf_token")]
    if len(fields) > BIG_FORM:
        chosen = draw(st.sets(st.integers(0, len(fields) - 1), min_size=1, max_size=12))
    else:
        chosen = set(range(len(fields)))
    out: list[tuple[str, object]] = []
    for i, f in enumerate(fields):
        if i not in chosen:
            if f.values and f.kind not in ("checkbox", "file", "submit"):
                kept = (
                    f.values[0]
                    if f.kind not in ("radio", "select")
                    else draw(st.sampled_from(f.values))
                )
                out.append((f.name, kept))
            continue
        if f.kind == "file":
            for _ in range(draw(st.integers(0, 2))):
                out.append((f.name, (io.BytesIO(draw(FILE_BYTES)), draw(FILENAME))))
            continue
        mode = draw(st.integers(0, 9))
        if mode == 0:
            continue  # left out
        for _ in range(2 if mode == 1 else 1):
            if f.values and draw(st.integers(0, 2)) > 0:
                out.append((f.name, draw(st.sampled_from(f.values))))
            else:
                out.append((f.name, draw(JUNK)))
    for name, value in draw(st.lists(st.tuples(FIELD_NAME, JUNK), max_size=2)):
        out.append((name, value))
    if csrf is not None:
        for name in tokens or ["csrf_token"]:
            out.append((name, csrf))
    return out


# --- the verdict on a response -----------------------------------------------------------------

_CJK = "[\u4e00-\u9fff]"
# A message element (field error, alert, flash) that says something in Chinese.
_MESSAGE = re.compile(
    r'(?:class="[^"]*\b(?:error|alert|flash)\b[^"]*"|role="alert")[^>]*>'
    r"(?:(?!</(?:p|div|small|h1|h2|section)>).){0,600}?" + _CJK,
    re.S,
)
# The error page (templates/error.html): titled with the status code, its heading the message.
# A page that is only a message (public/message.html, error.html): fine as a 4xx answer.
_MESSAGE_CARD = re.compile(r'<section class="card narrow">\s*<h1>[^<]*' + _CJK)
_ERROR_PAGE = re.compile(r"<title>[45]\d\d · .*?<h1>[^<]*" + _CJK, re.S)


def verdict(response, *, api: bool, exc_text: str = "") -> str | None:
    """What is wrong with ``response`` as an answer to bad input, or ``None`` when it is fine:
    never a 5xx; a rejection (4xx) explains itself — JSON ``{"error", "message"}`` from the API,
    a Chinese message on a page."""
    status = response.status_code
    if status >= 500:
        return f"{status}{(': ' + exc_text) if exc_text else ''}"
    if status < 400:
        return None
    if api:
        body = _json_body(response)
        if not (
            isinstance(body, dict)
            and isinstance(body.get("error"), str)
            and isinstance(body.get("message"), str)
            and body["message"]
        ):
            return f"{status} without JSON error/message: {response.get_data()[:200]!r}"
        return None
    if "text/html" not in response.content_type:
        return f"{status} answered {response.content_type}, not a page with a message"
    text = response.get_data(as_text=True)
    if not (has_message(text) or _MESSAGE_CARD.search(text)):
        return f"{status} page without a Chinese error message"
    return None


def _json_body(response):
    """The JSON body of a Werkzeug test response or a Schemathesis one, or ``None``."""
    if hasattr(response, "get_json"):
        return response.get_json(silent=True)
    try:
        return response.json()
    except Exception:  # noqa: BLE001 (not JSON at all)
        return None


def has_message(html: str) -> bool:
    """Whether a page shows a message in Chinese: a field error, an alert, a flash, or the
    error page's heading."""
    return bool(_MESSAGE.search(html) or _ERROR_PAGE.search(html))


class ExceptionLog:
    """The last unhandled exception the app logged (its error handler logs and answers 500)."""

    def __init__(self, caplog):
        self.caplog = caplog

    def last(self) -> str:
        for record in reversed(self.caplog.records):
            if record.exc_text or record.exc_info:
                text = record.exc_text or ""
                if not text and record.exc_info:
                    import traceback

                    text = "".join(traceback.format_exception(*record.exc_info))
                return " | ".join(text.strip().splitlines()[-3:])
        return ""


# --- the count of inputs ------------------------------------------------------------------------


def _write_counts(base) -> None:
    if not COUNTS:
        return
    width = max(len(k) for k in COUNTS)
    lines = [f"{'endpoint':<{width}}  inputs  seconds"]
    lines += [
        f"{name:<{width}}  {n:>6}  {SECONDS[name]:>7.2f}" for name, n in sorted(COUNTS.items())
    ]
    total = f"total ({len(COUNTS)} endpoints)"
    lines.append(f"{total:<{width}}  {sum(COUNTS.values()):>6}  {sum(SECONDS.values()):>7.2f}")
    table = "\n".join(lines)
    print("\n\ngenerated inputs per endpoint\n" + table)
    target = os.environ.get("INSPECT_FUZZ_COUNTS") or str(base / "fuzz_counts.txt")
    with open(target, "w", encoding="utf-8") as f:
        f.write(table + "\n")


@pytest.fixture(scope="session")
def fuzz_counts(tmp_path_factory):
    """The session's counter of generated inputs; the table is written when the session ends."""
    yield COUNTS
    _write_counts(tmp_path_factory.getbasetemp())
