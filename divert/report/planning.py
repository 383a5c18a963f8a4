"""Capacity and forecast for the board pack: service managers' figures (the Capacity and
Forecast pages, `divert metrics capacity|forecast`). A viewer's pack says where they are
published instead."""

from __future__ import annotations

import polars as pl

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.metrics import METRICS
from divert.analytics.planning import capacity, forecast
from divert.charts import build
from divert.core.disclosure import Gate
from divert.report import figures
from divert.report.blocks import Section, Table, Text, cell, count, number, share

RECENT_WEEKS = 8
WEEKS_AHEAD = 13


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
    out.blocks.append(figures.render(build.forecast_band(forecast.chart_frame(result, forecast.COMBINATION, WEEKS_AHEAD), x_title="Week"),
                                     "referral_forecast", "Referrals a week: recorded and forecast",
                                     "Referrals recorded each week (the last two years) and the forecast (dashed, from "
                                     "the week the as-of date falls in: the average of the two models, used for "
                                     "planning), with the range the week's count should fall in 80 times in 100 "
                                     "(darker band) and 95 times in 100 (lighter band).", width=560))
    table = METRICS["forecast"](frames, filters)
    ahead = table.filter((pl.col("model") == forecast.COMBINATION) & pl.col("weeks_ahead").is_between(1, WEEKS_AHEAD))
    rows = [[f"{r['week']:%-d %b %Y}", number(r["mean"]), f"{r['lo_80']:,.0f} to {r['hi_80']:,.0f}",
             f"{r['lo_95']:,.0f} to {r['hi_95']:,.0f}", number(r["assessments"]), number(r["sessions"]),
             number(r["staff_hours"])] for r in ahead.iter_rows(named=True)]
    out.blocks.append(Table(
        "forecast", f"Referral forecast, the next {WEEKS_AHEAD} weeks",
        "The central forecast of referrals a week with its 80% and 95% prediction intervals, and the work it means at "
        "the service's measured rates: assessments, course sessions and staff hours a week (the average of the two "
        "models). Source: divert metrics forecast." + (f" {result.note}" if result.note else ""),
        ["Week of", "Referrals", "80% interval", "95% interval", "Assessments", "Sessions", "Staff hours"], rows,
        numeric=(1, 2, 3, 4, 5, 6), widths=(16, 12, 16, 16, 14, 12, 14), frame=ahead))
    return out

