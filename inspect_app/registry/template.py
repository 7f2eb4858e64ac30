"""The registry import template: an XLSX workbook with notes, one sheet per table, example
rows and drop-down lists."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from .tables import BUILDINGS, MAX_ROWS, TABLES, TEMPLATE_NOTE_SHEET, USERS


def write_template(target: str | Path | IO[bytes]) -> None:
    """Write the import template: a notes sheet, then one sheet per table with the Chinese
    headers, an example row that imports cleanly into an empty database, drop-down lists for
    the choice and yes/no columns, and a frozen header row."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    notes = workbook.active
    notes.title = TEMPLATE_NOTE_SHEET
    notes.append(["高层建筑基础台账导入模板"])
    notes["A1"].font = Font(bold=True, size=14)
    for line in (
        "1. 每张工作表（区域、楼栋、用户）的第 1 行是表头，请勿修改表头文字；"
        "不需要的工作表可以删除。",
        "2. 第 2 行起是示例数据，导入前请替换为实际数据。红色表头为必填列。",
        "3. 重复导入同一文件不会产生重复数据：区域按区域编码、楼栋按楼栋编码、"
        "用户按用户名匹配并更新。",
        "4. 文件中任何一行有错误时，整个文件都不会导入，并列出每个错误所在的行和列。",
        "5. 是否类的列填写“是”或“否”，空白视为“否”。",
        "",
    ):
        notes.append([line])
    notes.append(["工作表", "列", "必填", "说明"])
    for cell in notes[notes.max_row]:
        cell.font = Font(bold=True)
    for table in TABLES:
        for column in table.columns:
            detail = column.hint
            if column.choices:
                detail = f"可选：{column.allowed()}" + (f"；{detail}" if detail else "")
            elif column.kind == "bool":
                detail = "是 / 否" + (f"；{detail}" if detail else "")
            notes.append([table.title, column.header, "是" if column.required else "", detail])
    notes.column_dimensions["A"].width = 10
    notes.column_dimensions["B"].width = 22
    notes.column_dimensions["C"].width = 6
    notes.column_dimensions["D"].width = 80

    header_fill = PatternFill("solid", fgColor="FFF2CC")
    examples = {
        "areas": [
            ["500110", "綦江区", "区县", None],
            ["GN", "古南街道", "街镇", "500110"],
            ["GN01", "新街社区", "社区", "GN"],
            ["GN01-01", "新街社区第一网格", "网格", "GN01"],
        ],
        "buildings": [[c.example for c in BUILDINGS.columns]],
        "users": [[c.example for c in USERS.columns]],
    }
    for table in TABLES:
        sheet = workbook.create_sheet(table.title)
        sheet.append([c.header for c in table.columns])
        for row in examples[table.kind]:
            sheet.append(row)
        for i, column in enumerate(table.columns, 1):
            cell = sheet.cell(row=1, column=i)
            cell.font = Font(bold=True, color="C00000" if column.required else "000000")
            cell.fill = header_fill
            if column.hint:
                cell.comment = Comment(column.hint, "模板")
            letter = get_column_letter(i)
            sheet.column_dimensions[letter].width = max(10, len(column.header) * 2 + 2)
            choices = None
            if column.kind == "choice":
                choices = column.allowed().split("、")
            elif column.kind == "bool":
                choices = ["是", "否"]
            if choices:
                rule = DataValidation(
                    type="list",
                    formula1='"' + ",".join(choices) + '"',
                    allow_blank=not column.required,
                    showErrorMessage=True,
                    errorTitle="无效的值",
                    error=f"请从列表中选择：{'、'.join(choices)}",
                )
                rule.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
                sheet.add_data_validation(rule)
            if column.kind in ("code", "phone", "username", "codes"):
                # Text format keeps leading zeros and long digit strings as typed.
                for row in range(2, 2 + len(examples[table.kind])):
                    sheet.cell(row=row, column=i).number_format = "@"
        sheet.freeze_panes = "A2"
    workbook.save(target)
