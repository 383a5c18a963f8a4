"""The planning pages' charts (Capacity, Forecast, Scenario planner, Launch planner): each builder
takes the read model's polars frame (and plain values) and returns the Altair chart, so that the
pages only read their filters, call the read model and hand the result to a builder and a table.
Shaping that only feeds a chart (a long form, a split into layers) is done here; where the page
also offers the long form as the chart's table, a `*_frame` function here makes it.

The forecast's main chart is divert.charts.build.forecast_band (the board pack draws it too)."""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from divert.analytics.calendar.weeks import week_start
from divert.analytics.planning import demand, forecast
from divert.charts import build
from divert.charts.reuse import reused
from divert.core import wording

WEEK_OF = "%-d %b %Y"  # a week in a tooltip: "6 Oct 2025"


def _week_x() -> alt.X:
    return alt.X("week:T", title="", axis=build.date_axis("1w"))


def _dates(frame: pl.DataFrame, column: str = "week") -> str:
    """" from 6 Oct 2025 to 29 Dec 2025": the dates a chart spans, for its text description."""
    days = frame[column].drop_nulls() if column in frame.columns else pl.Series([], dtype=pl.Date)
    return f" from {wording.day(days.min())} to {wording.day(days.max())}" if days.len() else ""


def _described(chart, text: str):
    """The chart with its text alternative (Vega-Lite `description`), on the outermost chart."""
    return chart.properties(description=text)


# --- Capacity ---------------------------------------------------------------------------------------------

SEAT_USE = {"seat_use": "Seats booked (so far, for weeks not over)", "seats_filled": "Seats filled (people who attended)"}
STATISTICS = {"median": "Median", "p90": "90th percentile"}


@reused
def seats_against_demand(seats: pl.DataFrame, calendar_ends: date | None = None) -> alt.LayerChart:
    """Seats scheduled each week (grey bars, lighter for weeks not over), the forecast's 80%
    interval of the seats needed (grey band) and lines of seats booked, filled and needed; a
    dashed grey rule at the week of the last session on the calendar (`calendar_ends`), after
    which nothing is scheduled yet. `seats` is
    divert.analytics.planning.demand.seats_against_demand's frame."""
    lines = seats.filter(pl.col("series") != demand.SCHEDULED)
    scheduled = alt.Chart(seats.filter(pl.col("series") == demand.SCHEDULED)).mark_bar(color=build.GREY).encode(
        x=_week_x(), y=alt.Y("seats:Q", title="Seats a week"),
        opacity=alt.condition("datum.provisional", alt.value(0.18), alt.value(0.4)),
        tooltip=[alt.Tooltip("week:T", title="Week of", format=WEEK_OF),
                 alt.Tooltip("seats:Q", title="Seats scheduled", format=",.0f"),
                 alt.Tooltip("provisional:N", title="Week not over")])
    band = alt.Chart(lines.drop_nulls("low")).mark_area(opacity=0.2, color=build.GREY).encode(
        x=alt.X("week:T", axis=build.date_axis("1w")), y=alt.Y("low:Q", title="Seats a week"), y2="high:Q",
        tooltip=[alt.Tooltip("week:T", title="Week of", format=WEEK_OF),
                 alt.Tooltip("low:Q", title="80% interval from", format=",.0f"),
                 alt.Tooltip("high:Q", title="80% interval to", format=",.0f")])
    chart = scheduled + band + build.line(lines, "week", "seats", y_title="Seats a week", color="series",
                                          color_title="", x_title="", every="1w", labels=False,
                                          order=[demand.BOOKED, demand.FILLED, demand.NEEDED])
    text = (f"Bar chart of seats scheduled a week{_dates(seats)}, with lines of seats booked, seats filled and the "
            "seats the forecast needs (with its 80% range)")
    shown_to = seats["week"].max() if seats.height else None
    if calendar_ends is None or shown_to is None or week_start(calendar_ends) >= shown_to:
        return _described(chart, text + ".")
    end = pl.DataFrame({"week": [week_start(calendar_ends)], "what": [f"Last session on the calendar: "
                                                                      f"{calendar_ends:%-d %b %Y}"]})
    return _described(chart + alt.Chart(end).mark_rule(color=build.GREY, strokeDash=[6, 4], strokeWidth=2).encode(
        x=_week_x(), tooltip=[alt.Tooltip("what:N", title="")]),
        f"{text}; a dashed line marks the last session on the calendar, {wording.day(calendar_ends)}.")


