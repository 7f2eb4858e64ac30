"""Spot-check sampling (部门抽查): the rates with rounding up at every population size, draws
that anyone can re-run from the recorded seed, the population the street surveyed, the tasks,
the comparison with the street's survey, and bad input that saves nothing."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from inspect_app import sampling
from inspect_app.codes import local_today
from inspect_app.db import db
from inspect_app.models import Area, Building, Campaign, SpotCheck, SpotCheckTask

from .conftest import csrf_from, login
from .oversight_helpers import TZ, add_inspection, at, make_campaign

RATES = [Decimal("0.10"), Decimal("0.05"), Decimal("0.125"), Decimal("0.333"), Decimal("1")]


# ---------------------------------------------------------------------------------------------
# The algorithm
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
def test_sample_size_is_the_rate_rounded_up_at_every_population_size(rate):
    exact = Fraction(rate)
    for n in range(1, 201):
        k = sampling.sample_size(n, rate)
        assert Fraction(k, n) >= exact, (n, k)  # meets the rate
        assert Fraction(k - 1, n) < exact, (n, k)  # and is the smallest size that does
        assert 1 <= k <= n
    assert sampling.sample_size(0, rate) == 0


def test_decimal_arithmetic_avoids_binary_rounding():
    # 0.1 × 30 is 3.0000000000000004 in binary floating point; ⌈⌉ of that would be 4.
    assert sampling.sample_size(30, Decimal("0.10")) == 3
    assert sampling.sample_size(20, Decimal("0.05")) == 1
    assert sampling.sample_size(21, Decimal("0.05")) == 2


def documented_recipe(population, sizes, seed):
    """The recipe printed on the draw's page, written out independently of the module."""
    rng = random.Random(seed)
    sample = {}
    for group in ("public", "residential"):
        keyed = sorted((rng.random(), i) for i in sorted(population[group]))
        sample[group] = sorted(i for _, i in keyed[: sizes[group]])
    return sample


@pytest.mark.parametrize("rate_public, rate_residential", [("0.10", "0.05"), ("0.2", "0.125")])
def test_every_population_size_from_1_to_200_meets_the_rates_and_reproduces(
    rate_public, rate_residential
):
    rates = {"public": Decimal(rate_public), "residential": Decimal(rate_residential)}
    rng = random.Random(7)
    for n in range(1, 201):
        population = {
            "public": rng.sample(range(1, 10_000), n),  # unsorted on purpose
            "residential": rng.sample(range(10_000, 20_000), n),
        }
        sizes = {g: sampling.sample_size(n, rates[g]) for g in rates}
        seed = rng.getrandbits(64)
        sample = sampling.draw_sample(population, sizes, seed)
        for group, rate in rates.items():
            chosen = sample[group]
            assert len(chosen) == len(set(chosen)) == sizes[group]
            assert Fraction(len(chosen), n) >= Fraction(rate)
            assert set(chosen) <= set(population[group]) and chosen == sorted(chosen)
        # Re-running from the seed gives the same sample, as does the documented recipe.
        assert sampling.draw_sample(population, sizes, str(seed)) == sample
        assert documented_recipe(population, sizes, seed) == sample


@settings(max_examples=60, deadline=None)
@given(
    ids=st.sets(st.integers(1, 10**6), min_size=1, max_size=80),
    seed=st.integers(0, sampling.MAX_SEED),
)
def test_the_sample_depends_on_the_population_not_on_its_order(ids, seed):
    ordered = sorted(ids)
    shuffled = list(ids)
    random.Random(seed).shuffle(shuffled)
    sizes = {"public": sampling.sample_size(len(ids), Decimal("0.1")), "residential": 0}
    a = sampling.draw_sample({"public": ordered, "residential": []}, sizes, seed)
    b = sampling.draw_sample({"public": shuffled, "residential": []}, sizes, seed)
    assert a == b and a["residential"] == []


def test_seed_input_is_a_whole_number_in_range():
    assert sampling.parse_seed(" 42 ") == 42
    assert sampling.parse_seed("") is None and sampling.parse_seed(None) is None
    assert sampling.parse_seed(str(sampling.MAX_SEED)) == sampling.MAX_SEED
    # "²" passes str.isdigit() but not int(): it was a 500, not a message.
    for bad in ("-1", "1.5", "abc", str(sampling.MAX_SEED + 1), "²"):
        with pytest.raises(sampling.SamplingError, match="随机种子"):
            sampling.parse_seed(bad)


