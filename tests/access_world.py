"""A generated district with one object of every kind a URL names, in scope and out of scope.

``build_world(make, district)`` adds, next to the ``district`` fixture's tree, a separate
district ``X`` that no test user can see, and in both places one building, hazard, inspection,
photo, report, proposed change, campaign, spot-check draw, supervision, webhook (with a
delivery), API token and user. The in-scope building is ``district["buildings"]["S1G1"]``,
which every role sees: the manager is made manager of it too.

``World.value(arg, role, inside)`` answers the value of a URL argument (``building_id``,
``hazard_id`` …) for a role, inside or outside the role's scope.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from PIL import Image

from inspect_app.db import db
from inspect_app.models import (
    ApiToken,
    Building,
    BuildingChange,
    Campaign,
    Hazard,
    Inspection,
    Notification,
    Photo,
    Report,
    SpotCheck,
    Supervision,
    User,
    Webhook,
    WebhookDelivery,
)
from inspect_app.photo_stores import store_from_config

ROLES = ("inspector", "manager", "street", "fire", "admin")


@dataclass
class World:
    district: dict
    inside: dict[str, object] = field(default_factory=dict)
    outside: dict[str, object] = field(default_factory=dict)

    def value(self, arg: str, role: str | None, inside: bool):
        """The URL value of ``arg`` for ``role``: a per-role dict picks the role's own object."""
        table = self.inside if inside else self.outside
        if arg not in table:
            raise KeyError(arg)
        value = table[arg]
        if isinstance(value, dict):
            return value[role or "admin"]
        return value


def _jpeg() -> tuple[bytes, bytes]:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "JPEG")
    data = buf.getvalue()
    return data, data


def _objects(app, building: Building, area_id: int, street_id: int, user: User, tag: str):
    """One of each object on ``building`` (in area ``area_id``), owned/proposed by ``user``."""
    from inspect_app.models import Checklist

    s = db.session
    checklist = s.scalar(db.select(Checklist).limit(1))
    today = date.today()
    campaign = Campaign(
        name=f"专项{tag}",
        area_id=area_id,
        checklist_id=checklist.id,
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=50),
    )
    s.add(campaign)
    s.flush()
    inspection = Inspection(
        client_uuid=str(uuid.uuid4()),
        kind="survey",
        building_id=building.id,
        checklist_id=checklist.id,
        inspector_id=user.id,
        started_at=datetime.now(UTC) - timedelta(hours=1),
    )
    hazard = Hazard(
        building_id=building.id,
        category="facility",
        severity="general",
        description="消防通道堆放杂物",
        deadline=today + timedelta(days=30),
        created_by_id=user.id,
    )
    report = Report(building_id=building.id, description="楼道堆物")
    change = BuildingChange(
        building_id=building.id, proposed_by_id=user.id, changes={"storeys": {"from": 18, "to": 19}}
    )
    supervision = Supervision(
        building_id=building.id,
        issues="问题",
        plan="方案",
        responsible_person="张三",
        deadline=today + timedelta(days=30),
        report_by=today + timedelta(days=7),
        created_by_id=user.id,
    )
    spot = SpotCheck(
        campaign_id=campaign.id,
        area_id=street_id,
        seed="20260314",
        algorithm="sha256-rank-v1",
        rate_public=Decimal("0.1"),
        rate_residential=Decimal("0.05"),
        population={"public": [], "residential": [building.id]},
        population_sha256="0" * 64,
        sample={"public": [], "residential": [building.id]},
        team="抽查组",
        drawn_by="测试",
    )
    hook = Webhook(url="https://example.invalid/hook", secret="s" * 32, area_id=area_id)
    s.add_all([inspection, hazard, report, change, supervision, spot, hook])
    s.flush()
    delivery = WebhookDelivery(
        webhook_id=hook.id, event_id=str(uuid.uuid4()), event_type="hazard.created", body="{}"
    )
    data, thumb = _jpeg()
    sha = hashlib.sha256(data + tag.encode()).hexdigest()
    store_from_config(app.config).put(sha, data, thumb)
    photo = Photo(
        sha256=sha,
        width=8,
        height=8,
        size_bytes=len(data),
        hazard_id=hazard.id,
        uploaded_by_id=user.id,
    )
    token = ApiToken(
        user_id=user.id,
        name=f"t{tag}",
        prefix="ia_x",
        token_sha256=hashlib.sha256(tag.encode()).hexdigest(),
    )
    s.add_all([delivery, photo, token])
    s.flush()
    return {
        "building_id": building.id,
        "code": building.code,
        "token": building.qr_token,
        "campaign_id": campaign.id,
        "inspection_id": inspection.id,
        "hazard_id": hazard.id,
        "report_id": report.id,
        "change_id": change.id,
        "supervision_id": supervision.id,
        "spot_check_id": spot.id,
        "webhook_id": hook.id,
        "delivery_id": delivery.id,
        "photo_id": photo.id,
        "token_id": token.id,
        "user_id": user.id,
        "area_id": area_id,
    }


def build_world(app, make, district, checklist) -> World:
    """Objects of every kind inside everyone's scope (``S1G1``) and outside it (district X)."""
    areas = district["areas"]
    x = make.area("X", "district", name="外区")
    xs = make.area("XS", "street", x, name="外街道")
    xg = make.area("XG", "grid", xs, name="外网格")
    outside_building = make.building(xg)
    inside_building = district["buildings"]["S1G1"]
    target = make.user("target", "inspector", areas["S1G1"])
    stranger = make.user("stranger", "inspector", xg)
    world = World(district)
    with app.app_context():
        s = db.session
        manager = s.get(User, district["users"]["manager"].id)
        manager.managed_buildings.append(s.get(Building, inside_building.id))
        world.inside = _objects(
            app,
            s.get(Building, inside_building.id),
            areas["S1G1"].id,
            areas["S1"].id,
            s.get(User, target.id),
            "in",
        )
        world.outside = _objects(
            app,
            s.get(Building, outside_building.id),
            xg.id,
            xs.id,
            s.get(User, stranger.id),
            "out",
        )
        # Campaigns and webhooks over the whole district, so every area role meets them.
        s.get(Campaign, world.inside["campaign_id"]).area_id = areas["D"].id
        s.get(Webhook, world.inside["webhook_id"]).area_id = areas["D"].id
        # Messages: each role's own in scope; someone else's (about an in-scope building)
        # is out of scope.
        own = {}
        for role, user in district["users"].items():
            row = Notification(
                user_id=user.id,
                building_id=inside_building.id,
                kind="hazard_created",
                source=f"own:{role}",
            )
            s.add(row)
            s.flush()
            own[role] = row.id
        other = Notification(
            user_id=target.id,
            building_id=inside_building.id,
            kind="hazard_created",
            source="other",
        )
        s.add(other)
        s.flush()
        world.inside["notification_id"] = own
        world.outside["notification_id"] = other.id
        s.commit()
    return world
