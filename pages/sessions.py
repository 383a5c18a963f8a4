"""Course sessions: schedule group-course sessions, book people on the waiting list into them
(within the seats), and keep each session's attendance register."""

import streamlit as st

from divert.core.wording import plural
from divert.readmodels import course_sessions, work_queues
from divert.web import forms, session_forms, tables, ui

user = ui.require_role("manager", "caseworker", "admin")
engine = ui.engine()

st.title("Course sessions")
st.caption(
    "The group course runs as sessions of two to three hours, mostly online. Schedule sessions, "
    "book people who were allocated to the group course, and mark who attended."
)

every = course_sessions.sessions(engine)  # in date order
upcoming = course_sessions.sessions(engine, upcoming=True)
waiting = work_queues.waiting_list(engine)
referral = forms.value(forms.CURRENT_REFERRAL) or st.query_params.get(forms.CURRENT_REFERRAL)
now = forms.now_uk()
today = now.date()

sessions_tab, book_tab, register_tab = st.tabs(
    ["Sessions", "Book places", "Attendance register"], default="Book places" if referral else None,
)

with sessions_tab:
    session_forms.voided_notice()
    view = st.segmented_control("Show", ["Recent and upcoming", "Upcoming", "Past"], default="Recent and upcoming",
                                key="ss_view", help="The last four weeks and the next eight first; every upcoming "
                                                    "session, or every past one (newest first), a click away.")
    if view == "Past":
        past = course_sessions.sessions(engine, upcoming=False, newest_first=True)
        st.subheader("Past sessions")
        if len(past):
            st.caption(f"{plural(len(past), 'past session')}, newest first.")
            tables.show(course_sessions.listed(past), hide_index=True)
        else:
            st.info("No sessions have taken place yet.", icon=":material/event_busy:")
    else:
        around = upcoming if view == "Upcoming" else course_sessions.around(every, now)
        st.subheader("Upcoming sessions" if view == "Upcoming" else "Recent and upcoming sessions")
        if len(around):
            if view != "Upcoming":
                st.caption("Sessions from the last four weeks and the next eight, in date order.")
            tables.show(course_sessions.listed(around), hide_index=True)
        elif len(every):
            st.info(("No upcoming sessions" if view == "Upcoming" else "No sessions in the last four weeks or "
                     "the next eight") + f" - schedule one below. {plural(len(every), 'session')} in all: choose "
                    "Upcoming or Past above to see them.", icon=":material/event_busy:")
        else:
            st.info("No sessions scheduled yet - schedule one below.", icon=":material/event_busy:")
    session_forms.schedule(engine, user.username, today)
    session_forms.term(engine, user.username, today)
    session_forms.change_upcoming(engine, user.username, upcoming)

with book_tab:
    session_forms.book(engine, user.username, upcoming, waiting, referral)

with register_tab:
    session_forms.register(engine, user.username, every, now)
