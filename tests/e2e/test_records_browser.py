"""Data entry in a real browser: a caseworker records a referral (a bad value first, then a double
click on Save), its assessment, a course session and the booking, and finds the referral with
its timeline. Screenshots of every step are saved under the test's tmp dir (screenshots/, with DIVERT_TEST_SHOTS=1)."""

from __future__ import annotations

import re
import secrets

import polars as pl
import pytest
from browser import TALL, choose, heading, key_choose, key_press, key_sign_in, settle, sign_in, visit
from playwright.sync_api import expect
from sqlalchemy import func, select

from divert.core import codes
from divert.readmodels import course_sessions
from divert.records import programme_profile
from divert.storage.db import session_scope
from divert.storage.models import AuditEvent, Booking, Offence, Referral

pytestmark = [pytest.mark.e2e]

IDENTIFIER = "Police or provider identifier (stored only as a pseudonymous key) *"
PHONE = {"width": 390, "height": 844}
# how far the page, or any part of it, would scroll sideways (0: it fits the window's width)
SIDEWAYS = """() => Math.max(document.documentElement.scrollWidth - window.innerWidth,
  ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stMainBlockContainer"]')]
    .filter((e) => getComputedStyle(e).overflowX !== 'hidden').map((e) => e.scrollWidth - e.clientWidth))"""


