"""Volume: recorded possession offences and referrals over time, and who they are."""

import streamlit as st

from divert.analytics.dashboards import volume
from divert.charts import build
from divert.readmodels import volume_view
from divert.web import access, dashboard, ui

user = ui.require_role(*access.ALL_ROLES)
st.title("Volume")
filters = dashboard.filter_bar("volume")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
launch = data.programme.launch
st.caption(f"Showing {filters.describe(areas=data.programme.area_labels)}.")

gate = dashboard.gate(user.role)
change = volume_view.launch_change(data, filters, gate)
if change["change_pct"] is not None:
    n = change["months_before"]
    windows = (f"{change['before_start']:%b %Y}-{change['before_end']:%b %Y} against "
               f"{change['after_start']:%b %Y}-{change['after_end']:%b %Y}")
    c1, c2, c3 = st.columns(3)
    c1.metric(f"Offences a month, {n} months before the launch", f"{change['mean_before']:,.0f}",
              help=f"{change['before_start']:%b %Y} to {change['before_end']:%b %Y}")
    c2.metric(f"Offences a month, first {n} months after", f"{change['mean_after']:,.0f}",
              help=f"{change['after_start']:%b %Y} to {change['after_end']:%b %Y}")
    c3.metric(volume.LAUNCH_JUMP_LABEL, f"{change['change_pct']:+.0f}%",
              help="Rate ratio from a Poisson regression with month-of-year effects (when the windows are whole "
                   "years); the interval is widened for month-to-month variation beyond chance (quasi-Poisson).")
    c3.caption(f"95% interval {change['ci_low_pct']:+.0f}% to {change['ci_high_pct']:+.0f}%")
    adjusted = "seasonally adjusted" if change["seasonally_adjusted"] else "not seasonally adjusted (windows under a year)"
    st.caption(
        f"Equal windows either side of the launch: {windows}, {adjusted}, whatever the Period filter. Recorded "
        "possession offences usually rise when diversion starts: offences that used to go unrecorded are now "
        "recorded so that they can be referred. The interval allows for overdispersion; it does not adjust for "
        "trends already under way."
    )

monthly, monthly_title = volume_view.monthly(data, filters, gate)
dashboard.chart_block(
    monthly_title,
    f"Every possession offence the force recorded in the period, by month (average of the complete months in the "
    f"title), with the start of diversion marked ({data.programme.launch_label}). The current month is not over "
    "yet: its point is hollow and its line dashed (provisional).",
    build.line(monthly, "period", "offences", y_title="Offences a month", every="1mo",
                policy=launch if filters.start is None or filters.start <= launch else None),
    monthly, "offences_per_month", counts=["offences", "referrals"],
)

weekly, weekly_title = volume_view.weekly_referrals(data, filters, gate)
dashboard.chart_block(
    weekly_title,
    "Referrals to the drug-intervention provider each week (weeks start on Monday): each week is a faint point, "
    "the line is the average of the last 4 complete weeks (left out where a week in it is hidden). The week not "
    "over at the as-of date is hollow (provisional) and not in the average.",
    build.line(weekly, "period", "count", y_title="Referrals a week", x_title="Week", every="1w", rolling=4),
    weekly, "referrals_per_week", counts=["count"],
    empty=f"No referrals for these filters. Referrals start when diversion starts ({data.programme.launch_label}).",
)

by = st.segmented_control("Break offences down by", list(volume_view.BREAKDOWNS),
                          format_func=lambda k: volume_view.BREAKDOWNS[k], default="area",
                          key="volume_breakdown") or "area"
table, breakdown_title = volume_view.breakdown(data, filters, gate, by)
dashboard.chart_block(
    breakdown_title,
    f"Recorded possession offences in the period by {volume_view.BREAKDOWNS[by].lower()}, largest first; 'Missing' and 'Not stated' "
    "are shown, not dropped.",
    build.bars(table, by, "count", y_title="Offences", x_title="", horizontal=True, sort="-x",
                tooltip_extra=[{"field": "share", "type": "quantitative", "format": ".1%", "title": "Share"}]),
    table, f"offences_by_{by}", counts=["count"],
)

areas, area_order = volume_view.per_area(data, filters, gate)
dashboard.chart_block(
    "Offences per month in each area",
    "One small chart per local policing area (each on its own scale, from zero) to compare the shape of the "
    "change; compare levels on the chart above. A month not over, or cut by the period's start, is dashed with "
    "a hollow point (provisional).",
    build.small_multiples(areas, "period", "count", "area", y_title="Offences",
                           order=area_order,
                           policy=launch if filters.start is None or filters.start <= launch else None),
    areas, "offences_per_month_by_area", counts=["count"],
)
