"""Course sessions: schedule group-course sessions, book people on the waiting list into them
(within the seats), and keep each session's attendance register."""

from datetime import time, timedelta

import streamlit as st

from divert.core import codes
from divert.core.field_rules import Problem
from divert.core.wording import plural
from divert.readmodels import casework, course_sessions, work_queues
from divert.records import sessions as records_sessions
from divert.records.corrections import void_session
from divert.records.sessions import add_session, add_term, book_many, edit_session, save_register
from divert.web import forms, ui

user = ui.require_role("manager", "caseworker", "admin")
engine = ui.engine()

SESSION_LABELS = {
    "session_ref": "Session reference", "starts_at": "Date", "duration_minutes": "Length",
    "mode": "Delivery", "seats": "Seats", "facilitator": "Facilitator's staff code", "reason": "Reason for the change",
}
STATUS_CODES = {label: code for code, label in codes.BOOKING_STATUSES.items()}
MODES = list(codes.DELIVERY_MODES)
BOOK_FORM = "book_places"
VOIDED = "ss_voided"

st.title("Course sessions")
st.caption(
    "The group course runs as sessions of two to three hours, mostly online. Schedule sessions, "
    "book people who were allocated to the group course, and mark who attended."
)

upcoming = course_sessions.sessions(engine, upcoming=True)
waiting = work_queues.waiting_list(engine)
referral = forms.value(forms.CURRENT_REFERRAL) or st.query_params.get(forms.CURRENT_REFERRAL)
today = forms.now_uk().date()


def session_choice(frame):
    """Options and their labels for choosing a session from a course_sessions.sessions frame."""
    labels = {
        row["session_id"]: f"{row['Session']} · {row['Starts']} · {row['Delivery'].lower()} · "
                           f"{row['Free']} of {row['Seats']} seats free"
        for row in frame.iter_rows(named=True)
    }
    return list(labels), labels.get


def register_label(problem: Problem) -> str | None:
    if problem.field == "status":
        return codes.BOOKING_STATUSES.get(problem.value, "Status")
    return {"seats": "Seats taken", "booking": "Booking"}.get(problem.field)


sessions_tab, book_tab, register_tab = st.tabs(
    ["Sessions", "Book places", "Attendance register"], default="Book places" if referral else None,
)