def test_population_digest_is_canonical():
    a = sampling.population_digest({"public": [3, 1], "residential": [2]})
    b = sampling.population_digest({"residential": [2], "public": [1, 3]})
    assert a == b
    assert a != sampling.population_digest({"public": [1], "residential": [2, 3]})


# ---------------------------------------------------------------------------------------------
# A street with surveyed buildings
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def streets(app, make, checklist):
    """District D with streets S1 and S2 and a campaign from 100 days ago. S1 has 12 surveyed
    residential and 3 surveyed public high-rises, plus buildings that must stay out of the
    population: not high-rise, retired, not surveyed, only self-checked, surveyed before the
    campaign. S2 has nothing surveyed."""
    with app.app_context():
        today = local_today()
    d = make.area("D", "district", name="测试区")
    s1 = make.area("S1", "street", d, name="一街道")
    g1 = make.area("S1G", "grid", s1, name="一网格")
    s2 = make.area("S2", "street", d, name="二街道")
    g2 = make.area("S2G", "grid", s2, name="二网格")
    users = {
        "fire": make.user("fire", "fire", d),
        "street": make.user("street", "street", s1),
        "street2": make.user("street2", "street", s2),
        "inspector": make.user("inspector", "inspector", g1),
    }
    campaign_id = make_campaign(
        app, d, checklist, starts=today - timedelta(days=100), ends=today + timedelta(days=100)
    )
    surveyed = {"residential": [], "public": []}
    day = today - timedelta(days=20)
    for _ in range(12):
        b = make.building(g1)
        add_inspection(app, b.id, kind="survey", when=at(day), username="inspector")
        surveyed["residential"].append(b.id)
    for use, height in (("public", "60"), ("mixed", "30"), ("public", "25")):
        b = make.building(g1, use=use, height_m=Decimal(height))
        add_inspection(app, b.id, kind="survey", when=at(day), username="inspector")
        surveyed["public"].append(b.id)
    excluded = []
    low = make.building(g1, height_m=Decimal("27"), storeys=9)  # residential at 27 m: not high
    add_inspection(app, low.id, kind="survey", when=at(day), username="inspector")
    excluded.append(low.id)
    retired = make.building(g1, retired_at=datetime.now(UTC))
    add_inspection(app, retired.id, kind="survey", when=at(day), username="inspector")
    excluded.append(retired.id)
    excluded.append(make.building(g1).id)  # never surveyed
    own = make.building(g1)
    add_inspection(app, own.id, kind="self_check", when=at(day), username="fire")
    excluded.append(own.id)
    early = make.building(g1)
    add_inspection(
        app, early.id, kind="survey", when=at(today - timedelta(days=150)), username="inspector"
    )
    excluded.append(early.id)
    make.building(g2)
    return dict(
        d=d,
        s1=s1,
        s2=s2,
        g1=g1,
        users=users,
        campaign_id=campaign_id,
        surveyed=surveyed,
        excluded=excluded,
        today=today,
    )


def _draw(app, site, *, street="s1", seed=None, label="测试"):
    with app.app_context():
        campaign = db.session.get(Campaign, site["campaign_id"])
        area = db.session.get(Area, site[street].id)
        draw = sampling.draw(
            db.session,
            campaign=campaign,
            street=area,
            actor=None,
            actor_label=label,
            seed=seed,
            now=datetime.now(UTC),
            today=site["today"],
            tz=TZ,
        )
        db.session.commit()
        return draw.id


def test_population_is_exactly_the_street_surveyed_high_rises(app, streets):
    draw_id = _draw(app, streets, seed=2023)
    with app.app_context():
        draw = db.session.get(SpotCheck, draw_id)
        assert draw.population == {g: sorted(v) for g, v in streets["surveyed"].items()}
        assert not set(streets["excluded"]) & {i for v in draw.population.values() for i in v}
        # 10 % of 3 public → 1; 5 % of 12 residential → 1 (rounded up).
        assert [len(draw.sample["public"]), len(draw.sample["residential"])] == [1, 1]
        assert draw.seed == "2023" and draw.drawn_by == "测试" and draw.drawn_at is not None
        assert draw.rate_public == Decimal("0.100") and draw.algorithm == sampling.ALGORITHM
        tasks = {t.building_id: t for t in draw.tasks}
        assert set(tasks) == {i for v in draw.sample.values() for i in v}
        for task in tasks.values():
            assert task.survey_inspection is not None
            assert task.survey_inspection.building_id == task.building_id
        result = sampling.verify(draw, session=db.session, tz=TZ)
        assert result.ok and result.population_now is True


