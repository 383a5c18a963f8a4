"""What the Reoffending page shows: the share of referred people with a further possession
offence within 6 and 12 months, by how the referral ended, through the disclosure gate for the
user's role with the finding for its title; and, for the exact roles, the time to a further
offence (a Kaplan-Meier curve)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from divert.analytics.dashboards import reoffending
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.partition import gated_table
from divert.analytics.metrics import GATES, reoffending_table
from divert.core.disclosure import Gate

WHO = {"Closed - complied": "who complied", "Closed - not engaged": "who did not engage"}


@dataclass(frozen=True)
class Rates:
    """The rates for the chart (with `within`, "6 months"...), the same as the table shows
    them, the windows in order, and the title."""
    chart: pl.DataFrame
    table: pl.DataFrame
    windows: list[str]
    title: str


@dataclass(frozen=True)
class Curve:
    """The survival curve (months since referral added for the chart), the lowest share the
    axis starts at, and the curve as the table shows it."""
    chart: pl.DataFrame
    floor: float
    table: pl.DataFrame


def rates(data: Frames, filters: Filters, gate: Gate) -> Rates:
    """The share re-detected within each window by how the referral ended, gated; the title
    gives the 6-month shares of both groups when both are shown."""
    table = gated_table(gate, lambda f: reoffending_table(data, f), data, filters, **GATES["reoffending"])
    table = table.with_columns(within=pl.col("months").cast(pl.String) + " months")
    windows = [f"{m} months" for m in sorted(set(table["months"].to_list()))] if table.height else []
    six = table.filter(pl.col("months") == 6).drop_nulls("rate")
    title = "Re-detected for possession within 6 and 12 months"
    if six.height == 2:
        shares = dict(zip(six["status"].to_list(), six["rate"].to_list(), strict=True))
        title = ("Within 6 months, " + " and ".join(f"{v:.0%} of those {WHO.get(k, k)}" for k, v in shares.items())
                 + " had a further possession offence")
    return Rates(table, table.drop("within"), windows, title)


def time_to_offence(data: Frames, filters: Filters) -> Curve | None:
    """The share still without a further offence by time since referral, for each way a
    referral ended, followed to the as-of date (None when nothing has been referred); the axis
    floor is the lowest interval rounded down to 5%. Ungated: for the exact roles only."""
    if data.referrals.is_empty():
        return None
    curve = reoffending.kaplan_meier(filters.apply(data.referrals, "referred_on"), data.offences, filters.as_of_date)
    curve = curve.with_columns(months=curve["days"] / reoffending.DAYS_PER_MONTH)
    lowest = curve["low"].drop_nulls().min() if curve.height else None
    floor = max(0.0, math.floor((lowest if lowest is not None else 0.0) * 20) / 20)
    return Curve(curve, floor, curve.select("status", "days", "still_without_offence", "low", "high", "at_risk"))
