"""Scenario planner: change demand, engagement, no-shows and capacity, and see the backlog and
waiting times that follow week by week, and what it takes to stay within the targets. Save
scenarios, compare them side by side and export them."""

import streamlit as st

from divert.analytics.planning import assumptions, forecast, queue, staffing
from divert.charts import build, planning
from divert.readmodels import scenarios_view
from divert.web import dashboard, scenarios, tables, ui

user = ui.require_role("manager", "admin")
st.title("Scenario planner")
filters = dashboard.filter_bar("scenarios")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
targets = dashboard.settings()
result, rates = scenarios.planning_inputs(filters)
if scenarios_view.no_forecast(result):
    st.info(result.note or "There is not enough referral history to plan from yet.", icon=":material/info:")
    st.stop()
baseline = forecast.ahead(result)  # the weeks after the as-of week
defaults = assumptions.plan_from_rates(rates)
saved = scenarios.saved_scenarios()
readable = {sc.name: sc for sc in saved if sc.plan is not None}

KEY = "plan_"
CURRENT = "The service now (from the records)"
FLASH = "scenario_flash"


def put(plan: assumptions.Plan) -> None:
    """Set every input widget to the plan's values."""
    for name in assumptions.plan_field_names():
        value = getattr(plan, name)
        spec = assumptions.FIELDS.get(name)
        if spec is not None:
            value = spec.kind(value)
        st.session_state[KEY + name] = value


def start_from() -> None:
    choice = st.session_state.get("scenario_start", CURRENT)
    put(readable[choice].plan if choice in readable else defaults)


if KEY + "weeks" not in st.session_state:
    put(defaults)

st.caption(
    f"Start from the service as the records show it at {filters.as_of_date:%d %B %Y} (every assumption below says "
    "where it came from), change what you want to test, and read the projection below. Demand starts from the "
    "referral forecast for the weeks after the as-of week (see Forecast). Targets: assessment within "
    f"{targets.target_days_to_assessment} working days, a course within {targets.target_days_to_course} days.")
top_left, top_right = st.columns([3, 1])
top_left.selectbox("Start from", [CURRENT, *readable], key="scenario_start", on_change=start_from,
                   help="Load a saved scenario's inputs, or the service as it is now.")
top_right.button("Reset to the service now", on_click=put, args=(defaults,), icon=":material/restart_alt:",
                 width="stretch")


def number_format(spec: assumptions.Field) -> str:
    if spec.kind is int:
        return "%d"
    return "%.0f" if spec.step >= 1 else ("%.1f" if spec.step >= 0.5 else "%.2f")


def slider(name: str) -> None:
    spec = assumptions.FIELDS[name]
    cast = spec.kind
    st.slider(spec.label, cast(spec.low), cast(spec.high), step=cast(spec.step), key=KEY + name, help=spec.help,
              format=number_format(spec))


demand_col, pathway_col, capacity_col = st.columns(3)
with demand_col:
    st.markdown("**Demand**")
    for name in ("weeks", "demand_change_pct", "change_from_week"):
        slider(name)
    st.radio("Plan for", list(assumptions.DEMAND_LEVELS), format_func=assumptions.DEMAND_LEVELS.get, key=KEY + "demand_level",
             help="The central forecast, or the top of its interval every week: a cautious plan for a busy run.")
with pathway_col:
    st.markdown("**Pathway**")
    for name in ("engagement_pct", "course_pct", "no_show_pct"):
        slider(name)
with capacity_col:
    st.markdown("**Capacity**")
    for name in ("seats_per_session", "sessions_per_week", "assessment_workers", "assessments_per_worker_day"):
        slider(name)
with st.expander("More assumptions: usual waits, the backlog now, staff hours"):
    cols = st.columns(3)
    advanced = [name for name, spec in assumptions.FIELDS.items() if spec.advanced]
    for i, name in enumerate(advanced):
        spec = assumptions.FIELDS[name]
        cols[i % 3].number_input(spec.label, min_value=spec.kind(spec.low), max_value=spec.kind(spec.high),
                                 step=spec.kind(spec.step), key=KEY + name, help=spec.help,
                                 format=number_format(spec))
    st.caption(f"Defaults come from the records: the usual waits are the 90th percentile of recent waits; the backlog "
               f"is the people already waiting longer than that at the as-of date ({rates.awaiting_assessment:,} not "
               f"yet assessed, {rates.course_waiting_list:,} waiting for a course"
               + (f"; {rates.stale_assessment + rates.stale_course:,} open records from before a gap in the records "
                  "are left out" if rates.stale_assessment + rates.stale_course else "") + ").")

