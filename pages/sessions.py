"""Course sessions: schedule group-course sessions, book people on the waiting list into them
(within the seats), and keep each session's attendance register."""

import streamlit as st

from divert.core.wording import plural
from divert.readmodels import course_sessions, work_queues
from divert.web import forms, session_forms, ui

user = ui.require_role("manager", "caseworker", "admin")
engine = ui.engine()

st.title("Course sessions")
st.caption(
    "The group course runs as sessions of two to three hours, mostly online. Schedule sessions, "
    "book people who were allocated to the group course, and mark who attended."
)

upcoming = course_sessions.sessions(engine, upcoming=True)
waiting = work_queues.waiting_list(engine)
referral = forms.value(forms.CURRENT_REFERRAL) or st.query_params.get(forms.CURRENT_REFERRAL)
today = forms.now_uk().date()

sessions_tab, book_tab, register_tab = st.tabs(
    ["Sessions", "Book places", "Attendance register"], default="Book places" if referral else None,
)

with sessions_tab:
    session_forms.voided_notice()
    past = course_sessions.sessions(engine, upcoming=False, newest_first=True)
    view = st.segmented_control("Show", ["Upcoming", "Past"], default="Upcoming", key="ss_view",
                                help="Upcoming sessions first; past ones, newest first, a click away.")
    if view == "Past":
        st.subheader("Past sessions")
        if len(past):
            st.caption(f"{plural(len(past), 'past session')}, newest first.")
            st.dataframe(course_sessions.listed(past), hide_index=True)
        else:
            st.info("No sessions have taken place yet.", icon=":material/event_busy:")
    else:
        st.subheader("Upcoming sessions")
        if len(upcoming):
            st.dataframe(course_sessions.listed(upcoming), hide_index=True)
        elif len(past):
            st.info(f"No upcoming sessions - schedule one below. {plural(len(past), 'past session')}: "
                    "choose Past above to see them.", icon=":material/event_busy:")
        else:
            st.info("No sessions scheduled yet - schedule one below.", icon=":material/event_busy:")
    session_forms.schedule(engine, user.username, today)
    session_forms.term(engine, user.username, today)
    session_forms.change_upcoming(engine, user.username, upcoming)

with book_tab:
    session_forms.book(engine, user.username, upcoming, waiting, referral)

with register_tab:
    session_forms.register(engine, user.username, course_sessions.sessions(engine, newest_first=True), today)
