"""A small district for the fire safety code tests: two streets, three buildings, one user per
role and a second manager and inspector, plus builders for hazards and images."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from inspect_app.codes import local_today
from inspect_app.db import db
from inspect_app.models import Building, Hazard, HazardEvent, User


def jpeg(colour=(200, 30, 30), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def code_site(app, make):
    """D → S1 → S1C → G1 (building A), G2 (building B); D → S2 → S2C → S2G1 (building C).
    Users: inspector (G1), inspector2 (G2), street (S1), fire and admin (D), manager (A),
    manager_b (B)."""
    d = make.area("D", "district", name="测试区")
    s1 = make.area("S1", "street", d, name="一街道")
    c1 = make.area("S1C", "community", s1, name="一社区")
    g1 = make.area("G1", "grid", c1, name="一网格")
    g2 = make.area("G2", "grid", c1, name="二网格")
    s2 = make.area("S2", "street", d, name="二街道")
    c2 = make.area("S2C", "community", s2, name="二社区")
    g3 = make.area("S2G1", "grid", c2, name="三网格")
    a = make.building(
        g1,
        code="QJ-A-0001",
        name="滨江花园1栋",
        address="滨江路1号",
        height_m=Decimal("54"),
        storeys=18,
        management_unit="金科物业",
        management_contact="023-6666-1234",
        fire_manager_name="王安全",
        fire_manager_phone="139-0000-1111",
    )
    b = make.building(g2, code="QJ-B-0002", name="江南大厦", address="江南路2号", use="public")
    c = make.building(g3, code="QJ-C-0003", name="古南小区3栋", address="古南街3号")
    users = {
        "inspector": make.user("inspector", "inspector", g1),
        "inspector2": make.user("inspector2", "inspector", g2),
        "street": make.user("street", "street", s1),
        "fire": make.user("fire", "fire", d),
        "admin": make.user("admin", "admin", d),
        "manager": make.user("manager", "manager", None, [a]),
        "manager_b": make.user("manager_b", "manager", None, [b]),
    }
    return {
        "areas": {"D": d, "S1": s1, "S1C": c1, "G1": g1, "G2": g2, "S2": s2, "S2C": c2},
        "a": a,
        "b": b,
        "c": c,
        "users": users,
    }


def add_hazard(
    app,
    building,
    *,
    category="LIFE",
    severity="general",
    status="open",
    deadline_in_days: int | None = 30,
    description="楼道堆放杂物",
    supervised=False,
    direct=False,
    **extra,
) -> int:
    """A hazard of ``building`` with its birth event, written directly; returns its id."""
    with app.app_context():
        creator = db.session.scalar(select(User).where(User.role == "inspector").limit(1))
        today: date = local_today()
        hazard = Hazard(
            building_id=building.id,
            category=category,
            severity=severity,
            gb35181_direct=direct,
            description=description,
            status=status,
            deadline=None if deadline_in_days is None else today + timedelta(days=deadline_in_days),
            supervised_at=datetime.now(UTC) if supervised else None,
            created_by_id=creator.id if creator else None,
            **extra,
        )
        db.session.add(hazard)
        db.session.flush()
        db.session.add(
            HazardEvent(
                hazard_id=hazard.id,
                actor_id=creator.id if creator else None,
                action="created",
                to_status=status,
            )
        )
        db.session.commit()
        return hazard.id


def token_of(app, building) -> str:
    with app.app_context():
        return db.session.get(Building, building.id).qr_token


def zbar(path) -> list[str]:
    """The QR payloads a real decoder (zbarimg, Debian's zbar-tools) reads from an image."""
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in out.stdout.splitlines() if line]


_CSRF = re.compile(r'name="([a-z]*-?csrf_token)"[^>]*value="([^"]+)"')


def form_token(html: str, name: str = "csrf_token") -> str:
    """The value of the CSRF field ``name`` (``confirm-csrf_token`` for a prefixed form)."""
    for field, value in _CSRF.findall(html):
        if field == name:
            return value
    raise AssertionError(f"no {name} in page")
