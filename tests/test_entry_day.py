"""Quick, accessible entry for the data-entry team (issue 27, point 3), through AppTest on a real
SQLite file: the attendance register opens on the latest session that has started and lists the
recent and upcoming sessions in date order; a status is chosen with plain radio buttons and saved
with one button; a date typed on Find a referral finds that very day; the assessment page asks
for one staff code per form, with defaults that agree with the record; and a service manager
reads a referral on Find a referral without any form to change it."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import polars as pl
import pytest
from clock import MOMENT
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from test_forms import FIND, page, press, seed_assessment, seed_referral, texts, widget

from divert.core import codes
from divert.readmodels import casework, course_sessions
from divert.records.contacts import record_contact
from divert.records.sessions import add_session, book
from divert.storage.db import session_scope
from divert.storage.models import Booking

pytestmark = pytest.mark.usefixtures("clock")  # "today" is Wednesday 17 June 2026 (tests/clock.py)


def at(days: int, hour: int = 18) -> str:
    """A session start `days` from today (negative: in the past), at `hour` UK time."""
    return f"{MOMENT.date() + timedelta(days=days):%Y-%m-%d} {hour:02d}:00"


def session(engine, ref: str, starts: str, *booked: str) -> None:
    assert add_session({"session_ref": ref, "starts_at": starts, "seats": "10"}, "seed", engine=engine).ok
    for reference in booked:
        assert book({"referral_reference": reference, "session_ref": ref}, "seed", engine=engine).ok


def chosen_session(app) -> str:
    """The line of the session the register has open."""
    box = widget(app, "selectbox", "Session")
    return box.options[box.index]


def register_options(app) -> list[str]:
    return [option.split(" · ")[0] for option in widget(app, "selectbox", "Session").options]


@pytest.fixture
def two_people(db):
    for n in (1, 2):
        seed_referral(db, f"DIV-{n}", f"C{n}", f"P{n}")
        seed_assessment(db, f"DIV-{n}")
    return db


# --- the attendance register --------------------------------------------------------------
def test_the_register_opens_on_the_latest_session_that_has_started(two_people):
    session(two_people, "LAST-WEEK", at(-7), "DIV-1")
    session(two_people, "YESTERDAY", at(-1), "DIV-2")
    session(two_people, "THIS-MORNING", at(0, 9))  # started at 09:00 (it is 10:30), nobody booked
    session(two_people, "TONIGHT", at(0, 18), "DIV-1")  # today's, not started yet
    app = page("sessions")
    assert chosen_session(app).startswith("YESTERDAY · ")


def test_the_register_lists_the_recent_and_upcoming_sessions_in_date_order(two_people):
    session(two_people, "LONG-AGO", "2021-03-20 18:00")
    session(two_people, "NEXT-YEAR", at(200))
    session(two_people, "NEXT-WEEK", at(7))
    session(two_people, "LAST-WEEK", at(-7), "DIV-1")
    session(two_people, "TOMORROW", at(1))
    app = page("sessions")
    assert register_options(app) == ["LAST-WEEK", "TOMORROW", "NEXT-WEEK"]
    assert chosen_session(app).startswith("LAST-WEEK · ")
    listed = app.dataframe[0].value  # the Sessions tab's first list: recent and upcoming, in date order
    assert list(listed["Session"]) == ["LAST-WEEK", "TOMORROW", "NEXT-WEEK"]
    widget(app, "checkbox", "Show every session, not only the recent and upcoming").check().run()
    assert register_options(app) == ["LONG-AGO", "LAST-WEEK", "TOMORROW", "NEXT-WEEK", "NEXT-YEAR"]


def test_statuses_are_plain_radio_buttons_saved_together(two_people):
    session(two_people, "HELD", at(-2), "DIV-1", "DIV-2")
    app = page("sessions")
    radios = {r.label.split(" ")[0]: r for r in app.radio if r.label.startswith("DIV-")}
    assert set(radios) == {"DIV-1", "DIV-2"} and not app.data_editor  # no grid to double-click
    assert radios["DIV-1"].options == list(codes.BOOKING_STATUSES.values()) and radios["DIV-1"].horizontal
    radios["DIV-1"].set_value("attended")
    radios["DIV-2"].set_value("no_show")
    press(app, "Save register")
    assert "Register saved: 2 bookings changed." in texts(app, "success")
    with session_scope(two_people) as s:
        statuses = dict(s.execute(select(Booking.referral_id, Booking.status)).all())
    assert sorted(statuses.values()) == ["attended", "no_show"]


# --- the worklist ------------------------------------------------------------------------
def test_a_referral_opens_from_the_worklist_with_a_plain_select_box(db, monkeypatch):
    """The table is drawn on a canvas: the same choice is a select box of the references shown
    (the page run on its own has no menu to switch in: the switch asked for is recorded)."""
    import streamlit

    switched = []
    monkeypatch.setattr(streamlit, "switch_page", lambda page, query_params=None: switched.append((page, query_params)))
    for n in (1, 2):
        seed_referral(db, f"DIV-{n}", f"C{n}", f"P{n}")
    app = page("worklist")
    box = widget(app, "selectbox", "Open a referral")
    assert box.options == ["DIV-1", "DIV-2"] and box.value is None
    app.text_input(key="wl_text").input("div-2").run()
    box = widget(app, "selectbox", "Open a referral")
    assert box.options == ["DIV-2"]
    box.set_value("DIV-2").run()
    assert switched == [("pages/find_referral.py", {"referral": "DIV-2"})]
    assert not [b for b in page("worklist", "manager").selectbox if b.label == "Open a referral"]


# --- find a referral ----------------------------------------------------------------------
def test_a_date_typed_finds_that_exact_day(db):
    for n, day in enumerate(("2021-12-03", "2021-12-31", "2021-12-24", "2021-12-10", "2021-03-12"), start=1):
        seed_referral(db, f"DIV-{n}", f"20WM/{n:04d}/21", f"P{n}", on=day)
    app = page("find_referral")
    widget(app, "text_input", FIND).input("03/12/2021").run()
    assert list(app.dataframe[0].value["Referral"]) == ["DIV-1"]
    assert "Referral DIV-1" in [t.value for t in app.subheader]  # the only match opens
    widget(app, "text_input", FIND).input("04/12/2021").run()
    assert "No referral was made on 4 Dec 2021." in texts(app, "info")


def test_a_manager_reads_a_referral_and_cannot_change_it(db):
    seed_referral(db)
    app = page("find_referral", "manager", referral="DIV-1")
    assert "Referral DIV-1" in [t.value for t in app.subheader]
    assert [t.value for t in app.subheader][1:3] == ["Timeline", "Changes"]
    assert [t.label for t in app.text_input] == [FIND]  # no correction, void or contact form
    assert not app.button and not app.text_area and not app.checkbox
    shown = texts(app, "caption")
    assert "Record the assessment" not in shown and "Close the referral" not in shown  # pages it cannot open
    assert "Read-only" in shown


# --- the assessment page ------------------------------------------------------------------
def test_one_staff_code_per_form_and_defaults_that_agree_with_the_record(db):
    seed_referral(db)
    app = page("assessment", referral="DIV-1")
    assert "No contact attempt recorded yet." in texts(app, "caption")
    assert widget(app, "number_input", "Contact attempts").value == 0
    labels = [t.label for t in app.text_input]
    assert len(labels) == len(set(labels))  # no two fields with one label
    assert sum("staff code" in label.lower() for label in labels) == 2  # one in each of the page's two forms

    widget(app, "radio", "Outcome *").set_value("no_answer")  # recorded on the page: the assessment follows
    widget(app, "date_input", "When *").set_value(date(2021, 3, 2))
    widget(app, "text_input", "Staff code of who made the contact").input("DW02")
    press(app, "Record contact attempt")
    assert widget(app, "number_input", "Contact attempts").value == 1
    assert widget(app, "text_input", "Drug worker's staff code").value == "DW02"

    assert record_contact({"referral_reference": "DIV-1", "attempted_at": "2021-03-03 10:00",
                           "outcome": "reached", "worker": "DW03"}, "seed", engine=db).ok
    app = page("assessment", referral="DIV-1")
    assert widget(app, "number_input", "Contact attempts").value == 2
    assert widget(app, "text_input", "Drug worker's staff code").value == "DW03"


# --- the rules behind them, on hand-built data --------------------------------------------
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)))
def test_a_whole_date_is_read_as_that_day_in_every_form(day):
    for shown in (f"{day:%d/%m/%Y}", f"{day.day}/{day.month}/{day:%Y}", f"{day:%Y-%m-%d}", f" {day:%d.%m.%Y} "):
        assert casework.typed_date(shown) == day


@pytest.mark.parametrize("text", ["DIV-1", "20WM/0012/21", "03/12", "2026", "31/02/2026", ""])
def test_a_reference_or_part_of_a_date_is_not_a_date(text):
    assert casework.typed_date(text) is None


def sessions_frame(*sessions: tuple[int, int, int]) -> pl.DataFrame:
    """A sessions frame of (id, days from MOMENT, seats taken) - only what the rules read."""
    return pl.DataFrame({"session_id": [s[0] for s in sessions],
                         "starts_at": [MOMENT + timedelta(days=s[1]) for s in sessions],
                         "Taken": [s[2] for s in sessions]})


@pytest.mark.parametrize(("sessions", "opens_on"), [
    (((1, -7, 3), (2, -1, 2), (3, 0.2, 5)), 2),  # the latest started with people booked, not today's ahead
    (((1, -7, 0), (2, 3, 2), (3, 9, 5)), 2),  # none started with people booked: the next booked
    (((1, -7, 0), (2, -1, 0), (3, 9, 0)), 2),  # nobody booked anywhere: the latest started
    (((1, 2, 0), (2, 9, 0)), 1),  # nothing started, nobody booked: the first
])
def test_the_session_the_register_opens_on(sessions, opens_on):
    assert course_sessions.register_default(sessions_frame(*sessions), MOMENT) == opens_on
    assert course_sessions.register_default(sessions_frame(*sessions), MOMENT.astimezone(UTC)) == opens_on


def test_the_sessions_around_today_are_in_date_order():
    frame = sessions_frame((1, 60, 0), (2, -400, 0), (3, -3, 0), (4, 5, 0), (5, -29, 0), (6, 55, 0))
    assert list(course_sessions.around(frame, MOMENT)["session_id"]) == [3, 4, 6]
    assert list(course_sessions.around(frame, MOMENT.astimezone(UTC))["session_id"]) == [3, 4, 6]  # any zone
