"""Checklists: one loaded version of a catalog and its items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import SEVERITIES, UTCDateTime, _in, utcnow


class Checklist(db.Model):
    """One loaded version of a checklist catalog; inspections pin the version they used."""

    __tablename__ = "checklist"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="checklist", order_by="ChecklistItem.position"
    )


class ChecklistItem(db.Model):
    __tablename__ = "checklist_item"
    __table_args__ = (
        UniqueConstraint("checklist_id", "code"),
        CheckConstraint(_in("answer_type", ("pass_fail_na", "numeric")), name="answer_type"),
        CheckConstraint(_in("default_severity", SEVERITIES), name="default_severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklist.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    answer_type: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(16))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    applies_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    default_severity: Mapped[str] = mapped_column(String(16))
    fix_on_spot: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_basis: Mapped[list[str]] = mapped_column(JSON, default=list)
    gb35181: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    how_zh: Mapped[str | None] = mapped_column(Text)
    measures_zh: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Free labels from the catalog; "water" marks water-supply items, which take the
    # campaign's water deadline.
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)

    checklist: Mapped[Checklist] = relationship(back_populates="items")

    @property
    def gb35181_direct(self) -> bool:
        return bool(self.gb35181 and self.gb35181.get("direct"))
