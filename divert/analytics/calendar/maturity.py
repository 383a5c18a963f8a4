"""Complete periods and mature cohorts, measured from the as-of date.

A month (or week, or half-year) that is not over at the as-of date is *provisional*: its count
will still grow. A rate that needs follow-up time (did the person engage? complete? reoffend?)
counts only referrals old enough to have had that time: otherwise recent referrals, still in
progress, read as failures.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

# Days of follow-up a referral (or offence) needs before it counts in each measure. Chosen from
# the service's own timings: nearly everyone who is assessed is assessed within two weeks, and
# nearly every referral is closed within three months.
FOLLOW_UP_DAYS: dict[str, int] = {
    "engaged": 28,
    "to_assessment": 28,
    "completed": 90,
    "to_course": 90,
    "intelligence_log": 90,
    "outcome": 90,
    "reoffending_6": 183,
    "reoffending_12": 366,
}

FOLLOW_UP_TEXT: dict[str, str] = {
    "engaged": "Engaged (assessment completed): referrals at least 28 days old.",
    "to_assessment": "Days from referral to assessment: referrals at least 28 days old.",
    "completed": "Completed / closed - complied: referrals at least 90 days old.",
    "to_course": "Days from assessment to the course: referrals at least 90 days old.",
    "intelligence_log": "Intelligence logs (not engaged): referrals at least 90 days old.",
    "outcome": "Outcome of an offence (charge, caution, community resolution ...): offences at least 90 days old.",
    "reoffending_6": "Re-detected for possession within 6 months: referrals at least 6 months old.",
    "reoffending_12": "Re-detected for possession within 12 months: referrals at least 12 months old.",
}


def period_end(start: date, every: str) -> date:
    """The last day of the period starting on `start` ("1w", "1mo", "6mo", "1y")."""
    following = pl.Series([start]).dt.offset_by(every)[0]
    return following - timedelta(days=1)


def last_complete_day(as_of: date) -> date:
    """The last day whose records are complete: the as-of date, unless it is today (not over)."""
    from divert.core.clock import today

    return min(as_of, today() - timedelta(days=1))


def provisional(period: pl.Expr, every: str, as_of: date) -> pl.Expr:
    """True where the period that starts at `period` is not over at the end of `as_of` (or is
    not over yet at all: today is never complete)."""
    return (period.dt.offset_by(every) - pl.duration(days=1)) > pl.lit(last_complete_day(as_of))


def with_provisional(frame: pl.DataFrame, as_of: date, every: str = "1mo", column: str = "period") -> pl.DataFrame:
    if column not in frame.columns:
        return frame
    return frame.with_columns(provisional(pl.col(column), every, as_of).fill_null(False).alias("provisional"))


def cut_off(measure: str, as_of: date) -> date:
    """The latest referral (or offence) date that has had the measure's follow-up time."""
    return as_of - timedelta(days=FOLLOW_UP_DAYS[measure])


def mature(date_col: str | pl.Expr, measure: str, as_of: date) -> pl.Expr:
    """True where the cohort dated `date_col` has had its follow-up by `as_of`."""
    col = pl.col(date_col) if isinstance(date_col, str) else date_col
    return col <= pl.lit(cut_off(measure, as_of))
