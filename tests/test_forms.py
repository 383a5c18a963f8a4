"""The data-entry pages through Streamlit's AppTest, each page run on its own as a signed-in
user, on a real SQLite file: role checks, problems shown next to their fields with what was
typed kept, notes after a save, corrections with a reason and a version, writing once."""

from __future__ import annotations

from datetime import datetime

import pytest
from apptesting import REFUSED, app_test, as_user, press
from clock import TODAY
from sqlalchemy import func, select

from divert.core import codes
from divert.core.environment import PROJECT_DIR
from divert.readmodels import course_sessions
from divert.records.offences import add_offence
from divert.records.referrals import (
    add_referral,
    close_referral,
    edit_assessment,
    edit_referral,
    record_assessment,
)
from divert.records.sessions import add_session, book
from divert.storage.db import session_scope
from divert.storage.models import Assessment, AuditEvent, Booking, Closure, CourseSession, Referral
from divert.web import access

pytestmark = pytest.mark.usefixtures("clock")  # "today" is Wednesday 17 June 2026 (tests/clock.py)
PAGES = PROJECT_DIR / "pages"
ENTRY_PAGES = ("new_referral", "assessment", "sessions", "closure", "find_referral", "imports")
IDENTIFIER = "Police or provider identifier (stored only as a pseudonymous key) *"
FIND = "Referral or crime reference, or referral date"


def page(name: str, role: str = "caseworker", username: str = "cas", referral: str | None = None):
    """A records page run on its own as a signed-in user (the page checks the role itself)."""
    at = as_user(app_test(PAGES / f"{name}.py", timeout=30), username, role)
    if referral:
        at.query_params["referral"] = referral
    at.run()
    assert not at.exception, at.exception
    return at


def widget(at, kind: str, label: str):
    found = [w for w in getattr(at, kind) if w.label == label]
    assert found, f"no {kind} labelled {label!r}: {[w.label for w in getattr(at, kind)]}"
    return found[0]


def texts(at, kind: str) -> str:
    return " | ".join(str(e.value) for e in getattr(at, kind))


def count(engine, model, *where) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def error_right_after(at, label: str) -> str:
    """The error shown just after the widget labelled `label` (in the page's element order)."""
    elements = list(at.main)
    flat = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            flat.append(child)
            walk(child)

    for element in elements:
        flat.append(element)
        walk(element)
    index = next(i for i, e in enumerate(flat) if getattr(e, "label", None) == label)
    follower = flat[index + 1]
    assert follower.type == "error", follower
    return follower.value


def fill_referral(at, reference="DIV-1", crime_ref="20WM/0001/21", person="PNC 21/0000001A", area="E08000025",
                  drug="CAN", day=None):
    widget(at, "text_input", "Referral reference *").input(reference)
    widget(at, "text_input", "Crime reference *").input(crime_ref)
    widget(at, "text_input", IDENTIFIER).input(person)
    widget(at, "selectbox", "Local policing area *").select(area)
    widget(at, "selectbox", "Main drug *").select(drug)
    if day is not None:
        widget(at, "date_input", "Referral date *").set_value(day)
    return at


def seed_referral(engine, reference="DIV-1", crime_ref="C1", person="P1", on="2021-03-01", **extra):
    values = {"reference": reference, "crime_ref": crime_ref, "referred_at": f"{on} 10:30", "offence_date": on,
              "area": "E08000025", "drug": "CAN", "source": "stop_search", "person_ref": person, **extra}
    saved = add_referral(values, "seed", engine=engine)
    assert saved.ok, saved.problems
    return saved.row_id


def seed_assessment(engine, reference="DIV-1"):
    saved = record_assessment(
        {"referral_reference": reference, "result": "completed", "completed_at": "2021-03-04 11:00",
         "allocation": "group_course"}, "seed", engine=engine)
    assert saved.ok, saved.problems
    return saved.row_id


# --- roles ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ENTRY_PAGES)
@pytest.mark.parametrize("role", ["caseworker", "admin"])
def test_each_page_renders_for_caseworkers_and_admins(db, name, role):
    at = page(name, role)
    assert [t.value for t in at.title] == [access.page_spec(f"pages/{name}.py").title]
    assert REFUSED not in texts(at, "warning")


