"""The building registry (基础台账) import: areas, buildings and users from an XLSX or CSV file.

An import runs in three steps, and only the last one writes:

1. **Read** (:func:`read_file`): stream the workbook (openpyxl, read-only) or the CSV, find the
   area, building and user tables by their headers, and check every cell of every row (type,
   length, allowed values) and every key for duplicates within the file.
2. **Plan** (:func:`plan_import`): check the rows against the database and the importer's
   scope (unknown areas, codes already used outside the scope, roles the importer may not
   give) and sort each row into *create*, *update* or *unchanged*.
3. **Apply** (:func:`apply_plan`): only for a file without a single problem; bulk statements
   (no query per row) in the caller's transaction, which flushes and never commits, so a file
   is applied whole or not at all.

Every problem is reported as (sheet, row, column, message) with the row number a spreadsheet
shows. Rows are matched on the area code, the building code and the username; a row equal to
the stored record is not written, so importing the same file twice changes nothing. For every
column present in the file the file's value replaces the stored one (an empty optional cell
clears it, an empty yes/no cell means 否); columns absent from the file leave stored values
alone; records missing from the file are never deleted. For existing users the password
column is ignored: an import never changes a password.

Memory stays bounded: the workbook is streamed, each row is kept as one compact tuple, and a
file over ``max_rows`` data rows is refused as soon as the limit is passed.

The module also retires, restores and (only when nothing refers to it) deletes buildings.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import (
    AREA_LEVELS,
    Area,
    Building,
    BuildingChange,
    Hazard,
    Inspection,
    Photo,
    User,
    building_manager,
    utcnow,
)

MAX_ROWS = 100_000
MAX_PROBLEMS = 500
# A workbook is a zip; these caps stop a small upload from inflating into gigabytes of XML
# (openpyxl keeps the shared strings in memory even in read-only mode).
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024
HEADER_SCAN_ROWS = 10
BATCH = 1000
# SQLite before 3.32 allows 999 bound parameters per statement.
IN_CHUNK = 900

TEMPLATE_NOTE_SHEET = "说明"


# --- columns and tables -------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of an import table.

    ``key`` names the value in a row; ``attr`` the model attribute it is stored in (None when
    the value is resolved in the plan: area codes, building codes, passwords). ``aliases`` are
    further accepted header spellings. ``choices`` maps accepted spellings to stored codes, the
    first spelling of each code being the one shown in the template.
    """

    key: str
    header: str
    kind: str
    required: bool = False
    attr: str | None = None
    max_len: int | None = None
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    choices: Mapping[str, str] | None = None
    aliases: tuple[str, ...] = ()
    hint: str = ""
    example: Any = None

    def allowed(self) -> str:
        """The allowed values, as shown in messages and in the template's notes."""
        shown: dict[str, str] = {}
        for label, code in (self.choices or {}).items():
            shown.setdefault(code, label)
        return "、".join(shown.values())


@dataclass(frozen=True)
class Table:
    kind: str
    title: str
    columns: tuple[Column, ...]
    # Headers that identify the table: every one of these column keys must be present.
    identify: tuple[str, ...]
    # Columns that must be present although their cells may be empty.
    needed: tuple[str, ...] = ()

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


USE_CHOICES = {
    "住宅": "residential",
    "公共建筑": "public",
    "商住混合": "mixed",
    "住宅建筑": "residential",
    "公建": "public",
    "商住楼": "mixed",
    "商住": "mixed",
    "residential": "residential",
    "public": "public",
    "mixed": "mixed",
}
LEVEL_CHOICES = {
    "市": "city",
    "区县": "district",
    "街镇": "street",
    "社区": "community",
    "网格": "grid",
    "区": "district",
    "县": "district",
    "街道": "street",
    "镇": "street",
    "乡": "street",
    "村": "community",
    **{level: level for level in AREA_LEVELS},
}
ROLE_CHOICES = {
    "网格员": "inspector",
    "物业": "manager",
    "街道": "street",
    "消防": "fire",
    "管理员": "admin",
    "排查人员": "inspector",
    "物业/管理单位": "manager",
    "管理单位": "manager",
    "街道办事处": "street",
    "镇政府": "street",
    "消防救援支队": "fire",
    "系统管理员": "admin",
    "inspector": "inspector",
    "manager": "manager",
    "street": "street",
    "fire": "fire",
    "admin": "admin",
}
YES = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓", "✔", "t"})
NO = frozenset({"否", "无", "没有", "n", "no", "false", "0", "×", "✗", "f", "-", "—"})

AREAS = Table(
    "areas",
    "区域",
    (
        Column(
            "code",
            "区域编码",
            "code",
            True,
            max_len=32,
            aliases=("area_code",),
            hint="唯一，不含“/”",
            example="500110",
        ),
        Column("name", "区域名称", "text", True, attr="name", max_len=100, example="綦江区"),
        Column(
            "level", "层级", "choice", True, attr="level", choices=LEVEL_CHOICES, example="区县"
        ),
        Column(
            "parent",
            "上级区域编码",
            "code",
            max_len=32,
            aliases=("parent_code",),
            hint="顶级区域留空；上级可以是系统中已有的区域，也可以在本表中",
            example=None,
        ),
    ),
    identify=("code", "level"),
    needed=("parent",),
)

_FLAG_COLUMNS = (
    ("multi_owner", "多业主或多使用人", "同一建筑有两个及以上业主或使用人"),
    ("has_sprinklers", "自动喷水灭火系统", ""),
    ("has_fire_alarm_system", "火灾自动报警系统", ""),
    ("has_control_room", "消防控制室", ""),
    ("has_pressure_stabilizer", "消防稳压设施", "稳压泵或稳压罐"),
    ("has_refuge_floor", "避难层", ""),
    ("has_fire_elevator", "消防电梯", ""),
    ("has_gas_suppression", "气体灭火系统", ""),
    ("has_assembly_occupancy", "人员密集场所", "商场、宾馆、医院等"),
    (
        "class_i_by_use",
        "按使用功能属一类",
        "医疗建筑、重要公共建筑等（GB 50016 表 5.1.1）；只对公共建筑有效",
    ),
)
_FLAG_EXAMPLES = {
    "has_sprinklers",
    "has_fire_alarm_system",
    "has_control_room",
    "has_pressure_stabilizer",
    "has_fire_elevator",
}

