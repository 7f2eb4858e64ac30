"""The inspector's home puts the work still to do first."""

import uuid
from datetime import UTC, datetime, timedelta

from inspect_app.codes import local_today
from inspect_app.db import db
from inspect_app.models import Campaign, Inspection

from .conftest import login


def test_buildings_not_inspected_in_the_running_campaign_come_first(app, client, make, checklist):
    d = make.area("D", "district")
    grid = make.area("G", "grid", d)
    done = make.building(grid, code="A-1", name="本次已检查")
    before = make.building(grid, code="A-2", name="行动前检查")
    never = make.building(grid, code="A-3", name="从未检查")
    inspector = make.user("inspector", "inspector", grid)
    with app.app_context():
        today = local_today()
        db.session.add(
            Campaign(
                name="专项行动", area_id=d.id, checklist_id=checklist.id,
                starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=30),
            )
        )
        now = datetime.now(UTC)
        for building, when in ((done, now - timedelta(days=2)), (before, now - timedelta(days=60))):
            db.session.add(
                Inspection(
                    client_uuid=str(uuid.uuid4()), kind="survey", building_id=building.id,
                    checklist_id=checklist.id, inspector_id=inspector.id,
                    started_at=when, submitted_at=when,
                )
            )
        db.session.commit()
    login(client, "inspector")
    html = client.get("/").get_data(as_text=True)
    assert "专项行动" in html
    positions = [html.index(name) for name in ("行动前检查", "从未检查", "本次已检查")]
    assert positions == sorted(positions)
    assert never.name in html