def test_sessions_page_is_open_to_managers(db):
    at = page("sessions", "manager")
    assert [t.value for t in at.title] == ["Course sessions"]
    assert "No sessions scheduled yet - schedule one below." in texts(at, "info")


@pytest.mark.parametrize("name", ENTRY_PAGES)
def test_a_viewer_gets_the_plain_refusal_and_no_data(db, name):
    seed_referral(db)
    at = page(name, "viewer", referral="DIV-1")
    assert REFUSED in texts(at, "warning")
    assert not at.text_input and not at.dataframe and not at.table and not at.title


@pytest.mark.parametrize("name", ["new_referral", "assessment", "closure", "imports"])  # find_referral: read-only
def test_a_manager_is_refused_the_caseworker_pages(db, name):
    assert REFUSED in texts(page(name, "manager"), "warning")


# --- new referral ---------------------------------------------------------------------------
def test_new_referral_defaults(db):
    at = page("new_referral")
    assert widget(at, "date_input", "Referral date *").value == TODAY
    assert widget(at, "selectbox", "How it came about *").value == "stop_search"
    assert widget(at, "selectbox", "Sex").value == "U"
    assert widget(at, "selectbox", "Local policing area *").value is None  # no referral recorded yet
    seed_referral(db)  # recorded by "seed"; this user's own last area is what counts
    add_offence({"crime_ref": "X1", "offence_date": "2021-03-01", "area": "E08000030", "drug": "CAN",
                         "source": "stop_search", "person_ref": "P9"}, "cas", engine=db)
    assert widget(page("new_referral"), "selectbox", "Local policing area *").value == "E08000030"


def test_a_bad_value_shows_its_message_next_to_the_field_and_keeps_the_form(db):
    at = fill_referral(page("new_referral"), crime_ref="=HYPERLINK(1)")
    widget(at, "number_input", "Year of birth").set_value(1999)
    press(at, "Save referral")
    assert "Nothing was saved." in texts(at, "error")
    assert error_right_after(at, "Crime reference *") == (
        "Crime reference may contain only letters, digits and / _ . -")
    assert widget(at, "text_input", "Referral reference *").value == "DIV-1"
    assert widget(at, "text_input", "Crime reference *").value == "=HYPERLINK(1)"
    assert widget(at, "text_input", IDENTIFIER).value == "PNC 21/0000001A"
    assert widget(at, "selectbox", "Local policing area *").value == "E08000025"
    assert widget(at, "number_input", "Year of birth").value == 1999
    assert count(db, Referral) == 0

    widget(at, "text_input", "Crime reference *").input("20WM/0001/21")
    press(at, "Save referral")
    assert "Referral **DIV-1** saved" in texts(at, "success")
    assert not at.error
    assert widget(at, "text_input", "Referral reference *").value == ""  # ready for the next one
    assert widget(at, "text_input", IDENTIFIER).value == ""
    assert widget(at, "selectbox", "Local policing area *").value == "E08000025"  # the user's area
    assert count(db, Referral) == 1


def test_missing_fields_are_each_marked(db):
    at = press(page("new_referral"), "Save referral")
    assert "Please correct the 5 problems" in texts(at, "error")
    assert error_right_after(at, "Referral reference *") == "Referral reference is required"
    assert error_right_after(at, "Local policing area *") == "Local policing area is required"
    assert error_right_after(at, IDENTIFIER) == "Police or provider identifier is required"


def test_a_repeat_diversion_is_saved_with_its_note(db):
    seed_referral(db, person="PNC 7")
    close_referral({"referral_reference": "DIV-1", "closed_on": "2021-04-01", "result": "complied"},
                           "seed", engine=db)
    at = press(fill_referral(page("new_referral"), "DIV-2", "C2", person="pnc 7"), "Save referral")
    assert "Note: Counted as a repeat diversion." in texts(at, "success")
    with session_scope(db) as s:
        assert s.execute(select(Referral.repeat).where(Referral.reference == "DIV-2")).scalar_one() is True