BUILDINGS = Table(
    "buildings",
    "楼栋",
    (
        Column(
            "code",
            "楼栋编码",
            "code",
            True,
            max_len=40,
            aliases=("建筑编码", "building_code"),
            hint="唯一；重复导入时按此编码匹配",
            example="QJ-GN-0001",
        ),
        Column(
            "name",
            "楼栋名称",
            "text",
            True,
            attr="name",
            max_len=120,
            aliases=("建筑名称",),
            example="滨河花园1栋",
        ),
        Column(
            "address",
            "地址",
            "text",
            True,
            attr="address",
            max_len=200,
            aliases=("详细地址",),
            example="古南街道新街路8号",
        ),
        Column(
            "area",
            "所属区域编码",
            "code",
            True,
            max_len=32,
            aliases=("网格编码", "area_code"),
            hint="通常是网格的区域编码",
            example="GN01-01",
        ),
        Column("use", "使用性质", "choice", True, attr="use", choices=USE_CHOICES, example="住宅"),
        Column(
            "height_m",
            "建筑高度（米）",
            "decimal",
            True,
            attr="height_m",
            minimum=Decimal("0"),
            maximum=Decimal("1000"),
            aliases=("建筑高度", "高度", "height_m"),
            hint="数字，保留两位小数",
            example=54.3,
        ),
        Column(
            "storeys",
            "地上层数",
            "int",
            True,
            attr="storeys",
            minimum=1,
            maximum=200,
            aliases=("层数", "storeys"),
            example=18,
        ),
        Column(
            "underground_storeys",
            "地下层数",
            "int",
            attr="underground_storeys",
            minimum=0,
            maximum=20,
            aliases=("underground_storeys",),
            hint="空白为 0",
            example=1,
        ),
        Column(
            "built_year",
            "建成年份",
            "int",
            attr="built_year",
            minimum=1900,
            maximum=2100,
            aliases=("built_year",),
            example=2008,
        ),
        Column(
            "management_unit",
            "管理单位",
            "text",
            attr="management_unit",
            max_len=120,
            aliases=("物业服务企业", "management_unit"),
            hint="物业服务企业或统一管理人；没有请留空",
            example="重庆某某物业服务有限公司",
        ),
        Column(
            "management_contact",
            "管理单位联系人及电话",
            "text",
            attr="management_contact",
            max_len=40,
            aliases=("管理单位联系电话", "management_contact"),
            example="023-48661234",
        ),
        Column(
            "fire_manager_name",
            "消防安全管理人",
            "text",
            attr="fire_manager_name",
            max_len=40,
            aliases=("fire_manager_name",),
            example="张明",
        ),
        Column(
            "fire_manager_phone",
            "消防安全管理人电话",
            "phone",
            attr="fire_manager_phone",
            max_len=40,
            aliases=("fire_manager_phone",),
            example="13800000000",
        ),
        *(
            Column(
                key,
                header,
                "bool",
                attr=key,
                aliases=(key,),
                hint=hint,
                example="是" if key in _FLAG_EXAMPLES else "否",
            )
            for key, header, hint in _FLAG_COLUMNS
        ),
    ),
    identify=("code",),
)

USERS = Table(
    "users",
    "用户",
    (
        Column(
            "username",
            "用户名",
            "username",
            True,
            max_len=64,
            aliases=("账号", "username"),
            hint="字母、数字和 _ . - @",
            example="wangwei",
        ),
        Column(
            "display_name",
            "姓名",
            "text",
            True,
            attr="display_name",
            max_len=64,
            aliases=("display_name",),
            example="王伟",
        ),
        Column(
            "phone",
            "手机号",
            "phone",
            attr="phone",
            max_len=40,
            aliases=("电话", "phone"),
            example="13900000000",
        ),
        Column(
            "role",
            "角色",
            "choice",
            True,
            attr="role",
            choices=ROLE_CHOICES,
            aliases=("role",),
            example="网格员",
        ),
        Column(
            "area",
            "管辖区域编码",
            "code",
            max_len=32,
            aliases=("area_code",),
            hint="网格员、街道、消防、管理员填写；物业留空",
            example="GN01-01",
        ),
        Column(
            "buildings",
            "管理楼栋编码",
            "codes",
            aliases=("building_codes",),
            hint="只有物业填写；多个编码用顿号、逗号或空格分隔",
            example=None,
        ),
        Column(
            "password",
            "初始密码",
            "password",
            aliases=("password",),
            hint="只用于新建用户，至少 8 位；留空则自动生成并在导入结果中显示一次；"
            "已有用户的密码不会被修改",
            example=None,
        ),
    ),
    identify=("username",),
)

TABLES = (AREAS, BUILDINGS, USERS)
_TABLE_NAMES = {
    "区域": "areas",
    "楼栋": "buildings",
    "建筑": "buildings",
    "用户": "users",
    "areas": "areas",
    "buildings": "buildings",
    "users": "users",
}