@reused
def seat_use(use: pl.DataFrame) -> alt.LayerChart:
    """Seats booked and seats filled as a share of the seats scheduled, week by week. `use` is
    divert.analytics.planning.capacity.weekly_capacity's frame (the weeks with seats)."""
    long = use.unpivot(index=["week", "provisional", "sessions", "seats", "booked", "attended"],
                       on=list(SEAT_USE), variable_name="measure", value_name="share")
    long = long.with_columns(pl.col("measure").replace_strict(SEAT_USE))
    return _described(build.line(long, "week", "share", y_title="Share of seats", color="measure",
                                 color_title="Measure", x_title="", share=True, every="1w",
                                 order=list(SEAT_USE.values()), labels=False),
                      f"Line chart of the share of seats booked and filled each week{_dates(use)}.")


@reused
def weekly_waits(part: pl.DataFrame, *, unit: str, target: int | float) -> alt.LayerChart:
    """The median and 90th percentile wait each week against the target (dashed grey). `part` is
    one measure of divert.analytics.planning.capacity.weekly_waits's frame (its `measure` dropped)."""
    long = part.unpivot(index=["week", "people", "provisional"], on=list(STATISTICS), variable_name="statistic",
                        value_name="days")
    long = long.with_columns(pl.col("statistic").replace_strict(STATISTICS))
    rule = build.target_rule(float(target), f"Target: {target}")
    return _described(build.line(long, "week", "days", y_title=unit, color="statistic", color_title="Statistic",
                                 x_title="", order=["90th percentile", "Median"], tooltip_format=",.1f", every="1w")
                      + rule, f"Line chart of the median and 90th percentile wait in {unit.lower()} each week"
                              f"{_dates(part)}, against the target of {target}.")


@reused
def assessments_per_worker(load: pl.DataFrame) -> alt.LayerChart:
    """Assessments each worker completed (horizontal bars, most first). `load` is
    divert.analytics.planning.capacity.worker_load's frame."""
    return _described(build.bars(load, "worker", "assessments", y_title="Assessments", x_title="", horizontal=True, sort="-x",
                      tooltip_extra=[alt.Tooltip("per_worker_day:Q", title="Per worker-day", format=".2f"),
                                     alt.Tooltip("weeks_active:Q", title="Weeks with an assessment"),
                                     alt.Tooltip("share:Q", title="Share", format=".0%")]),
                      "Horizontal bar chart of the assessments each worker completed, most first.")


# --- Scenario planner -------------------------------------------------------------------------------------

WAITS = ["Referral to assessment (working days)", "Assessment to course (days)"]
QUEUES = {"assessment_queue": "Waiting for an assessment", "course_queue": "Waiting for a course"}
FLOWS = {"course_arrivals": "Course: people allocated", "course_capacity": "Course: places (bookings a week)",
         "assessment_arrivals": "Assessment: people to assess", "assessment_capacity": "Assessment: capacity"}
FLOW_ORDER = ["Assessment: people to assess", "Assessment: capacity", "Course: people allocated",
              "Course: places (bookings a week)"]


def projected_waits_frame(projection: pl.DataFrame, target_days_to_assessment: int | float,
                          target_days_to_course: int | float) -> pl.DataFrame:
    """The two projected waits in long form (week, weeks_ahead, wait, days, target): the chart's
    data and its table. `projection` is divert.analytics.planning.queue.project's frame."""
    return pl.concat([
        projection.select("week", "weeks_ahead", pl.lit(WAITS[0]).alias("wait"),
                          pl.col("wait_to_assessment").alias("days"),
                          pl.lit(float(target_days_to_assessment)).alias("target")),
        projection.select("week", "weeks_ahead", pl.lit(WAITS[1]).alias("wait"),
                          pl.col("wait_to_course").alias("days"), pl.lit(float(target_days_to_course)).alias("target")),
    ])


@reused
def projected_waits(waits: pl.DataFrame) -> alt.LayerChart:
    """Each projected wait week by week (solid, with points) against its target (dashed, the
    same colour). `waits` is projected_waits_frame's frame."""
    colour = alt.Color("wait:N", title="", scale=alt.Scale(domain=WAITS, range=build.PALETTE[:2]),
                       legend=build.legend(WAITS))
    week_x = _week_x()
    return (
        alt.Chart(waits).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
            x=week_x, y=alt.Y("days:Q", title="Projected wait"), color=colour,
            tooltip=[alt.Tooltip("wait:N", title=""), alt.Tooltip("week:T", title="Week of", format=WEEK_OF),
                     alt.Tooltip("weeks_ahead:Q", title="Week ahead"),
                     alt.Tooltip("days:Q", title="Wait", format=",.1f"), alt.Tooltip("target:Q", title="Target")])
        + alt.Chart(waits).mark_line(strokeDash=[4, 3]).encode(x=week_x, y="target:Q", color=colour)
    ).properties(height=300 + build.legend_height(WAITS),
                 description=f"Line chart of each projected wait a week{_dates(waits)}, against its target (dashed).")