def test_after_non_engagement_a_new_offer_needs_an_override_reason(db):
    seed_referral(db, person="PNC 9")
    close_referral({"referral_reference": "DIV-1", "closed_on": "2021-04-01", "result": "not_engaged",
                            "intelligence_log_date": "2021-04-02"}, "seed", engine=db)
    at = page("new_referral")
    assert not any(t.label == "Override reason *" for t in at.text_area)  # asked only when needed
    press(fill_referral(at, "DIV-2", "C2", person="PNC 9"), "Save referral")
    assert "did not engage before (intelligence log 2021-04-02)" in error_right_after(at, "Override reason *")
    assert count(db, Referral) == 1 and widget(at, "text_input", "Referral reference *").value == "DIV-2"

    widget(at, "text_area", "Override reason *").input("Inspector agreed: new circumstances")
    press(at, "Save referral")
    assert "override reason is recorded" in texts(at, "success")
    with session_scope(db) as s:
        row = s.execute(select(Referral).where(Referral.reference == "DIV-2")).scalar_one()
        event = s.execute(select(AuditEvent).where(AuditEvent.table_name == "referral",
                                                   AuditEvent.row_id == str(row.id))).scalar_one()
    assert row.eligibility == "override" and event.reason == "Inspector agreed: new circumstances"
    assert event.username == "cas"


def test_the_identifier_is_never_shown_back(db):
    at = press(fill_referral(page("new_referral"), person="PNC 21/7777777Z"), "Save referral")
    shown = " ".join(texts(at, kind) for kind in ("success", "markdown", "caption", "error", "info"))
    assert "7777777" not in shown
    find = page("find_referral", referral="DIV-1")
    shown = " ".join(texts(find, kind) for kind in ("markdown", "caption", "table", "dataframe"))
    assert "7777777" not in shown and "7777777" not in str([t.value for t in find.table])


# --- writing once ---------------------------------------------------------------------------
def _double_submit_app():
    import streamlit as st

    from divert.core.environment import database_url
    from divert.records.sessions import add_session
    from divert.storage.db import get_engine  # AppTest runs this function's source on its own
    from divert.web import forms

    engine = get_engine(database_url())
    form = forms.Form("twice", {})
    values = {"session_ref": "S-TWICE", "starts_at": "2031-03-20 18:00", "seats": "4"}
    calls = st.session_state.setdefault("calls", [])
    for _ in range(2):  # the second submission of a double click, after the first was saved
        saved = form.submit(values, lambda: calls.append(1) or add_session(values, "cas", engine=engine),
                            success=lambda saved: f"saved {saved.row_id}")
        st.write(f"ok={saved.ok} notice={form.notice}")


def test_the_same_values_submitted_twice_are_written_once(db):
    at = app_test(_double_submit_app, timeout=30).run()
    assert not at.exception, at.exception
    assert [m.value for m in at.markdown] == ["ok=True notice=saved 1", "ok=True notice=saved 1"]
    assert at.session_state["calls"] == [1]
    assert count(db, CourseSession) == 1 and count(db, AuditEvent) == 1


def test_saving_again_after_a_save_does_not_write_again(db):
    seed_referral(db)
    at = page("find_referral", referral="DIV-1")
    widget(at, "text_input", "Referring team").input("Coventry NPT")
    widget(at, "text_area", "Reason for the change *").input("team was missing")
    press(at, "Save correction")
    assert "corrected (referring team)" in texts(at, "success")
    assert widget(at, "text_input", "Referring team").value == "Coventry NPT"  # as now stored
    press(at, "Save correction")  # pressed again: the values are as stored, nothing is written
    assert "Nothing to change" in texts(at, "success")
    assert count(db, AuditEvent, AuditEvent.action == "update") == 1


