"""Forecast: referrals by week, calendar month or quarter over a horizon stated in words (a total
with prediction intervals), the weekly forecast, how well the same method did in the past (a
rolling-origin backtest), and the work the forecast means."""

import streamlit as st

from divert.analytics.planning import demand, forecast, periods, staffing
from divert.charts import build, planning
from divert.core import wording
from divert.readmodels import forecast_view
from divert.readmodels.forecast_view import ERROR_NAME
from divert.web import dashboard, scenarios, ui

TECHNICAL = ("Methods: 'recent level and trend' is exponential smoothing with the form chosen automatically "
             "(AutoETS); 'same week last year' is the seasonal naive forecast; 'last week's count' is the naive "
             "forecast; the average of the two is a forecast combination of the first two.")
ERROR_HELP = ("The forecast's average error divided by the average error of simply repeating the same week last year "
              "(mean absolute scaled error, MASE). Below 1: the forecast beat that simple rule.")
user = ui.require_role("manager", "admin")
st.title("Forecast")
filters = dashboard.filter_bar("forecast")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
result, rates = scenarios.planning_inputs(filters, with_backtest=True)
as_of = filters.as_of_date
st.caption(f"Referrals for {filters.without_period().describe(areas=data.programme.area_labels)}, as of {wording.day(as_of)}. The forecast uses every "
           "complete week recorded up to the as-of date, whatever the period filter says; the week the as-of date "
           "falls in is not over, so it is shown as it stands (hollow) and not used.")
models = forecast_view.models(result)
if not models:
    st.info(result.note or "There is not enough history to forecast.", icon=":material/info:")
    st.stop()
if result.note:
    st.info(result.note, icon=":material/info:")

left, middle, right = st.columns([3, 2, 3])  # "Weekly Monthly Quarterly" whole at 1400 px
grain = left.segmented_control("Plan by", list(periods.GRAINS), default=periods.MONTH, key="forecast_grain",
                               format_func=periods.GRAIN_LABELS.get,
                               help="Weeks, calendar months or calendar quarters. Months and quarters start with the "
                                    "first whole one after the as-of date.") or periods.MONTH
choices = forecast_view.horizon_choices(grain)
count = middle.segmented_control("How far ahead", list(choices), default=periods.DEFAULT_PERIODS[grain],
                                 key=f"forecast_horizon_{grain}",
                                 format_func=lambda n: forecast_view.choice_label(grain, n),
                                 help="Ranges widen the further ahead the forecast looks.") or periods.DEFAULT_PERIODS[grain]
model = right.radio("Forecast", models, index=models.index(forecast.COMBINATION), horizontal=False,
                    format_func=forecast_view.label, key="forecast_model",
                    help="The planners use the average of the two: averages of simple forecasts are usually at least "
                         "as accurate as either alone. The backtest below shows how each did on this service. "
                         + TECHNICAL)

targets = dashboard.settings()
answer = staffing.for_service(result, rates, targets.target_days_to_assessment, targets.target_days_to_course)
plan = answer.plan
planned = forecast_view.planned(result, plan, grain, count, model)
horizon = planned.weeks
st.markdown(f"**{planned.horizon.words()}.**")
shown = forecast.chart_frame(result, model, horizon)
coming = forecast.ahead(result, model, horizon)
top = forecast.headline(result, model, horizon)
first = top["next_week"]
total = planned.total
c1, c2, c3, c4 = st.columns(4)
c1.metric("Referrals expected next week", f"{first['mean']:,.0f}",
          help=f"The central forecast for the week starting {wording.day(first['week'])}, the week after the as-of date.")
c1.caption(f"Week of {wording.day(first['week'])}. 80% interval {first['lo_80']:,.0f} to {first['hi_80']:,.0f}; 95% "
           f"interval {first['lo_95']:,.0f} to {first['hi_95']:,.0f}")
c2.metric("Forecast total", f"{total['referrals']:,.0f}",
          help=f"{planned.horizon.words()}: the central forecast added up over those days. {periods.METHOD}")
c2.caption(f"{planned.horizon.span()}: 80% interval {total['referrals_lo_80']:,.0f} to "
           f"{total['referrals_hi_80']:,.0f}; about {top['mean_per_week']:,.0f} a week")
if top["latest_week"] is not None:
    c3.metric("Latest complete week", f"{top['latest_referrals']:,}",
              help=f"Referrals in the week starting {wording.day(top['latest_week'])}.")
    c3.caption(f"Week of {wording.day(top['latest_week'])}")
this_week = top["this_week"]
c4.metric("This week so far (provisional)", f"{this_week['referrals']:,}",
          help="Referrals recorded in the week the as-of date falls in, up to the as-of date. The week is not over, "
               "so this is not a fall.")
c4.caption(f"Week of {wording.day(this_week['week'])}, {this_week['days']} of 7 days")

