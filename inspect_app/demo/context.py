"""Plain objects the history pass reads in its inner loop: checklist items reduced to what it
needs, and everything gathered once for the pass, including the buffers of rows to write."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ..models import Campaign, ChecklistItem, User
from .settings import Reading


@dataclass(slots=True)
class _ItemSpec:
    """A checklist item reduced to what the generator reads in its inner loop."""

    id: int
    code: str
    category: str
    numeric: bool
    unit: str
    rules: list[dict[str, Any]]
    severity: str
    fix_on_spot: bool
    direct: bool
    text_zh: str
    measures: str
    fail_rate: float
    reading: Reading
    orm: ChecklistItem


@dataclass
class _Ctx:
    """Everything the history pass needs, gathered once."""

    rng: random.Random
    tz: ZoneInfo
    today: date
    horizon: datetime  # history ends before the start of ``today`` in the district
    checklist_id: int
    campaign: Campaign
    users: dict[str, User]
    item_sets: dict[tuple[str | None, frozenset[str]], list[_ItemSpec]]
    verdicts: dict[tuple[int, str | None, frozenset[str], Decimal], tuple[str, str | None, str]]
    ids: dict[str, int]
    counts: Counter[str]
    inspections: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    hazards: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    supervisions: list[dict[str, Any]] = field(default_factory=list)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]
