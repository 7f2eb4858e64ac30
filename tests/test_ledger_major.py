"""Suspected major fire hazards (疑似重大火灾隐患): the GB 35181 elements of a building's open
hazards against the versioned counting rules, and the detachment's recorded decision."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, true

from inspect_app import major_hazards
from inspect_app.db import db
from inspect_app.models import (
    Building,
    ChecklistItem,
    Hazard,
    MajorHazardReview,
    Supervision,
)

from .conftest import csrf_from, login

# Distinct composite elements of the shipped catalog, in the order the tests add them.
OTHER = ["FAC-01", "FAC-05", "FAC-10", "FAC-14", "LIFE-01", "LIFE-03", "LIFE-06"]
PEOPLE_DENSE = ["LIFE-06", "LIFE-07", "FAC-10"]  # 7.3.3, 7.3.7, 7.5: rule a's subset


def add(app, building, code, **kw) -> int:
    with app.app_context():
        item = db.session.scalar(select(ChecklistItem).where(ChecklistItem.code == code))
        h = Hazard(
            building_id=building.id,
            item_id=item.id,
            category=item.category,
            severity=kw.pop("severity", "general"),
            gb35181_direct=item.gb35181_direct,
            description=item.text_zh[:40],
            status=kw.pop("status", "open"),
            deadline=date.today() + timedelta(days=20),
            **kw,
        )
        db.session.add(h)
        db.session.commit()
        return h.id


def assess(app, building):
    with app.app_context():
        return major_hazards.assess_building(db.session, db.session.get(Building, building.id))


@pytest.fixture
def site(app, district, checklist):
    return {**district, "building": district["buildings"]["S1G2"]}


def test_other_places_need_six_distinct_elements(app, site):
    b = site["building"]
    for code in OTHER[:5]:
        add(app, b, code)
    add(app, b, "FAC-02")  # 7.4.3 again: one element counts once
    a = assess(app, b)
    assert a.places == {"other"} and not a.suspected and len(a.composite) == 5
    add(app, b, "LIFE-03")
    a = assess(app, b)
    assert a.flagged and [rule.code for rule, _ in a.met] == ["d"]
    assert a.element_codes == {"7.4.3", "7.4.2", "7.5", "7.3.6", "7.1.1", "7.3.11"}
    assert len(next(e for e in a.composite if e.code == "7.4.3").hazard_ids) == 2
    # Closed or fixed-on-the-spot hazards do not count.
    with app.app_context():
        h = db.session.scalar(select(Hazard).order_by(Hazard.id.desc()))
        h.status = "closed"
        db.session.commit()
    assert not assess(app, b).suspected


def test_people_dense_places_use_the_subset_rule(app, site, make):
    grid = site["areas"]["S1G2"]
    mall = make.building(grid, use="public", has_assembly_occupancy=True)
    flat = make.building(grid)
    for code in PEOPLE_DENSE:
        add(app, mall, code)
        add(app, flat, code)
    a = assess(app, mall)
    assert a.places == {"people_dense"} and [r.code for r, _ in a.met] == ["a"]
    assert not assess(app, flat).suspected
    # Rule c: any four elements in a people-dense place.
    other = make.building(grid, use="public", has_assembly_occupancy=True)
    for code in OTHER[:4]:
        add(app, other, code)
    assert [r.code for r, _ in assess(app, other).met] == ["c"]
    direct = make.building(grid)
    add(app, direct, "ELEC-10", severity="major")
    # The list narrows buildings down in SQL first: the same ones come out.
    with app.app_context():
        listed = major_hazards.flagged_buildings(db.session, true())
        assert {b.id for b, _a in listed} == {mall.id, other.id, direct.id}
        assert listed[0][0].id == direct.id  # direct elements first


def test_a_direct_element_flags_the_building_by_itself(app, site):
    add(app, site["building"], "ELEC-10", severity="major")
    a = assess(app, site["building"])
    assert a.flagged and [e.code for e in a.direct] == ["6.2、6.8"] and not a.met


def test_dismissal_covers_the_elements_seen_and_a_new_one_raises_the_flag(app, client, site):
    b = site["building"]
    for code in OTHER[:6]:
        add(app, b, code)
    login(client, "fire")
    assert b.name in client.get("/ledger/suspected").get_data(as_text=True)
    code = client.get(f"/api/v1/buildings/{b.code}").get_json()
    assert code["colour"] == "red" and code["suspected_major"]["flagged"]
    assert any("疑似重大火灾隐患" in r for r in code["reasons"])
    url = f"/buildings/{b.id}/plan"
    page = client.get(url).get_data(as_text=True)
    assert "疑似重大火灾隐患，待消防救援机构判定" in page and "2025-11-01" in page
    elements = ",".join(sorted(assess(app, b).element_codes))
    r = client.post(
        f"/buildings/{b.id}/major-review/dismiss",
        data={
            "dismiss-csrf_token": csrf_from(client, url),
            "dismiss-elements": elements,
            "dismiss-note": "经集体讨论，消火栓系统已临时恢复供水，不构成重大火灾隐患",
        },
    )
    assert r.status_code == 302
    with app.app_context():
        review = db.session.scalar(select(MajorHazardReview))
        assert review.decision == "dismissed" and review.ruleset == "GB35181-2017"
        assert set(review.elements) == set(elements.split(","))
    a = assess(app, b)
    assert a.suspected and a.dismissed and not a.flagged
    assert b.name not in client.get("/ledger/suspected").get_data(as_text=True)
    code = client.get(f"/api/v1/buildings/{b.code}").get_json()
    assert code["colour"] == "yellow" and code["suspected_major"]["dismissed"]
    add(app, b, OTHER[6])  # a seventh element nobody judged yet
    assert assess(app, b).flagged
    assert client.get(f"/api/v1/buildings/{b.code}").get_json()["colour"] == "red"


def test_confirmation_lists_the_flagged_hazards_for_supervision(app, client, site):
    b = site["building"]
    ids = [add(app, b, code) for code in OTHER[:6]]
    unrelated = add(app, b, "MGMT-01") if _has(app, "MGMT-01") else None
    login(client, "fire")
    url = f"/buildings/{b.id}/plan"
    elements = ",".join(sorted(assess(app, b).element_codes))
    form = {
        "confirm-csrf_token": csrf_from(client, url),
        "confirm-elements": elements,
        "confirm-note": "经大队集体讨论（5人），判定为重大火灾隐患",
        "confirm-issues": "消防设施多项不能正常使用",
        "confirm-plan": "全面修复消防设施",
        "confirm-responsible_person": "赵六",
        "confirm-deadline": (date.today() + timedelta(days=60)).isoformat(),
        "confirm-report_by": (date.today() + timedelta(days=15)).isoformat(),
    }
    stale = {**form, "confirm-elements": "7.4.3"}
    r = client.post(f"/buildings/{b.id}/major-review/confirm", data=stale)
    assert r.status_code == 409 and "判定要素已发生变化" in r.get_data(as_text=True)
    r = client.post(f"/buildings/{b.id}/major-review/confirm", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with app.app_context():
        s = db.session.scalar(select(Supervision))
        assert s.source == "suspected_major" and sorted(h.id for h in s.hazards) == sorted(ids)
        if unrelated is not None:
            assert db.session.get(Hazard, unrelated).supervised_at is None
        review = db.session.scalar(select(MajorHazardReview))
        assert review.decision == "confirmed" and review.supervision_id == s.id
        assert sorted(review.hazard_ids) == sorted(ids)


def _has(app, code) -> bool:
    with app.app_context():
        return (
            db.session.scalar(select(ChecklistItem.id).where(ChecklistItem.code == code))
            is not None
        )


def test_only_the_detachment_decides(app, client, site):
    b = site["building"]
    for code in OTHER[:6]:
        add(app, b, code)
    login(client, "street")
    page = client.get(f"/buildings/{b.id}/plan").get_data(as_text=True)
    assert "疑似重大火灾隐患" in page and "记录排除" not in page
    r = client.post(
        f"/buildings/{b.id}/major-review/dismiss",
        data={
            "dismiss-csrf_token": csrf_from(client, "/"),
            "dismiss-elements": "7.4.3",
            "dismiss-note": "x",
        },
    )
    assert r.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MajorHazardReview)) == 0


def test_nothing_to_decide_is_a_conflict(app, client, site):
    b = site["building"]
    login(client, "fire")
    r = client.post(
        f"/buildings/{b.id}/major-review/dismiss",
        data={
            "dismiss-csrf_token": csrf_from(client, "/"),
            "dismiss-elements": "7.4.3",
            "dismiss-note": "无",
        },
    )
    assert r.status_code == 409 and "未被标记" in r.get_data(as_text=True)


def test_the_rule_file_is_checked(tmp_path):
    good = (Path(major_hazards.RULES_PATH)).read_text(encoding="utf-8")
    sets, active = major_hazards.load_rulesets()
    assert active == "GB35181-2017" and sets[active].status == "superseded"
    assert "2025" in sets[active].caveat_zh
    for broken, message in (
        (good.replace('active = "GB35181-2017"', 'active = "GB35181-2031"'), "not defined"),
        (good.replace('"7.3.1", "7.3.2"', '"7.3.1", "9.9.9"'), "not a GB 35181-2017"),
        (good.replace("min = 6", "min = 0"), "positive integer"),
        (good.replace('places = ["other"]', 'places = ["moon_base"]'), "unknown place"),
        (
            good.replace('people_dense = "has_assembly_occupancy"', 'people_dense = "has_helipad"'),
            "unknown building flag",
        ),
    ):
        path = tmp_path / "rules.toml"
        path.write_text(broken, encoding="utf-8")
        with pytest.raises(major_hazards.RulesError, match=message):
            major_hazards.load_rulesets(path)
