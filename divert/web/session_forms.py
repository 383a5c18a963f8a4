"""The forms of the Course sessions page: scheduling one session or a term of weekly sessions,
changing an upcoming session (or voiding one entered by mistake), booking people from the waiting
list, and the attendance register. Streamlit-facing: each draws its form and saves through
divert.records (checked, written, audited), and keeps the session it works on in its own callbacks."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import polars as pl
import streamlit as st

from divert.core import codes
from divert.core.field_rules import Problem
from divert.core.wording import plural
from divert.readmodels import casework, course_sessions
from divert.records import sessions as records_sessions
from divert.records.corrections import void_session
from divert.records.sessions import add_session, add_term, book_many, edit_session, save_register
from divert.web import forms, tables, ui

SESSION_LABELS = {
    "session_ref": "Session reference", "starts_at": "Date", "duration_minutes": "Length",
    "mode": "Delivery", "seats": "Seats", "facilitator": "Facilitator's staff code", "reason": "Reason for the change",
}
MODES = list(codes.DELIVERY_MODES)
STATUSES = list(codes.BOOKING_STATUSES)
BOOK_FORM = "book_places"
VOIDED = "ss_voided"


def _reload(form: forms.Form) -> None:
    form.clear()
    form.renew()


def voided_notice() -> None:
    """Say at the top of the Sessions tab that a session was voided (it has left the lists)."""
    if st.session_state.get(VOIDED):
        st.success(st.session_state.pop(VOIDED), icon=":material/check_circle:")


def schedule(engine, username: str, today: date) -> None:
    """Schedule one session; its reference is suggested from the date (and follows the date
    chosen while left as suggested)."""
    form = forms.Form("schedule_session", SESSION_LABELS, {"session_ref": ("ref",), "starts_at": ("day", "time"),
                                                           "duration_minutes": ("minutes",)})
    key = form.key
    first_day = today + timedelta(days=7)
    suggestion = form.loaded("suggestion", lambda: course_sessions.next_session_ref(engine, first_day))

    def save() -> None:
        v = form.value
        ref, day = v("ref"), v("day")
        if day and (not ref or (ref == suggestion and day != first_day)):
            ref = course_sessions.next_session_ref(engine, day)  # the suggestion follows the date chosen
        values = {
            "session_ref": ref, "starts_at": forms.uk_moment(day, v("time")),
            "duration_minutes": v("minutes"), "mode": v("mode"), "seats": v("seats"), "facilitator": v("facilitator"),
        }
        saved = form.submit(
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
    form.show_notice()
    problems = form.problems
    problems.summary()
    with form.form():
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
        form.button("Schedule session", icon=":material/event:", on_click=save)


def term(engine, username: str, today: date) -> None:
    """Schedule a term of weekly sessions, in an expander (open while it has something to say)."""
    form = forms.Form("schedule_term", {**SESSION_LABELS, "weeks": "Weeks"},
                      {"starts_at": ("day", "time"), "duration_minutes": ("minutes",)})

    def save() -> None:
        v = form.value
        values = {"starts_at": forms.uk_moment(v("day"), v("time")), "weeks": v("weeks"),
                  "duration_minutes": v("minutes"), "mode": v("mode"), "seats": v("seats"),
                  "facilitator": v("facilitator")}
        form.submit(values, lambda: add_term(values, username, engine=engine),
                    success=lambda saved: f"{plural(len(saved.notes), 'weekly session')} scheduled: "
                                          f"{saved.notes[0]} to {saved.notes[-1]}.")

    with st.expander("Schedule a term of weekly sessions", icon=":material/date_range:",
                     expanded=bool(form.problems) or bool(form.notice)):
        form.show_notice()
        form.problems.summary()
        key = form.key
        with form.form():
            left, middle, right = st.columns(3)
            with left:
                st.date_input("First session *", value=today + timedelta(days=7), key=key("day"),
                              format=forms.DATE_FORMAT, min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                              help="The others follow on the same weekday, a week apart.")
                form.problems.at("starts_at")
            with middle:
                st.time_input("Start time (UK) *", value=time(18, 0), key=key("time"), step=900)
            with right:
                st.number_input("Weeks *", value=12, key=key("weeks"), step=1,
                                help=f"How many weekly sessions (1 to {records_sessions.MAX_TERM_WEEKS}).")
                form.problems.at("weeks")
            left, middle, right = st.columns(3)
            with left:
                st.number_input("Length (minutes)", value=150, key=key("minutes"), step=15)
                form.problems.at("duration_minutes")
            with middle:
                st.selectbox("Delivery", MODES, index=0, key=key("mode"), format_func=codes.DELIVERY_MODES.get)
            with right:
                st.number_input("Seats *", value=12, key=key("seats"), step=1)
                form.problems.at("seats")
            st.text_input("Facilitator's staff code", key=key("facilitator"), max_chars=40)
            form.problems.at("facilitator", "session_ref")
            st.caption("Each session gets a reference from its date (S-date-number).")
            form.button("Schedule the term", icon=":material/date_range:", on_click=save)


def change_upcoming(engine, username: str, upcoming: pl.DataFrame) -> None:
    """Choose an upcoming session, then change it (with a reason) or void it."""
    if not len(upcoming):
        return
    with st.expander("Change an upcoming session", icon=":material/edit_calendar:"):
        labels = course_sessions.labels(upcoming)
        chosen = st.selectbox("Session to change", list(labels), format_func=labels.get, key="cs_session", index=None,
                              placeholder="Choose a session")
        detail = course_sessions.session_detail(engine, chosen) if chosen else None
        if detail is not None:
            version = _change(engine, username, detail)
            _void(engine, username, detail, version)


def _change(engine, username: str, detail: dict) -> int:
    """Change a session's time, length, delivery, seats or facilitator, with a reason; returns
    the session's version as the form loaded it."""
    form = forms.Form(f"change_session_{detail['id']}", SESSION_LABELS,
                      {"starts_at": ("day", "time"), "duration_minutes": ("minutes",)})
    key = form.key
    version = form.loaded("version", lambda: detail["version"])

    def save() -> None:
        v = form.value
        values = {
            "starts_at": forms.uk_moment(v("day"), v("time")), "duration_minutes": v("minutes"),
            "mode": v("mode"), "seats": v("seats"), "facilitator": v("facilitator"),
        }
        reason = v("reason")
        form.submit(
            {**values, "reason": reason},
            lambda: edit_session(detail["id"], values, username, reason, version, engine=engine),
            success=lambda saved: f"Nothing changed in session **{detail['session_ref']}**."
            if saved.change == "unchanged"
            else f"Session **{detail['session_ref']}** changed (the reason is in the audit log).",
        )

    form.show_notice()
    changes = form.problems
    changes.summary()
    if changes.has("version"):
        st.button("Reload the session (discards what you typed)", on_click=_reload, args=(form,),
                  icon=":material/refresh:")
    st.caption(f"{detail['taken']} of {detail['seats']} seats are taken; seats cannot go below that.")
    with form.form():
        left, middle, right = st.columns(3)
        with left:
            st.date_input("Date", value=detail["starts_at"].date(), key=key("day"), format=forms.DATE_FORMAT,
                          min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST)
            changes.at("starts_at")
        with middle:
            st.time_input("Start time (UK)", value=detail["starts_at"].time(), key=key("time"), step=900)
        with right:
            st.number_input("Length (minutes)", value=detail["duration_minutes"], key=key("minutes"), step=15,
                            help="15 to 600 minutes.")
            changes.at("duration_minutes")
        left, middle, right = st.columns(3)
        with left:
            st.selectbox("Delivery", MODES, index=forms.index_of(MODES, detail["mode"]), key=key("mode"),
                         format_func=codes.DELIVERY_MODES.get)
        with middle:
            st.number_input("Seats", value=detail["seats"], key=key("seats"), step=1,
                            help="Up to 100, and not fewer than the seats taken.")
            changes.at("seats")
        with right:
            st.text_input("Facilitator's staff code", value=detail["facilitator"] or "", key=key("facilitator"),
                          max_chars=40)
            changes.at("facilitator")
        st.text_area("Reason for the change *", key=key("reason"), max_chars=500,
                     help="Why the session changes, e.g. 'moved to the evening'. It is audited.")
        changes.at("reason")
        form.button("Save changes", on_click=save)
    return version


