"""Overview: the landing page - headline figures for the chosen period against the one before."""

import streamlit as st

from divert import auth, dashboard, ui
from divert.analytics.overview import headlines, periods

user = ui.require_role(*auth.ALL_ROLES)
st.title("Overview")
filters = dashboard.filter_bar("overview")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
if data.offences.is_empty() and data.referrals.is_empty():
    st.info("No offences or referrals are recorded yet. Caseworkers can add referrals on the Records pages, "
            "and an administrator can import the force's extracts on the Imports page.", icon=":material/info:")
    st.stop()
(now_start, now_end), (was_start, was_end) = periods(filters)
st.caption(f"**This period:** {now_start:%d %b %Y} to {now_end:%d %b %Y}. **Compared with:** {was_start:%d %b %Y} to "
           f"{was_end:%d %b %Y} (the period before, of the same length). Filters: {filters.describe()}. Each small line "
           "is the monthly trend over this period; the current month is not over yet, so it is provisional.")


def shown(value, unit):
    if value is None:
        return "-"
    return {"count": f"{value:,.0f}", "share": f"{value:.0%}", "days": f"{value:,.1f} days", "hours": f"{value:,.0f} h",
            "pct": f"{value:+.0f}%", "ratio": f"{value:.2f}x"}[unit]


def change(h):
    if h.delta is None:
        return None
    return {"count": f"{h.delta:+,.0f}", "share": f"{h.delta * 100:+.1f} points", "days": f"{h.delta:+.1f} days",
            "hours": f"{h.delta:+,.0f} h", "pct": f"{h.delta:+.0f} points", "ratio": f"{h.delta:+.2f}"}[h.unit]


def sparkline(h):
    """The complete months of the period (a month not over, or too recent to have had its
    follow-up, is left out); None when fewer than two."""
    complete = h.trend.filter(~h.trend["provisional"]) if h.trend.height else h.trend
    values = [v for v in complete["value"].to_list() if v is not None] if complete.height else []
    return values if len(values) > 1 else None


small = dashboard.settings().small_number_threshold if user.role == "viewer" else 0
columns = st.columns(3)
for i, h in enumerate(headlines(data, filters, dashboard.settings().officer_hours_per_referral)):
    value = h.value
    if small and h.unit == "count" and value is not None and 0 < value < small:
        value_text, delta, trend = "*", None, None
    else:
        value_text, delta, trend = shown(value, h.unit), change(h), sparkline(h)
    with columns[i % 3]:
        st.metric(h.label, value_text, delta, help=h.help, border=True,
                  delta_color={"up": "normal", "down": "inverse", "none": "off"}[h.better],
                  chart_data=trend)
        if h.key == "disparity":
            st.caption(h.help)