# --- the report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something wrong with the file; ``row`` is the spreadsheet's row number (None for the
    whole file or sheet), ``column`` the header (None for the whole row)."""

    sheet: str | None
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = " · ".join(
            part
            for part in (
                self.sheet,
                f"第 {self.row} 行" if self.row else None,
                self.column,
            )
            if part
        )
        return f"{where}：{self.message}" if where else self.message


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class Report:
    """The outcome of an import: problems (at most ``MAX_PROBLEMS`` listed, ``problem_count``
    counts them all), what was (or, for a dry run or a file with problems, would be) created,
    updated or left unchanged, and the passwords generated for new users (shown once)."""

    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    rows: int = 0
    areas: Counts = field(default_factory=Counts)
    buildings: Counts = field(default_factory=Counts)
    users: Counts = field(default_factory=Counts)
    ignored: list[str] = field(default_factory=list)
    passwords: list[tuple[str, str]] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, sheet: str | None, row: int | None, column: str | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(sheet, row, column, message))

    @property
    def unlisted(self) -> int:
        return self.problem_count - len(self.problems)

    def summary(self) -> str:
        parts = []
        for title, counts in (("区域", self.areas), ("楼栋", self.buildings), ("用户", self.users)):
            if counts.total:
                parts.append(
                    f"{title}：新建 {counts.created}，更新 {counts.updated}，"
                    f"未变 {counts.unchanged}"
                )
        return "；".join(parts) if parts else "文件中没有数据行"


class Unreadable(Exception):
    """A file that cannot be read at all; ``str()`` is a message for the user."""


class Progress(Protocol):
    """Receives progress: ``begin`` a stage with its total (None when unknown), ``advance``
    by a number of rows, ``end`` the stage."""

    def begin(self, label: str, total: int | None) -> None: ...

    def advance(self, n: int) -> None: ...

    def end(self) -> None: ...


class _NoProgress:
    def begin(self, label: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def end(self) -> None:
        pass


# --- reading ------------------------------------------------------------------------------


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


class _CellError(ValueError):
    pass


_CODE_RE = re.compile(r"[^\s/\\]+")
_USERNAME_RE = re.compile(r"[A-Za-z0-9_.@-]{2,64}")
_PHONE_RE = re.compile(r"[0-9+\-()（）\s、,，;；/转]+")
_CODES_SPLIT = re.compile(r"[\s、,，;；]+")
_SPACES = re.compile(r"\s+")
_CENT = Decimal("0.01")


def _header_key(value: Any) -> str:
    """A header cell as compared: no spaces or required-markers, ASCII parentheses, lower."""
    if value is None:
        return ""
    text = str(value).replace("（", "(").replace("）", ")").replace("*", "").replace("＊", "")
    return _SPACES.sub("", text).lower()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_text(value: Any) -> str:
    """A cell as text: integers (phones and codes stored as numbers) without a decimal point."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        raise _CellError("应为文本")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, datetime | date | time):
        raise _CellError("应为文本，不是日期")
    return str(value).strip()


def _parser(column: Column) -> Callable[[Any], Any]:
    """The function that turns one cell into the stored value or raises _CellError."""
    kind = column.kind

    def too_long(text: str) -> None:
        if column.max_len is not None and len(text) > column.max_len:
            raise _CellError(f"不能超过 {column.max_len} 个字符")

    if kind == "code":

        def parse(value: Any) -> str | None:
            if _blank(value):
                return None
            if isinstance(value, float) and not value.is_integer():
                raise _CellError("编码不能是小数")
            text = _as_text(value)
            if not _CODE_RE.fullmatch(text):
                raise _CellError("编码不能含空格或“/”")
            too_long(text)
            return text

    elif kind == "username":

        def parse(value: Any) -> str | None:
            if _blank(value):
                return None
            text = _as_text(value)
            if not _USERNAME_RE.fullmatch(text):
                raise _CellError("只能用 2 到 64 个字母、数字或 _ . - @")
            return text

    elif kind == "text":

        def parse(value: Any) -> str | None:
            if _blank(value):
                return None
            text = _SPACES.sub(" ", _as_text(value))
            too_long(text)
            return text

    elif kind == "phone":

        def parse(value: Any) -> str | None:
            if _blank(value):
                return None
            text = _SPACES.sub(" ", _as_text(value))
            if not _PHONE_RE.fullmatch(text) or sum(ch.isdigit() for ch in text) < 5:
                raise _CellError("不是有效的电话号码")
            too_long(text)
            return text

    elif kind == "password":

        def parse(value: Any) -> str | None:
            if _blank(value):
                return None
            text = _as_text(value)
            if not 8 <= len(text) <= 128:
                raise _CellError("密码应为 8 到 128 个字符")
            return text

    elif kind == "choice":
        lookup = {_header_key(k): v for k, v in (column.choices or {}).items()}

        def parse(value: Any) -> str | None:
            if _blank(value):
                return None
            code = lookup.get(_header_key(_as_text(value)))
            if code is None:
                raise _CellError(f"应为以下之一：{column.allowed()}")
            return code

    elif kind == "bool":

        def parse(value: Any) -> bool:
            if _blank(value):
                return False
            if isinstance(value, bool):
                return value
            text = _as_text(value).lower()
            if text in YES:
                return True
            if text in NO:
                return False
            raise _CellError("请填写“是”或“否”")

    elif kind == "decimal":

        def parse(value: Any) -> Decimal | None:
            if _blank(value):
                return None
            if isinstance(value, bool | datetime | date | time):
                raise _CellError("必须是数字（米），例如 54.3")
            text = _as_text(value) if not isinstance(value, float) else repr(value)
            text = text.removesuffix("米").removesuffix("m").removesuffix("M").strip()
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise _CellError("必须是数字（米），例如 54.3") from None
            if not number.is_finite():
                raise _CellError("必须是数字（米），例如 54.3")
            number = number.quantize(_CENT, rounding=ROUND_HALF_UP)
            if number <= column.minimum or number > column.maximum:
                raise _CellError(f"必须大于 {column.minimum} 且不超过 {column.maximum}")
            return number

    elif kind == "int":

        def parse(value: Any) -> int | None:
            if _blank(value):
                return None
            if isinstance(value, bool | datetime | date | time):
                raise _CellError("必须是整数")
            if isinstance(value, float):
                if not value.is_integer():
                    raise _CellError("必须是整数")
                number = int(value)
            elif isinstance(value, int):
                number = value
            else:
                text = _as_text(value).removesuffix("层").removesuffix("年").strip()
                if not re.fullmatch(r"[+-]?\d{1,9}", text):
                    raise _CellError("必须是整数")
                number = int(text)
            if number < column.minimum or number > column.maximum:
                raise _CellError(f"必须在 {column.minimum} 到 {column.maximum} 之间")
            return number

    elif kind == "codes":
        single = _parser(Column(column.key, column.header, "code", max_len=40))

        def parse(value: Any) -> tuple[str, ...]:
            if _blank(value):
                return ()
            if isinstance(value, int | float):
                return (single(value),)
            parts = [p for p in _CODES_SPLIT.split(_as_text(value)) if p]
            return tuple(dict.fromkeys(single(p) for p in parts))

    else:  # pragma: no cover - a programming error in the table definitions
        raise ValueError(f"unknown column kind {kind}")
    return parse


