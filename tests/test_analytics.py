"""Analytics functions on small hand-built frames with known answers, edge cases included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from divert.analytics.dashboards import outcomes, pathway, reoffending, volume
from divert.analytics.data.filters import Filters
from divert.analytics.stats.intervals import rate_ratio, risk_ratio, wilson


# --- intervals ------------------------------------------------------------------------------
def test_wilson_matches_newcombe_1998():
    low, high = wilson([81], [263])  # Newcombe (1998) Table I, method 3
    assert low[0] == pytest.approx(0.2553, abs=1e-4) and high[0] == pytest.approx(0.3662, abs=1e-4)


def test_wilson_handles_zero_events_and_zero_trials():
    low, high = wilson([0, 3], [10, 0])
    assert low[0] == 0 and 0 < high[0] < 0.35
    assert pl.Series([low[1]]).is_nan()[0]


def test_katz_interval_for_a_risk_ratio():
    ratio, low, high = risk_ratio(30, 100, 10, 100)
    assert ratio == pytest.approx(3.0)
    assert (low, high) == (pytest.approx(1.5508, abs=1e-3), pytest.approx(5.8033, abs=1e-3))
    assert risk_ratio(5, 100, 0, 100) == (None, None, None)  # reference rate zero: no ratio


def test_rate_ratio_interval_contains_the_estimate():
    ratio, low, high = rate_ratio(130, 10, 100, 10)
    assert ratio == pytest.approx(1.3) and low < 1.3 < high


# --- volume ---------------------------------------------------------------------------------
def offences_per_month(counts: dict[date, int]) -> pl.DataFrame:
    days = [month + timedelta(days=i % 27) for month, n in counts.items() for i in range(n)]
    return pl.DataFrame({"offence_date": days}, schema={"offence_date": pl.Date})


def test_monthly_counts_are_zero_filled():
    frame = offences_per_month({date(2020, 8, 1): 2, date(2020, 10, 1): 1})
    monthly = volume.per_period(frame, "offence_date")
    assert monthly["period"].to_list() == [date(2020, 8, 1), date(2020, 9, 1), date(2020, 10, 1)]
    assert monthly["count"].to_list() == [2, 0, 1]


def test_referrals_before_the_launch_are_not_applicable_not_zero():
    """Months and weeks that ended before the launch (1 March 2023) with no referral: empty, not 0
    (the programme had not started); a referral dated before the launch still counts; the week
    of 27 February holds the launch day."""
    months = pl.DataFrame({"period": [date(2023, 1, 1), date(2023, 2, 1), date(2023, 3, 1)], "referrals": [0, 2, 0]})
    assert volume.before_the_launch(months, "referrals", date(2023, 3, 1))["referrals"].to_list() == [None, 2, 0]
    weeks = pl.DataFrame({"period": [date(2023, 2, 20), date(2023, 2, 27), date(2023, 3, 6)], "count": [0, 0, 0]})
    assert volume.before_the_launch(weeks, "count", date(2023, 3, 1), "1w")["count"].to_list() == [None, 0, 0]
    assert volume.before_the_launch(months, "referrals", None).equals(months)


def test_level_change_compares_equal_windows_either_side_of_the_launch():
    counts = {date(2020, m, 1): 100 for m in (6, 7, 8, 9)} | {date(2020, m, 1): 130 for m in (10, 11, 12)}
    change = volume.level_change(volume.per_period(offences_per_month(counts), "offence_date")).row(0, named=True)
    assert change["months_before"] == change["months_after"] == 3
    assert change["before_start"] == date(2020, 7, 1) and change["after_end"] == date(2020, 12, 31)
    assert change["mean_before"] == 100 and change["mean_after"] == 130
    assert change["change_pct"] == pytest.approx(30.0)
    assert not change["seasonally_adjusted"]


def test_level_change_is_seasonally_adjusted_over_whole_years():
    shape = [0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8]
    before = {date(2019 + (m >= 3), (m + 9) % 12 + 1, 1): round(200 * shape[(m + 9) % 12]) for m in range(12)}
    after = {date(2020 + (m >= 3), (m + 9) % 12 + 1, 1): round(260 * shape[(m + 9) % 12]) for m in range(12)}
    change = volume.level_change(volume.per_period(offences_per_month(before | after), "offence_date"),
                                 policy_start=date(2020, 10, 1)).row(0, named=True)
    assert change["months_before"] == 12 and change["seasonally_adjusted"]
    assert change["change_pct"] == pytest.approx(30.0, abs=0.3)


def test_level_change_interval_allows_for_overdispersion():
    """Counts with extra-Poisson variation (negative binomial): the 95% interval still covers
    the true +30% in at least 90% of runs, where a plain Poisson interval would not."""
    rng = np.random.default_rng(11)
    months = pl.date_range(date(2019, 10, 1), date(2021, 9, 1), "1mo", eager=True)
    covered = 0
    for _ in range(200):
        mean = np.where(months.to_numpy() >= np.datetime64("2020-10-01"), 260.0, 200.0)
        counts = rng.negative_binomial(20, 20 / (20 + mean))  # variance = mean + mean^2 / 20
        monthly = pl.DataFrame({"period": months, "count": counts})
        row = volume.level_change(monthly, policy_start=date(2020, 10, 1)).row(0, named=True)
        covered += row["ci_low_pct"] <= 30 <= row["ci_high_pct"]
        assert row["dispersion"] is not None
    assert covered >= 180


def test_level_change_with_no_data_after_the_policy_is_empty_not_an_error():
    change = volume.level_change(volume.per_period(offences_per_month({date(2019, 1, 1): 5}), "offence_date"))
    assert change["change_pct"][0] is None and change["months_after"][0] == 0


def test_empty_period():
    empty = pl.DataFrame(schema={"offence_date": pl.Date})
    assert volume.per_period(empty, "offence_date").height == 0
    assert volume.breakdown(empty.with_columns(pl.lit(None, pl.String).alias("area")), "area").height == 0


def test_breakdown_keeps_missing_as_its_own_category():
    result = volume.breakdown(pl.DataFrame({"ethnic_group": ["Black", "White", None, "Black"]}), "ethnic_group")
    assert dict(zip(result["ethnic_group"], result["count"], strict=True)) == {"Black": 2, "White": 1, "Missing": 1}
    assert result["share"].sum() == pytest.approx(1.0)
    assert result["ethnic_group"].to_list() == ["Black", "Missing", "White"]  # most first, ties by name


# --- pathway --------------------------------------------------------------------------------
T0 = datetime(2021, 3, 1, 10, tzinfo=UTC)


def referral(n, *, contact=None, result=None, assessed=None, allocation=None, booked=None, session=None,
             attended=None, completed=None, closure=None, repeat=False, log=None):
    def at(days):
        return None if days is None else T0 + timedelta(days=days)

    return {
        "referral_id": n, "referred_at": T0, "first_contact_at": at(contact), "assessment_result": result,
        "assessed_at": at(assessed), "allocation": allocation, "first_booked_at": at(booked),
        "first_session_at": at(session), "attended_at": at(attended), "course_completed_at": at(completed),
        "closure_result": closure, "repeat": repeat, "intelligence_log_date": log,
    }


SCHEMA = {"referral_id": pl.Int64, "referred_at": pl.Datetime("us", "UTC"), "first_contact_at": pl.Datetime("us", "UTC"),
          "assessment_result": pl.String, "assessed_at": pl.Datetime("us", "UTC"), "allocation": pl.String,
          "first_booked_at": pl.Datetime("us", "UTC"), "first_session_at": pl.Datetime("us", "UTC"),
          "attended_at": pl.Datetime("us", "UTC"), "course_completed_at": pl.Datetime("us", "UTC"),
          "closure_result": pl.String, "repeat": pl.Boolean, "intelligence_log_date": pl.Date}


def referrals(*rows) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SCHEMA)


FIVE = referrals(
    referral(1, contact=2, result="completed", assessed=2, allocation="group_course", booked=3, session=10, attended=10, completed=10, closure="complied", repeat=True),
    referral(2, contact=1, result="completed", assessed=4, allocation="group_course", booked=5, session=30, closure="not_engaged", log=date(2021, 4, 5)),
    referral(3, contact=3, result="completed", assessed=6, allocation="one_to_one"),
    referral(4, contact=1, result="declined", closure="not_engaged", log=date(2021, 3, 20)),
    referral(5, closure="not_engaged", log=date(2021, 4, 1)),
)


def test_funnel_counts_each_stage_and_the_drop_outs():
    result = pathway.funnel(FIVE)
    assert result["stage"].to_list() == list(pathway.STAGES)
    people = dict(zip(result["stage"], result["people"], strict=True))
    assert people == {"referred": 5, "contacted": 4, "engaged": 3, "course_allocated": 2, "course_booked": 2,
                      "course_attended": 1, "other_allocated": 1, "complied": 1, "intelligence_log": 3}
    rows = {r["stage"]: r for r in result.iter_rows(named=True)}
    assert rows["engaged"]["share_of_referred"] == pytest.approx(0.6)
    assert rows["course_attended"]["share_of_previous"] == pytest.approx(1 / 2)  # of those booked
    assert rows["other_allocated"]["after"] == "Engaged: assessment and harm-reduction session"
    assert rows["course_booked"]["dropped"] == 0 and rows["course_attended"]["dropped"] == 1
    assert rows["complied"]["share_of_previous"] == pytest.approx(1 / 3)  # of those engaged


def test_funnel_of_nothing_has_no_shares():
    result = pathway.funnel(referrals())
    assert result["people"].sum() == 0 and result["share_of_referred"].null_count() == len(pathway.STAGES)


def test_engaged_share():
    assert pathway.engaged_share(FIVE)["share"][0] == pytest.approx(0.6)


def test_waits_median_and_90th_percentile():
    result = pathway.waits(FIVE)
    to_assessment = result.filter(pl.col("measure") == "to_assessment").row(0, named=True)
    # working days from Monday 1 March 2021: to Wednesday 2, to Friday 4, to Sunday 4 (no weekend days)
    assert to_assessment["people"] == 3 and to_assessment["median_days"] == pytest.approx(4)
    assert to_assessment["p90_days"] == pytest.approx(4)
    to_course = result.filter(pl.col("measure") == "to_course").row(0, named=True)
    assert to_course["people"] == 2 and to_course["median_days"] == pytest.approx((8 + 26) / 2)


def test_intelligence_logs_and_repeats():
    logs = pathway.intelligence_logs(FIVE)
    assert logs["intelligence_logs"].to_list() == [1, 2]
    reps = pathway.repeats(FIVE).row(0, named=True)
    assert reps["referrals"] == 5 and reps["repeats"] == 1 and reps["repeat_share"] == pytest.approx(0.2)


# --- outcomes -------------------------------------------------------------------------------
def outcome_rows(period_start: date, outcome_counts: dict[int | None, int], group="Black", sex="M"):
    rows = []
    for outcome, n in outcome_counts.items():
        rows += [{"offence_date": period_start + timedelta(days=i), "outcome": outcome, "ethnic_group": group, "sex": sex} for i in range(n)]
    return rows


def test_before_after_counts_every_outcome_and_changes_in_points():
    rows = outcome_rows(date(2019, 8, 1), {1: 4, 3: 2, 7: 2, 21: 1, None: 1})
    rows += outcome_rows(date(2021, 8, 1), {1: 1, 8: 12})
    rows += outcome_rows(date(2020, 8, 1), {1: 50})  # outside both periods: ignored
    frame = pl.DataFrame(rows, schema={"offence_date": pl.Date, "outcome": pl.Int64, "ethnic_group": pl.String, "sex": pl.String})
    table = outcomes.before_after(frame)
    assert table["share_before"].sum() == pytest.approx(1.0) and table["share_after"].sum() == pytest.approx(1.0)
    assert table["outcome"].to_list() == list(outcomes.OUTCOME_ORDER)
    not_public = table.filter(pl.col("outcome") == "Not in the public interest to investigate further").row(0, named=True)
    pending = table.filter(pl.col("outcome") == "No outcome yet").row(0, named=True)
    assert not_public["count_before"] == 1 and pending["count_before"] == 1
    charge = table.filter(pl.col("outcome") == "Charge/summons").row(0, named=True)
    assert (charge["count_before"], charge["count_after"]) == (4, 1)
    assert charge["share_before"] == pytest.approx(0.4) and charge["share_after"] == pytest.approx(1 / 13)
    assert charge["change_points"] == pytest.approx((1 / 13 - 0.4) * 100)
    assert charge["change_points_low"] < charge["change_points"] < charge["change_points_high"]
    assert "change_pct" not in table.columns  # no % changes of counts


def test_newcombe_interval_matches_the_published_example():
    from divert.analytics.stats.intervals import newcombe

    diff, low, high = newcombe([48], [80], [56], [70])  # Newcombe (1998), 56/70 - 48/80
    assert diff[0] == pytest.approx(0.2) and low[0] == pytest.approx(0.0524, abs=1e-4) and high[0] == pytest.approx(0.3339, abs=1e-4)


def test_formal_gaps_read_absolute_and_relative_together():
    """Formal outcomes fall for both groups (46% -> 12% and 32% -> 5%) while the ratio
    against White widens (1.43 -> 2.4): the reading says both."""
    rows = (outcome_rows(date(2019, 8, 1), {1: 46, 8: 54}, group="Black")
            + outcome_rows(date(2021, 8, 1), {1: 12, 8: 88}, group="Black")
            + outcome_rows(date(2019, 8, 1), {1: 32, 8: 68}, group="White")
            + outcome_rows(date(2021, 8, 1), {1: 5, 8: 95}, group="White"))
    frame = pl.DataFrame(rows, schema={"offence_date": pl.Date, "outcome": pl.Int64, "ethnic_group": pl.String, "sex": pl.String})
    gaps = outcomes.formal_gaps(frame)
    black = gaps.filter(pl.col("ethnic_group") == "Black").row(0, named=True)
    white = gaps.filter(pl.col("ethnic_group") == "White").row(0, named=True)
    assert black["ratio_before"] == pytest.approx(46 / 32) and black["ratio_after"] == pytest.approx(12 / 5)
    assert black["ratio_before_low"] < black["ratio_before"] < black["ratio_before_high"]
    assert black["change_points"] == pytest.approx(-34.0)
    assert white["is_reference"] and white["ratio_before"] == 1.0 and white["ratio_before_low"] is None
    reading = outcomes.gap_reading(gaps)
    assert "fell for every group" in reading and "widened for Black" in reading
    # as a viewer reads it: the gate adds a note column (empty where nothing is hidden), not a name
    noted = gaps.with_columns(pl.lit(None, pl.String).alias("note"))
    assert outcomes.gap_reading(noted) == reading and "None" not in reading


def test_comparison_periods_follow_the_launch():
    assert outcomes.comparison_periods(date(2020, 10, 1)) == (outcomes.BEFORE, outcomes.AFTER)
    assert outcomes.comparison_periods(date(2022, 4, 1)) == ((date(2021, 1, 1), date(2021, 6, 30)),
                                                            (date(2023, 1, 1), date(2023, 6, 30)))


def test_formal_share_by_group_with_one_group_only():
    rows = outcome_rows(date(2019, 8, 1), {1: 3, 2: 1, 8: 4}, group="Black")
    frame = pl.DataFrame(rows, schema={"offence_date": pl.Date, "outcome": pl.Int64, "ethnic_group": pl.String, "sex": pl.String})
    result = outcomes.formal_share(frame, {"Jul-Dec 2019": outcomes.BEFORE, "Jul-Dec 2021": outcomes.AFTER}, by=("ethnic_group",))
    before = result.filter(pl.col("period") == "Jul-Dec 2019").row(0, named=True)
    assert before["formal_outcomes"] == 4 and before["formal_share"] == pytest.approx(0.5)
    assert result.filter(pl.col("period") == "Jul-Dec 2021").height == 0


def test_half_years():
    assert list(outcomes.half_years(date(2019, 8, 1), date(2020, 2, 1))) == ["Jul-Dec 2019", "Jan-Jun 2020"]


# --- reoffending ----------------------------------------------------------------------------
def test_reoffending_within_windows_counts_only_full_follow_up():
    refs = pl.DataFrame({
        "referral_id": [1, 2, 3, 4], "person_id": [10, 20, 30, 40], "offence_id": [100, 200, 300, 400],
        "referred_on": [date(2021, 1, 1), date(2021, 1, 1), date(2021, 1, 1), date(2022, 6, 1)],
        "closure_result": ["complied", "complied", "not_engaged", "complied"],
    })
    offs = pl.DataFrame({
        "person_id": [10, 10, 20, 30, 40], "offence_id": [100, 101, 200, 300, 400],
        "offence_date": [date(2021, 1, 1), date(2021, 3, 1), date(2021, 1, 1), date(2021, 1, 1), date(2022, 6, 1)],
    })
    result = reoffending.rates(refs, offs, end_of_data=date(2022, 9, 1))
    six = result.filter((pl.col("months") == 6) & (pl.col("status") == "Closed - complied")).row(0, named=True)
    assert six["referrals"] == 2 and six["reoffended"] == 1  # referral 4 has only 3 months of follow-up
    assert six["rate"] == pytest.approx(0.5)
    no = result.filter((pl.col("months") == 12) & (pl.col("status") == "Closed - not engaged")).row(0, named=True)
    assert no["reoffended"] == 0 and no["rate_high"] > 0


def test_kaplan_meier_known_curve():
    # four people: offence at day 10, censored 20, offence at 30, censored 40
    refs = pl.DataFrame({"referral_id": [1, 2, 3, 4], "person_id": [1, 2, 3, 4], "offence_id": [1, 2, 3, 4],
                         "referred_on": [date(2021, 1, 1), date(2021, 1, 1) + timedelta(days=20), date(2021, 1, 1), date(2021, 1, 1)],
                         "closure_result": ["complied"] * 4})
    end = date(2021, 1, 1) + timedelta(days=40)
    offs = pl.DataFrame({"person_id": [1, 3], "offence_id": [11, 33],
                         "offence_date": [date(2021, 1, 11), date(2021, 1, 31)]})
    curve = reoffending.kaplan_meier(refs, offs, end)
    by_day = dict(zip(curve["days"].to_list(), curve["still_without_offence"].to_list(), strict=True))
    assert by_day[10.0] == pytest.approx(0.75) and by_day[30.0] == pytest.approx(0.375)
    assert (curve["low"] <= curve["still_without_offence"]).all() and (curve["high"] >= curve["still_without_offence"]).all()


# --- filters --------------------------------------------------------------------------------
def test_filters_round_trip_through_the_query_string_and_apply():
    f = Filters(start=date(2021, 1, 1), area="E08000025", ethnic_group="Black")
    assert Filters.from_query(f.to_query()) == f
    assert Filters.from_query({"start": "not a date", "sex": "F"}) == Filters(sex="F")
    frame = pl.DataFrame({"offence_date": [date(2020, 12, 31), date(2021, 2, 1), date(2021, 2, 1)],
                          "area": ["E08000025", "E08000025", "E08000026"], "ethnic_group": ["Black"] * 3})
    assert f.apply(frame, "offence_date").height == 1
