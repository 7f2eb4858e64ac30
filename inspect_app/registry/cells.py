"""One cell of an import file turned into the value that is stored, or a message for the user;
and the header row matched against a table's columns."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .tables import NO, YES, Column, Table


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
