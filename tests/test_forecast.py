"""The referral forecast: scores on hand-built numbers, the weekly series, determinism, and
interval coverage on series generated with known parameters."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from dbfixtures import SMALL_DEMO, demo_url

from divert.analytics.data.filters import Filters
from divert.analytics.data.loading import load_frames
from divert.analytics.data.memo import forget_by_content
from divert.analytics.planning import assumptions, by_period, forecast, periods
from divert.analytics.planning import rates as service_rates
from divert.storage.db import get_engine

START = date(2021, 1, 4)  # a Monday


def weeks(values) -> pl.DataFrame:
    return pl.DataFrame({"week": [START + timedelta(weeks=i) for i in range(len(values))],
                         "referrals": [int(v) for v in values]})


def seasonal_series(seed: int, n: int = 160, level: float = 50, amplitude: float = 5, sd: float = 6) -> pl.DataFrame:
    """Weekly counts from known parameters: a level, a yearly sine wave and normal noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return weeks(np.round(level + amplitude * np.sin(2 * np.pi * t / 52) + rng.normal(0, sd, n)))


# --- scores -----------------------------------------------------------------------------------------
def test_mase_scale_is_the_in_sample_seasonal_naive_error():
    y = np.array([1, 2, 3, 5, 4, 6])
    assert forecast.mase_scale(y, 2) == pytest.approx(np.mean([2, 3, 1, 1]))  # |3-1|, |5-2|, |4-3|, |6-5|
    assert forecast.mase_scale(y, 10) == pytest.approx(np.mean([1, 1, 2, 1, 2]))  # too short: naive
    assert forecast.mase_scale(np.array([4, 4, 4]), 1) is None  # no in-sample error: no scale


def test_mase_and_coverage_by_hand():
    assert forecast.mase([10, 12, 8], [11, 11, 11], scale=2.0) == pytest.approx((1 + 1 + 3) / 3 / 2)
    assert forecast.coverage([5, 7, 9, 11], [4, 4, 4, 4], [8, 8, 10, 10]) == pytest.approx(0.75)  # 11 is out


def test_accuracy_pools_scaled_errors_and_counts_coverage():
    rows = []
    for cutoff, scale in ((date(2024, 1, 1), 2.0), (date(2024, 2, 5), 4.0)):
        for k, (actual, mean) in enumerate(((10, 12), (20, 16))):
            rows.append({"cutoff": cutoff, "week": cutoff + timedelta(weeks=k + 1), "weeks_ahead": k + 1,
                         "model": "ets", "mean": float(mean), "lo_80": float(mean - 3), "hi_80": float(mean + 3),
                         "lo_95": float(mean - 5), "hi_95": float(mean + 5), "actual": float(actual),
                         "scale": scale})
    table = forecast.accuracy(pl.DataFrame(rows, schema=forecast.BACKTEST_SCHEMA)).row(0, named=True)
    assert table["mase"] == pytest.approx(np.mean([2 / 2, 4 / 2, 2 / 4, 4 / 4]))
    assert table["coverage_80"] == pytest.approx(0.5)  # errors of 2 inside +-3, of 4 outside
    assert table["coverage_95"] == pytest.approx(1.0)
    assert (table["forecasts"], table["origins"]) == (4, 2)
    assert table["label"] == forecast.MODEL_LABELS["ets"]


# --- the weekly series --------------------------------------------------------------------------------
def test_weekly_referrals_keep_complete_weeks_and_fill_gaps():
    days = [date(2021, 1, 6), date(2021, 1, 12), date(2021, 1, 13), date(2021, 1, 27), date(2021, 2, 2)]
    referrals = pl.DataFrame({"referred_on": days})
    series = forecast.weekly_referrals(referrals, as_of=date(2021, 2, 2))
    # first week (from Mon 4 Jan) starts before the first referral (Wed 6th): left out; the week
    # the as-of date falls in (from Mon 1 Feb) is not over: left out; 18 Jan week had none
    assert series["week"].to_list() == [date(2021, 1, 11), date(2021, 1, 18), date(2021, 1, 25)]
    assert series["referrals"].to_list() == [2, 0, 1] and not series["in_gap"].any()
    assert forecast.weekly_referrals(referrals.head(0), None).is_empty()
    # as of a later Sunday, the week ending that day is complete; nothing after the as-of date counts
    later = forecast.weekly_referrals(referrals, as_of=date(2021, 1, 24))
    assert later["week"].to_list() == [date(2021, 1, 11), date(2021, 1, 18)] and later["referrals"].sum() == 2