def _match_header(table: Table, cells: Sequence[Any]) -> dict[int, Column] | None:
    """Map cell positions to columns when ``cells`` is this table's header row."""
    by_name: dict[str, Column] = {}
    for column in table.columns:
        for name in (column.header, *column.aliases):
            by_name.setdefault(_header_key(name), column)
    found: dict[int, Column] = {}
    for i, cell in enumerate(cells):
        column = by_name.get(_header_key(cell))
        if column is not None and column not in found.values():
            found[i] = column
    keys = {c.key for c in found.values()}
    return found if all(k in keys for k in table.identify) else None


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


def _check_xlsx_size(source: IO[bytes]) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise Unreadable("文件不是有效的 Excel 工作簿（.xlsx），请检查文件是否损坏") from None
    finally:
        source.seek(0)
    total = sum(i.file_size for i in infos)
    shared = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
    if total > MAX_UNCOMPRESSED_BYTES or shared > MAX_SHARED_STRINGS_BYTES:
        raise Unreadable("工作簿解压后过大，请拆分成多个文件分批导入")
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise Unreadable("文件不是有效的 Excel 工作簿（.xlsx）")


def _xlsx_sheets(source: IO[bytes]) -> Iterator[tuple[str, Iterator[Sequence[Any]], int | None]]:
    """Each worksheet as (name, rows of cell values, estimated row count or None)."""
    from openpyxl import load_workbook

    _check_xlsx_size(source)
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a broken workbook
        raise Unreadable("无法读取 Excel 工作簿（.xlsx），请在 Excel 中另存后重试") from err
    try:
        for sheet in workbook.worksheets:
            try:
                # Read-only sheets only know their size when the file records it; asking
                # for it otherwise would read the whole sheet once more.
                estimate = sheet.max_row if sheet.calculate_dimension() else None
            except (ValueError, TypeError):
                estimate = None
            yield sheet.title, _guarded(sheet.title, sheet.iter_rows(values_only=True)), estimate
    finally:
        workbook.close()