def count(app, model, *where) -> int:
    with session_scope(app.engine()) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_caseworker_records_a_referral_assessment_and_booking_then_finds_it(demo_app, page):
    page.set_viewport_size(TALL)
    sign_in(page, demo_app, "caseworker", path="/new_referral", lands_on="New referral")
    page.shots("new referral form")  # (the references are this test's own, on the shared app)

    # a bad value: its message next to the field, and everything typed is still there
    page.get_by_role("textbox", name="Referral reference *").fill("E2E-0001")
    page.get_by_role("textbox", name="Crime reference *").fill("=HYPERLINK(1)")
    page.get_by_role("textbox", name=IDENTIFIER).fill("PNC E2E/0001")
    choose(page, "Local policing area *", "Sandwell")
    choose(page, "Main drug *", "Cannabis")
    page.get_by_role("button", name="Save referral").click()
    # next to the field (a paragraph), and in the summary at the top (a list item)
    message = page.get_by_role("paragraph").filter(has_text="Crime reference may contain only letters, digits and / _ . -")
    expect(page.get_by_role("listitem").filter(has_text="Crime reference may contain only")).to_be_visible()
    expect(message).to_be_visible()
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    page.shots("bad crime reference")  # (a screenshot waits for the app to be idle)
    field = page.get_by_role("textbox", name="Crime reference *").bounding_box()
    shown = page.get_by_role("alert").filter(has=message).bounding_box()
    assert 0 <= shown["y"] - (field["y"] + field["height"]) < 40  # just under the field...
    assert abs(shown["x"] - field["x"]) < 5 and shown["width"] < 0.6 * page.viewport_size["width"]  # ...in its column
    expect(page.get_by_role("textbox", name="Referral reference *")).to_have_value("E2E-0001")
    expect(page.get_by_role("textbox", name="Crime reference *")).to_have_value("=HYPERLINK(1)")
    expect(page.get_by_role("textbox", name=IDENTIFIER)).to_have_value("PNC E2E/0001")
    expect(page.get_by_role("combobox", name="Local policing area *")).to_have_value("Sandwell")
    expect(page.get_by_role("combobox", name="Main drug *")).to_have_value("Cannabis")
    assert count(demo_app, Referral, Referral.reference == "E2E-0001") == 0

    # corrected, and saved: written once. (A double click is test_forms' double submission: in
    # a browser on a loaded machine its second click can land while the first run is redrawn.)
    page.get_by_role("textbox", name="Crime reference *").fill("E2E/0001/26")
    page.get_by_role("button", name="Save referral").click()
    expect(page.get_by_text("Referral E2E-0001 saved")).to_be_visible()
    settle(page)
    expect(page.get_by_text("Nothing was saved.")).to_have_count(0)
    page.shots("referral saved")
    assert count(demo_app, Referral, Referral.reference == "E2E-0001") == 1
    assert count(demo_app, AuditEvent, AuditEvent.table_name == "referral", AuditEvent.action == "create",
                 AuditEvent.after.contains('"E2E-0001"')) == 1
    expect(page.get_by_role("textbox", name="Referral reference *")).to_have_value("")  # ready for the next
    assert "PNC E2E/0001" not in page.locator("body").inner_text()  # the identifier is not shown back

    # the assessment, through the link the saved referral offers
    page.get_by_role("link", name="Record the assessment for E2E-0001").click()
    expect(page.get_by_role("heading", name="Assessment", exact=True, level=1)).to_be_visible()
    settle(page)
    expect(page.get_by_text("Waiting for an assessment", exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="Referral reference")).to_have_value("E2E-0001")
    page.get_by_text("Completed", exact=True).click()
    page.get_by_text("Alcohol", exact=True).click()
    page.get_by_text("Harm-reduction advice given", exact=True).click()
    page.get_by_text("Group course", exact=True).click()
    page.shots("assessment filled")
    page.get_by_role("button", name="Save assessment").click()
    expect(page.get_by_text("Assessment of E2E-0001 saved: completed, allocated to group course.")).to_be_visible()
    page.shots("assessment saved")

    # a course session, then the booking from the waiting list
    page.get_by_role("link", name="Book E2E-0001 on a course session").click()
    expect(heading(page, "Course sessions")).to_be_visible()
    settle(page)
    page.get_by_role("tab", name="Sessions").click()
    page.get_by_role("textbox", name="Session reference *").fill("E2E-S1")
    page.get_by_role("button", name="Schedule session").click()
    expect(page.get_by_text("Session E2E-S1 scheduled")).to_be_visible()
    page.shots("session scheduled")
    page.get_by_role("tab", name="Book places").click()
    expect(page.get_by_role("combobox", name="Session *")).to_have_value(re.compile(r"^E2E-S1 · "))
    people = page.get_by_test_id("stMultiSelect").filter(has_text="People to book")
    expect(people.get_by_text("E2E-0001", exact=True)).to_be_visible()  # chosen from the link
    page.get_by_role("button", name="Book places").click()
    expect(page.get_by_text("Booked E2E-0001 on session E2E-S1.")).to_be_visible()
    page.shots("booked")
    with session_scope(demo_app.engine()) as s:
        booked = s.execute(
            select(Booking.status).join(Referral, Referral.id == Booking.referral_id)
            .where(Referral.reference == "E2E-0001")
        ).scalars().all()
    assert booked == ["booked"]

    # found by part of its crime reference, with the timeline
    visit(page, demo_app, "/find_referral", "Find a referral")
    search = page.get_by_role("textbox", name="Referral or crime reference")
    search.fill("E2E/0001")
    search.press("Enter")
    expect(page.get_by_role("heading", name="Referral E2E-0001")).to_be_visible()
    # the timeline's line (the results table above holds the same words in its hidden grid cells)
    expect(page.locator("text=Booked on a session >> visible=true").first).to_be_visible()
    timeline = page.get_by_test_id("stTable")
    for event in ("Offence recorded", "Referred", "Assessment", "Booked on a course session", "Course session"):
        expect(timeline.get_by_text(event, exact=True)).to_be_visible()
    page.shots("found with timeline")
    assert "PNC E2E/0001" not in page.locator("body").inner_text()


