"""Every route × every role (and anonymous visitors), enumerated from the app's URL map.

For each route the table ``RULES`` below holds the decision: which roles may use it, or that it
is public. The matrix then asks, with real objects of a generated district
(``tests/access_world.py``):

- anonymous visitors: pages redirect to the login page, ``/api/`` answers JSON 401; only the
  routes marked ``PUBLIC`` answer them;
- a role that may not use the route: 403 (or 404 for an object outside its scope, which
  reveals nothing either);
- a role that may: never 401/403/404/500 on an object in its scope, and 404 on the same kind of
  object outside it.

A route missing from the table fails ``test_every_route_has_a_decision`` with its name: add a
line to ``RULES`` when you add a route (and extend ``access_world`` when it names a new kind of
object). Writes are sent with a valid CSRF token and an empty form, so an allowed role gets a
validation answer (400/422) or a redirect, never a change of someone else's data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from tests.access_world import ROLES, build_world
from tests.conftest import csrf_from, login

ALL = frozenset(ROLES)


def only(*roles: str) -> frozenset[str]:
    assert set(roles) <= ALL, roles
    return frozenset(roles)


def but(*roles: str) -> frozenset[str]:
    return ALL - only(*roles)


@dataclass(frozen=True)
class Rule:
    """The decision for one route: the roles it serves (``public``: anyone, logged in or not),
    and fixed values for URL arguments that are not objects (an action name, a language)."""

    roles: frozenset[str] = frozenset()
    public: bool = False
    args: dict[str, str] = field(default_factory=dict)
    # The route is about an object but does not hide it from roles that cannot act on it
    # (the answer is the same 403 inside and outside the scope).
    why: str = ""
    # A public route whose answer is the login page (logging out).
    to_login: bool = False


PUBLIC = Rule(public=True)


def public(why: str, **args: str) -> Rule:
    return Rule(public=True, args=args, why=why)


# (method, endpoint) → decision. Keep it sorted by blueprint; one line per route.
RULES: dict[tuple[str, str], Rule] = {
    # Public by design.
    ("GET", "static"): public("static files", filename="css/app.css"),
    ("GET", "health.healthz"): public("load balancer probe"),
    ("GET", "api.openapi"): public("API description, no data"),
    ("GET", "auth.login"): public("the login page"),
    ("POST", "auth.login"): public("the login form"),
    ("POST", "auth.logout"): Rule(public=True, to_login=True, why="ends any session there is"),
    ("POST", "auth.language"): public("language choice, kept in the session", code="en"),
    ("GET", "public.show"): public("the fire safety code page residents scan"),
    ("GET", "public.report"): public("residents' report form"),
    ("POST", "public.report"): public("residents' report form (rate-limited)"),
    ("GET", "public.sent"): public("report received"),
    ("GET", "public.elsewhere"): public("unknown code paths: 404", _rest="x"),
    ("POST", "public.elsewhere"): public("unknown code paths: 404", _rest="x"),
    ("GET", "pwa.service_worker"): public("service worker script"),
    ("GET", "pwa.manifest"): public("web app manifest"),
    ("GET", "pwa.offline_page"): public("offline shell, no data"),
    ("GET", "pwa.outbox"): public("outbox shell; the queue lives on the phone"),
    ("GET", "pwa.session_probe"): public("says whether a session exists"),
    # Buildings, inspections, photos.
    ("GET", "buildings.index"): Rule(ALL),
    ("GET", "buildings.show"): Rule(ALL),
    ("GET", "inspections.new"): Rule(but("admin")),
    ("POST", "inspections.new"): Rule(but("admin")),
    ("GET", "inspections.show"): Rule(ALL),
    ("GET", "photos.show"): Rule(ALL),
    ("GET", "photos.thumb"): Rule(ALL),
    # API.
    ("GET", "api.buildings"): Rule(ALL),
    ("GET", "api.building"): Rule(ALL),
    ("GET", "api.me"): Rule(ALL),
    ("GET", "api.checklist_current"): Rule(ALL),
    ("POST", "api.photo_upload"): Rule(but("admin")),
    ("POST", "api.inspection_submit"): Rule(but("admin")),
    # Fire safety code: posters, residents' reports, manager self-service.
    ("GET", "posters.show"): Rule(but("inspector")),
    ("GET", "posters.png"): Rule(but("inspector")),
    ("GET", "posters.poster"): Rule(but("inspector")),
    ("GET", "posters.poster_pdf"): Rule(but("inspector")),
    ("GET", "posters.batch"): Rule(but("inspector")),
    ("GET", "posters.batch_pdf"): Rule(but("inspector")),
    ("POST", "posters.rotate"): Rule(only("admin")),
    ("GET", "reports.index"): Rule(only("inspector", "street", "fire")),
    ("GET", "reports.show"): Rule(only("inspector", "street", "fire")),
    ("POST", "reports.confirm"): Rule(only("inspector", "street", "fire")),
    ("POST", "reports.dismiss"): Rule(only("inspector", "street", "fire")),
    ("GET", "manager.building"): Rule(only("manager")),
    ("GET", "manager.commitment"): Rule(only("manager")),
    ("POST", "manager.commitment"): Rule(only("manager")),
    ("GET", "manager.evidence"): Rule(only("manager", "inspector")),
    ("POST", "manager.evidence"): Rule(only("manager", "inspector")),
    # Offline pack.
    ("GET", "pwa.pack"): Rule(ALL),
    ("GET", "pwa.pages"): Rule(ALL),
    ("GET", "pwa.inspection_form"): Rule(but("admin")),
    # Rectification ledger.
    ("GET", "hazards.show"): Rule(ALL),
    ("POST", "hazards.transition"): Rule(only("street", "fire"), args={"action": "update_plan"}),
    ("GET", "plans.show"): Rule(ALL),
    ("GET", "plans.show_pdf"): Rule(ALL),
    ("POST", "plans.supervise"): Rule(only("fire")),
    ("POST", "plans.review"): Rule(only("fire"), args={"decision": "confirm"}),
    ("GET", "supervisions.index"): Rule(ALL),
    ("GET", "supervisions.show"): Rule(ALL),
    ("GET", "supervisions.show_pdf"): Rule(ALL),
    ("POST", "supervisions.act"): Rule(only("fire"), args={"action": "close"}),
    ("GET", "ledger.index"): Rule(ALL),
    ("GET", "ledger.hazards"): Rule(ALL),
    ("GET", "ledger.export_xlsx"): Rule(only("street", "fire", "admin")),
    ("GET", "ledger.export_csv"): Rule(only("street", "fire", "admin")),
    ("GET", "ledger.suspected"): Rule(ALL),
    ("GET", "ledger_api.hazard_list"): Rule(ALL),
    ("GET", "ledger_api.hazard_detail"): Rule(ALL),
    ("POST", "ledger_api.hazard_event"): Rule(ALL, why="the action in the body decides"),
    ("GET", "ledger_api.ledger_rollup"): Rule(ALL),
    # Inbox and webhooks.
    ("GET", "inbox.index"): Rule(ALL),
    ("GET", "inbox.open_message"): Rule(ALL),
    ("POST", "inbox.mark_read"): Rule(ALL),
    ("POST", "inbox.mark_all_read"): Rule(ALL),
    ("POST", "inbox.settings"): Rule(ALL),
    ("GET", "webhooks.index"): Rule(only("admin")),
    ("POST", "webhooks.create"): Rule(only("admin")),
    ("GET", "webhooks.show"): Rule(only("admin")),
    ("POST", "webhooks.update"): Rule(only("admin")),
    ("POST", "webhooks.rotate"): Rule(only("admin")),
    ("POST", "webhooks.ping"): Rule(only("admin")),
    ("POST", "webhooks.retry"): Rule(only("admin")),
    # Campaign oversight.
    ("GET", "campaigns.index"): Rule(only("street", "fire", "admin")),
    ("GET", "campaigns.new"): Rule(only("fire", "admin")),
    ("POST", "campaigns.new"): Rule(only("fire", "admin")),
    ("GET", "campaigns.edit"): Rule(only("fire", "admin")),
    ("POST", "campaigns.edit"): Rule(only("fire", "admin")),
    ("GET", "campaigns.show"): Rule(only("street", "fire", "admin")),
    ("GET", "campaigns.spot_checks"): Rule(only("street", "fire")),
    ("POST", "campaigns.draw"): Rule(only("fire")),
    ("GET", "campaigns.spot_check"): Rule(only("street", "fire")),
    ("GET", "campaigns.acceptance"): Rule(only("street", "fire", "admin")),
    ("POST", "campaigns.record_acceptance"): Rule(only("street", "fire")),
    ("GET", "campaigns.candidates_list"): Rule(only("street", "fire")),
    ("POST", "campaigns.list_candidates"): Rule(only("fire")),
    ("GET", "dashboard.home"): Rule(only("street", "fire")),
    ("GET", "dashboard.show"): Rule(only("street", "fire")),
    ("GET", "dashboard.monthly"): Rule(only("street", "fire")),
    ("GET", "dashboard.monthly_xlsx"): Rule(only("street", "fire")),
    ("GET", "dashboard_api.progress_json"): Rule(only("street", "fire")),
    # Building registry.
    ("GET", "registry.index"): Rule(only("street", "admin")),
    ("GET", "registry.template"): Rule(only("street", "admin")),
    ("GET", "registry.import_file"): Rule(only("street", "admin")),
    ("POST", "registry.import_file"): Rule(only("street", "admin")),
    ("GET", "registry.propose"): Rule(but("fire")),
    ("POST", "registry.propose"): Rule(but("fire")),
    ("GET", "registry.history"): Rule(ALL),
    ("GET", "registry.changes"): Rule(but("fire")),
    ("GET", "registry.change"): Rule(but("fire")),
    ("POST", "registry.decide"): Rule(only("street", "admin")),
    ("GET", "registry.blind_spots"): Rule(but("manager")),
    # Administration.
    ("GET", "admin.index"): Rule(only("admin")),
    ("GET", "admin.area_list"): Rule(only("admin")),
    ("POST", "admin.area_list"): Rule(only("admin")),
    ("GET", "admin.area_edit"): Rule(only("admin")),
    ("POST", "admin.area_edit"): Rule(only("admin")),
    ("GET", "admin.user_list"): Rule(only("admin")),
    ("GET", "admin.user_new"): Rule(only("admin")),
    ("POST", "admin.user_new"): Rule(only("admin")),
    ("GET", "admin.user_edit"): Rule(only("admin")),
    ("POST", "admin.user_edit"): Rule(only("admin")),
    ("POST", "admin.user_password"): Rule(only("admin")),
    ("POST", "admin.user_active"): Rule(only("admin")),
    ("GET", "admin.building_list"): Rule(only("admin")),
    ("GET", "admin.building_edit"): Rule(only("admin")),
    ("POST", "admin.building_edit"): Rule(only("admin")),
    ("POST", "admin.building_retire"): Rule(only("admin")),
    ("POST", "admin.building_restore"): Rule(only("admin")),
    ("POST", "admin.building_delete"): Rule(only("admin")),
    ("GET", "admin.tokens"): Rule(only("admin")),
    ("POST", "admin.tokens"): Rule(only("admin")),
    ("POST", "admin.token_revoke"): Rule(only("admin")),
}

# Exercised last: they end the session or send a logged-in user elsewhere.
LAST = {("POST", "auth.logout"), ("GET", "auth.login"), ("POST", "auth.login")}


def _routes(app) -> list[tuple[str, str, object]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, rule.endpoint, rule))
    return sorted(out, key=lambda r: ((r[0], r[1]) in LAST, r[0] != "GET", r[1], r[2].rule))


def test_every_route_has_a_decision(app):
    routes = {(method, endpoint) for method, endpoint, _ in _routes(app)}
    missing = sorted(routes - RULES.keys())
    assert not missing, (
        "routes without an access decision in tests/test_access_matrix.py RULES: "
        + ", ".join(f"{m} {e}" for m, e in missing)
    )
    stale = sorted(RULES.keys() - routes)
    assert not stale, "RULES name routes that no longer exist: " + ", ".join(
        f"{m} {e}" for m, e in stale
    )


def test_public_routes_are_few_and_named():
    """The allow-list itself: a new public route is a decision someone must write down."""
    public_routes = {key for key, rule in RULES.items() if rule.public}
    assert all(RULES[key].why for key in public_routes)
    assert {e for _, e in public_routes} <= {
        "static",
        "health.healthz",
        "api.openapi",
        "auth.login",
        "auth.logout",
        "auth.language",
        "public.show",
        "public.report",
        "public.sent",
        "public.elsewhere",
        "pwa.service_worker",
        "pwa.manifest",
        "pwa.offline_page",
        "pwa.outbox",
        "pwa.session_probe",
    }


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Session:
    """A browser of one role (None: anonymous) with a CSRF token valid for its session."""

    def __init__(self, app, role: str | None):
        self.app, self.role = app, role
        self.open()

    def open(self):
        self.client = self.app.test_client()
        if self.role is None:
            self.token = csrf_from(self.client, "/login")
            return
        response = login(self.client, self.role)
        assert response.status_code == 302, f"{self.role} cannot log in"
        # The session is new after login: its token comes from a page served after it.
        page = self.client.get("/inbox").get_data(as_text=True)
        self.token = _CSRF.search(page).group(1)

    def send(self, method: str, url: str):
        if method == "GET":
            response = self.client.get(url)
        elif url.startswith("/api/"):
            response = self.client.post(url, json={}, headers={"X-CSRFToken": self.token})
        else:
            response = self.client.post(url, data={"csrf_token": self.token})
        response.get_data()
        response.close()
        return response


def _url(rule, decision: Rule, world, role, inside: bool) -> str | None:
    values = {}
    for arg in rule.arguments:
        if arg in decision.args:
            values[arg] = decision.args[arg]
        else:
            try:
                values[arg] = world.value(arg, role, inside)
            except KeyError:
                pytest.fail(
                    f"{rule.endpoint}: URL argument <{arg}> has no object in tests/access_world.py"
                    " and no fixed value in RULES"
                )
    return rule.build(values, append_unknown=False)[1]


def _scoped(rule, decision: Rule) -> bool:
    return any(arg not in decision.args for arg in rule.arguments)


def _to_login(response) -> bool:
    return response.status_code in (302, 303) and "/login" in response.headers.get("Location", "")


def test_access_matrix(app, make, district, checklist):
    """Every route × anonymous and every role, inside and outside the scope; all violations
    are listed at once."""
    world = build_world(app, make, district, checklist)
    sessions = {role: Session(app, role) for role in (None, *ROLES)}
    problems: list[str] = []
    covered = 0
    for method, endpoint, rule in _routes(app):
        decision = RULES.get((method, endpoint))
        if decision is None:
            continue  # reported by test_every_route_has_a_decision
        covered += 1
        for role in (None, *ROLES):
            session = sessions[role]
            for inside in (True, False) if _scoped(rule, decision) else (True,):
                url = _url(rule, decision, world, role, inside)
                response = session.send(method, url)
                status = response.status_code
                where = f"{method} {url} ({endpoint}) as {role or 'anonymous'}"
                if status >= 500:
                    problems.append(f"{where}: {status}")
                elif decision.public:
                    if (_to_login(response) and not decision.to_login) or status in (401, 403):
                        problems.append(f"{where}: public route answered {status}")
                elif role is None:
                    if url.startswith("/api/"):
                        if status != 401 or not response.is_json:
                            problems.append(f"{where}: expected JSON 401, got {status}")
                    elif not _to_login(response):
                        problems.append(f"{where}: expected redirect to login, got {status}")
                elif role not in decision.roles:
                    if status not in ((403,) if inside else (403, 404)):
                        problems.append(f"{where}: forbidden role got {status}")
                elif not inside:
                    if status != 404:
                        problems.append(f"{where}: object outside scope answered {status}")
                elif status in (401, 403, 404) or _to_login(response):
                    problems.append(f"{where}: allowed role on object in scope got {status}")
            if (method, endpoint) == ("POST", "auth.logout"):
                session.open()
    assert covered >= len(RULES) - 5
    assert not problems, f"{len(problems)} access problems:\n" + "\n".join(problems)
