"""Audit log (administrators only): every write in words (who changed what, from what to what,
why, to the minute in UK time), with filters and CSV."""

from datetime import timedelta

import streamlit as st

from divert.core import clock
from divert.readmodels import admin_view
from divert.records import audit_log
from divert.web import tables, ui

ANY = "(any)"
LIMIT = 5000

ui.require_role("admin")
engine = ui.engine()
st.title("Audit log")
st.caption(
    "Every change to the records, users and settings, and every sign-in, wrong password and "
    "lockout: who did it, what changed from what to what, and why. Times are UK time, to the minute. Passwords "
    "are never recorded."
)

options = audit_log.choices(engine)
c1, c2, c3, c4 = st.columns([1, 1, 1, 2])
who = c1.selectbox("User", [ANY, *options["username"]])
action = c2.selectbox("Action", [ANY, *options["action"]], format_func=lambda a: a if a == ANY else audit_log.action_label(a))
table = c3.selectbox("Record", [ANY, *options["table_name"]],
                     format_func=lambda t: t if t == ANY else audit_log.table_label(t))
today = clock.today()
period = c4.date_input(
    "Dates (from - to)", value=(today - timedelta(days=30), today), max_value=today + timedelta(days=1),
    format="DD/MM/YYYY",
)
start, end = (period + (None, None))[:2] if isinstance(period, tuple) else (period, None)

frame, more = audit_log.events(
    engine,
    username=None if who == ANY else who,
    action=None if action == ANY else action,
    table=None if table == ANY else table,
    start=start,
    end=end,
    limit=LIMIT,
)
shown = f"{frame.height:,} event{'s' if frame.height != 1 else ''}"
st.write(f"**{shown}**" + (f" (the newest {LIMIT:,}; narrow the filters to see older ones)" if more else ""))
entries = admin_view.audit_entries(frame)
tables.show(entries, hide_index=True, width="stretch",
            column_config={"What changed": st.column_config.TextColumn(width="large")})
tables.csv_download(
    "Download CSV",
    entries,
    f"divert-audit-{today:%Y-%m-%d}.csv",
    icon=":material/download:",
    disabled=frame.is_empty(),
)
