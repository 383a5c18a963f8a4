"""Reoffending: a further possession offence after a referral, by whether the person completed."""

import streamlit as st

from divert.charts import build
from divert.core import wording
from divert.readmodels import reoffending_view
from divert.web import access, dashboard, ui

user = ui.require_role(*access.ALL_ROLES)
st.title("Reoffending")
filters = dashboard.filter_bar("reoffending")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
end = filters.as_of_date
st.caption(
    f"Re-detected for possession: a further recorded possession offence by the same person after their referral, "
    f"for referrals made in: {filters.describe(areas=data.programme.area_labels)}. Follow-up runs to the as-of date, {wording.day(end)}."
)

gate = dashboard.gate(user.role)
rates = reoffending_view.rates(data, filters, gate)
dashboard.chart_block(
    rates.title,
    "Share of referred people with another possession offence within 6 or 12 months, by how the referral "
    "ended, with 95% intervals (black lines). Only referrals with the whole window before the as-of date count. "
    "Observational: this compares people who chose to engage or not, so it is not the effect of the course.",
    build.bars(rates.chart, "status", "rate", y_title="Share with a further offence", x_title="", color="within",
                color_title="Within", domain=rates.windows, grouped=True, share=True, interval=("rate_low", "rate_high")),
    rates.table, "reoffending_rates", counts=["reoffended", "referrals"],
    empty="No referral has a full 6-month follow-up yet for these filters.",
)

if not gate.exact:
    st.subheader("Time to a further offence")
    st.info("The curve of time to a further offence steps at each person's further offence, so it is shown to "
            "service managers only; the 6- and 12-month shares above are the published figures.",
            icon=":material/visibility_off:")
elif (curve := reoffending_view.time_to_offence(data, filters)) is not None:
    chart = build.line(curve.chart, "months", "still_without_offence", y_title="Still without a further offence",
                        color="status", color_title="Referral ended", band=("low", "high"), share=True,
                        x_type="Q", x_title="Months since referral", y_domain=(curve.floor, 1.0), steps=True,
                        order=["Closed - complied", "Closed - not engaged"])
    dashboard.chart_block(
        "Time to a further offence: the share still without one, month by month",
        f"The share of referred people still without a further possession offence as time since referral passes, "
        f"with 95% intervals; people are followed until the as-of date, and the curve stops where few are still "
        f"followed. The axis starts at {curve.floor:.0%}, not 0, to show the difference between the groups. (Statistical "
        "name: Kaplan-Meier survival estimate.)",
        chart, curve.table,
        "time_to_further_offence",
    )
