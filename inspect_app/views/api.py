"""The JSON API under ``/api/v1``; clients authenticate with a bearer token or a session."""

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import or_
from werkzeug.datastructures import MultiDict

from forms.inspections import InspectionForm

from .. import inspections, photo_stores, photos, posters
from ..auth import allowed_kinds, building_or_404, can, require, scoped_buildings
from ..campaigns import current_campaign, validity_days
from ..checklists import current_checklist
from ..codes import building_code, building_codes, local_today
from ..db import db
from ..models import Building
from ..openapi import spec
from ..web import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _csrf_for_cookie_sessions():
    """Bearer-token clients carry no CSRF token; a browser session writing here must send one
    (``X-CSRFToken``), exactly as its forms do."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        csrf.protect()


def _error(status: int, error: str, message: str, **extra):
    return jsonify(error=error, message=message, **extra), status


def flatten(data, prefix: str = "") -> MultiDict:
    """JSON → the form's field names: ``{"findings": [{"item": "X"}]}`` → ``findings-0-item``."""
    out = MultiDict()
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}-{key}" if prefix else str(key)
            if isinstance(value, (dict, list)):
                out.update(flatten(value, name))
            elif value is not None:
                out.add(name, "true" if value is True else str(value))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            name = f"{prefix}-{i}"
            if isinstance(value, (dict, list)):
                out.update(flatten(value, name))
            elif value is not None:
                out.add(name, str(value))
    return out


def _building_json(building: Building, code) -> dict:
    return {
        "id": building.id,
        "code": building.code,
        "name": building.name,
        "address": building.address,
        "use": building.use,
        "height_m": float(building.height_m),
        "storeys": building.storeys,
        "building_class": building.building_class,
        "area_code": building.area.code,
        "colour": code.colour,
        "reasons": [r.text for r in code.reasons],
        "last_inspected_on": code.last_inspected_on.isoformat() if code.last_inspected_on else None,
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec())


@bp.get("/buildings")
@require("view_buildings")
def buildings():
    """The caller's buildings, 100 a page, optionally filtered by ``q``."""
    try:
        page_no = int(request.args.get("page", "1"))
    except ValueError:
        return jsonify(error="bad_request", message="page must be a positive integer"), 400
    if page_no < 1:
        return jsonify(error="bad_request", message="page must be a positive integer"), 400
    q = request.args.get("q", "").strip()[:100]
    query = scoped_buildings(current_user).order_by(Building.code)
    if q:
        query = query.where(
            or_(
                Building.name.contains(q, autoescape=True),
                Building.address.contains(q, autoescape=True),
                Building.code.contains(q, autoescape=True),
            )
        )
    page = db.paginate(query, page=page_no, per_page=100, error_out=False)
    today = local_today()
    codes = building_codes(
        db.session, page.items, today=today, validity_days=validity_days(db.session, today)
    )
    return jsonify(
        items=[_building_json(b, codes[b.id]) for b in page.items],
        page=page.page,
        pages=page.pages,
        total=page.total,
    )


@bp.get("/buildings/<code>")
@require("view_buildings")
def building(code: str):
    b = building_or_404(current_user, code=code)
    today = local_today()
    code = building_code(db.session, b, today=today, validity_days=validity_days(db.session, today))
    body = _building_json(b, code)
    if can(current_user, "print_posters"):
        body["code_url"] = posters.code_url(b)  # the public page its QR code encodes
    from .ledger_api import building_extras

    body.update(building_extras(b))  # open hazards and the suspected-major flag
    return jsonify(body)


@bp.get("/me")
@require("view_buildings")
def me():
    u = current_user
    return jsonify(
        username=u.username,
        display_name=u.display_name,
        role=u.role,
        area_code=u.area.code if u.area else None,
        app_version=current_app.config.get("VERSION", "0.1.0"),
    )


