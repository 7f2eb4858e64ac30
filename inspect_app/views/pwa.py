"""The installable, offline-capable shell: service worker, manifest, offline and outbox pages,
the offline pack with its form template, and the session probe the outbox uses before it
sends anything."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from forms.inspections import InspectionForm

from .. import labels, offline
from ..auth import allowed_kinds, can, require
from ..campaigns import current_campaign
from ..checklists import current_checklist
from ..codes import local_today
from ..db import db
from ..hazards import default_plan

bp = Blueprint("pwa", __name__)

# The pages a phone keeps for offline use, fetched together through ``pages``.
_KEEPABLE = re.compile(r"^/(?:buildings/\d+|outbox|pwa/inspection-form)?$")
_BUNDLE_MAX = 60
# What a kept page keeps of its response headers.
_KEPT_HEADERS = (
    "Content-Type",
    "Content-Security-Policy",
    "Referrer-Policy",
    "X-Content-Type-Options",
)


@bp.app_template_filter("json_attr")
def json_attr(value) -> Markup:
    """``value`` as JSON for a double-quoted HTML attribute, Chinese left as it is (a third
    of the bytes of ``\\u`` escapes on every page)."""
    return escape(json.dumps(value, ensure_ascii=False, sort_keys=True))


# Files whose change must reach phones: their digest names the service worker's caches, so a
# new deployment replaces the old shell on the next visit.
_SHELL_GLOBS = ("sw.js", "manifest.webmanifest", "js/*.js", "css/*.css", "icons/*.png")
# What the service worker fetches when it installs: everything a kept page links to.
_PRECACHE_GLOBS = ("css/*.css", "js/*.js", "icons/icon-192.png")
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(**body):
    """A JSON response, never cached, its Chinese as UTF-8 (half the bytes of escapes)."""
    return _no_store(
        current_app.response_class(
            json.dumps(body, ensure_ascii=False, separators=(",", ":")), mimetype="application/json"
        )
    )


def shell_version() -> str:
    """A digest of the static shell and the pages' templates (computed once per process)."""
    cached = current_app.extensions.get("pwa_shell_version")
    if cached and not current_app.debug:
        return cached
    h = hashlib.sha256(current_app.config.get("VERSION", "0").encode())
    static = Path(current_app.static_folder)
    paths = [p for pattern in _SHELL_GLOBS for p in sorted(static.glob(pattern))]
    paths += sorted(_TEMPLATES.glob("**/*.html"))
    for path in paths:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    version = h.hexdigest()[:12]
    current_app.extensions["pwa_shell_version"] = version
    return version