def daily(first: date, days: int, per_day: int = 2) -> list[date]:
    return [first + timedelta(days=d) for d in range(days) for _ in range(per_day)]


def test_a_gap_in_the_records_is_missing_not_zero():
    # twelve weeks of referrals, then nothing for six weeks, then two more weeks
    days = daily(START, 84) + daily(START + timedelta(weeks=18), 14)
    weekly = forecast.weekly_referrals(pl.DataFrame({"referred_on": days}), as_of=START + timedelta(weeks=20, days=2))
    gap = weekly.filter(pl.col("in_gap"))
    assert gap["week"].min() == START + timedelta(weeks=12) and gap["referrals"].null_count() == gap.height
    assert weekly.filter(~pl.col("in_gap"))["referrals"].to_list() == [14] * 14
    history, note = forecast.model_history(weekly)  # two weeks after the gap are too few: the twelve before it
    assert history["week"].to_list() == [START + timedelta(weeks=w) for w in range(12)]
    assert "gap in the records" in note


def test_the_forecast_is_for_the_weeks_after_the_as_of_date_even_across_a_gap(tmp_path):
    from divert.analytics.data.frames import Frames

    days = daily(START, 7 * 60, per_day=3)  # 21 a week for sixty weeks, then nothing recorded
    referrals = pl.DataFrame({"referral_id": range(len(days)), "referred_on": days}).with_columns(
        pl.col("referred_on").cast(pl.Datetime("us", "UTC")).alias("referred_at"))
    frames = Frames(offences=pl.DataFrame(), referrals=referrals, sessions=pl.DataFrame(), stop_search=pl.DataFrame(),
                    population=pl.DataFrame())
    as_of = START + timedelta(weeks=120, days=2)  # a Wednesday, sixty weeks after the records stop
    frames = Frames(**{**frames.__dict__, "as_of": as_of})
    result = forecast.referrals_forecast(frames, Filters(as_of=as_of), with_backtest=False)
    coming = forecast.ahead(result)
    assert coming["week"][0] == START + timedelta(weeks=121) and coming["weeks_ahead"].to_list() == list(range(1, 27))
    assert coming["mean"][0] == pytest.approx(21, abs=1)  # not 0: the gap is missing, not zero referrals
    assert "gap in the records" in result.note
    top = forecast.headline(result)
    assert top["next_week"]["week"] == coming["week"][0] and top["latest_week"] == START + timedelta(weeks=59)
    assert top["this_week"] == {"week": START + timedelta(weeks=120), "referrals": 0, "days": 3}


def test_a_referral_in_the_week_under_way_refits_nothing_and_a_backdated_one_refits(tmp_path):
    """The capacity and forecast pages after a write: the fit uses complete weeks only, so it is
    found again by its history's content until a complete week changes."""
    from divert.analytics.data.frames import Frames

    as_of = START + timedelta(weeks=70, days=2)  # a Wednesday

    def frames_with(extra: list[date]) -> Frames:
        days = daily(START, 7 * 70, per_day=3) + extra
        referrals = pl.DataFrame({"referral_id": range(len(days)), "referred_on": days}).with_columns(
            pl.col("referred_on").cast(pl.Datetime("us", "UTC")).alias("referred_at"))
        made = Frames(offences=pl.DataFrame(), referrals=referrals, sessions=pl.DataFrame(),
                      stop_search=pl.DataFrame(), population=pl.DataFrame())
        return Frames(**{**made.__dict__, "as_of": as_of})

    forget_by_content()
    before = forecast.referrals_forecast(frames_with([]), Filters(as_of=as_of), with_backtest=False)
    today = forecast.referrals_forecast(frames_with([as_of]), Filters(as_of=as_of), with_backtest=False)
    assert today.forecast is before.forecast and today.this_week["referrals"] == before.this_week["referrals"] + 1
    backdated = forecast.referrals_forecast(frames_with([START + timedelta(weeks=60)]), Filters(as_of=as_of),
                                            with_backtest=False)
    assert backdated.forecast is not before.forecast and not backdated.forecast.equals(before.forecast)


