"""The rectification ledger (整改台账): rollup with drill-down, hazard list, exports, and the
list of suspected major fire hazards."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field

from flask import (
    Blueprint,
    Response,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import and_, select

from forms.ledger import LedgerFilterForm

from .. import exports, ledger, major_hazards
from ..auth import building_scope, ledger_area_or_404, require
from ..codes import days_overdue, district_tz, local_today
from ..db import db
from ..labels import CATEGORY
from ..ledger import rebound_days
from ..models import Area, Building, Campaign

bp = Blueprint("ledger", __name__)

ROWS_PER_PAGE = 200
HAZARDS_PER_PAGE = 50
DATE_MESSAGE = "日期格式应为 年-月-日，例如 2026-11-20"


@dataclass
class LedgerRequest:
    """The ledger a request asks for: node, level, filters; ``errors`` by field when the
    request is wrong (then nothing else is meaningful)."""

    form: LedgerFilterForm
    node: Area | None = None
    level: str = "building"
    filters: ledger.Filters = field(default_factory=ledger.Filters)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return "；".join(m for messages in self.errors.values() for m in messages)


def parse_request(args) -> LedgerRequest:
    """Read the ledger's filters from query arguments, in the caller's scope (an area outside
    it answers 404). Wrong values land in ``errors`` with a message in Chinese."""
    form = LedgerFilterForm(args)
    form.campaign.choices = [("", "全部")] + [
        (str(c.id), c.name)
        for c in db.session.scalars(select(Campaign).order_by(Campaign.starts_on.desc()))
    ]
    form.category.choices = [("", "全部类别")] + [(k, str(v)) for k, v in CATEGORY.items()]
    req = LedgerRequest(form=form)
    if not form.validate():
        for name, messages in form.errors.items():
            if name in ("start", "end"):
                messages = [DATE_MESSAGE]
            elif name in ("status", "severity", "category", "level", "campaign"):
                messages = [f"无效的选项：{args.get(name)}"]
            req.errors[name] = [str(m) for m in messages]
        return req
    req.node = ledger_area_or_404(current_user, (form.area.data or "").strip() or None)
    if req.node is None and current_user.role != "manager":
        req.errors["area"] = ["您的账户没有管辖区域，无法查看台账"]
        return req
    campaign = None
    if form.campaign.data:
        campaign = db.session.get(Campaign, int(form.campaign.data))
    try:
        req.level = form.level.data or ledger.child_level(req.node)
        ledger.check_level(req.node, req.level)
        req.filters = ledger.Filters(
            campaign=campaign,
            start=form.start.data,
            end=form.end.data,
            status=form.status.data or None,
            category=form.category.data or None,
            severity=form.severity.data or None,
            overdue=form.overdue.data,
            supervised=form.supervised.data,
            rebound=form.rebound.data,
        )
    except ledger.LedgerError as err:
        req.errors["level" if "层级" in str(err) else "start"] = [str(err)]
    return req


def make_rollup(req: LedgerRequest) -> ledger.Rollup:
    return ledger.rollup(
        db.session,
        scope=building_scope(current_user),
        node=req.node,
        level=req.level,
        filters=req.filters,
        today=local_today(),
        tz=district_tz(),
        rebound_days=rebound_days(),
    )


def hazard_query(req: LedgerRequest):
    return ledger.hazard_rows(
        db.session,
        scope=building_scope(current_user),
        node=req.node,
        filters=req.filters,
        today=local_today(),
        tz=district_tz(),
        rebound_days=rebound_days(),
    )


def _breadcrumbs(node: Area | None) -> list[Area]:
    """The areas from the user's own area down to ``node`` (for the drill-up links)."""
    if node is None:
        return []
    own = current_user.area.path if current_user.area is not None else node.path
    codes = [c for c in node.path.strip("/").split("/") if c]
    crumbs = db.session.scalars(select(Area).where(Area.code.in_(codes))).all()
    crumbs = [a for a in crumbs if a.path.startswith(own)]
    return sorted(crumbs, key=lambda a: len(a.path))


