"""Capacity now: sessions against demand, seat use, the waiting list, waiting times against
the service targets (with a warning when one is breached or projected to be), and
assessments per worker."""

from datetime import timedelta

import altair as alt
import polars as pl
import streamlit as st

from divert import charts, dashboard, scenarios, ui
from divert.analytics import capacity, demand, planning, queue
from divert.analytics.metrics import end_of_data

user = ui.require_role("manager", "admin")
st.title("Capacity")
filters = dashboard.filter_bar("capacity")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
targets = dashboard.settings()
last = end_of_data(data)
if last is None or data.referrals.is_empty():
    st.info("No referrals are recorded yet, so there is nothing to plan from. Record or import referrals, "
            "assessments and course sessions first.", icon=":material/info:")
    st.stop()

weeks_back = st.segmented_control("Recent figures over", [4, 8, 13], default=4, format_func=lambda w: f"the last {w} weeks",
                                  key="capacity_weeks") or 4
start = last - timedelta(weeks=weeks_back) + timedelta(days=1)
referrals = filters.without_period().apply(data.referrals, "referred_on")
shown_from, shown_to = capacity.chart_window(filters, last)
st.caption(f"Figures up to {last:%d %B %Y} (the latest record) for {filters.describe()}. Weekly charts show "
           f"{shown_from:%d %b %Y} to {shown_to:%d %b %Y} (the last year unless a period is chosen in the sidebar). "
           "Course sessions serve every area, so the area and people filters narrow the referrals only.")

result, rates = scenarios.planning_inputs(filters)
plan = planning.plan_from_rates(rates)
baseline = result.model()
outlook = queue.outlook(baseline, plan, targets.target_days_to_assessment, targets.target_days_to_course)
summary = capacity.wait_summary(referrals, start, last, targets.target_days_to_assessment, targets.target_days_to_course)

st.subheader("Service targets")
st.caption(f"Targets (set by an administrator): assessment within {targets.target_days_to_assessment} working days of "
           f"referral; a course within {targets.target_days_to_course} days of assessment. A target counts as met when "
           "at least nine in ten people are within it. The projection runs the queue model on the referral forecast "
           "with the current capacity (see the Scenario planner for the assumptions).")
show = {"breached": (st.error, ":material/error:"), "projected": (st.warning, ":material/warning:"),
        "met": (st.success, ":material/check_circle:"), "no_data": (st.info, ":material/info:")}
for warning in queue.target_warnings(summary, outlook, baseline, weeks_back, targets.target_days_to_assessment,
                                     targets.target_days_to_course):
    box, icon = show[warning.level]
    box(warning.message, icon=icon)

waiting = capacity.waiting_list(referrals, last).row(0, named=True)
pending = capacity.awaiting_assessment(referrals, last, targets.target_days_to_assessment).row(0, named=True)
recent = capacity.recent_use(referrals, data.sessions, start, last)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Waiting for a course", f"{waiting['people']:,}",
          help="Allocated to the group course after assessment, not yet booked on a session, and not closed.")
if waiting["people"]:
    c1.caption(f"Longest so far {waiting['longest_days_waiting']:.0f} days")
c2.metric("Waiting for an assessment", f"{pending['people']:,}",
          help="Referred, not yet assessed and not closed: the people workers are still trying to reach.")
c2.caption(f"{pending['over_target']:,} already past the {targets.target_days_to_assessment}-working-day target")
c3.metric(f"Seats booked, last {weeks_back} weeks", "no sessions" if recent["seat_use"] is None else f"{recent['seat_use']:.0%}",
          help="Seats booked as a share of the seats in the sessions held (no-shows included as booked).")
c3.caption(f"{recent['booked']:,} of {recent['seats']:,} seats in {recent['sessions']:,} "
           f"session{'' if recent['sessions'] == 1 else 's'}")
c4.metric("Assessments a week", f"{recent['assessments_per_week']:,.1f}",
          help="Completed telephone assessments a week, on average over the recent weeks.")
c4.caption(f"Capacity about {plan.assessments_per_week:,.0f} a week: {plan.assessment_workers:g} workers at up to "
           f"{plan.assessments_per_worker_day:g} a day")

st.subheader("Waiting times")
st.caption(f"People assessed, or starting a course, in the last {weeks_back} weeks. The median is the middle wait "
           "(half waited longer); the 90th percentile is the wait that one in ten exceeded.")
cols = st.columns(2)
for col, row in zip(cols, summary.iter_rows(named=True), strict=True):
    with col:
        st.markdown(f"**{row['label']}** ({row['unit']}; target {row['target']:.0f})")
        if not row["people"]:
            st.info("Nobody reached this step in these weeks.", icon=":material/info:")
            continue
        m1, m2, m3 = st.columns(3)
        m1.metric("Median", f"{row['median']:.1f}")
        m2.metric("90th percentile", f"{row['p90']:.1f}", delta=f"{row['p90_over_target']:+.1f} vs target",
                  delta_color="inverse")
        m3.metric("Within target", f"{row['within_target']:.0%}", help=f"Of {row['people']:,} people.")

# --- sessions against demand --------------------------------------------------------------------------
weekly = capacity.weekly_capacity(referrals, data.sessions, last)
needed = demand.demand_from_forecast(baseline, plan.conversion())
seats_frame = demand.seats_against_demand(weekly, needed)
series = ["Seats scheduled", "Seats filled (people who attended)", "Seats needed (forecast)"]
colour = alt.Color("series:N", title="", scale=alt.Scale(domain=series, range=[charts.GREY, charts.PALETTE[0],
                                                                               charts.PALETTE[1]]),
                   legend=alt.Legend(orient="top", labelLimit=320))
