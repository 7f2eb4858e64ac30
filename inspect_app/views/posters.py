"""A building's fire safety code for staff: its URL and QR, posters to print one building or a
whole street or community at a time (HTML for the browser's print, or PDF), and revoking a
printed code by giving the building a new token."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forms.posters import BatchPostersForm, RotateCodeForm

from .. import posters
from ..auth import area_or_404, area_scope, building_or_404, can, require, scoped_buildings
from ..campaigns import validity_days
from ..codes import local_today
from ..db import db
from ..models import Area, Building
from ..public import rotate_token
from .formtools import digits

bp = Blueprint("posters", __name__)

# One request renders at most this many posters; a whole district is the CLI's job
# (``flask posters``), since a PDF takes about 20–30 ms a page.
MAX_BATCH = 1000


def _size() -> str:
    size = request.args.get("size", "a4")
    if size not in posters.SIZES:
        abort(404)
    return size


def _posters(buildings):
    today = local_today()
    return today, posters.posters_for(
        db.session, buildings, today=today, validity_days=validity_days(db.session, today)
    )


def _pdf_response(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename={filename}"
    return response


@bp.get("/buildings/<int:building_id>/code")
@require("print_posters")
def show(building_id: int):
    building = building_or_404(current_user, building_id)
    url = posters.code_url(building)
    return render_template(
        "posters/show.html",
        building=building,
        url=url,
        qr=posters.qr_data_uri(url),
        rotate_form=RotateCodeForm() if can(current_user, "rotate_code") else None,
    )


@bp.get("/buildings/<int:building_id>/code.png")
@require("print_posters")
def png(building_id: int):
    building = building_or_404(current_user, building_id)
    response = Response(posters.qr_png(posters.code_url(building)), mimetype="image/png")
    response.headers["Content-Disposition"] = f"inline; filename=code-{building.code}.png"
    return response


@bp.get("/buildings/<int:building_id>/poster")
@require("print_posters")
def poster(building_id: int):
    """One building's A4 poster, or a full sheet of its labels (one for each floor)."""
    building = building_or_404(current_user, building_id)
    size = _size()
    today, items = _posters([building])
    copies = posters.LABELS_PER_PAGE if size == "label" else 1
    return posters.render_html(
        items,
        size,
        printed_on=today,
        title=_("%(name)s 消防安全码", name=building.name),
        copies=copies,
        links={
            "back": url_for("posters.show", building_id=building.id),
            "pdf": url_for("posters.poster_pdf", building_id=building.id, size=size),
        },
    )


@bp.get("/buildings/<int:building_id>/poster.pdf")
@require("print_posters")
def poster_pdf(building_id: int):
    building = building_or_404(current_user, building_id)
    size = _size()
    today, items = _posters([building])
    copies = posters.LABELS_PER_PAGE if size == "label" else 1
    data = posters.render_pdf(items, size, printed_on=today, title=building.name, copies=copies)
    return _pdf_response(data, f"poster-{building.code}-{size}.pdf")


def _batch_form() -> BatchPostersForm:
    form = BatchPostersForm(request.args)
    areas = db.session.scalars(
        select(Area)
        .where(area_scope(current_user), Area.level.in_(("district", "street", "community")))
        .order_by(Area.path)
    ).all()
    form.area.choices = [("", _("我范围内的全部楼栋"))] + [(str(a.id), a.name) for a in areas]
    return form


def _batch_buildings(form: BatchPostersForm):
    """The buildings of the chosen area (in scope), or every building in scope; None when the
    choice is not valid."""
    query = scoped_buildings(current_user)
    title = _("全部楼栋")
    if form.area.data:
        if not digits(form.area.data):
            abort(404)
        area = area_or_404(current_user, int(form.area.data))
        query = query.where(
            Building.area_id.in_(select(Area.id).where(Area.path.startswith(area.path)))
        )
        title = area.name
    query = query.options(selectinload(Building.area)).limit(MAX_BATCH + 1)
    buildings = db.session.scalars(query).all()
    return posters.ordered(buildings), title


@bp.get("/posters")
@require("print_posters")
def batch():
    """Choose a street or community; then its posters as one printable document."""
    form = _batch_form()
    if "size" not in request.args:
        return render_template("posters/batch.html", form=form, count=None)
    size = _size()
    if not form.validate():
        return render_template("posters/batch.html", form=form, count=None), 422
    buildings, title = _batch_buildings(form)
    if len(buildings) > MAX_BATCH:
        form.area.errors = [_("一次最多打印 %(n)s 栋，请选择更小的范围。", n=MAX_BATCH)]
        return render_template("posters/batch.html", form=form, count=None), 422
    if not buildings:
        form.area.errors = [_("这个范围内没有楼栋。")]
        return render_template("posters/batch.html", form=form, count=0), 422
    today, items = _posters(buildings)
    return posters.render_html(
        items,
        size,
        printed_on=today,
        title=_("%(area)s 消防安全码（%(n)s 栋）", area=title, n=len(items)),
        links={
            "back": url_for("posters.batch"),
            "pdf": url_for("posters.batch_pdf", area=form.area.data or None, size=size),
        },
    )


@bp.get("/posters.pdf")
@require("print_posters")
def batch_pdf():
    form = _batch_form()
    size = _size()
    if not form.validate():
        abort(404)
    buildings, title = _batch_buildings(form)
    if len(buildings) > MAX_BATCH or not buildings:
        abort(404)
    today, items = _posters(buildings)
    data = posters.render_pdf(items, size, printed_on=today, title=title)
    return _pdf_response(data, f"posters-{size}.pdf")


@bp.post("/buildings/<int:building_id>/code/rotate")
@require("rotate_code")
def rotate(building_id: int):
    """Revoke the printed code: a new token, and the old one answers 404 from now on."""
    building = building_or_404(current_user, building_id)
    form = RotateCodeForm()
    if not form.validate_on_submit():
        abort(400)
    rotate_token(db.session, building)
    db.session.commit()
    flash(_("已更换消防安全码，旧二维码即刻失效。请重新打印并张贴。"))
    return redirect(url_for("posters.show", building_id=building.id))
