"""The building registry (基础台账): import from a spreadsheet, proposals of building facts from
the field and their decision by the street office, and the blind-spot listing (盲区清零)."""

import csv
import io
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from forms.registry import (
    BlindSpotForm,
    BuildingChangeForm,
    ChangeListForm,
    DecisionForm,
    ImportForm,
)

from .. import building_changes, labels, registry
from ..auth import (
    building_or_404,
    building_scope,
    can,
    change_or_404,
    require,
    scoped_buildings,
)
from ..db import db
from ..models import Area, Building, BuildingChange
from ..photo_stores import store_from_config
from .formtools import attach_errors

bp = Blueprint("registry", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/registry")
@require("import_registry")
def index():
    pending = building_changes.pending_count(db.session, building_scope(current_user))
    counts = registry.blind_spot_counts(db.session, scoped_buildings(current_user))
    return render_template("registry/index.html", pending=pending, counts=counts)


@bp.get("/registry/template.xlsx")
@require("import_registry")
def template():
    buffer = io.BytesIO()
    registry.write_template(buffer)
    buffer.seek(0)
    return send_file(
        buffer, mimetype=XLSX, as_attachment=True, download_name="基础台账导入模板.xlsx"
    )


@bp.route("/registry/import", methods=["GET", "POST"])
@require("import_registry")
def import_file():
    """Check every row first; write only a file without a single problem, in one transaction.
    "仅校验" (check) never writes. The report is the response itself: generated passwords are
    shown once and never stored anywhere."""
    form = ImportForm()
    report = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        report = registry.import_registry(
            db.session,
            upload.stream,
            filename=upload.filename or "",
            actor=current_user,
            dry_run=bool(form.check.data),
            max_rows=current_app.config.get("REGISTRY_MAX_ROWS", registry.MAX_ROWS),
        )
        if report.applied:
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                report.applied = False
                report.passwords.clear()
                report.add(
                    None, None, None, _("导入期间数据被同时修改（编码或用户名冲突），请重新导入")
                )
        else:
            db.session.rollback()
        status = 200 if report.ok else 422
    elif form.is_submitted():
        status = 422
    return render_template("registry/import.html", form=form, report=report), status


# --- proposals of building facts ---------------------------------------------------------------


def outcome_message(outcome: building_changes.Outcome) -> str:
    """The flash after an accepted change: how many facts, the new class, the checklist."""
    message = _("台账已更新：%(n)s 项", n=len(outcome.fields))
    if outcome.reclassified:
        message += _(
            "；楼栋类别由“%(a)s”变为“%(b)s”",
            a=labels.CLASS[outcome.class_before],
            b=labels.CLASS[outcome.class_after],
        )
    if outcome.items_added or outcome.items_removed:
        message += _(
            "；检查表新增 %(a)s 项、减少 %(r)s 项",
            a=len(outcome.items_added),
            r=len(outcome.items_removed),
        )
    return message


@bp.route("/buildings/<int:building_id>/changes/new", methods=["GET", "POST"])
@require("propose_building_change")
def propose(building_id: int):
    """Propose corrections of the building's facts. Street staff and administrators may
    decide proposals, so theirs are applied at once (and recorded as accepted by them)."""
    building = building_or_404(current_user, building_id)
    if building.retired_at is not None:
        flash(_("该楼栋已停用，不能修改信息"))
        return redirect(url_for("buildings.show", building_id=building.id))
    form = BuildingChangeForm(obj=None if request.method == "POST" else building)
    if not form.is_submitted():
        form.client_uuid.data = str(uuid.uuid4())
    status = 200
    if form.validate_on_submit():
        files = [f.read() for f in (form.photos.data or []) if f and f.filename]
        try:
            change, created = building_changes.propose(
                db.session,
                building=building,
                user=current_user,
                values={name: form[name].data for name in building_changes.FIELDS},
                note=form.note.data,
                photo_files=files,
                store=store_from_config(current_app.config),
                client_uuid=form.client_uuid.data,
                max_pixels=current_app.config.get("MAX_PHOTO_PIXELS", 50_000_000),
            )
            outcome = None
            if created and can(current_user, "decide_building_change"):
                outcome = building_changes.accept(db.session, change, user=current_user)
        except building_changes.Invalid as err:
            db.session.rollback()
            attach_errors(form, err.errors)
            status = 422
        except building_changes.Conflict:
            db.session.rollback()
            form.form_errors.append(_("这份表单已经提交过，请重新打开修改页面"))
            status = 409
        else:
            db.session.commit()
            if outcome is not None:
                flash(outcome_message(outcome))
            elif created:
                flash(_("已提交，等待街道审核后更新台账"))
            else:
                flash(_("这份修改已经提交过"))
            return redirect(url_for("buildings.show", building_id=building.id))
    elif form.is_submitted():
        status = 422
    return render_template("registry/propose.html", form=form, building=building), status


def _area_names(changes) -> dict[int, str]:
    """Names of the areas that moves of buildings (``area_id`` changes) mention."""
    ids = {
        value
        for change in changes
        for value in (change.changes.get("area_id") or {}).values()
        if value is not None
    }
    if not ids:
        return {}
    return dict(db.session.execute(select(Area.id, Area.name).where(Area.id.in_(ids))).all())


@bp.get("/buildings/<int:building_id>/changes")
@require("view_buildings")
def history(building_id: int):
    building = building_or_404(current_user, building_id)
    changes = db.session.scalars(
        select(BuildingChange)
        .where(BuildingChange.building_id == building.id)
        .order_by(BuildingChange.proposed_at.desc(), BuildingChange.id.desc())
    ).all()
    return render_template(
        "registry/history.html",
        building=building,
        changes=changes,
        area_names=_area_names(changes),
    )


@bp.get("/registry/changes")
@require("propose_building_change")
def changes():
    """Proposals in scope; people who only propose see their own."""
    form = ChangeListForm(request.args)
    status = form.status.data if form.validate() else "pending"
    query = (
        select(BuildingChange)
        .join(Building, BuildingChange.building_id == Building.id)
        .where(BuildingChange.status == status, building_scope(current_user))
        .order_by(BuildingChange.proposed_at.desc(), BuildingChange.id.desc())
        .options(joinedload(BuildingChange.building), joinedload(BuildingChange.proposed_by))
    )
    if not can(current_user, "decide_building_change"):
        query = query.where(BuildingChange.proposed_by_id == current_user.id)
    page = db.paginate(
        query,
        page=form.page.data or 1,
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template("registry/changes.html", form=form, page=page, status=status)


def _render_change(change, form, status=200):
    current = {
        name: building_changes.to_json(getattr(change.building, name)) for name in change.changes
    }
    # Facts changed in the registry since the proposal was made: the reviewer should know.
    stale = [
        name
        for name, entry in change.changes.items()
        if change.status == "pending" and current[name] != entry["from"]
    ]
    return (
        render_template(
            "registry/change.html",
            change=change,
            form=form,
            current=current,
            stale=stale,
            area_names=_area_names([change]),
        ),
        status,
    )


@bp.get("/registry/changes/<int:change_id>")
@require("propose_building_change")
def change(change_id: int):
    item = change_or_404(current_user, change_id)
    return _render_change(item, DecisionForm())


@bp.post("/registry/changes/<int:change_id>/decide")
@require("decide_building_change")
def decide(change_id: int):
    item = change_or_404(current_user, change_id)
    form = DecisionForm()
    if not form.validate_on_submit() or not (form.accept.data or form.reject.data):
        if not form.errors:
            form.form_errors.append(_("请选择：采纳，或退回"))
        return _render_change(item, form, 422)
    try:
        if form.accept.data:
            outcome = building_changes.accept(
                db.session, item, user=current_user, note=form.note.data
            )
            message = outcome_message(outcome)
        else:
            building_changes.reject(db.session, item, user=current_user, note=form.note.data)
            message = _("已退回")
    except building_changes.Invalid as err:
        db.session.rollback()
        attach_errors(form, err.errors)
        return _render_change(change_or_404(current_user, change_id), form, 422)
    except building_changes.Conflict:
        db.session.rollback()
        flash(_("该提交已由他人处理"))
        return redirect(url_for("registry.change", change_id=change_id))
    db.session.commit()
    flash(message)
    return redirect(url_for("registry.change", change_id=change_id))


# --- blind spots (盲区清零) ----------------------------------------------------------------


@bp.get("/registry/blind-spots")
@require("view_blind_spots")
def blind_spots():
    form = BlindSpotForm(request.args)
    if not form.validate():
        abort(404)
    kind = form.kind.data
    query = (
        scoped_buildings(current_user)
        .join(Area, Building.area_id == Area.id)
        .where(registry.blind_spot(kind))
        .order_by(Area.path, Building.code)
    )
    if request.args.get("format") == "csv":
        return _csv(query, kind)
    counts = registry.blind_spot_counts(db.session, scoped_buildings(current_user))
    page = db.paginate(
        query, page=form.page.data or 1, per_page=current_app.config["PAGE_SIZE"], error_out=False
    )
    return render_template(
        "registry/blind_spots.html", form=form, page=page, kind=kind, counts=counts
    )


def _csv(query, kind: str) -> Response:
    """The whole list as CSV, with a BOM so that Excel on Chinese Windows reads it as UTF-8."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "楼栋编码",
            "楼栋名称",
            "地址",
            "所属区域",
            "多业主或多使用人",
            "管理单位",
            "管理单位联系人及电话",
            "消防安全管理人",
            "消防安全管理人电话",
        ]
    )
    for b in db.session.scalars(query.options(joinedload(Building.area))).unique():
        writer.writerow(
            [
                b.code,
                b.name,
                b.address,
                b.area.name,
                "是" if b.multi_owner else "否",
                b.management_unit or "",
                b.management_contact or "",
                b.fire_manager_name or "",
                b.fire_manager_phone or "",
            ]
        )
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename=blind-spots-{kind}.csv"
    return response