def _guarded(title: str, rows: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """The sheet's rows, with damage found while streaming them (bad XML, a bad zip entry)
    turned into one message for the user."""
    try:
        yield from rows
    except Exception as err:  # openpyxl, zipfile and the XML parser raise many kinds
        raise Unreadable(f"工作表“{title}”已损坏，无法读取，请在 Excel 中另存后重试") from err


def _decode_csv(source: IO[bytes]) -> io.TextIOBase:
    """The CSV as text: UTF-8 (with or without BOM) or, as Excel saves it on Chinese Windows,
    GB18030."""
    head = source.read(256 * 1024)
    source.seek(0)
    if b"\x00" in head:
        raise Unreadable("文件不是 .xlsx 或 .csv 表格文件")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "gb18030"
    return io.TextIOWrapper(source, encoding=encoding, errors="strict", newline="")


def _csv_sheet(source: IO[bytes], name: str) -> tuple[str, Iterator[Sequence[Any]], int | None]:
    lines = 0
    for chunk in iter(lambda: source.read(1 << 20), b""):
        lines += chunk.count(b"\n")
    source.seek(0)
    text = _decode_csv(source)
    first = text.readline()
    text.seek(0)
    delimiter = "\t" if first.count("\t") > first.count(",") else ","

    def rows() -> Iterator[Sequence[Any]]:
        try:
            yield from csv.reader(text, delimiter=delimiter)
        except UnicodeDecodeError:
            raise Unreadable("CSV 文件的编码无法识别，请另存为“CSV UTF-8”格式") from None
        except csv.Error as err:
            raise Unreadable(f"CSV 文件格式有误：{err}") from None

    return name, rows(), lines


def _kind(head: bytes, filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        # Old .xls workbooks and password-protected .xlsx files are both OLE2 containers.
        raise Unreadable(
            "不支持旧版 .xls 格式或加密的工作簿，请在 Excel 中“另存为”不加密的 .xlsx 后再导入"
        )
    if suffix in (".xlsx", ".xlsm"):
        raise Unreadable("文件不是有效的 Excel 工作簿（.xlsx），请检查文件是否损坏")
    if suffix not in ("", ".csv", ".txt"):
        raise Unreadable(f"不支持的文件类型“{suffix}”，请上传 .xlsx 或 .csv 文件")
    return "csv"


def read_file(
    source: str | Path | IO[bytes],
    *,
    filename: str = "",
    max_rows: int = MAX_ROWS,
    progress: Progress | None = None,
) -> ParsedFile:
    """Read and check every row of the file; never touches the database.

    ``source`` is a path or a seekable binary file; ``filename`` (for a file object) only
    helps to name the file type in messages. The result's report lists every problem; a
    file that cannot be read at all yields one problem without row or column.
    """
    progress = progress or _NoProgress()
    report = Report()
    parsed = ParsedFile(report)
    if isinstance(source, str | Path):
        filename = filename or str(source)
        with open(source, "rb") as handle:
            return read_file(handle, filename=filename, max_rows=max_rows, progress=progress)
    try:
        head = source.read(8)
        source.seek(0)
        if not head:
            raise Unreadable("文件是空的")
        kind = _kind(head, filename)
        if kind == "xlsx":
            sheets: Iterable = _xlsx_sheets(source)
        else:
            sheets = [_csv_sheet(source, Path(filename).stem or "CSV")]
        _read_sheets(sheets, parsed, max_rows, progress)
    except Unreadable as err:
        report.add(None, None, None, str(err))
    finally:
        progress.end()
    if not report.problem_count and not parsed.tables:
        report.add(
            None, None, None, "文件中没有找到区域、楼栋或用户表：表头需与模板一致（例如“楼栋编码”）"
        )
    return parsed


def _read_sheets(sheets: Iterable, parsed: ParsedFile, max_rows: int, progress: Progress) -> None:
    report = parsed.report
    for sheet, rows, estimate in sheets:
        if sheet == TEMPLATE_NOTE_SHEET:
            continue  # the template's notes list the headers, but are no table
        reader = None
        read = 0
        for number, cells in enumerate(rows, 1):
            if reader is None:
                if number > HEADER_SCAN_ROWS:
                    break
                reader = _start_table(sheet, number, cells, parsed, estimate, progress)
                continue
            # Blank rows (a sheet formatted far below its data) do not count towards the limit.
            if reader.row(number, cells[: reader.width]):
                report.rows += 1
                if report.rows > max_rows:
                    message = f"文件超过 {max_rows} 行数据，请拆分成多个文件分批导入"
                    report.add(None, None, None, message)
                    return
            read += 1
            if read % BATCH == 0:
                progress.advance(BATCH)
        progress.advance(read % BATCH)


def _start_table(sheet, number, cells, parsed: ParsedFile, estimate, progress):
    """The reader for this sheet if ``cells`` is a table's header row, else None."""
    report = parsed.report
    for table in TABLES:
        positions = _match_header(table, cells)
        if positions is None:
            continue
        if table.kind in parsed.tables:
            report.add(
                sheet,
                number,
                None,
                f"文件中已有{table.title}表（工作表“"
                f"{parsed.tables[table.kind].sheet}”），每种表只能有一张",
            )
            return None
        reader = _Reader(table, sheet, number, cells, positions, report)
        parsed.tables[table.kind] = reader.parsed
        progress.end()
        progress.begin(f"校验{table.title}表", None if estimate is None else estimate - number)
        return reader
    return None


# --- planning -----------------------------------------------------------------------------


@dataclass
class _AreaInfo:
    id: int | None
    code: str
    name: str
    level: str
    path: str
    parent_code: str | None


@dataclass
class Plan:
    """What applying the file will do; built by :func:`plan_import`, used by
    :func:`apply_plan`."""

    parsed: ParsedFile
    actor: User | None
    areas: dict[str, _AreaInfo] = field(default_factory=dict)
    new_areas: list[_AreaInfo] = field(default_factory=list)
    area_renames: list[dict[str, Any]] = field(default_factory=list)
    new_buildings: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    building_updates: list[dict[str, Any]] = field(default_factory=list)
    new_users: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    user_updates: list[dict[str, Any]] = field(default_factory=list)
    link_changes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    file_buildings: set[str] = field(default_factory=set)
    failed_areas: set[str] = field(default_factory=set)

    @property
    def report(self) -> Report:
        return self.parsed.report


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plan_import(session: Session, parsed: ParsedFile, *, actor: User | None = None) -> Plan:
    """Check the parsed file against the database and the importer's scope; write nothing.

    ``actor`` None is the command line, which may do anything; a user may only write inside
    their own area subtree and give the roles ``auth.assignable_roles`` allows.
    """
    plan = Plan(parsed, actor)
    _plan_areas(session, plan)
    _plan_buildings(session, plan)
    _plan_users(session, plan)
    return plan


def _prefix(actor: User | None) -> str | None:
    """The path prefix an actor may write under; "" for the command line (everything)."""
    if actor is None:
        return ""
    from .auth import area_prefix

    return area_prefix(actor)


def _plan_areas(session: Session, plan: Plan) -> None:
    report = plan.report
    known = {
        code: _AreaInfo(id_, code, name, level, path, None)
        for id_, code, name, level, path in session.execute(
            select(Area.id, Area.code, Area.name, Area.level, Area.path)
        )
    }
    plan.areas = known
    table = plan.parsed.tables.get("areas")
    if table is None:
        return
    prefix = _prefix(plan.actor)
    get = _getters(table)
    rows = {get(values, "code"): (number, values) for number, values in table.rows}
    new: dict[str, tuple[int, tuple[Any, ...]]] = {}
    for code, (number, values) in rows.items():
        existing = known.get(code)
        parent = get(values, "parent")
        if existing is None:
            new[code] = (number, values)
            continue
        stored_parent = (
            existing.path.rstrip("/").split("/")[-2] if existing.path.count("/") > 2 else None
        )
        if parent != stored_parent:
            report.add(
                table.sheet,
                number,
                "上级区域编码",
                f"区域“{code}”已存在，上级为“{stored_parent or '无'}”；导入不能移动区域",
            )
        elif get(values, "level") != existing.level:
            report.add(
                table.sheet, number, "层级", f"区域“{code}”已存在，层级不同；导入不能修改层级"
            )
        elif get(values, "name") != existing.name:
            if prefix is None or not existing.path.startswith(prefix):
                report.add(table.sheet, number, "区域编码", f"区域“{code}”不在您的管辖范围内")
            else:
                plan.area_renames.append({"id": existing.id, "name": get(values, "name")})
                report.areas.updated += 1
        else:
            report.areas.unchanged += 1
    # New areas hang under a known area or under another new one; resolve parents first.
    levels = {level: i for i, level in enumerate(AREA_LEVELS)}
    resolving: set[str] = set()  # the chain being resolved, to tell a cycle
    failed: set[str] = set()

    def resolve(code: str) -> _AreaInfo | None:
        if code in known:
            return known[code]
        if code not in new or code in failed:
            return None
        resolving.add(code)
        try:
            info = resolve_new(code)
        finally:
            resolving.discard(code)
        if info is None:
            failed.add(code)
        return info

    def resolve_new(code: str) -> _AreaInfo | None:
        number, values = new[code]
        parent_code = get(values, "parent")
        level = get(values, "level")
        parent = None
        if parent_code is not None:
            if parent_code in resolving:
                report.add(table.sheet, number, "上级区域编码", f"上级区域“{parent_code}”形成循环")
                return None
            parent = resolve(parent_code)
            if parent is None:
                if parent_code not in new:
                    report.add(
                        table.sheet,
                        number,
                        "上级区域编码",
                        f"上级区域“{parent_code}”不存在（系统和本表中都没有）",
                    )
                return None  # otherwise the parent's own row carries the problem
            if levels[level] <= levels[parent.level]:
                report.add(table.sheet, number, "层级", "层级必须低于上级区域的层级")
                return None
        path = f"{parent.path if parent else '/'}{code}/"
        if prefix is None or (prefix and (parent is None or not path.startswith(prefix))):
            report.add(
                table.sheet,
                number,
                "上级区域编码",
                "只能在您的管辖范围内新建区域" if parent else "只有命令行导入可以新建顶级区域",
            )
            return None
        info = _AreaInfo(None, code, get(values, "name"), level, path, parent_code)
        known[code] = info
        plan.new_areas.append(info)
        report.areas.created += 1
        return info

    for code in new:
        resolve(code)
    plan.failed_areas = failed
    plan.new_areas.sort(key=lambda a: a.path.count("/"))


def _unknown_area(plan: Plan, code: str) -> str:
    if code in plan.failed_areas:
        return f"区域“{code}”在区域表中有错误，请先更正该行"
    return f"区域“{code}”不存在（系统和区域表中都没有）"


def _getters(table: ParsedTable) -> Callable[[tuple[Any, ...], str], Any]:
    index = {c.key: i for i, c in enumerate(table.columns)}
    return lambda values, key: values[index[key]] if key in index else None


def _scope_area_codes(plan: Plan) -> Callable[[_AreaInfo], bool]:
    prefix = _prefix(plan.actor)
    if prefix is None:
        return lambda area: False
    return lambda area: area.path.startswith(prefix)


def _norm_text(value: Any) -> Any:
    return value or None


def _plan_buildings(session: Session, plan: Plan) -> None:
    table = plan.parsed.tables.get("buildings")
    if table is None:
        return
    in_scope = _scope_area_codes(plan)
    areas_by_id = {a.id: a for a in plan.areas.values() if a.id is not None}
    key_i, area_i = table.index("code"), table.index("area")
    area_header, key_header = table.columns[area_i].header, table.columns[key_i].header
    stored_cols = [(i, c) for i, c in enumerate(table.columns) if c.attr is not None]
    attrs = [getattr(Building, c.attr) for _, c in stored_cols]
    report = plan.report
    # Stored rows are fetched chunk by chunk, so memory holds one chunk of them at a time.
    for chunk in _chunks(table.rows, IN_CHUNK):
        existing = {
            row[0]: tuple(row[1:])
            for row in session.execute(
                select(Building.code, Building.id, Building.area_id, *attrs).where(
                    Building.code.in_([values[key_i] for _, values in chunk])
                )
            )
        }
        for number, values in chunk:
            code = values[key_i]
            area = plan.areas.get(values[area_i])
            if area is None:
                report.add(table.sheet, number, area_header, _unknown_area(plan, values[area_i]))
                continue
            if not in_scope(area):
                message = f"区域“{area.code}”不在您的管辖范围内"
                report.add(table.sheet, number, area_header, message)
                continue
            plan.file_buildings.add(code)
            stored = existing.get(code)
            if stored is None:
                plan.new_buildings.append((number, values))
                report.buildings.created += 1
                continue
            building_id, area_id, *current = stored
            stored_area = areas_by_id.get(area_id)
            if stored_area is None or not in_scope(stored_area):
                message = f"编码“{code}”已被您管辖范围之外的楼栋使用"
                report.add(table.sheet, number, key_header, message)
                continue
            changes = _changes(values, current, stored_cols)
            if area.id != area_id:
                changes["area"] = area.code
            if changes:
                changes["id"] = building_id
                plan.building_updates.append(changes)
                report.buildings.updated += 1
            else:
                report.buildings.unchanged += 1


def _changes(values, current, stored_cols) -> dict[str, Any]:
    """The attributes whose file value differs from the stored one, compared as stored."""
    changes: dict[str, Any] = {}
    for (i, column), old in zip(stored_cols, current, strict=True):
        new = values[i]
        if column.kind == "decimal":
            old = Decimal(old).quantize(_CENT) if old is not None else None
        elif column.kind in ("text", "phone"):
            old = _norm_text(old)
        elif column.key == "underground_storeys" and new is None:
            new = 0
        if new != old:
            changes[column.attr] = new
    return changes


def _plan_users(session: Session, plan: Plan) -> None:
    table = plan.parsed.tables.get("users")
    if table is None:
        return
    from .auth import assignable_roles, user_scope

    report = plan.report
    actor = plan.actor
    in_scope = _scope_area_codes(plan)
    get = _getters(table)
    roles = assignable_roles(actor) if actor is not None else tuple(ROLE_CHOICES.values())
    names = [get(values, "username") for _, values in table.rows]
    existing: dict[str, tuple[Any, ...]] = {}
    administered: set[int] = set()
    for chunk in _chunks(names, IN_CHUNK):
        for row in session.execute(
            select(
                User.username, User.id, User.display_name, User.phone, User.role, User.area_id
            ).where(User.username.in_(chunk))
        ):
            existing[row[0]] = tuple(row[1:])
        if actor is not None:
            administered.update(
                session.scalars(select(User.id).where(User.username.in_(chunk), user_scope(actor)))
            )
    links: dict[int, set[str]] = {}
    for chunk in _chunks([v[0] for v in existing.values()], IN_CHUNK):
        for user_id, code in session.execute(
            select(building_manager.c.user_id, Building.code)
            .join(Building, Building.id == building_manager.c.building_id)
            .where(building_manager.c.user_id.in_(chunk))
        ):
            links.setdefault(user_id, set()).add(code)
    # Managed buildings are rows of this file (already checked) or stored buildings in scope.
    wanted = sorted(
        {c for _, values in table.rows for c in (get(values, "buildings") or ())}
        - plan.file_buildings
    )
    stored_buildings: dict[str, int] = {}
    for chunk in _chunks(wanted, IN_CHUNK):
        stored_buildings.update(
            session.execute(
                select(Building.code, Building.area_id).where(Building.code.in_(chunk))
            ).all()
        )
    areas_by_id = {a.id: a for a in plan.areas.values() if a.id is not None}
    area_header = table.table.column("area").header
    has_area, has_buildings = table.index("area") is not None, table.index("buildings") is not None
    for number, values in table.rows:
        username, role = get(values, "username"), get(values, "role")
        if role not in roles:
            report.add(table.sheet, number, "角色", "您不能创建或修改该角色的用户")
            continue
        area_code = get(values, "area")
        area = plan.areas.get(area_code) if area_code is not None else None
        if area_code is not None and area is None:
            report.add(table.sheet, number, area_header, _unknown_area(plan, area_code))
            continue
        if area is not None and not in_scope(area):
            report.add(table.sheet, number, area_header, f"区域“{area_code}”不在您的管辖范围内")
            continue
        codes = get(values, "buildings") or ()
        outside = next(
            (
                code
                for code in codes
                if code not in plan.file_buildings
                and not ((found := areas_by_id.get(stored_buildings.get(code))) and in_scope(found))
            ),
            None,
        )
        if outside is not None:
            report.add(
                table.sheet, number, "管理楼栋编码", f"楼栋“{outside}”不存在或不在您的管辖范围内"
            )
            continue
        stored = existing.get(username)
        if stored is None:
            plan.new_users.append((number, values))
            report.users.created += 1
            continue
        user_id, display_name, phone, stored_role, stored_area_id = stored
        if actor is not None:
            if user_id not in administered or stored_role not in roles:
                report.add(table.sheet, number, "用户名", f"用户“{username}”已存在，您无权修改")
                continue
            if user_id == actor.id and role != stored_role:
                report.add(table.sheet, number, "角色", "不能修改自己的角色")
                continue
        changes: dict[str, Any] = {}
        for key, old in (
            ("display_name", display_name),
            ("phone", _norm_text(phone)),
            ("role", stored_role),
        ):
            if table.index(key) is not None and get(values, key) != old:
                changes[key] = get(values, key)
        if has_area:
            new_area = area is not None and area.id is None  # an area this file creates
            if new_area or (area.id if area else None) != stored_area_id:
                changes["area"] = area_code
        # The file's list replaces the managed buildings; a user who is no manager has none.
        if (has_buildings or role != "manager") and set(codes) != links.get(user_id, set()):
            plan.link_changes[username] = codes
        if changes or username in plan.link_changes:
            changes["id"] = user_id
            changes["username"] = username
            plan.user_updates.append(changes)
            report.users.updated += 1
        else:
            report.users.unchanged += 1


# --- applying -----------------------------------------------------------------------------


def apply_plan(session: Session, plan: Plan, *, progress: Progress | None = None) -> Report:
    """Write the plan: areas, then buildings, then users, with bulk statements; flush, never
    commit. Refuses (ValueError) a plan whose report has problems.

    Passwords generated for new users without one in the file are put in the report.
    """
    report = plan.report
    if not report.ok:
        raise ValueError("a file with problems is never applied")
    progress = progress or _NoProgress()
    try:
        area_ids = _apply_areas(session, plan)
        _apply_buildings(session, plan, area_ids, progress)
        _apply_users(session, plan, area_ids)
    finally:
        progress.end()
    session.flush()
    report.applied = True
    return report


def _apply_areas(session: Session, plan: Plan) -> dict[str, int]:
    ids = {code: a.id for code, a in plan.areas.items() if a.id is not None}
    depth = None
    batch: list[Area] = []

    def flush() -> None:
        session.add_all(batch)
        session.flush()
        ids.update((a.code, a.id) for a in batch)
        batch.clear()

    for info in plan.new_areas:  # sorted by depth: parents are flushed before children
        if depth is not None and info.path.count("/") != depth:
            flush()
        depth = info.path.count("/")
        batch.append(
            Area(
                code=info.code,
                name=info.name,
                level=info.level,
                path=info.path,
                parent_id=ids[info.parent_code] if info.parent_code else None,
            )
        )
    if batch:
        flush()
    if plan.area_renames:
        session.execute(update(Area), plan.area_renames)
    return ids


def _apply_buildings(session: Session, plan: Plan, area_ids: dict[str, int], progress) -> None:
    table = plan.parsed.tables.get("buildings")
    if table is None:
        return
    progress.end()
    progress.begin("写入楼栋", len(plan.new_buildings) + len(plan.building_updates))
    columns = [(i, c) for i, c in enumerate(table.columns)]
    area_i = table.index("area")
    code_i = table.index("code")
    for chunk in _chunks(plan.new_buildings, BATCH):
        rows = []
        for _, values in chunk:
            row: dict[str, Any] = {"code": values[code_i], "area_id": area_ids[values[area_i]]}
            for i, column in columns:
                if column.attr is not None:
                    row[column.attr] = values[i]
            if row.get("underground_storeys", 0) is None:
                row["underground_storeys"] = 0
            rows.append(row)
        session.execute(insert(Building), rows)
        progress.advance(len(chunk))
    for chunk in _chunks(plan.building_updates, BATCH):
        rows = []
        for changes in chunk:
            row = dict(changes)
            if "area" in row:
                row["area_id"] = area_ids[row.pop("area")]
            rows.append(row)
        session.execute(update(Building), rows)
        progress.advance(len(chunk))


def _apply_users(session: Session, plan: Plan, area_ids: dict[str, int]) -> None:
    table = plan.parsed.tables.get("users")
    if table is None:
        return
    from .auth import hash_password

    get = _getters(table)
    report = plan.report
    users: dict[str, User] = {}
    for _, values in plan.new_users:
        username = get(values, "username")
        password = get(values, "password")
        if password is None:
            password = secrets.token_urlsafe(9)
            report.passwords.append((username, password))
        area_code = get(values, "area")
        user = User(
            username=username,
            display_name=get(values, "display_name"),
            phone=get(values, "phone"),
            role=get(values, "role"),
            area_id=area_ids[area_code] if area_code else None,
            password_hash=hash_password(password),
        )
        users[username] = user
        if get(values, "buildings"):
            plan.link_changes[username] = get(values, "buildings")
    session.add_all(users.values())
    session.flush()
    user_ids = {name: u.id for name, u in users.items()}
    updates = []
    for changes in plan.user_updates:
        row = {k: v for k, v in changes.items() if k != "username"}
        user_ids[changes["username"]] = row["id"]
        if "area" in row:
            code = row.pop("area")
            row["area_id"] = area_ids[code] if code else None
        if len(row) > 1:
            updates.append(row)
    if updates:
        session.execute(update(User), updates)
    if not plan.link_changes:
        return
    codes = sorted({c for cs in plan.link_changes.values() for c in cs})
    building_ids: dict[str, int] = {}
    for chunk in _chunks(codes, IN_CHUNK):
        building_ids.update(
            session.execute(
                select(Building.code, Building.id).where(Building.code.in_(chunk))
            ).all()
        )
    changed = [user_ids[name] for name in plan.link_changes]
    for chunk in _chunks(changed, IN_CHUNK):
        session.execute(delete(building_manager).where(building_manager.c.user_id.in_(chunk)))
    links = [
        {"user_id": user_ids[name], "building_id": building_ids[code]}
        for name, cs in plan.link_changes.items()
        for code in cs
    ]
    if links:
        session.execute(insert(building_manager), links)


# --- the whole import -----------------------------------------------------------------------


def import_registry(
    session: Session,
    source: str | Path | IO[bytes],
    *,
    filename: str = "",
    actor: User | None = None,
    dry_run: bool = False,
    max_rows: int = MAX_ROWS,
    progress: Progress | None = None,
) -> Report:
    """Read, check and (unless ``dry_run`` or any problem was found) apply a registry file.

    Returns the report; ``report.applied`` tells whether anything was written. Flushes and
    never commits: the caller commits once (or rolls back).
    """
    parsed = read_file(source, filename=filename, max_rows=max_rows, progress=progress)
    if not parsed.report.ok:
        return parsed.report
    plan = plan_import(session, parsed, actor=actor)
    if not plan.report.ok or dry_run:
        return plan.report
    return apply_plan(session, plan, progress=progress)


# --- the template -----------------------------------------------------------------------------


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


# --- retiring and deleting buildings ---------------------------------------------------------


class InUse(Exception):
    """A building that has records and so can only be retired; ``str()`` says why."""


def retire_building(session: Session, building: Building) -> None:
    """Take a building out of service (demolished, merged, entered twice): it leaves every
    list and the checklist rounds; its records all stay. Retiring twice keeps the first date."""
    if building.retired_at is None:
        building.retired_at = utcnow()
    session.flush()


def restore_building(session: Session, building: Building) -> None:
    building.retired_at = None
    session.flush()


def delete_building(session: Session, building: Building) -> None:
    """Delete a building entered by mistake, with its registry history and manager links.

    A building that has an inspection or a hazard, or that any other record points at, is
    never deleted: raises InUse (retire it instead); nothing is changed then.
    """
    inspected = session.scalar(
        select(func.count(Inspection.id)).where(Inspection.building_id == building.id)
    )
    if inspected:
        raise InUse(f"该楼栋已有 {inspected} 次检查记录，不能删除，只能停用")
    if session.scalar(select(func.count(Hazard.id)).where(Hazard.building_id == building.id)):
        raise InUse("该楼栋已有隐患记录，不能删除，只能停用")
    try:
        with session.begin_nested():
            change_ids = select(BuildingChange.id).where(BuildingChange.building_id == building.id)
            session.execute(
                update(Photo)
                .where(Photo.building_change_id.in_(change_ids))
                .values(building_change_id=None)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                delete(BuildingChange)
                .where(BuildingChange.building_id == building.id)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                delete(building_manager).where(building_manager.c.building_id == building.id)
            )
            session.delete(building)
            session.flush()
    except IntegrityError:
        raise InUse("该楼栋已有其他关联记录，不能删除，只能停用") from None


# --- blind spots (盲区清零) ----------------------------------------------------------------

BLIND_SPOTS = ("no_unified_manager", "no_management_unit", "no_fire_manager")


def _blank_column(column):
    return or_(column.is_(None), func.trim(column) == "")


def blind_spot(kind: str):
    """The SQL condition on ``Building`` for a blind spot of fire-safety management (盲区清零:
    every high-rise needs a management unit and a named fire-safety manager):

    - ``no_unified_manager``: several owners or users and nobody managing the common parts
      (多业主无统一管理人), the case the seeds single out;
    - ``no_management_unit``: no management unit at all;
    - ``no_fire_manager``: no fire-safety manager named.

    :raise ValueError: unknown kind.
    """
    if kind == "no_unified_manager":
        return Building.multi_owner.is_(True) & _blank_column(Building.management_unit)
    if kind == "no_management_unit":
        return _blank_column(Building.management_unit)
    if kind == "no_fire_manager":
        return _blank_column(Building.fire_manager_name)
    raise ValueError(kind)


def blind_spot_counts(session: Session, buildings) -> dict[str, int]:
    """How many of ``buildings`` (a ``select(Building)``, e.g. a user's scope) fall in each
    blind spot, by kind."""
    return {
        kind: session.scalar(
            select(func.count()).select_from(buildings.where(blind_spot(kind)).subquery())
        )
        for kind in BLIND_SPOTS
    }
