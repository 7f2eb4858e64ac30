"""Campaigns: definition through the form (the 2023 seed's phases and deadlines), the current
phase, bad dates that save nothing, who may do what, the acceptance round (逐栋验收) and the
supervision candidates (挂牌督办候选) with their one-action listing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import product

import pytest
from sqlalchemy import func, select, true

from inspect_app import acceptances, campaigns, candidates
from inspect_app.classification import is_high_rise
from inspect_app.codes import local_today
from inspect_app.db import db
from inspect_app.hazards import default_deadline
from inspect_app.models import (
    Acceptance,
    Area,
    Building,
    Campaign,
    ChecklistItem,
    Hazard,
    Supervision,
)

from .conftest import csrf_from, login
from .oversight_helpers import TZ, add_hazard, add_inspection, at, make_campaign


def today_of(app) -> date:
    with app.app_context():
        return local_today()


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def seed_form(district, checklist, **overrides) -> dict:
    """What the new-campaign form posts for the 2023 plan (phases and water deadline)."""
    data = {
        "name": "2023年高层建筑消防安全“除险清患”专项行动",
        "area": str(district.id),
        "checklist": str(checklist.id),
        "starts_on": "2023-03-15",
        "ends_on": "2023-12-31",
        "phases-0-name": "动员部署",
        "phases-0-code": "mobilise",
        "phases-0-ends_on": "2023-03-20",
        "phases-1-name": "全面排查",
        "phases-1-code": "survey",
        "phases-1-ends_on": "2023-04-30",
        "phases-2-name": "整治攻坚",
        "phases-2-code": "rectify",
        "phases-2-ends_on": "2023-11-30",
        "phases-3-name": "巩固提升",
        "phases-3-code": "consolidate",
        "phases-3-ends_on": "2023-12-31",
        "deadlines-0-group": "water",
        "deadlines-0-due_on": "2023-12-20",
        "validity_days": "180",
        "sample_rate_public": "10",
        "sample_rate_residential": "5",
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------------------------------------
# Definition
# ---------------------------------------------------------------------------------------------


def test_new_campaign_form_starts_from_the_seed_and_saves_it(app, client, district, checklist):
    login(client, "fire")
    page = client.get("/campaigns/new").get_data(as_text=True)
    year = today_of(app).year
    assert f'value="{year}-04-30"' in page and f'value="{year}-12-20"' in page
    assert 'value="10.0"' in page and 'value="5.0"' in page
    response = client.post(
        "/campaigns/new",
        data={
            "csrf_token": csrf_from(client, "/campaigns/new"),
            **seed_form(district["areas"]["D"], checklist),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert campaign.phases == campaigns.seed_phases(2023)
        assert campaign.category_deadlines == {"water": "2023-12-20"}
        assert campaign.sample_rate_public == Decimal("0.100")
        assert campaign.sample_rate_residential == Decimal("0.050")
        assert campaign.validity_days == 180
        # The water group's deadline reaches new hazards of water-supply items.
        item = next(
            i for i in db.session.scalars(select(ChecklistItem)) if "water" in (i.tags or ())
        )
        due = default_deadline(item, "general", today=date(2023, 6, 1), campaign=campaign)
        assert due == date(2023, 12, 20)
    show = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "全面排查" in show and "2023-03-21 — 2023-04-30" in show
    assert "消防给水（供水问题）" in show and "2023-12-20" in show


def test_phases_dates_and_the_current_phase():
    campaign = Campaign(
        starts_on=date(2023, 3, 15), ends_on=date(2023, 12, 31), phases=campaigns.seed_phases(2023)
    )
    phases = campaigns.phases(campaign)
    assert [(p.starts_on, p.ends_on) for p in phases] == [
        (date(2023, 3, 15), date(2023, 3, 20)),
        (date(2023, 3, 21), date(2023, 4, 30)),
        (date(2023, 5, 1), date(2023, 11, 30)),
        (date(2023, 12, 1), date(2023, 12, 31)),
    ]
    assert campaigns.current_phase(campaign, date(2023, 3, 14)) is None
    assert campaigns.current_phase(campaign, date(2023, 3, 20)).code == "mobilise"
    assert campaigns.current_phase(campaign, date(2023, 3, 21)).code == "survey"
    assert campaigns.current_phase(campaign, date(2023, 12, 31)).code == "consolidate"
    assert campaigns.current_phase(campaign, date(2024, 1, 1)) is None
    survey = phases[1]
    assert survey.days == 41 and survey.days_left(date(2023, 4, 30)) == 1
    assert survey.elapsed(date(2023, 3, 21)) == pytest.approx(1 / 41)
    assert survey.elapsed(date(2023, 5, 3)) == 1.0 and survey.elapsed(date(2023, 1, 1)) == 0.0


BAD_INPUT = [
    ({"phases-1-ends_on": "2023-03-18"}, "phases-1-ends_on", "阶段日期重叠或颠倒"),
    ({"phases-2-ends_on": "2023-04-30"}, "phases-2-ends_on", "阶段日期重叠或颠倒"),
    ({"ends_on": "2023-03-01"}, "ends_on", "结束日期不能早于开始日期"),
    ({"phases-0-ends_on": "2023-03-01"}, "phases-0-ends_on", "早于专项行动开始日期"),
    ({"phases-3-ends_on": "2024-01-10"}, "phases-3-ends_on", "晚于专项行动结束日期"),
    ({"phases-3-ends_on": "2023-12-30"}, "phases-3-ends_on", "最后一个阶段应在专项行动结束日期"),
    ({"phases-2-name": ""}, "phases-2-name", "请填写第 3 个阶段的名称"),
    ({"deadlines-0-due_on": "2024-02-01"}, "deadlines-0-due_on", "不在专项行动期间"),
    ({"deadlines-0-group": "NOPE"}, "deadlines-0-group", "检查表中没有该类别"),
    ({"sample_rate_public": "0"}, "sample_rate_public", "抽查比例应在"),
    ({"sample_rate_residential": "12.25"}, "sample_rate_residential", "最多保留一位小数"),
    ({"validity_days": "0"}, "validity_days", "安全码有效期应在 1 到 3650 天之间"),
    ({"starts_on": "2023-02-30"}, "starts_on", "日期格式应为 年-月-日"),
    ({"starts_on": ""}, "starts_on", "请填写开始日期"),
]


def test_bad_dates_and_values_are_clear_and_save_nothing(app, client, district, checklist):
    login(client, "fire")
    for overrides, field, message in BAD_INPUT:
        data = seed_form(district["areas"]["D"], checklist, **overrides)
        response = client.post(
            "/campaigns/new", data={"csrf_token": csrf_from(client, "/campaigns/new"), **data}
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 422, overrides
        assert message in html, (overrides, message)
        assert f'id="{field}"' in html and "请修改标红的内容" in html
        assert count(app, Campaign) == 0, overrides


def test_no_phase_at_all_is_refused():
    data = campaigns.CampaignInput(
        name="x",
        area=None,
        checklist=None,
        starts_on=date(2023, 1, 1),
        ends_on=date(2023, 2, 1),
        validity_days=10,
        sample_rate_public=Decimal("0.1"),
        sample_rate_residential=Decimal("0.05"),
    )
    with pytest.raises(campaigns.CampaignInvalid) as err:
        campaigns.check(data, {})
    assert "请至少填写一个阶段（名称和截止日期）" in err.value.errors["phases"]
    assert "area" in err.value.errors and "checklist" in err.value.errors


def test_edit_keeps_phases_and_area_is_fixed_once_spot_checks_exist(
    app, client, district, checklist
):
    d = district["areas"]["D"]
    campaign_id = make_campaign(
        app,
        d,
        checklist,
        starts=date(2023, 3, 15),
        ends=date(2023, 12, 31),
        phases=campaigns.seed_phases(2023),
    )
    login(client, "fire")
    url = f"/campaigns/{campaign_id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'value="2023-11-30"' in page
    data = seed_form(d, checklist, name="改名后的专项行动", **{"phases-2-ends_on": "2023-10-31"})
    response = client.post(url, data={"csrf_token": csrf_from(client, url), **data})
    assert response.status_code == 302
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert campaign.name == "改名后的专项行动"
        assert campaign.phases[2]["ends_on"] == "2023-10-31"
        from inspect_app.models import SpotCheck

        db.session.add(
            SpotCheck(
                campaign_id=campaign_id,
                area_id=district["areas"]["S1"].id,
                seed="1",
                algorithm="x",
                rate_public=Decimal("0.1"),
                rate_residential=Decimal("0.05"),
                population={},
                population_sha256="0" * 64,
                sample={},
                team="t",
                drawn_by="t",
            )
        )
        db.session.commit()
    data = seed_form(district["areas"]["S1"], checklist)
    response = client.post(url, data={"csrf_token": csrf_from(client, url), **data})
    assert response.status_code == 422
    assert "范围（区域）不能再修改" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Campaign, campaign_id).area_id == d.id


def test_who_may_define_see_and_edit(app, client, make, district, checklist):
    d = district["areas"]["D"]
    campaign_id = make_campaign(
        app, d, checklist, starts=date(2023, 3, 15), ends=date(2023, 12, 31)
    )
    other = make.area("OTHER", "district", name="外区")
    far_id = make_campaign(app, other, checklist, starts=date(2023, 3, 15), ends=date(2023, 12, 31))
    make.user("fire_s1", "fire", district["areas"]["S1"])
    for username, new, show, edit, far in (
        ("fire", 200, 200, 200, 404),
        ("admin", 200, 200, 200, 404),
        ("street", 403, 200, 403, 404),
        ("fire_s1", 200, 200, 403, 404),  # a street-level detachment sees, cannot edit
        ("inspector", 403, 403, 403, 403),
        ("manager", 403, 403, 403, 403),
    ):
        login(client, username)
        assert client.get("/campaigns/new").status_code == new, username
        assert client.get(f"/campaigns/{campaign_id}").status_code == show, username
        assert client.get(f"/campaigns/{campaign_id}/edit").status_code == edit, username
        assert client.get(f"/campaigns/{far_id}").status_code == far, username
        client.post(
            "/logout",
            data={
                "csrf_token": csrf_from(client, "/campaigns")
                if show == 200
                else csrf_from(client, "/")
            },
        )


def test_street_cannot_create_a_campaign_outside_its_subtree(app, client, district, checklist):
    make_fire = district["users"]["fire"]
    assert make_fire.role == "fire"
    login(client, "fire")
    # An area id outside the choices (not in the user's subtree) is refused like a blank one.
    data = seed_form(district["areas"]["D"], checklist, area="999999")
    response = client.post(
        "/campaigns/new", data={"csrf_token": csrf_from(client, "/campaigns/new"), **data}
    )
    assert response.status_code == 422
    assert "请选择专项行动的范围" in response.get_data(as_text=True)
    assert count(app, Campaign) == 0


def test_high_rise_condition_agrees_with_the_classification(app, make):
    d = make.area("D", "district")
    cases = list(
        product(
            ("residential", "public", "mixed"),
            ("23.9", "24", "24.01", "27", "27.01", "60"),
            (1, 2, 9),
        )
    )
    ids = {}
    for use, height, storeys in cases:
        b = make.building(d, use=use, height_m=Decimal(height), storeys=storeys)
        ids[b.id] = is_high_rise(use, Decimal(height), storeys)
    with app.app_context():
        found = set(db.session.scalars(select(Building.id).where(campaigns.high_rise_condition())))
    assert found == {i for i, high in ids.items() if high}


# ---------------------------------------------------------------------------------------------
# Acceptance round (逐栋验收)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def running(app, district, checklist):
    """A campaign over the district from 60 days ago to 60 days from now."""
    today = today_of(app)
    campaign_id = make_campaign(
        app,
        district["areas"]["D"],
        checklist,
        starts=today - timedelta(days=60),
        ends=today + timedelta(days=60),
    )
    return dict(campaign_id=campaign_id, today=today, **district)


def _verdict(client, campaign_id, building_id, inspection_id, note="复查"):
    url = f"/campaigns/{campaign_id}/acceptance"
    return client.post(
        f"{url}/{building_id}",
        data={"csrf_token": csrf_from(client, url), "inspection": str(inspection_id), "note": note},
    )


def test_acceptance_passes_only_when_every_hazard_is_closed(app, client, running):
    campaign_id, today = running["campaign_id"], running["today"]
    b = running["buildings"]["S1G1"].id
    hazard = add_hazard(
        app,
        b,
        created=at(today - timedelta(days=30)),
        status="submitted",
        deadline=today + timedelta(days=5),
    )
    add_hazard(app, b, created=at(today - timedelta(days=40)), status="closed")
    first = add_inspection(app, b, kind="acceptance", when=at(today - timedelta(days=2)))
    login(client, "fire")
    page = client.get(f"/campaigns/{campaign_id}/acceptance").get_data(as_text=True)
    assert "记录验收结论" in page and "待出验收结论" in page
    response = _verdict(client, campaign_id, b, first)
    assert response.status_code == 302
    assert "验收不合格" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        verdict = db.session.scalar(select(Acceptance))
        assert verdict.passed is False and verdict.unclosed_hazard_ids == [hazard]
        assert verdict.campaign_id == campaign_id and verdict.note == "复查"
    # The same inspection cannot get a second verdict: a new acceptance inspection is needed.
    again = _verdict(client, campaign_id, b, first)
    assert again.status_code == 422
    assert "没有待出结论的验收检查" in again.get_data(as_text=True)
    page = client.get(f"/campaigns/{campaign_id}/acceptance?standing=tracked")
    assert "验收不合格，跟踪督办" in page.get_data(as_text=True)
    # Rectified and accepted (销号), then inspected again: it passes and leaves tracking.
    with app.app_context():
        row = db.session.get(Hazard, hazard)
        row.status = "closed"
        db.session.commit()
    second = add_inspection(app, b, kind="acceptance", when=at(today))
    assert _verdict(client, campaign_id, b, second).status_code == 302
    with app.app_context():
        verdicts = db.session.scalars(select(Acceptance).order_by(Acceptance.id)).all()
        assert [v.passed for v in verdicts] == [False, True]
        assert verdicts[1].unclosed_hazard_ids == []


def test_acceptance_needs_an_acceptance_inspection_and_a_permitted_role(app, client, running):
    campaign_id, today = running["campaign_id"], running["today"]
    b = running["buildings"]["S1G1"].id
    survey = add_inspection(app, b, kind="survey", when=at(today))
    login(client, "fire")
    response = _verdict(client, campaign_id, b, survey)
    assert response.status_code == 422
    assert "没有待出结论的验收检查" in response.get_data(as_text=True)
    assert count(app, Acceptance) == 0
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "admin")
    url = f"/campaigns/{campaign_id}/acceptance"
    assert client.get(url).status_code == 200
    token = csrf_from(client, "/")
    response = client.post(f"{url}/{b}", data={"csrf_token": token, "inspection": str(survey)})
    assert response.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(client, "street")
    # A building of another street is outside the street office's scope.
    other = running["buildings"]["S2G1"].id
    inspection = add_inspection(app, other, kind="acceptance", when=at(today))
    assert _verdict(client, campaign_id, other, inspection).status_code == 404


def test_acceptance_standings_count_every_building_once(app, running):
    campaign_id, today = running["campaign_id"], running["today"]
    bs = running["buildings"]
    add_hazard(app, bs["S1G1"].id, created=at(today - timedelta(days=3)))
    add_inspection(app, bs["S1G2"].id, kind="acceptance", when=at(today - timedelta(days=1)))
    with app.app_context():
        # The fixture keeps the second building of each grid; survey one of the others.
        surveyed = db.session.scalar(
            select(Building.id).where(Building.id.not_in([b.id for b in bs.values()])).limit(1)
        )
    add_inspection(app, surveyed, kind="survey", when=at(today - timedelta(days=4)))
    verdicts = {}
    for code, passed in (("S2G1", False), ("S2G2", True)):
        inspection = add_inspection(
            app, bs[code].id, kind="acceptance", when=at(today - timedelta(days=2))
        )
        verdicts[code] = (inspection, passed)
    with app.app_context():
        fire = running["users"]["fire"].id
        for code, (inspection, passed) in verdicts.items():
            db.session.add(
                Acceptance(
                    building_id=bs[code].id,
                    campaign_id=campaign_id,
                    inspection_id=inspection,
                    passed=passed,
                    decided_by_id=fire,
                )
            )
        db.session.commit()
        campaign = db.session.get(Campaign, campaign_id)
        node = db.session.get(Area, running["areas"]["D"].id)
        items = acceptances.standings(
            db.session,
            campaign,
            node,
            scope=true(),
            tz=TZ,
        )
        tally = acceptances.tally(items)
        total = db.session.scalar(select(func.count(Building.id)))
        # The dashboard's count, made without loading every building, agrees.
        assert acceptances.tally_for(db.session, campaign, node, scope=true(), tz=TZ) == tally
    assert sum(tally.values()) == len(items) == total
    by_id = {s.building_id: s.standing for s in items}
    assert by_id[bs["S1G1"].id] == "rectifying" and by_id[bs["S1G2"].id] == "awaiting"
    assert by_id[bs["S2G1"].id] == "tracked" and by_id[bs["S2G2"].id] == "passed"
    assert by_id[surveyed] == "ready"  # inspected, nothing unclosed
    assert tally["ready"] == 1 and tally["uninspected"] == total - 5


# ---------------------------------------------------------------------------------------------
# Supervision candidates (挂牌督办候选)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def candidates_site(app, running):
    today = running["today"]
    bs = running["buildings"]
    item = "LIFE-01"
    h = {
        "major": add_hazard(
            app,
            bs["S1G1"].id,
            created=at(today - timedelta(days=10)),
            severity="major",
            deadline=today + timedelta(days=20),
        ),
        "overdue": add_hazard(
            app,
            bs["S1G2"].id,
            created=at(today - timedelta(days=50)),
            deadline=today - timedelta(days=31),
        ),
        "late_but_recent": add_hazard(
            app,
            bs["S1G2"].id,
            created=at(today - timedelta(days=20)),
            deadline=today - timedelta(days=5),
        ),
        "rejected": add_hazard(
            app,
            bs["S2G1"].id,
            created=at(today - timedelta(days=20)),
            status="submitted",
            deadline=today + timedelta(days=9),
            rejections=2,
        ),
        "rejected_once": add_hazard(
            app,
            bs["S2G1"].id,
            created=at(today - timedelta(days=20)),
            deadline=today + timedelta(days=9),
            rejections=1,
        ),
        "closed_before": add_hazard(
            app,
            bs["S2G2"].id,
            created=at(today - timedelta(days=40)),
            status="closed",
            closed=at(today - timedelta(days=30)),
            item_code=item,
        ),
        "rebound": add_hazard(
            app,
            bs["S2G2"].id,
            created=at(today - timedelta(days=5)),
            deadline=today + timedelta(days=20),
            item_code=item,
        ),
        "already": add_hazard(
            app,
            bs["S1G1"].id,
            created=at(today - timedelta(days=10)),
            severity="major",
            supervised=at(today - timedelta(days=1)),
        ),
    }
    return dict(running, hazards=h)


def test_candidates_meet_the_criteria_and_nothing_else(app, client, candidates_site):
    site = candidates_site
    h = site["hazards"]
    with app.app_context():
        campaign = db.session.get(Campaign, site["campaign_id"])
        node = db.session.get(Area, site["areas"]["D"].id)
        found = candidates.find(
            db.session,
            campaign,
            node,
            scope=true(),
            today=site["today"],
            overdue_days=30,
            rebound_days=90,
        )
        reasons = {c.hazard.id: c.reasons for b in found for c in b.hazards}
        wider = candidates.find(
            db.session,
            campaign,
            node,
            scope=true(),
            today=site["today"],
            overdue_days=3,
            rebound_days=90,
        )
        wider_ids = {c.hazard.id for b in wider for c in b.hazards}
    assert reasons == {
        h["major"]: ["major"],
        h["overdue"]: ["overdue"],
        h["rejected"]: ["rejected"],
        h["rebound"]: ["rebound"],
    }
    assert h["late_but_recent"] in wider_ids  # 5 days late counts when N is 3
    login(client, "street")
    page = client.get(f"/campaigns/{site['campaign_id']}/candidates").get_data(as_text=True)
    assert "重大火灾隐患" in page
    assert "将勾选的隐患列入挂牌督办" not in page  # the street office sees, does not list
    assert "验收多次不合格" not in page  # S2's hazard is outside the street office's scope
    bad = client.get(f"/campaigns/{site['campaign_id']}/candidates?overdue_days=-1")
    assert bad.status_code == 400 and "超期天数应在 0 到 365 之间" in bad.get_data(as_text=True)


def test_one_action_lists_the_checked_candidates_for_supervision(app, client, candidates_site):
    site = candidates_site
    h = site["hazards"]
    url = f"/campaigns/{site['campaign_id']}/candidates"
    login(client, "fire")
    page = client.get(url).get_data(as_text=True)
    assert page.count('type="checkbox"') == 4 and "checked" in page
    chosen = [f"{h['major']}:1", f"{h['overdue']}:1", f"{h['rebound']}:1"]
    response = client.post(url, data={"csrf_token": csrf_from(client, url), "hazards": chosen})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        listings = db.session.scalars(select(Supervision).order_by(Supervision.id)).all()
        assert len(listings) == 3  # one per building
        for s in listings:
            assert s.status == "active" and s.responsible_person and s.report_by <= s.deadline
        listed = {x.id for s in listings for x in s.hazards}
        assert listed == {h["major"], h["overdue"], h["rebound"]}
        assert all(db.session.get(Hazard, i).supervised_at is not None for i in listed)
    page = client.get(url).get_data(as_text=True)
    assert page.count('type="checkbox"') == 1  # only the unlisted one is left


def test_stale_or_foreign_choices_list_nothing(app, client, make, candidates_site):
    site = candidates_site
    h = site["hazards"]
    url = f"/campaigns/{site['campaign_id']}/candidates"
    login(client, "fire")
    with app.app_context():
        row = db.session.get(Hazard, h["overdue"])
        row.measures = "已更新"  # someone acted: the version moves on
        db.session.commit()
    chosen = [f"{h['major']}:1", f"{h['overdue']}:1"]
    response = client.post(url, data={"csrf_token": csrf_from(client, url), "hazards": chosen})
    assert response.status_code == 409
    assert "已被他人更新" in response.get_data(as_text=True)
    assert count(app, Supervision) == 0
    with app.app_context():
        assert db.session.get(Hazard, h["major"]).supervised_at is None
    response = client.post(url, data={"csrf_token": csrf_from(client, url), "hazards": ["x:y"]})
    assert response.status_code == 422 and count(app, Supervision) == 0
    response = client.post(url, data={"csrf_token": csrf_from(client, url)})
    assert response.status_code == 422
    assert "请至少勾选一项隐患" in response.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "street")
    token = csrf_from(client, url)
    response = client.post(url, data={"csrf_token": token, "hazards": [f"{h['major']}:1"]})
    assert response.status_code == 403 and count(app, Supervision) == 0
