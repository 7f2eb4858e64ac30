"""Exports of the ledger as it is on screen: XLSX (a summary sheet and a detail sheet) and CSV.

XLSX is written with openpyxl's write-only workbook, row by row, from a streamed query, so
memory stays flat whatever the number of hazards. CSV is UTF-8 with a byte-order mark, which
Excel needs to read Chinese text correctly, and is produced as a stream of lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from .codes import days_overdue
from .labels import CATEGORY, SEVERITY, STATUS
from .ledger import Counts, Rollup, path_names

BOM = "\ufeff"

SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("buildings", "楼栋数"),
    ("inspected", "已检查楼栋"),
    ("coverage", "检查覆盖率"),
    ("found", "发现隐患"),
    ("fixed_on_spot", "当场整改"),
    ("open", "待整改"),
    ("overdue", "超期未整改"),
    ("submitted", "待验收"),
    ("closed", "已销号"),
    ("rectification_rate", "整改率"),
    ("supervised", "挂牌督办"),
    ("rebound", "反弹"),
)
PERCENT = frozenset({"coverage", "rectification_rate"})
LEVEL_NAMES = {
    "city": "市",
    "district": "区县",
    "street": "街道（镇）",
    "community": "社区",
    "grid": "网格",
    "building": "楼栋",
}
DETAIL_HEADERS = (
    "隐患编号",
    "街道（镇）",
    "社区",
    "网格",
    "楼栋编码",
    "楼栋名称",
    "地址",
    "类别",
    "等级",
    "重大火灾隐患直接判定要素",
    "隐患描述",
    "责任方",
    "整改措施",
    "整改期限",
    "资金来源",
    "状态",
    "超期天数",
    "挂牌督办",
    "反弹",
    "发现日期",
    "销号日期",
)


def _label(value) -> str:
    return str(value) if value is not None else ""


def _value(counts: Counts, key: str):
    value = getattr(counts, key)
    return value if value is not None else ""


def summary_table(rollup: Rollup) -> list[list[Any]]:
    """The rollup as on screen: a header row, one row per group, the total row. Rates are
    fractions (0–1); ``None`` where there is nothing to divide by."""
    header = ["编码", LEVEL_NAMES.get(rollup.level, rollup.level)] + [
        title for _key, title in SUMMARY_COLUMNS
    ]
    rows = [header]
    for row in rollup.rows:
        rows.append([row.code, row.name] + [getattr(row.counts, k) for k, _t in SUMMARY_COLUMNS])
    node_name = rollup.node.name if rollup.node is not None else "我的楼栋"
    rows.append(
        ["", f"合计（{node_name}）"] + [getattr(rollup.total, k) for k, _t in SUMMARY_COLUMNS]
    )
    return rows


def breakdown_tables(rollup: Rollup) -> list[tuple[str, list[list[Any]]]]:
    keys = [k for k, _t in SUMMARY_COLUMNS if k not in ("buildings", "inspected", "coverage")]
    header = [title for k, title in SUMMARY_COLUMNS if k in keys]
    by_category = [["类别", *header]] + [
        [_label(CATEGORY.get(code, code)), *(getattr(c, k) for k in keys)]
        for code, c in sorted(rollup.by_category.items())
    ]
    by_severity = [["等级", *header]] + [
        [_label(SEVERITY.get(code, code)), *(getattr(c, k) for k in keys)]
        for code, c in rollup.by_severity.items()
    ]
    return [("按类别", by_category), ("按等级", by_severity)]


def filter_text(rollup: Rollup) -> str:
    """The filters in words, for the header of an export."""
    f = rollup.filters
    parts = []
    if f.campaign is not None:
        parts.append(f"专项行动：{f.campaign.name}")
    start, end = f.period()
    if start or end:
        parts.append(f"期间：{start or '…'} 至 {end or '…'}")
    if f.status:
        parts.append(f"状态：{STATUS.get(f.status, f.status)}")
    if f.category:
        parts.append(f"类别：{CATEGORY.get(f.category, f.category)}")
    if f.severity:
        parts.append(f"等级：{SEVERITY.get(f.severity, f.severity)}")
    if f.overdue:
        parts.append("仅超期")
    if f.supervised:
        parts.append("仅挂牌督办")
    if f.rebound:
        parts.append("仅反弹")
    parts.append(f"统计日期：{rollup.today.isoformat()}")
    parts.append(f"反弹窗口：销号后 {rollup.rebound_days} 天")
    return "；".join(parts)


def detail_rows(
    rows: Iterable, *, today: date, names: dict[str, tuple[str, str]], tz: ZoneInfo
) -> Iterator[list[Any]]:
    """One list per hazard row of ``ledger.hazard_rows``, in ``DETAIL_HEADERS`` order."""
    # Labels translated once, not once per row.
    categories = {k: _label(v) for k, v in CATEGORY.items()}
    severities = {k: _label(v) for k, v in SEVERITY.items()}
    statuses = {k: _label(v) for k, v in STATUS.items()}
    places: dict[str, dict[str, str]] = {}
    for r in rows:
        where = places.get(r.area_path)
        if where is None:
            where = places[r.area_path] = path_names(r.area_path, names)
        unclosed = r.status in ("open", "submitted")
        yield [
            r.id,
            where.get("street", ""),
            where.get("community", ""),
            where.get("grid", ""),
            r.building_code,
            r.building_name,
            r.address,
            categories.get(r.category, r.category),
            severities.get(r.severity, r.severity),
            "是" if r.gb35181_direct else "",
            r.description,
            r.responsible_party or "",
            r.measures or "",
            r.deadline,
            r.funding or "",
            statuses.get(r.status, r.status),
            days_overdue(r.deadline, today) if unclosed else 0,
            "是" if r.supervised_at is not None else "",
            "是" if r.rebound else "",
            _local_date(r.created_at, tz),
            _local_date(r.closed_at, tz),
        ]


def _local_date(moment: datetime | None, tz: ZoneInfo) -> date | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive UTC through Core selects
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def write_xlsx(out: IO[bytes], *, rollup: Rollup, title: str, detail: Iterable[list[Any]]) -> int:
    """Write the workbook to ``out``: sheet 汇总 (filters, the rollup, breakdowns) and sheet
    明细 (one row per hazard from ``detail``). Returns the number of detail rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    bold = Font(bold=True)

    def cells(ws, values, *, header=False, percent=()):
        out_cells = []
        for i, value in enumerate(values):
            cell = WriteOnlyCell(ws, value="" if value is None else _xlsx_value(value))
            if header:
                cell.font = bold
            if i in percent and isinstance(value, float):
                cell.number_format = "0.0%"
            out_cells.append(cell)
        return out_cells

    summary = wb.create_sheet("汇总")
    summary.column_dimensions["A"].width = 14
    summary.column_dimensions["B"].width = 24
    summary.append(cells(summary, [title], header=True))
    summary.append([filter_text(rollup)])
    summary.append([])
    table = summary_table(rollup)
    percent_at = {i + 2 for i, (k, _t) in enumerate(SUMMARY_COLUMNS) if k in PERCENT}
    summary.append(cells(summary, table[0], header=True))
    for row in table[1:-1]:
        summary.append(cells(summary, row, percent=percent_at))
    summary.append(cells(summary, table[-1], header=True, percent=percent_at))
    for name, rows in breakdown_tables(rollup):
        summary.append([])
        summary.append(cells(summary, [name], header=True))
        rate_at = {rows[0].index("整改率")}
        summary.append(cells(summary, rows[0], header=True))
        for row in rows[1:]:
            summary.append(cells(summary, row, percent=rate_at))

    sheet = wb.create_sheet("明细")
    sheet.freeze_panes = "A2"
    for letter, width in (("F", 22), ("G", 28), ("K", 40), ("L", 22), ("M", 40)):
        sheet.column_dimensions[letter].width = width
    sheet.append(cells(sheet, DETAIL_HEADERS, header=True))
    n = 0
    for row in detail:
        sheet.append([_xlsx_value(v) for v in row])
        n += 1
    wb.save(out)
    return n


def _xlsx_value(value: Any) -> Any:
    # openpyxl stores a string starting with "=" as a formula: keep user text as text.
    if isinstance(value, str) and value.startswith("="):
        return "'" + value
    return value


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV text, UTF-8 with a byte-order mark first, one chunk per row (for streaming)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    yield BOM
    for row in rows:
        writer.writerow(["" if v is None else _csv_value(v) for v in row])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # A cell starting with these is a formula to a spreadsheet: quote it as text.
        return "'" + value
    return value
