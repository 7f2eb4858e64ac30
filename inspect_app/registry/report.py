"""The report of a registry import (problems with where they are, what was or would be
created, updated or left unchanged) and the progress protocol the stages report to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

MAX_PROBLEMS = 500


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
