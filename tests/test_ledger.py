"""The ledger's rollups on a generated district equal independent counts written here in SQL;
filters, rebounds, scopes and bad input through the page and the API."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text, true

from inspect_app import ledger
from inspect_app.db import db
from inspect_app.demo import generate
from inspect_app.models import Area, Building, ChecklistItem, Hazard

from .conftest import login

TODAY = date(2026, 11, 20)
TZ = "Asia/Shanghai"
METRICS = ("found", "fixed_on_spot", "open", "overdue", "submitted", "closed", "supervised")

# One independent query: for each area at :level under :root, count straight from the tables
# with a path prefix per area (no group mapping, no CASE in GROUP BY), with optional filters.
RAW = """
SELECT c.code AS code,
  (SELECT count(*) FROM building b JOIN area a ON a.id = b.area_id
    WHERE b.retired_at IS NULL AND a.path LIKE c.path || '%') AS buildings,
  (SELECT count(DISTINCT i.building_id) FROM inspection i
    JOIN building b ON b.id = i.building_id JOIN area a ON a.id = b.area_id
    WHERE b.retired_at IS NULL AND a.path LIKE c.path || '%' {inspection_where}) AS inspected,
  (SELECT count(*) FROM hazard h JOIN building b ON b.id = h.building_id
    JOIN area a ON a.id = b.area_id
    WHERE b.retired_at IS NULL AND a.path LIKE c.path || '%' {hazard_where}) AS found,
  (SELECT count(*) FROM hazard h JOIN building b ON b.id = h.building_id
    JOIN area a ON a.id = b.area_id
    WHERE b.retired_at IS NULL AND a.path LIKE c.path || '%' {hazard_where}
      AND h.status = 'fixed_on_spot') AS fixed_on_spot,
  (SELECT count(*) FROM hazard h JOIN building b ON b.id = h.building_id
    JOIN area a ON a.id = b.area_id
    WHERE b.retired_at IS NULL AND a.path LIKE c.path || '%' {hazard_where}
      AND h.status = 'open') AS open,
  (SELECT count(*) FROM hazard h JOIN building b ON b.id = h.building_id
    JOIN area a ON a.id = b.area_id
    WHERE b.retired_at IS NULL AND a.path LIKE c.path || '%' {hazard_where}
      AND h.status = 'open' AND h.deadline < :today) AS overdue,
  (SELECT count(*) FROM hazard h JOIN building b ON b.id = h.building_id
    JOIN area a ON a.id = b.area_id
    WHERE b.retired_at IS NULL AND a.path LIKE c.path || '%' {hazard_where}
      AND h.status = 'submitted') AS submitted,
  (SELECT count(*) FROM hazard h JOIN building b ON b.id = h.building_id
    JOIN area a ON a.id = b.area_id
    WHERE b.retired_at IS NULL AND a.path LIKE c.path || '%' {hazard_where}
      AND h.status = 'closed') AS closed,
  (SELECT count(*) FROM hazard h JOIN building b ON b.id = h.building_id
    JOIN area a ON a.id = b.area_id
    WHERE b.retired_at IS NULL AND a.path LIKE c.path || '%' {hazard_where}
      AND h.supervised_at IS NOT NULL) AS supervised
