"""Outcomes: what happened to possession offences, before and after diversion."""


import streamlit as st

from divert.analytics.calendar.maturity import FOLLOW_UP_DAYS
from divert.analytics.dashboards import outcomes
from divert.charts import build
from divert.core import codes, wording
from divert.readmodels import outcomes_view
from divert.web import access, dashboard, ui

user = ui.require_role(*access.ALL_ROLES)
st.title("Outcomes")
filters = dashboard.filter_bar("outcomes")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
launch = data.programme.launch
gate = dashboard.gate(user.role)

monthly, monthly_title = outcomes_view.monthly(data, filters, gate)
dashboard.chart_block(
    monthly_title,
    f"Home Office outcome of each possession offence recorded in the period, by the month of the offence (title: the "
    f"latest complete month). Diversion started in {data.programme.launch_label}. Months within "
    f"{FOLLOW_UP_DAYS['outcome']} days of the as-of date are pale (provisional): some of their outcomes are still "
    "pending.",
    build.bars(monthly, "period", "offences", y_title="Offences", x_title="", color="outcome_group",
                color_title="Outcome", temporal=True, domain=outcomes.OUTCOME_ORDER,
                policy=launch if not filters.start or filters.start <= launch else None),
    monthly, "outcomes_per_month", counts=["offences"],
)

st.subheader("Before and after the launch")
default_before, default_after = outcomes.comparison_periods(launch)
st.caption(f"Two matching half-years, the same on every split: by default the programme's own comparison, "
           f"{default_before[0]:%b %Y} to {default_before[1]:%b %Y} (before the launch) with "
           f"{default_after[0]:%b %Y} to {default_after[1]:%b %Y}. Every outcome is counted, offences still awaiting one "
           "included, so each period's shares add up to 100%. Not limited by the Period filter.")
if gate.exact:
    c1, c2 = st.columns(2)
    before = c1.date_input("Before", value=default_before, format="DD/MM/YYYY", key="outcomes_before")
    # the fixed comparison stays selectable on an as-of date before it ends (then it is provisional)
    after = c2.date_input("After", value=default_after, format="DD/MM/YYYY",
                          max_value=max(filters.as_of_date, default_after[1]), key="outcomes_after")
else:  # viewers compare the fixed, published periods: no differencing of custom windows
    before, after = default_before, default_after
if not (isinstance(before, tuple) and len(before) == 2 and isinstance(after, tuple) and len(after) == 2):
    st.info("Pick a start and an end date for both periods.")
    st.stop()
st.markdown(f"**Before:** {wording.day(before[0])} to {wording.day(before[1])}. **After:** {wording.day(after[0])} to "
            f"{wording.day(after[1])}.")
if outcomes_view.after_provisional(after, filters.as_of_date):
    st.warning(f"The after period ends within {FOLLOW_UP_DAYS['outcome']} days of the as-of date: some of its "
               "offences are still awaiting an outcome, so its shares are provisional.", icon=":material/schedule:")
by_choice = st.segmented_control("Split by", list(outcomes_view.SPLITS), default="Overall",
                                 key="outcomes_by") or "Overall"
by = outcomes_view.SPLITS[by_choice]
compared = outcomes_view.before_after(data, filters, gate, before, after, by)
if by:  # one small chart per outcome, the groups side by side before and after
    chart = build.faceted(build.bars(compared.shares, "group", "share", y_title="Share of the group's offences",
                                     color="period", color_title="Period", domain=["Before", "After"], grouped=True,
                                     share=True), "outcome", sort=outcomes_view.FACETED)
else:
    chart = build.bars(compared.shares, "outcome", "share", y_title="Share of possession offences", color="period",
                        color_title="Period", domain=["Before", "After"], grouped=True, share=True, sort=list(outcomes.OUTCOME_ORDER))
dashboard.chart_block(
    compared.title,
    f"Share of possession offences with each outcome, {compared.label} (95% intervals and the change in percentage "
    "points, with its interval, in the table). Changes are in shares, not counts: counts also rose because more "
    "offences were recorded after the launch." + (" One chart per outcome (the five most common kinds); every outcome "
                                                   "is in the table." if by else ""),
    chart, compared.shown, "outcomes_before_after", counts=["count_before", "count_after"],
)

st.subheader("Gaps between groups: absolute and relative")
gaps = outcomes_view.gaps(data, filters, gate, before, after, by)
st.info(gaps.reading, icon=":material/balance:")
dashboard.chart_block(
    gaps.title,
    "For each group, the share of its possession offences charged or cautioned divided by the reference group's "
    "share (White; White of the same sex when split by sex), before and after. 1 (dashed) means the same. Read it "
    "beside the shares: a share can fall for everyone while the ratio between groups widens. The reference row is 1 "
    "by definition and has no interval. The two half-years are fixed (above), whatever the Period filter: the "
    "Overview's widest gap is over the chosen period, and the Disparity page's decision points are rates at each "
    "step, so their ratios differ from these.",
    build.layered(build.bars(gaps.ratios, "group", "ratio", y_title="Times as likely as the reference group",
                             color="period", color_title="Period", domain=["Before", "After"], grouped=True),
                  build.target_rule(1.0, "Same as the reference group", horizontal=False)),
    gaps.table, "formal_outcome_gaps", counts=["formal_before", "formal_after"],
)

formal = outcomes_view.formal_by_half_year(data, filters, gate)
dashboard.chart_block(
    formal.title,
    "Per half-year since the first record (the whole series, not limited by the Period filter), the share of each "
    "group's possession offences that ended in a charge or caution, with its 95% interval (shaded); the other "
    "groups are drawn in grey behind it for comparison. A half-year not over, or with outcomes still pending, is "
    "hollow (provisional).",
    build.compare_groups(formal.table, "starts", "formal_share", "ethnic_group", y_title="Charged or cautioned",
                          order=list(codes.BROAD_GROUPS) + ["Missing"], band=("formal_share_low", "formal_share_high"),
                          share=True, policy=launch, every="6mo") if not formal.empty else None,
    formal.table, "formal_outcome_share", counts=["formal_outcomes", "offences"],
)
