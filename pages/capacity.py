"""Capacity at the as-of date: the service targets (with a warning when one is breached or
projected to be), who is waiting, the staff and sessions needed (the planning model's answer),
seats against demand, seat use, the waiting list, waits week by week, and assessments per
worker."""

from datetime import timedelta

import streamlit as st

from divert.analytics.planning import capacity, periods, queue, staffing, waiting
from divert.charts import build, planning
from divert.core import clock, wording
from divert.core.wording import plural
from divert.readmodels import capacity_view, forecast_view
from divert.web import dashboard, scenarios, ui

user = ui.require_role("manager", "admin")
st.title("Capacity")
filters = dashboard.filter_bar("capacity")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
targets = dashboard.settings()
as_of = filters.as_of_date
today = clock.today()
if capacity_view.nothing_to_plan(data.referrals):
    st.info("No referrals are recorded up to this date, so there is nothing to plan from. Record or import "
            "referrals, assessments and course sessions first.", icon=":material/info:")
    st.stop()

weeks_back = st.segmented_control("Recent figures over", [4, 8, 13], default=4, format_func=lambda w: f"the last {w} weeks",
                                  key="capacity_weeks") or 4
start = as_of - timedelta(weeks=weeks_back) + timedelta(days=1)
referrals = filters.without_period().apply(data.referrals, "referred_on")
shown_from, shown_to = capacity.chart_window(filters, as_of)
st.caption(f"As of {wording.day(as_of)} for {filters.without_period().describe(areas=data.programme.area_labels)}. Weekly charts show {wording.day(shown_from)} "
           f"to {wording.day(shown_to)}; a week not over at the as-of date is provisional (hollow points, dashed). Course "
           "sessions serve every area, so the area and people filters narrow the referrals only. The wait to "
           "assessment is in working days (Monday to Friday), as its target; the wait to a course in days. The people "
           "past a target here are the worklist's overdue at the same date"
           + (f" (the Worklist shows today, {wording.day(today)}: choose that date in As of to compare)."
              if as_of != today else "."))
gap = waiting.latest_gap(referrals, as_of)
if gap is not None:
    st.warning(f"**A gap in the records:** {gap.describe(as_of)}. Open records from before it stay on the records "
               "pages' lists, but they are left out of the waits, the backlog and the projection here: nobody can "
               "say whether those people are still waiting.", icon=":material/warning:")

result, rates = scenarios.planning_inputs(filters)
answer = staffing.for_service(result, rates, targets.target_days_to_assessment, targets.target_days_to_course)
plan, baseline, outlook = answer.plan, answer.baseline, answer.outlook
summary = capacity.wait_summary(referrals, start, as_of, targets.target_days_to_assessment,
                                targets.target_days_to_course)

st.subheader("Service targets")
st.caption(f"Targets (set by an administrator): assessment within {targets.target_days_to_assessment} working days of "
           f"referral; a course within {targets.target_days_to_course} days of assessment. A target counts as met when "
           "at least nine in ten people are within it. The projection runs the planning model on the referral "
           "forecast for the weeks after the as-of date, starting from the people waiting at the as-of date, with the "
           "current capacity (the assumptions are listed below).")
show = {"breached": (st.error, ":material/error:"), "projected": (st.warning, ":material/warning:"),
        "met": (st.success, ":material/check_circle:"), "no_data": (st.info, ":material/info:")}
for warning in queue.target_warnings(summary, outlook, baseline, weeks_back, targets.target_days_to_assessment,
                                     targets.target_days_to_course):
    box, icon = show[warning.level]
    box(warning.message, icon=icon)

now = capacity_view.waiting_now(referrals, data.sessions, start, as_of, targets.target_days_to_assessment)
course_list, pending, recent = now["course_list"], now["pending"], now["recent"]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Waiting for a course", f"{course_list['people']:,}",
          help="Allocated to the group course, holding no place on a session (never booked, or a no-show or "
               "cancellation since) and not closed: the same list as on Course sessions.")
if course_list["waiting"]:
    c1.caption(f"Longest so far {plural(round(course_list['longest_days_waiting']), 'day')}")
if course_list["stale"]:
    c1.caption(f"{course_list['stale']:,} from before the gap in the records")
c2.metric("Waiting for an assessment", f"{pending['people']:,}",
          help="Referred, no assessment result yet and not closed: the people workers are still trying to reach "
               "(the same list as on Assessment).")
