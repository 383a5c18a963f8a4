"""Volume: recorded possession offences and referrals over time, and their breakdowns."""

from __future__ import annotations

from datetime import date

import polars as pl

from divert.analytics.filters import POLICY_START
from divert.analytics.intervals import rate_ratio


def per_period(frame: pl.DataFrame, date_column: str, every: str = "1mo", name: str = "count",
               start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Counts per calendar month ("1mo") or ISO week ("1w", Monday start), zero-filled."""
    day = pl.col(date_column)
    if frame.schema.get(date_column) != pl.Date:
        day = day.dt.date()
    days = frame.select(day.alias("day")).drop_nulls()
    if days.is_empty() and not (start and end):
        return pl.DataFrame(schema={"period": pl.Date, name: pl.UInt32})
    counts = days.group_by(pl.col("day").dt.truncate(every).alias("period")).len(name=name)
    first = start or days["day"].min()
    last = end or days["day"].max()
    bounds = pl.Series([first, last], dtype=pl.Date).dt.truncate(every)
    spine = pl.DataFrame({"period": pl.date_range(bounds[0], bounds[1], every, eager=True)})
    return spine.join(counts, on="period", how="left").with_columns(pl.col(name).fill_null(0).cast(pl.UInt32))


def complete_weeks(weekly: pl.DataFrame, last_day: date | None) -> pl.DataFrame:
    """Drop the final week if the data stop before its Sunday (a part week reads as a fall)."""
    if weekly.is_empty() or last_day is None:
        return weekly
    return weekly.filter(pl.col("period").dt.offset_by("6d") <= last_day)


def level_change(monthly: pl.DataFrame, column: str = "count", policy_start: date = POLICY_START,
                 months: int | None = None) -> pl.DataFrame:
    """Mean monthly level before and after the policy, the % change, and its 95% interval
    (Poisson rate ratio). `months` limits each side to that many months next to the start."""
    before = monthly.filter(pl.col("period") < policy_start)
    after = monthly.filter(pl.col("period") >= policy_start)
    if months:
        before, after = before.tail(months), after.head(months)
    a, ta = int(after[column].sum()), after.height
    b, tb = int(before[column].sum()), before.height
    ratio, low, high = rate_ratio(a, ta, b, tb) if ta and tb else (None, None, None)
    def pct(x):
        return (None if x is None else (x - 1) * 100)
    return pl.DataFrame({
        "months_before": [tb], "mean_before": [b / tb if tb else None],
        "months_after": [ta], "mean_after": [a / ta if ta else None],
        "change_pct": [pct(ratio)], "ci_low_pct": [pct(low)], "ci_high_pct": [pct(high)],
    }, schema={"months_before": pl.Int64, "mean_before": pl.Float64, "months_after": pl.Int64,
               "mean_after": pl.Float64, "change_pct": pl.Float64, "ci_low_pct": pl.Float64,
               "ci_high_pct": pl.Float64})


def breakdown(frame: pl.DataFrame, by: str) -> pl.DataFrame:
    """Count and share of rows by one column; missing values are their own category."""
    total = frame.height
    counts = frame.group_by(pl.col(by).fill_null("Missing").cast(pl.String).alias(by)).len(name="count")
    return counts.with_columns(
        (pl.col("count") / total if total else pl.lit(None, pl.Float64)).alias("share")
    ).sort("count", descending=True)


def per_period_by(frame: pl.DataFrame, date_column: str, by: str, every: str = "1mo") -> pl.DataFrame:
    """Counts per period for each value of `by` (small multiples), zero-filled."""
    if frame.is_empty():
        return pl.DataFrame(schema={"period": pl.Date, by: pl.String, "count": pl.UInt32})
    parts = []
    for (value,), part in frame.group_by(by):
        counted = per_period(part, date_column, every, start=_first(frame, date_column), end=_last(frame, date_column))
        parts.append(counted.with_columns(pl.lit(value if value is not None else "Missing").cast(pl.String).alias(by)))
    return pl.concat(parts).select("period", by, "count").sort(by, "period")


def _first(frame, column):
    value = frame[column].min()
    return value.date() if hasattr(value, "date") and not isinstance(value, date) else value


def _last(frame, column):
    value = frame[column].max()
    return value.date() if hasattr(value, "date") and not isinstance(value, date) else value
