"""On the demo data, the analytics functions recover the programme's reported figures."""

from __future__ import annotations

import polars as pl
import pytest
from dbfixtures import FULL_DEMO, demo_url

from divert.analytics.dashboards import outcomes, overview, pathway
from divert.analytics.data.filters import Filters
from divert.analytics.data.loading import load_frames
from divert.analytics.metrics import METRICS
from divert.storage.db import get_engine

# the figures as of the demo's last day, a month end (the demo at scale 1: the reported figures are calibrated on it)
DEMO_FILTERS = Filters(as_of=FULL_DEMO["as_of"])


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    url, _ = demo_url(tmp_path_factory.mktemp("demo"), **FULL_DEMO)
    engine = get_engine(url)
    yield load_frames(engine)
    engine.dispose()


def test_recorded_offences_rise_about_30_percent(frames):
    change = METRICS["volume-change"](frames, DEMO_FILTERS).row(0, named=True)
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
    tables = {name: metric(frames, DEMO_FILTERS) for name, metric in METRICS.items()}
    for name, table in tables.items():
        assert table.height > 0, name
    headlines = {h.key: h.value for h in overview.headlines(frames, DEMO_FILTERS, 4.0)}
    assert {"referrals", "engaged_share", "completed_share", "charges_change", "cautions_change", "disparity",
            "days_to_assessment", "days_to_course", "officer_hours", "onward_treatment"} == set(headlines)
    # the overview metric holds the headlines' own figures
    assert dict(zip(tables["overview"]["measure"], tables["overview"]["value"], strict=True)) == pytest.approx(headlines)
    # and they add up: every record in a month of the volume table; the year's referrals in both
    volume = tables["volume"]
    assert (volume["offences"].sum(), volume["referrals"].sum()) == (frames.offences.height, frames.referrals.height)
    year = tables["overview"].filter(pl.col("measure") == "referrals").row(0, named=True)
    in_year = frames.referrals.filter(pl.col("referred_on").is_between(year["period_start"], year["period_end"]))
    months = volume.filter(pl.col("period").is_between(year["period_start"], year["period_end"]))
    assert headlines["referrals"] == in_year.height == months["referrals"].sum() > 2000


def test_filters_narrow_every_metric(frames):
    one_area = Filters(area="E08000029", as_of=FULL_DEMO["as_of"])
    assert METRICS["volume"](frames, one_area)["offences"].sum() < METRICS["volume"](frames, DEMO_FILTERS)["offences"].sum()
    empty = Filters(area="E08000029", ethnic_group="Missing", sex="X", as_of=FULL_DEMO["as_of"])
    assert METRICS["pathway"](frames, empty)["people"].sum() == 0
