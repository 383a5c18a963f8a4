"""The Course sessions page's forms (divert.web.session_forms) work on the session chosen in them,
whatever session the attendance register (further down the same page) has open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clock import MOMENT
from sqlalchemy import select
from test_forms import page, press, seed_assessment, seed_referral, widget

from divert.records.sessions import add_session, book
from divert.storage.db import session_scope
from divert.storage.models import CourseSession

pytestmark = pytest.mark.usefixtures("clock")  # "today" is Wednesday 17 June 2026 (tests/clock.py)


def seats_and_void(engine) -> dict[str, tuple[int, str | None]]:
    with session_scope(engine) as s:
        rows = s.execute(select(CourseSession.session_ref, CourseSession.seats, CourseSession.void_reason)).all()
    return {ref: (seats, void) for ref, seats, void in rows}


def test_changing_or_voiding_a_session_leaves_the_registers_session_alone(db):
    soon = MOMENT + timedelta(days=3)
    add_session({"session_ref": "BOOKED", "starts_at": f"{soon:%Y-%m-%d} 18:00", "seats": "5"}, "seed", engine=db)
    saved = add_session({"session_ref": "OTHER", "starts_at": f"{soon + timedelta(days=7):%Y-%m-%d} 18:00",
                         "seats": "5"}, "seed", engine=db)
    seed_referral(db)
    seed_assessment(db)
    assert book({"referral_reference": "DIV-1", "session_ref": "BOOKED"}, "seed", engine=db).ok

    at = page("sessions", "manager")  # the register opens on BOOKED, the next session with people booked
    widget(at, "selectbox", "Session to change").select(saved.row_id).run()
    widget(at, "number_input", "Seats").set_value(8)
    widget(at, "text_area", "Reason for the change *").input("bigger room")
    press(at, "Save changes")
    assert "Session **OTHER** changed" in " ".join(s.value for s in at.success)
    assert seats_and_void(db) == {"BOOKED": (5, None), "OTHER": (8, None)}

    widget(at, "text_input", "Reason *").input("scheduled twice")
    widget(at, "checkbox", "Confirm: void this session").check()
    press(at, "Void session")
    assert "Session **OTHER** is void" in " ".join(s.value for s in at.success)
    assert seats_and_void(db) == {"BOOKED": (5, None), "OTHER": (8, "scheduled twice")}