# --- assessment -----------------------------------------------------------------------------
def test_assessment_is_recorded_then_corrected_with_a_reason(db):
    seed_referral(db)
    at = page("assessment", referral="DIV-1")
    assert "Waiting for an assessment" in texts(at, "markdown")
    widget(at, "radio", "Result *").set_value("no_contact")
    widget(at, "radio", "Allocation").set_value("group_course")
    press(at, "Save assessment")
    assert error_right_after(at, "Allocation") == "Allocation can only be given after a completed assessment"
    assert widget(at, "radio", "Allocation").value == "group_course"
    assert count(db, Assessment) == 0

    widget(at, "radio", "Result *").set_value("completed")
    widget(at, "date_input", "Completed on").set_value(datetime(2021, 3, 4).date())
    widget(at, "checkbox", "Alcohol").check()
    widget(at, "checkbox", "Harm-reduction advice given").check()
    press(at, "Save assessment")
    assert "Assessment of **DIV-1** saved: completed, allocated to group course." in texts(at, "success")
    with session_scope(db) as s:
        row = s.execute(select(Assessment)).scalar_one()
    assert row.risk_alcohol and row.harm_reduction_advice and row.allocation == "group_course"

    assert "already has an assessment" in texts(at, "info")  # now a correction
    widget(at, "radio", "Allocation").set_value("one_to_one")
    press(at, "Save changes")
    assert error_right_after(at, "Reason for the change *") == "Reason for the change is required to change a record"
    widget(at, "text_area", "Reason for the change *").input("allocation typed wrongly")
    press(at, "Save changes")
    assert "changed (the reason is in the audit log)" in texts(at, "success")
    with session_scope(db) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "update",
                                                   AuditEvent.table_name == "assessment")).scalar_one()
    assert event.reason == "allocation typed wrongly" and event.username == "cas"


def test_two_people_correcting_one_assessment(db):
    seed_referral(db)
    assessment_id = seed_assessment(db)
    mine = page("assessment", referral="DIV-1")
    theirs = {"referral_reference": "DIV-1", "result": "completed", "completed_at": "2021-03-04 11:00",
              "allocation": "structured_treatment"}
    assert edit_assessment(assessment_id, theirs, "other", "their reason", 1, engine=db).ok
    widget(mine, "radio", "Allocation").set_value("one_to_one")
    widget(mine, "text_area", "Reason for the change *").input("my reason")
    press(mine, "Save changes")
    assert "Someone else changed this record; reload it" in texts(mine, "error")
    assert widget(mine, "radio", "Allocation").value == "one_to_one"  # what I typed is still there
    with session_scope(db) as s:
        assert s.get(Assessment, assessment_id).allocation == "structured_treatment"  # theirs is not overwritten
    press(mine, "Reload the assessment (discards what you typed)")
    assert widget(mine, "radio", "Allocation").value == "structured_treatment"


def test_assessment_page_queue_and_unknown_reference(db):
    seed_referral(db)
    at = page("assessment")
    queue = widget(at, "selectbox", "Or choose one waiting for an assessment")
    queue.select("DIV-1").run()
    assert widget(at, "text_input", "Referral reference").value == "DIV-1"
    assert any(r.label == "Result *" for r in at.radio)
    unknown = page("assessment", referral="NOPE-9")
    assert "No referral with that reference is recorded" in texts(unknown, "warning")
    assert "NOPE-9" in " ".join(t.value for t in unknown.text)


# --- course sessions ------------------------------------------------------------------------
def test_schedule_and_book_within_the_seats(db):
    for n in (1, 2):
        seed_referral(db, f"DIV-{n}", f"C{n}", f"P{n}")
        seed_assessment(db, f"DIV-{n}")
    at = page("sessions")
    widget(at, "text_input", "Session reference *").input("=S1")
    press(at, "Schedule session")
    assert error_right_after(at, "Session reference *").startswith("Session reference may contain only")
    widget(at, "text_input", "Session reference *").input("S1")
    widget(at, "number_input", "Seats *").set_value(1)
    press(at, "Schedule session")
    assert "Session **S1** scheduled" in texts(at, "success")

    at = page("sessions", referral="DIV-1")
    assert widget(at, "multiselect", "People to book *").value == ["DIV-1"]  # from the link
    widget(at, "multiselect", "People to book *").set_value(["DIV-1", "DIV-2"])
    press(at, "Book places")
    assert error_right_after(at, "Session *") == "Session is full (1 seat) - DIV-2 was not booked"
    assert count(db, Booking) == 0  # all or nothing
    widget(at, "multiselect", "People to book *").set_value(["DIV-2"])
    press(at, "Book places")
    assert "Booked DIV-2 on session **S1**." in texts(at, "success")
    assert count(db, Booking) == 1
    assert "Every upcoming session is full" in texts(at, "warning")