# --- the forecast -------------------------------------------------------------------------------------
def test_the_forecast_is_deterministic():
    history = seasonal_series(seed=42, n=140)
    first = forecast.forecast_referrals(history, horizon=8)
    forget_by_content()  # fitted again, not found
    second = forecast.forecast_referrals(history, horizon=8)
    assert second is not first and first.forecast.equals(second.forecast)
    assert first.backtest.equals(second.backtest)
    assert first.accuracy.equals(second.accuracy)


def test_the_forecast_has_every_model_nested_intervals_and_the_right_weeks():
    history = seasonal_series(seed=1, n=120)
    result = forecast.forecast_referrals(history, horizon=26, with_backtest=False)
    assert set(result.forecast["model"]) == {forecast.ETS, forecast.SEASONAL_NAIVE, forecast.COMBINATION}
    combined = result.model()
    assert combined["weeks_ahead"].to_list() == list(range(1, 27))
    assert combined["week"][0] == history["week"][-1] + timedelta(weeks=1)
    f = result.forecast
    assert ((f["lo_95"] <= f["lo_80"]) & (f["lo_80"] <= f["mean"]) & (f["mean"] <= f["hi_80"])
            & (f["hi_80"] <= f["hi_95"])).all()
    assert (f["lo_95"] >= 0).all()  # counts cannot be negative
    # same week last year: week 121 repeats week 69
    snaive = result.model(forecast.SEASONAL_NAIVE)
    assert snaive["mean"][0] == pytest.approx(history["referrals"][120 - 52])
    # the combination is the average of the two
    ets = result.model(forecast.ETS)
    assert combined["mean"].to_list() == pytest.approx(((ets["mean"] + snaive["mean"]) / 2).to_list())
    assert 40 < combined["mean"].mean() < 60  # the series' level is 50


def test_too_little_history_says_so_instead_of_failing():
    tiny = forecast.forecast_referrals(weeks([3, 4, 5]), horizon=4)
    assert tiny.forecast.is_empty() and tiny.accuracy.is_empty() and "at least 8" in tiny.note
    short = forecast.forecast_referrals(weeks([10, 12, 9, 11, 13, 10, 12, 11, 10, 12, 14, 9, 11, 10, 12]), horizon=4)
    assert short.season_length == 1 and forecast.NAIVE in set(short.forecast["model"])
    assert "last week's count" in short.note


@pytest.mark.parametrize("model", [forecast.ETS, forecast.SEASONAL_NAIVE, forecast.COMBINATION])
def test_backtest_intervals_cover_close_to_their_nominal_share(model):
    """Six series from known parameters (level 50, yearly amplitude 5, noise sd 6): pooled over
    every origin and horizon, the 80% and 95% intervals cover close to 80% and 95%."""
    tested = pl.concat([forecast.backtest(seasonal_series(seed), horizon=13) for seed in range(6)])
    row = forecast.accuracy(tested).filter(pl.col("model") == model).row(0, named=True)
    assert row["forecasts"] >= 600
    assert 0.72 <= row["coverage_80"] <= 0.88, row
    assert 0.89 <= row["coverage_95"] <= 0.99, row
    assert row["mase"] < 1.3  # no worse than a little above "same week last year"


def test_by_weeks_ahead():
    tested = forecast.backtest(seasonal_series(3, n=120), horizon=6)
    table = forecast.accuracy_by_horizon(tested)
    assert table["weeks_ahead"].to_list() == list(range(1, 7))
    assert (table["forecasts"] == tested.filter(pl.col("model") == forecast.COMBINATION)["cutoff"].n_unique()).all()


def test_chart_frame_and_headline():
    result = forecast.forecast_referrals(seasonal_series(5, n=110), horizon=26, with_backtest=False)
    frame = forecast.chart_frame(result, horizon=6, history_weeks=10)
    assert frame.filter(pl.col("series") == "Recorded").height == 10
    assert frame.filter(pl.col("series") == "Forecast").height == 6
    top = forecast.headline(result, horizon=6)
    assert top["latest_referrals"] == result.history["referrals"][-1]
    assert top["mean_per_week"] == pytest.approx(result.model()["mean"].head(6).mean())
    long = forecast.coverage_long(forecast.accuracy(forecast.backtest(seasonal_series(5, n=110), horizon=4)))
    assert set(long["nominal"]) == {0.8, 0.95}


# --- on the demo data -----------------------------------------------------------------------------
DEMO_FILTERS = Filters(as_of=SMALL_DEMO["as_of"])  # the demo's last day, a Tuesday


