"""Planning in the units managers use (divert.analytics.planning.periods): a weekly forecast and
the course calendar rolled up to weeks, calendar months and quarters, on hand-built data with
known answers, and the rules that always hold (Hypothesis)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from divert.analytics.planning import periods

MONDAY = date(2026, 11, 30)


def flat(weeks: int = 30, mean: float = 70.0, half_80: float = 10.0, half_95: float = 20.0,
         first: date = MONDAY) -> pl.DataFrame:
    return pl.DataFrame({"week": [first + timedelta(weeks=i) for i in range(weeks)], "mean": [mean] * weeks,
                         "lo_80": [mean - half_80] * weeks, "hi_80": [mean + half_80] * weeks,
                         "lo_95": [mean - half_95] * weeks, "hi_95": [mean + half_95] * weeks})


def test_the_horizon_counts_from_after_the_as_of_date():
    months = periods.horizon(date(2026, 12, 5), periods.MONTH, 3)
    assert (months.first, months.last) == (date(2027, 1, 1), date(2027, 3, 31))
    assert months.words() == ("Forecast for 1 Jan 2027 to 31 Mar 2027: the three calendar months after the as-of "
                              "date (5 Dec 2026)")
    assert months.lead_in == (date(2026, 12, 6), date(2026, 12, 31))
    # a month end as the as-of date: the next month is whole, with nothing before it
    month_end = periods.horizon(date(2026, 11, 30), periods.MONTH, 1)
    assert (month_end.first, month_end.last, month_end.lead_in) == (date(2026, 12, 1), date(2026, 12, 31), None)
    quarter = periods.horizon(date(2026, 11, 30), periods.QUARTER, 1)
    assert (quarter.first, quarter.last) == (date(2027, 1, 1), date(2027, 3, 31))  # a quarter is a quarter
    weeks = periods.horizon(date(2026, 11, 30), periods.WEEK, 13)  # a Monday: the week after starts 7 Dec
    assert (weeks.first, weeks.last) == (date(2026, 12, 7), date(2027, 3, 7))
    assert "the 13 weeks after the week the as-of date falls in" in weeks.words()


def test_months_share_the_weeks_by_days_and_combine_intervals_as_independent_weeks():
    hz = periods.horizon(date(2026, 12, 5), periods.MONTH, 3)
    table, total = periods.forecast_periods(flat(), hz)
    assert table["label"].to_list() == ["Dec 2026", "Jan 2027", "Feb 2027", "Mar 2027"]
    assert table["lead_in"].to_list() == [True, False, False, False]
    assert table["partial"].to_list() == [True, False, False, False]
    assert table["days_covered"].to_list() == [26, 31, 28, 31]
    assert table["mean"].to_list() == pytest.approx([26 * 10.0, 310.0, 280.0, 310.0])  # 70 a week: 10 a day
    feb = table.row(2, named=True)  # four whole weeks: half-width 10 x sqrt(4)
    assert (feb["lo_80"], feb["hi_80"], feb["lo_95"], feb["hi_95"]) == pytest.approx((260, 300, 240, 320))
    jan = table.row(1, named=True)  # 31 days: 31/7 of a week's variance
    assert jan["hi_80"] - jan["mean"] == pytest.approx(10 * math.sqrt(31 / 7))
    assert total["mean"] == pytest.approx(900.0) and total["days_covered"] == 90  # Jan to Mar, no lead-in
    assert total["hi_95"] - total["mean"] == pytest.approx(20 * math.sqrt(90 / 7))
    assert "Dec 2026 is partial" in periods.covered_note(table, hz)


def test_a_quarter_past_the_forecast_is_partial_and_says_so():
    hz = periods.horizon(date(2026, 11, 30), periods.QUARTER, 2)  # Jan to Jun 2027; the forecast stops in April
    table, total = periods.forecast_periods(flat(weeks=22), hz)
    assert table["label"].to_list() == ["Oct to Dec 2026", "Jan to Mar 2027", "Apr to Jun 2027"]
    assert table["partial"].to_list() == [True, False, True]
    assert total["days_covered"] < total["days"]
    assert "Apr to Jun 2027 (" in periods.covered_note(table, hz)


def test_a_lower_bound_is_never_below_zero():
    table = periods.roll_up(flat(mean=1.0, half_80=5.0, half_95=9.0), periods.WEEK, MONDAY, MONDAY + timedelta(days=6))
    assert table["lo_80"].to_list() == [0.0] and table["lo_95"].to_list() == [0.0]


def sessions(*rows) -> pl.DataFrame:
    return pl.DataFrame([{"starts_at": datetime(d.year, d.month, d.day, 10), "seats": s, "booked": b, "attended": a}
                         for d, s, b, a in rows],
                        schema={"starts_at": pl.Datetime, "seats": pl.Int64, "booked": pl.Int64, "attended": pl.Int64})


def test_capacity_after_the_calendar_ends_is_not_yet_scheduled_not_zero():
    calendar = sessions((date(2026, 11, 10), 12, 10, 8), (date(2026, 12, 15), 12, 3, 0), (date(2027, 1, 12), 12, 0, 0))
    needed = flat(weeks=20).select("week", pl.col("mean").alias("course_seats"),
                                   pl.col("hi_80").alias("course_seats_hi_80"), pl.col("hi_95").alias("course_seats_hi_95"))
    table = periods.capacity_periods(calendar, needed, date(2026, 11, 30), periods.MONTH, date(2026, 11, 1),
                                     date(2027, 3, 31))
    assert table["label"].to_list() == ["Nov 2026", "Dec 2026", "Jan 2027", "Feb 2027", "Mar 2027"]
    assert table["schedule"].to_list() == [periods.HELD, periods.SCHEDULED, periods.SO_FAR, periods.NOT_YET,
                                           periods.NOT_YET]
    assert table["seats"].to_list() == [12, 12, 12, None, None]  # unknown after the calendar, not 0
    assert table["booked"].to_list() == [10, 3, 0, None, None]
    assert table["attended"].to_list() == [8, None, None, None, None]
    assert table["seats_needed"].to_list()[1:] == pytest.approx([310.0, 310.0, 280.0, 310.0])
    assert table["seats_needed"][0] is None  # nothing forecast before the as-of date
    assert "up to 12 Jan 2027" in periods.schedule_note(table, date(2027, 1, 12))


# --- the rules that always hold ---------------------------------------------------------------------------------
days_after = st.integers(min_value=0, max_value=400)


@settings(max_examples=30, deadline=None)
@given(offset=days_after, length=st.integers(min_value=1, max_value=120),
       means=st.lists(st.floats(min_value=0, max_value=500), min_size=80, max_size=80))
def test_every_grain_adds_up_to_the_same_total_and_partial_means_not_wholly_covered(offset, length, means):
    weekly = pl.DataFrame({"week": [date(2025, 12, 29) + timedelta(weeks=i) for i in range(80)], "mean": means}
                          ).with_columns(pl.col("mean").alias("lo_80"), (pl.col("mean") + 3).alias("hi_80"),
                                         pl.col("mean").alias("lo_95"), (pl.col("mean") + 6).alias("hi_95"))
    start = date(2026, 1, 1) + timedelta(days=offset)
    end = start + timedelta(days=length - 1)
    whole = periods.total(weekly, start, end)
    for grain in periods.GRAINS:
        table = periods.roll_up(weekly, grain, start, end)
        assert table["mean"].sum() == pytest.approx(whole["mean"], rel=1e-9, abs=1e-6)
        assert table["days_covered"].sum() == whole["days_covered"] == length
        for row in table.iter_rows(named=True):
            wholly = start <= row["period"] and row["period_end"] <= end
            assert row["partial"] == (not wholly)
            assert row["lo_80"] <= row["mean"] <= row["hi_80"] <= row["hi_95"]
    # quarters made of whole months: the months' variances add up to the quarter's
    months = periods.roll_up(weekly, periods.MONTH, date(2026, 1, 1), date(2026, 3, 31))
    quarter = periods.roll_up(weekly, periods.QUARTER, date(2026, 1, 1), date(2026, 3, 31)).row(0, named=True)
    spread = ((months["hi_80"] - months["mean"]) ** 2).sum()
    assert (quarter["hi_80"] - quarter["mean"]) ** 2 == pytest.approx(spread)
    assert quarter["mean"] == pytest.approx(months["mean"].sum())


@settings(max_examples=30, deadline=None)
@given(as_of=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)), grain=st.sampled_from(periods.GRAINS),
       count=st.integers(min_value=1, max_value=6))
def test_a_horizon_is_whole_periods_after_the_as_of_date(as_of, grain, count):
    hz = periods.horizon(as_of, grain, count)
    assert hz.first > as_of and hz.first == periods.period_start(hz.first, grain)
    assert hz.last == periods.period_end(periods.period_start(hz.last, grain), grain)
    starts, cursor = [], hz.first
    while cursor <= hz.last:
        starts.append(cursor)
        cursor = periods.next_period(cursor, grain)
    assert len(starts) == count
    gap = (hz.first - as_of).days
    assert gap <= {periods.WEEK: 7, periods.MONTH: 31, periods.QUARTER: 92}[grain]
