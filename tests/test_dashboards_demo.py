"""On the demo data, the analytics functions recover the programme's reported figures."""

from __future__ import annotations

import polars as pl
import pytest
from dbfixtures import main_url

from divert.analytics import outcomes, overview, pathway
from divert.analytics.filters import Filters
from divert.analytics.loading import load_frames
from divert.analytics.metrics import METRICS
from divert.db import get_engine, upgrade
from divert.demo import load_demo


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    url = main_url(folder, "demo.db")
    upgrade(url)
    engine = get_engine(url)
    load_demo(engine, seed=7, scale=1.0)
    yield load_frames(engine)
    engine.dispose()


def test_recorded_offences_rise_about_30_percent(frames):
    change = METRICS["volume-change"](frames, Filters()).row(0, named=True)
    assert 20 <= change["change_pct"] <= 40
    assert change["ci_low_pct"] < change["change_pct"] < change["ci_high_pct"]


def test_about_65_percent_engage(frames):
    share = pathway.engaged_share(frames.referrals)["share"][0]
    assert 0.60 <= share <= 0.70


def test_funnel_never_rises(frames):
    table = pathway.funnel(frames.referrals)
    people = dict(zip(table["label"], table["people"], strict=True))
    for row in table.iter_rows(named=True):  # no stage has more people than the stage before it
        assert row["after"] is None or row["people"] <= people[row["after"]], row
    assert people["Referred"] == frames.referrals.height


def test_charges_and_cautions_fall_as_reported(frames):
    table = outcomes.before_after(frames.offences)  # the reported figures compare counts of the two half-years
    change = {r["outcome"]: (r["count_after"] / r["count_before"] - 1) * 100 for r in table.iter_rows(named=True)
              if r["count_before"]}
    assert change["Charge/summons"] == pytest.approx(-71, abs=8)
    assert change["Caution"] == pytest.approx(-80, abs=8)


def test_black_caribbean_males_formal_share_46_to_12_5_percent(frames):
    b1_males = frames.offences.filter((pl.col("ethnicity") == "B1") & (pl.col("sex") == "M"))
    shares = outcomes.formal_share(b1_males, {"before": outcomes.BEFORE, "after": outcomes.AFTER})
    rows = {row["period"]: row for row in shares.iter_rows(named=True)}
    # the reported figures lie inside the 95% intervals of the demo's (small) group
    assert rows["before"]["formal_share_low"] <= 0.46 <= rows["before"]["formal_share_high"], rows["before"]
    assert rows["after"]["formal_share_low"] <= 0.125 <= rows["after"]["formal_share_high"], rows["after"]


def test_formal_share_falls_for_every_broad_group(frames):
    shares = outcomes.formal_share(frames.offences, {"before": outcomes.BEFORE, "after": outcomes.AFTER}, by=("ethnic_group",))
    wide = shares.pivot(on="period", index="ethnic_group", values="formal_share")
    for row in wide.filter(pl.col("ethnic_group").is_in(["White", "Mixed", "Asian", "Black", "Other"])).iter_rows(named=True):
        assert row["after"] < row["before"], row


def test_every_metric_runs_and_the_overview_has_every_headline(frames):
    for name, metric in METRICS.items():
        assert metric(frames, Filters()).height > 0, name
    keys = {h.key for h in overview.headlines(frames, Filters(), 4.0)}
    assert {"referrals", "engaged_share", "completed_share", "charges_change", "cautions_change", "disparity",
            "days_to_assessment", "days_to_course", "officer_hours", "onward_treatment"} == keys


def test_filters_narrow_every_metric(frames):
    one_area = Filters(area="E08000029")
    assert METRICS["volume"](frames, one_area)["offences"].sum() < METRICS["volume"](frames, Filters())["offences"].sum()
    empty = Filters(area="E08000029", ethnic_group="Missing", sex="X")
    assert METRICS["pathway"](frames, empty)["people"].sum() == 0
