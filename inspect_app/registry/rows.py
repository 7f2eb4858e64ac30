"""The rows of one import table, checked as they stream past: every cell, the required
columns, duplicate keys within the file and the checks across the cells of one row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .cells import _blank, _CellError, _parser
from .report import Report
from .tables import AREAS, BUILDINGS, Column, Table


@dataclass
class ParsedTable:
    """The rows of one table: ``columns`` in row-tuple order, each row ``(row number, values)``."""

    table: Table
    sheet: str
    columns: tuple[Column, ...]
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)

    def index(self, key: str) -> int | None:
        for i, column in enumerate(self.columns):
            if column.key == key:
                return i
        return None


@dataclass
class ParsedFile:
    report: Report
    tables: dict[str, ParsedTable] = field(default_factory=dict)


class _Reader:
    """Validates the rows of one table as they stream past."""

    def __init__(
        self,
        table: Table,
        sheet: str,
        header_row: int,
        header: Sequence[Any],
        positions: dict[int, Column],
        report: Report,
    ) -> None:
        self.report = report
        self.sheet = sheet
        self.positions = sorted(positions)
        columns = tuple(positions[i] for i in self.positions)
        self.parsed = ParsedTable(table, sheet, columns)
        self.parsers = [_parser(c) for c in columns]
        self.width = max(self.positions) + 1
        self.seen: dict[str, int] = {}
        self.index = {c.key: i for i, c in enumerate(columns)}
        key = table.identify[0]
        self.key_index = next(i for i, c in enumerate(columns) if c.key == key)
        for column in table.columns:
            if (column.required or column.key in table.needed) and column not in columns:
                report.add(sheet, header_row, column.header, "缺少必填列")
        known = set(positions)
        for i, cell in enumerate(header):
            if i not in known and not _blank(cell):
                report.ignored.append(f"{sheet}：{cell}")

    def row(self, number: int, cells: Sequence[Any]) -> bool:
        """Check one row and keep it when it is valid; False for a blank row."""
        n = len(cells)
        key_position = self.positions[self.key_index]
        # Most rows have their key; only a row without one needs the full look for blanks.
        if (key_position >= n or _blank(cells[key_position])) and all(_blank(c) for c in cells):
            return False
        values: list[Any] = []
        ok = True
        for position, column, parse in zip(
            self.positions, self.parsed.columns, self.parsers, strict=True
        ):
            raw = cells[position] if position < n else None
            try:
                value = parse(raw)
            except _CellError as err:
                self.report.add(self.sheet, number, column.header, str(err))
                ok = False
                continue
            if value is None and column.required:
                self.report.add(self.sheet, number, column.header, "必填")
                ok = False
            values.append(value)
        if not ok:
            return True
        key = values[self.key_index]
        first = self.seen.get(key)
        if first is not None:
            header = self.parsed.columns[self.key_index].header
            self.report.add(self.sheet, number, header, f"“{key}”与第 {first} 行重复")
            return True
        self.seen[key] = number
        row = tuple(values)
        if self.parsed.table is BUILDINGS or self._row_checks(number, row):
            self.parsed.rows.append((number, row))
        return True

    def _row_checks(self, number: int, row: tuple[Any, ...]) -> bool:
        """Checks across cells of one row (areas and users; building rows have none)."""
        index = self.index

        def get(key: str) -> Any:
            return row[index[key]] if key in index else None

        if self.parsed.table is AREAS:
            if get("parent") is not None and get("parent") == get("code"):
                self.report.add(self.sheet, number, "上级区域编码", "不能是区域自身")
                return False
            return True
        role, area, codes = get("role"), get("area"), get("buildings") or ()
        if role == "manager":
            if area is not None:
                self.report.add(
                    self.sheet, number, "管辖区域编码", "物业用户按管理楼栋划定范围，管辖区域请留空"
                )
                return False
            if not codes:
                self.report.add(self.sheet, number, "管理楼栋编码", "物业用户需要填写管理楼栋编码")
                return False
        elif area is None:
            self.report.add(self.sheet, number, "管辖区域编码", "该角色需要填写管辖区域编码")
            return False
        elif codes:
            self.report.add(self.sheet, number, "管理楼栋编码", "只有物业用户填写管理楼栋编码")
            return False
        return True
