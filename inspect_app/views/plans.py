"""One building, one plan (一楼一策): every hazard of the building with its plan line, status,
photos and history; printable (A4 print CSS) and as a PDF. The detachment lists hazards for
supervision (挂牌督办) here and decides on a suspected major fire hazard."""

from __future__ import annotations

from collections import defaultdict

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import case, or_, select
from sqlalchemy.orm.exc import StaleDataError

from forms.hazards import ConfirmForm, DismissForm, SuperviseForm

from .. import hazards, major_hazards, pdf, photo_stores, supervisions
from ..auth import building_or_404, can, require
from ..campaigns import validity_days
from ..codes import building_code, days_overdue, local_today
from ..db import db
from ..models import OPEN_STATUSES, Building, Hazard, HazardEvent, Photo, Supervision
from .formtools import digits

bp = Blueprint("plans", __name__)


def plan_data(building: Building) -> dict:
    """Everything the plan shows, in a handful of queries: hazards (unclosed first, by
    deadline), their events, photos by hazard, the code colour and the GB 35181 flag."""
    today = local_today()
    order = case((Hazard.status.in_(OPEN_STATUSES), 0), else_=1)
    hazard_list = db.session.scalars(
        select(Hazard)
        .where(Hazard.building_id == building.id)
        .order_by(order, Hazard.deadline, Hazard.id)
    ).all()
    ids = [h.id for h in hazard_list]
    events: dict[int, list[HazardEvent]] = defaultdict(list)
    pictures: dict[int, list[Photo]] = defaultdict(list)
    if ids:
        for event in db.session.scalars(
            select(HazardEvent).where(HazardEvent.hazard_id.in_(ids)).order_by(HazardEvent.id)
        ):
            events[event.hazard_id].append(event)
        by_finding = {h.finding_id: h.id for h in hazard_list if h.finding_id is not None}
        for photo in db.session.scalars(
            select(Photo)
            .where(or_(Photo.hazard_id.in_(ids), Photo.finding_id.in_(list(by_finding))))
            .order_by(Photo.id)
        ):
            owner = photo.hazard_id or by_finding.get(photo.finding_id)
            if owner is not None:
                pictures[owner].append(photo)
    supervision_list = db.session.scalars(
        select(Supervision)
        .where(Supervision.building_id == building.id)
        .order_by(Supervision.id.desc())
    ).all()
    return {
        "building": building,
        "today": today,
        "hazards": hazard_list,
        "events": events,
        "pictures": pictures,
        "supervisions": supervision_list,
        "code": building_code(
            db.session, building, today=today, validity_days=validity_days(db.session, today)
        ),
        "assessment": major_hazards.assess_building(db.session, building),
        "days_overdue": days_overdue,
        "number": supervisions.number,
    }


def _supervise_form(building: Building, listed: list[Hazard], preselect=()) -> SuperviseForm:
    form = SuperviseForm(prefix="supervise", formdata=None)
    chosen = [h for h in listed if h.id in preselect] or listed
    notice = supervisions.suggested_notice(building, chosen, today=local_today())
    for name in ("issues", "plan", "responsible_person", "responsible_unit", "deadline"):
        getattr(form, name).data = getattr(notice, name)
    form.report_by.data = notice.report_by
    form.hazards.choices = [(f"{h.id}:{h.version}", h.description) for h in listed]
    form.hazards.data = [f"{h.id}:{h.version}" for h in chosen]
    return form


def _confirm_form(building: Building, assessment) -> ConfirmForm:
    form = ConfirmForm(prefix="confirm", formdata=None)
    flagged = db.session.scalars(
        select(Hazard).where(Hazard.id.in_(assessment.hazard_ids)).order_by(Hazard.id)
    ).all()
    notice = supervisions.suggested_notice(building, list(flagged), today=local_today())
    for name in ("issues", "plan", "responsible_person", "responsible_unit", "deadline"):
        getattr(form, name).data = getattr(notice, name)
    form.report_by.data = notice.report_by
    form.elements.data = ",".join(sorted(assessment.element_codes))
    return form