# --- sessions: the list, scheduling, changing ---------------------------------------------
with sessions_tab:
    if st.session_state.get(VOIDED):
        st.success(st.session_state.pop(VOIDED), icon=":material/check_circle:")
    past = course_sessions.sessions(engine, upcoming=False).reverse()  # newest first
    view = st.segmented_control("Show", ["Upcoming", "Past"], default="Upcoming", key="ss_view",
                                help="Upcoming sessions first; past ones, newest first, a click away.")
    if view == "Past":
        st.subheader("Past sessions")
        if past.height:
            st.caption(f"{plural(past.height, 'past session')}, newest first.")
            st.dataframe(past.drop("session_id", "version", "starts_at"), hide_index=True)
        else:
            st.info("No sessions have taken place yet.", icon=":material/event_busy:")
    else:
        st.subheader("Upcoming sessions")
        if upcoming.height:
            st.dataframe(upcoming.drop("session_id", "version", "starts_at"), hide_index=True)
        elif past.height:
            st.info(f"No upcoming sessions - schedule one below. {plural(past.height, 'past session')}: "
                    "choose Past above to see them.", icon=":material/event_busy:")
        else:
            st.info("No sessions scheduled yet - schedule one below.", icon=":material/event_busy:")

    schedule_form = forms.Form("schedule_session", SESSION_LABELS, {"session_ref": ("ref",),
                                                                    "starts_at": ("day", "time"),
                                                                    "duration_minutes": ("minutes",)})
    key = schedule_form.key
    first_day = today + timedelta(days=7)
    suggestion = schedule_form.loaded("suggestion",
                                      lambda: course_sessions.next_session_ref(engine, first_day))

    def schedule(username: str) -> None:
        v = schedule_form.value
        ref, day = v("ref"), v("day")
        if day and (not ref or (ref == suggestion and day != first_day)):
            ref = course_sessions.next_session_ref(engine, day)  # the suggestion follows the date chosen
        values = {
            "session_ref": ref, "starts_at": forms.uk_moment(day, v("time")),
            "duration_minutes": v("minutes"), "mode": v("mode"), "seats": v("seats"), "facilitator": v("facilitator"),
        }
        saved = schedule_form.submit(
            values, lambda: add_session(values, username, engine=engine),
            success=lambda saved: (
                f"Session **{ui.plain(values['session_ref'])}** scheduled for "
                f"{casework.show_moment(values['starts_at'])} ({codes.DELIVERY_MODES[values['mode']].lower()}, "
                f"{plural(values['seats'], 'seat')})."
            ),
        )
        if saved.ok:
            forms.Form(BOOK_FORM, {}).renew()  # the booking form starts again, at the first session

    st.subheader("Schedule a session")
    schedule_form.show_notice()
    problems = schedule_form.problems
    problems.summary()
    with schedule_form.form():
        left, middle, right = st.columns(3)
        with left:
            st.text_input("Session reference *", value=suggestion, key=key("ref"), max_chars=40,
                          help="Suggested from the date (S-date-number); keep it or type your own. Left as "
                               "suggested, it follows the date you choose. Letters, digits and / _ . - only.")
            problems.at("session_ref")
        with middle:
            st.date_input("Date *", value=first_day, key=key("day"), format=forms.DATE_FORMAT,
                          min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                          help="Sessions from 01/01/2000 can be entered, to catch up on the records.")
            problems.at("starts_at")
        with right:
            st.time_input("Start time (UK) *", value=time(18, 0), key=key("time"), step=900)
        left, middle, right = st.columns(3)
        with left:
            st.number_input("Length (minutes)", value=150, key=key("minutes"), step=15,
                            help="The course usually takes two to three hours (15 to 600 minutes).")
            problems.at("duration_minutes")
        with middle:
            st.selectbox("Delivery", MODES, index=0, key=key("mode"), format_func=codes.DELIVERY_MODES.get)
            problems.at("mode")
        with right:
            st.number_input("Seats *", value=12, key=key("seats"), step=1,
                            help="1 to 100. Bookings stop when the seats are taken.")
            problems.at("seats")
        st.text_input("Facilitator's staff code", key=key("facilitator"), max_chars=40, placeholder="e.g. F03",
                      help="The facilitator's staff code - not their name.")
        problems.at("facilitator")
        schedule_form.button("Schedule session", icon=":material/event:", on_click=schedule, args=(user.username,))

    term_form = forms.Form("schedule_term", {**SESSION_LABELS, "weeks": "Weeks"},
                           {"starts_at": ("day", "time"), "duration_minutes": ("minutes",)})

    def schedule_term(username: str) -> None:
        v = term_form.value
        values = {"starts_at": forms.uk_moment(v("day"), v("time")), "weeks": v("weeks"),
                  "duration_minutes": v("minutes"), "mode": v("mode"), "seats": v("seats"),
                  "facilitator": v("facilitator")}
        term_form.submit(values, lambda: add_term(values, username, engine=engine),
                         success=lambda saved: f"{plural(len(saved.notes), 'weekly session')} scheduled: "
                                               f"{saved.notes[0]} to {saved.notes[-1]}.")

    with st.expander("Schedule a term of weekly sessions", icon=":material/date_range:",
                     expanded=bool(term_form.problems) or bool(term_form.notice)):
        term_form.show_notice()
        term_form.problems.summary()
        tkey = term_form.key
        with term_form.form():
            left, middle, right = st.columns(3)
            with left:
                st.date_input("First session *", value=first_day, key=tkey("day"), format=forms.DATE_FORMAT,
                              min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                              help="The others follow on the same weekday, a week apart.")
                term_form.problems.at("starts_at")
            with middle:
                st.time_input("Start time (UK) *", value=time(18, 0), key=tkey("time"), step=900)
            with right:
                st.number_input("Weeks *", value=12, key=tkey("weeks"), step=1,
                                help=f"How many weekly sessions (1 to {records_sessions.MAX_TERM_WEEKS}).")
                term_form.problems.at("weeks")
            left, middle, right = st.columns(3)
            with left:
                st.number_input("Length (minutes)", value=150, key=tkey("minutes"), step=15)
                term_form.problems.at("duration_minutes")
            with middle:
                st.selectbox("Delivery", MODES, index=0, key=tkey("mode"), format_func=codes.DELIVERY_MODES.get)
            with right:
                st.number_input("Seats *", value=12, key=tkey("seats"), step=1)
                term_form.problems.at("seats")
            st.text_input("Facilitator's staff code", key=tkey("facilitator"), max_chars=40)
            term_form.problems.at("facilitator", "session_ref")
            st.caption("Each session gets a reference from its date (S-date-number).")
            term_form.button("Schedule the term", icon=":material/date_range:", on_click=schedule_term,
                             args=(user.username,))

    if upcoming.height:
        with st.expander("Change an upcoming session", icon=":material/edit_calendar:"):
            options, label = session_choice(upcoming)
            chosen = st.selectbox("Session to change", options, format_func=label, key="cs_session", index=None,
                                  placeholder="Choose a session")
            detail = course_sessions.session_detail(engine, chosen) if chosen else None
            if detail is not None:
                change_form = forms.Form(f"change_session_{detail['id']}", SESSION_LABELS,
                                         {"starts_at": ("day", "time"), "duration_minutes": ("minutes",)})
                ckey = change_form.key
                version = change_form.loaded("version", lambda: detail["version"])

                def change(username: str) -> None:
                    v = change_form.value
                    values = {
                        "starts_at": forms.uk_moment(v("day"), v("time")), "duration_minutes": v("minutes"),
                        "mode": v("mode"), "seats": v("seats"), "facilitator": v("facilitator"),
                    }
                    reason = v("reason")
                    change_form.submit(
                        {**values, "reason": reason},
                        lambda: edit_session(detail["id"], values, username, reason, version, engine=engine),
                        success=lambda saved: f"Nothing changed in session **{detail['session_ref']}**."
                        if saved.change == "unchanged"
                        else f"Session **{detail['session_ref']}** changed (the reason is in the audit log).",
                    )

                def reload() -> None:
                    change_form.clear()
                    change_form.renew()

                change_form.show_notice()
                changes = change_form.problems
                changes.summary()
                if changes.has("version"):
                    st.button("Reload the session (discards what you typed)", on_click=reload,
                              icon=":material/refresh:")
                st.caption(f"{detail['taken']} of {detail['seats']} seats are taken; seats cannot go below that.")
                with change_form.form():
                    left, middle, right = st.columns(3)
                    with left:
                        st.date_input("Date", value=detail["starts_at"].date(), key=ckey("day"),
                                      format=forms.DATE_FORMAT, min_value=forms.WIDGET_EARLIEST,
                                      max_value=forms.WIDGET_LATEST)
                        changes.at("starts_at")
                    with middle:
                        st.time_input("Start time (UK)", value=detail["starts_at"].time(), key=ckey("time"), step=900)
                    with right:
                        st.number_input("Length (minutes)", value=detail["duration_minutes"], key=ckey("minutes"),
                                        step=15, help="15 to 600 minutes.")
                        changes.at("duration_minutes")
                    left, middle, right = st.columns(3)
                    with left:
                        st.selectbox("Delivery", MODES, index=forms.index_of(MODES, detail["mode"]), key=ckey("mode"),
                                     format_func=codes.DELIVERY_MODES.get)
                    with middle:
                        st.number_input("Seats", value=detail["seats"], key=ckey("seats"), step=1,
                                        help="Up to 100, and not fewer than the seats taken.")
                        changes.at("seats")
                    with right:
                        st.text_input("Facilitator's staff code", value=detail["facilitator"] or "",
                                      key=ckey("facilitator"), max_chars=40)
                        changes.at("facilitator")
                    st.text_area("Reason for the change *", key=ckey("reason"), max_chars=500,
                                 help="Why the session changes, e.g. 'moved to the evening'. It is audited.")
                    changes.at("reason")
                    change_form.button("Save changes", on_click=change, args=(user.username,))

                void_form = forms.Form(f"void_session_{detail['id']}", {"reason": "Reason", "session": "Session",
                                                                       "confirm": "Confirm"})

                def void_it(username: str) -> None:
                    reason = void_form.value("reason")
                    if not void_form.value("confirm"):
                        void_form.refuse([Problem("confirm", None, "tick the box to confirm")])
                        return
                    saved = void_form.submit({"void": reason}, lambda: void_session(
                        detail["id"], reason, username, version, engine=engine),
                        success=lambda saved: f"Session **{ui.plain(detail['session_ref'])}** is void: kept, and "
                                              "left out of the lists and every figure.")
                    if saved.ok:  # the session leaves this list: say so at the top of the tab
                        st.session_state[VOIDED] = void_form.notice

                st.markdown("**Entered by mistake?**")
                void_form.show_notice()
                void_form.problems.summary()
                with void_form.form():
                    st.caption("A session entered by mistake is voided, not deleted: it is kept with your reason and "
                               "left out of every list and figure. Only a session nobody is booked on can be voided; "
                               "an administrator can undo it.")
                    st.text_input("Reason *", key=void_form.key("reason"), max_chars=500,
                                  placeholder="e.g. scheduled twice")
                    void_form.problems.at("reason", "session")
                    st.checkbox("Confirm: void this session", key=void_form.key("confirm"))
                    void_form.problems.at("confirm")
                    void_form.button("Void session", on_click=void_it, args=(user.username,), primary=False,
                                     icon=":material/block:")