def _void(engine, username: str, detail: dict, version: int) -> None:
    """Void a session entered by mistake (kept with the reason, left out of every list)."""
    form = forms.Form(f"void_session_{detail['id']}", {"reason": "Reason", "session": "Session", "confirm": "Confirm"})

    def save() -> None:
        reason = form.value("reason")
        if not form.value("confirm"):
            form.refuse([Problem("confirm", None, "tick the box to confirm")])
            return
        saved = form.submit({"void": reason}, lambda: void_session(detail["id"], reason, username, version,
                                                                   engine=engine),
                            success=lambda saved: f"Session **{ui.plain(detail['session_ref'])}** is void: kept, and "
                                                  "left out of the lists and every figure.")
        if saved.ok:  # the session leaves this list: say so at the top of the tab
            st.session_state[VOIDED] = form.notice

    st.markdown("**Entered by mistake?**")
    form.show_notice()
    form.problems.summary()
    with form.form():
        st.caption("A session entered by mistake is voided, not deleted: it is kept with your reason and left out of "
                   "every list and figure. Only a session nobody is booked on can be voided; an administrator can "
                   "undo it.")
        st.text_input("Reason *", key=form.key("reason"), max_chars=500, placeholder="e.g. scheduled twice")
        form.problems.at("reason", "session")
        st.checkbox("Confirm: void this session", key=form.key("confirm"))
        form.problems.at("confirm")
        form.button("Void session", on_click=save, primary=False, icon=":material/block:")