def backlog_frame(projection: pl.DataFrame) -> pl.DataFrame:
    """The two queues in long form (week, weeks_ahead, queue, people, provisional: every week is
    a projection): the chart's data and its table. `projection` is
    divert.analytics.planning.queue.project's frame."""
    long = projection.unpivot(index=["week", "weeks_ahead"], on=list(QUEUES), variable_name="queue",
                              value_name="people")
    return long.with_columns(pl.col("queue").replace_strict(QUEUES), pl.lit(True).alias("provisional"))


@reused
def backlog(queues: pl.DataFrame, largest: float) -> alt.Chart:
    """People waiting at the end of each week in each queue; the axis runs from 0 to `largest`
    (the largest backlog projected, at least 1). Dashed, with hollow points, as every projection
    (a queue projected to empty is a projected zero, not a recorded one). `queues` is
    backlog_frame's frame."""
    order = list(QUEUES.values())
    return alt.Chart(queues).mark_line(strokeDash=[5, 3], point=alt.OverlayMarkDef(size=18, filled=False)).encode(
        x=_week_x(),
        y=alt.Y("people:Q", title="People waiting", scale=alt.Scale(domainMin=0, domainMax=max(1.0, largest)),
                axis=alt.Axis(format=",.0f", tickMinStep=1)),
        color=alt.Color("queue:N", title="", scale=alt.Scale(domain=order, range=build.PALETTE[:2]),
                        legend=build.legend(order)),
        tooltip=[alt.Tooltip("queue:N", title=""), alt.Tooltip("week:T", title="Week of", format=WEEK_OF),
                 alt.Tooltip("people:Q", title="People waiting", format=",.1f")],
    ).properties(height=280 + build.legend_height(order),
                 description=f"Dashed line chart of the people projected to be waiting for an assessment and for a "
                             f"course at the end of each week{_dates(queues)}.")


@reused
def demand_and_capacity(projection: pl.DataFrame) -> alt.LayerChart:
    """People arriving at each queue each week against what the capacity can take.
    `projection` is divert.analytics.planning.queue.project's frame."""
    flows = projection.unpivot(index=["week"], on=list(FLOWS), variable_name="series", value_name="people")
    flows = flows.with_columns(pl.col("series").replace_strict(FLOWS))
    return _described(build.line(flows, "week", "people", y_title="People a week", color="series", color_title="",
                                 x_title="", tooltip_format=",.1f", every="1w", labels=False, order=FLOW_ORDER),
                      "Line chart of the people arriving at each queue a week against what the capacity can take"
                      f"{_dates(projection)}.")


# --- Launch planner ---------------------------------------------------------------------------------------


@reused
def launch_band(weekly: pl.DataFrame) -> alt.LayerChart:
    """The referrals expected each week from launch (line) with their 80% (darker) and 95%
    (lighter) ranges. `weekly` is divert.analytics.planning.launch.expected_referrals's frame."""
    colour = build.PALETTE[1]
    tips = [alt.Tooltip("week:T", title="Week of", format=WEEK_OF),
            alt.Tooltip("mean:Q", title="Expected", format=",.1f"),
            alt.Tooltip("lo_80:Q", title="80% from", format=",.0f"), alt.Tooltip("hi_80:Q", title="80% to", format=",.0f"),
            alt.Tooltip("lo_95:Q", title="95% from", format=",.0f"), alt.Tooltip("hi_95:Q", title="95% to", format=",.0f")]
    base = alt.Chart(weekly).encode(x=_week_x())
    return (
        base.mark_area(opacity=0.15, color=colour).encode(y=alt.Y("lo_95:Q", title="Referrals a week"),
                                                          y2="hi_95:Q", tooltip=tips)
        + base.mark_area(opacity=0.3, color=colour).encode(y="lo_80:Q", y2="hi_80:Q", tooltip=tips)
        + base.mark_line(color=colour, point=alt.OverlayMarkDef(size=14, color=colour)).encode(
            y=alt.Y("mean:Q", title="Referrals a week"), tooltip=tips)
    ).properties(height=300, description=f"Line chart of the referrals expected a week from launch{_dates(weekly)}, "
                                         "with their 80% and 95% ranges.")


# --- Forecast -----------------------------------------------------------------------------------------------