FROM area c
WHERE c.level = :level AND c.path LIKE :root || '%'
ORDER BY c.code
"""


def raw_counts(session, root: Area, level: str, *, hazard_where="", inspection_where="", **params):
    sql = RAW.format(hazard_where=hazard_where, inspection_where=inspection_where)
    rows = session.execute(
        text(sql), {"level": level, "root": root.path, "today": TODAY, **params}
    ).mappings()
    return {r["code"]: {k: int(v) for k, v in r.items() if k != "code"} for r in rows}


def as_dicts(rollup):
    return {
        r.code: {k: getattr(r.counts, k) for k in ("buildings", "inspected", *METRICS)}
        for r in rollup.rows
    }


@pytest.fixture
def generated(app):
    """A generated district of 60 buildings with months of history."""
    with app.app_context():
        generate(db.session, buildings=60, seed=11, password="演示 pass 1", today=TODAY)
        db.session.commit()
    return app


def test_rollup_at_every_level_equals_independent_sql(generated):
    with generated.app_context():
        s = db.session
        district = s.scalar(select(Area).where(Area.level == "district"))
        for level in ("street", "community", "grid"):
            r = ledger.rollup(s, scope=true(), node=district, level=level, today=TODAY, tz=TZ)
            assert as_dicts(r) == raw_counts(s, district, level), level
            assert r.total.found == s.scalar(text("SELECT count(*) FROM hazard"))
            assert r.total.buildings == s.scalar(text("SELECT count(*) FROM building"))
        # Drill down: one street by grid, then one grid by building.
        street = s.scalar(select(Area).where(Area.level == "street").order_by(Area.code))
        r = ledger.rollup(s, scope=true(), node=street, today=TODAY, tz=TZ)
        assert r.level == "community"
        assert as_dicts(r) == raw_counts(s, street, "community")
        grid = s.scalar(
            select(Area)
            .where(Area.level == "grid", Area.id.in_(select(Building.area_id)))
            .order_by(Area.code)
        )
        r = ledger.rollup(s, scope=true(), node=grid, today=TODAY, tz=TZ)
        assert r.level == "building"
        per_building = {
            code: (n, found)
            for code, n, found in s.execute(
                text(
                    "SELECT b.code, 1, (SELECT count(*) FROM hazard h WHERE h.building_id = b.id) "
                    "FROM building b WHERE b.area_id = :grid"
                ),
                {"grid": grid.id},
            )
        }
        assert {row.code: (row.counts.buildings, row.counts.found) for row in r.rows} == (
            per_building
        )


def test_rollup_with_filters_equals_independent_sql(generated):
    with generated.app_context():
        s = db.session
        district = s.scalar(select(Area).where(Area.level == "district"))
        start, end = TODAY - timedelta(days=60), TODAY - timedelta(days=10)
        lo = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(hours=8)
        hi = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(hours=16)
        # SQLite compares the stored text; PostgreSQL compares timestamps.
        bind = s.get_bind().dialect.name
        fmt = (lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")) if bind == "sqlite" else (lambda d: d)
        filters = ledger.Filters(start=start, end=end, category="LIFE", severity="general")
        r = ledger.rollup(
            s, scope=true(), node=district, level="street", filters=filters, today=TODAY, tz=TZ
        )
        expected = raw_counts(
            s,
            district,
            "street",
            hazard_where="AND h.created_at >= :lo AND h.created_at < :hi "
            "AND h.category = 'LIFE' AND h.severity = 'general'",
            inspection_where="AND i.submitted_at >= :lo AND i.submitted_at < :hi",
            lo=fmt(lo),
            hi=fmt(hi),
        )
        assert as_dicts(r) == expected
        assert r.total.found > 0, "the filter should leave something to count"
        # Overdue-only and supervised-only narrow the hazards, never the buildings.
        r = ledger.rollup(
            s,
            scope=true(),
            node=district,
            level="street",
            filters=ledger.Filters(overdue=True),
            today=TODAY,
            tz=TZ,
        )
        expected = raw_counts(
            s, district, "street", hazard_where="AND h.status = 'open' AND h.deadline < :today"
        )
        assert as_dicts(r) == expected
        assert r.total.found == r.total.overdue == r.total.open
        r = ledger.rollup(
            s,
            scope=true(),
            node=district,
            level="street",
            filters=ledger.Filters(supervised=True, status="submitted"),
            today=TODAY,
            tz=TZ,
        )
        expected = raw_counts(
            s,
            district,
            "street",
            hazard_where="AND h.supervised_at IS NOT NULL AND h.status = 'submitted'",
        )
        assert as_dicts(r) == expected


def test_breakdowns_by_category_and_severity_equal_group_by(generated):
    with generated.app_context():
        s = db.session
        district = s.scalar(select(Area).where(Area.level == "district"))
        r = ledger.rollup(s, scope=true(), node=district, today=TODAY, tz=TZ)
        for column, got in (("category", r.by_category), ("severity", r.by_severity)):
            rows = s.execute(
                text(
                    f"SELECT {column}, count(*), "
                    "sum(CASE WHEN status IN ('closed', 'fixed_on_spot') THEN 1 ELSE 0 END) "
                    f"FROM hazard GROUP BY {column}"
                )
            ).all()
            assert {k: (n, int(done)) for k, n, done in rows} == {
                k: (c.found, c.rectified) for k, c in got.items() if c.found
            }
        assert r.total.rectification_rate == pytest.approx(r.total.rectified / r.total.found)
        assert r.total.coverage == pytest.approx(r.total.inspected / r.total.buildings)


def test_rebound_is_counted_within_the_window_only(app, make, checklist):
    d = make.area("D", "district")
    s1 = make.area("S1", "street", d)
    grid = make.area("G1", "grid", s1)
    b = make.building(grid)
    other = make.building(grid)
    with app.app_context():
        item, second = db.session.scalars(select(ChecklistItem).limit(2)).all()

        def hazard(building, item, created, status="open", closed=None):
            h = Hazard(
                building_id=building.id,
                item_id=item.id,
                category=item.category,
                severity="general",
                description=item.text_zh,
                status=status,
                created_at=created,
                closed_at=closed,
            )
            db.session.add(h)
            db.session.flush()
            return h

        t0 = datetime(2026, 5, 1, 2, tzinfo=UTC)
        hazard(b, item, t0, "closed", t0 + timedelta(days=5))
        again = hazard(b, item, t0 + timedelta(days=30))  # 25 days after closure: rebound
        late = hazard(b, item, t0 + timedelta(days=200))  # long after: not a rebound
        hazard(b, second, t0 + timedelta(days=31))  # another item: not a rebound
        hazard(other, item, t0 + timedelta(days=32))  # another building: not a rebound
        spot = hazard(b, second, t0 + timedelta(days=40), "fixed_on_spot", t0 + timedelta(days=40))
        spot_again = hazard(b, second, t0 + timedelta(days=41))  # after an on-the-spot fix
        db.session.commit()
        node = db.session.get(Area, d.id)
        r = ledger.rollup(db.session, scope=true(), node=node, today=TODAY, tz=TZ)
        assert r.total.rebound == 2
        rows = db.session.execute(
            ledger.hazard_rows(
                db.session,
                scope=true(),
                node=node,
                filters=ledger.Filters(rebound=True),
                today=TODAY,
                tz=TZ,
            )
        ).all()
        assert sorted(row.id for row in rows) == sorted([again.id, spot_again.id])
        wide = ledger.rollup(
            db.session, scope=true(), node=node, today=TODAY, tz=TZ, rebound_days=365
        )
        assert wide.total.rebound == 3
        assert ledger.rebound_of(db.session, db.session.get(Hazard, late.id), days=365)
        assert ledger.rebound_of(db.session, db.session.get(Hazard, late.id), days=90) is None
        assert [
            h.id
            for h in ledger.rebounds_after(db.session, db.session.get(Hazard, spot.id), days=90)
        ] == [spot_again.id]


def test_ledger_page_drill_down_and_scope(app, client, district):
    login(client, "fire")
    html = client.get("/ledger").get_data(as_text=True)
    assert "整改台账" in html and "S1街道" in html and "S2街道" in html
    html = client.get("/ledger?area=S1").get_data(as_text=True)
    assert "S1社区" in html and "S2街道" not in html
    html = client.get("/ledger?area=S1G1").get_data(as_text=True)
    assert "测试花园" in html  # buildings at grid level
    client.post("/logout", data={"csrf_token": _token(client)})
    login(client, "street")
    assert client.get("/ledger?area=S2").status_code == 404  # out of scope, existence hidden
    assert client.get("/ledger?area=D").status_code == 404
    assert client.get("/ledger").status_code == 200


def _token(client):
    from .conftest import csrf_from

    return csrf_from(client, "/")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-13-40", "日期格式"),
        ("start=2026-11-20&end=2026-11-01", "开始日期不能晚于结束日期"),
        ("status=gone", "无效的选项"),
        ("level=city", "无效的选项"),
        ("area=S1G1&level=street", "汇总层级必须低于"),
        ("campaign=999", "无效的选项"),
    ],
)
def test_bad_filters_get_a_clear_message_never_a_500(app, client, district, query, message):
    login(client, "fire")
    r = client.get(f"/ledger?{query}")
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    r = client.get(f"/api/v1/ledger?{query}")
    body = r.get_json()
    assert r.status_code == 400 and body["error"] == "bad_request" and message in body["message"]
    assert client.get(f"/ledger/export.csv?{query}").status_code == 400


def test_api_ledger_rollup_and_hazard_list(app, client, district):
    from inspect_app.auth import issue_token
    from inspect_app.models import User

    b = district["buildings"]["S1G1"]
    with app.app_context():
        for status, days in (("open", -3), ("open", 5), ("closed", 1), ("submitted", -1)):
            db.session.add(
                Hazard(
                    building_id=b.id,
                    category="LIFE",
                    severity="general",
                    description="堆物",
                    status=status,
                    deadline=TODAY + timedelta(days=days),
                    closed_at=datetime.now(UTC) if status == "closed" else None,
                )
            )
        token = issue_token(db.session.get(User, district["users"]["street"].id), "t")
        db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/ledger", headers=auth).get_json()
    assert body["area"]["code"] == "S1" and body["level"] == "community"
    assert body["total"]["found"] == 4 and body["total"]["closed"] == 1
    assert body["total"]["rectification_rate"] == 0.25
    body = client.get("/api/v1/ledger?level=building", headers=auth).get_json()
    assert len(body["rows"]) == 4 and sum(r["found"] for r in body["rows"]) == 4
    body = client.get("/api/v1/hazards?status=open", headers=auth).get_json()
    assert body["total"] == 2 and {h["status"] for h in body["items"]} == {"open"}
    body = client.get(f"/api/v1/hazards?building={b.code}&status=closed", headers=auth).get_json()
    assert body["total"] == 1
    assert client.get("/api/v1/hazards?area=S2", headers=auth).status_code == 404


def test_manager_ledger_is_their_buildings(app, client, district):
    login(client, "manager")
    html = client.get("/ledger").get_data(as_text=True)
    assert client.get("/ledger").status_code == 200
    assert district["buildings"]["S1G2"].name in html
    assert district["buildings"]["S1G1"].name not in html
    assert client.get("/ledger?level=street").status_code == 400
    assert client.get("/ledger/export.xlsx").status_code == 403


def test_openapi_documents_the_ledger_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/hazards", "/hazards/{id}", "/hazards/{id}/events", "/ledger"):
        assert path in paths, path
    assert "409" in paths["/hazards/{id}/events"]["post"]["responses"]


def test_counts_of_demo_states_match_the_generator(app):
    with app.app_context():
        result = generate(db.session, buildings=30, seed=5, password="x pass 1", today=TODAY)
        db.session.commit()
        district = db.session.scalar(select(Area).where(Area.level == "district"))
        r = ledger.rollup(db.session, scope=true(), node=district, today=TODAY, tz=TZ)
        states = Counter(result.hazard_states)
        assert r.total.found == result.hazards
        assert r.total.overdue == states["overdue"]
        assert r.total.open == states["open"] + states["overdue"]
        assert r.total.supervised == states["supervised"]