def book(engine, username: str, upcoming: pl.DataFrame, waiting: pl.DataFrame, referral: str | None) -> None:
    """The waiting list, and booking people from it on an upcoming session with free seats (all
    of them, or none if the seats run out). `referral` (from a link) is chosen to start with."""
    form = forms.Form(BOOK_FORM, {"session_ref": "Session", "referral_reference": "People to book"},
                      {"session_ref": ("session",), "referral_reference": ("referrals",)})
    st.subheader("Waiting for a course place")
    st.caption("Open referrals allocated to the group course with no place held (never booked, or a "
               "no-show or cancellation since), longest waiting first.")
    form.show_notice()
    if len(waiting):
        tables.show(waiting, hide_index=True)
    else:
        st.info("Nobody is waiting for a course place.", icon=":material/done_all:")
    bookable = course_sessions.bookable(upcoming)
    if not len(upcoming):
        st.info("No upcoming sessions - schedule one on the Sessions tab.", icon=":material/event_busy:")
        return
    if not len(bookable):
        st.warning("Every upcoming session is full - schedule another on the Sessions tab.")
        return
    if not len(waiting):
        return
    in_list = course_sessions.referral_refs(waiting)
    session_refs = course_sessions.session_refs(upcoming)

    def save() -> None:
        session_ref = session_refs.get(form.value("session"))
        references = list(form.value("referrals") or [])
        form.submit(
            {"session": session_ref, "referrals": references},
            lambda: book_many(session_ref, references, username, engine=engine),
            success=lambda saved: f"Booked {', '.join(references)} on session **{session_ref}**.",
        )

    st.subheader("Book places")
    problems = form.problems
    problems.summary()
    with form.form():
        labels = course_sessions.labels(bookable)
        st.selectbox("Session *", list(labels), index=0, format_func=labels.get, key=form.key("session"),
                     help="Upcoming sessions with free seats.")
        problems.at("session_ref")
        st.multiselect("People to book *", in_list, default=[referral] if referral in in_list else [],
                       key=form.key("referrals"), placeholder="Choose from the waiting list",
                       help="Referral references from the waiting list. All are booked, or none if the "
                            "seats run out.")
        problems.at("referral_reference")
        form.button("Book places", icon=":material/event_seat:", on_click=save)


