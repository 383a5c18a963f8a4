"""The worklist: each open referral's next action by the one waiting rule
(divert.analytics.planning.waiting.next_actions), on hand-built frames with known answers and on records
written through divert.records (SQLite and PostgreSQL); the page through AppTest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from clock import MOMENT, TODAY
from sqlalchemy import select
from test_casework import USER, assess, referral
from test_forms import page

from divert.analytics.planning import waiting
from divert.readmodels import casework, worklist
from divert.records.contacts import record_contact
from divert.records.corrections import void_referral
from divert.records.referrals import close_referral
from divert.records.sessions import add_session, book, mark_attendance
from divert.records.stored_settings import AppSettings
from divert.storage.db import session_scope
from divert.storage.models import Booking

# the worklist is as of today, and bookings are made "now": the clock stands at clock.MOMENT
pytestmark = pytest.mark.usefixtures("clock")

AS_OF = date(2021, 3, 31)  # a Wednesday
UK = "Europe/London"


def frame(rows):
    schema = {"referral_id": pl.Int64, "referred_on": pl.Date, "assessment_result": pl.String,
              "assessed_at": pl.Datetime("us", UK), "allocation": pl.String, "closed_on": pl.Date,
              "holds_place_now": pl.Boolean, "contact_attempts": pl.Int64, "reached_at": pl.Datetime("us", UK),
              "scheduled_at": pl.Datetime("us", UK), "no_shows": pl.Int64, "attended_at": pl.Datetime("us", UK),
              "place_booked_at": pl.Datetime("us", UK)}
    full = [{**dict.fromkeys(schema), "holds_place_now": False, "contact_attempts": 0, "no_shows": 0, **r}
            for r in rows]
    return pl.DataFrame(full, schema=schema)


def at(day: int) -> datetime:
    return datetime(2021, 3, day, 11, tzinfo=UTC)


def test_next_actions_on_known_cases():
    referrals = frame([
        {"referral_id": 1, "referred_on": date(2021, 3, 1)},  # 22 working days: overdue
        {"referral_id": 2, "referred_on": date(2021, 3, 29), "contact_attempts": 2},
        {"referral_id": 3, "referred_on": date(2021, 3, 29), "contact_attempts": 1, "reached_at": at(30)},
        {"referral_id": 4, "referred_on": date(2021, 2, 1), "assessment_result": "completed", "assessed_at": at(1),
         "allocation": "group_course"},  # 30 days since the assessment: overdue
        {"referral_id": 5, "referred_on": date(2021, 3, 1), "assessment_result": "completed", "assessed_at": at(20),
         "allocation": "group_course", "no_shows": 1},
        {"referral_id": 6, "referred_on": date(2021, 3, 1), "assessment_result": "completed", "assessed_at": at(10),
         "allocation": "group_course", "holds_place_now": True, "place_booked_at": at(12)},
        {"referral_id": 7, "referred_on": date(2021, 3, 1), "assessment_result": "completed", "assessed_at": at(10),
         "allocation": "group_course", "holds_place_now": True, "place_booked_at": at(12), "attended_at": at(25)},
        {"referral_id": 8, "referred_on": date(2021, 3, 1), "assessment_result": "declined"},
        {"referral_id": 9, "referred_on": date(2021, 3, 1), "closed_on": date(2021, 3, 20)},  # closed: not listed
        {"referral_id": 10, "referred_on": date(2021, 4, 2)},  # after the as-of date: not listed
    ])
    out = waiting.next_actions(referrals, AS_OF, assessment_target=10, course_target=28)
    got = {row["referral_id"]: (row["action"], row["overdue"], row["since"]) for row in out.iter_rows(named=True)}
    assert got == {
        1: (waiting.FIRST_CONTACT, True, date(2021, 3, 1)),
        2: (waiting.CONTACT_DUE, False, date(2021, 3, 29)),
        3: (waiting.ASSESSMENT_DUE, False, date(2021, 3, 29)),
        4: (waiting.TO_BOOK, True, date(2021, 3, 1)),
        6: (waiting.BOOKED, False, date(2021, 3, 12)),
        5: (waiting.REBOOK, False, date(2021, 3, 20)),
        7: (waiting.READY_TO_CLOSE, False, date(2021, 3, 25)),
        8: (waiting.READY_TO_CLOSE, False, date(2021, 3, 1)),
    }
    assert list(out["referral_id"]) == [1, 2, 3, 4, 6, 5, 8, 7]  # action order, then longest waiting
    assert out.filter(pl.col("referral_id") == 1)["working_days"][0] == 22
    # the same people as the two waiting lists the capacity figures use
    waiting_ids = set(waiting.awaiting_assessment(referrals, AS_OF)["referral_id"])
    course_ids = set(waiting.awaiting_course(referrals, AS_OF)["referral_id"])
    assert waiting_ids == {1, 2, 3} and course_ids == {4, 5}


def test_the_worklist_follows_a_referral_along_the_pathway(engine):
    on = (TODAY - timedelta(days=3)).isoformat()
    referral(engine, "DIV-1", "C1", on=on)
    referral(engine, "DIV-2", "C2", person="P2", on="2021-03-01")  # long overdue for its assessment

    def action(reference="DIV-1"):
        rows = worklist.build(engine, casework.uk_today(), targets=AppSettings()).rows
        found = rows.filter(pl.col("Referral") == reference)
        return (found["Next action"][0], found["Overdue"][0]) if found.height else None

    assert action() == (waiting.FIRST_CONTACT, False) and action("DIV-2") == (waiting.FIRST_CONTACT, True)
    attempt = {"referral_reference": "DIV-1", "attempted_at": f"{on} 12:00", "outcome": "no_answer"}
    assert record_contact(attempt, USER, engine=engine).ok
    assert action() == (waiting.CONTACT_DUE, False)
    assert record_contact({**attempt, "outcome": "reached", "attempted_at": f"{on} 15:00"}, USER,
                                  engine=engine).ok
    assert action() == (waiting.ASSESSMENT_DUE, False)
    assess(engine, "DIV-1", completed_at=f"{on} 16:00")
    assert action() == (waiting.TO_BOOK, False)
    soon = (MOMENT + timedelta(days=2)).strftime("%Y-%m-%d 18:00")
    assert add_session({"session_ref": "S1", "starts_at": soon, "seats": "4"}, USER, engine=engine).ok
    assert book({"referral_reference": "DIV-1", "session_ref": "S1"}, USER, engine=engine).ok
    work = worklist.build(engine, casework.uk_today(), targets=AppSettings())
    assert action() == (waiting.BOOKED, False)
    assert work.counts[waiting.BOOKED] == 1 and work.counts[worklist.OVERDUE] == 1
    with session_scope(engine) as s:
        booking_id, session_id = s.execute(select(Booking.id, Booking.session_id)).one()
    assert mark_attendance(session_id, {booking_id: "no_show"}, USER, engine=engine).ok
    assert action() == (waiting.REBOOK, False)
    detail = casework.referral_detail(engine, "DIV-2")
    assert void_referral(detail["id"], "entered twice", USER, detail["version"], engine=engine).ok
    assert action("DIV-2") is None
    close_referral({"referral_reference": "DIV-1", "closed_on": TODAY.isoformat(), "result": "not_engaged",
                            "intelligence_log_date": TODAY.isoformat()}, USER, engine=engine)
    assert action() is None


def test_the_worklist_page_counts_filters_and_refuses_viewers(db):
    referral(db, "DIV-1", "C1", on="2021-03-01")
    referral(db, "DIV-2", "C2", person="P2", on="2021-03-02")
    assess(db, "DIV-2")
    at = page("worklist")
    counts = {m.label: m.value for m in at.metric}
    assert counts[waiting.FIRST_CONTACT] == "1" and counts[waiting.TO_BOOK] == "1"
    assert counts[worklist.OVERDUE] == "2"
    (table,) = at.dataframe
    assert list(table.value["Referral"]) == ["DIV-1", "DIV-2"]
    at.text_input(key="wl_text").input("div-2").run()
    assert list(at.dataframe[0].value["Referral"]) == ["DIV-2"]
    assert "1 referral shown of 2 open." in [c.value for c in at.caption]
    assert page("worklist", "manager").metric
    assert "not available to your role" in " ".join(w.value for w in page("worklist", "viewer").warning)
