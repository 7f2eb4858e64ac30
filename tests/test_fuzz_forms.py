"""Generated input for every form and every page: no input produces a 500, and every rejection
is a clear 4xx (a page with a Chinese message; JSON ``{"error", "message"}`` under ``/api/``).

The routes come from the app's URL map, the roles allowed to use them from the access matrix
(``tests/test_access_matrix.py`` ``RULES``) and the objects they name from
``tests/access_world.py``. The field names come from the forms the app itself renders: every
page a role may open is read once, and each ``<form method="post">`` on it is matched to its
route, so each route is posted with its real fields — keeping the values the page offers
(hidden values, options) or replacing them with generated junk, repeating or dropping them,
adding unknown fields — always with a valid CSRF token, as a user allowed to use it.

Every test builds its world once; examples of one route never rely on what an earlier example
did (a generated input that is valid may change the world, which later examples only see as a
different but still valid state). Routes that destroy what others need run last.
"""

from __future__ import annotations

import io
import re
import time
import uuid

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from inspect_app.db import db
from inspect_app.models import Building, Inspection
from tests.access_world import build_world
from tests.conftest import csrf_from, login
from tests.fuzzing import (
    CJK,
    COUNTS,
    DATE,
    FILE_BYTES,
    FILENAME,
    FUZZ,
    JUNK,
    NASTY,
    NUMBER,
    SECONDS,
    TEXT,
    ExceptionLog,
    FormField,
    form_data,
    fuzz_counts,  # noqa: F401 (session fixture)
    has_message,
    page_forms,
    verdict,
)
from tests.test_access_matrix import RULES

pytestmark = pytest.mark.usefixtures("fuzz_counts")

# The role that posts a route when several may: the field worker first, who uses the app most.
PREFERENCE = ("inspector", "manager", "street", "fire", "admin")
# Routes that end the session or remove what the other routes need: fuzzed last.
DESTRUCTIVE = (
    "auth.logout",
    "admin.building_delete",
    "admin.building_retire",
    "admin.user_active",
    "admin.user_password",
    "admin.token_revoke",
    "posters.rotate",
)
# Query parameters the app reads somewhere, tried on every page besides the page's own.
COMMON_ARGS = (
    "q", "page", "area", "campaign", "start", "end", "status", "category", "severity",
    "overdue", "supervised", "rebound", "month", "level", "rank", "building", "next", "size",
    "sort", "kind", "filter", "state", "token", "format",
)  # fmt: skip
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_SLOW = (".pdf", ".xlsx", ".png", ".csv")


def _role_for(method: str, endpoint: str) -> str | None:
    rule = RULES[(method, endpoint)]
    if rule.public:
        return None
    return next(r for r in PREFERENCE if r in rule.roles)


