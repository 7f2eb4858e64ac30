"""The ledger's JSON API under ``/api/v1``: hazards, their events (transitions) and rollups.

Same authentication, scopes and rules as the pages: a bearer token or a session cookie (which
must send ``X-CSRFToken`` when writing); out-of-scope objects answer 404, forbidden actions
403, a stale ``version`` 409 with the hazard's current state.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from forms.hazards import NoticeFields

from .. import hazards, ledger, major_hazards, supervisions
from ..auth import hazard_or_404, may_transition, require
from ..codes import days_overdue, district_tz, local_today
from ..db import db
from ..ledger import rebound_days
from ..models import Building, Hazard, HazardEvent, Photo
from ..web import csrf
from .api import _form_errors, flatten
from .formtools import digits
from .hazards import FORMS, PhotoProblem, current_state, perform, resolve_refs, store_uploads
from .ledger import hazard_query, make_rollup, parse_request

bp = Blueprint("ledger_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PER_PAGE = 100
ACTIONS = (*FORMS, "supervise")


@bp.before_request
def _csrf_for_cookie_sessions():
    """As in ``views/api.py``: bearer clients carry no CSRF token, browser sessions must."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        csrf.protect()


def _error(status: int, error: str, message: str, **extra):
    return jsonify(error=error, message=message, **extra), status


def _iso(value):
    return value.isoformat() if value is not None else None


def hazard_json(h, *, today, rebound: bool | None = None) -> dict:
    """A hazard as the API shows it (``h`` a ``Hazard`` or a ``ledger.hazard_rows`` row)."""
    unclosed = h.status in ("open", "submitted")
    out = {
        "id": h.id,
        "building_code": getattr(h, "building_code", None) or h.building.code,
        "category": h.category,
        "severity": h.severity,
        "gb35181_direct": h.gb35181_direct,
        "description": h.description,
        "responsible_party": h.responsible_party,
        "measures": h.measures,
        "deadline": _iso(h.deadline),
        "funding": h.funding,
        "status": h.status,
        "days_overdue": days_overdue(h.deadline, today) if unclosed else 0,
        "supervised": h.supervised_at is not None,
        "supervised_at": _iso(h.supervised_at),
        "created_at": _iso(h.created_at),
        "closed_at": _iso(h.closed_at),
        "version": h.version,
        "url": url_for("hazards.show", hazard_id=h.id),
    }
    if rebound is not None:
        out["rebound"] = bool(rebound)
    return out


def event_json(e: HazardEvent, photo_ids: list[int]) -> dict:
    return {
        "id": e.id,
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "actor": e.actor.display_name if e.actor else None,
        "actor_role": e.actor_role,
        "note": e.note,
        "data": e.data,
        "at": _iso(e.at),
        "photos": photo_ids,
    }


def full_hazard_json(h: Hazard) -> dict:
    today = local_today()
    days = rebound_days()
    body = hazard_json(h, today=today)
    body["building_name"] = h.building.name
    body["supervision_id"] = h.supervision_id
    body["rebound_of"] = getattr(ledger.rebound_of(db.session, h, days=days), "id", None)
    photos_by_event: dict[int | None, list[int]] = {}
    for photo in db.session.scalars(
        select(Photo).where(Photo.hazard_id == h.id).order_by(Photo.id)
    ):
        photos_by_event.setdefault(photo.event_id, []).append(photo.id)
    body["photos"] = photos_by_event.get(None, [])
    body["events"] = [event_json(e, photos_by_event.get(e.id, [])) for e in h.events]
    return body


def _with_etag(response, hazard: Hazard):
    response.headers["ETag"] = f'"v{hazard.version}"'
    return response


