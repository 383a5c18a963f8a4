"""A caseworker's day in a real browser, by keyboard only, from the worklist: contact, assess,
book, register the attendance, close, correct an area with a reason, void a referral entered
twice - and the worklist counts and the headline figures follow. Every control is reached and
used as a keyboard user would (focus, type, Enter, Space): no mouse click, no table grid."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import polars as pl
import pytest
from browser import (
    TALL,
    count,
    heading,
    key_choose,
    key_expand,
    key_menu,
    key_press,
    key_sign_in,
    settle,
    visit,
)
from playwright.sync_api import expect
from sqlalchemy import select

from divert.analytics.data.loading import load_frames
from divert.analytics.planning import waiting
from divert.core import clock, codes
from divert.readmodels import casework, course_sessions, worklist
from divert.records.referrals import add_referral
from divert.records.sessions import edit_session
from divert.storage.db import session_scope
from divert.storage.models import AuditEvent, Booking, CourseSession, Offence, Referral

pytestmark = [pytest.mark.e2e]


def worklist_counts(page) -> dict[str, int]:
    return {label: count(page, label) for label in (*worklist.ACTIONS, worklist.OVERDUE)}


def open_from_worklist(page, reference):
    """Find the referral on the worklist by keyboard (its reference typed in the filter, then
    chosen in "Open a referral"): its page opens."""
    key_menu(page, "Worklist")
    search = page.get_by_role("textbox", name="Referral reference contains")
    search.fill(reference)
    search.press("Enter")
    expect(page.get_by_text("1 referral shown of")).to_be_visible()
    settle(page)
    key_choose(page, "Open a referral", reference)
    expect(page.get_by_role("heading", name=f"Referral {reference}")).to_be_visible()
    settle(page)


def follow_link(page, name: str, title: str) -> None:
    key_press(page.get_by_role("link", name=name, exact=True))
    expect(heading(page, title)).to_be_visible()
    settle(page)


def test_a_caseworkers_day_from_the_worklist_by_keyboard(demo_app, page):
    """Every step by keyboard: controls focused, text typed, Enter, Space and arrow keys."""
    engine = demo_app.engine()
    # the morning's intake (as an import brings it): one referral, and the same one entered twice
    today = casework.uk_today()
    yesterday = f"{today - timedelta(days=1):%Y-%m-%d}"
    suffix = secrets.token_hex(2).upper()  # references of this test's own (the app is shared)
    W1, W2, CRIME = f"E2E-W1-{suffix}", f"E2E-W2-{suffix}", f"E2E/W1/{suffix}"
    for reference, crime_ref in ((W1, CRIME), (W2, f"{CRIME}-DUP")):
        saved = add_referral({
            "reference": reference, "crime_ref": crime_ref, "referred_at": f"{yesterday} 10:30",
            "offence_date": yesterday, "area": "E08000025", "drug": "CAN", "source": "stop_search",
            "person_ref": f"PNC E2E/W/{suffix}", "sex": "M", "birth_year": "1999", "ethnicity_self": "B1"}, "intake",
            engine=engine)
        assert saved.ok, saved.problems
    expected = worklist.build(engine, today).counts
    referrals_before = load_frames(engine).referrals.height

    page.set_viewport_size(TALL)
    live = f"/?as_of={today:%Y-%m-%d}"  # the Overview opens at the last month end: today's date shows the live records
    key_sign_in(page, demo_app, "caseworker", path=live)
    headline_before = count(page, "Referrals")
    key_menu(page, "Worklist")
    before = worklist_counts(page)
    assert before == expected and before[waiting.FIRST_CONTACT] >= 2

    # contact and assessment, from the worklist
    open_from_worklist(page, W1)
    key_press(page.get_by_role("link", name="Record the assessment"))
    expect(page.get_by_role("heading", name="Assessment", exact=True, level=1)).to_be_visible()
    settle(page)
    key_press(page.get_by_role("radio", name="Reached", exact=True), "Space")
    key_press(page.get_by_role("button", name="Record contact attempt"))
    expect(page.get_by_text(f"Contact attempt recorded for {W1}: reached.")).to_be_visible()
    settle(page)
    key_press(page.get_by_role("radio", name="Completed", exact=True), "Space")
    key_press(page.get_by_role("checkbox", name="Harm-reduction advice given", exact=True), "Space")
    key_press(page.get_by_role("radio", name="Group course", exact=True), "Space")
    key_press(page.get_by_role("button", name="Save assessment"))
    expect(page.get_by_text(f"Assessment of {W1} saved: completed, allocated to group course.")).to_be_visible()
    settle(page)

    # a session with a generated reference, then the booking
    follow_link(page, f"Book {W1} on a course session", "Course sessions")
    key_press(page.get_by_role("tab", name="Sessions"))
    reference_box = page.get_by_role("textbox", name="Session reference *")
    expect(reference_box).to_have_value(re.compile(r"^S-\d{8}-\d+$"))
    session_ref = reference_box.input_value()
    key_press(page.get_by_role("button", name="Schedule session"))
    expect(page.get_by_text(f"Session {session_ref} scheduled")).to_be_visible()
    settle(page)
    key_press(page.get_by_role("tab", name="Book places"))
    key_choose(page, "Session *", session_ref, re.compile(rf"^{session_ref} · "))
    key_press(page.get_by_role("button", name="Book places"))
    expect(page.get_by_text(f"Booked {W1} on session {session_ref}.")).to_be_visible()
    settle(page)

    # the session takes place (brought forward to now here, as if the week had gone by)
    with session_scope(engine) as s:
        course = s.execute(select(CourseSession).where(CourseSession.session_ref == session_ref)).scalar_one()
    held = clock.now().isoformat()
    assert edit_session(course.id, {"starts_at": held, "seats": course.seats}, "facilitator",
                        "the session was held", course.version, engine=engine).ok

    key_menu(page, "Worklist")  # away and back: the register opens afresh
    key_menu(page, "Course sessions")
    key_press(page.get_by_role("tab", name="Attendance register"))
    # it opens on the latest session that has started with people booked: this one, held just now
    opens_on = course_sessions.sessions(engine).filter(
        pl.col("session_id") == course_sessions.register_default(course_sessions.sessions(engine), clock.now()))
    expect(page.get_by_role("combobox", name="Session", exact=True)).to_have_value(
        re.compile(rf"^{re.escape(opens_on['Session'][0])} · "))
    if opens_on["Session"][0] != session_ref:
        key_choose(page, "Session", session_ref, re.compile(rf"^{re.escape(session_ref)} · "))
    register = page.get_by_role("tabpanel", name="Attendance register")
    status = register.get_by_role("radiogroup", name=re.compile(rf"^{re.escape(W1)} "))  # one per person booked
    key_press(status.get_by_role("radio", name=codes.BOOKING_STATUSES["completed"], exact=True), "Space")
    key_press(page.get_by_role("button", name="Save register"))
    expect(page.get_by_text("Register saved: 1 booking changed.")).to_be_visible()
    settle(page)

    # ready to close: from the worklist to the closure
    key_menu(page, "Worklist")
    middle = worklist_counts(page)
    assert middle[waiting.FIRST_CONTACT] == before[waiting.FIRST_CONTACT] - 1
    assert middle[waiting.READY_TO_CLOSE] == before[waiting.READY_TO_CLOSE] + 1
    open_from_worklist(page, W1)
    follow_link(page, "Close the referral", "Closure")
    key_press(page.get_by_role("radio", name=codes.CLOSURE_RESULTS["complied"], exact=True), "Space")
    key_press(page.get_by_role("button", name="Close referral"))
    key_press(page.get_by_role("button", name="Yes, close it"))
    expect(page.get_by_text(f"{W1} closed on")).to_be_visible()
    settle(page)

    # a correction: the area was wrong
    key_press(page.get_by_role("link", name=f"See the timeline of {W1}"))
    expect(page.get_by_role("heading", name=f"Referral {W1}")).to_be_visible()
    settle(page)
    events = page.get_by_test_id("stTable").locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert events == ["Offence recorded", "Referred", "Contact attempt", "Assessment", "Booked on a course session",
                      "Course session", "Closed"]
    key_expand(page, "Correct the referral")
    key_choose(page, "Local policing area", "Coventry")
    reason = page.get_by_role("textbox", name="Reason for the change *")
    reason.fill("area typed wrongly: it was Coventry")
    key_press(page.get_by_role("button", name="Save correction"))
    expect(page.get_by_text(f"Referral {W1} corrected (local policing area)")).to_be_visible()
    settle(page)
    with session_scope(engine) as s:
        area = s.execute(select(Offence.area).where(Offence.crime_ref == CRIME)).scalar_one()
        reasons = s.execute(select(AuditEvent.reason).where(AuditEvent.table_name == "offence",
                                                            AuditEvent.action == "update")).scalars().all()
    assert area == "E08000026" and "area typed wrongly: it was Coventry" in reasons

    # the duplicate, voided from the worklist
    open_from_worklist(page, W2)
    key_expand(page, "Void this referral (entered by mistake)")
    page.get_by_role("textbox", name="Reason *").fill(f"entered twice: the same referral as {W1}")
    key_press(page.get_by_role("checkbox", name="Confirm: void this referral", exact=True), "Space")
    key_press(page.get_by_role("button", name="Void referral"))
    expect(page.get_by_text(f"{W2} is void: it is kept")).to_be_visible()
    settle(page)
    with session_scope(engine) as s:
        voided = s.execute(select(Referral.void_by).where(Referral.reference == W2)).scalar_one()
        bookings = s.execute(select(Booking.status).join(Referral, Referral.id == Booking.referral_id)
                             .where(Referral.reference == W1)).scalars().all()
    assert voided == demo_app.logins["caseworker"]["username"] and bookings == ["completed"]

    # the figures and the worklist follow
    key_menu(page, "Worklist")
    after = worklist_counts(page)
    assert after[waiting.FIRST_CONTACT] == before[waiting.FIRST_CONTACT] - 2
    assert after[waiting.READY_TO_CLOSE] == before[waiting.READY_TO_CLOSE]
    frames = load_frames(engine)
    assert frames.referrals.height == referrals_before - 1  # the void one is left out
    with session_scope(engine) as s:  # the analytics frames carry no crime references: the offence by its id
        offence_id = s.execute(select(Offence.id).where(Offence.crime_ref == CRIME)).scalar_one()
    assert frames.offences.filter(frames.offences["offence_id"] == offence_id)["area"].to_list() == ["E08000026"]
    visit(page, demo_app, live, "Overview")  # the landing page, as of today
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    assert count(page, "Referrals") == headline_before - 1