def _examples(url: str, default: int) -> int:
    """Fewer examples where one answer costs a PDF or a spreadsheet."""
    return max(2, default // 4) if url.split("?")[0].endswith(_SLOW) else default


class Browser:
    """One logged-in (or anonymous) test client with its session's CSRF token."""

    def __init__(self, app, role: str | None, addr: str = "198.51.100.7"):
        self.client = app.test_client()
        self.addr = addr
        if role is not None:
            assert login(self.client, role).status_code == 302, role
            page = self.client.get("/inbox").get_data(as_text=True)
        else:
            page = self.client.get("/login").get_data(as_text=True)
        self.token = _CSRF.search(page).group(1)

    def get(self, url, **kw):
        return self.client.get(url, environ_base={"REMOTE_ADDR": self.addr}, **kw)

    def post(self, url, data, **kw):
        headers = {"X-CSRFToken": self.token} if url.startswith("/api/") else {}
        environ = {"REMOTE_ADDR": self.addr}
        return self.client.post(
            url, data=MultiDict(data), headers=headers, environ_base=environ, **kw
        )


def _url(app, rule, world, role) -> str:
    decision = RULES[(sorted(rule.methods - {"HEAD", "OPTIONS"})[0], rule.endpoint)]
    values = {}
    for arg in rule.arguments:
        values[arg] = decision.args.get(arg) or world.value(arg, role, True)
    return rule.build(values, append_unknown=False)[1]


def _endpoint_of(app, path: str, method: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method=method)
    except (HTTPException, RequestRedirect):
        return None
    return endpoint


def _routes(app, method: str):
    out = []
    for rule in app.url_map.iter_rules():
        if method in rule.methods and (method, rule.endpoint) in RULES:
            out.append(rule)
    return sorted(out, key=lambda r: (r.endpoint in DESTRUCTIVE, r.endpoint, r.rule))


def _discover(app, world, roles=(None, *PREFERENCE)):
    """(role, endpoint) → {url: fields}: the POST forms of every page each role may open."""
    found: dict[tuple[str | None, str], dict[str, dict[str, FormField]]] = {}
    for role in roles:
        browser = Browser(app, role)
        for rule in _routes(app, "GET"):
            decision = RULES[("GET", rule.endpoint)]
            if rule.endpoint in ("static", "auth.login") and role is not None:
                continue
            if not (decision.public or role in decision.roles):
                continue
            page_url = _url(app, rule, world, role)
            if page_url.endswith(_SLOW) or page_url.endswith((".js", ".json", ".webmanifest")):
                continue
            response = browser.get(page_url)
            if "text/html" not in response.content_type:
                continue
            for form in page_forms(response.get_data(as_text=True)):
                if form.method != "post":
                    continue
                action = form.action or page_url
                path = action.split("?")[0]
                endpoint = _endpoint_of(app, path, "POST")
                if endpoint is None:
                    continue
                fields = found.setdefault((role, endpoint), {}).setdefault(action, {})
                for f in form.fields.values():
                    fields.setdefault(f.name, f)
    return {k: {u: list(f.values()) for u, f in v.items()} for k, v in found.items()}


@pytest.fixture
def world(app, make, district, checklist):
    return build_world(app, make, district, checklist)


@pytest.fixture
def exceptions(caplog):
    return ExceptionLog(caplog)


def _fuzz(name, strategy, send, n, problems, counts):
    """Run ``send`` on ``n`` generated inputs; a failing verdict (after shrinking) is recorded
    in ``problems`` under ``name`` instead of stopping the other routes."""

    @settings(FUZZ, max_examples=n)
    @given(data=strategy)
    def run(data):
        counts[name] += 1
        problem = send(data)
        assert problem is None, f"{problem} on {_short(data)}"

    started = time.perf_counter()
    try:
        run()
    except Exception as err:  # noqa: BLE001 (every failure is listed with its route)
        problems.append(f"{name}: {type(err).__name__}: {str(err).splitlines()[0][:2000]}")
    SECONDS[name] += time.perf_counter() - started


def _short(data) -> str:
    """A failing input, short enough to read in a test report."""
    if isinstance(data, list):
        return repr([(k, v if not isinstance(v, str) else v[:40]) for k, v in data])[:1500]
    return repr(data)[:1500]


def test_every_post_route_takes_generated_form_data(app, world, exceptions):
    """Every route accepting POST, posted by an allowed role with its real fields and generated
    values: answers < 500, and every 4xx explains itself."""
    forms = _discover(app, world)
    problems: list[str] = []
    missing: list[str] = []
    for rule in _routes(app, "POST"):
        endpoint = rule.endpoint
        role = _role_for("POST", endpoint)
        targets = forms.get((role, endpoint))
        if not targets:
            missing.append(endpoint)
            targets = {_url(app, rule, world, role): []}
        browser = Browser(app, role, addr=f"203.0.113.{len(problems) % 250 + 1}")
        api = rule.rule.startswith("/api/")
        for url, fields in targets.items():
            # The administrator's forms (areas, users, buildings, tokens, webhooks) get more.
            # The English language switch answers in English: its messages are not Chinese.
            english = url.endswith("/language/en")
            n = 6 if endpoint in DESTRUCTIVE else 20 if role == "admin" else 10

            def send(
                data,
                url=url,
                api=api,
                browser=browser,
                lenient=english,
            ):
                response = browser.post(url, data)
                if lenient and 400 <= response.status_code < 500:
                    return None
                return verdict(response, api=api, exc_text=exceptions.last())

            _fuzz(endpoint, form_data(fields, browser.token), send, n, problems, COUNTS)
    assert not problems, f"{len(problems)} routes failed:\n" + "\n".join(problems)
    # Routes without a form on any page the role can open are still fuzzed (extra fields
    # only); the list is small and known.
    assert set(missing) <= {
        "auth.logout",
        "auth.language",
        "public.elsewhere",
        "api.photo_upload",
        "api.inspection_submit",
        "ledger_api.hazard_event",
        "admin.user_password",
        "admin.building_delete",
        "admin.building_restore",
        "reports.confirm",
        "reports.dismiss",
        "webhooks.retry",
        "plans.review",
        "campaigns.record_acceptance",
        "campaigns.list_candidates",
        "hazards.transition",
        "supervisions.act",
        "inbox.mark_read",
        "manager.evidence",
        "registry.decide",
    }, missing


@st.composite
def query_args(draw, names: list[str]):
    pairs = []
    for name in draw(st.lists(st.sampled_from(names), max_size=4)):
        pairs.append((name, draw(JUNK)))
    if draw(st.booleans()):
        pairs.append((draw(st.text(min_size=1, max_size=8)), draw(JUNK)))
    return pairs


def _get_form_args(html: str) -> list[str]:
    names = []
    for form in page_forms(html):
        if form.method == "get":
            names.extend(n for n in form.fields if n not in names)
    return names


def test_every_get_route_takes_generated_query_strings(app, world, exceptions):
    """Every page and GET endpoint, as an allowed role, with its own GET form's fields and the
    query parameters the app reads anywhere, given generated values."""
    problems: list[str] = []
    browsers: dict[str | None, Browser] = {}
    for rule in _routes(app, "GET"):
        endpoint = rule.endpoint
        role = _role_for("GET", endpoint)
        if role not in browsers:
            browsers[role] = Browser(app, role)
        browser = browsers[role]
        url = _url(app, rule, world, role)
        first = browser.get(url)
        html = "text/html" in first.content_type
        own = _get_form_args(first.get_data(as_text=True)) if html else []
        names = own + [a for a in COMMON_ARGS if a not in own]
        api = url.startswith("/api/") or endpoint == "health.healthz"

        def send(pairs, url=url, api=api, browser=browser):
            response = browser.get(url, query_string=pairs)
            response.close()
            return verdict(response, api=api, exc_text=exceptions.last())

        _fuzz(
            f"GET {endpoint}",
            query_args(names),
            send,
            _examples(url, 6),
            problems,
            COUNTS,
        )
    assert not problems, f"{len(problems)} routes failed:\n" + "\n".join(problems)


# --- forms that deserve more examples -------------------------------------------------------------


def test_login_form(app, district, exceptions):
    """The login form with generated credentials, from many addresses; nobody is logged in by
    junk, and a refusal is a page with a message (the form again, or 429)."""
    problems: list[str] = []
    n = iter(range(10**6))

    def send(data):
        client = app.test_client()
        token = csrf_from(client, "/login")
        addr = f"192.0.2.{next(n) % 250 + 1}"
        response = client.post(
            "/login",
            data=MultiDict([*data, ("csrf_token", token)]),
            environ_base={"REMOTE_ADDR": addr},
        )
        problem = verdict(response, api=False, exc_text=exceptions.last())
        if problem is None and response.status_code == 302:
            problem = "junk credentials logged in"
        if problem is None and response.status_code == 200:
            # The form again: it must say why.
            problem = None if has_message(response.get_data(as_text=True)) else "no message"
        return problem

    fields = [
        FormField("username", "text", ["inspector", "admin", " INSPECTOR ", ""]),
        FormField("password", "password", ["wrong"]),
        FormField("remember", "checkbox", ["y"]),
    ]
    _fuzz("auth.login (form)", form_data(fields, None), send, 50, problems, COUNTS)
    assert not problems, problems


def test_inspection_form(app, world, exceptions):
    """The inspection form (``/buildings/<id>/inspections/new``) with every checklist item's real
    field names and generated answers, a fresh ``client_uuid`` each time; a rejected
    submission leaves no inspection behind."""
    building_id = world.inside["building_id"]
    browser = Browser(app, "inspector")
    url = f"/buildings/{building_id}/inspections/new"
    page = browser.get(url).get_data(as_text=True)
    form = next(f for f in page_forms(page) if "client_uuid" in f.fields)
    fields = [f for f in form.fields.values() if f.name != "client_uuid"]
    assert any(f.name.startswith("findings-") for f in fields)
    problems: list[str] = []

    @st.composite
    def body(draw):
        data = draw(form_data(fields, browser.token))
        client_uuid = draw(st.one_of(st.just(None), JUNK, st.just("fresh"), st.just("fresh")))
        if client_uuid == "fresh":
            client_uuid = str(uuid.uuid4())
        if client_uuid is not None:
            data.append(("client_uuid", client_uuid))
        return data, client_uuid

    def send(drawn):
        data, client_uuid = drawn
        response = browser.post(url, data)
        problem = verdict(response, api=False, exc_text=exceptions.last())
        # (A NUL cannot even be asked about on PostgreSQL; such a request is refused whole.)
        if (
            problem is None
            and response.status_code >= 400
            and client_uuid
            and "\x00" not in client_uuid
        ):
            with app.app_context():
                kept = db.session.scalar(
                    db.select(Inspection.id).where(Inspection.client_uuid == client_uuid)
                )
            if kept is not None:
                problem = f"rejected ({response.status_code}) but inspection {kept} was written"
        return problem

    _fuzz("inspections.new (form)", body(), send, 25, problems, COUNTS)
    assert not problems, problems


def test_building_search_and_ledger_filters(app, world, exceptions):
    """Building search and the ledger's filters (pages, exports and their API twins) with
    generated query strings, as the street office."""
    browser = Browser(app, "street")
    problems: list[str] = []
    ledger_page = browser.get("/ledger/hazards").get_data(as_text=True)
    filters = _get_form_args(ledger_page)
    assert "status" in filters, filters
    targets = {
        "/": ["q", "page"],
        "/ledger": filters + ["level"],
        "/ledger/hazards": filters + ["page"],
        "/ledger/suspected": filters,
        "/api/v1/hazards": filters + ["building", "page"],
        "/api/v1/ledger": filters + ["level"],
        "/api/v1/buildings": ["q", "page"],
    }
    for url, names in targets.items():

        def send(pairs, url=url):
            response = browser.get(url, query_string=pairs)
            return verdict(response, api=url.startswith("/api/"), exc_text=exceptions.last())

        _fuzz(f"GET {url} (filters)", query_args(names), send, 15, problems, COUNTS)
    assert not problems, problems


def _template_tables(browser) -> dict[str, list[str]]:
    """The import template's sheets and their Chinese column headers, as the app offers them."""
    book = openpyxl.load_workbook(io.BytesIO(browser.get("/registry/template.xlsx").data))
    return {ws.title: [c.value for c in ws[1] if c.value] for ws in book.worksheets}


CELL = st.one_of(
    NASTY.filter(lambda v: len(v) < 200), TEXT, CJK, NUMBER, DATE, st.integers(), st.booleans()
)


def _cell_text(value) -> str:
    # openpyxl refuses control characters in cells (so does Excel): keep the rest.
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", str(value))


@st.composite
def registry_file(draw, tables: dict[str, list[str]]):
    """A spreadsheet as a user might send one: a CSV or an XLSX with the template's sheets and
    headers (some missing or shuffled) and generated rows; or bytes that are no table at all."""
    kind = draw(st.sampled_from(["csv", "xlsx", "junk"]))
    if kind == "junk":
        return io.BytesIO(draw(FILE_BYTES)), draw(FILENAME)
    chosen = draw(st.lists(st.sampled_from(sorted(tables)), min_size=1, max_size=3, unique=True))
    sheets = {}
    for title in chosen:
        headers = draw(st.permutations(tables[title]))
        headers = headers[: draw(st.integers(0, len(headers)))] or list(tables[title])
        rows = draw(
            st.lists(st.lists(CELL, min_size=len(headers), max_size=len(headers)), max_size=4)
        )
        sheets[title] = (headers, rows)
    if kind == "csv":
        headers, rows = next(iter(sheets.values()))
        text = "\n".join(",".join(str(c).replace(",", "，") for c in r) for r in [headers, *rows])
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
        return io.BytesIO(text.encode(encoding, "replace")), draw(
            st.sampled_from(["楼栋.csv", "x.csv", "x.xlsx", "x.txt"])
        )
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, (headers, rows) in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(headers)
        for row in rows:
            sheet.append([_cell_text(c) if isinstance(c, str) else c for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer, draw(st.sampled_from(["基础台账.xlsx", "x.xlsx", "x.csv"]))


def test_registry_import_with_junk_files(app, world, exceptions):
    """The registry import (``/registry/import``) with generated files: the template's sheets
    with junk rows (CSV and XLSX), random bytes, broken zips named .xlsx; every one is checked
    or refused with a message, and nothing is written from a refused file."""
    browser = Browser(app, "admin")
    tables = _template_tables(browser)
    page = browser.get("/registry/import").get_data(as_text=True)
    form = next(f for f in page_forms(page) if any(x.kind == "file" for x in f.fields.values()))
    file_field = next(f.name for f in form.fields.values() if f.kind == "file")
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count(Building.id)))
    problems: list[str] = []

    @st.composite
    def body(draw):
        data = [(file_field, draw(registry_file(tables)))]
        if draw(st.integers(0, 4)) == 0:
            data.append((file_field, draw(registry_file(tables))))
        data.append(("check" if draw(st.booleans()) else "submit", "y"))
        data.append(("csrf_token", browser.token))
        return data

    def send(data):
        response = browser.post("/registry/import", data)
        return verdict(response, api=False, exc_text=exceptions.last())

    _fuzz("registry.import_file (files)", body(), send, 30, problems, COUNTS)
    assert not problems, problems
    with app.app_context():
        after = db.session.scalar(db.select(db.func.count(Building.id)))
    assert after == before  # no generated file held a valid building row


# --- holes the generated inputs found, kept as plain regression tests --------------------------


def test_csv_whose_first_line_is_not_text_is_refused_with_a_message(app, district):
    """A CSV whose head is neither UTF-8 nor GB18030 was a 500 (the delimiter sniffing read its
    first line outside the decoding guard)."""
    browser = Browser(app, "admin")
    response = browser.post(
        "/registry/import",
        [
            ("file", (io.BytesIO(b"\x80abc,def\n1,2\n"), "x.csv")),
            ("check", "y"),
            ("csrf_token", browser.token),
        ],
    )
    assert response.status_code == 422
    assert "编码无法识别" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/", "/api/v1/buildings", "/inbox", "/supervisions"])
def test_huge_page_numbers_answer_an_empty_page(app, district, url):
    """``?page=`` beyond what the database can hold as an offset was a 500 on every listing."""
    browser = Browser(app, "street")
    for page in ("99999999999999999999", "9223372036854775808", "1000001"):
        response = browser.get(url, query_string={"page": page, "per_page": page})
        assert response.status_code in (200, 400), (url, page, response.status_code)


def test_multipart_field_without_a_readable_name_is_a_400(app, district, checklist):
    """A multipart part named with a backslash or a line break reached WTForms keyed ``None``
    and the inspection form's lists failed on it (500)."""
    browser = Browser(app, "inspector")
    building_id = district["buildings"]["S1G1"].id
    for name in ("\\", "a\r\nb"):
        response = browser.post(
            f"/buildings/{building_id}/inspections/new",
            [(name, "x"), ("photo", (io.BytesIO(b"x"), "a.jpg")), ("csrf_token", browser.token)],
        )
        assert response.status_code == 400
        assert has_message(response.get_data(as_text=True))


def test_the_verdict_tells_a_message_from_an_ordinary_page(app, district):
    """The check the generated tests rely on: an ordinary page carries no error message, an
    invalid form does."""
    browser = Browser(app, "admin")
    assert not has_message(browser.get("/admin/users/new").get_data(as_text=True))
    invalid = browser.post("/admin/users/new", [("csrf_token", browser.token)])
    assert invalid.status_code == 422
    assert has_message(invalid.get_data(as_text=True))


@pytest.mark.parametrize(
    ("method", "url", "kw"),
    [
        ("get", "/api/v1/campaigns/1/progress", {"query_string": {"area": "\x00E"}}),
        ("get", "/ledger", {"query_string": {"area": "a\x00"}}),
        ("post", "/api/v1/hazards/1/events", {"json": {"action": "accept", "note": "\x00"}}),
    ],
)
def test_a_nul_character_is_a_400(app, district, method, url, kw):
    """A NUL in a query string reached PostgreSQL, which refuses NUL in text (500 there)."""
    browser = Browser(app, "fire")
    headers = {"X-CSRFToken": browser.token}
    response = getattr(browser.client, method)(url, headers=headers, **kw)
    assert response.status_code == 400
    assert verdict(response, api=url.startswith("/api/")) is None


def test_a_nul_character_in_a_form_is_a_400(app, district):
    browser = Browser(app, "admin")
    response = browser.post("/admin/areas", [("name", "a\x00b"), ("csrf_token", browser.token)])
    assert response.status_code == 400
    assert has_message(response.get_data(as_text=True))


def test_unicode_digits_in_ids_are_refused_not_a_500(app, district):
    """``"²".isdigit()`` is true but ``int("²")`` fails: ids and versions read from forms and
    query strings are checked as ASCII digits."""
    from .test_hazard_transitions import add_hazard

    building = district["buildings"]["S1G1"]
    add_hazard(app, building)  # an open hazard: the plan page offers to list it for supervision
    browser = Browser(app, "fire")
    page = browser.get(f"/buildings/{building.id}/plan", query_string={"supervise": "²"})
    assert page.status_code == 200
    for url in ("/posters", "/posters.pdf"):
        assert browser.get(url, query_string={"area": "²"}).status_code < 500
