"""Launch planner: for a force considering the scheme, the referrals to expect from its
recorded possession offences (with the recording uplift), and the capacity it needs from
week one."""

from dataclasses import replace
from datetime import timedelta

import streamlit as st

from divert.analytics.calendar.months import default_as_of
from divert.analytics.dashboards import volume
from divert.analytics.planning import assumptions, launch, staffing
from divert.charts import build, planning
from divert.core import clock
from divert.core.wording import plural
from divert.readmodels import launch_view
from divert.web import dashboard, scenarios, tables, ui

user = ui.require_role("manager", "admin")
st.title("Launch planner")
data = dashboard.all_frames()
jump_as_of = default_as_of(clock.today())  # as the Volume page opens: the same figure
_, known = dashboard.live().at(jump_as_of)
jump, own = launch_view.own_jump(known, jump_as_of)
st.caption(
    "For a force considering diversion. When the reference force launched, its recorded possession offences rose by "
    "30% at once (its published figure; offences that used to go unrecorded were recorded so that they could be "
    "referred) and referrals \"considerably outstripped projections\" built from the old crime figures. "
    + (f"This force's own launch jump ({volume.LAUNCH_JUMP_LABEL.lower()}, as on the Volume page, as of "
       f"{jump_as_of:%-d %B %Y}): {own}. " if own else "")
    + "Start from the force's monthly possession-offence counts; the planner adds the uplift and sizes the service "
    "for a busy week.")
targets = dashboard.settings()
_, rates = scenarios.planning_inputs()
launched = data.programme.launch

st.subheader("1. Recorded possession offences a month")
how = st.radio("Counts", ["Type them in", "Import a CSV file"], horizontal=True, key="launch_how",
               help="A year is enough; two years or more lets the planner follow the time of year.")
if how == "Import a CSV file":
    tables.csv_download("Download a template (CSV)", launch.template_frame(), "possession_offences_template.csv",
                        icon=":material/download:", key="launch_template")
    upload = st.file_uploader("CSV file with a 'month' column (YYYY-MM) and an 'offences' column", type=["csv"],
                              key="launch_file")
    if upload is None:
        st.info("Choose a file to go on, or type the counts in.", icon=":material/info:")
        st.stop()
    counts, problems = launch.read_offence_counts(upload.getvalue())
else:
    st.caption("Pre-filled with the offences this database recorded in the two years before diversion started "
               f"({launched:%B %Y}) as an example: replace them with the force's own counts. Add or delete "
               "rows as needed.")
    edited = tables.editor(
        launch_view.editor_rows(data.offences, launched), num_rows="dynamic", width="content", hide_index=True, key="launch_counts",
        column_config={
            "month": st.column_config.TextColumn("Month (YYYY-MM)", required=True, max_chars=10),
            "offences": st.column_config.NumberColumn("Possession offences", min_value=0, step=1, format="%d"),
        },
    )
    counts, problems = launch_view.counts_from_editor(edited)
if problems:
    ui.show_problems(problems, "Some counts cannot be used; fix them to go on:")
    st.stop()
months = launch_view.months(counts)
if not months:
    st.info("Enter at least one month's count of recorded possession offences to go on.", icon=":material/info:")
    st.stop()

st.subheader("2. Assumptions")
st.caption("The planning model's assumptions, as on every planning page: this service's own, measured from its records "
           f"as of {rates.as_of:%d %B %Y}" if rates.as_of else "The planning model's assumptions")
start = launch.defaults(rates)


def launch_slider(label: str, name: str, help: str | None = None):
    low, high, step = launch.RANGES[name]
    return st.slider(label, low, high, type(low)(getattr(start, name)), step, key=f"launch_{name}", help=help)


def plan_slider(name: str, help: str | None = None):
    spec = assumptions.FIELDS[name]
    cast = spec.kind
    value = min(max(cast(getattr(start.plan, name)), cast(spec.low)), cast(spec.high))
    shown = "%d" if cast is int else ("%.0f" if spec.step >= 1 else ("%.1f" if spec.step >= 0.5 else "%.2f"))
    return st.slider(spec.label, cast(spec.low), cast(spec.high), value, cast(spec.step), key=f"launch_{name}",
                     help=help or spec.help, format=shown)


a1, a2, a3 = st.columns(3)
with a1:
    uplift = launch_slider("Recording uplift (%)", "uplift_pct",
                           "The rise in recorded possession offences when diversion starts. The reference force saw "
                           "30%" + (f"; this force {jump['change_pct']:+.0f}%." if own else "."))
    referred = launch_slider("Offences referred (%)", "referral_pct",
                             "Recorded possession offences that become referrals (the rest are exceptions, such as "
                             "suspected intent to supply). Default: this service's own share since it started.")
    launch_day = st.date_input("Launch date", value=clock.today() + timedelta(days=56), format="DD/MM/YYYY",
                               key="launch_date", help="Only the time of year matters here.")
with a2:
    engagement = plan_slider("engagement_pct")
    course = plan_slider("course_pct")
    no_show = plan_slider("no_show_pct")
with a3:
    seats = plan_slider("seats_per_session")
    pace = plan_slider("assessments_per_worker_day")
    weeks = plan_slider("weeks", "Weeks to plan from the launch.")