@reused
def backtest_coverage(accuracy: pl.DataFrame) -> alt.LayerChart:
    """For each forecast, the share of past weeks inside its 80% and 95% ranges (bars side by side)
    with the share each should cover (black ticks). `accuracy` is the backtest's accuracy table
    (divert.analytics.planning.forecast), its `label` the name each forecast has on the page, in
    the order the rows are drawn."""
    scores = forecast.coverage_long(accuracy)
    order = accuracy["label"].to_list()
    intervals = scores["interval"].unique(maintain_order=True).to_list()
    colour = alt.Color("interval:N", title="", scale=alt.Scale(domain=intervals,
                                                                 range=[build.PALETTE[0], build.PALETTE[4]]),
                       legend=build.legend(intervals))
    tips = [alt.Tooltip("label:N", title="Forecast"), alt.Tooltip("interval:N", title="Interval"),
            alt.Tooltip("coverage:Q", title="Weeks inside", format=".1%"),
            alt.Tooltip("nominal:Q", title="Should be", format=".0%"),
            alt.Tooltip("forecasts:Q", title="Weeks forecast")]
    y = alt.Y("label:N", title="", sort=order, axis=build.category_axis(order))
    return (
        alt.Chart(scores).mark_bar().encode(
            y=y, yOffset=alt.YOffset("interval:N", sort=intervals),
            x=alt.X("coverage:Q", title="Share of past weeks inside the interval", axis=alt.Axis(format="%"),
                    scale=alt.Scale(domain=[0, 1])),
            color=colour, tooltip=tips)
        + alt.Chart(scores).mark_tick(color="black", thickness=2, size=14).encode(
            y=y, yOffset=alt.YOffset("interval:N", sort=intervals), x="nominal:Q", tooltip=tips)
    ).properties(height=60 * max(accuracy.height, 1) + 40,
                 description="Horizontal bar chart of the share of past weeks inside each forecast's 80% and 95% "
                             "ranges, with a tick at the share each should cover.")


@reused
def sessions_needed(table: pl.DataFrame) -> alt.LayerChart:
    """Course sessions a week the forecast needs, for the central forecast and a busy week.
    `table` is divert.analytics.planning.demand.work_table's frame."""
    long = table.unpivot(index=["week"], on=["sessions", "sessions_busy_week"], variable_name="level",
                         value_name="value")
    long = long.with_columns(pl.col("level").replace_strict({"sessions": "Central forecast",
                                                             "sessions_busy_week": "Busy week"}))
    return _described(build.line(long, "week", "value", y_title="Sessions a week", color="level",
                                 color_title="Demand", x_title="", order=["Busy week", "Central forecast"],
                                 tooltip_format=",.1f", every="1w"),
                      f"Line chart of the course sessions a week the forecast needs{_dates(table)}, for the central "
                      "forecast and a busy week.")


@reused
def forecast_band(shown: pl.DataFrame, *, x_title: str = "") -> alt.LayerChart:
    """Referrals a week, recorded and forecast, with the forecast's 80% (darker) and 95% (lighter)
    bands, the two series named in a legend above the chart (no label at the line's end, where it
    would sit over the band). `shown` is divert.analytics.planning.forecast.chart_frame's frame."""
    x = alt.X("week:T", title=x_title, axis=build.date_axis("1w"))
    base = alt.Chart(shown)
    tips = [alt.Tooltip("series:N", title=""), alt.Tooltip("week:T", title="Week of", format=WEEK_OF),
            alt.Tooltip("referrals:Q", title="Referrals", format=",.1f"),
            alt.Tooltip("lo_80:Q", title="80% from", format=",.0f"), alt.Tooltip("hi_80:Q", title="80% to", format=",.0f"),
            alt.Tooltip("lo_95:Q", title="95% from", format=",.0f"), alt.Tooltip("hi_95:Q", title="95% to", format=",.0f")]
    order = ["Recorded", "Forecast"]
    return (
        base.mark_area(opacity=0.12, color=build.PALETTE[0]).encode(
            x=x, y=alt.Y("lo_95:Q", title="Referrals a week"), y2="hi_95:Q", tooltip=tips)
        + base.mark_area(opacity=0.25, color=build.PALETTE[0]).encode(x=x, y="lo_80:Q", y2="hi_80:Q", tooltip=tips)
        + build.line(shown.select("week", "series", "referrals", "provisional"), "week", "referrals",
                     y_title="Referrals a week", color="series", color_title="", x_title=x_title, every="1w",
                     tooltip_format=",.1f", labels=False, order=order)
    ).properties(height=340 + build.legend_height(order),
                 description=f"Line chart of referrals a week, recorded and forecast{_dates(shown)}, with the "
                             "forecast's 80% and 95% ranges as bands.")


