"""Impact: did diversion change formal outcomes, and the gap between groups? An interrupted time
series, with its threats named."""

import streamlit as st

from divert.charts import build
from divert.readmodels import impact_view
from divert.web import access, dashboard, ui

user = ui.require_role(*access.ALL_ROLES)
st.title("Impact")
filters = dashboard.filter_bar("impact")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
gate = dashboard.gate(user.role)
launch = data.programme.launch
st.caption(f"Monthly charges and cautions as a share of possession offences, before and after the launch "
           f"({data.programme.launch_label}), modelled as an interrupted time series: the trend before the launch is "
           "carried forward as what would have happened had nothing changed, and the change at and after the launch "
           "is measured against it, with 95% intervals. Every complete month counts, whatever the Period filter; "
           "recent months whose outcomes are still being recorded are left out.")

shown = impact_view.impact(data, filters, gate)
if shown is None:
    st.info("Too few complete months before or after the launch to fit the model (it needs at least six on each "
            "side).", icon=":material/info:")
    st.stop()

st.markdown(shown.verdict)

dashboard.chart_block(
    "Formal outcomes against what the trend before the launch predicted",
    "Each month's share of possession offences ending in a charge or caution (points), the model's fitted line, and "
    "the counterfactual: the trend before the launch carried on. The gap between the last two is the estimated "
    "effect. Hover for values.",
    build.line(shown.lines, "month", "share", y_title="Share charged or cautioned", color="series", color_title="",
                policy=launch, every="1mo", share=True, order=["Observed", "Fitted", "Had nothing changed"]),
    shown.series, "impact_series", counts=["offences", "formal"],
)

dashboard.chart_block(
    "The change at the launch, overall and by group",
    "Rate ratios with 95% intervals (robust to month-to-month correlation and overdispersion): below 1 means fewer "
    "formal outcomes than the trend before the launch predicted; the p-value is the chance of a change this big by "
    "luck alone. 'Change in level' is the step at the launch; "
    "'change in trend' the yearly change in slope after it.",
    build.forest(shown.level_changes, "group", "estimate", "ci_low", "ci_high",
                  x_title="Change in level at the launch (rate ratio, log scale)"),
    shown.estimates, "impact_estimates",
)

dashboard.chart_block(
    "Did the gap against White narrow?",
    "For each group, the ratio of its formal-outcome rate to White's before the launch and after it, and the ratio "
    "of the two (the 'ratio of rate ratios', from one model with every calendar month): below 1 means the gap "
    "narrowed, above 1 that it widened, whatever happened to the rates themselves.",
    build.forest(shown.gap, "group", "ratio_of_rate_ratios", "rrr_low", "rrr_high",
                  x_title="Gap after / gap before (log scale)"),
    shown.gap, "impact_gap_against_white",
    counts=["offences_before", "formal_before", "offences_after", "formal_after"],
)

st.subheader("The recording check")
st.caption("Recorded possession offences rose at the launch (offences that used to go unrecorded): the change in "
           "recorded offences is the launch jump, the same figure as on the Volume page (12 complete months either "
           "side, seasonally adjusted); formal outcomes counted on their own are the time-series model's step. Both "
           "as percentage changes with 95% intervals.")
dashboard.table(shown.recording)
if shown.controlled is not None:
    st.subheader("Against comparator forces")
    st.caption("The same model on drug searches' formal outcomes (police.uk stop and search) for the programme's force "
               f"and for {', '.join(shown.comparators)}: the difference between the two changes is what is left "
               "once a national trend is allowed for.")
    dashboard.table(shown.controlled)
else:
    st.caption("Comparator forces: import police.uk stop-and-search files for other forces (Imports page) to run the "
               "same model on them and allow for a national trend.")