dashboard.chart_block(
    forecast_view.period_title(planned),
    forecast_view.period_caption(planned),
    planning.period_forecast(planned.periods_only), planned.table, f"referral_forecast_by_{grain}",
    key="forecast_periods",
)
chart = planning.forecast_band(shown)
dashboard.chart_block(
    "Referrals a week: recorded and forecast",
    "Referrals recorded each week (the last two years; a gap in the records is left blank, not drawn as zero) and "
    f"the forecast (dashed, from the week the as-of date falls in to the week of {wording.day(planned.horizon.last)}), "
    "with the range the week's count should fall in 80 times in 100 (darker band) and 95 times in 100 (lighter "
    "band). Hollow points are provisional: this week so far, and the forecast.",
    chart, shown, "referral_forecast", key="forecast_chart",
)

# --- the backtest -----------------------------------------------------------------------------------------
st.subheader("How well this method forecast the past")
backtest = forecast_view.backtest(result, model)
if backtest is None:
    st.info("There is too little history to test the forecast on past weeks.", icon=":material/info:")
else:
    origins, best = backtest.origins, backtest.chosen
    st.caption(
        f"A rolling-origin backtest: the forecast was made again from {origins} past dates (every "
        f"{forecast.BACKTEST_STEP} weeks), using only the weeks before each date, and compared with what then "
        "happened. **Error against 'same week last year'** is the average forecast error divided by the average "
        "error of simply repeating the same week last year: below 1 means the forecast beat that simple rule "
        "(statisticians call it MASE). **Inside the interval** is how often the recorded week fell inside the "
        "forecast's range: close to 80% and 95% means the ranges can be trusted.")
    m1, m2, m3 = st.columns(3)
    m1.metric(ERROR_NAME, f"{best['mase']:.2f}", help=ERROR_HELP)
    m2.metric("Inside the 80% interval", f"{best['coverage_80']:.0%}", help="Should be close to 80%.")
    m3.metric("Inside the 95% interval", f"{best['coverage_95']:.0%}", help="Should be close to 95%.")
    st.caption(backtest.compared)
    dashboard.chart_block(
        "How often past weeks fell inside each forecast's range",
        "For each forecast, the share of past weeks that fell inside its 80% and 95% ranges; the black tick is "
        "the share each should cover. The table adds the error against 'same week last year' (below 1 beats it).",
        planning.backtest_coverage(backtest.coverage), backtest.table, "forecast_backtest", key="forecast_backtest",
    )
    by_horizon = backtest.by_horizon
    dashboard.chart_block(
        "The further ahead, the larger the error",
        "Error of the chosen forecast against 'same week last year' by how many weeks ahead it looked (1 = next "
        "week). Below 1 (dashed) beats simply repeating the same week last year (statistical name: MASE, mean "
        "absolute scaled error).",
        build.layered(build.line(by_horizon, "weeks_ahead", "mase", y_title=ERROR_NAME, x_title="Weeks ahead",
                                 x_type="Q", tooltip_format=".2f"),
                      build.target_rule(1.0, "1: as good as 'same week last year'")),
        by_horizon, "forecast_backtest_by_weeks_ahead", key="forecast_by_horizon",
    )

# --- the work it means ----------------------------------------------------------------------------------
table = demand.work_table(coming, plan)
need = demand.work_summary(table)
st.subheader("What the forecast means for the service")
st.caption(
    f"The planning model, at the service's measured rates (listed below, each with where it came from): "
    f"{plan.engagement_pct:g}% of referrals take the assessment, {plan.course_pct:g}% of them go to the course, "
    f"{plan.no_show_pct:g}% of bookings are no-shows, {plan.seats_per_session} seats a session, "
    f"{plan.assessments_per_worker_day:g} assessments a worker-day. Staff needed are the planning model's answer for the "
    f"{plan.weeks} weeks after the as-of week on the average of the two forecasts, whatever is chosen above: the same "
    "figure as on Capacity and the Scenario planner. Change any assumption in the Scenario planner.")
w1, w2, w3, w4 = st.columns(4)
w1.metric(staffing.WORKERS_LABEL, staffing.needed_text(answer.workers_needed), help=staffing.WORKERS_HELP)
w1.caption(f"Now: {plan.assessment_workers:g}")
w2.metric(staffing.SESSIONS_LABEL, staffing.needed_text(answer.sessions_needed), help=staffing.SESSIONS_HELP)
w2.caption(f"Now: {plan.sessions_per_week:g}")
w3.metric("Assessments a week", f"{need['assessments']:,.0f}",
          help=f"Referrals x the share who take the assessment, averaged over the {horizon} weeks shown.")
w3.caption(f"{need['assessment_worker_days']:,.0f} worker-days of assessment a week")
w4.metric("Staff hours a week", f"{need['staff_hours']:,.0f}",
          help="Assessment time (a working day / assessments per worker-day, each) plus facilitator time for the "
               "sessions the forecast needs, averaged over the weeks shown.")
scenarios.show_assumptions(plan, rates, "forecast")
dashboard.chart_block(
    "Course sessions a week the forecast needs",
    "Sessions needed to seat the people the forecast sends to the course, each week: for the central forecast and "
    "for a busy week (the top of the 80% interval). The table has assessments, seats, worker-days and staff hours "
    "too.",
    planning.sessions_needed(table),
    table, "forecast_demand", key="forecast_demand",
)
