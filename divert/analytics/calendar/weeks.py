"""Weeks, working days and the as-of snapshot: the small helpers every planning module shares.

Working days are Monday to Friday (numpy busday functions; bank holidays are not removed).
Weeks start on Monday (ISO). A week is complete at an as-of date when its Sunday is on or
before it (and is not today). Only divert.analytics.calendar.maturity is imported, so any other
analytics module may import this one.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

DAYS_PER_WORKING_WEEK = 5


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def last_complete_week(as_of: date) -> date:
    """The Monday of the last week that is over at the end of as_of (its Sunday on or before
    the last complete day: today is never over, divert.analytics.calendar.maturity)."""
    from divert.analytics.calendar.maturity import last_complete_day

    day = last_complete_day(as_of)
    return week_start(day) - timedelta(weeks=0 if day.weekday() == 6 else 1)


def next_week(as_of: date) -> date:
    """The Monday of the week after the one as_of falls in."""
    return week_start(as_of) + timedelta(weeks=1)


def working_days_between(start, end) -> np.ndarray:
    """Working days (Mon-Fri) from each start date to each end date: the start day is not
    counted, the end day is (Friday -> next Monday is 1). numpy.busday_count on date arrays; a
    single end date is taken for every start (a list of the same date is 40 times slower)."""
    s = np.asarray(start, dtype="datetime64[D]")
    e = np.asarray(end, dtype="datetime64[D]")
    return np.busday_count(s + 1, e + 1)


def working_days_in(start: date, end: date) -> int:
    """Working days from start to end inclusive."""
    return int(np.busday_count(np.datetime64(start, "D"), np.datetime64(end + timedelta(days=1), "D")))


def as_day(column: str, frame: pl.DataFrame) -> pl.Expr:
    """A date column, or a datetime column as its date."""
    col = pl.col(column)
    return col if frame.schema.get(column) == pl.Date else col.dt.date()


def snapshot(frames, filters):
    """(frames as known at the end of the as-of day, the as-of date). A snapshot already made
    for that day is used as it is."""
    as_of = filters.as_of_date
    if getattr(frames, "as_of", None) == as_of:
        return frames, as_of
    return frames.at(as_of), as_of


def working_days_expr(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """working_days_between as a polars expression on two date (or datetime) columns, in UK
    dates: the start day is not counted, the end day is."""
    def day(expr):
        return expr.dt.convert_time_zone("Europe/London").dt.date()

    return pl.business_day_count(day(start) + pl.duration(days=1), day(end) + pl.duration(days=1)).cast(pl.Float64)