def test_attendance_register_saves_the_changed_statuses(demo_app, page):
    engine = demo_app.engine()
    past = course_sessions.sessions(engine, upcoming=False)
    # the last of the demo's own sessions that took place with people booked (other tests on the
    # shared app hold their sessions today or later, under references of their own)
    chosen = past.filter((pl.col("Taken") > 0) & pl.col("Session").str.starts_with("DEMO-")).row(-1, named=True)
    register = course_sessions.session_bookings(engine, chosen["session_id"])
    first = register.row(0, named=True)
    new_status = "attended" if first["Status"] != "attended" else "completed"

    page.set_viewport_size(TALL)
    sign_in(page, demo_app, "caseworker", path="/sessions", lands_on="Course sessions")
    page.get_by_role("tab", name="Attendance register").click()
    page.get_by_text("Show every session, not only the recent and upcoming", exact=True).click()
    settle(page)
    choose(page, "Session", session_label(chosen), typed=chosen["Session"])
    register_tab = page.get_by_role("tabpanel", name="Attendance register")
    status = register_tab.get_by_role("radiogroup", name=re.compile(rf"^{re.escape(first['Referral'])} "))
    settle(page)  # the register drawn for the session chosen: a click during that run is lost
    status.get_by_text("Cancelled", exact=True).click()
    expect(status.get_by_role("radio", name="Cancelled", exact=True)).to_be_checked()
    page.get_by_role("button", name="Save register").click()
    expect(page.get_by_text("Tick the box to confirm the cancellations")).to_be_visible()
    page.shots("register cancellation not confirmed")
    assert course_sessions.session_bookings(engine, chosen["session_id"])["Status"][0] == first["Status"]

    status.get_by_text(codes.BOOKING_STATUSES[new_status], exact=True).click()
    page.get_by_role("button", name="Save register").click()
    expect(page.get_by_text("Register saved: 1 booking changed.")).to_be_visible()
    page.shots("register saved")
    after = course_sessions.session_bookings(engine, chosen["session_id"]).row(0, named=True)
    assert after["Status"] == new_status and after["version"] == first["version"] + 1
    assert count(demo_app, AuditEvent, AuditEvent.table_name == "booking", AuditEvent.action == "update",
                 AuditEvent.row_id == str(first["booking_id"])) == 1


def session_label(row) -> str:
    """How the register's Session box shows a session (a course_sessions.sessions row)."""
    return (f"{row['Session']} · {row['Starts']} · {row['Delivery'].lower()} · "
            f"{row['Free']} of {row['Seats']} seats free")


def test_an_officer_refers_at_the_scene_on_a_phone(demo_app, open_page):
    """The new-referral form at phone width (390x844): filled and saved by keyboard, and nothing
    wider than the screen (no sideways scrolling). Waits are for what is seen, never for time."""
    page = open_page(PHONE)
    reference = f"E2E-PH-{secrets.token_hex(2).upper()}"  # this test's own on the shared app
    key_sign_in(page, demo_app, "caseworker", path="/new_referral", lands_on="New referral")
    assert page.evaluate(SIDEWAYS) <= 0, "the empty form is wider than a phone"
    page.get_by_role("textbox", name="Referral reference *").fill(reference)
    page.get_by_role("textbox", name="Crime reference *").fill(f"{reference}/26")
    page.get_by_role("textbox", name=IDENTIFIER).fill(f"PNC {reference}")
    key_choose(page, "Local policing area *", "Sandwell")  # one option once typed: no list to scroll
    key_choose(page, "Main drug *", "Cannabis")
    key_press(page.get_by_role("button", name="Save referral"))
    expect(page.get_by_text(f"Referral {reference} saved")).to_be_visible()
    settle(page)
    assert page.evaluate(SIDEWAYS) <= 0, "the saved form is wider than a phone"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    with session_scope(demo_app.engine()) as s:
        saved = s.execute(select(Referral.reference, Offence.crime_ref, Offence.area)
                          .join(Offence, Offence.id == Referral.offence_id)
                          .where(Referral.reference == reference)).all()
    sandwell = [code for code, name in programme_profile.current(demo_app.engine()).area_labels.items()
                if name == "Sandwell"]
    assert saved == [(reference, f"{reference}/26", *sandwell)]
