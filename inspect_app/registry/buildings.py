"""Taking buildings out of the registry: retiring (records stay), restoring, and deleting one
entered by mistake (only when nothing refers to it)."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Building, BuildingChange, Hazard, Inspection, Photo, building_manager, utcnow


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