plan, problems = scenarios.check_plan({name: st.session_state.get(KEY + name) for name in assumptions.plan_field_names()})
if problems:
    ui.show_problems(problems, "These inputs cannot be used:")
    st.stop()

scenarios.show_assumptions(plan, rates, "scenarios")
answer = staffing.for_plan(result, plan, targets.target_days_to_assessment, targets.target_days_to_course)
projection = queue.project(answer.baseline, plan)
outlook = answer.outlook


def wait_text(value) -> str:
    return "No capacity" if value is None else f"{value:,.1f}"


st.subheader("What follows")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Wait to assessment", wait_text(outlook.longest_wait_to_assessment),
          help="The longest projected wait, in working days, from referral to assessment: for someone joining the "
               "back of the queue in the worst week, the usual wait plus the time the queue ahead takes to clear. "
               "'No capacity': people wait and nobody assesses them.")
m1.caption(f"Working days, worst week. Target {targets.target_days_to_assessment}.")
m2.metric("Wait to a course", wait_text(outlook.longest_wait_to_course),
          help="The longest projected wait, in days, from assessment to a course session, for someone joining the "
               "back of the queue in the worst week. 'No capacity': people wait and no sessions run.")
m2.caption(f"Days, worst week. Target {targets.target_days_to_course}.")
m3.metric(staffing.SESSIONS_LABEL, staffing.needed_text(outlook.sessions_needed), help=staffing.SESSIONS_HELP)
m3.caption(f"To stay within target. This scenario: {plan.sessions_per_week:g}.")
m4.metric(staffing.WORKERS_LABEL, staffing.needed_text(outlook.workers_needed), help=staffing.WORKERS_HELP)
m4.caption(f"To stay within target. This scenario: {plan.assessment_workers:g}.")

for warning in scenarios_view.over_target(projection, outlook, targets.target_days_to_assessment,
                                          targets.target_days_to_course):
    st.warning(warning, icon=":material/warning:")
# now: the same status, from the same counts, as the Capacity page's banner and the worklist
breached_now = scenarios_view.breached_now(filters.without_period().apply(data.referrals, "referred_on"),
                                           filters.as_of_date, targets.target_days_to_assessment,
                                           targets.target_days_to_course)
for message in breached_now:
    st.error(message, icon=":material/error:")
if outlook.first_week_over_assessment_target is None and outlook.first_week_over_course_target is None:
    if breached_now:
        st.info(f"At this scenario's capacity, people joining the queue would wait no longer than the targets over "
                f"the {plan.weeks} weeks planned.", icon=":material/info:")
    else:
        st.success(f"Both waits stay within their targets for the {plan.weeks} weeks planned.",
                   icon=":material/check_circle:")

waits_long = planning.projected_waits_frame(projection, targets.target_days_to_assessment,
                                            targets.target_days_to_course)
dashboard.chart_block(
    "Projected waits, week by week",
    "The wait for someone joining the back of each queue at the end of the week (solid), against its target "
    "(dashed, same colour). A gap means people are waiting and there is no capacity to serve them.",
    planning.projected_waits(waits_long), waits_long, "scenario_waits", key="scenario_waits",
)

queues_long = planning.backlog_frame(projection)
dashboard.chart_block(
    "Backlog, week by week",
    "People still waiting at the end of each week beyond the usual flow: when demand is above capacity the "
    "backlog grows by the difference each week; when capacity is above demand it drains. Dashed with hollow points: "
    "every week is a projection (at zero, the queue is projected to have emptied).",
    planning.backlog(queues_long, outlook.largest_backlog),
    queues_long, "scenario_backlog", key="scenario_backlog",
)

dashboard.chart_block(
    "Demand and capacity, week by week",
    "People arriving at each queue each week against what the capacity can take. The table has every figure of "
    "the projection, including the sessions that would just match each week's demand and the staff hours.",
    planning.demand_and_capacity(projection),
    projection, "scenario_week_by_week", key="scenario_flows",
)

