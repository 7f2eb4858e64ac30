"""The dashboard and the monthly summary: every figure equals an independent count over the
rows the test wrote, page, JSON and workbook agree, charts are self-contained SVG with a
table alternative, and each role sees only its scope."""

from __future__ import annotations

import io
import random
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from inspect_app import charts, ledger, progress, summaries
from inspect_app.campaigns import high_rise_condition
from inspect_app.codes import local_today
from inspect_app.db import db
from inspect_app.models import Area, Building, Campaign

from .conftest import csrf_from, login
from .oversight_helpers import TZ, add_hazard, add_inspection, at, make_campaign

SVG = "{http://www.w3.org/2000/svg}"


def local(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


@pytest.fixture
def scene(app, make, district, checklist):
    """The ``district`` fixture (8 high-rises in 2 streets) plus a 20 m building (not
    high-rise) and a retired high-rise, a campaign from 70 days ago to 30 days ahead, and a
    seeded mix of surveys, other inspections and hazards in every state, some before the
    campaign. Returns what was written, to count independently."""
    with app.app_context():
        today = local_today()
    start, end = today - timedelta(days=70), today + timedelta(days=30)
    areas = district["areas"]
    low = make.building(areas["S1G1"], height_m=Decimal("20"), storeys=7)
    retired = make.building(areas["S2G2"], retired_at=datetime.now(UTC))
    campaign_id = make_campaign(app, areas["D"], checklist, starts=start, ends=end)
    with app.app_context():
        rows = db.session.execute(
            select(Building.id, Area.path).join(Area, Building.area_id == Area.id)
        ).all()
    street_of = {bid: path.strip("/").split("/")[1] for bid, path in rows}
    counted = {
        bid for bid in street_of if bid not in (low.id, retired.id)
    }  # the campaign's population
    rng = random.Random(20231)
    hazards, surveys = [], defaultdict(list)
    for bid in sorted(street_of):
        for _ in range(rng.randint(0, 2)):
            day = start + timedelta(days=rng.randint(-15, 65))
            add_inspection(app, bid, kind="survey", when=at(day), username="inspector")
            surveys[bid].append(day)
        add_inspection(
            app, bid, kind=rng.choice(["self_check", "patrol"]), when=at(today - timedelta(days=3))
        )
        for _ in range(rng.randint(3, 9)):
            created = at(start + timedelta(days=rng.randint(-10, 70)), rng.randint(1, 22))
            status = rng.choice(["open", "open", "submitted", "closed", "fixed_on_spot"])
            closed = None
            if status in ("closed", "fixed_on_spot"):
                closed = min(created + timedelta(days=rng.randint(0, 20)), at(today, 0))
            deadline = today + timedelta(days=rng.randint(-30, 30))
            supervised = at(today - timedelta(days=1)) if rng.random() < 0.15 else None
            hid = add_hazard(
                app,
                bid,
                created=created,
                status=status,
                closed=closed,
                deadline=deadline,
                supervised=supervised,
                severity=rng.choice(["minor", "general", "major"]),
                category=rng.choice(["FAC", "LIFE", "ELEC"]),
            )
            hazards.append(
                dict(
                    id=hid,
                    building=bid,
                    created=created,
                    status=status,
                    closed=closed,
                    deadline=deadline,
                    supervised=supervised,
                    category=None,
                    item=None,
                )
            )
    # One rebound: the same item of the same building found again after it was closed.
    b = district["buildings"]["S1G1"].id
    first_closed = at(today - timedelta(days=30))
    for created, status, closed in (
        (at(today - timedelta(days=40)), "closed", first_closed),
        (at(today - timedelta(days=20)), "open", None),
    ):
        hid = add_hazard(
            app,
            b,
            created=created,
            status=status,
            closed=closed,
            deadline=today + timedelta(days=10),
            item_code="LIFE-01",
        )
        hazards.append(
            dict(
                id=hid,
                building=b,
                created=created,
                status=status,
                closed=closed,
                deadline=today + timedelta(days=10),
                supervised=None,
                category=None,
                item="LIFE-01",
            )
        )
    return dict(
        today=today,
        start=start,
        end=end,
        campaign_id=campaign_id,
        street_of=street_of,
        counted=counted,
        hazards=hazards,
        surveys=surveys,
        areas=areas,
        district=district,
        low=low,
        retired=retired,
    )


def independent(scene, *, street: str | None = None, start=None, end=None) -> dict:
    """Counts from the rows the test wrote, by the documented definitions."""
    start = start or scene["start"]
    end = end or scene["end"]
    today = scene["today"]
    keep = {b for b in scene["counted"] if street is None or scene["street_of"][b] == street}
    mine = [
        h for h in scene["hazards"] if h["building"] in keep and start <= local(h["created"]) <= end
    ]
    c = Counter(h["status"] for h in mine)
    rebound = 0
    for h in mine:
        if h["item"] is None:
            continue
        for e in scene["hazards"]:
            if (
                e is not h
                and e["building"] == h["building"]
                and e["item"] == h["item"]
                and e["status"] in ("closed", "fixed_on_spot")
                and e["closed"] <= h["created"]
                and h["created"] <= e["closed"] + timedelta(days=90)
            ):
                rebound += 1
                break
    surveyed = {b for b in keep if any(start <= d <= end for d in scene["surveys"][b])}
    return {
        "buildings": len(keep),
        "surveyed": len(surveyed),
        "found": len(mine),
        "fixed_on_spot": c["fixed_on_spot"],
        "open": c["open"],
        "submitted": c["submitted"],
        "closed": c["closed"],
        "overdue": sum(1 for h in mine if h["status"] == "open" and h["deadline"] < today),
        "supervised": sum(1 for h in mine if h["supervised"] is not None),
        "rebound": rebound,
        "rectified": c["closed"] + c["fixed_on_spot"],
    }


FIGURES = (
    "buildings",
    "surveyed",
    "found",
    "fixed_on_spot",
    "open",
    "submitted",
    "closed",
    "overdue",
    "supervised",
    "rebound",
    "rectified",
)


def test_dashboard_figures_equal_independent_counts(app, client, scene):
    login(client, "fire")
    body = client.get(f"/api/v1/campaigns/{scene['campaign_id']}/progress").get_json()
    expected = independent(scene)
    assert expected["found"] > 20 and expected["rebound"] == 1  # the scene is not empty
    assert {k: body["totals"][k] for k in FIGURES} == expected
    assert body["totals"]["survey_coverage"] == round(
        expected["surveyed"] / expected["buildings"], 4
    )
    assert body["totals"]["rectification_rate"] == round(
        expected["rectified"] / expected["found"], 4
    )
    rows = {r["code"]: r for r in body["rows"]}
    assert set(rows) == {"S1", "S2"}
    for code in ("S1", "S2"):
        assert {k: rows[code][k] for k in FIGURES} == independent(scene, street=code), code
    # The ranking: best first by the current phase's measure, ranks numbered.
    key = body["rank_by"]
    values = [r[key] for r in body["rows"]]
    assert values == sorted(values, reverse=key != "overdue")
    assert [r["rank"] for r in body["rows"]][0] == 1
    assert body["current_phase"]["name"] and body["campaign"]["id"] == scene["campaign_id"]


def test_weekly_trend_equals_independent_buckets(app, client, scene):
    login(client, "fire")
    body = client.get(f"/api/v1/campaigns/{scene['campaign_id']}/progress").get_json()
    weeks = body["weeks"]
    assert weeks[0]["starts_on"] == scene["start"].isoformat()
    assert date.fromisoformat(weeks[-1]["ends_on"]) >= scene["today"]
    keep = scene["counted"]
    firsts = {
        b: min(d for d in scene["surveys"][b] if scene["start"] <= d <= scene["end"])
        for b in keep
        if any(scene["start"] <= d <= scene["end"] for d in scene["surveys"][b])
    }
    in_campaign = [
        h
        for h in scene["hazards"]
        if h["building"] in keep and scene["start"] <= local(h["created"]) <= scene["end"]
    ]
    for w in weeks:
        lo, hi = date.fromisoformat(w["starts_on"]), date.fromisoformat(w["ends_on"])
        assert w["found"] == sum(1 for h in in_campaign if lo <= local(h["created"]) <= hi)
        assert w["rectified"] == sum(
            1 for h in in_campaign if h["closed"] is not None and lo <= local(h["closed"]) <= hi
        )
        assert w["surveyed"] == sum(1 for d in firsts.values() if d <= hi)
    assert sum(w["found"] for w in weeks) == len(in_campaign)


def test_progress_against_the_phase_and_ranking_choice(app, scene):
    with app.app_context():
        campaign = db.session.get(Campaign, scene["campaign_id"])
        node = db.session.get(Area, scene["areas"]["D"].id)
        common = dict(node=node, scope=high_rise_condition(), tz=TZ)
        # In the survey phase the measure is survey coverage; in rectification, the rate.
        survey_day = scene["start"] + timedelta(days=10)
        p = progress.campaign_progress(db.session, campaign, today=survey_day, **common)
        assert p.current.phase.code == "survey" and p.current.metric == "survey_coverage"
        assert p.rank_by == "survey_coverage"
        assert p.current.elapsed == pytest.approx(p.current.phase.elapsed(survey_day))
        assert p.current.on_track == (p.current.value >= p.current.elapsed)
        p = progress.campaign_progress(
            db.session, campaign, today=scene["today"], rank_by="overdue", **common
        )
        overdue = [r.figures.counts.overdue for r in p.rows]
        assert overdue == sorted(overdue)
        with pytest.raises(ValueError):
            progress.campaign_progress(
                db.session, campaign, today=scene["today"], rank_by="nope", **common
            )


def test_page_shows_the_figures_with_svg_charts_and_table_alternatives(app, client, scene):
    login(client, "fire")
    url = f"/campaigns/{scene['campaign_id']}/dashboard"
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    expected = independent(scene)
    assert f"排查覆盖率（{expected['surveyed']}/{expected['buildings']}）" in html
    assert f"整改率（{expected['rectified']}/{expected['found']}）" in html
    svgs = html.split("<svg")[1:]
    assert len(svgs) >= 4
    for part in svgs:
        tree = ET.fromstring("<svg" + part.split("</svg>")[0] + "</svg>")
        assert tree.get("role") == "img" and tree.find(f"{SVG}title") is not None
        assert tree.find(f"{SVG}desc").text
        assert "script" not in part.split("</svg>")[0].lower()
    # No third-party resource: every script and stylesheet is the app's own.
    assert "cdn" not in html.lower() and 'src="http' not in html and 'href="http' not in html
    # The table alternative carries the same figures as the chart.
    assert "排名与各项数字（图表的数据）" in html and "按周数据表" in html
    s1 = independent(scene, street="S1")
    assert f"<td>{s1['found']}</td>" in html


def test_scope_street_sees_its_street_only_and_others_are_refused(app, client, scene):
    cid = scene["campaign_id"]
    login(client, "street")
    body = client.get(f"/api/v1/campaigns/{cid}/progress").get_json()
    assert body["area"]["code"] == "S1"
    assert [r["code"] for r in body["rows"]] == ["S1C"]
    assert {k: body["totals"][k] for k in FIGURES} == independent(scene, street="S1")
    assert client.get(f"/api/v1/campaigns/{cid}/progress?area=S2").status_code == 404
    assert client.get(f"/campaigns/{cid}/dashboard?area=S2").status_code == 404
    bad = client.get(f"/api/v1/campaigns/{cid}/progress?rank=bogus")
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_request"
    assert client.get("/dashboard").headers["Location"].endswith(f"/campaigns/{cid}/dashboard")
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    for username in ("inspector", "manager", "admin"):
        login(client, username)
        assert client.get(f"/campaigns/{cid}/dashboard").status_code == 403, username
        assert client.get(f"/api/v1/campaigns/{cid}/progress").status_code == 403, username
        client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    anonymous = client.get(f"/api/v1/campaigns/{cid}/progress")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "unauthorized"


# ---------------------------------------------------------------------------------------------
# Monthly summary (工作小结)
# ---------------------------------------------------------------------------------------------


def _month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, summaries.month_end(first)


def test_monthly_summary_equals_the_ledger_for_that_period(app, scene):
    month, month_last = _month_bounds(scene["today"] - timedelta(days=35))
    with app.app_context():
        node = db.session.get(Area, scene["areas"]["D"].id)
        s = summaries.monthly_summary(
            db.session,
            month=month,
            node=node,
            scope=high_rise_condition(),
            today=scene["today"],
            tz=TZ,
        )
        assert s.campaign.id == scene["campaign_id"] and s.end == month_last
        period = ledger.rollup(
            db.session,
            scope=high_rise_condition(),
            node=node,
            filters=ledger.Filters(start=month, end=month_last),
            today=scene["today"],
            tz=TZ,
        )
        to_date = ledger.rollup(
            db.session,
            scope=high_rise_condition(),
            node=node,
            filters=ledger.Filters(start=scene["start"], end=month_last),
            today=scene["today"],
            tz=TZ,
        )
    assert s.total.month == period.total and s.total.to_date == to_date.total
    assert [(r.code, r.month) for r in s.rows] == [(r.code, r.counts) for r in period.rows]
    for code, name, m, _t in s.by_category:
        assert m == period.by_category[code], name
    # And the ledger for the month is the independent count of hazards found in it.
    expected = independent(scene, start=max(month, scene["start"]), end=month_last)
    for key in ("found", "fixed_on_spot", "overdue", "supervised", "rectified"):
        assert getattr(s.total.month, key) == expected[key], key
    cumulative = independent(scene, end=month_last)
    assert s.total.surveyed == cumulative["surveyed"]
    assert s.total.to_date.buildings == cumulative["buildings"]


def test_monthly_page_xlsx_and_cli_agree(app, client, scene, tmp_path):
    month = (scene["today"].replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    login(client, "fire")
    page = client.get(f"/summaries/monthly?month={month}&area=D")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "工作小结" in html and "每月23日前报送当月工作小结" in html and "data-print" in html
    workbook = client.get(f"/summaries/monthly.xlsx?month={month}&area=D")
    assert workbook.status_code == 200
    assert "attachment" in workbook.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(workbook.data))["工作小结"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    with app.app_context():
        s = summaries.monthly_summary(
            db.session,
            month=date.fromisoformat(f"{month}-01"),
            node=db.session.get(Area, scene["areas"]["D"].id),
            scope=high_rise_condition(),
            today=scene["today"],
            tz=TZ,
        )
    total = summaries.area_table(s)[-1]
    assert values[0][0] == s.title
    assert [("" if v is None else v) for v in values[-1][: len(total)]] == [
        "" if v is None else v for v in total
    ]
    assert s.narrative() in html

    out = tmp_path / "report.xlsx"
    result = app.test_cli_runner().invoke(
        args=["monthly-report", "--month", month, "--area", "D", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    cli_rows = [[c.value for c in r] for r in load_workbook(out)["工作小结"].iter_rows()]
    assert cli_rows == values
    categories = [[c.value for c in r] for r in load_workbook(out)["按类别"].iter_rows()]
    assert {row[1] for row in categories[4:]} <= {"消防设施", "生命通道", "用电用气"}


def test_monthly_bad_input_is_clear(app, client, scene, tmp_path):
    login(client, "street")
    future = (scene["today"].replace(day=28) + timedelta(days=10)).strftime("%Y-%m")
    response = client.get(f"/summaries/monthly?month={future}")
    assert response.status_code == 400
    assert "不能生成未来月份的工作小结" in response.get_data(as_text=True)
    response = client.get("/summaries/monthly?month=2026-13")
    assert response.status_code == 400
    assert "月份格式应为 年-月" in response.get_data(as_text=True)
    assert client.get("/summaries/monthly.xlsx?month=2026-13").status_code == 400
    assert client.get("/summaries/monthly?month=2026-01&area=S2").status_code == 404
    page = client.get("/summaries/monthly").get_data(as_text=True)
    assert "一街道" in page or "S1街道" in page  # the street's own summary by default
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["monthly-report", "--month", future, "--out", str(tmp_path / "x.xlsx")]
    )
    assert result.exit_code != 0 and "不能生成未来月份" in result.output
    assert not (tmp_path / "x.xlsx").exists()
    result = runner.invoke(
        args=[
            "monthly-report",
            "--month",
            "2026-01",
            "--area",
            "NOPE",
            "--out",
            str(tmp_path / "y.xlsx"),
        ]
    )
    assert result.exit_code != 0 and "区域编码不存在" in result.output


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def test_bars_are_proportional_and_labels_escaped():
    svg = _parse(charts.hbar([("甲<b>&", 0.5), ("乙", 1.0), ("丙", None)], title="t"))
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(bars) == 2  # no bar for a missing value
    assert float(bars[1].get("width")) == pytest.approx(2 * float(bars[0].get("width")), 0.01)
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "甲<b>&" in texts and "—" in texts  # escaped in the markup, intact when parsed
    assert "甲<b>&：50.0%" in svg.find(f"{SVG}desc").text


def test_lines_break_at_missing_values_and_meter_marks_time():
    svg = _parse(
        charts.line(["1", "2", "3", "4"], [charts.Series("a", [1, None, 3, 4])], title="t")
    )
    lines = list(svg.iter(f"{SVG}polyline"))
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 2  # 3–4 joined only
    assert len(list(svg.iter(f"{SVG}circle"))) == 3
    meter = _parse(charts.meter(0.25, title="m", marker=0.5, marker_label="时间"))
    assert (
        "25.0%" in meter.find(f"{SVG}desc").text and "时间：50.0%" in meter.find(f"{SVG}desc").text
    )
    stacked = _parse(charts.stacked_hbar([("x", [1, 0, 3])], series=["a", "b", "c"], title="s"))
    widths = [
        float(r.get("width"))
        for r in stacked.iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    ]
    assert len(widths) == 2 and widths[1] == pytest.approx(3 * widths[0], 0.01)


def test_openapi_documents_the_progress_endpoint(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    doc = paths["/campaigns/{id}/progress"]["get"]
    assert {p["name"] for p in doc["parameters"]} == {"id", "area", "rank"}
    assert {"200", "400", "401", "403", "404"} <= set(doc["responses"])
