"""The read-only queries behind the data-entry pages (divert.readmodels: casework, referral_history,
work_queues, course_sessions), and the writes those pages add to divert.records (corrections with a
reason and a version, bookings in one go, the attendance register with versions, checking without
writing) - on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from clock import MOMENT
from sqlalchemy import func, select

from divert.readmodels import casework, course_sessions, referral_history, work_queues
from divert.records.contacts import record_contact
from divert.records.core import check_only
from divert.records.corrections import void_referral
from divert.records.offences import add_offence
from divert.records.referrals import (
    add_referral,
    add_referral_from_form,
    close_referral,
    edit_assessment,
    edit_referral,
    record_assessment,
)
from divert.records.sessions import add_session, book, book_many, edit_session, mark_attendance, save_register
from divert.storage.db import data_version, session_scope
from divert.storage.models import Assessment, AuditEvent, Booking, Closure, CourseSession, Referral

# sessions ahead and behind, bookings and closures made "now": the clock stands at clock.MOMENT
pytestmark = pytest.mark.usefixtures("clock")

USER = "test.caseworker"
SOON = (MOMENT + timedelta(days=3)).strftime("%Y-%m-%d 18:00")
PAST = (MOMENT - timedelta(days=3)).strftime("%Y-%m-%d 18:00")


def referral(engine, reference, crime_ref, person="P1", *, on="2021-03-01", area="E08000025", **extra):
    values = {
        "reference": reference, "crime_ref": crime_ref, "referred_at": f"{on} 10:30", "offence_date": on,
        "area": area, "drug": "CAN", "source": "stop_search", "person_ref": person, "sex": "F",
        "birth_year": "1990", "ethnicity_self": "B1", "ethnicity_officer": "IC3", **extra,
    }
    saved = add_referral(values, USER, engine=engine)
    assert saved.ok, saved.problems
    return saved


def assess(engine, reference, allocation="group_course", **extra):
    values = {"referral_reference": reference, "result": "completed", "completed_at": "2021-03-04 11:00",
              "allocation": allocation, "contact_attempts": "2", "harm_reduction_advice": "yes", **extra}
    saved = record_assessment(values, USER, engine=engine)
    assert saved.ok, saved.problems
    return saved


def session(engine, ref="S1", seats=5, starts_at=SOON):
    saved = add_session({"session_ref": ref, "starts_at": starts_at, "seats": str(seats)}, USER, engine=engine)
    assert saved.ok, saved.problems
    return saved.row_id


def count(engine, model) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def problem(saved, field) -> str:
    assert not saved.ok
    matching = [p.reason for p in saved.problems if p.field == field]
    assert matching, saved.problems
    return matching[0]


# --- finding a referral -------------------------------------------------------------------
def test_search_matches_any_part_of_the_referral_or_crime_reference(engine):
    referral(engine, "DIV-100", "20WM/0100/21")
    referral(engine, "DIV-200", "20WM/0200/21", person="P2", on="2021-04-01")
    assert list(casework.search_referrals(engine, "div-1")["Referral"]) == ["DIV-100"]
    assert list(casework.search_referrals(engine, "0200/")["Referral"]) == ["DIV-200"]
    assert list(casework.search_referrals(engine, "20WM")["Referral"]) == ["DIV-200", "DIV-100"]  # newest first
    assert casework.search_referrals(engine, "").height == 0
    assert casework.search_referrals(engine, "%").height == 0  # a wildcard is just a character
    found = casework.search_referrals(engine, "DIV-100").row(0, named=True)
    assert found["Area"] == "Birmingham" and found["Drug"] == "Cannabis"
    assert found["Stage"] == "Waiting for an assessment"


def test_detail_never_carries_the_person_identifier(engine):
    referral(engine, "DIV-1", "C1", person="PNC 21/0000001A")
    detail = casework.referral_detail(engine, "DIV-1")
    text = json.dumps(detail, default=str)
    assert "0000001" not in text and "person_key" not in text
    assert casework.describe_person(detail) == (
        "Female, born 1990, self-defined ethnicity Black Caribbean (B1), officer-defined Black (IC3)"
    )
    assert casework.referral_detail(engine, "NOPE") is None


def test_stage_follows_the_pathway(engine):
    referral(engine, "DIV-1", "C1")
    stage = lambda: casework.referral_detail(engine, "DIV-1")["stage"]  # noqa: E731
    assert stage() == "Waiting for an assessment"
    assess(engine, "DIV-1")
    assert stage() == "Waiting for a course place"
    session(engine)
    assert book({"referral_reference": "DIV-1", "session_ref": "S1"}, USER, engine=engine).ok
    assert stage() == "Booked on a session"
    close_referral({"referral_reference": "DIV-1", "closed_on": "2021-04-01", "result": "complied"},
                           USER, engine=engine)
    assert stage() == "Closed - complied"


def test_timeline_lists_the_pathway_in_order(engine):
    referral(engine, "DIV-1", "C1", referring_team="Coventry NPT")
    assess(engine, "DIV-1", risk_alcohol="yes")
    session(engine, starts_at="2021-03-20 18:00")
    assert book({"referral_reference": "DIV-1", "session_ref": "S1", "booked_at": "2021-03-05 09:00"},
                        USER, engine=engine).ok
    close_referral({"referral_reference": "DIV-1", "closed_on": "2021-03-21", "result": "complied"},
                           USER, engine=engine)
    frame = referral_history.timeline(engine, "DIV-1")
    assert list(frame["Event"]) == ["Offence recorded", "Referred", "Assessment", "Booked on a course session",
                                    "Course session", "Closed"]
    rows = {row["Event"]: row for row in frame.iter_rows(named=True)}
    assert rows["Referred"]["When"] == "1 Mar 2021 10:30" and "Coventry NPT" in rows["Referred"]["Details"]
    assert "alcohol" in rows["Assessment"]["Details"] and "group course" in rows["Assessment"]["Details"]
    assert rows["Course session"]["When"] == "20 Mar 2021 18:00"
    assert rows["Closed"]["When"] == "21 Mar 2021"


def test_timeline_puts_a_closure_after_everything_else_that_day(engine):
    referral(engine, "DIV-1", "C1")
    assert record_contact({"referral_reference": "DIV-1", "attempted_at": "2021-03-02 09:00",
                                   "outcome": "reached"}, USER, engine=engine).ok
    assess(engine, "DIV-1")
    session(engine, starts_at="2021-03-20 18:00")
    assert book({"referral_reference": "DIV-1", "session_ref": "S1", "booked_at": "2021-03-05 09:00"},
                        USER, engine=engine).ok
    close_referral({"referral_reference": "DIV-1", "closed_on": "2021-03-20", "result": "complied"},
                           USER, engine=engine)  # recorded today, not on the day: the end of that day
    frame = referral_history.timeline(engine, "DIV-1")
    assert list(frame["Event"]) == ["Offence recorded", "Referred", "Contact attempt", "Assessment",
                                    "Booked on a course session", "Course session", "Closed"]
    assert list(frame["When"])[-2:] == ["20 Mar 2021 18:00", "20 Mar 2021"]
    # closed on the day it is recorded: at the time it was recorded
    referral(engine, "DIV-2", "C2", person="P2", on=(casework.uk_today() - timedelta(days=1)).isoformat())
    close_referral({"referral_reference": "DIV-2", "closed_on": casework.uk_today().isoformat(),
                            "result": "complied"}, USER, engine=engine)
    detail = casework.referral_detail(engine, "DIV-2")
    assert void_referral(detail["id"], "entered twice", USER, detail["version"], engine=engine).ok
    later = referral_history.timeline(engine, "DIV-2")
    assert list(later["Event"]) == ["Offence recorded", "Referred", "Closed", "Void"]
    assert later["When"][2] != casework.show_day(casework.uk_today())  # a time, not just the day
    assert "entered twice" in later["Details"][3]
    trail = referral_history.audit_trail(engine, "DIV-2")
    assert list(trail["Action"])[-2:] == ["Voided", "Voided"] and trail["Reason"][-1] == "entered twice"


def test_audit_trail_shows_who_changed_what_and_why(engine):
    saved = referral(engine, "DIV-1", "C1")
    assert edit_referral(saved.row_id, {"referring_team": "Team B"}, "other.user", "typo", 1,
                                 engine=engine).ok
    referral(engine, "DIV-2", "C2", person="P2")  # not this referral's
    trail = referral_history.audit_trail(engine, "DIV-1")
    assert list(trail["Record"]) == ["Offence", "Referral", "Referral"]
    change = trail.row(2, named=True)
    assert change["By"] == "other.user" and change["Action"] == "Changed" and change["Reason"] == "typo"
    assert change["What changed"] == "referring team: (blank) → Team B"


def test_a_british_summer_time_referral_shows_in_uk_time(engine):
    referral(engine, "DIV-1", "C1", on="2021-07-01")  # 10:30 UTC = 11:30 BST
    assert casework.search_referrals(engine, "DIV-1")["Referred"][0] == "1 Jul 2021 11:30"


# --- work queues --------------------------------------------------------------------------
def test_queues_follow_the_pathway(engine):
    referral(engine, "DIV-1", "C1", on="2021-03-01")
    referral(engine, "DIV-2", "C2", person="P2", on="2021-03-02")
    referral(engine, "DIV-3", "C3", person="P3", on="2021-03-03")
    assess(engine, "DIV-2")
    assess(engine, "DIV-3", allocation="one_to_one")
    assert list(work_queues.awaiting_assessment(engine)["Referral"]) == ["DIV-1"]
    assert list(work_queues.waiting_list(engine)["Referral"]) == ["DIV-2"]
    assert list(work_queues.open_referrals(engine)["Referral"]) == ["DIV-1", "DIV-2", "DIV-3"]
    session_id = session(engine, seats=1)
    assert book({"referral_reference": "DIV-2", "session_ref": "S1"}, USER, engine=engine).ok
    assert work_queues.waiting_list(engine).height == 0
    with session_scope(engine) as s:
        booking_id = s.execute(select(Booking.id)).scalar_one()
    assert mark_attendance(session_id, {booking_id: "cancelled"}, USER, engine=engine).ok
    assert list(work_queues.waiting_list(engine)["Referral"]) == ["DIV-2"]  # back on the list
    close_referral({"referral_reference": "DIV-1", "closed_on": "2021-04-01", "result": "complied"},
                           USER, engine=engine)
    assert "DIV-1" not in list(work_queues.open_referrals(engine)["Referral"])


def test_sessions_count_the_seats_taken(engine):
    session_id = session(engine, seats=2)
    session(engine, "OLD", starts_at="2021-01-01 18:00")
    for n in (1, 2):
        referral(engine, f"DIV-{n}", f"C{n}", person=f"P{n}")
        assess(engine, f"DIV-{n}")
    assert book_many("S1", ["DIV-1", "DIV-2"], USER, engine=engine).ok
    upcoming = course_sessions.sessions(engine, upcoming=True)
    assert list(upcoming["Session"]) == ["S1"]
    row = upcoming.row(0, named=True)
    assert (row["Seats"], row["Taken"], row["Free"]) == (2, 2, 0)
    assert list(course_sessions.sessions(engine)["Session"]) == ["OLD", "S1"]
    assert course_sessions.session_detail(engine, session_id)["free"] == 0
    register = course_sessions.session_bookings(engine, session_id)
    assert list(register["Referral"]) == ["DIV-1", "DIV-2"] and set(register["Status"]) == {"booked"}


def test_last_area_is_where_the_user_last_recorded_an_offence(engine):
    assert casework.last_area(engine, USER) is None
    referral(engine, "DIV-1", "C1", area="E08000026")
    assert casework.last_area(engine, USER) == "E08000026"
    assert casework.last_area(engine, "someone.else") is None


# --- writes the pages add -----------------------------------------------------------------
def test_assessment_correction_needs_a_reason_and_the_current_version(engine):
    referral(engine, "DIV-1", "C1")
    assessment_id = assess(engine, "DIV-1").row_id
    corrected = {"referral_reference": "DIV-1", "result": "completed", "completed_at": "2021-03-04 11:00",
                 "allocation": "one_to_one", "contact_attempts": "2", "harm_reduction_advice": "yes"}
    assert problem(edit_assessment(assessment_id, corrected, USER, " ", 1, engine=engine), "reason")
    version = data_version(engine)
    saved = edit_assessment(assessment_id, corrected, USER, "allocation typed wrongly", 1, engine=engine)
    assert saved.ok and saved.change == "updated", saved.problems
    assert data_version(engine) == version + 1
    with session_scope(engine) as s:
        row = s.get(Assessment, assessment_id)
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "update",
                                                   AuditEvent.table_name == "assessment")).scalar_one()
    assert row.allocation == "one_to_one" and row.version == 2
    assert event.reason == "allocation typed wrongly" and json.loads(event.before)["allocation"] == "group_course"
    stale = edit_assessment(assessment_id, {**corrected, "allocation": "group_course"}, "other", "x", 1,
                                    engine=engine)
    assert "someone else changed" in problem(stale, "version")
    same = edit_assessment(assessment_id, corrected, USER, "again", 2, engine=engine)
    assert same.ok and same.change == "unchanged"


def test_assessment_correction_keeps_the_rules_of_recording_one(engine):
    referral(engine, "DIV-1", "C1")
    assessment_id = assess(engine, "DIV-1").row_id
    bad = {"referral_reference": "DIV-1", "result": "no_contact", "allocation": "group_course"}
    assert "after a completed assessment" in problem(
        edit_assessment(assessment_id, bad, USER, "why", 1, engine=engine), "allocation")
    early = {"referral_reference": "DIV-1", "result": "completed", "completed_at": "2021-02-01 10:00"}
    assert "before 2021-03-01" in problem(
        edit_assessment(assessment_id, early, USER, "why", 1, engine=engine), "completed_at")


def test_session_change_cannot_drop_below_the_seats_taken(engine):
    session_id = session(engine, seats=3)
    for n in (1, 2):
        referral(engine, f"DIV-{n}", f"C{n}", person=f"P{n}")
        assess(engine, f"DIV-{n}")
    assert book_many("S1", ["DIV-1", "DIV-2"], USER, engine=engine).ok
    values = {"starts_at": SOON, "seats": "1", "mode": "online"}
    assert "fewer than the 2 people" in problem(
        edit_session(session_id, values, USER, "smaller room", 1, engine=engine), "seats")
    saved = edit_session(session_id, {**values, "seats": "2", "mode": "face_to_face"}, USER, "room", 1,
                                 engine=engine)
    assert saved.ok and saved.change == "updated"
    with session_scope(engine) as s:
        row = s.get(CourseSession, session_id)
    assert (row.seats, row.mode, row.version) == (2, "face_to_face", 2)
    assert "someone else changed" in problem(
        edit_session(session_id, values, USER, "x", 1, engine=engine), "version")


def test_booking_several_is_all_or_nothing_within_the_seats(engine):
    session(engine, seats=2)
    for n in (1, 2, 3):
        referral(engine, f"DIV-{n}", f"C{n}", person=f"P{n}")
        assess(engine, f"DIV-{n}")
    version = data_version(engine)
    refused = book_many("S1", ["DIV-1", "DIV-2", "DIV-3"], USER, engine=engine)
    assert problem(refused, "session_ref") == "is full (2 seats) - DIV-3 was not booked"
    assert count(engine, Booking) == 0 and data_version(engine) == version
    referral(engine, "DIV-4", "C4", person="P4")  # not assessed
    assert problem(book_many("S1", ["DIV-4"], USER, engine=engine), "referral_reference") == (
        "DIV-4 is not allocated to a group course")
    assert problem(book_many("S1", [], USER, engine=engine), "referral_reference")
    assert book_many("S1", ["DIV-1", "DIV-2"], USER, engine=engine).ok
    assert count(engine, Booking) == 2


def test_register_saves_all_or_nothing_with_versions(engine):
    session_id = session(engine, seats=2, starts_at=PAST)
    for n in (1, 2):
        referral(engine, f"DIV-{n}", f"C{n}", person=f"P{n}", on="2021-03-01")
        assess(engine, f"DIV-{n}")
    assert book_many("S1", ["DIV-1", "DIV-2"], USER, engine=engine).ok
    register = course_sessions.session_bookings(engine, session_id)
    ids, versions = list(register["booking_id"]), dict(zip(register["booking_id"], register["version"], strict=True))
    bad = save_register(session_id, {ids[0]: "completed", ids[1]: "asleep"}, versions, USER, engine=engine)
    assert problem(bad, "status") == "is not a booking status"
    saved = save_register(session_id, {ids[0]: "completed", ids[1]: "no_show"}, versions, USER, engine=engine)
    assert saved.ok and saved.notes == ["2 bookings changed"]
    stale = save_register(session_id, {ids[0]: "attended"}, versions, "other", engine=engine)
    assert "someone else changed" in problem(stale, "version")
    with session_scope(engine) as s:
        statuses = [b.status for b in s.execute(select(Booking).order_by(Booking.id)).scalars()]
        updates = s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.table_name == "booking", AuditEvent.action == "update")).scalar_one()
    assert statuses == ["completed", "no_show"] and updates == 2


def test_register_refuses_attendance_before_the_session_and_overbooking(engine):
    session_id = session(engine, seats=1, starts_at=SOON)
    for n in (1, 2):
        referral(engine, f"DIV-{n}", f"C{n}", person=f"P{n}")
        assess(engine, f"DIV-{n}")
    assert book_many("S1", ["DIV-1"], USER, engine=engine).ok
    register = course_sessions.session_bookings(engine, session_id)
    booking_id, version = register["booking_id"][0], register["version"][0]
    early = save_register(session_id, {booking_id: "attended"}, {booking_id: version}, USER, engine=engine)
    assert problem(early, "status") == "cannot be marked before the session starts"
    assert save_register(session_id, {booking_id: "cancelled"}, {booking_id: version}, USER, engine=engine).ok
    assert book_many("S1", ["DIV-2"], USER, engine=engine).ok  # the seat is free again
    register = course_sessions.session_bookings(engine, session_id)
    first = register.row(0, named=True)
    back = save_register(session_id, {first["booking_id"]: "booked"}, {first["booking_id"]: first["version"]},
                                 USER, engine=engine)
    assert "more than the session's 1 seat" in problem(back, "seats")


def test_check_only_writes_nothing(engine):
    referral(engine, "DIV-1", "C1")
    before = (count(engine, Closure), count(engine, AuditEvent), data_version(engine))
    good = {"referral_reference": "DIV-1", "closed_on": "2021-04-01", "result": "complied"}
    assert check_only(close_referral, good, USER, engine=engine).ok
    bad = {**good, "result": "not_engaged"}
    assert problem(check_only(close_referral, bad, USER, engine=engine), "intelligence_log_date")
    assert (count(engine, Closure), count(engine, AuditEvent), data_version(engine)) == before
    with session_scope(engine) as s:
        assert s.execute(select(Referral.status)).scalar_one() == "open"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_correction_without_a_reason_changes_nothing(engine, reason):
    session_id = session(engine)
    before = (count(engine, AuditEvent), data_version(engine))
    saved = edit_session(session_id, {"starts_at": SOON, "seats": "9"}, USER, reason, 1, engine=engine)
    assert problem(saved, "reason") == "is required to change a record"
    assert (count(engine, AuditEvent), data_version(engine)) == before


def test_a_form_referral_lists_every_problem_at_once(engine):
    values = {"reference": "", "crime_ref": "NEW/1", "referred_at": "2021-03-01 10:30", "offence_date": "2021-03-01",
              "area": "", "drug": "XYZ", "source": "stop_search", "person_ref": ""}
    expected = ["reference", "area", "drug", "person_ref"]
    assert [p.field for p in add_referral(values, USER, engine=engine).problems] == expected  # imports too
    assert [p.field for p in add_referral_from_form(values, USER, engine=engine).problems] == expected
    assert count(engine, Referral) == 0 and count(engine, AuditEvent) == 0


def test_a_form_referral_for_an_offence_already_recorded_needs_no_person(engine):
    assert add_offence({"crime_ref": "X1", "offence_date": "2021-03-01", "area": "E08000025", "drug": "CAN",
                                "source": "stop_search", "person_ref": "P1"}, USER, engine=engine).ok
    values = {"reference": "", "crime_ref": "X1", "referred_at": "2021-03-01 10:30"}
    assert [p.field for p in add_referral_from_form(values, USER, engine=engine).problems] == ["reference"]
    saved = add_referral_from_form({**values, "reference": "DIV-1"}, USER, engine=engine)
    assert saved.ok, saved.problems


def test_a_form_referral_before_its_offence_is_refused_plainly(engine):
    values = {"reference": "DIV-1", "crime_ref": "NEW/1", "referred_at": "2021-03-01 10:30",
              "offence_date": "2021-03-05", "area": "E08000025", "drug": "CAN", "source": "stop_search",
              "person_ref": "P1"}
    assert problem(add_referral_from_form(values, USER, engine=engine), "offence_date") == (
        "is after the referral (2021-03-01)")
    assert count(engine, Referral) == 0
    late_evening_bst = {**values, "referred_at": datetime(2021, 7, 1, 23, 30, tzinfo=UTC), "offence_date": "2021-07-01"}
    assert add_referral_from_form(late_evening_bst, USER, engine=engine).ok
