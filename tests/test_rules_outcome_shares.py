"""Outcome shares add up to 100% (Hypothesis), in every breakdown the outcomes and pathway
figures publish, for any filters:

- before and after (the outcomes page and `divert metrics outcomes`): in each period and each
  group, every outcome is listed once, the counts add up to the group's offences and the shares
  to 1, for any offences, any two periods and any split;
- outcomes per month (the stacked chart): each month's outcome counts add up to its offences;
- the pathway funnel: at every stage, those who went on and those who did not make up the stage
  before (shares of the stage before add up to 1);
- the volume breakdowns and the stop-search groups: shares of all offences / searches add up to 1.

The rules about the functions run on small frames made here; the published tables run on the
small demo with any filters a user may choose."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import pytest
from dbfixtures import SMALL_DEMO, demo_url
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_data import AREAS

from divert.analytics.dashboards import outcomes, volume
from divert.analytics.dashboards.pathway import FUNNEL
from divert.analytics.data.filters import Filters
from divert.analytics.data.loading import load_frames
from divert.analytics.equity.disparity import disparity_table
from divert.analytics.metrics import outcomes_table, pathway_table
from divert.core import codes
from divert.storage.db import get_engine

TINY = 1e-9
GROUPS = [*codes.BROAD_GROUPS, "Missing"]
DAYS = st.dates(date(2019, 1, 1), date(2022, 12, 31))


class Demo:
    """The small demo's frames, read once."""

    def __init__(self, frames):
        self.frames = frames

    def __repr__(self) -> str:  # Hypothesis prints the arguments of a failing example
        return "Demo(seed 5, scale 0.2, to 30 September 2025)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url, _ = demo_url(tmp_path_factory.mktemp("outcome-shares"), **SMALL_DEMO)
    engine = get_engine(url)
    yield Demo(load_frames(engine))
    engine.dispose()


def filters() -> st.SearchStrategy[Filters]:
    """Any filters a user may choose, as of any day from the launch to the demo's last day."""
    def maybe(values):
        return st.one_of(st.none(), st.sampled_from(list(values)))

    days = st.dates(date(2020, 10, 1), SMALL_DEMO["as_of"])
    return st.builds(Filters, start=st.one_of(st.none(), days), end=st.one_of(st.none(), days), area=maybe(AREAS),
                     source=maybe(codes.REFERRAL_SOURCES), age_band=maybe(codes.AGE_BANDS), sex=maybe(codes.SEXES),
                     ethnic_group=maybe(GROUPS), as_of=days)


# --- offences made here ----------------------------------------------------------------------------
offences = st.lists(st.tuples(DAYS, st.sampled_from([None, *codes.HOCR_OUTCOMES, 99]), st.sampled_from(GROUPS),
                              st.sampled_from(list(codes.SEXES))), max_size=60).map(
    lambda rows: pl.DataFrame(rows, schema={"offence_date": pl.Date, "outcome": pl.Int64, "ethnic_group": pl.String,
                                            "sex": pl.String}, orient="row"))


@st.composite
def two_periods(draw):
    """Two periods one after the other, each a first day and a last day (either may hold no offence)."""
    first = draw(DAYS)
    before = (first, first + timedelta(days=draw(st.integers(0, 400))))
    start = before[1] + timedelta(days=draw(st.integers(1, 400)))
    return before, (start, start + timedelta(days=draw(st.integers(0, 400))))


def assert_each_period_adds_up(table: pl.DataFrame, keys: list[str]) -> None:
    """Every group lists every outcome once; its counts add up to its offences, its shares to 1."""
    if table.is_empty():  # no offence in either period: nothing is published
        return
    for side in ("before", "after"):
        for group, part in table.group_by(keys or pl.lit(1), maintain_order=True):
            assert part["outcome"].to_list() == list(outcomes.OUTCOME_ORDER), group
            offences_in = part[f"offences_{side}"].unique().to_list()
            assert len(offences_in) == 1, (group, side)
            assert part[f"count_{side}"].sum() == offences_in[0], (group, side)
            if offences_in[0]:
                assert part[f"share_{side}"].sum() == pytest.approx(1, abs=TINY), (group, side)
            else:
                assert part[f"share_{side}"].null_count() == part.height, (group, side)