def _dismiss_form(assessment) -> DismissForm:
    form = DismissForm(prefix="dismiss", formdata=None)
    form.elements.data = ",".join(sorted(assessment.element_codes))
    return form


def render_plan(building: Building, *, forms=None, message=None, status=200):
    data = plan_data(building)
    forms = dict(forms or {})
    if can(current_user, "manage_supervision") and "supervise" not in forms:
        listed = supervisions.listable(db.session, building)
        if listed:
            preselect = {int(x) for x in request.args.getlist("supervise") if digits(x)}
            forms["supervise"] = _supervise_form(building, listed, preselect)
    if forms.get("supervise") is not None and not forms["supervise"].hazards.choices:
        listed = supervisions.listable(db.session, building)
        forms["supervise"].hazards.choices = [
            (f"{h.id}:{h.version}", h.description) for h in listed
        ]
    assessment = data["assessment"]
    if can(current_user, "review_major") and assessment.flagged:
        forms.setdefault("confirm", _confirm_form(building, assessment))
        forms.setdefault("dismiss", _dismiss_form(assessment))
    return render_template("plans/show.html", forms=forms, message=message, **data), status


@bp.get("/buildings/<int:building_id>/plan")
@require("view_ledger")
def show(building_id: int):
    return render_plan(building_or_404(current_user, building_id))


@bp.get("/buildings/<int:building_id>/plan.pdf")
@require("view_ledger")
def show_pdf(building_id: int):
    """The plan as an A4 PDF with the Chinese font embedded and photo thumbnails."""
    building = building_or_404(current_user, building_id)
    data = plan_data(building)
    store = photo_stores.store_from_config(current_app.config)
    thumbs = {hid: pdf.thumbnails(store, ps) for hid, ps in data["pictures"].items()}
    body = pdf.render("pdf/plan.html", thumbs=thumbs, **data)
    return _pdf_response(body, f"一楼一策_{building.code}.pdf")


def _pdf_response(body: bytes, name: str) -> Response:
    from urllib.parse import quote

    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f"inline; filename=document.pdf; filename*=UTF-8''{quote(name)}"
    )
    return response


def _parse_choices(values: list[str]) -> list[tuple[int, int]] | None:
    out = []
    for value in values:
        hid, _, version = value.partition(":")
        if not (digits(hid) and digits(version)):
            return None
        out.append((int(hid), int(version)))
    return out


@bp.post("/buildings/<int:building_id>/supervisions")
@require("manage_supervision")
def supervise(building_id: int):
    """List the chosen hazards for supervision with the notice's fields."""
    building = building_or_404(current_user, building_id)
    form = SuperviseForm(prefix="supervise")
    listed = supervisions.listable(db.session, building)
    form.hazards.choices = [(f"{h.id}:{h.version}", h.description) for h in listed]
    if not form.validate_on_submit():
        return render_plan(building, forms={"supervise": form}, status=422)
    chosen = _parse_choices(form.hazards.data)
    if chosen is None:
        form.hazards.errors = ["所选隐患无效，请刷新页面后重试"]
        return render_plan(building, forms={"supervise": form}, status=422)
    rows = {
        h.id: h
        for h in db.session.scalars(
            select(Hazard).where(
                Hazard.id.in_([hid for hid, _v in chosen]), Hazard.building_id == building.id
            )
        )
    }
    if len(rows) != len(chosen):
        form.hazards.errors = ["只能选择本楼栋的隐患"]
        return render_plan(building, forms={"supervise": form}, status=422)
    try:
        supervision = supervisions.open_supervision(
            db.session,
            building,
            actor=current_user,
            listed=[(rows[hid], version) for hid, version in chosen],
            notice=_notice(form),
            today=local_today(),
        )
        db.session.commit()
    except hazards.InvalidInput as err:
        db.session.rollback()
        _attach(form, err)
        return render_plan(building, forms={"supervise": form}, status=422)
    except (hazards.Stale, hazards.InvalidTransition, StaleDataError) as err:
        db.session.rollback()
        db.session.expire_all()
        form.hazards.errors = [
            getattr(err, "message", None) or "所选隐患已被他人更新，请核对最新状态后重新选择"
        ]
        # The choices carry versions: rebuild them from the current state, keep the text.
        form.hazards.choices = []
        return render_plan(building, forms={"supervise": form}, status=409)
    flash(f"已挂牌督办，督办通知书 {supervisions.number(supervision)}")
    return redirect(url_for("supervisions.show", supervision_id=supervision.id))