# --- booking people from the waiting list -------------------------------------------------
with book_tab:
    book_form = forms.Form(BOOK_FORM, {"session_ref": "Session", "referral_reference": "People to book"},
                           {"session_ref": ("session",), "referral_reference": ("referrals",)})
    st.subheader("Waiting for a course place")
    st.caption("Open referrals allocated to the group course with no place held (never booked, or a "
               "no-show or cancellation since), longest waiting first.")
    book_form.show_notice()
    if waiting.height:
        st.dataframe(waiting, hide_index=True)
    else:
        st.info("Nobody is waiting for a course place.", icon=":material/done_all:")
    bookable = upcoming.filter(upcoming["Free"] > 0)
    if not upcoming.height:
        st.info("No upcoming sessions - schedule one on the Sessions tab.", icon=":material/event_busy:")
    elif not bookable.height:
        st.warning("Every upcoming session is full - schedule another on the Sessions tab.")
    elif waiting.height:
        in_list = list(waiting["Referral"])
        session_refs = dict(zip(upcoming["session_id"], upcoming["Session"], strict=True))

        def book(username: str) -> None:
            session_ref = session_refs.get(book_form.value("session"))
            references = list(book_form.value("referrals") or [])
            book_form.submit(
                {"session": session_ref, "referrals": references},
                lambda: book_many(session_ref, references, username, engine=engine),
                success=lambda saved: f"Booked {', '.join(references)} on session **{session_ref}**.",
            )

        st.subheader("Book places")
        booking_problems = book_form.problems
        booking_problems.summary()
        with book_form.form():
            options, label = session_choice(bookable)
            st.selectbox("Session *", options, index=0, format_func=label, key=book_form.key("session"),
                         help="Upcoming sessions with free seats.")
            booking_problems.at("session_ref")
            st.multiselect("People to book *", in_list, default=[referral] if referral in in_list else [],
                           key=book_form.key("referrals"), placeholder="Choose from the waiting list",
                           help="Referral references from the waiting list. All are booked, or none if the "
                                "seats run out.")
            booking_problems.at("referral_reference")
            book_form.button("Book places", icon=":material/event_seat:", on_click=book, args=(user.username,))