def _period_names(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.with_columns(pl.when(pl.col("partial")).then(pl.col("label") + " (partial)")
                             .otherwise(pl.col("label")).alias("period_name"))


@reused
def period_forecast(rows: pl.DataFrame, *, value: str = "referrals", title: str = "Referrals") -> alt.LayerChart:
    """The forecast by week, month or quarter: a bar a period (pale when partial) with its 80%
    (thick) and 95% (thin) ranges as black lines. `rows` is
    divert.readmodels.forecast_view.Planned.periods_only (label, partial and the referrals
    columns)."""
    named = _period_names(rows)
    order = named["period_name"].to_list()
    description = (f"Horizontal bar chart of {title.lower()} a period, {', '.join(order)}, with the 80% and 95% "
                   "ranges as lines.")
    y = alt.Y("period_name:N", title="", sort=order, axis=build.category_axis(order))
    tips = [alt.Tooltip("period_name:N", title="Period"), alt.Tooltip(f"{value}:Q", title=title, format=",.0f"),
            alt.Tooltip(f"{value}_lo_80:Q", title="80% from", format=",.0f"),
            alt.Tooltip(f"{value}_hi_80:Q", title="80% to", format=",.0f"),
            alt.Tooltip(f"{value}_lo_95:Q", title="95% from", format=",.0f"),
            alt.Tooltip(f"{value}_hi_95:Q", title="95% to", format=",.0f"),
            alt.Tooltip("days_forecast:Q", title="Days forecast"), alt.Tooltip("days:Q", title="Days in the period")]
    base = alt.Chart(named).encode(y=y, tooltip=tips)
    return (
        base.mark_bar(color=build.PALETTE[0]).encode(
            x=alt.X(f"{value}:Q", title=title), opacity=alt.condition("datum.partial", alt.value(0.3), alt.value(0.8)))
        + base.mark_rule(color="black", strokeWidth=1).encode(x=f"{value}_lo_95:Q", x2=f"{value}_hi_95:Q")
        + base.mark_rule(color="black", strokeWidth=4).encode(x=f"{value}_lo_80:Q", x2=f"{value}_hi_80:Q")
    ).properties(height=34 * max(named.height, 1) + 40, description=description)


CAPACITY_SERIES = {"seats": "Seats on the calendar", "seats_needed": "Seats the forecast needs"}


@reused
def seats_by_period(table: pl.DataFrame) -> alt.LayerChart:
    """Seats on the calendar (grey bars; none drawn where the period is not yet scheduled, pale
    where it is scheduled so far) against the seats the forecast needs (a tick with its 80%
    range), a period a row. `table` is divert.analytics.planning.periods.capacity_periods's
    frame."""
    named = _period_names(table).with_columns(
        pl.when(pl.col("schedule").is_in(["not yet scheduled", "scheduled so far"]))
        .then(pl.col("period_name") + ": " + pl.col("schedule")).otherwise(pl.col("period_name")).alias("period_name"))
    order = named["period_name"].to_list()
    description = (f"Horizontal bar chart of the seats on the calendar a period, {', '.join(order)}, against the seats "
                   "the forecast needs with its 80% range.")
    y = alt.Y("period_name:N", title="", sort=order, axis=build.category_axis(order))
    tips = [alt.Tooltip("period_name:N", title="Period"), alt.Tooltip("schedule:N", title="Calendar"),
            alt.Tooltip("sessions:Q", title="Sessions", format=",.0f"),
            alt.Tooltip("seats:Q", title="Seats on the calendar", format=",.0f"),
            alt.Tooltip("booked:Q", title="Booked (so far)", format=",.0f"),
            alt.Tooltip("seats_needed:Q", title="Seats the forecast needs", format=",.0f"),
            alt.Tooltip("needed_lo_80:Q", title="80% from", format=",.0f"),
            alt.Tooltip("needed_hi_80:Q", title="80% to", format=",.0f")]
    base = alt.Chart(named).encode(y=y, tooltip=tips)
    needed = base.transform_filter("isValid(datum.seats_needed)")
    return (
        base.transform_filter("isValid(datum.seats)").mark_bar(color=build.GREY).encode(
            x=alt.X("seats:Q", title="Seats"),
            opacity=alt.condition("datum.schedule == 'scheduled so far'", alt.value(0.25), alt.value(0.5)))
        + needed.mark_rule(color=build.PALETTE[1], strokeWidth=4).encode(x="needed_lo_80:Q", x2="needed_hi_80:Q")
        + needed.mark_tick(color=build.PALETTE[1], thickness=3, size=26).encode(x="seats_needed:Q")
    ).properties(height=34 * max(named.height, 1) + 40, description=description)