def test_recorded_draw_is_re_verifiable_and_tampering_shows(app, streets):
    draw_id = _draw(app, streets)
    with app.app_context():
        draw = db.session.get(SpotCheck, draw_id)
        assert draw.seed.isdigit()  # a fresh seed was drawn and recorded
        sizes = sampling.sizes_for(draw.population, draw)
        assert documented_recipe(draw.population, sizes, int(draw.seed)) == draw.sample
        assert sampling.verify(draw).ok
        tampered = dict(draw.sample)
        other = next(i for i in draw.population["residential"] if i not in tampered["residential"])
        tampered["residential"] = [other]
        draw.sample = tampered
        result = sampling.verify(draw)
        assert not result.sample_ok and result.digest_ok
        draw.population = {**draw.population, "public": draw.population["public"][:-1]}
        assert not sampling.verify(draw).digest_ok
        db.session.rollback()


def test_registry_changes_after_the_draw_are_reported_not_hidden(app, streets):
    draw_id = _draw(app, streets, seed=5)
    with app.app_context():
        one = db.session.get(Building, streets["surveyed"]["residential"][0])
        one.retired_at = datetime.now(UTC)
        db.session.commit()
        result = sampling.verify(db.session.get(SpotCheck, draw_id), session=db.session, tz=TZ)
        assert result.ok  # the draw itself still re-runs
        assert result.population_now is False
        assert result.changes == {"residential": {"missing": [one.id], "extra": []}}


def test_street_without_surveyed_buildings_is_refused_and_nothing_saved(app, streets):
    with pytest.raises(sampling.SamplingError, match="还没有街镇排查过的高层建筑"):
        _draw(app, streets, street="s2")
    with app.app_context():
        assert db.session.scalar(select(func.count(SpotCheck.id))) == 0


def test_a_new_draw_waits_for_the_previous_one_to_be_done(app, streets):
    first = _draw(app, streets, seed=1)
    with pytest.raises(sampling.SamplingError, match="上一轮抽查还有 2 栋未完成"):
        _draw(app, streets, seed=2)
    with app.app_context():
        drawn = [t.building_id for t in db.session.get(SpotCheck, first).tasks]
    later = datetime.now(UTC) + timedelta(seconds=1)
    for building_id in drawn:
        add_inspection(app, building_id, kind="spot_check", when=later)
    second = _draw(app, streets, seed=2)
    assert second != first


def test_comparison_shows_what_the_spot_check_found_that_the_survey_missed(app, streets):
    # Give one surveyed building a survey with findings, then draw it for sure (rate 100 %).
    today = streets["today"]
    target = streets["surveyed"]["public"][0]
    add_inspection(
        app,
        target,
        kind="survey",
        when=at(today - timedelta(days=10)),
        username="inspector",
        results={"LIFE-01": "pass", "FAC-03": "fail", "ELEC-01": "fail"},
    )
    with app.app_context():
        campaign = db.session.get(Campaign, streets["campaign_id"])
        campaign.sample_rate_public = Decimal("1")
        db.session.commit()
    draw_id = _draw(app, streets, seed=11)
    add_inspection(
        app,
        target,
        kind="spot_check",
        when=datetime.now(UTC) + timedelta(seconds=1),
        results={"LIFE-01": "fail", "FAC-03": "pass", "ELEC-01": "fail"},
    )
    with app.app_context():
        draw = db.session.get(SpotCheck, draw_id)
        by_building = {c.task.building_id: c for c in sampling.compare(db.session, draw)}
        c = by_building[target]
        assert c.done and c.discrepant
        assert [i.code for i in c.missed] == ["LIFE-01"]
        assert [i.code for i in c.not_found] == ["FAC-03"]
        assert [i.code for i in c.agreed] == ["ELEC-01"]
        assert sum(1 for x in by_building.values() if x.done) == 1
        rows = sampling.by_street(db.session, draw.campaign, draw.campaign.area)
        assert [(r.code, r.drawn, r.done, r.discrepant, r.missed_items) for r in rows] == [
            ("S1", len(draw.tasks), 1, 1, 1)
        ]


