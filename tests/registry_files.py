"""Real registry files for the tests: XLSX workbooks written with openpyxl, CSVs in the
encodings Excel saves, rows in the template's column order."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from inspect_app.models import Area, Building, User, building_manager
from inspect_app.registry import AREAS, BUILDINGS, USERS

AREA_HEADER = [c.header for c in AREAS.columns]
BUILDING_HEADER = [c.header for c in BUILDINGS.columns]
USER_HEADER = [c.header for c in USERS.columns]


def building_row(code: str, area: str = "S1G1", **values: Any) -> list[Any]:
    """A valid building row in template column order; ``values`` by column key override."""
    row = {
        "code": code,
        "name": f"{code}号楼",
        "address": f"测试路{code}",
        "area": area,
        "use": "住宅",
        "height_m": 54.3,
        "storeys": 18,
        "underground_storeys": 1,
        "built_year": 2008,
        "management_unit": "测试物业公司",
        "management_contact": "023-48661234",
        "fire_manager_name": "张明",
        "fire_manager_phone": "13800000000",
        "multi_owner": "否",
        "has_sprinklers": "是",
        "has_fire_alarm_system": "是",
        "has_control_room": "否",
        "has_pressure_stabilizer": "是",
        "has_refuge_floor": "否",
        "has_fire_elevator": "是",
        "has_gas_suppression": "否",
        "has_assembly_occupancy": "否",
        "class_i_by_use": "否",
    }
    row.update(values)
    return [row[c.key] for c in BUILDINGS.columns]


def user_row(username: str, role: str = "网格员", area: str | None = "S1G1", **values) -> list:
    row = {
        "username": username,
        "display_name": f"{username}姓名",
        "phone": "13900000000",
        "role": role,
        "area": area,
        "buildings": None,
        "password": None,
    }
    row.update(values)
    return [row[c.key] for c in USERS.columns]


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """A workbook with one sheet per entry, rows as given (header row included)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(["" if v is None else v for v in row] for row in rows)
    return path


def snapshot(session) -> tuple:
    """Every row an import may write, in a stable order, to compare before and after."""
    areas = session.execute(
        select(Area.id, Area.code, Area.name, Area.level, Area.path, Area.parent_id).order_by(
            Area.id
        )
    ).all()
    buildings = session.execute(select(Building.__table__).order_by(Building.id)).all()
    users = session.execute(
        select(
            User.id,
            User.username,
            User.display_name,
            User.phone,
            User.role,
            User.area_id,
            User.password_hash,
            User.session_nonce,
            User.active,
        ).order_by(User.id)
    ).all()
    links = session.execute(
        select(building_manager).order_by(
            building_manager.c.user_id, building_manager.c.building_id
        )
    ).all()
    return (
        tuple(map(tuple, areas)),
        tuple(map(tuple, buildings)),
        tuple(map(tuple, users)),
        tuple(map(tuple, links)),
    )
