"""Worklist: every open referral by its next action - how long it has waited, whether it is
overdue against the service targets - filtered and sorted; a row opens the referral."""

import streamlit as st

from divert.core.wording import day, plural
from divert.readmodels import casework, worklist
from divert.web import tables, ui

user = ui.require_role("caseworker", "manager", "admin")
engine = ui.engine()
GENERATION = "wl_generation"  # a new table key after a row is opened, so the choice is not kept
OPENS_RECORDS = user.role in ("caseworker", "admin")
OPEN_LABEL = "Open a referral"

st.title("Worklist")
today = casework.uk_today()
work = worklist.build(engine, today)
st.caption(
    f"Open referrals on {day(today)} by their next action, longest waiting first. Targets (set by an "
    f"administrator): assessment within {plural(work.assessment_target, 'working day')} of the referral, a course "
    f"within {plural(work.course_target, 'day')} of the assessment. "
    + ("Choose a row, or a reference below, to open the referral." if OPENS_RECORDS else "Book people on Course sessions.")
)

# --- counts per action --------------------------------------------------------------------
labels = [*worklist.ACTIONS, worklist.OVERDUE]
for start in (0, 4):
    columns = st.columns(4)
    for column, label in zip(columns, labels[start:start + 4], strict=False):
        column.metric(label, f"{work.counts[label]:,}")

# --- filters --------------------------------------------------------------------------------
actions = st.pills("Next action", list(worklist.ACTIONS), selection_mode="multi", key="wl_actions",
                   help="Choose one or more; none chosen shows them all.")
left, middle, right = st.columns([2, 2, 1])
with left:
    text = st.text_input("Referral reference contains", key="wl_text", max_chars=40, placeholder="e.g. DIV-0001")
with middle:
    areas = st.multiselect("Area", sorted(set(work.rows["Area"])), key="wl_areas", placeholder="Every area")
with right:
    overdue_only = st.toggle("Overdue only", key="wl_overdue", help="Past the assessment or course target.")
left, right = st.columns([2, 3])
with left:
    SORTS = {"longest": "Next action, then longest waiting", "longest_overall": "Longest waiting",
             "newest": "Newest first", "reference": "Referral reference"}
    sort = st.selectbox("Sort by", list(SORTS), format_func=SORTS.get, key="wl_sort")

rows = worklist.filtered(work.rows, actions=actions, areas=areas, overdue_only=overdue_only, text=text or "", sort=sort)
st.caption(f"{plural(rows.height, 'referral')} shown of {work.rows.height:,} open.")
if not rows.height:
    st.info("No open referral matches these filters." if work.rows.height else "No referrals are open.",
            icon=":material/done_all:")
    st.stop()

generation = st.session_state.setdefault(GENERATION, 0)
chosen = tables.show(
    rows, hide_index=True, key=f"wl_table_{generation}",
    on_select="rerun" if OPENS_RECORDS else "ignore", selection_mode="single-row",
    column_config={
        "Overdue": st.column_config.CheckboxColumn("Overdue", help="Past the service target", width="small"),
        "Waiting since": st.column_config.DateColumn("Waiting since", format="D MMM YYYY"),
        "Days waiting": st.column_config.NumberColumn("Days waiting", help="Calendar days since the wait began"),
        "Working days": st.column_config.NumberColumn("Working days", help="Monday to Friday, the assessment target's unit"),
        "Details": st.column_config.TextColumn("Details", width="large"),
        "Target": st.column_config.TextColumn("Target", help="The service target for this wait"),
    },
)
selected = chosen.selection.rows if OPENS_RECORDS and chosen is not None else []
# the same choice with a plain select box, which a keyboard and a screen reader can use (the
# table is drawn on a canvas)
picked = st.selectbox(OPEN_LABEL, list(rows["Referral"]), index=None, key=f"wl_open_{generation}",
                      placeholder="Type or choose a referral reference shown above",
                      help="Opens the referral on Find a referral.") if OPENS_RECORDS else None
reference = rows["Referral"][selected[0]] if selected else picked
if reference:
    st.session_state[GENERATION] = generation + 1
    st.switch_page("pages/find_referral.py", query_params={"referral": reference})
