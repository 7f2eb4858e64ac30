"""The campaign dashboard (progress against the current phase, ranking, weekly trend, spot
checks) as a page with server-side SVG charts and as JSON, and the monthly summary (工作小结)
as a printable page and a workbook."""

from __future__ import annotations

import tempfile
from urllib.parse import quote

from flask import (
    Blueprint,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from forms.campaigns import DashboardForm, MonthlyForm

from .. import charts, labels, progress, summaries
from ..auth import (
    area_scope,
    building_scope,
    campaign_area_or_404,
    campaign_or_404,
    campaign_scope,
    ledger_area_or_404,
    require,
)
from ..codes import district_tz, local_today
from ..db import db
from ..ledger import LedgerError, rebound_days
from ..models import Area, Campaign

bp = Blueprint("dashboard", __name__)
api = Blueprint("dashboard_api", __name__, url_prefix="/api/v1")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BadRequest(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _progress(campaign: Campaign, args) -> progress.Progress:
    """The progress a request asks for (``area``, ``rank``); ``BadRequest`` for bad values, 404
    for an area outside the user's scope or the campaign."""
    form = DashboardForm(args)
    if not form.validate():
        raise BadRequest("；".join(str(m) for ms in form.errors.values() for m in ms))
    node = campaign_area_or_404(current_user, campaign, (form.area.data or "").strip() or None)
    try:
        return progress.campaign_progress(
            db.session,
            campaign,
            node=node,
            scope=building_scope(current_user),
            today=local_today(),
            tz=district_tz(),
            rebound_days=rebound_days(),
            rank_by=form.rank.data or None,
        )
    except (LedgerError, ValueError) as err:
        raise BadRequest(str(err)) from err


def dashboard_charts(p: progress.Progress) -> dict:
    """The dashboard's charts (SVG markup), keyed by name."""
    rank_name = labels.MEASURE[p.rank_by]
    fmt = charts.number if p.rank_by == "overdue" else charts.percent
    out = {
        "ranking": charts.hbar(
            [(r.name, r.figures.get(p.rank_by)) for r in p.rows],
            title=_("按%(m)s排名", m=rank_name),
            max_value=None if p.rank_by == "overdue" else 1,
            fmt=fmt,
        ),
        "states": charts.stacked_hbar(
            [
                (
                    r.name,
                    [
                        r.figures.counts.fixed_on_spot,
                        r.figures.counts.closed,
                        r.figures.counts.submitted,
                        r.figures.counts.open - r.figures.counts.overdue,
                        r.figures.counts.overdue,
                    ],
                )
                for r in p.rows
            ],
            series=[_("当场整改"), _("已销号"), _("待验收"), _("待整改"), _("超期")],
            colours=["#009E73", "#56B4E9", "#E69F00", "#F0E442", "#D55E00"],
            title=_("隐患整改状态"),
        ),
    }
    week_labels = [f"{w.starts_on.month}/{w.starts_on.day}" for w in p.weeks]
    if p.weeks:
        out["weekly"] = charts.line(
            week_labels,
            [
                charts.Series(_("新发现隐患"), [w.found for w in p.weeks], "#D55E00"),
                charts.Series(_("整改完成"), [w.rectified for w in p.weeks], "#009E73"),
            ],
            title=_("每周新发现隐患与整改完成数"),
        )
        buildings = p.total.counts.buildings
        out["coverage"] = charts.line(
            week_labels,
            [
                charts.Series(
                    _("累计排查覆盖率"),
                    [w.surveyed / buildings if buildings else None for w in p.weeks],
                    "#0072B2",
                )
            ],
            title=_("累计排查覆盖率"),
            y_max=1,
            fmt=charts.percent,
        )
    if p.current is not None and p.current.metric is not None:
        out["phase"] = charts.meter(
            p.current.value,
            title=str(labels.MEASURE[p.current.metric]),
            marker=p.current.elapsed,
            marker_label=_("阶段时间已过"),
        )
    if p.spot_checks:
        out["spot_checks"] = charts.hbar(
            [(s.name, s.discrepancy_rate) for s in p.spot_checks],
            title=_("抽查发现街镇排查漏查的楼栋比例"),
            max_value=1,
            colour="#D55E00",
        )
    return out


@bp.get("/dashboard")
@require("view_dashboard")
def home():
    """The dashboard of the running campaign (else the latest one) the user can see."""
    today = local_today()
    visible = select(Campaign).where(campaign_scope(current_user))
    campaign = db.session.scalar(
        visible.where(Campaign.starts_on <= today, Campaign.ends_on >= today)
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        .limit(1)
    ) or db.session.scalar(visible.order_by(Campaign.starts_on.desc()).limit(1))
    if campaign is None:
        return render_template("dashboard/none.html")
    return redirect(url_for("dashboard.show", campaign_id=campaign.id))


@bp.get("/campaigns/<int:campaign_id>/dashboard")
@require("view_dashboard")
def show(campaign_id: int):
    campaign = campaign_or_404(current_user, campaign_id)
    form = DashboardForm(request.args)
    try:
        p = _progress(campaign, request.args)
    except BadRequest as err:
        return render_template(
            "dashboard/show.html", campaign=campaign, form=form, p=None, message=err.message
        ), 400
    return render_template(
        "dashboard/show.html",
        campaign=campaign,
        form=form,
        p=p,
        charts=dashboard_charts(p),
        crumbs=_crumbs(campaign, p.node),
        message=None,
    )


def _crumbs(campaign: Campaign, node: Area) -> list[Area]:
    """The areas from the top the user may see (within the campaign) down to ``node``."""
    codes = [c for c in node.path.strip("/").split("/") if c]
    found = db.session.scalars(
        select(Area).where(Area.code.in_(codes), area_scope(current_user))
    ).all()
    found = [a for a in found if a.path.startswith(campaign.area.path)]
    return sorted(found, key=lambda a: len(a.path))


@api.get("/campaigns/<int:campaign_id>/progress")
@require("view_dashboard")
def progress_json(campaign_id: int):
    """The dashboard's figures as JSON (``?area=CODE`` for another area, ``?rank=`` for the
    ranking)."""
    campaign = campaign_or_404(current_user, campaign_id)
    try:
        p = _progress(campaign, request.args)
    except BadRequest as err:
        return jsonify(error="bad_request", message=err.message), 400
    return jsonify(p.as_dict())


# ---------------------------------------------------------------------------------------------
# Monthly summary (工作小结)
# ---------------------------------------------------------------------------------------------


def _area_choices(form: MonthlyForm) -> None:
    own = current_user.area
    choices = []
    if own is not None:
        below = db.session.scalars(
            select(Area)
            .where(area_scope(current_user), Area.level.in_(("district", "street")))
            .order_by(Area.path)
        ).all()
        choices = [(own.code, own.name)] + [(a.code, a.name) for a in below if a.id != own.id]
    form.area.choices = choices


def _summary(args) -> tuple[MonthlyForm, summaries.MonthlySummary | None, str | None]:
    form = MonthlyForm(args)
    _area_choices(form)
    today = local_today()
    if not args.get("month"):
        form.month.data = today.strftime("%Y-%m")
    if not form.area.data and current_user.area is not None:
        form.area.data = current_user.area.code
    node = ledger_area_or_404(current_user, form.area.data or None)
    if node is None:
        return form, None, "您的账户没有管辖区域，无法生成工作小结"
    try:
        month = summaries.parse_month(form.month.data, today=today)
        summary = summaries.monthly_summary(
            db.session,
            month=month,
            node=node,
            scope=building_scope(current_user),
            today=today,
            tz=district_tz(),
            rebound_days=rebound_days(),
        )
    except summaries.SummaryError as err:
        form.month.errors = [err.message]
        return form, None, err.message
    return form, summary, None


@bp.get("/summaries/monthly")
@require("monthly_report")
def monthly():
    """The monthly summary of a month and area, printable (A4 print styles)."""
    form, summary, message = _summary(request.args)
    status = 400 if message else 200
    return render_template(
        "dashboard/monthly.html",
        form=form,
        s=summary,
        message=message,
        area_table=summaries.area_table(summary) if summary else [],
        category_table=summaries.category_table(summary) if summary else [],
        area_header=summaries.AREA_HEADER,
        category_header=summaries.CATEGORY_HEADER,
        area_rates=summaries.AREA_RATES,
        category_rates=summaries.CATEGORY_RATES,
        facts=summaries.facts(summary) if summary else [],
        level_name=summaries.LEVEL_NAMES.get(summary.level, "") if summary else "",
    ), status


@bp.get("/summaries/monthly.xlsx")
@require("monthly_report")
def monthly_xlsx():
    form, summary, message = _summary(request.args)
    if summary is None:
        return render_template(
            "dashboard/monthly.html",
            form=form,
            s=None,
            message=message,
            area_table=[],
            category_table=[],
            facts=[],
        ), 400
    # send_file closes the file once the response is sent.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    summaries.write_xlsx(out, summary)
    out.seek(0)
    name = f"{summary.title}.xlsx"
    response = send_file(
        out, mimetype=XLSX, as_attachment=True, download_name="summary.xlsx", max_age=0
    )
    response.headers["Content-Disposition"] = (
        f"attachment; filename=summary.xlsx; filename*=UTF-8''{quote(name)}"
    )
    return response
