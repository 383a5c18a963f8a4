"""The planning pages' charts (Capacity, Forecast, Scenario planner, Launch planner): each builder
takes the read model's polars frame (and plain values) and returns the Altair chart, so that the
pages only read their filters, call the read model and hand the result to a builder and a table.
Shaping that only feeds a chart (a long form, a split into layers) is done here; where the page
also offers the long form as the chart's table, a `*_frame` function here makes it.

The forecast's main chart is divert.charts.build.forecast_band (the board pack draws it too)."""

from __future__ import annotations

import altair as alt
import polars as pl

from divert.analytics.planning import demand, forecast
from divert.charts import build

WEEK_OF = "%-d %b %Y"  # a week in a tooltip: "6 Oct 2025"


def _week_x() -> alt.X:
    return alt.X("week:T", title="", axis=build.date_axis("1w"))


# --- Capacity ---------------------------------------------------------------------------------------------

SEAT_USE = {"seat_use": "Seats booked (so far, for weeks not over)", "seats_filled": "Seats filled (people who attended)"}
STATISTICS = {"median": "Median", "p90": "90th percentile"}


def seats_against_demand(seats: pl.DataFrame) -> alt.LayerChart:
    """Seats scheduled each week (grey bars, lighter for weeks not over), the forecast's 80%
    interval of the seats needed (grey band) and lines of seats booked, filled and needed.
    `seats` is divert.analytics.planning.demand.seats_against_demand's frame."""
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
    return scheduled + band + build.line(lines, "week", "seats", y_title="Seats a week", color="series",
                                         color_title="", x_title="", every="1w", labels=False,
                                         order=[demand.BOOKED, demand.FILLED, demand.NEEDED])


def seat_use(use: pl.DataFrame) -> alt.LayerChart:
    """Seats booked and seats filled as a share of the seats scheduled, week by week. `use` is
    divert.analytics.planning.capacity.weekly_capacity's frame (the weeks with seats)."""
    long = use.unpivot(index=["week", "provisional", "sessions", "seats", "booked", "attended"],
                       on=list(SEAT_USE), variable_name="measure", value_name="share")
    long = long.with_columns(pl.col("measure").replace_strict(SEAT_USE))
    return build.line(long, "week", "share", y_title="Share of seats", color="measure", color_title="Measure",
                      x_title="", share=True, every="1w", order=list(SEAT_USE.values()), labels=False)


def weekly_waits(part: pl.DataFrame, *, unit: str, target: int | float) -> alt.LayerChart:
    """The median and 90th percentile wait each week against the target (dashed grey). `part` is
    one measure of divert.analytics.planning.capacity.weekly_waits's frame (its `measure` dropped)."""
    long = part.unpivot(index=["week", "people", "provisional"], on=list(STATISTICS), variable_name="statistic",
                        value_name="days")
    long = long.with_columns(pl.col("statistic").replace_strict(STATISTICS))
    rule = build.target_rule(float(target), f"Target: {target}")
    return build.line(long, "week", "days", y_title=unit, color="statistic", color_title="Statistic", x_title="",
                      order=["90th percentile", "Median"], tooltip_format=",.1f", every="1w") + rule


def assessments_per_worker(load: pl.DataFrame) -> alt.LayerChart:
    """Assessments each worker completed (horizontal bars, most first). `load` is
    divert.analytics.planning.capacity.worker_load's frame."""
    return build.bars(load, "worker", "assessments", y_title="Assessments", x_title="", horizontal=True, sort="-x",
                      tooltip_extra=[alt.Tooltip("per_worker_day:Q", title="Per worker-day", format=".2f"),
                                     alt.Tooltip("weeks_active:Q", title="Weeks with an assessment"),
                                     alt.Tooltip("share:Q", title="Share", format=".0%")])


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
    ).properties(height=300 + build.legend_height(WAITS))


def backlog_frame(projection: pl.DataFrame) -> pl.DataFrame:
    """The two queues in long form (week, weeks_ahead, queue, people): the chart's data and its
    table. `projection` is divert.analytics.planning.queue.project's frame."""
    long = projection.unpivot(index=["week", "weeks_ahead"], on=list(QUEUES), variable_name="queue",
                              value_name="people")
    return long.with_columns(pl.col("queue").replace_strict(QUEUES))


def backlog(queues: pl.DataFrame, largest: float) -> alt.Chart:
    """People waiting at the end of each week in each queue; the axis runs from 0 to `largest`
    (the largest backlog projected, at least 1). `queues` is backlog_frame's frame."""
    order = list(QUEUES.values())
    return alt.Chart(queues).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=_week_x(),
        y=alt.Y("people:Q", title="People waiting", scale=alt.Scale(domainMin=0, domainMax=max(1.0, largest)),
                axis=alt.Axis(format=",.0f", tickMinStep=1)),
        color=alt.Color("queue:N", title="", scale=alt.Scale(domain=order, range=build.PALETTE[:2]),
                        legend=build.legend(order)),
        tooltip=[alt.Tooltip("queue:N", title=""), alt.Tooltip("week:T", title="Week of", format=WEEK_OF),
                 alt.Tooltip("people:Q", title="People waiting", format=",.1f")],
    ).properties(height=280 + build.legend_height(order))


def demand_and_capacity(projection: pl.DataFrame) -> alt.LayerChart:
    """People arriving at each queue each week against what the capacity can take.
    `projection` is divert.analytics.planning.queue.project's frame."""
    flows = projection.unpivot(index=["week"], on=list(FLOWS), variable_name="series", value_name="people")
    flows = flows.with_columns(pl.col("series").replace_strict(FLOWS))
    return build.line(flows, "week", "people", y_title="People a week", color="series", color_title="",
                      x_title="", tooltip_format=",.1f", every="1w", labels=False, order=FLOW_ORDER)


# --- Launch planner ---------------------------------------------------------------------------------------


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
    ).properties(height=300)


# --- Forecast -----------------------------------------------------------------------------------------------


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
    ).properties(height=60 * max(accuracy.height, 1) + 40)


def sessions_needed(table: pl.DataFrame) -> alt.LayerChart:
    """Course sessions a week the forecast needs, for the central forecast and a busy week.
    `table` is divert.analytics.planning.demand.work_table's frame."""
    long = table.unpivot(index=["week"], on=["sessions", "sessions_busy_week"], variable_name="level",
                         value_name="value")
    long = long.with_columns(pl.col("level").replace_strict({"sessions": "Central forecast",
                                                             "sessions_busy_week": "Busy week"}))
    return build.line(long, "week", "value", y_title="Sessions a week", color="level", color_title="Demand",
                      x_title="", order=["Busy week", "Central forecast"], tooltip_format=",.1f", every="1w")