# --- the attendance register --------------------------------------------------------------
with register_tab:
    every = course_sessions.sessions(engine).reverse()  # newest first
    if not every.height:
        st.info("No sessions scheduled yet - schedule one on the Sessions tab.", icon=":material/event_busy:")
    else:
        options, label = session_choice(every)
        default = options.index(course_sessions.register_default(every, today))
        session_id = st.selectbox("Session", options, index=default, format_func=label, key="rg_session",
                                  help="Newest first; it opens on today's or the next session with people booked. "
                                       "Type to search by reference or date.")
        register_form = forms.Form(f"register_{session_id}", {})
        # the bookings as loaded, with their versions: a change saved meanwhile by someone else is caught
        register = register_form.loaded("rows", lambda: course_sessions.session_bookings(engine, session_id))

        def save_marks(username: str) -> None:
            edits = (st.session_state.get(register_form.key("editor")) or {}).get("edited_rows", {})
            statuses, versions = {}, {}
            for index, change in edits.items():
                row = register.row(int(index), named=True)
                shown = change.get("Status", codes.BOOKING_STATUSES[row["Status"]])
                statuses[row["booking_id"]] = STATUS_CODES.get(shown, shown)
                versions[row["booking_id"]] = row["version"]
            if "cancelled" in statuses.values() and not register_form.value("confirm"):
                register_form.refuse([Problem("confirm", None, "tick the box to confirm the cancellations: "
                                              "a cancelled booking frees its seat")])
                return
            register_form.submit(
                {"statuses": statuses, "versions": versions},
                lambda: save_register(session_id, statuses, versions, username, engine=engine),
                success=lambda saved: "Register saved: " + (saved.notes[0] if saved.notes else "no changes") + ".",
            )

        def reload() -> None:
            register_form.clear()
            register_form.renew()

        detail = course_sessions.session_detail(engine, session_id)
        st.caption(f"{detail['taken']} of {detail['seats']} seats taken."
                   + ("" if detail["started"] else " This session has not started: attendance can be marked once it has."))
        register_form.show_notice()
        by_booking = dict(zip(register["booking_id"], register["Referral"], strict=True))
        if register_form.problems:
            lines = [f"- {(by_booking.get(p.row, '') + ' ').lstrip()}{forms.message(p, register_label(p))}"
                     for p in register_form.problems.items]
            st.error("**Nothing was saved.**\n" + "\n".join(lines), icon=":material/error:")
            if register_form.problems.has("version"):
                st.button("Reload the register (discards your changes)", on_click=reload, icon=":material/refresh:")
        if not register.height:
            st.info("Nobody was booked on this session." if detail["started"]
                    else "Nobody is booked on this session yet - book people on the Book places tab.")
        else:
            st.caption("Change the Status column, then save: every change is saved together, or none.")
            with st.form(register_form.key("form"), enter_to_submit=False):
                shown = register.with_columns(
                    register["Status"].replace_strict(codes.BOOKING_STATUSES, return_dtype=register["Status"].dtype)
                )
                st.data_editor(
                    shown.drop("booking_id", "version"), key=register_form.key("editor"), hide_index=True,
                    disabled=["Referral", "Booked"],
                    column_config={"Status": st.column_config.SelectboxColumn(
                        "Status", options=list(STATUS_CODES), required=True,
                        help="Attended: came to the session. Completed: finished the course. "
                             "No-show: booked but did not come. Cancelled frees the seat.")},
                )
                st.checkbox("Confirm cancellations: a cancelled booking frees its seat and puts the person "
                            "back on the waiting list", key=register_form.key("confirm"))
                st.form_submit_button("Save register", type="primary", icon=":material/fact_check:",
                                      on_click=save_marks, args=(user.username,))