# ---------------------------------------------------------------------------------------------
# Through the web and the command line
# ---------------------------------------------------------------------------------------------


def test_fire_draws_through_the_page_and_street_office_sees_it(app, client, streets):
    url = f"/campaigns/{streets['campaign_id']}/spot-checks"
    login(client, "fire")
    page = client.get(url).get_data(as_text=True)
    assert "抽取并生成抽查任务" in page and 'value="S1"' in page
    response = client.post(
        url,
        data={
            "csrf_token": csrf_from(client, url),
            "street": "S1",
            "seed": "777",
            "team": "联合检查组甲",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "复核通过" in detail and "777" in detail and "联合检查组甲" in detail
    assert "random.Random(777)" in detail
    with app.app_context():
        draw = db.session.scalar(select(SpotCheck))
        assert draw.drawn_by == "fire（fire）" and draw.drawn_by_id is not None
        assert draw.sample == sampling.draw_sample(
            draw.population, sampling.sizes_for(draw.population, draw), 777
        )
        draw_id = draw.id
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "street")
    assert client.get(f"/spot-checks/{draw_id}").status_code == 200
    page = client.get(url).get_data(as_text=True)
    assert "抽取并生成抽查任务" not in page  # the street office does not draw
    token = csrf_from(client, url)
    assert client.post(url, data={"street": "S1", "csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "street2")
    assert client.get(f"/spot-checks/{draw_id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "inspector")
    assert client.get(url).status_code == 403


def test_bad_draw_input_gives_a_message_and_saves_nothing(app, client, streets):
    url = f"/campaigns/{streets['campaign_id']}/spot-checks"
    login(client, "fire")
    for data, message in (
        ({"street": "S2"}, "还没有街镇排查过的高层建筑"),
        ({"street": "S1", "seed": "-5"}, "随机种子应为"),
        ({"street": ""}, "请选择要抽查的街道"),
        ({"street": "S1", "due_on": "2000-01-01"}, "完成期限不能早于今天"),
    ):
        response = client.post(url, data={"csrf_token": csrf_from(client, url), **data})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(SpotCheck.id))) == 0
        assert db.session.scalar(select(func.count(SpotCheckTask.id))) == 0


def test_cli_draw_prints_the_seed_and_a_reproducible_sample(app, streets):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["draw-spot-checks", "--area", "S1", "--seed", "424242"])
    assert result.exit_code == 0, result.output
    assert "seed: 424242" in result.output
    with app.app_context():
        draw = db.session.scalar(select(SpotCheck))
        expected = sampling.draw_sample(
            draw.population, sampling.sizes_for(draw.population, draw), 424242
        )
        codes = dict(db.session.execute(select(Building.id, Building.code)).all())
    for group in ("public", "residential"):
        for building_id in expected[group]:
            assert codes[building_id] in result.output
    assert re.search(r"public: 1 of 3 surveyed \(rate 10%\)", result.output)
    assert draw.drawn_by.startswith("命令行")

    bad = runner.invoke(args=["draw-spot-checks", "--area", "S2"])
    assert bad.exit_code != 0 and "还没有街镇排查过的高层建筑" in bad.output
    unknown = runner.invoke(args=["draw-spot-checks", "--area", "NOPE"])
    assert unknown.exit_code != 0 and "区域编码不存在" in unknown.output


def test_the_recipe_on_the_page_runs_in_a_plain_python(app, client, streets):
    """The re-verification recipe is real code: run it in a separate interpreter."""
    draw_id = _draw(app, streets, seed=99)
    login(client, "fire")
    page = client.get(f"/spot-checks/{draw_id}").get_data(as_text=True)
    recipe = re.search(r'<pre class="recipe">(.*?)</pre>', page, re.S).group(1)
    import html

    code = html.unescape(recipe)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    with app.app_context():
        sample = db.session.get(SpotCheck, draw_id).sample
    assert out.stdout.strip() == repr({g: sample[g] for g in ("public", "residential")})
