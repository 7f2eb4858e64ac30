"""The fire safety code's public page ``/c/<token>``: no login, one small page for a phone.

Anyone sees the allow-list of ``public.public_view`` (as HTML, or as JSON when the client
asks for ``application/json``). A logged-in user who scans a building of their own scope is
sent where their role works on it, unless they ask for the public view (``?public=1``).
Residents report hazards here; reports are rate-limited in the database (``ratelimits``), per
network address and per building, and land unverified in the grid's queue.

Unknown, malformed and revoked tokens all answer the same 404, after the same single lookup.
"""

from __future__ import annotations

import math

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from forms.public import ReportForm

from .. import photo_stores, ratelimits, reports
from ..auth import can, in_scope
from ..campaigns import validity_days
from ..codes import local_today
from ..db import db
from ..public import building_for_token, public_view

bp = Blueprint("public", __name__)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _private_headers(response):
    # Tokens must not travel on to other sites or into search engines.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Vary"] = "Accept, Cookie"
    # The colour is live: a cache may keep the page but must ask again before reusing it.
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


def _not_found():
    message = _("这个消防安全码无效或已更换。请扫描楼栋入口处最新张贴的二维码。")
    if _wants_json():
        return _private_headers(jsonify(error="not_found", message=message)), 404
    return _private_headers(
        current_app.make_response((render_template("public/message.html", message=message), 404))
    )


def _workplace(user, building) -> str | None:
    """Where a logged-in user's role works on ``building``; None outside their scope (they
    see the public page like anyone else)."""
    if not in_scope(user, building):
        return None
    if user.role == "inspector" and can(user, "start_inspection"):
        return url_for("inspections.new", building_id=building.id)
    if user.role == "manager":
        return url_for("manager.building", building_id=building.id)
    return url_for("buildings.show", building_id=building.id)


@bp.get("/c/<token>")
def show(token: str):
    building = building_for_token(db.session, token)
    if building is None:
        return _not_found()
    wants_json = _wants_json()
    if current_user.is_authenticated and not wants_json and not request.args.get("public"):
        target = _workplace(current_user, building)
        if target is not None:
            return redirect(target)
    today = local_today()
    view = public_view(
        db.session, building, today=today, validity_days=validity_days(db.session, today)
    )
    if wants_json:
        return _private_headers(jsonify(view))
    workplace = _workplace(current_user, building) if current_user.is_authenticated else None
    return _private_headers(
        current_app.make_response(
            render_template("public/show.html", v=view, token=token, workplace=workplace)
        )
    )


def _limit(key: str, setting: str) -> ratelimits.Verdict:
    count, window = current_app.config[setting]
    return ratelimits.hit(db.session, key, limit=int(count), window=int(window))


def _too_many(verdict: ratelimits.Verdict):
    db.session.commit()  # the refused attempt still counts
    minutes = max(1, math.ceil(verdict.retry_after / 60))
    message = _(
        "提交太频繁了，请 %(n)s 分钟后再试。如遇火情，请立即拨打 119。",
        n=minutes,
    )
    if _wants_json():
        response = jsonify(error="too_many_requests", message=message)
    else:
        response = current_app.make_response(
            render_template("public/message.html", message=message)
        )
    response.status_code = 429
    response.headers["Retry-After"] = str(verdict.retry_after)
    return _private_headers(response)


@bp.route("/c/<token>/report", methods=["GET", "POST"])
def report(token: str):
    """The resident's report form. Every POST counts against the sender's address before
    anything else (so that random tokens are throttled too); a well-formed report also counts
    against the building."""
    posted = request.method == "POST"
    key = ratelimits.client_key(current_app.config["SECRET_KEY"], request.remote_addr)
    if posted:
        verdict = _limit(f"report:addr:{key}", "REPORT_LIMIT_PER_ADDRESS")
        if not verdict.allowed:
            return _too_many(verdict)
    building = building_for_token(db.session, token)
    if building is None:
        db.session.commit()
        return _not_found()
    form = ReportForm()
    if form.validate_on_submit():
        # Only reports that would be stored count for the building, so that a flood of
        # rubbish from elsewhere cannot close the form for the people who live there.
        verdict = _limit(f"report:building:{building.id}", "REPORT_LIMIT_PER_BUILDING")
        if not verdict.allowed:
            return _too_many(verdict)
        try:
            reports.submit(
                db.session,
                building=building,
                description=form.description.data,
                contact=form.contact.data,
                uploads=[f.read() for f in form.photos.data or () if hasattr(f, "read")],
                store=photo_stores.store_from_config(current_app.config),
                client_key=key,
                max_photo_bytes=int(current_app.config["REPORT_MAX_PHOTO_BYTES"]),
                max_pixels=int(current_app.config["MAX_PHOTO_PIXELS"]),
            )
        except reports.Invalid as err:
            for name, messages in err.errors.items():
                getattr(form, name).errors = list(getattr(form, name).errors) + messages
        else:
            db.session.commit()
            return redirect(url_for("public.sent", token=token))
    if posted:
        db.session.commit()  # the counted attempt, and nothing else
    status = 422 if posted else 200
    page = render_template("public/report.html", form=form, name=building.name, token=token)
    return _private_headers(current_app.make_response((page, status)))


@bp.get("/c/<token>/report/sent")
def sent(token: str):
    building = building_for_token(db.session, token)
    if building is None:
        return _not_found()
    page = render_template("public/sent.html", name=building.name, token=token)
    return _private_headers(current_app.make_response(page))


@bp.route("/c/", methods=["GET", "POST"])
@bp.route("/c/<path:_rest>", methods=["GET", "POST"])
def elsewhere(_rest: str = ""):
    """Anything else under ``/c/`` is a token that does not work, and looks like one."""
    return _not_found()


@bp.errorhandler(413)
def _too_large(_err):
    token = (request.view_args or {}).get("token", "")
    message = _("上传的照片太大了。请每张照片小于 %(n)s MB，最多 3 张。", n=_max_mb())
    page = render_template("public/message.html", message=message, back=token)
    return _private_headers(current_app.make_response((page, 413)))


def _max_mb() -> str:
    return f"{int(current_app.config['REPORT_MAX_PHOTO_BYTES']) / 1024 / 1024:g}"
