"""Volume: recorded possession offences and referrals over time, and their breakdowns."""

from __future__ import annotations

from datetime import date

import polars as pl

from divert.analytics.data.filters import POLICY_START
from divert.analytics.data.memo import per_snapshot


@per_snapshot
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
                 months: int = 12) -> pl.DataFrame:
    """Recorded offences in the `months` complete months before the launch against the same
    number of months from it (equal windows; fewer on both sides if fewer are complete after).
    The rate ratio comes from a Poisson regression with month-of-year effects (seasonally
    adjusted) and its 95% interval allows for overdispersion (quasi-Poisson: the variance is
    scaled by the Pearson chi-squared over its degrees of freedom)."""
    before = monthly.filter(pl.col("period") < policy_start).sort("period").tail(months)
    after = monthly.filter(pl.col("period") >= policy_start).sort("period").head(months)
    n = min(before.height, after.height)
    before, after = before.tail(n), after.head(n)
    a, b = (int(after[column].sum()), int(before[column].sum())) if n else (0, 0)
    ratio = low = high = dispersion = None
    if n >= 2 and a and b:
        ratio, low, high, dispersion = _seasonal_ratio(pl.concat([before, after]), column, policy_start)

    def pct(x):
        return None if x is None else (x - 1) * 100

    return pl.DataFrame({
        "before_start": [before["period"].min() if n else None], "before_end": [_month_end(before["period"].max()) if n else None],
        "after_start": [after["period"].min() if n else None], "after_end": [_month_end(after["period"].max()) if n else None],
        "months_before": [n], "offences_before": [b], "mean_before": [b / n if n else None],
        "months_after": [n], "offences_after": [a], "mean_after": [a / n if n else None],
        "change_pct": [pct(ratio)], "ci_low_pct": [pct(low)], "ci_high_pct": [pct(high)], "dispersion": [dispersion],
        "seasonally_adjusted": [n > 0 and n % 12 == 0],
    }, schema={"before_start": pl.Date, "before_end": pl.Date, "after_start": pl.Date, "after_end": pl.Date,
               "months_before": pl.Int64, "offences_before": pl.Int64, "mean_before": pl.Float64,
               "months_after": pl.Int64, "offences_after": pl.Int64,
               "mean_after": pl.Float64, "change_pct": pl.Float64, "ci_low_pct": pl.Float64,
               "ci_high_pct": pl.Float64, "dispersion": pl.Float64, "seasonally_adjusted": pl.Boolean})


def _month_end(day: date | None) -> date | None:
    return None if day is None else pl.Series([day]).dt.month_end()[0]


def _seasonal_ratio(series: pl.DataFrame, column: str, policy_start: date):
    """exp(coefficient of 'after') in log E[count] = month-of-year + after, quasi-Poisson."""
    import numpy as np
    import statsmodels.api as sm

    y = series[column].to_numpy().astype(float)
    after = (series["period"] >= policy_start).to_numpy().astype(float)
    month = series["period"].dt.month().to_numpy()
    # month-of-year effects only when each window covers whole years (else they are confounded
    # with the launch: a shorter window is compared without seasonal adjustment)
    seasons = sorted(set(month))[1:] if len(y) % 24 == 0 else []
    X = np.column_stack([np.ones_like(y), after, *[(month == m).astype(float) for m in seasons]])
    model = sm.GLM(y, X, family=sm.families.Poisson())
    try:
        fit = model.fit(scale="X2")
    except ValueError:  # a perfect fit (no variation at all): nothing to scale the variance by
        fit = model.fit()
    beta, se = fit.params[1], fit.bse[1]
    dispersion = float(fit.scale)
    if not np.isfinite(se):
        return float(np.exp(beta)), None, None, dispersion
    return float(np.exp(beta)), float(np.exp(beta - 1.959964 * se)), float(np.exp(beta + 1.959964 * se)), dispersion


@per_snapshot
def breakdown(frame: pl.DataFrame, by: str) -> pl.DataFrame:
    """Count and share of rows by one column; missing values are their own category."""
    total = frame.height
    counts = frame.group_by(pl.col(by).fill_null("Missing").cast(pl.String).alias(by)).len(name="count")
    return counts.with_columns(
        (pl.col("count") / total if total else pl.lit(None, pl.Float64)).alias("share")
    ).sort(["count", by], descending=[True, False])  # ties by name: the same order on every run


def before_the_launch(table: pl.DataFrame, column: str, launch: date | None, every: str = "1mo") -> pl.DataFrame:
    """`column` (referrals) left empty, not 0, in periods that ended before the programme's
    launch with none counted: the programme had not started, so there was nothing to count (and a
    0 there is not a figure to show, or to hide as a small one)."""
    if launch is None or table.is_empty():
        return table
    ended = pl.col("period").dt.offset_by(every).cast(pl.Date) <= launch
    return table.with_columns(pl.when(ended & (pl.col(column) == 0)).then(None).otherwise(pl.col(column)).alias(column))


@per_snapshot
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


LAUNCH_JUMP_LABEL = "Change in recorded possession offences at the launch"
LAUNCH_JUMP_MONTHS = 12


def launch_jump(offences: pl.DataFrame, *, launch: date, as_of: date, months: int = LAUNCH_JUMP_MONTHS) -> pl.DataFrame:
    """The launch jump, defined once: recorded possession offences in the `months` complete
    months before the launch against as many from it (seasonally adjusted; level_change), as a
    percentage change with its 95% interval. The Volume page, the Impact page's recording check,
    the launch planner and `divert metrics volume-change` all show this figure."""
    from divert.analytics.calendar.maturity import with_provisional

    monthly = with_provisional(per_period(offences, "offence_date"), as_of)
    complete = monthly.filter(~pl.col("provisional")).drop("provisional")
    return level_change(complete, policy_start=launch, months=months)


def launch_jump_text(row: dict) -> str | None:
    """'+29% (95% interval +22% to +36%)', or None without an estimate."""
    if row.get("change_pct") is None:
        return None
    text = f"{row['change_pct']:+.0f}%"
    if row.get("ci_low_pct") is not None and row.get("ci_high_pct") is not None:
        text += f" (95% interval {row['ci_low_pct']:+.0f}% to {row['ci_high_pct']:+.0f}%)"
    return text