@bp.get("/checklists/current")
@require("view_buildings")
def checklist_current():
    """The current checklist version with everything an app needs to render it."""
    checklist = current_checklist(db.session)
    if checklist is None:
        return _error(404, "not_found", "尚未加载检查清单")
    return jsonify(
        id=checklist.id,
        code=checklist.code,
        version=checklist.version,
        title_zh=checklist.title_zh,
        title_en=checklist.title_en,
        categories=checklist.categories,
        items=[
            {
                "code": i.code,
                "category": i.category,
                "text_zh": i.text_zh,
                "text_en": i.text_en,
                "answer_type": i.answer_type,
                "unit": i.unit,
                "how_zh": i.how_zh,
                "applies_to": i.applies_to,
                "default_severity": i.default_severity,
                "fix_on_spot": i.fix_on_spot,
                "measures_zh": i.measures_zh,
                "legal_basis": i.legal_basis,
            }
            for i in checklist.items
        ],
    )


@bp.post("/photos")
@require("upload_photo")
def photo_upload():
    """Store one photo (multipart field ``photo``) ahead of the submission that uses it."""
    upload = request.files.get("photo")
    if upload is None:
        return _error(422, "invalid", "缺少照片文件（字段 photo）")
    try:
        photo, created = photos.upload_pending(
            db.session,
            store=photo_stores.store_from_config(current_app.config),
            user=current_user,
            raw=upload.read(),
            max_pixels=current_app.config.get("MAX_PHOTO_PIXELS", 50_000_000),
        )
    except photos.PhotoError as err:
        return _error(422, "invalid_photo", str(err))
    db.session.commit()
    return jsonify(sha256=photo.sha256, width=photo.width, height=photo.height), (
        201 if created else 200
    )


@bp.post("/buildings/<code>/inspections")
@require("start_inspection")
def inspection_submit(code: str):
    """Submit an inspection (JSON, or multipart with photo files); idempotent on client_uuid."""
    building = building_or_404(current_user, code=code)
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(400, "bad_request", "请求体不是有效的 JSON 对象")
        form = InspectionForm(formdata=flatten(body), meta={"csrf": False})
    else:
        form = InspectionForm(meta={"csrf": False})
    form.kind.choices = [c for c in form.kind.choices if c.value in allowed_kinds(current_user)]
    if not form.validate():
        return _error(422, "invalid", "提交的数据有误", errors=_form_errors(form))
    today = local_today()
    try:
        inspection, created = inspections.submit(
            db.session,
            user=current_user,
            building=building,
            data=form.data,
            files=inspections.collect_files(form.data),
            store=photo_stores.store_from_config(current_app.config),
            today=today,
            campaign=current_campaign(db.session, today),
            max_photo_pixels=current_app.config.get("MAX_PHOTO_PIXELS", 50_000_000),
        )
    except inspections.Invalid as err:
        db.session.commit()  # pending photos that were fine stay referencable
        return _error(422, "invalid", "提交的数据有误", errors=err.errors, kept=err.kept)
    except inspections.Conflict as err:
        db.session.rollback()
        return _error(
            409,
            "conflict",
            "该 client_uuid 已用于另一份不同内容的检查",
            inspection_id=err.inspection.id,
        )
    db.session.commit()
    body = {
        "id": inspection.id,
        "client_uuid": inspection.client_uuid,
        "url": url_for("inspections.show", inspection_id=inspection.id),
        "hazards": sum(1 for f in inspection.findings if f.result == "fail"),
    }
    return jsonify(body), 201 if created else 200


def _form_errors(form) -> dict[str, list[str]]:
    """WTForms errors flattened to field names, the same keys the domain uses."""
    out: dict[str, list[str]] = {}

    def walk(field):
        if hasattr(field, "entries"):
            for entry in field.entries:
                walk(entry)
            if field.errors and not any(isinstance(e, dict) for e in field.errors):
                flat = [e for e in field.errors if isinstance(e, str)]
                if flat:
                    out[field.name] = flat
        elif hasattr(field, "form") and hasattr(field.form, "_fields"):
            for sub in field.form:
                walk(sub)
        elif field.errors:
            out[field.name] = [str(e) for e in field.errors]

    for field in form:
        walk(field)
    return out