@bp.get("/sw.js")
def service_worker():
    """The service worker, at the root so that its scope is the whole app."""
    static = Path(current_app.static_folder)
    source = (static / "sw.js").read_text(encoding="utf-8")
    precache = [
        url_for("static", filename=p.relative_to(static).as_posix())
        for pattern in _PRECACHE_GLOBS
        for p in sorted(static.glob(pattern))
    ]
    source = source.replace("__VERSION__", shell_version()).replace(
        "/* __SHELL__ */", "".join(f", {json.dumps(u)}" for u in precache)
    )
    response = current_app.response_class(source, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    response = send_from_directory(
        current_app.static_folder, "manifest.webmanifest", mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline_page():
    """What the service worker shows for a page it has not kept; names nobody."""
    return render_template("pwa/offline.html")


@bp.get("/outbox")
def outbox():
    """The inspections kept on this phone and not yet sent; the list itself is drawn by
    ``static/js/outbox.js`` from the phone's own storage, so it works logged out too."""
    return render_template("pwa/outbox.html")


@bp.get("/api/v1/session")
def session_probe():
    """Who is logged in, with a fresh CSRF token for ``X-CSRFToken``; the outbox asks this
    right before it sends, so a token that expired while the phone was offline never
    matters. Never cached."""
    if not current_user.is_authenticated:
        return _no_store(jsonify(authenticated=False))
    return _no_store(
        jsonify(
            authenticated=True,
            username=current_user.username,
            csrf_token=generate_csrf(),
        )
    )


@bp.get("/pwa/pack.json")
@require("view_buildings")
def pack():
    """What a phone keeps for offline use: the pages to cache (each with a tag that changes
    when the page would) and, per building, the data the form template needs."""
    today = local_today()
    checklist = current_checklist(db.session)
    inspects = can(current_user, "start_inspection") and checklist is not None
    limit = int(current_app.config.get("OFFLINE_BUILDINGS", 100))
    rows, truncated = offline.buildings_for(
        db.session,
        current_user,
        checklist=checklist if inspects else None,
        today=today,
        limit=limit,
    )
    buildings = {}
    pages = []
    for row in rows:
        b = row.building
        pages.append({"url": url_for("buildings.show", building_id=b.id), "tag": row.tag})
        if not inspects:
            continue
        buildings[str(b.id)] = {
            "code": b.code,
            "name": b.name,
            "class_label": str(labels.CLASS[b.building_class]),
            "responsible_party": default_plan(
                b, None, "general", today=today, campaign=None
            ).responsible_party,
            "items": row.items,
            "followups": [
                {
                    "hazard": str(h.id),
                    "text": h.description,
                    "meta": f"{labels.SEVERITY[h.severity]} · {_('期限')} {h.deadline or '—'}",
                }
                for h in row.followups
            ],
        }
    home_tag = offline.digest([r.tag for r in rows])
    pages.insert(0, {"url": url_for("buildings.index"), "tag": home_tag})
    pages.append({"url": url_for("pwa.outbox"), "tag": shell_version()})
    template = None
    if inspects:
        template = {
            "url": url_for("pwa.inspection_form"),
            "tag": offline.digest(
                [
                    checklist.id,
                    checklist.version,
                    today.isoformat(),
                    str(current_user.get_id()),
                    list(allowed_kinds(current_user)),
                    str(labels.CLASS[None]),
                    shell_version(),
                ]
            ),
        }
    body = {
        "user": current_user.username,
        "template": template,
        "pages": pages,
        "buildings": buildings,
        "truncated": truncated,
    }
    body["version"] = offline.digest(body)
    return _json(**body)


@bp.get("/pwa/pages.json")
@require("view_buildings")
def pages():
    """Up to 60 of the user's keepable pages (``?path=/buildings/7&path=/…``: home, building
    pages, the outbox, the form template) in one response, each exactly as a GET of it would
    answer (body and headers; pages that do not answer 200 are left out, so scope holds). The
    pages share most of their markup, which one compressed response sends once."""
    paths = [p for p in request.args.getlist("path") if _KEEPABLE.match(p)][:_BUNDLE_MAX]
    generate_csrf()  # one token, made for this session, for every page below
    forward = {
        k: v for k, v in request.headers.items() if k in ("Cookie", "User-Agent", "Accept-Language")
    }
    out = []
    for path in dict.fromkeys(paths):
        # An inner request on the same app context: same user, same token, same language.
        with current_app.test_request_context(
            path,
            base_url=request.host_url,
            headers=forward,
            environ_base={"REMOTE_ADDR": request.remote_addr},
        ):
            response = current_app.full_dispatch_request()
        if response.status_code == 200 and response.mimetype == "text/html":
            out.append(
                {
                    "url": path,
                    "html": response.get_data(as_text=True),
                    "headers": {
                        k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers
                    },
                }
            )
    return _json(pages=out)


@bp.get("/pwa/inspection-form")
@require("start_inspection")
def inspection_form():
    """The inspection form with every checklist item, for any building: the page fills in
    the building from the offline pack (``static/js/form.js``). Same template as the real
    form, so the two cannot drift apart."""
    checklist = current_checklist(db.session)
    if checklist is None:
        abort(404)
    today = local_today()
    campaign = current_campaign(db.session, today)
    building = offline.template_building()
    form = InspectionForm(formdata=None)
    kinds = allowed_kinds(current_user)
    form.kind.choices = [c for c in form.kind.choices if c.value in kinds]
    form.kind.data = kinds[0] if kinds else None
    form.client_uuid.data = ""  # minted on the phone when the form opens
    form.started_at.data = ""
    form.followups.append_entry({"hazard": offline.SENTINELS["hazard"]})
    by_category = defaultdict(list)
    for item in checklist.items:
        plan = default_plan(building, item, item.default_severity, today=today, campaign=campaign)
        form.findings.append_entry(
            {
                "item": item.code,
                "responsible_party": plan.responsible_party,
                "measures": plan.measures,
                "deadline": plan.deadline,
            }
        )
        by_category[item.category].append((form.findings.entries[-1], item))
    return render_template(
        "pwa/inspection_form.html",
        form=form,
        building=building,
        checklist=checklist,
        by_category=by_category,
        hazards={},
        today=today,
        invalid=False,
        flagged=[],
        sentinels=offline.SENTINELS,
        class_placeholder=str(labels.CLASS[None]),
    )
