"""Reoffending: a further possession offence after a referral, by whether the person completed."""

import streamlit as st

from divert import auth, charts, dashboard, ui
from divert.analytics import reoffending
from divert.analytics.metrics import reoffending_table

user = ui.require_role(*auth.ALL_ROLES)
st.title("Reoffending")
filters = dashboard.filter_bar("reoffending")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
end = filters.as_of_date
st.caption(
    f"Re-detected for possession: a further recorded possession offence by the same person after their referral, "
    f"for referrals made in: {filters.describe()}. Follow-up runs to the as-of date, {end:%d %B %Y}."
)

table = dashboard.protect(reoffending_table(data, filters), user.role, ["reoffended", "referrals"], {"rate": "referrals"})
dashboard.chart_block(
    "Re-detected for possession within 6 and 12 months",
    "Share of referred people with another possession offence within 6 or 12 months, by how the referral "
    "ended, with 95% intervals. Only referrals with the whole window before the as-of date count. Observational: "
    "this compares people who chose to engage or not, so it is not the effect of the course.",
    charts.bars(table.with_columns(months=table["months"].cast(str) + " months"), "status", "rate",
                y_title="Share with a further offence", x_title="Referral ended", color="months",
                color_title="Within", stacked=False).encode(xOffset="months:N"),
    table, "reoffending_rates", counts=["reoffended", "referrals"],
    empty="No referral has a full 6-month follow-up yet for these filters.",
)

if not data.referrals.is_empty():
    curve = reoffending.kaplan_meier(filters.apply(data.referrals, "referred_on"), data.offences, end)
    curve = curve.filter(curve["at_risk"] >= (dashboard.settings().small_number_threshold if user.role == "viewer" else 1))
    curve = curve.with_columns(months=curve["days"] / reoffending.DAYS_PER_MONTH)
    chart = charts.line(curve, "months", "still_without_offence", y_title="Still without a further offence",
                        color="status", color_title="Referral ended", band=("low", "high"), tooltip_format=".1%",
                        x_type="Q", x_title="Months since referral")
    dashboard.chart_block(
        "Time to a further offence",
        "Kaplan-Meier curve: the share still without a further possession offence as time since referral "
        "passes, with 95% intervals; people are followed until the end of the data. Where few people are "
        "still followed the curve stops.",
        chart, curve.select("status", "days", "still_without_offence", "low", "high", "at_risk"),
        "time_to_further_offence",
    )
