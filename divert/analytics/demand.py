"""Demand: referrals turned into the work they bring (assessments, course seats, sessions,
workers, staff hours), from a forecast; and seats scheduled against the seats needed."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from divert.analytics.capacity import DAYS_PER_WORKING_WEEK


# --- demand ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Conversion:
    """How referrals turn into work. Percentages are 0-100."""
    engagement_pct: float
    course_pct: float
    no_show_pct: float
    seats_per_session: float
    assessments_per_worker_day: float
    working_hours_per_day: float = 7.5
    facilitator_hours_per_session: float = 3.5  # a 2.5-hour session and an hour's preparation

    @property
    def hours_per_assessment(self) -> float:
        return self.working_hours_per_day / self.assessments_per_worker_day if self.assessments_per_worker_day > 0 else 0.0


def demand(referrals: pl.Expr, c: Conversion) -> dict[str, pl.Expr]:
    """Expressions turning a referrals column into weekly work:
    assessments = referrals x engagement; course seats = assessments x course share x
    attendance (1 - no-shows: seats are planned for the people who will attend);
    sessions = seats / seats per session; assessment worker days = assessments / pace;
    staff hours = assessment hours + facilitator hours."""
    assessments = referrals * (c.engagement_pct / 100)
    seats = assessments * (c.course_pct / 100) * (1 - c.no_show_pct / 100)
    sessions = seats / c.seats_per_session if c.seats_per_session > 0 else pl.lit(None, pl.Float64)
    hours = assessments * c.hours_per_assessment + sessions * c.facilitator_hours_per_session
    workers = assessments / (c.assessments_per_worker_day * DAYS_PER_WORKING_WEEK) if c.assessments_per_worker_day > 0 \
        else pl.lit(None, pl.Float64)
    return {"assessments": assessments, "course_seats": seats, "sessions": sessions,
            "assessment_workers": workers, "staff_hours": hours}


def demand_from_forecast(forecast: pl.DataFrame, c: Conversion) -> pl.DataFrame:
    """The forecast as work: for the central forecast, both ends of the 80% interval and the
    top of the 95% interval (a busy week), assessments, course seats, sessions, workers and staff hours.
    Rates are taken as fixed, so the intervals come from referrals alone."""
    out = forecast
    for source, suffix in (("mean", ""), ("lo_80", "_lo_80"), ("hi_80", "_hi_80"), ("hi_95", "_hi_95")):
        out = out.with_columns(expr.alias(name + suffix) for name, expr in demand(pl.col(source), c).items())
    return out


def work_table(forecast: pl.DataFrame, c: Conversion) -> pl.DataFrame:
    """One model's forecast as a week-by-week work table: referrals (central and busy week,
    the top of the 80% interval), assessments, course seats, sessions (central and busy),
    assessment workers and staff hours (central and busy)."""
    work = demand_from_forecast(forecast, c)
    return work.select(
        "week", "weeks_ahead", pl.col("mean").alias("referrals"), pl.col("hi_80").alias("referrals_busy_week"),
        "assessments", "course_seats", "sessions", pl.col("sessions_hi_80").alias("sessions_busy_week"),
        "assessment_workers", "staff_hours", pl.col("staff_hours_hi_80").alias("staff_hours_busy_week"),
    )


def work_summary(table: pl.DataFrame) -> dict:
    """Averages a week over a work table, and the busiest week's sessions."""
    if table.is_empty():
        return {"sessions": None, "sessions_busiest": None, "assessment_workers": None, "staff_hours": None}
    return {"sessions": float(table["sessions"].mean()), "sessions_busiest": float(table["sessions_busy_week"].max()),
            "assessment_workers": float(table["assessment_workers"].mean()),
            "staff_hours": float(table["staff_hours"].mean())}


def seats_against_demand(weekly: pl.DataFrame, needed: pl.DataFrame, weeks_back: int = 26) -> pl.DataFrame:
    """Seats scheduled each week beside the seats people filled (past weeks) and the seats the
    forecast needs (future weeks, with its 80% interval), over the last `weeks_back` weeks of
    the record and the forecast horizon. `needed` is demand_from_forecast for one model.
    Long form: week, series, seats, low, high."""
    schema = {"week": pl.Date, "series": pl.String, "seats": pl.Float64, "low": pl.Float64, "high": pl.Float64}
    first_ahead = needed["week"].min() if needed.height else None
    past = weekly.filter(~pl.col("scheduled"))
    if first_ahead is not None:
        past = past.filter(pl.col("week") < first_ahead)
    past = past.tail(weeks_back)
    start = past["week"].min() if past.height else first_ahead
    scheduled = weekly if start is None else weekly.filter(pl.col("week") >= start)
    if first_ahead is not None:
        scheduled = scheduled.filter(pl.col("week") <= needed["week"].max())
    parts = [
        scheduled.select("week", pl.lit("Seats scheduled").alias("series"), pl.col("seats").cast(pl.Float64)),
        past.select("week", pl.lit("Seats filled (people who attended)").alias("series"),
                    pl.col("attended").cast(pl.Float64).alias("seats")),
        needed.select("week", pl.lit("Seats needed (forecast)").alias("series"), pl.col("course_seats").alias("seats"),
                      pl.col("course_seats_lo_80").alias("low"), pl.col("course_seats_hi_80").alias("high")),
    ]
    frames = [p.with_columns(*(pl.lit(None, pl.Float64).alias(c) for c in ("low", "high") if c not in p.columns))
              .select(list(schema)).cast(schema) for p in parts]
    return pl.concat(frames).sort("series", "week")