if pending["waiting"]:
    c2.caption(f"{pending['over_target']:,} past the {targets.target_days_to_assessment}-working-day target; longest "
               f"{plural(pending['longest_working_days'], 'working day')}")
if pending["stale"]:
    c2.caption(f"{pending['stale']:,} from before the gap in the records")
c3.metric(f"Seats filled, last {weeks_back} weeks", "no sessions" if recent["seats_filled"] is None
          else f"{recent['seats_filled']:.0%}",
          help="People who attended as a share of the seats in the sessions held. Seats booked counts no-shows too.")
if recent["seats"]:
    c3.caption(f"{recent['attended']:,} attended and {recent['booked']:,} booked of {plural(recent['seats'], 'seat')} in "
               f"{plural(recent['sessions'], 'session')}")
c4.metric("Assessments a week", f"{recent['assessments_per_week']:,.1f}",
          help=f"Completed telephone assessments a week, on average over the last {weeks_back} weeks.")

ahead = capacity_view.calendar_ahead(data.sessions, as_of)
expected = capacity_view.referrals_a_week(baseline)
s1, s2, s3, s4 = st.columns(4)
s1.metric(staffing.WORKERS_LABEL, staffing.needed_text(answer.workers_needed), help=staffing.WORKERS_HELP)
s1.caption(f"Now: {plural(plan.assessment_workers, 'worker')} at {plan.assessments_per_worker_day:g} assessments a worker-day "
           f"(about {plan.assessments_per_week:,.0f} a week)")
s2.metric(staffing.SESSIONS_LABEL, staffing.needed_text(answer.sessions_needed), help=staffing.SESSIONS_HELP)
s2.caption(f"Now: {plan.sessions_per_week:g} a week of {plural(plan.seats_per_session, 'seat')}")
s3.metric("Sessions in the next 8 weeks", f"{ahead['sessions']:,}",  # a label that fits its card
          help="Course sessions on the calendar in the 8 weeks after the as-of date, as listed on Course sessions.")
s3.caption(f"On the calendar; {ahead['booked']:,} of {ahead['seats']:,} seats booked so far"
           if ahead["sessions"] else "None scheduled: schedule sessions on Course sessions")
s4.metric("Referrals expected a week", f"{expected:,.0f}" if expected is not None else "no forecast",
          help="The referral forecast (the average of the two forecasts) over the weeks planned: see Forecast.")
scenarios.show_assumptions(plan, rates, "capacity")

st.subheader("Waiting times")
st.caption(f"People assessed, or starting a course, in the last {weeks_back} weeks. The median is the middle wait "
           "(half waited longer); the 90th percentile is the wait that one in ten exceeded. People still waiting are "
           "not in these figures (their waits are still open): they are counted underneath.")
cols = st.columns(2)
for col, row in zip(cols, capacity_view.wait_rows(summary), strict=True):
    with col:
        st.markdown(f"**{row['label']}** ({row['unit']}; target {row['target']:.0f})")
        if not row["people"]:
            st.info("Nobody reached this step in these weeks.", icon=":material/info:")
        else:
            m1, m2, m3 = st.columns(3)
            m1.metric("Median", f"{row['median']:.1f}")
            m2.metric("90th percentile", f"{row['p90']:.1f}", delta=f"{row['p90_over_target']:+.1f} vs target",
                      delta_color="inverse")
            m3.metric("Within target", f"{row['within_target']:.0%}", help=f"Of {row['people']:,} people.")
        st.caption(f"Still waiting at the as-of date: {row['still_waiting']:,}, of whom "
                   f"{row['still_waiting_over_target']:,} already past the target.")

# --- sessions against demand --------------------------------------------------------------------------
weekly = capacity.weekly_capacity(referrals, data.sessions, as_of)
st.subheader("Course seats by week, month or quarter")
left, right = st.columns(2)
grain = left.segmented_control("Plan by", list(periods.GRAINS), default=periods.MONTH, key="capacity_grain",
                               format_func=periods.GRAIN_LABELS.get,
                               help="Weeks, calendar months or calendar quarters. Months and quarters ahead start "
                                    "with the first whole one after the as-of date.") or periods.MONTH
count = right.segmented_control("How far ahead", list(forecast_view.horizon_choices(grain)),
                                default=periods.DEFAULT_PERIODS[grain], key=f"capacity_horizon_{grain}",
                                format_func=lambda n: forecast_view.choice_label(grain, n)) \
    or periods.DEFAULT_PERIODS[grain]
