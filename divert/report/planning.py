"""Capacity and forecast for the board pack: service managers' figures (the Capacity and
Forecast pages, `divert metrics capacity|forecast [--by month]`), the forecast and the course
seats by calendar month over the three whole months after the as-of date, with totals. A
viewer's pack says where they are published instead."""

from __future__ import annotations

import polars as pl

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.metrics import METRICS
from divert.analytics.planning import by_period, capacity, forecast, periods
from divert.analytics.planning.assumptions import plan_from_rates
from divert.analytics.planning.rates import rates_for
from divert.charts import build, planning
from divert.core import wording
from divert.core.disclosure import Gate
from divert.report import figures
from divert.report.blocks import Section, Table, Text, cell, count, interval, number, share

RECENT_WEEKS = 8
MONTHS_AHEAD = 3  # the three whole calendar months after the as-of date


def section(frames: Frames, filters: Filters, gate: Gate, settings) -> Section:
    out = Section("planning", "Capacity and forecast")
    if not gate.exact:
        out.blocks.append(Text("Capacity and the referral forecast are published to service managers (the Capacity and "
                               "Forecast pages); they are not part of the published pack."))
        return out
    as_of = filters.as_of_date
    weekly = METRICS["capacity"](frames, filters)
    if weekly.is_empty():
        out.blocks.append(Text("No referrals or course sessions are recorded in the period."))
    else:
        shown_from, shown_to = capacity.chart_window(filters, as_of)
        queue = weekly.filter(~pl.col("provisional") & ~pl.col("in_gap") & pl.col("week").is_between(shown_from, shown_to))
        queue = queue.select("week", "course_allocations", "booked", "waiting_list")
        if queue.height:
            out.blocks.append(figures.render(
                build.line(queue, "week", "waiting_list", y_title="People waiting", x_title="Week", every="1w"),
                "course_waiting_list", "Course waiting list",
                "People allocated to the group course but not yet booked on a session, at the end of each complete "
                "week of the period (people whose referral closed first leave the list). Weeks in a gap in the "
                "records are left blank."))
        recent = weekly.filter(pl.col("week") <= as_of).tail(RECENT_WEEKS)
        rows = [[f"{r['week']:%-d %b %Y}" + (" (not over)" if r["provisional"] else ""), cell(r, "referrals", count),
                 cell(r, "assessments", count), cell(r, "sessions", count), cell(r, "seats", count),
                 cell(r, "attended", count), cell(r, "seats_filled", share), cell(r, "waiting_list", count),
                 cell(r, "working_days_to_assessment_median", number), cell(r, "days_to_course_median", number)]
                for r in recent.iter_rows(named=True)]
        out.blocks.append(Table(
            "capacity", f"Capacity, the last {RECENT_WEEKS} weeks to the as-of date",
            f"Week by week (weeks start on Monday). Targets: assessment within {settings.target_days_to_assessment} "
            f"working days of referral, a course within {settings.target_days_to_course} days of assessment. Waits "
            "are medians of the people who reached the step that week. Source: divert metrics capacity.",
            ["Week of", "Referrals", "Assessed", "Sessions", "Seats", "Attended", "Seats filled", "Waiting for a course",
             "Days to assessment (working)", "Days to course"], rows, counts=(1, 2, 3, 4, 5, 7),
            numeric=tuple(range(1, 10)), widths=(14, 10, 10, 10, 7, 10, 8, 10, 12, 9), frame=recent))
    result = forecast.referrals_forecast(frames, filters, with_backtest=False)
    if result.forecast.is_empty():
        out.blocks.append(Text(result.note or "There is not enough history to forecast referrals."))
        return out
    plan = plan_from_rates(rates_for(frames, filters))
    planned = by_period.planned(result, plan, periods.MONTH, MONTHS_AHEAD)
    out.blocks.append(figures.render(
        planning.forecast_band(forecast.chart_frame(result, forecast.COMBINATION, planned.weeks), x_title="Week"),
        "referral_forecast", "Referrals a week: recorded and forecast",
        "Referrals recorded each week (the last two years) and the forecast (dashed, from the week the as-of date "
        f"falls in to the week of {wording.day(planned.horizon.last)}: the average of the two models, used for "
        "planning), with the range the week's count should fall in 80 times in 100 (darker band) and 95 times in "
        "100 (lighter band).", width=560))
    out.blocks.append(_forecast_table(planned, result.note))
    sessions = capacity.snapshot(frames, filters)[0].sessions  # as they stood at the as-of date
    out.blocks.append(_seats_table(by_period.seats_by_period(sessions, result, plan, as_of, periods.MONTH,
                                                             MONTHS_AHEAD)))
    return out


def _period_name(row: dict) -> str:
    return row["label"] + (" (partial)" if row["partial"] and row["period"] is not None else "")


def _forecast_table(planned: by_period.Planned, note: str | None) -> Table:
    rows = [[_period_name(r), number(r["referrals"]), f"{r['referrals_lo_80']:,.0f} to {r['referrals_hi_80']:,.0f}",
             f"{r['referrals_lo_95']:,.0f} to {r['referrals_hi_95']:,.0f}", number(r["assessments"]),
             number(r["sessions"]), number(r["staff_hours"])] for r in planned.table.iter_rows(named=True)]
    return Table(
        "forecast", f"Referral forecast by calendar month: {planned.horizon.span()}",
        f"{planned.horizon.words()}. The central forecast of referrals in each calendar month with its 80% and 95% "
        "prediction intervals, and the work it means at the service's measured rates: assessments, course sessions "
        "and staff hours (the average of the two models); the last row is the total over the three months. "
        f"{periods.METHOD}" + (f" {planned.note}" if planned.note else "")
        + " Source: divert metrics forecast --by month." + (f" {note}" if note else ""),
        ["Month", "Referrals", "80% interval", "95% interval", "Assessments", "Sessions", "Staff hours"], rows,
        numeric=(1, 2, 3, 4, 5, 6), widths=(22, 11, 14, 14, 13, 11, 12), frame=planned.table)


def _seats_table(seats: by_period.SeatsByPeriod) -> Table:
    rows = [[_period_name(r), r["schedule"], cell(r, "sessions", count), cell(r, "seats", count), cell(r, "booked", count),
             cell(r, "attended", count), cell(r, "seats_needed", number),
             interval(r, "needed_lo_80", "needed_hi_80", lambda v: f"{v:,.0f}")]
            for r in seats.table.iter_rows(named=True)]
    return Table(
        "seats_by_month", f"Course seats by calendar month: {seats.horizon.span()}",
        f"{seats.note} Seats on the calendar ('-' where nothing is scheduled yet), booked (so far, for sessions "
        "ahead) and attended (sessions held), "
        "against the seats the referral forecast needs (people allocated to the course who will attend) with its "
        "80% interval; the last row is the total over the three months. Source: divert metrics capacity --by month.",
        ["Month", "Calendar", "Sessions", "Seats", "Booked", "Attended", "Seats needed", "80% interval"], rows,
        numeric=(2, 3, 4, 5, 6, 7), widths=(22, 14, 9, 8, 8, 9, 10, 12), frame=seats.table)
