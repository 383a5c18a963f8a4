"""Pathway: from referral to completion, where people drop out, and how long they wait."""

import polars as pl
import streamlit as st

from divert.analytics.calendar.maturity import FOLLOW_UP_DAYS, mature, with_provisional
from divert.analytics.dashboards import pathway
from divert.analytics.dashboards.overview import COMPLIED_LABEL, ENGAGED_LABEL, gated, headlines
from divert.analytics.metrics import GATES, pathway_table, waits_table
from divert.charts import build
from divert.web import access, dashboard, ui

user = ui.require_role(*access.ALL_ROLES)
st.title("Pathway")
filters = dashboard.filter_bar("pathway")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
referrals = filters.apply(data.referrals, "referred_on")
finished = referrals.filter(mature("referred_on", "completed", filters.as_of_date))
st.caption(f"Referrals made in: {filters.describe(areas=data.programme.area_labels)}. The funnel counts referrals at least "
           f"{FOLLOW_UP_DAYS['completed']} days old ({finished.height:,} of {referrals.height:,}), so that each has had "
           "time to finish; newer referrals are still in progress.")

gate = dashboard.gate(user.role)
funnel = gate.table(pathway_table(data, filters), **GATES["pathway"])


hours = data.programme.officer_hours_per_referral
headline = {h.key: gated(h, gate, hours).value for h in headlines(data, filters, hours)}  # as on the Overview
engaged, complied = headline["engaged_share"], headline["completed_share"]
dashboard.chart_block(
    f"{engaged:.0%} of referrals engaged and {complied:.0%} closed as complied" if engaged is not None and complied is not None
    else "From referral to closure",
    f"The title's shares are the Overview's: {ENGAGED_LABEL.lower()}; {COMPLIED_LABEL.lower()}. The bars count "
    f"referrals at least {FOLLOW_UP_DAYS['completed']} days old, one cohort for every step, so a step's share in the "
    "table is of that cohort. "
    "How many referred people reached each step (hover for the share of all referrals and of the step before, "
    "with 95% intervals). After the assessment people go to the group course (booked, then attended) or to "
    "one-to-one work or treatment, which has no course booking. 'Closed - complied' means the Community "
    "Resolution stands; 'not engaged' ends with an intelligence log and no second offer.",
    build.bars(funnel, "label", "people", y_title="People", x_title="", horizontal=True, sort=None,
                color="branch", color_title="Branch", domain=funnel["branch"].unique(maintain_order=True).to_list(),
                tooltip_extra=[{"field": "share_of_referred", "type": "quantitative", "format": ".1%", "title": "Share of referrals"},
                               {"field": "after", "type": "nominal", "title": "Step before"},
                               {"field": "share_of_previous", "type": "quantitative", "format": ".1%", "title": "Share of the step before"},
                               {"field": "dropped", "type": "quantitative", "title": "Did not go on from the step before"}]),
    funnel if finished.height else funnel.head(0), "pathway_funnel", counts=["people", "dropped"],
    empty=f"No referrals at least {FOLLOW_UP_DAYS['completed']} days old for these filters: widen the period.",
)

waits = gate.table(waits_table(data, filters), **GATES["waits"])
labels = {"to_assessment": "Referral to assessment", "to_course": "Assessment to course"}
units = {"Referral to assessment": "working days (Monday to Friday, as the service target)",
         "Assessment to course": "calendar days"}
short_units = {"Referral to assessment": "working days", "Assessment to course": "days"}
waits = waits.with_columns(pl.col("measure").replace_strict(labels).alias("wait"))
targets = dashboard.settings()
st.caption(f"Service targets: {targets.target_days_to_assessment} working days to assessment, "
           f"{targets.target_days_to_course} days from assessment to course (set by an administrator).")
for measure_label in labels.values():
    part = waits.filter(pl.col("wait") == measure_label).sort("period")
    long = part.unpivot(index=["period", "people", "provisional"], on=["median_days", "p90_days"], variable_name="statistic",
                        value_name="days")
    long = long.with_columns(pl.col("statistic").replace_strict({"median_days": "Median", "p90_days": "90th percentile"}))
    settled = part.filter(~pl.col("provisional").fill_null(False)).drop_nulls("median_days").tail(1)
    dashboard.chart_block(
        f"{measure_label}: a median of {settled['median_days'][0]:,.1f} {short_units[measure_label]} in "
        f"{settled['period'][0]:%B %Y}" if settled.height else f"Days: {measure_label.lower()}",
        f"{measure_label} for people referred each month, in {units[measure_label]}: the median (half waited longer) and the "
        "90th percentile (one in ten waited longer). Only people who reached the later step are counted; recent "
        "months whose referrals may still be waiting are hollow (provisional).",
        build.line(long, "period", "days", y_title=short_units[measure_label].capitalize(), color="statistic",
                    color_title="Statistic", order=["90th percentile", "Median"], tooltip_format=",.1f", every="1mo"),
        part.drop("measure"), f"wait_{measure_label.lower().replace(' ', '_')}",
        empty="Nobody has reached this step yet for these filters.",
    )

logs = gate.table(with_provisional(pathway.intelligence_logs(referrals), filters.as_of_date), ["intelligence_logs"],
                  across=[[]])
dashboard.chart_block(
    "Intelligence logs per month",
    "Referrals closed because the person did not engage, by month: an intelligence log is submitted and they are "
    "not offered diversion again. The month not over is pale (provisional).",
    build.bars(logs, "period", "intelligence_logs", y_title="Intelligence logs", temporal=True, x_title=""),
    logs, "intelligence_logs", counts=["intelligence_logs"], empty="No intelligence logs for these filters.",
)

repeats = gate.table(with_provisional(pathway.repeats(referrals), filters.as_of_date), ["repeats", "referrals"],
                     {"repeat_share": ["referrals", "repeats"]}, across=[[]])
dashboard.chart_block(
    "Repeat diversions: share of referrals for people diverted before",
    "Share of referrals each month for people who had completed a diversion before (they can be diverted again as "
    "long as they engage), with 95% intervals (shaded).",
    build.line(repeats, "period", "repeat_share", y_title="Share of referrals", band=("repeat_share_low", "repeat_share_high"),
                share=True, every="1mo"),
    repeats, "repeat_diversions", counts=["repeats", "referrals"], empty="No referrals for these filters.",
)