@settings(max_examples=60, deadline=None)
@given(frame=offences, periods=two_periods(), by=st.sampled_from([(), ("ethnic_group",), ("ethnic_group", "sex")]))
def test_before_and_after_every_group_s_outcome_shares_add_up_to_one(frame, periods, by):
    before, after = periods
    table = outcomes.before_after(frame, before, after, by=by)
    assert_each_period_adds_up(table, list(by))
    inside = tuple(frame.filter(pl.col("offence_date").is_between(*span)).height for span in periods)
    counted = tuple(int(table.filter(pl.col("outcome") == outcomes.OUTCOME_ORDER[0])[f"offences_{side}"].sum())
                    for side in ("before", "after"))
    assert counted == inside  # every offence of each period counted once (no group: no offence)


@settings(max_examples=60, deadline=None)
@given(frame=offences)
def test_each_month_s_outcomes_add_up_to_its_offences(frame):
    monthly = outcomes.monthly_outcomes(frame)
    assert set(monthly["outcome_group"]) <= set(outcomes.OUTCOME_ORDER)
    counted = monthly.group_by("period").agg(pl.col("offences").sum())
    expected = frame.group_by(pl.col("offence_date").dt.truncate("1mo").alias("period")).len(name="offences")
    assert dict(counted.iter_rows()) == dict(expected.iter_rows())


# --- the published tables, on the demo ---------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(chosen=filters())
def test_the_outcomes_table_adds_up_to_one_in_every_group_for_any_filters(demo, chosen):
    table = outcomes_table(demo.frames, chosen)
    assert_each_period_adds_up(table, ["ethnic_group", "sex"])
    overall = table.filter(pl.col("level") == "overall")
    assert overall.height == (len(outcomes.OUTCOME_ORDER) if table.height else 0)  # none: no offence in either
    assert overall.filter((pl.col("ethnic_group") != "All") | (pl.col("sex") != "All")).is_empty()
    for side in ("before", "after"):  # along each characteristic, its values make up the row of "All"
        count = f"count_{side}"
        for along, other in (("sex", "ethnic_group"), ("ethnic_group", "sex")):
            parts = table.filter(pl.col(along) != "All").group_by(other, "outcome").agg(pl.col(count).sum())
            totals = table.filter(pl.col(along) == "All").select(other, "outcome", pl.col(count).alias("total"))
            joined = totals.join(parts, on=[other, "outcome"], how="left").with_columns(pl.col(count).fill_null(0))
            assert (joined[count] == joined["total"]).all(), (along, side)


@settings(max_examples=20, deadline=None)
@given(chosen=filters())
def test_at_every_stage_of_the_pathway_those_who_went_on_and_those_who_did_not_make_up_the_stage_before(demo, chosen):
    funnel = pathway_table(demo.frames, chosen)
    stages = {row["stage"]: row for row in funnel.iter_rows(named=True)}
    referred = stages["referred"]["people"]
    for stage, _, before, _ in FUNNEL:
        row = stages[stage]
        previous = stages[before]["people"] if before else referred
        assert row["people"] + row["dropped"] == previous, stage
        if previous:
            assert row["share_of_previous"] + row["dropped"] / previous == pytest.approx(1, abs=TINY), stage
            assert row["share_of_referred"] == pytest.approx(row["people"] / referred, abs=TINY), stage
        else:
            assert row["share_of_previous"] is None, stage


@settings(max_examples=20, deadline=None)
@given(chosen=filters(), by=st.sampled_from(["area", "source", "drug", "age_band", "sex", "ethnic_group"]))
def test_a_volume_breakdown_s_shares_add_up_to_one(demo, chosen, by):
    shown = chosen.apply(demo.frames.at(chosen.as_of).offences, "offence_date")
    table = volume.breakdown(shown, by)
    assert table["count"].sum() == shown.height
    if shown.height:
        assert table["share"].sum() == pytest.approx(1, abs=TINY)


@settings(max_examples=20, deadline=None)
@given(chosen=filters(), level=st.sampled_from(["broad", "detailed"]), ethnicity=st.sampled_from(["self", "officer"]))
def test_the_stop_search_groups_share_of_searches_adds_up_to_one(demo, chosen, level, ethnicity):
    if level == "detailed":
        ethnicity = "self"
    chosen = replace(chosen, start=None if chosen.start is None else chosen.start - timedelta(days=1000))
    table, problem = disparity_table(demo.frames.at(chosen.as_of), "stop-search", start=chosen.start, end=chosen.end,
                                     as_of=chosen.as_of, level=level, ethnicity=ethnicity, census="2011")
    assert problem is None or "no stop-and-search records" in problem or "so there is no rate" in problem
    if problem is None:
        assert table["share_of_events"].sum() == pytest.approx(1, abs=TINY)