@pytest.fixture(scope="module")
def demo_frames(tmp_path_factory):
    url, _ = demo_url(tmp_path_factory.mktemp("forecast-demo"), **SMALL_DEMO)
    engine = get_engine(url)
    yield load_frames(engine)
    engine.dispose()


def test_forecast_table_on_the_demo(demo_frames):
    table = forecast.forecast_table(demo_frames, DEMO_FILTERS)
    assert table["model"].unique().sort().to_list() == sorted(
        [forecast.ETS, forecast.SEASONAL_NAIVE, forecast.COMBINATION])
    combined = table.filter(pl.col("model") == forecast.COMBINATION)
    assert combined.height == forecast.HORIZON + 1  # this week (not over) and the 26 after it
    assert combined["provisional"].to_list() == [True] + [False] * forecast.HORIZON
    assert combined["weeks_ahead"].to_list() == list(range(forecast.HORIZON + 1))
    assert combined["recorded"][0] is not None and combined["recorded"].null_count() == forecast.HORIZON
    history = forecast.weekly_referrals(demo_frames.referrals, DEMO_FILTERS.as_of)
    recent = history.drop_nulls("referrals").tail(26)["referrals"].mean()
    assert 0.7 * recent < combined["mean"].mean() < 1.3 * recent
    plan = assumptions.plan_from_rates(service_rates.rates_for(demo_frames, DEMO_FILTERS))  # the planning model's rates
    assert combined["assessments"].to_list() == pytest.approx((combined["mean"] * plan.engagement_pct / 100).to_list())
    assert (combined["sessions_hi_80"] >= combined["sessions"]).all()


def test_the_demo_backtest_beats_or_matches_same_week_last_year(demo_frames):
    result = forecast.referrals_forecast(demo_frames, DEMO_FILTERS)
    acc = {row["model"]: row for row in result.accuracy.iter_rows(named=True)}
    assert acc[forecast.COMBINATION]["origins"] == forecast.BACKTEST_WINDOWS
    assert acc[forecast.COMBINATION]["mase"] <= acc[forecast.SEASONAL_NAIVE]["mase"] + 0.05
    assert 0.65 <= acc[forecast.COMBINATION]["coverage_80"] <= 0.95


def test_the_forecast_by_calendar_month_and_quarter_adds_up_on_the_demo(demo_frames):
    """Planning in managers' units: the three calendar months after the as-of date (30 Sep 2025,
    a month end: October is the first whole month), each the days' shares of the weekly forecast,
    the total theirs; two quarters are within the forecast's reach."""
    result = forecast.referrals_forecast(demo_frames, DEMO_FILTERS, with_backtest=False)
    plan = assumptions.plan_from_rates(service_rates.rates_for(demo_frames, DEMO_FILTERS))
    months = by_period.planned(result, plan, periods.MONTH, 3)
    assert months.horizon.words() == ("Forecast for 1 Oct 2025 to 31 Dec 2025: the three calendar months after the "
                                      "as-of date (30 Sep 2025)")
    rows = months.periods_only
    assert rows["label"].to_list() == ["Oct 2025", "Nov 2025", "Dec 2025"] and not rows["partial"].any()
    assert months.total["referrals"] == pytest.approx(rows["referrals"].sum())
    weekly = dict(result.model(forecast.COMBINATION).select("week", "mean").iter_rows())
    inside = sum(v for w, v in weekly.items() if date(2025, 10, 6) <= w <= date(2025, 12, 22))
    # the week of 29 Sep gives October 1-5 Oct (5 of its 7 days); the week of 29 Dec gives December 3 days
    expected = inside + weekly[date(2025, 9, 29)] * 5 / 7 + weekly[date(2025, 12, 29)] * 3 / 7
    assert months.total["referrals"] == pytest.approx(expected)
    assert months.total["referrals_lo_80"] < months.total["referrals"] < months.total["referrals_hi_80"]
    assert rows["sessions"].to_list() == pytest.approx((rows["course_seats"] / plan.seats_per_session).to_list())
    quarters = by_period.planned(result, plan, periods.QUARTER, 2)
    assert quarters.periods_only["label"].to_list() == ["Oct to Dec 2025", "Jan to Mar 2026"]
    assert not quarters.periods_only["partial"].any()  # the forecast reaches both (forecast.REACH)
    assert quarters.periods_only["referrals"][0] == pytest.approx(months.total["referrals"])