tips = [alt.Tooltip("series:N", title=""), alt.Tooltip("week:T", title="Week of"),
        alt.Tooltip("seats:Q", title="Seats", format=",.0f"), alt.Tooltip("low:Q", title="80% interval from", format=",.0f"),
        alt.Tooltip("high:Q", title="80% interval to", format=",.0f")]
base = alt.Chart(seats_frame).encode(x=alt.X("week:T", title="Week"))
seat_chart = (
    base.transform_filter(alt.datum.series == series[0]).mark_bar(opacity=0.35).encode(
        y=alt.Y("seats:Q", title="Seats a week"), color=colour, tooltip=tips)
    + base.transform_filter(alt.datum.series == series[2]).mark_area(opacity=0.2).encode(y="low:Q", y2="high:Q",
                                                                                         color=colour, tooltip=tips)
    + base.transform_filter(alt.datum.series != series[0]).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        y="seats:Q", color=colour, tooltip=tips)
).properties(height=320)
dashboard.chart_block(
    "Course seats scheduled against demand",
    "Grey bars: seats in the sessions scheduled each week (weeks ahead are the sessions already on the calendar). "
    "Blue: seats filled by people who attended. Orange: seats the referral forecast needs (people allocated to "
    f"the course who will attend, at the recent rates), with its 80% interval shaded. Last 26 weeks and "
    f"{int(needed['weeks_ahead'].max() or 0)} weeks ahead.",
    seat_chart, seats_frame, "seats_against_demand", key="capacity_seats",
)

use = weekly.filter(~pl.col("scheduled") & (pl.col("seats") > 0))
use = use.filter(pl.col("week").is_between(shown_from, shown_to))
use_long = use.unpivot(index=["week", "sessions", "seats", "booked", "attended"], on=["seat_use", "attendance"],
                       variable_name="measure", value_name="share")
use_long = use_long.with_columns(pl.col("measure").replace_strict({"seat_use": "Seats booked",
                                                                     "attendance": "Bookings attended"}))
dashboard.chart_block(
    "Seat use per week",
    "Seats booked as a share of the seats scheduled, and the share of bookings where the person attended, "
    "for each week of sessions.",
    charts.line(use_long, "week", "share", y_title="Share", color="measure", color_title="Measure", x_title="Week",
                tooltip_format=".0%"),
    use.select("week", "sessions", "seats", "booked", "attended", "seat_use", "attendance"), "seat_use",
    empty="No course sessions in this period.", key="capacity_use",
)

queue_frame = weekly.filter(~pl.col("scheduled") & pl.col("week").is_between(shown_from, shown_to))
queue_frame = queue_frame.select("week", "course_allocations", "booked", "waiting_list")
dashboard.chart_block(
    "Course waiting list",
    "People allocated to the group course but not yet booked on a session, at the end of each week "
    "(people whose referral closed first leave the list).",
    charts.line(queue_frame, "week", "waiting_list", y_title="People waiting", x_title="Week"),
    queue_frame, "course_waiting_list", key="capacity_waiting",
)

# --- waits week by week -----------------------------------------------------------------------------------
waits = capacity.weekly_waits(referrals)
waits = waits.filter(pl.col("week").is_between(shown_from, shown_to))
for measure, title, unit, target in (
    ("to_assessment", "Working days from referral to assessment", "Working days", targets.target_days_to_assessment),
    ("to_course", "Days from assessment to course", "Days", targets.target_days_to_course),
):
    part = waits.filter(pl.col("measure") == measure).drop("measure")
    long = part.unpivot(index=["week", "people"], on=["median", "p90"], variable_name="statistic", value_name="days")
    long = long.with_columns(pl.col("statistic").replace_strict({"median": "Median", "p90": "90th percentile"}))
    rule = alt.Chart(pl.DataFrame({"target": [float(target)], "label": [f"Target: {target}"]})).mark_rule(
        color=charts.GREY, strokeDash=[4, 3]).encode(y="target:Q", tooltip=[alt.Tooltip("label:N", title="")])
    chart = charts.line(long, "week", "days", y_title=unit, color="statistic", color_title="Statistic", x_title="Week",
                        tooltip_format=",.1f") + rule
    dashboard.chart_block(
        title,
        f"For the people who reached the step each week: the median and the 90th percentile wait, against the "
        f"target of {target} (dashed). Working days are Monday to Friday." if measure == "to_assessment" else
        f"For the people whose first course session fell in each week: the median and the 90th percentile wait "
        f"since their assessment, against the target of {target} days (dashed).",
        chart, part, f"wait_{measure}_weekly", key=f"capacity_{measure}",
        empty="Nobody reached this step in the chosen period.",
    )

# --- workers --------------------------------------------------------------------------------------------
load = capacity.worker_load(referrals, start, last)
dashboard.chart_block(
    f"Assessments per worker, last {weeks_back} weeks",
    "Telephone assessments each worker completed, and how many that is per working day of the period. "
    "An uneven spread can mean sickness, part-time hours or a worker with other duties.",
    charts.bars(load, "worker", "assessments", y_title="Assessments", x_title="Worker", horizontal=True, sort="-x",
                tooltip_extra=[alt.Tooltip("per_working_day:Q", title="Per working day", format=".2f"),
                               alt.Tooltip("share:Q", title="Share", format=".0%")]),
    load, "assessments_per_worker", key="capacity_workers",
    empty="No assessments were completed in these weeks.",
)
