"""The records pages after issue 15, through AppTest on a real SQLite file: problems explained
next to their fields and in the summary (range problems too) and gone once the field is changed;
corrections of any field and voiding on Find a referral; contact attempts; generated session
references, a term of weekly sessions and the register's first session."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from clock import MOMENT, TODAY
from sqlalchemy import select
from test_forms import (
    count,
    error_right_after,
    fill_referral,
    page,
    press,
    seed_assessment,
    seed_referral,
    texts,
    widget,
)

from divert.readmodels import casework, course_sessions
from divert.records.corrections import void_session
from divert.records.sessions import add_session, book
from divert.storage.db import session_scope
from divert.storage.models import ContactAttempt, CourseSession, Offence, Referral

pytestmark = pytest.mark.usefixtures("clock")  # "today" is Wednesday 17 June 2026 (tests/clock.py)
SOON = (MOMENT + timedelta(days=3)).strftime("%Y-%m-%d 18:00")  # a session three days ahead


def test_a_range_problem_is_explained_and_goes_once_the_field_is_changed(db):
    at = fill_referral(page("new_referral"), reference="")
    widget(at, "date_input", "Referral date *").set_value(TODAY + timedelta(days=400))
    widget(at, "number_input", "Year of birth").set_value(1850)
    press(at, "Save referral")
    summary = texts(at, "error")
    assert "Please correct the 3 problems" in summary
    assert "Referral date is in the future" in summary and "Year of birth must be between 1900 and" in summary
    assert error_right_after(at, "Referral date *") == "Referral date is in the future"
    assert error_right_after(at, "Year of birth").startswith("Year of birth must be between 1900 and")
    assert error_right_after(at, "Referral reference *") == "Referral reference is required"

    widget(at, "text_input", "Referral reference *").input("DIV-9").run()  # fixed, not yet saved
    assert "Referral reference is required" not in texts(at, "error")
    assert "Please correct the 2 problems" in texts(at, "error")
    widget(at, "number_input", "Year of birth").set_value(1990).run()
    widget(at, "date_input", "Referral date *").set_value(date(2021, 3, 1)).run()
    assert not at.error
    press(at, "Save referral")
    assert "Referral **DIV-9** saved" in texts(at, "success") and count(db, Referral) == 1


def test_correcting_the_area_and_voiding_a_duplicate_on_find_a_referral(db):
    seed_referral(db)
    seed_referral(db, "DIV-2", "C2", "P2")
    at = page("find_referral", referral="DIV-1")
    widget(at, "selectbox", "Local policing area").select("E08000028")
    press(at, "Save correction")
    assert error_right_after(at, "Reason for the change *") == "Reason for the change is required to change a record"
    widget(at, "text_area", "Reason for the change *").input("area typed wrongly")
    press(at, "Save correction")
    assert "corrected (local policing area)" in texts(at, "success")
    with session_scope(db) as s:
        assert s.execute(select(Offence.area).where(Offence.crime_ref == "C1")).scalar_one() == "E08000028"

    dup = page("find_referral", referral="DIV-2")
    press(dup, "Void referral")
    assert "Tick the box to confirm" in texts(dup, "error")
    widget(dup, "text_area", "Reason *").input("entered twice")
    widget(dup, "checkbox", "Confirm: void this referral").check()
    press(dup, "Void referral")
    assert "is void: it is kept" in texts(dup, "success")
    again = page("find_referral", referral="DIV-2")
    assert "Void" in texts(again, "warning") and "entered twice" in texts(again, "warning")
    assert not any(b.label == "Save correction" for b in again.button)  # corrected only after an undo
    assert not any(b.label == "Undo the void" for b in again.button)  # a caseworker cannot undo it
    assert any(b.label == "Undo the void" for b in page("find_referral", "admin", referral="DIV-2").button)
    with session_scope(db) as s:
        assert s.execute(select(Referral.void_reason).where(Referral.reference == "DIV-2")).scalar_one() == (
            "entered twice")


def test_contact_attempts_on_the_assessment_page_feed_the_assessment(db):
    seed_referral(db)
    at = page("assessment", referral="DIV-1")
    assert "No contact attempt recorded yet." in texts(at, "caption")
    widget(at, "radio", "Outcome *").set_value("reached")
    widget(at, "date_input", "When *").set_value(date(2021, 3, 2))
    press(at, "Record contact attempt")
    assert "Contact attempt recorded for **DIV-1**: reached." in texts(at, "success")
    assert count(db, ContactAttempt) == 1
    widget(at, "radio", "Result *").set_value("completed")
    widget(at, "date_input", "Completed on").set_value(date(2021, 3, 4))
    press(at, "Save assessment")
    assert "saved: completed" in texts(at, "success")
    detail = casework.referral_detail(db, "DIV-1")
    assert detail["assessment"]["first_contact_at"].date() == date(2021, 3, 2)


def test_sessions_get_references_a_term_and_the_register_opens_on_the_next_booked(db):
    at = page("sessions", "manager")
    first = TODAY + timedelta(days=7)
    suggested = f"S-{first:%Y%m%d}-1"
    assert widget(at, "text_input", "Session reference *").value == suggested
    widget(at, "date_input", "Date *").set_value(first + timedelta(days=1))  # the suggestion follows the date
    press(at, "Schedule session")
    assert f"Session **S-{first + timedelta(days=1):%Y%m%d}-1** scheduled" in texts(at, "success")
    assert widget(at, "text_input", "Session reference *").value == suggested  # the next one, for the form's date

    widget(at, "number_input", "Weeks *").set_value(60)
    press(at, "Schedule the term")
    assert "Weeks must be between 1 and 52" in texts(at, "error")
    widget(at, "number_input", "Weeks *").set_value(3)
    press(at, "Schedule the term")
    assert "3 weekly sessions scheduled" in texts(at, "success")
    with session_scope(db) as s:
        refs = s.execute(select(CourseSession.session_ref).order_by(CourseSession.starts_at)).scalars().all()
    assert refs[0] == suggested and len(refs) == 4
    assert refs[1] == f"S-{first + timedelta(days=1):%Y%m%d}-1" and refs[2] == f"S-{first + timedelta(weeks=1):%Y%m%d}-1"

    add_session({"session_ref": "OLD", "starts_at": "2021-03-20 18:00", "seats": "5"}, "seed", engine=db)
    seed_referral(db)
    seed_assessment(db)
    assert book({"referral_reference": "DIV-1", "session_ref": refs[2]}, "seed", engine=db).ok
    at = page("sessions")
    chosen = widget(at, "selectbox", "Session").value
    assert course_sessions.session_detail(db, chosen)["session_ref"] == refs[2]
    assert "No upcoming sessions" not in texts(at, "info")
    at.segmented_control(key="ss_view").set_value("Past").run()
    assert "1 past session, newest first." in texts(at, "caption")


def test_a_void_session_is_gone_from_the_lists(db):
    saved = add_session({"session_ref": "TYPO", "starts_at": SOON, "seats": "5"}, "seed", engine=db)
    assert void_session(saved.row_id, "typo", "seed", 1, engine=db).ok
    at = page("sessions")
    assert "No sessions scheduled yet" in texts(at, "info")


def test_a_session_entered_by_mistake_is_voided_on_the_sessions_page(db):
    saved = add_session({"session_ref": "TWICE", "starts_at": SOON, "seats": "5"}, "seed", engine=db)
    at = page("sessions", "manager")
    widget(at, "selectbox", "Session to change").select(saved.row_id).run()
    widget(at, "text_input", "Reason *").input("scheduled twice")
    widget(at, "checkbox", "Confirm: void this session").check()
    press(at, "Void session")
    assert "Session **TWICE** is void" in texts(at, "success")
    assert course_sessions.sessions(db).height == 0 and count(db, CourseSession) == 1
