"""Outcomes: what happened to possession offences, before and after diversion."""

from datetime import date

import polars as pl
import streamlit as st

from divert import auth, charts, codes, dashboard, ui
from divert.analytics import outcomes
from divert.analytics.filters import POLICY_START

user = ui.require_role(*auth.ALL_ROLES)
st.title("Outcomes")
filters = dashboard.filter_bar("outcomes")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
trend_offences = filters.without_period().apply(data.offences, "offence_date")

monthly = dashboard.protect(outcomes.monthly_outcomes(trend_offences), user.role, ["offences"], group_by=["period"])
dashboard.chart_block(
    "Outcomes of possession offences per month",
    "Home Office outcome of each recorded possession offence by the month of the offence. Since "
    "October 2020 most end in a Community Resolution with the drug intervention; charges and cautions fall.",
    charts.bars(monthly, "period", "offences", y_title="Offences", x_title="Month", color="outcome_group",
                color_title="Outcome", temporal=True, domain=outcomes.OUTCOME_ORDER, policy=POLICY_START),
    monthly, "outcomes_per_month", counts=["offences"],
)

st.subheader("Before and after")
st.caption("Compare two matching periods (the programme's own comparison is July-December 2019 with July-December 2021).")
c1, c2 = st.columns(2)
before = c1.date_input("Before", value=outcomes.BEFORE, format="DD/MM/YYYY", key="outcomes_before")
after = c2.date_input("After", value=outcomes.AFTER, format="DD/MM/YYYY", key="outcomes_after")
if not (isinstance(before, tuple) and len(before) == 2 and isinstance(after, tuple) and len(after) == 2):
    st.info("Pick a start and an end date for both periods.")
    st.stop()
by_choice = st.segmented_control("Split by", ["Overall", "Ethnic group", "Ethnic group and sex"], default="Overall",
                                 key="outcomes_by") or "Overall"
by = {"Overall": (), "Ethnic group": ("ethnic_group",), "Ethnic group and sex": ("ethnic_group", "sex")}[by_choice]
table = outcomes.before_after(trend_offences, before, after, by=by)
table = table.with_columns(pl.col("sex").replace_strict(codes.SEXES, default=pl.col("sex"))) if "sex" in by else table
table = dashboard.protect(table, user.role, ["count_before", "count_after"],
                          {"share_before": "offences_before", "share_after": "offences_after"})
label = f"{before[0]:%b %Y}-{before[1]:%b %Y} vs {after[0]:%b %Y}-{after[1]:%b %Y}"
shown = table.select([*by, "outcome", "count_before", "share_before", "count_after", "share_after", "change_pct",
                      "offences_before", "offences_after", "share_before_low", "share_before_high",
                      "share_after_low", "share_after_high"])
long = table.unpivot(index=[*by, "outcome"], on=["share_before", "share_after"], variable_name="period", value_name="share")
long = long.with_columns(pl.col("period").replace_strict({"share_before": "Before", "share_after": "After"}))
chart = charts.bars(long.filter(pl.col("outcome") != "Community Resolution") if by else long, "outcome", "share",
                    y_title="Share of possession offences", x_title="Outcome", color="period", color_title="Period",
                    stacked=False)
if by:
    chart = chart.encode(xOffset="period:N").properties(height=220).facet(row=by[0] if len(by) == 1 else "ethnic_group:N")
else:
    chart = chart.encode(xOffset="period:N")
dashboard.chart_block(
    f"Outcome shares, {label}",
    "Share of possession offences with each outcome in the two periods, and the change in the number of "
    "offences with that outcome. Shares have 95% intervals in the table; the change is in counts, so it "
    "also reflects more offences being recorded after the policy.",
    chart, shown, "outcomes_before_after", counts=["count_before", "count_after"],
)

periods = outcomes.half_years(date(2018, 1, 1), data.offences["offence_date"].max() or date.today())
formal = outcomes.formal_share(trend_offences, periods, by=("ethnic_group",))
if not formal.is_empty():
    order = {name: i for i, name in enumerate(periods)}
    formal = formal.with_columns(
        pl.col("period").replace_strict({n: p[0] for n, p in periods.items()}, return_dtype=pl.Date).alias("starts")
    ).sort("ethnic_group", pl.col("period").replace_strict(order))
formal = dashboard.protect(formal, user.role, ["formal_outcomes", "offences"], {"formal_share": "offences"})
dashboard.chart_block(
    "Share with a formal outcome (charge or caution), by ethnic group",
    "Per half-year, the share of each group's possession offences that ended in a charge or caution, with 95% intervals.",
    charts.line(formal, "starts", "formal_share", y_title="Share charged or cautioned", color="ethnic_group",
                color_title="Ethnic group", band=("formal_share_low", "formal_share_high"), tooltip_format=".1%",
                policy=POLICY_START) if not formal.is_empty() else None,
    formal, "formal_outcome_share", counts=["formal_outcomes", "offences"],
)