def _register_session(every: pl.DataFrame, now: datetime) -> int:
    """Choose the register's session: the recent and upcoming sessions in start order (every
    session, ticked), opened on the latest started session with people booked."""
    default = course_sessions.register_default(every, now)
    everything = st.checkbox("Show every session, not only the recent and upcoming", key="rg_all")
    shown = every if everything else course_sessions.around(every, now)
    if default not in set(shown["session_id"]):
        shown = pl.concat([shown, every.filter(pl.col("session_id") == default)]).sort("starts_at", "session_id")
    labels = course_sessions.labels(shown)
    options = list(labels)
    return st.selectbox("Session", options, index=options.index(default), format_func=labels.get, key="rg_session",
                        help="In date order: the last four weeks and the next eight. It opens on the latest "
                             "session that has started with people booked. Type to search by reference or date.")


def register(engine, username: str, every: pl.DataFrame, now: datetime) -> None:
    """A session's attendance register (`every`: every session, in start order): one status
    choice per person booked, plain radio buttons a keyboard and a screen reader can use, and
    one save for every change together."""
    if not len(every):
        st.info("No sessions scheduled yet - schedule one on the Sessions tab.", icon=":material/event_busy:")
        return
    session_id = _register_session(every, now)
    form = forms.Form(f"register_{session_id}", {})
    # the bookings as loaded, with their versions: a change saved meanwhile by someone else is caught
    bookings = form.loaded("rows", lambda: course_sessions.session_bookings(engine, session_id))
    rows = course_sessions.register_rows(bookings)

    def save() -> None:
        chosen = {row["booking_id"]: form.value(f"status_{row['booking_id']}") for row in rows}
        statuses, versions = course_sessions.register_changes(bookings, chosen)
        if "cancelled" in statuses.values() and not form.value("confirm"):
            form.refuse([Problem("confirm", None, "tick the box to confirm the cancellations: "
                                 "a cancelled booking frees its seat")])
            return
        form.submit(
            {"statuses": statuses, "versions": versions},
            lambda: save_register(session_id, statuses, versions, username, engine=engine),
            success=lambda saved: "Register saved: " + (saved.notes[0] if saved.notes else "no changes") + ".",
        )

    detail = course_sessions.session_detail(engine, session_id)
    st.caption(f"{detail['taken']} of {detail['seats']} seats taken."
               + ("" if detail["started"] else " This session has not started: attendance can be marked once it has."))
    form.show_notice()
    _register_problems(form, bookings)
    if not rows:
        st.info("Nobody was booked on this session." if detail["started"]
                else "Nobody is booked on this session yet - book people on the Book places tab.")
        return
    st.caption("Choose each person's status, then save: every change is saved together, or none. "
               "Attended: came to the session. Completed: finished the course. No-show: booked but did not "
               "come. Cancelled frees the seat.")
    with st.form(form.key("form"), enter_to_submit=False):
        for row in rows:
            st.radio(f"{row['Referral']} (booked {row['Booked']})", STATUSES,
                     index=forms.index_of(STATUSES, row["Status"]), key=form.key(f"status_{row['booking_id']}"),
                     horizontal=True, format_func=codes.BOOKING_STATUSES.get)
        st.checkbox("Confirm cancellations: a cancelled booking frees its seat and puts the person "
                    "back on the waiting list", key=form.key("confirm"))
        st.form_submit_button("Save register", type="primary", icon=":material/fact_check:", on_click=save)


def _register_label(problem: Problem) -> str | None:
    if problem.field == "status":
        return codes.BOOKING_STATUSES.get(problem.value, "Status")
    return {"seats": "Seats taken", "booking": "Booking"}.get(problem.field)


def _register_problems(form: forms.Form, bookings: pl.DataFrame) -> None:
    """Why the register was not saved, each problem with the referral it is about."""
    if not form.problems:
        return
    by_booking = course_sessions.register_referrals(bookings)
    lines = [f"- {(by_booking.get(p.row, '') + ' ').lstrip()}{forms.message(p, _register_label(p))}"
             for p in form.problems.items]
    st.error("**Nothing was saved.**\n" + "\n".join(lines), icon=":material/error:")
    if form.problems.has("version"):
        st.button("Reload the register (discards your changes)", on_click=_reload, args=(form,),
                  icon=":material/refresh:")