inputs = launch.LaunchInputs(uplift_pct=uplift, referral_pct=referred, plan=replace(
    start.plan, engagement_pct=engagement, course_pct=course, no_show_pct=no_show, seats_per_session=seats,
    assessments_per_worker_day=pace, weeks=weeks))
scenarios.show_assumptions(inputs.plan, rates, "launch", extra=launch_view.extra_assumptions(inputs, rates))
head = launch.baseline_from_offences(counts, inputs)
weekly = launch.expected_referrals(counts, inputs, launch_day)
needed = launch.capacity_needed(weekly, inputs, targets.target_days_to_assessment, targets.target_days_to_course)

st.subheader("3. What to expect")
m1, m2, m3 = st.columns(3)
m1.metric("Possession offences a month now", f"{head['offences_per_month']:,.0f}",
          help=f"Average of the {months} months given.")
m2.metric("Expected once diversion starts", f"{head['offences_after_uplift']:,.0f} a month",
          help="With the recording uplift.")
m3.metric("Referrals a week", f"{head['referrals_per_week']:,.0f}",
          help="Offences after the uplift x 12 / 52 x the share referred.")

dashboard.chart_block(
    "Referrals to expect each week from launch",
    "The expected referrals each week (line), and the range a week's count should fall in 80 times in 100 (darker) "
    "and 95 times in 100 (lighter), treating weekly counts as random (Poisson) around the expected level. With two "
    "years of counts or more the level follows the time of year.",
    planning.launch_band(weekly), weekly, "launch_expected_referrals", key="launch_expected",
)

st.subheader("4. Capacity needed from week one")
st.caption("For the expected demand and for a busy run (every week at the top of its 80% interval, a 90th percentile "
           "week). The workers and sessions needed are the planning model's answer, the same function as on Capacity, "
           "Forecast and the Scenario planner: the fewest that keep every week's wait within the targets. Plan for "
           "the busy run, or the backlog starts in the first month.")
answers = launch_view.capacity_answers(needed)
n1, n2 = st.columns(2)
n1.metric(f"{staffing.WORKERS_LABEL} (busy run)", staffing.needed_text(answers[launch.WORKERS_NEEDED]["busy_week"]),
          help=staffing.WORKERS_HELP)
n1.caption(f"For the expected demand: {staffing.needed_text(answers[launch.WORKERS_NEEDED]['average_week'])}")
n2.metric(f"{staffing.SESSIONS_LABEL} (busy run)", staffing.needed_text(answers[launch.SESSIONS_NEEDED]["busy_week"]),
          help=staffing.SESSIONS_HELP)
n2.caption(f"For the expected demand: {staffing.needed_text(answers[launch.SESSIONS_NEEDED]['average_week'])}")
tables.show(needed, width="stretch", hide_index=True,
            column_config={"measure": "Measure", "average_week": st.column_config.NumberColumn("Average week", format="%.1f"),
                           "busy_week": st.column_config.NumberColumn("Busy run", format="%.1f"),
                           "explanation": "How it is worked out"})
tables.csv_download("Download (CSV)", needed, "launch_capacity.csv",
                    icon=":material/download:", key="launch_download")

st.subheader("5. If the service were sized from the old figures")
sized = launch_view.sizings(counts, inputs, weekly, needed, targets.target_days_to_assessment,
                            targets.target_days_to_course)
if sized is None:
    st.info("The usual wait alone is over a target at these assumptions, so no number of workers or sessions keeps "
            "within it: change the assumptions or the targets.", icon=":material/info:")
    st.stop()
st.caption(
    f"Sized from the crime figures before the uplift (the expected week, with the planning model): "
    f"{plural(sized.old_workers, 'assessment worker')} and {plural(sized.old_sessions, 'session')} a week. The queue model then runs on the "
    f"expected referrals from launch, with no one waiting at the start and the usual waits of this service "
    f"({inputs.plan.base_days_to_assessment:g} working days to assessment, {inputs.plan.base_days_to_course:g} days "
    "to a course when nobody queues).")
if sized.warning:
    st.warning(sized.warning, icon=":material/warning:")
else:
    st.success("Even sized from the old figures the waits stay within target at these assumptions.",
               icon=":material/check_circle:")
dashboard.chart_block(
    "Projected wait to assessment after launch",
    f"Working days from referral to assessment for someone joining the back of the queue, for the two sizings; the "
    f"dashed line is the target of {targets.target_days_to_assessment} working days.",
    build.line(sized.runs, "week", "wait_to_assessment", y_title="Working days", color="scenario",
               color_title="Sizing", x_title="", tooltip_format=",.1f", every="1w", order=sized.order)
    + build.target_rule(float(targets.target_days_to_assessment), f"Target: {targets.target_days_to_assessment} working days"),
    sized.assessment, "launch_projection", key="launch_projection",
)
dashboard.chart_block(
    "Projected wait to a course after launch",
    f"Days from assessment to a course session for someone joining the back of the queue, for the two sizings; the "
    f"dashed line is the target of {targets.target_days_to_course} days.",
    build.line(sized.runs, "week", "wait_to_course", y_title="Days", color="scenario", color_title="Sizing",
               x_title="", tooltip_format=",.1f", every="1w", order=sized.order)
    + build.target_rule(float(targets.target_days_to_course), f"Target: {targets.target_days_to_course} days"),
    sized.course, "launch_projection_course", key="launch_projection_course",
)
