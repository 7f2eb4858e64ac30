"""The administrative tree (city → district → street → community → grid)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import db
from .columns import AREA_LEVELS, _in


class Area(db.Model):
    """A node of the administrative tree (city → district → street → community → grid).

    ``path`` is the chain of codes from the root, ``/``-separated and ``/``-terminated
    (``/500110/GN/GN01/GN01-03/``), so a subtree is ``path LIKE prefix || '%'``.
    """

    __tablename__ = "area"
    __table_args__ = (CheckConstraint(_in("level", AREA_LEVELS), name="level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(400), unique=True)

    parent: Mapped[Area | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Area]] = relationship(back_populates="parent", order_by="Area.code")

    @staticmethod
    def child_path(parent: Area | None, code: str) -> str:
        if "/" in code:
            raise ValueError("area code must not contain '/'")
        return f"{parent.path if parent else '/'}{code}/"

    def __repr__(self) -> str:
        return f"<Area {self.path}>"