def _notice(form) -> supervisions.Notice:
    return supervisions.Notice(
        issues=form.issues.data or "",
        plan=form.plan.data or "",
        responsible_person=form.responsible_person.data or "",
        responsible_unit=form.responsible_unit.data,
        deadline=form.deadline.data,
        report_by=form.report_by.data,
    )


def _attach(form, err) -> None:
    target = getattr(form, err.field or "", None)
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, err.message]
    else:
        form.form_errors.append(err.message)


@bp.post("/buildings/<int:building_id>/major-review/<decision>")
@require("review_major")
def review(building_id: int, decision: str):
    """The detachment's decision on the suspected major fire hazard flag: ``confirm`` lists
    the flagged hazards for supervision under a notice; ``dismiss`` records the reason."""
    building = building_or_404(current_user, building_id)
    if decision not in ("confirm", "dismiss"):
        abort(404)
    # Decided meanwhile (or never flagged): the page has no form left to show errors on.
    assessment = major_hazards.assess_building(db.session, building)
    if not assessment.flagged:
        return render_plan(building, message=major_hazards.NOT_FLAGGED, status=409)
    form = ConfirmForm(prefix="confirm") if decision == "confirm" else DismissForm(prefix="dismiss")
    if not form.validate_on_submit():
        return render_plan(building, forms={decision: form}, status=422)
    seen = [c for c in (form.elements.data or "").split(",") if c]
    try:
        supervision = None
        if decision == "confirm":
            if set(seen) != set(assessment.element_codes):
                raise major_hazards.ReviewError("判定要素已发生变化，请核对最新的要素后重新提交")
            flagged = db.session.scalars(
                select(Hazard).where(Hazard.id.in_(assessment.hazard_ids)).order_by(Hazard.id)
            ).all()
            fresh = [h for h in flagged if h.supervised_at is None]
            if fresh:
                supervision = supervisions.open_supervision(
                    db.session,
                    building,
                    actor=current_user,
                    listed=[(h, h.version) for h in fresh],
                    notice=_notice(form),
                    today=local_today(),
                    source="suspected_major",
                )
            else:
                supervision = next((h.supervision for h in flagged if h.supervision), None)
                if supervision is None:
                    raise major_hazards.ReviewError("要素所涉隐患均已挂牌督办，无需再次确认")
        record = major_hazards.decide(
            db.session,
            building,
            actor=current_user,
            decision="confirmed" if decision == "confirm" else "dismissed",
            note=form.note.data.strip(),
            seen=seen,
            supervision=supervision,
        )
        db.session.commit()
    except major_hazards.ReviewError as err:
        db.session.rollback()
        return render_plan(building, message=str(err), status=409)
    except hazards.InvalidInput as err:
        db.session.rollback()
        _attach(form, err)
        return render_plan(building, forms={decision: form}, status=422)
    except (hazards.Stale, hazards.InvalidTransition, StaleDataError):
        db.session.rollback()
        return render_plan(
            building, message="隐患已被他人更新，请核对最新状态后重新判定", status=409
        )
    if record.decision == "confirmed" and supervision is not None:
        flash("已确认为重大火灾隐患并挂牌督办")
        return redirect(url_for("supervisions.show", supervision_id=supervision.id))
    flash("已记录判定结果")
    return redirect(url_for("plans.show", building_id=building.id))