def test_register_shows_the_session_bookings(db):
    seed_referral(db)
    seed_assessment(db)
    add_session({"session_ref": "S1", "starts_at": "2021-03-20 18:00", "seats": "5"}, "seed", engine=db)
    assert book({"referral_reference": "DIV-1", "session_ref": "S1"}, "seed", engine=db).ok
    at = page("sessions")
    (status,) = [r for r in at.radio if r.label.startswith("DIV-1 (booked ")]  # one status per person booked
    assert status.value == "booked" and status.options == list(codes.BOOKING_STATUSES.values())
    assert "1 of 5 seats taken." in texts(at, "caption")


def test_changing_a_session_needs_a_reason(db):
    add_session({"session_ref": "S1", "starts_at": "2031-03-20 18:00", "seats": "5"}, "seed", engine=db)
    at = page("sessions", "manager")
    widget(at, "selectbox", "Session to change").select(course_sessions.sessions(db)["session_id"][0]).run()
    widget(at, "number_input", "Seats").set_value(8)
    press(at, "Save changes")
    assert error_right_after(at, "Reason for the change *") == "Reason for the change is required to change a record"
    widget(at, "text_area", "Reason for the change *").input("bigger room")
    press(at, "Save changes")
    assert "Session **S1** changed" in texts(at, "success")
    with session_scope(db) as s:
        assert s.execute(select(CourseSession.seats)).scalar_one() == 8


# --- closure --------------------------------------------------------------------------------
def test_closure_checks_then_asks_before_closing(db):
    seed_referral(db)
    at = page("closure", referral="DIV-1")
    widget(at, "radio", "Result *").set_value("not_engaged")
    press(at, "Close referral")
    assert error_right_after(at, "Intelligence log date") == (
        "Intelligence log date is required when the person did not engage")
    assert not any(b.label == "Yes, close it" for b in at.button)  # nothing to confirm yet
    widget(at, "date_input", "Intelligence log date").set_value(datetime(2021, 4, 2).date())
    widget(at, "date_input", "Closed on *").set_value(datetime(2021, 4, 1).date())
    press(at, "Close referral")
    assert "cannot be reopened" in texts(at, "warning") and count(db, Closure) == 0
    press(at, "Go back")
    assert count(db, Closure) == 0 and not any(b.label == "Yes, close it" for b in at.button)
    press(at, "Close referral")
    press(at, "Yes, close it")
    assert "not be offered to this person again" in texts(at, "success")
    assert "This referral was closed on 1 Apr 2021" in texts(at, "info")
    with session_scope(db) as s:
        assert s.execute(select(Referral.status)).scalar_one() == "closed"
        assert s.execute(select(Closure.intelligence_log_date)).scalar_one().isoformat() == "2021-04-02"


# --- find a referral ------------------------------------------------------------------------
def test_find_by_part_of_the_crime_reference_shows_the_timeline(db):
    seed_referral(db, crime_ref="20WM/0042/21")
    seed_referral(db, "DIV-2", "20WM/0043/21", "P2")
    at = page("find_referral")
    assert "Type a referral or crime reference" in texts(at, "info")
    widget(at, "text_input", FIND).input("0042").run()
    assert [t.value for t in at.subheader][:1] == ["Referral DIV-1"]
    (timeline,) = at.table
    assert list(timeline.value["Event"]) == ["Offence recorded", "Referred"]
    (found, trail) = at.dataframe
    assert list(found.value["Referral"]) == ["DIV-1"]
    assert list(trail.value["Record"]) == ["Offence", "Referral"]

    widget(at, "text_input", FIND).input("20WM").run()
    assert "2 referrals found." in texts(at, "caption")
    widget(at, "selectbox", "Open a referral").select("DIV-2").run()
    assert "Referral DIV-2" in [t.value for t in at.subheader]
    widget(at, "text_input", FIND).input("ZZZ").run()
    assert "No referral or crime reference contains “ZZZ”." in texts(at, "info")


