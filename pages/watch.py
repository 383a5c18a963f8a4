"""Equity watch: the relative rate against White at each step of the pathway, month by month, on
a control chart that raises an alert when a gap opens."""

import streamlit as st

from divert.charts import build
from divert.readmodels import equity, watch_view
from divert.web import access, dashboard, ui

user = ui.require_role(*access.ALL_ROLES)
st.title("Equity watch")
filters = dashboard.filter_bar("watch")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
gate = dashboard.gate(user.role)
st.caption("For each step of the pathway (a formal outcome rather than diversion, engaged, completed, intelligence "
           "log) and each broad group, the monthly rate relative to White's. A control chart (an EWMA of the log "
           "ratio with limits from the counts) raises an alert when a group's ratio moves away from its usual level, "
           "calibrated to at most one false alarm per step every two years on stable data. Months not complete, or "
           "whose outcomes are still being recorded, are marked and left out of the alert. Force-wide: the filters "
           "other than the as-of date do not apply.")

alerts = watch_view.alerts(data, filters, gate, ui.engine())
st.subheader(f"Alerts: {len(alerts.open)} open, {len(alerts.closed)} closed")
if not alerts.open and not alerts.closed:
    st.success("No step and group has moved outside its control limits since the launch.", icon=":material/check:")


def show_alert(alert: dict) -> None:
    box = st.warning if alert["status"] == "open" else st.info
    box(f"**{ui.plain(alert['stage_label'])}, {ui.plain(alert['group'])}** ({alert['status']}): "
        f"{ui.plain(alert['message'])}",
        icon=":material/notifications:" if alert["status"] == "open" else ":material/history:")
    if gate.exact and alert.get("counts_text"):
        st.caption(f"Counts behind it: {ui.plain(alert['counts_text'])}.")
    if alert.get("acknowledged_note"):
        by = f" by {ui.plain(alert['acknowledged_by'])}" if gate.exact and alert.get("acknowledged_by") else ""
        st.caption(f"Acknowledged{by} on {alert['acknowledged_at'][:10]}: {ui.plain(alert['acknowledged_note'])}")
    if user.role in equity.ACK_ROLES:
        with st.expander("Acknowledge this alert" if not alert.get("acknowledged_note") else "Update the acknowledgement"):
            with st.form(f"ack_{alert['alert_id']}", clear_on_submit=True, border=False):
                note = st.text_input("Note", key=f"ack_note_{alert['alert_id']}", max_chars=1000,
                                     placeholder="What was looked at, or what is being done")
                if st.form_submit_button("Acknowledge", icon=":material/done:"):
                    current = ui.require_role(*equity.ACK_ROLES)
                    saved = equity.acknowledge(alert["alert_id"], note, current.username, current.role,
                                               engine=ui.engine())
                    if saved.ok:
                        st.toast("Acknowledged: the note is in the audit log")
                        st.rerun()
                    ui.show_problems(saved.problems, "Not acknowledged:")


for alert in alerts.open:
    show_alert(alert)
if alerts.closed:
    with st.expander(f"Closed alerts ({len(alerts.closed)}): the ratio came back inside its limits"):
        for alert in alerts.closed:
            show_alert(alert)

for panel in watch_view.panels(data, filters, gate):
    dashboard.chart_block(
        f"{panel.label}: relative to White, month by month",
        "One panel per group: the smoothed ratio to White (EWMA) between its control limits; a line leaving the "
        "limits raises an alert. Provisional months are hollow, on a dashed line; the limits are dotted.",
        build.small_multiples(panel.lines, "month", "ratio", "group", y_title="Ratio to White", lines="line")
        if panel.lines is not None else None,
        panel.table, f"equity_watch_{panel.stage}", counts=["events", "denominator", "white_events", "white_denominator"],
    )
