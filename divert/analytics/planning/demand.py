"""Demand: a referral forecast turned into the work it brings (assessments, course seats,
sessions, worker-days, staff hours) with the planning model's sums (divert.analytics.planning.assumptions),
and the seats scheduled against the seats needed."""

from __future__ import annotations

import polars as pl

from divert.analytics.data.memo import per_snapshot
from divert.analytics.planning.assumptions import Plan, work

LEVELS = (("mean", ""), ("lo_80", "_lo_80"), ("hi_80", "_hi_80"), ("hi_95", "_hi_95"))


@per_snapshot
def demand_from_forecast(forecast: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """The forecast as work: for the central forecast, both ends of the 80% interval and the
    top of the 95% interval (a busy week): assessments, course seats, sessions, worker-days
    and staff hours. Rates are taken as fixed, so the intervals come from referrals alone."""
    out = forecast
    for source, suffix in LEVELS:
        if source in forecast.columns:
            out = out.with_columns(expr.alias(name + suffix) for name, expr in work(pl.col(source), plan).items())
    return out


def work_table(forecast: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """One model's forecast as a week-by-week work table: referrals (central and busy week,
    the top of the 80% interval), assessments, course seats, sessions (central and busy),
    assessment worker-days and staff hours (central and busy)."""
    table = demand_from_forecast(forecast, plan)
    return table.select(
        "week", "weeks_ahead", pl.col("mean").alias("referrals"), pl.col("hi_80").alias("referrals_busy_week"),
        "assessments", "course_seats", "sessions", pl.col("sessions_hi_80").alias("sessions_busy_week"),
        "assessment_worker_days", "staff_hours", pl.col("staff_hours_hi_80").alias("staff_hours_busy_week"),
    )


def work_summary(table: pl.DataFrame) -> dict:
    """Averages a week over a work table, and the busiest week's sessions."""
    if table.is_empty():
        return {"assessments": None, "sessions": None, "sessions_busiest": None, "assessment_worker_days": None,
                "staff_hours": None}
    return {"assessments": float(table["assessments"].mean()), "sessions": float(table["sessions"].mean()),
            "sessions_busiest": float(table["sessions_busy_week"].max()),
            "assessment_worker_days": float(table["assessment_worker_days"].mean()),
            "staff_hours": float(table["staff_hours"].mean())}


SEATS_SCHEMA = {"week": pl.Date, "series": pl.String, "seats": pl.Float64, "low": pl.Float64, "high": pl.Float64,
                "provisional": pl.Boolean}
SCHEDULED, BOOKED, FILLED, NEEDED = ("Seats scheduled", "Seats booked (booked so far, for weeks not over)",
                                     "Seats filled (people who attended)", "Seats needed (forecast)")


@per_snapshot
def seats_against_demand(weekly: pl.DataFrame, needed: pl.DataFrame, weeks_back: int = 26) -> pl.DataFrame:
    """Seats scheduled each week beside the seats booked and filled (weeks over) or booked so
    far (the week the as-of date falls in: provisional; bookings for the weeks after it are
    still coming in, so they are left out rather than drawn as a fall), and the seats the
    forecast needs (weeks ahead, with its
    80% interval), over the last `weeks_back` complete weeks and the forecast horizon.
    `weekly` is capacity.weekly_capacity, `needed` demand_from_forecast for one model.
    Long form: week, series, seats, low, high, provisional."""
    past = weekly.filter(~pl.col("provisional")).tail(weeks_back)
    start = past["week"].min() if past.height else (needed["week"].min() if needed.height else None)
    shown = weekly if start is None else weekly.filter(pl.col("week") >= start)
    if needed.height:
        shown = shown.filter(pl.col("week") <= needed["week"].max())
    booked_shown = shown.filter(~pl.col("scheduled")) if "scheduled" in shown.columns else shown
    parts = [
        shown.select("week", pl.lit(SCHEDULED).alias("series"), pl.col("seats").cast(pl.Float64), "provisional"),
        # bookings for weeks after the as-of week are still coming in: not drawn (never as a fall to none)
        booked_shown.select("week", pl.lit(BOOKED).alias("series"), pl.col("booked").cast(pl.Float64).alias("seats"),
                            "provisional"),
        shown.filter(~pl.col("provisional")).select("week", pl.lit(FILLED).alias("series"),
                                                    pl.col("attended").cast(pl.Float64).alias("seats"), "provisional"),
        needed.select("week", pl.lit(NEEDED).alias("series"), pl.col("course_seats").alias("seats"),
                      pl.col("course_seats_lo_80").alias("low"), pl.col("course_seats_hi_80").alias("high"),
                      pl.lit(True).alias("provisional")),
    ]
    frames = [p.with_columns(*(pl.lit(None, pl.Float64).alias(c) for c in ("low", "high") if c not in p.columns))
              .select(list(SEATS_SCHEMA)).cast(SEATS_SCHEMA) for p in parts]
    return pl.concat(frames).sort("series", "week")