def test_two_people_correcting_one_referral(db):
    referral_id = seed_referral(db)
    mine = page("find_referral", referral="DIV-1")
    assert edit_referral(referral_id, {"referring_team": "Their team"}, "other", "their reason", 1,
                                 engine=db).ok
    widget(mine, "text_input", "Referring team").input("My team")
    widget(mine, "text_area", "Reason for the change *").input("my reason")
    press(mine, "Save correction")
    assert "Someone else changed this record; reload it" in texts(mine, "error")
    assert widget(mine, "text_input", "Referring team").value == "My team"
    with session_scope(db) as s:
        assert s.get(Referral, referral_id).referring_team == "Their team"
    press(mine, "Reload the referral (discards what you typed)")
    assert widget(mine, "text_input", "Referring team").value == "Their team"


# --- imports --------------------------------------------------------------------------------
SESSIONS_CSV = b"session_ref,starts_at,seats\nS-A,2031-03-20 18:00,10\nS-B,2031-03-27 18:00,12\n"
BAD_CSV = b"session_ref,starts_at,seats\nS-A,2031-03-20 18:00,10\nS-B,not a date,=2+2\n"


def choose_kind(at, kind):
    widget(at, "selectbox", "Kind of file").select(kind).run()
    return at


def test_import_preview_then_import(db):
    at = choose_kind(page("imports", "admin"), "sessions")
    assert next(b for b in at.button if b.label == "Import").disabled
    (dictionary,) = at.dataframe
    assert list(dictionary.value["column"]) == ["session_ref", "starts_at", "duration_minutes", "mode", "seats",
                                                "facilitator"]
    at.file_uploader[0].set_value([("sessions.csv", SESSIONS_CSV, "text/csv")]).run()
    press(at, "Preview (dry run)")
    assert "Dry run - nothing was written. Would import 2 rows: 2 new" in texts(at, "success")
    assert count(db, CourseSession) == 0
    assert not next(b for b in at.button if b.label == "Import").disabled
    press(at, "Import")
    assert "Imported 2 rows: 2 new, 0 updated, 0 unchanged." in texts(at, "success")
    assert count(db, CourseSession) == 2
    assert next(b for b in at.button if b.label == "Import").disabled  # not twice without a new preview


def test_a_bad_file_writes_nothing_and_reports_every_problem(db):
    at = choose_kind(page("imports", "caseworker"), "sessions")
    at.file_uploader[0].set_value([("sessions.csv", BAD_CSV, "text/csv")]).run()
    press(at, "Preview (dry run)")
    assert "Rejected - nothing was written. 2 problems in 2 rows." in texts(at, "error")
    report = at.dataframe[-1].value
    assert list(report["Column"]) == ["starts_at", "seats"] and list(report["Row"]) == [3, 3]
    assert next(b for b in at.button if b.label == "Import").disabled
    download = at.get("download_button")
    assert any("problem report" in str(d.proto.label) for d in download)
    assert count(db, CourseSession) == 0


def test_an_import_report_never_shows_a_person_identifier(db):
    long_identifier = "PNC-" + "9" * 70
    csv = ("reference,referred_at,crime_ref,offence_date,area,drug,source,person_ref\n"
           f"DIV-9,2021-03-01 10:00,C9,2021-03-01,E08000025,CAN,stop_search,{long_identifier}\n").encode()
    at = choose_kind(page("imports", "admin"), "referrals")
    at.file_uploader[0].set_value([("referrals.csv", csv, "text/csv")]).run()
    press(at, "Preview (dry run)")
    report = at.dataframe[-1].value
    assert list(report["Column"]) == ["person_ref"] and list(report["Value"]) == ["(not shown)"]
    assert "9999999" not in " ".join(texts(at, kind) for kind in ("error", "markdown", "caption"))