# --- save -----------------------------------------------------------------------------------------------
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon=":material/check_circle:")
st.subheader("Save this scenario")
with st.form("save_scenario", clear_on_submit=False):
    name = st.text_input("Name", max_chars=scenarios.NAME_MAX, placeholder="e.g. Launch +30%, 4 sessions")
    note = st.text_area("Note (optional)", max_chars=scenarios.NOTE_MAX, height=80)
    overwrite = st.checkbox("Replace a saved scenario with the same name")
    if st.form_submit_button("Save scenario", icon=":material/save:"):
        saved_result = scenarios.save_scenario(name, plan, user.username, note=note, replace_existing=overwrite)
        if saved_result.ok:
            st.session_state[FLASH] = f"Saved '{name.strip()}'."
            st.rerun()
        ui.show_problems(saved_result.problems)

# --- compare -----------------------------------------------------------------------------------------------
st.subheader("Compare scenarios")
UNSAVED = "This scenario (as set above)"
broken = [sc.name for sc in saved if sc.plan is None]
if broken:
    st.warning("These saved scenarios can no longer be read and are left out: " + ", ".join(broken))
options = [UNSAVED, *readable]
chosen = st.multiselect("Scenarios side by side", options, default=options[: min(3, len(options))],
                        max_selections=5, key="scenario_compare",
                        help="Up to five. Each is projected on the forecast as of the as-of date, with the current targets.")
if chosen:
    plans = {name: (plan if name == UNSAVED else readable[name].plan) for name in chosen}
    compared = scenarios_view.comparison(result, plans, baseline, targets.target_days_to_assessment,
                                         targets.target_days_to_course)
    side_by_side, both = compared.table, compared.weeks
    tables.show(side_by_side, width="stretch", hide_index=True, height=compared.height)
    d1, d2 = st.columns(2)
    tables.csv_download("Download the comparison (CSV)", side_by_side, "scenario_comparison.csv", where=d1,
                        icon=":material/download:", key="download_comparison")
    tables.csv_download("Download every week of each (CSV)", both, "scenario_weeks.csv", where=d2,
                        icon=":material/download:", key="download_compared_weeks")
    dashboard.chart_block(
        "Projected wait to a course in each scenario",
        f"The wait for someone joining the back of the course queue, week by week, in each scenario; the dashed "
        f"line is the target of {targets.target_days_to_course} days.",
        build.line(both, "week", "wait_to_course", y_title="Days", color="scenario", color_title="Scenario",
                    x_title="", tooltip_format=",.1f", every="1w", order=chosen)
        + build.target_rule(float(targets.target_days_to_course), f"Target: {targets.target_days_to_course} days"),
        compared.course, "scenario_compare_course", key="scenario_compare_course",
    )
    dashboard.chart_block(
        "Projected wait to assessment in each scenario",
        f"As above for the wait from referral to assessment; the dashed line is the target of "
        f"{targets.target_days_to_assessment} working days.",
        build.line(both, "week", "wait_to_assessment", y_title="Working days", color="scenario",
                    color_title="Scenario", x_title="", tooltip_format=",.1f", every="1w", order=chosen)
        + build.target_rule(float(targets.target_days_to_assessment),
                             f"Target: {targets.target_days_to_assessment} working days"),
        compared.assessment, "scenario_compare_assessment", key="scenario_compare_assessment",
    )

# --- saved scenarios -------------------------------------------------------------------------------------
st.subheader("Saved scenarios")
if not readable:
    st.info("No scenarios saved yet.", icon=":material/info:")
else:
    listing = scenarios.export_frame(list(readable.values()))
    tables.show(scenarios_view.saved_list(listing), width="stretch", hide_index=True)
    tables.csv_download("Export saved scenarios (CSV)", listing, "scenarios.csv",
                        icon=":material/download:", key="download_scenarios")
    with st.form("delete_scenario"):
        gone = st.selectbox("Delete a scenario", list(readable), key="scenario_delete")
        sure = st.checkbox("Yes, delete it (the audit log keeps a record)")
        if st.form_submit_button("Delete", icon=":material/delete:"):
            if not sure:
                st.error("Tick the box to confirm.")
            else:
                deleted = scenarios.delete_scenario(gone, user.username)
                if deleted.ok:
                    st.session_state[FLASH] = f"Deleted '{gone}'."
                    st.rerun()
                ui.show_problems(deleted.problems, "Nothing was deleted:")
