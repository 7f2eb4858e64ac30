"""The monthly summary (工作小结): what a street or the district reports by the 23rd of each
month (每月23日前报送当月工作小结), for a chosen month and area, by sub-area and category.

Every figure is the rectification ledger's (``ledger.rollup``) over the campaign's population
(high-rises in service; in the campaign's area when a campaign covers the month):

- *this month* (本月): the ledger for the month (1st to the last day, or to today for the
  running month): hazards found in the month, by where they stand today — found, fixed on
  the spot, rectified (closed + fixed on the spot), overdue, supervised — and the buildings
  inspected in the month;
- *to date* (累计): the ledger from the campaign's first day (or from the beginning, without a
  campaign) to the month's end, with survey coverage: high-rises with a street survey in that
  period / high-rises (a second rollup over the surveyed buildings, as on the dashboard).

A month after the current one has no summary yet.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from . import ledger
from .campaigns import covers_condition, high_rise_condition, population_condition
from .models import Area, Campaign
from .progress import surveyed_between

DUE_DAY = 23
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
CATEGORY_NAMES = {
    "FAC": "消防设施",
    "LIFE": "生命通道",
    "ELEC": "用电用气",
    "BLDG": "建筑防火",
    "MGMT": "日常管理",
    "AWARE": "宣传教育",
}


class SummaryError(ValueError):
    """A summary that cannot be made; the message (Chinese) says why."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def parse_month(text: str | None, *, today: date) -> date:
    """``YYYY-MM`` → the month's first day.

    :raise SummaryError: malformed, or a month after ``today``'s.
    """
    match = _MONTH.match((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise SummaryError("月份格式应为 年-月，例如 2026-05", "month")
    month = date(int(match.group(1)), int(match.group(2)), 1)
    if month > today.replace(day=1):
        raise SummaryError(
            f"{month.year}年{month.month}月还没有到，不能生成未来月份的工作小结", "month"
        )
    return month


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


@dataclass
class SummaryRow:
    code: str
    name: str
    month: ledger.Counts
    to_date: ledger.Counts
    surveyed: int

    @property
    def survey_coverage(self) -> float | None:
        b = self.to_date.buildings
        return self.surveyed / b if b else None


@dataclass
class MonthlySummary:
    month: date
    start: date
    end: date
    today: date
    node: Area
    level: str
    campaign: Campaign | None
    since: date | None
    rows: list[SummaryRow]
    total: SummaryRow
    by_category: list[tuple[str, str, ledger.Counts, ledger.Counts]]

    @property
    def due_on(self) -> date:
        return self.month.replace(day=DUE_DAY)

    @property
    def title(self) -> str:
        return f"{self.node.name}{self.month.year}年{self.month.month}月高层建筑消防安全工作小结"

    @property
    def partial(self) -> bool:
        """The month is still running: figures are up to today."""
        return self.end < month_end(self.month)

    def narrative(self) -> str:
        """The summary in one paragraph, as the report's opening text."""
        m, t = self.total.month, self.total.to_date
        period = f"{self.start.month}月{self.start.day}日至{self.end.month}月{self.end.day}日"
        text = (
            f"{period}，共检查高层建筑 {m.inspected} 栋，发现火灾隐患 {m.found} 处，"
            f"其中当场整改 {m.fixed_on_spot} 处；本月发现的隐患已整改 {m.rectified} 处"
            f"（整改率 {_pct(m.rectification_rate)}），超期未整改 {m.overdue} 处，"
            f"挂牌督办 {m.supervised} 处。"
        )
        since = f"自{self.since.year}年{self.since.month}月{self.since.day}日" if self.since else ""
        text += (
            f"{since}累计排查高层建筑 {self.total.surveyed} 栋（共 {t.buildings} 栋，覆盖率 "
            f"{_pct(self.total.survey_coverage)}），累计发现隐患 {t.found} 处，已整改 "
            f"{t.rectified} 处（整改率 {_pct(t.rectification_rate)}），超期未整改 {t.overdue} 处，"
            f"挂牌督办 {t.supervised} 处。"
        )
        return text


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def campaign_for(session: Session, node: Area, month: date) -> Campaign | None:
    """The campaign over ``node`` (its area contains the node or lies inside it) running
    during ``month``; the latest started when several are."""
    return session.scalar(
        select(Campaign)
        .join(Area, Campaign.area_id == Area.id)
        .where(
            covers_condition(node.path),
            Campaign.starts_on <= month_end(month),
            Campaign.ends_on >= month,
        )
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        .limit(1)
    )


def monthly_summary(
    session: Session,
    *,
    month: date,
    node: Area,
    scope,
    today: date,
    tz: ZoneInfo,
    rebound_days: int = ledger.DEFAULT_REBOUND_DAYS,
    campaign: Campaign | None = None,
) -> MonthlySummary:
    """The summary of ``month`` (its first day) for ``node`` within ``scope`` (a SQL
    condition on ``Building``: the caller's scope); ``campaign`` defaults to
    ``campaign_for``.

    :raise SummaryError: a month after today's, or a grid (nothing below it but buildings is
        fine; a grid's summary is by building).
    """
    if month > today.replace(day=1):
        raise SummaryError("不能生成未来月份的工作小结", "month")
    campaign = campaign if campaign is not None else campaign_for(session, node, month)
    population = and_(
        scope, population_condition(campaign) if campaign is not None else high_rise_condition()
    )
    start, end = month, min(month_end(month), today)
    since = campaign.starts_on if campaign is not None else None
    if since is not None and since > end:
        since = start
    level = ledger.child_level(node)
    common = dict(node=node, level=level, today=today, tz=tz, rebound_days=rebound_days)
    this_month = ledger.rollup(
        session, scope=population, filters=ledger.Filters(start=start, end=end), **common
    )
    to_date_filters = ledger.Filters(start=since, end=end)
    to_date = ledger.rollup(session, scope=population, filters=to_date_filters, **common)
    surveyed = ledger.rollup(
        session,
        scope=and_(population, surveyed_between(since, end, tz)),
        filters=to_date_filters,
        **common,
    )
    cumulative = {r.key: r.counts for r in to_date.rows}
    surveyed_by_key = {r.key: r.counts.buildings for r in surveyed.rows}
    rows = [
        SummaryRow(
            r.code,
            r.name,
            r.counts,
            cumulative.get(r.key, ledger.Counts()),
            surveyed_by_key.get(r.key, 0),
        )
        for r in this_month.rows
    ]
    total = SummaryRow(
        "", f"合计（{node.name}）", this_month.total, to_date.total, surveyed.total.buildings
    )
    codes = sorted(set(this_month.by_category) | set(to_date.by_category))
    by_category = [
        (
            code,
            CATEGORY_NAMES.get(code, code),
            this_month.by_category.get(code, ledger.Counts()),
            to_date.by_category.get(code, ledger.Counts()),
        )
        for code in codes
    ]
    return MonthlySummary(
        month=month,
        start=start,
        end=end,
        today=today,
        node=node,
        level=level,
        campaign=campaign,
        since=since,
        rows=rows,
        total=total,
        by_category=by_category,
    )


# ---------------------------------------------------------------------------------------------
# Tables (the page and the workbook show the same ones)
# ---------------------------------------------------------------------------------------------

LEVEL_NAMES = {
    "city": "市",
    "district": "区县",
    "street": "街道（镇）",
    "community": "社区",
    "grid": "网格",
    "building": "楼栋",
}
AREA_HEADER = (
    ("本月", ("检查楼栋", "发现隐患", "当场整改", "已整改", "整改率", "超期未整改", "挂牌督办")),
    (
        "累计",
        (
            "高层建筑",
            "已排查",
            "排查覆盖率",
            "发现隐患",
            "已整改",
            "整改率",
            "超期未整改",
            "挂牌督办",
        ),
    ),
)
CATEGORY_HEADER = (
    ("本月", ("发现隐患", "当场整改", "已整改", "整改率", "超期未整改", "挂牌督办")),
    ("累计", ("发现隐患", "已整改", "整改率", "超期未整改", "挂牌督办")),
)
# Columns holding a rate (0–1), by position in a row of ``area_table``/``category_table``.
AREA_RATES = frozenset({6, 11, 14})
CATEGORY_RATES = frozenset({5, 10})


def _area_values(row: SummaryRow) -> list[Any]:
    m, t = row.month, row.to_date
    return [
        m.inspected,
        m.found,
        m.fixed_on_spot,
        m.rectified,
        m.rectification_rate,
        m.overdue,
        m.supervised,
        t.buildings,
        row.surveyed,
        row.survey_coverage,
        t.found,
        t.rectified,
        t.rectification_rate,
        t.overdue,
        t.supervised,
    ]


def area_table(summary: MonthlySummary) -> list[list[Any]]:
    """Rows of ``[code, name, *figures]`` per sub-area and the total last (rates as 0–1)."""
    rows = [[r.code, r.name, *_area_values(r)] for r in summary.rows]
    rows.append([summary.total.code, summary.total.name, *_area_values(summary.total)])
    return rows


def category_table(summary: MonthlySummary) -> list[list[Any]]:
    """Rows of ``[code, name, *figures]`` per checklist category (rates as 0–1)."""
    out = []
    for code, name, m, t in summary.by_category:
        out.append(
            [
                code,
                name,
                m.found,
                m.fixed_on_spot,
                m.rectified,
                m.rectification_rate,
                m.overdue,
                m.supervised,
                t.found,
                t.rectified,
                t.rectification_rate,
                t.overdue,
                t.supervised,
            ]
        )
    return out


def facts(summary: MonthlySummary) -> list[tuple[str, str]]:
    """The report's header lines: area, period, campaign, due date, date of the figures."""
    out = [
        ("区域", summary.node.name),
        (
            "统计期间",
            f"{summary.start.isoformat()} 至 {summary.end.isoformat()}"
            + ("（本月尚未结束）" if summary.partial else ""),
        ),
    ]
    if summary.campaign is not None:
        out.append(("专项行动", summary.campaign.name))
    if summary.since is not None:
        out.append(("累计起始", summary.since.isoformat()))
    out.append(("报送截止", f"{summary.due_on.isoformat()}（每月23日前报送当月工作小结）"))
    out.append(("统计日期", summary.today.isoformat()))
    out.append(("统计范围", "在册高层建筑；隐患按发现日期计入，状态为统计日期的状态"))
    return out


def write_xlsx(out: IO[bytes], summary: MonthlySummary) -> None:
    """The summary as a workbook: sheet 工作小结 (header, narrative, the table by area) and
    sheet 按类别 (the table by category)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    bold = Font(bold=True)
    ws = wb.active
    ws.title = "工作小结"
    ws.append([summary.title])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value in facts(summary):
        ws.append([label, value])
    ws.append([])
    ws.append([summary.narrative()])
    ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=10)
    ws.row_dimensions[ws.max_row].height = 80
    ws.append([])
    _table(
        ws,
        summary,
        LEVEL_NAMES.get(summary.level, summary.level),
        AREA_HEADER,
        area_table(summary),
        AREA_RATES,
        bold,
        total_last=True,
    )
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 26

    sheet = wb.create_sheet("按类别")
    sheet.append([f"{summary.title}（按类别）"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    _table(
        sheet,
        summary,
        "类别",
        CATEGORY_HEADER,
        category_table(summary),
        CATEGORY_RATES,
        bold,
        total_last=False,
    )
    sheet.column_dimensions["B"].width = 16
    wb.save(out)


def _table(ws, summary, first, header, rows, rates, bold, *, total_last: bool) -> None:
    top = ["编码", first]
    sub = ["", ""]
    for group, columns in header:
        top += [group] + [""] * (len(columns) - 1)
        sub += list(columns)
    ws.append(top)
    for cell in ws[ws.max_row]:
        cell.font = bold
    ws.append(sub)
    for cell in ws[ws.max_row]:
        cell.font = bold
    for n, row in enumerate(rows, 1):
        ws.append(["" if v is None else v for v in row])
        for i in rates:
            cell = ws.cell(row=ws.max_row, column=i + 1)
            if isinstance(row[i], float):
                cell.number_format = "0.0%"
        if total_last and n == len(rows):
            for cell in ws[ws.max_row]:
                cell.font = bold
