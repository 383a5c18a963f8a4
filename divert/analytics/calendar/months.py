"""Calendar months for monthly series: the month grid, month ends and the provisional flag.

A month is provisional at an as-of date when it is not complete by then, or when fewer than
`follow_up_days` days have passed since it ended (the time a stage's outcome needs to be
recorded). Provisional months are shown, marked, and left out of every model and alert.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

# The periods every role may choose by name (a viewer may choose only these, with a month-end
# as-of date: published figures are never over dates of the viewer's own choosing).
NAMED_PERIODS = ("Last 12 months", "Last 6 months", "Last 3 months", "Since the programme started", "All time")


def period_bounds(period: str, as_of: date, launch: date) -> tuple[date | None, date | None]:
    """The dates a named period covers, ending on the as-of date. From a month end, the last N
    months are whole calendar months: from 30 November, the last 3 months start on 1 September,
    not on 31 August (a one-day slice of August, published beside the whole of August in a
    longer period, would give a day's counts away by difference)."""
    if period == "All time":
        return None, as_of
    if period == "Since the programme started":
        return launch, as_of
    months = {"Last 12 months": 12, "Last 6 months": 6, "Last 3 months": 3}[period]
    if (as_of + timedelta(days=1)).day == 1:  # a month end (every viewer's): whole calendar months
        return pl.Series([as_of + timedelta(days=1)]).dt.offset_by(f"-{months}mo")[0], as_of
    start = pl.Series([as_of]).dt.offset_by(f"-{months}mo")[0] + timedelta(days=1)
    return start, as_of


def default_as_of(today: date) -> date:
    """The as-of date figures are measured at unless another is chosen, for every role, every
    page, the board pack and `divert metrics`: the last month end before today (today is not
    over, so a month ending today is not complete yet)."""
    yesterday = today - timedelta(days=1)
    return yesterday if (yesterday + timedelta(days=1)).day == 1 else yesterday.replace(day=1) - timedelta(days=1)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return add_months(month_start(month), 1) - timedelta(days=1)


def months_between(first: date, last: date) -> int:
    """Whole months from the month of `first` to the month of `last` (0 for the same month)."""
    return (last.year - first.year) * 12 + last.month - first.month


def month_grid(first: date, last: date) -> list[date]:
    """First days of every month from the month of `first` to the month of `last`."""
    start = month_start(first)
    return [add_months(start, k) for k in range(months_between(start, last) + 1)]


def is_provisional(month: date, as_of: date, follow_up_days: int = 0) -> bool:
    return month_end(month) + timedelta(days=follow_up_days) > as_of


def provisional_expr(month: pl.Expr, as_of: date, follow_up_days: int = 0) -> pl.Expr:
    """True where the month (a Date column of first days) is provisional at as_of."""
    return month.dt.month_end() + pl.duration(days=follow_up_days) > pl.lit(as_of)


def in_window(month: pl.Expr, window: tuple[date, date] | None) -> pl.Expr:
    """True where the month overlaps the window (both ends inclusive); False without a window."""
    if window is None:
        return pl.lit(False)
    first, last = window
    return (month.dt.month_end() >= pl.lit(first)) & (month <= pl.lit(last))
