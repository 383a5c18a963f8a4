"""The forecast and the course capacity by week, calendar month or calendar quarter over a
horizon of whole periods after the as-of date (divert.analytics.planning.periods), with the work
the forecast means and a total over the horizon: what the Forecast and Capacity pages, the board
pack and `divert metrics forecast|capacity --by` show alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from divert.analytics.calendar.weeks import week_start
from divert.analytics.planning import demand, forecast, periods
from divert.analytics.planning.assumptions import Plan

# --- the forecast ---------------------------------------------------------------------------------------------
WORK = ("assessments", "course_seats", "sessions", "staff_hours")
PERIOD_COLUMNS = ["label", "period", "period_end", "days", "days_forecast", "partial", "in_total", "referrals",
                  "referrals_lo_80", "referrals_hi_80", "referrals_lo_95", "referrals_hi_95", *WORK]


@dataclass(frozen=True)
class Planned:
    """The forecast over a horizon of whole weeks, months or quarters after the as-of date."""

    horizon: periods.Horizon
    table: pl.DataFrame  # one row a period (the lead-in first, partial), then the total row; PERIOD_COLUMNS
    total: dict  # the total row
    weeks: int  # weeks after the as-of week the horizon reaches (for the weekly chart)
    note: str | None  # the partial periods, in words

    @property
    def periods_only(self) -> pl.DataFrame:
        return self.table.filter(pl.col("period").is_not_null())


def _with_work(frame: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    return demand.demand_from_forecast(frame, plan)


def planned(result: forecast.ForecastResult, plan: Plan, grain: str, count: int,
            model: str = forecast.COMBINATION) -> Planned | None:
    """One model's forecast by `grain` over the `count` periods after the as-of date, with the
    work it means at the plan's rates and a total over the horizon (the lead-in period, before
    the horizon starts, is shown and marked, but not in the total). None without a forecast."""
    if result.as_of is None or result.forecast.is_empty():
        return None
    hz = periods.horizon(result.as_of, grain, count)
    weekly = result.model(model).filter(pl.col("week") >= week_start(result.as_of))
    table, total = periods.forecast_periods(weekly, hz)
    rows = table.select(
        "label", "period", "period_end", "days", pl.col("days_covered").alias("days_forecast"), "partial",
        (~pl.col("lead_in")).alias("in_total"), pl.col("mean"), *[pl.col(c) for c in periods.PERIOD_SCHEMA
                                                                  if c.startswith(("lo_", "hi_"))])
    whole = pl.DataFrame([{"label": f"Total, {hz.span()}", "period": None, "period_end": None,
                           "days": total["days"], "days_forecast": total["days_covered"],
                           "partial": total["days_covered"] < total["days"], "in_total": None,
                           **{k: total[k] for k in ("mean", "lo_80", "hi_80", "lo_95", "hi_95")}}],
                         schema=rows.schema)
    both = _with_work(pl.concat([rows, whole]), plan).rename(
        {"mean": "referrals", **{f"{s}_{lv}": f"referrals_{s}_{lv}" for lv in periods.LEVELS for s in ("lo", "hi")}})
    weeks = (week_start(hz.last) - week_start(result.as_of)).days // 7
    return Planned(hz, both.select(PERIOD_COLUMNS), both.row(-1, named=True), weeks,
                   periods.covered_note(table, hz))


# --- the course seats -------------------------------------------------------------------------------------------
PERIODS_BACK = {periods.WEEK: 4, periods.MONTH: 3, periods.QUARTER: 1}  # complete periods shown before the as-of one


def calendar_ends(sessions: pl.DataFrame):
    """The day of the last course session on the calendar, or None."""
    days = sessions.drop_nulls("starts_at")["starts_at"]
    return days.max().date() if days.len() else None


@dataclass(frozen=True)
class SeatsByPeriod:
    """Seats on the calendar against the seats the forecast needs, by week, month or quarter."""

    horizon: periods.Horizon
    table: pl.DataFrame  # periods.CAPACITY_SCHEMA, then a total row over the horizon
    total: dict
    note: str  # the horizon, the partial periods and where the calendar ends, in words

    @property
    def periods_only(self) -> pl.DataFrame:
        return self.table.filter(pl.col("period").is_not_null())


def _total_row(table: pl.DataFrame, needed: pl.DataFrame, hz: periods.Horizon) -> dict:
    inside = table.filter(pl.col("period").is_between(hz.first, hz.last))
    weekly = needed.select("week", pl.col("course_seats").alias("mean"), pl.col("course_seats_hi_80").alias("hi_80"),
                           pl.col("course_seats_hi_95").alias("hi_95")) if needed.height else needed
    whole = periods.total(weekly, hz.first, hz.last) if needed.height else {"mean": None, "lo_80": None,
                                                                              "hi_80": None, "days_covered": 0}
    statuses = inside["schedule"].to_list()
    status = (periods.NOT_YET if set(statuses) == {periods.NOT_YET} else
              periods.SO_FAR if periods.NOT_YET in statuses or periods.SO_FAR in statuses else periods.SCHEDULED)
    known = inside.drop_nulls("seats")
    return {"period": None, "period_end": None, "label": f"Total, {hz.span()}", "days": (hz.last - hz.first).days + 1,
            "partial": status != periods.SCHEDULED, "schedule": status,
            "sessions": int(known["sessions"].sum()) if known.height else None,
            "seats": int(known["seats"].sum()) if known.height else None,
            "booked": int(known["booked"].sum()) if known.height else None, "attended": None,
            "seats_needed": whole["mean"], "needed_lo_80": whole["lo_80"], "needed_hi_80": whole["hi_80"],
            "needed_days": whole["days_covered"]}


def seats_by_period(sessions: pl.DataFrame, result: forecast.ForecastResult, plan: Plan, as_of: date, grain: str,
                    count: int) -> SeatsByPeriod:
    """Course seats by `grain`: the last complete periods (PERIODS_BACK), the one the as-of
    date falls in (partial) and the `count` whole periods after it (the horizon), each with
    the sessions, seats, bookings (so far, ahead) and attendance on the calendar and the seats
    the referral forecast needs (the average of the two forecasts, at the plan's rates); a
    period after the last session on the calendar is 'not yet scheduled' (blank, not zero).
    The last row is the total over the horizon (the seats on the calendar so far, when the
    calendar stops inside it)."""
    hz = periods.horizon(as_of, grain, count)
    start = periods.period_start(as_of, grain)
    for _ in range(PERIODS_BACK[grain]):
        start = periods.period_start(start - timedelta(days=1), grain)
    weekly = result.model(forecast.COMBINATION).filter(pl.col("week") >= week_start(as_of)) \
        if result.as_of is not None else pl.DataFrame()
    needed = demand.demand_from_forecast(weekly, plan) if weekly.height else pl.DataFrame()
    table = periods.capacity_periods(sessions, needed, as_of, grain, start, hz.last)
    total = _total_row(table, needed, hz)
    notes = [hz.words("Seats planned") + "."]
    if table.filter(pl.col("partial")).height:
        notes.append("Partial periods (the one the as-of date falls in, held so far and forecast for the days after "
                     "it) are pale.")
    ends = periods.schedule_note(table, calendar_ends(sessions))
    if ends:
        notes.append(ends)
    if total["needed_days"] and total["needed_days"] < total["days"]:
        notes.append(f"The forecast covers {total['needed_days']} of the {total['days']} days.")
    both = pl.concat([table, pl.DataFrame([total], schema=periods.CAPACITY_SCHEMA)])
    return SeatsByPeriod(hz, both, total, " ".join(notes))
