"""Overview: the landing page - headline figures for the chosen period against the one before."""

import streamlit as st

from divert.analytics.dashboards.overview import periods
from divert.core import wording
from divert.readmodels import overview_view
from divert.web import access, dashboard, tables, ui

user = ui.require_role(*access.ALL_ROLES)
st.title("Overview")
filters = dashboard.filter_bar("overview")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
if overview_view.nothing_recorded(data):
    st.info("No offences or referrals are recorded yet. Caseworkers can add referrals on the Records pages, "
            "and an administrator can import the force's extracts on the Imports page.", icon=":material/info:")
    st.stop()
(now_start, now_end), (was_start, was_end) = periods(filters)
st.caption(f"**This period:** {wording.day(now_start)} to {wording.day(now_end)}. **Compared with:** {wording.day(was_start)} to "
           f"{wording.day(was_end)} (the period before, of the same length). Filters: "
           f"{filters.describe(period=False, areas=data.programme.area_labels)}. In each card the number, its change on "
           "the period before (under the number) and the small line (one point a month, the complete months of this period; "
           "left out when a month is hidden or not yet known) are in the same units. Green or red: the change is good or bad for that measure; grey: within what chance alone "
           "would give, or neither good nor bad.")

cards = overview_view.cards(data, filters, dashboard.gate(user.role))
PER_ROW = 3
for first in range(0, len(cards), PER_ROW):  # row by row, so a phone reads them in the same order
    row = st.columns(PER_ROW)
    for column, shown in zip(row, cards[first:first + PER_ROW], strict=False):
        with column.container(border=True, height="stretch"):
            st.metric(shown.label, shown.value, shown.delta, help=shown.help, delta_color=shown.delta_color,
                      chart_data=shown.trend, delta_arrow="off" if shown.delta == "no change" else "auto")
            st.caption(shown.note)

# value for money: cost per referral, assessment and course, and the officer hours released, with ranges
worth = overview_view.value_for_money(data, filters, dashboard.gate(user.role))
st.subheader("Value for money")
st.caption(f"{worth['meaning']} This period: {wording.day(worth['start'])} to {wording.day(worth['end'])} "
           f"({worth['days']} days); referrals by the day they were made, assessments and courses by the day they "
           "happened.")
tables.show(worth["lines"], hide_index=True, width="stretch")
st.caption(f"Officer hours per referral, source: {ui.plain(worth['hours_source'])}")
if not (worth["priced"] and worth["valued"]):
    if user.role == "admin":
        st.page_link("pages/admin_programme.py", label="Enter the price and the cost of an officer hour",
                     icon=":material/edit:")
    else:
        st.caption("An administrator enters the programme's price and the cost of an officer hour on the Programme "
                   "page.")

# the equity watch: open alerts, in words (the counts behind them are on the Equity watch page)
open_alerts = overview_view.open_alerts(data, filters, ui.engine())
st.subheader("Equity watch")
if not open_alerts:
    st.caption("No open alert: at every step of the pathway each group's rate relative to White is within its usual "
               "range. The Equity watch page has the charts.")
for alert in open_alerts:
    acknowledged = " (acknowledged)" if alert.get("acknowledged_note") else ""
    st.warning(f"**{ui.plain(alert['stage_label'])}, {ui.plain(alert['group'])}**{acknowledged}: "
               f"{ui.plain(alert['message'])}", icon=":material/notifications:")
if open_alerts:
    st.page_link("pages/watch.py", label="Open the Equity watch", icon=":material/monitor_heart:")