@bp.get("/ledger")
@require("view_ledger")
def index():
    req = parse_request(request.args)
    if req.errors:
        return render_template("ledger/index.html", req=req, rollup=None), 400
    rollup = make_rollup(req)
    page = max(1, req.form.page.data or 1)
    pages = max(1, -(-len(rollup.rows) // ROWS_PER_PAGE))
    page = min(page, pages)
    rows = rollup.rows[(page - 1) * ROWS_PER_PAGE : page * ROWS_PER_PAGE]
    return render_template(
        "ledger/index.html",
        req=req,
        rollup=rollup,
        rows=rows,
        page=page,
        pages=pages,
        crumbs=_breadcrumbs(req.node),
        flagged=None,
    )


@bp.get("/ledger/hazards")
@require("view_ledger")
def hazards():
    """The hazards behind the ledger's numbers, with the same filters, 50 a page."""
    req = parse_request(request.args)
    if req.errors:
        return render_template("ledger/hazards.html", req=req, rows=None), 400
    stmt = hazard_query(req)
    total = ledger.count_rows(db.session, stmt)
    pages = max(1, -(-total // HAZARDS_PER_PAGE))
    page = min(max(1, req.form.page.data or 1), pages)
    rows = db.session.execute(
        stmt.limit(HAZARDS_PER_PAGE).offset((page - 1) * HAZARDS_PER_PAGE)
    ).all()
    names = ledger.area_names(db.session)
    return render_template(
        "ledger/hazards.html",
        req=req,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        today=local_today(),
        days_overdue=days_overdue,
        where={r.id: ledger.path_names(r.area_path, names) for r in rows},
        crumbs=_breadcrumbs(req.node),
    )


def _title(req: LedgerRequest) -> str:
    name = req.node.name if req.node is not None else "我管理的楼栋"
    return f"整改台账 {name} {local_today().isoformat()}"


def _bad_export(req: LedgerRequest):
    return render_template("ledger/index.html", req=req, rollup=None), 400


@bp.get("/ledger/export.xlsx")
@require("export_ledger")
def export_xlsx():
    """What the ledger page shows, as a workbook: 汇总 (the rollup, breakdowns) and 明细 (every
    hazard behind it). Written to a temporary file row by row, then sent."""
    req = parse_request(request.args)
    if req.errors:
        return _bad_export(req)
    rollup = make_rollup(req)
    names = ledger.area_names(db.session)
    detail = exports.detail_rows(
        ledger.iter_rows(db.session, hazard_query(req)),
        today=rollup.today,
        names=names,
        tz=district_tz(),
    )
    # Sent, then closed by the response: a context manager would close it before sending.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    exports.write_xlsx(out, rollup=rollup, title=_title(req), detail=detail)
    out.seek(0)
    return send_file(
        out,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{_title(req).replace(' ', '_')}.xlsx",
        max_age=0,
    )


@bp.get("/ledger/export.csv")
@require("export_ledger")
def export_csv():
    """The rollup table (``part=summary``, default) or every hazard behind it
    (``part=detail``) as CSV, UTF-8 with a byte-order mark; streamed."""
    req = parse_request(request.args)
    if req.errors:
        return _bad_export(req)
    part = request.args.get("part", "summary")
    if part not in ("summary", "detail"):
        req.errors["part"] = ["part 只能是 summary 或 detail"]
        return _bad_export(req)
    if part == "summary":
        rows = exports.summary_table(make_rollup(req))
    else:
        names = ledger.area_names(db.session)
        rows = _with_header(
            exports.DETAIL_HEADERS,
            exports.detail_rows(
                ledger.iter_rows(db.session, hazard_query(req)),
                today=local_today(),
                names=names,
                tz=district_tz(),
            ),
        )
    name = f"{_title(req).replace(' ', '_')}_{'汇总' if part == 'summary' else '明细'}.csv"
    response = Response(
        stream_with_context(exports.csv_lines(rows)), mimetype="text/csv; charset=utf-8"
    )
    from urllib.parse import quote

    response.headers["Content-Disposition"] = (
        f"attachment; filename=ledger.csv; filename*=UTF-8''{quote(name)}"
    )
    return response


def _with_header(header, rows):
    yield list(header)
    yield from rows


@bp.get("/ledger/suspected")
@require("view_ledger")
def suspected():
    """Buildings the GB 35181 rules flag as suspected major fire hazards, awaiting the
    detachment's decision (dismissed flags are left out)."""
    req = parse_request(request.args)
    if req.errors:
        return render_template("ledger/suspected.html", req=req, flagged=None), 400
    scope = building_scope(current_user)
    if req.node is not None:
        scope = and_(
            scope,
            Building.area_id.in_(
                select(Area.id).where(Area.path.startswith(req.node.path, autoescape=True))
            ),
        )
    flagged = major_hazards.flagged_buildings(db.session, scope)
    return render_template(
        "ledger/suspected.html",
        req=req,
        flagged=flagged,
        ruleset=major_hazards.active_ruleset(),
        crumbs=_breadcrumbs(req.node),
    )


@bp.app_template_global("ledger_url")
def ledger_url(endpoint: str, req: LedgerRequest, **changes) -> str:
    """A link to ``endpoint`` with ``req``'s filters and area, ``changes`` applied (a None
    value drops that argument)."""
    args: dict[str, str | None] = dict(req.filters.as_args())
    if req.node is not None:
        args["area"] = req.node.code
    args.update({k: (None if v is None else str(v)) for k, v in changes.items()})
    return url_for(endpoint, **{k: v for k, v in args.items() if v not in (None, "")})
