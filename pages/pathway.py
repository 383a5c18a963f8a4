"""Pathway: from referral to completion, where people drop out, and how long they wait."""

import streamlit as st

from divert.analytics.calendar.maturity import FOLLOW_UP_DAYS
from divert.analytics.dashboards.overview import COMPLIED_LABEL, ENGAGED_LABEL
from divert.charts import build
from divert.readmodels import pathway_view
from divert.web import access, dashboard, ui

user = ui.require_role(*access.ALL_ROLES)
st.title("Pathway")
filters = dashboard.filter_bar("pathway")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
gate = dashboard.gate(user.role)
funnel = pathway_view.funnel(data, filters, gate)
st.caption(f"Referrals made in: {filters.describe(areas=data.programme.area_labels)}. The funnel counts referrals at least "
           f"{FOLLOW_UP_DAYS['completed']} days old ({funnel.cohort}), so that each has had "
           "time to finish; newer referrals are still in progress.")

dashboard.chart_block(
    funnel.title,
    f"The title's shares are the Overview's: {ENGAGED_LABEL.lower()}; {COMPLIED_LABEL.lower()}. The bars count "
    f"referrals at least {FOLLOW_UP_DAYS['completed']} days old, one cohort for every step, so a step's share in the "
    "table is of that cohort. "
    "How many referred people reached each step (hover for the share of all referrals and of the step before, "
    "with 95% intervals). After the assessment people go to the group course (booked, then attended) or to "
    "one-to-one work or treatment, which has no course booking. 'Closed - complied' means the Community "
    "Resolution stands; 'not engaged' ends with an intelligence log and no second offer.",
    build.bars(funnel.table, "label", "people", y_title="People", x_title="", horizontal=True, sort=None,
                color="branch", color_title="Branch", domain=funnel.branches,
                tooltip_extra=[{"field": "share_of_referred", "type": "quantitative", "format": ".1%", "title": "Share of referrals"},
                               {"field": "after", "type": "nominal", "title": "Step before"},
                               {"field": "share_of_previous", "type": "quantitative", "format": ".1%", "title": "Share of the step before"},
                               {"field": "dropped", "type": "quantitative", "title": "Did not go on from the step before"}]),
    funnel.shown, "pathway_funnel", counts=["people", "dropped"],
    empty=f"No referrals at least {FOLLOW_UP_DAYS['completed']} days old for these filters, or too few to show without "
          "identifying anyone: widen the period.",
)

targets = dashboard.settings()
st.caption(f"Service targets: {targets.target_days_to_assessment} working days to assessment, "
           f"{targets.target_days_to_course} days from assessment to course (set by an administrator).")
for wait in pathway_view.waits(data, filters, gate):
    dashboard.chart_block(
        wait.title,
        f"{wait.measure} for people referred each month, in {pathway_view.UNITS[wait.measure]}: the median (half "
        "waited longer) and the 90th percentile (one in ten waited longer). Only people who reached the later step are "
        "counted; recent months whose referrals may still be waiting are hollow (provisional).",
        build.line(wait.statistics, "period", "days", y_title=pathway_view.SHORT_UNITS[wait.measure].capitalize(),
                    color="statistic", color_title="Statistic", order=["90th percentile", "Median"],
                    tooltip_format=",.1f", every="1mo"),
        wait.table, f"wait_{wait.measure.lower().replace(' ', '_')}",
        empty="Nobody has reached this step yet for these filters.",
    )

logs = pathway_view.intelligence_logs(data, filters, gate)
dashboard.chart_block(
    "Intelligence logs per month",
    "Referrals closed because the person did not engage, by month: an intelligence log is submitted and they are "
    "not offered diversion again. The month not over is pale (provisional). The first month shown is pale too: its "
    "logs come only from referrals made in the period, so it counts low.",
    build.bars(logs, "period", "intelligence_logs", y_title="Intelligence logs", temporal=True, x_title=""),
    logs, "intelligence_logs", counts=["intelligence_logs"], empty="No intelligence logs for these filters.",
)

repeats = pathway_view.repeats(data, filters, gate)
dashboard.chart_block(
    "Repeat diversions: share of referrals for people diverted before",
    "Share of referrals each month for people who had completed a diversion before (they can be diverted again as "
    "long as they engage), with 95% intervals (shaded).",
    build.line(repeats, "period", "repeat_share", y_title="Share of referrals", band=("repeat_share_low", "repeat_share_high"),
                share=True, every="1mo"),
    repeats, "repeat_diversions", counts=["repeats", "referrals"], empty="No referrals for these filters.",
)