by_period = capacity_view.seats_by_period(data.sessions, result, plan, as_of, grain, count)
st.markdown(f"**{by_period.horizon.words('Seats planned')}.**")
dashboard.chart_block(
    capacity_view.seats_by_period_title(by_period),
    capacity_view.seats_by_period_caption(by_period),
    planning.seats_by_period(by_period.periods_only), by_period.table, f"course_seats_by_{grain}",
    key="capacity_periods",
)

seats_frame, weeks_ahead = capacity_view.seats_against_demand(weekly, baseline, plan)
calendar_end = capacity_view.calendar_ends(data.sessions)
dashboard.chart_block(
    "Course seats scheduled against demand, week by week",
    "Grey bars: seats in the sessions scheduled each week (lighter: weeks not over, the calendar ahead). Lines: seats "
    "booked (up to the week the as-of date falls in, booked so far; bookings for later weeks are still coming in, "
    "so they are not drawn: the table above lists them so far), seats filled by people who attended (weeks over), "
    "and the seats the referral forecast needs (people allocated to the course who will attend, at the planning "
    f"model's rates), with its 80% interval shaded grey. Last 26 weeks and {weeks_ahead} weeks "
    "after the as-of week. Hollow points and dashed lines are provisional. "
    + (f"{capacity_view.calendar_end_text(data.sessions)} (dashed grey line): after it nothing is scheduled yet, "
       "which is not a fall in capacity." if calendar_end else "No sessions are on the calendar."),
    planning.seats_against_demand(seats_frame, calendar_end), seats_frame, "seats_against_demand",
    key="capacity_seats",
)

use = capacity_view.seat_use(weekly, shown_from, as_of)
dashboard.chart_block(
    "Seat use per week",
    "Seats booked and seats filled (people who attended) as a share of the seats scheduled, for each week of "
    "sessions. For weeks not over at the as-of date (hollow, dashed) the seats are booked so far: more bookings "
    "will come, so a low share there is not under-use.",
    planning.seat_use(use), use, "seat_use",
    empty="No course sessions in this period.", key="capacity_use",
)

queue_frame = capacity_view.waiting_list_weeks(weekly, shown_from, shown_to)
dashboard.chart_block(
    "Course waiting list",
    "People allocated to the group course but not yet booked on a session, at the end of each complete week "
    "(people whose referral closed first leave the list). Weeks in a gap in the records are left blank.",
    build.line(queue_frame, "week", "waiting_list", y_title="People waiting", x_title="", every="1w"),
    queue_frame, "course_waiting_list", key="capacity_waiting",
)

# --- waits week by week -----------------------------------------------------------------------------------
waits = capacity_view.weekly_waits(referrals, as_of, shown_from, shown_to)
for measure, title, unit, target in (
    ("to_assessment", "Working days from referral to assessment", "Working days", targets.target_days_to_assessment),
    ("to_course", "Days from assessment to course", "Days", targets.target_days_to_course),
):
    part = waits[measure]
    dashboard.chart_block(
        title,
        f"For the people who reached the step each week: the median and the 90th percentile wait, against the "
        f"target of {target} (dashed grey). Working days are Monday to Friday. The week not over is provisional."
        if measure == "to_assessment" else
        f"For the people whose first course session fell in each week: the median and the 90th percentile wait "
        f"since their assessment, against the target of {target} days (dashed grey). The week not over is "
        "provisional.",
        planning.weekly_waits(part, unit=unit, target=target), part, f"wait_{measure}_weekly", key=f"capacity_{measure}",
        empty="Nobody reached this step in the chosen period.",
    )

# --- workers --------------------------------------------------------------------------------------------
load = capacity.worker_load(referrals, start, as_of)
dashboard.chart_block(
    f"Assessments per worker, last {weeks_back} weeks",
    "Telephone assessments each worker completed, and their assessments per worker-day (assessments / (weeks "
    "with an assessment x 5 working days): worker-days counted as the planning model counts them, which then takes "
    "the team's pace in its busier weeks). An uneven spread can mean sickness, part-time hours or a worker with "
    "other duties.",
    planning.assessments_per_worker(load),
    load, "assessments_per_worker", key="capacity_workers",
    empty="No assessments were completed in these weeks.",
)