@bp.get("/hazards")
@require("view_ledger")
def hazard_list():
    """Hazards in the caller's scope with the ledger's filters, 100 a page."""
    req = parse_request(request.args)
    if req.errors:
        return _error(400, "bad_request", req.message, errors=req.errors)
    stmt = hazard_query(req)
    building_code = request.args.get("building", "").strip()
    if building_code:
        stmt = stmt.where(Building.code == building_code)
    total = ledger.count_rows(db.session, stmt)
    pages = max(1, -(-total // PER_PAGE))
    page = req.form.page.data or 1
    rows = db.session.execute(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    today = local_today()
    return jsonify(
        items=[hazard_json(r, today=today, rebound=r.rebound) for r in rows],
        page=page,
        pages=pages,
        total=total,
    )


@bp.get("/hazards/<int:hazard_id>")
@require("view_ledger")
def hazard_detail(hazard_id: int):
    hazard = hazard_or_404(current_user, hazard_id)
    return _with_etag(jsonify(full_hazard_json(hazard)), hazard)


def _payload() -> tuple[MultiDict | None, list[str]]:
    """The request's fields as form data (JSON flattened, or multipart), and the photo
    references (``photos`` as sha256 strings in JSON)."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return None, []
        refs = body.pop("photos", None) or []
        if not isinstance(refs, list) or not all(isinstance(s, str) for s in refs):
            refs = ["<invalid>"]
        return flatten(body), refs
    return CombinedMultiDict([request.files, request.form]), request.form.getlist("photo_refs")


@bp.post("/hazards/<int:hazard_id>/events")
@require("view_ledger")
def hazard_event(hazard_id: int):
    """One transition: ``action`` (submit_evidence, accept, reject, extend_deadline,
    update_plan, supervise), ``version`` (or ``If-Match``), and the action's fields."""
    hazard = hazard_or_404(current_user, hazard_id)
    data, refs = _payload()
    if data is None:
        return _error(400, "bad_request", "请求体不是有效的 JSON 对象")
    if isinstance(data, CombinedMultiDict):
        data = MultiDict(data.items(multi=True))
    if not data.get("version"):
        match = request.headers.get("If-Match", "").strip().strip('"')
        if match.startswith("v") and digits(match[1:]):
            data["version"] = match[1:]
    action = data.get("action", "")
    if action not in ACTIONS:
        return _error(
            422,
            "invalid",
            f"未知的操作：{action or '（空）'}",
            errors={"action": [f"可用的操作：{', '.join(ACTIONS)}"]},
        )
    if not may_transition(current_user, hazard, action):
        return _error(403, "forbidden", "您没有权限对该隐患执行此操作")
    if action == "supervise":
        return _supervise(hazard, data)
    form = FORMS[action](formdata=data, meta={"csrf": False})
    if not form.validate():
        return _error(422, "invalid", "提交的数据有误", errors=_form_errors(form))
    evidence: list[Photo] = []
    if action == "submit_evidence":
        try:
            evidence = resolve_refs(refs) + store_uploads(request.files.getlist("photos"))
        except PhotoProblem as err:
            db.session.commit()
            return _error(422, "invalid_photo", err.message, errors={"photos": [err.message]})
        db.session.commit()  # uploads survive a conflict below
    try:
        event = perform(
            hazard, action, version=form.version.data, data=form.data, evidence=evidence
        )
        db.session.commit()
    except hazards.InvalidInput as err:
        db.session.rollback()
        return _error(422, "invalid", err.message, errors={err.field or "": [err.message]})
    except (hazards.Stale, hazards.InvalidTransition, StaleDataError, OperationalError) as err:
        db.session.rollback()
        current = current_state(hazard_id)
        if isinstance(err, OperationalError) and current.version == form.version.data:
            raise
        message = getattr(err, "message", None) or hazards.Stale(current).message
        return _error(409, "conflict", message, hazard=full_hazard_json(current))
    hazard = current_state(hazard_id)
    body = {
        "event": event_json(db.session.get(HazardEvent, event.id), []),
        "hazard": full_hazard_json(hazard),
    }
    body["event"]["photos"] = next(
        (e["photos"] for e in body["hazard"]["events"] if e["id"] == event.id), []
    )
    return _with_etag(jsonify(body), hazard), 201


def _supervise(hazard: Hazard, data: MultiDict):
    form = NoticeFields(formdata=data, meta={"csrf": False})
    version = data.get("version", "")
    valid_version = digits(version)
    if not form.validate() or not valid_version:
        errors = _form_errors(form)
        if not valid_version:
            errors["version"] = ["缺少版本号（version）"]
        return _error(422, "invalid", "提交的数据有误", errors=errors)
    try:
        supervision = supervisions.open_supervision(
            db.session,
            hazard.building,
            actor=current_user,
            listed=[(hazard, int(version))],
            notice=supervisions.Notice(
                issues=form.issues.data,
                plan=form.plan.data,
                responsible_person=form.responsible_person.data,
                responsible_unit=form.responsible_unit.data,
                deadline=form.deadline.data,
                report_by=form.report_by.data,
            ),
            today=local_today(),
        )
        db.session.commit()
    except hazards.InvalidInput as err:
        db.session.rollback()
        return _error(422, "invalid", err.message, errors={err.field or "": [err.message]})
    except (hazards.Stale, hazards.InvalidTransition, StaleDataError) as err:
        db.session.rollback()
        current = current_state(hazard.id)
        message = getattr(err, "message", None) or hazards.Stale(current).message
        return _error(409, "conflict", message, hazard=full_hazard_json(current))
    current = current_state(hazard.id)
    body = full_hazard_json(current)
    return (
        _with_etag(
            jsonify(
                event=body["events"][-1],
                hazard=body,
                supervision={
                    "id": supervision.id,
                    "number": supervisions.number(supervision),
                    "url": url_for("supervisions.show", supervision_id=supervision.id),
                },
            ),
            current,
        ),
        201,
    )


@bp.get("/ledger")
@require("view_ledger")
def ledger_rollup():
    """The rollup: ``area`` (an area code in scope; default the caller's), ``level`` (street,
    community, grid or building; default one level down) and the ledger's filters."""
    req = parse_request(request.args)
    if req.errors:
        return _error(400, "bad_request", req.message, errors=req.errors)
    rollup = make_rollup(req)
    return jsonify(
        area=(
            {"code": req.node.code, "name": req.node.name, "level": req.node.level}
            if req.node is not None
            else None
        ),
        level=rollup.level,
        today=rollup.today.isoformat(),
        rebound_days=rollup.rebound_days,
        filters=req.filters.as_args(),
        total=rollup.total.as_dict(),
        rows=[
            {"key": r.key, "code": r.code or None, "name": r.name, "level": r.level}
            | r.counts.as_dict()
            for r in rollup.rows
        ],
        by_category={k: v.as_dict() for k, v in sorted(rollup.by_category.items())},
        by_severity={k: v.as_dict() for k, v in rollup.by_severity.items()},
        timezone=str(district_tz()),
    )


def building_extras(building: Building) -> dict:
    """What ``GET /api/v1/buildings/<code>`` adds for the ledger: the open hazards and the
    suspected-major flag (a prompt for the detachment, never a verdict)."""
    today = local_today()
    open_hazards = db.session.scalars(
        select(Hazard)
        .where(Hazard.building_id == building.id, Hazard.status.in_(("open", "submitted")))
        .order_by(Hazard.deadline, Hazard.id)
    ).all()
    assessment = major_hazards.assess_building(db.session, building)
    return {
        "open_hazards": [hazard_json(h, today=today) for h in open_hazards],
        "suspected_major": {
            "flagged": assessment.flagged,
            "dismissed": assessment.dismissed,
            "ruleset": assessment.ruleset.id,
            "elements": sorted(assessment.element_codes),
            "caveat": assessment.ruleset.caveat_zh,
        },
    }
