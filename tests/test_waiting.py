"""Who is waiting is decided once (divert.analytics.planning.waiting): the records pages' work queues
(divert.readmodels.work_queues) and the capacity figures name the same people and the same sessions ahead,
on records written through divert.records and on the demo; and a data gap makes old open
records stale instead of year-long waits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from dbfixtures import DEMO_AS_OF, SMALL_DEMO, demo_url
from sqlalchemy import select

from divert.analytics.data.frames import end_of_day
from divert.analytics.data.loading import load_frames
from divert.analytics.planning import capacity, waiting
from divert.core.clock import today
from divert.readmodels import course_sessions, work_queues
from divert.records.referrals import add_referral, close_referral, record_assessment
from divert.records.sessions import add_session, book, mark_attendance
from divert.storage.db import get_engine, session_scope
from divert.storage.models import Booking, CourseSession, Referral

USER = "test.caseworker"


def moment(days_ago: int, hour: int = 11) -> str:
    """A time `days_ago` days before now (the frozen clock: see `recorded`)."""
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime(f"%Y-%m-%d {hour:02d}:00")


def refer(engine, n: int, days_ago: int = 20) -> str:
    reference = f"W-{n}"
    values = {"reference": reference, "crime_ref": f"W/{n}/26", "referred_at": moment(days_ago, 10),
              "offence_date": moment(days_ago)[:10], "area": "E08000025", "drug": "CAN", "source": "stop_search",
              "person_ref": f"P{n}", "sex": "M", "birth_year": "1990", "ethnicity_self": "W1",
              "ethnicity_officer": "IC1"}
    assert add_referral(values, USER, engine=engine).ok
    return reference


def assess(engine, reference, result="completed", allocation="group_course", days_ago=10):
    values = {"referral_reference": reference, "result": result, "contact_attempts": "2",
              "harm_reduction_advice": "yes" if result == "completed" else "no"}
    if result == "completed":
        values |= {"completed_at": moment(days_ago), "allocation": allocation}
    saved = record_assessment(values, USER, engine=engine)
    assert saved.ok, saved.problems


def book_seat(engine, reference, session_ref, days_ago=8):
    saved = book({"referral_reference": reference, "session_ref": session_ref, "booked_at": moment(days_ago)},
                         USER, engine=engine)
    assert saved.ok, saved.problems


def set_status(engine, session_id, reference, status):
    with session_scope(engine) as s:
        booking_id = s.execute(select(Booking.id).where(Booking.session_id == session_id)
                               .where(Booking.referral_id.in_(select(Referral.id).where(
                                   Referral.reference == reference)))).scalar_one()
    assert mark_attendance(session_id, {booking_id: status}, USER, engine=engine).ok


@pytest.fixture
def recorded(sqlite_engine, clock):
    """Records written days before and after now, at clock.MOMENT: the tests then ask about today."""
    engine = sqlite_engine
    past = add_session({"session_ref": "PAST", "starts_at": moment(5, 18), "seats": "10"}, USER,
                               engine=engine).row_id
    add_session({"session_ref": "NEXT", "starts_at": moment(-3, 18), "seats": "10"}, USER, engine=engine)
    add_session({"session_ref": "LATER", "starts_at": moment(-10, 18), "seats": "8"}, USER, engine=engine)
    people = {name: refer(engine, n) for n, name in enumerate(
        ["not reached", "waiting", "no-show", "booked", "cancelled", "one-to-one", "no contact", "closed"], start=1)}
    for name in ("waiting", "no-show", "booked", "cancelled", "closed"):
        assess(engine, people[name])
    assess(engine, people["one-to-one"], allocation="one_to_one")
    assess(engine, people["no contact"], result="no_contact")
    book_seat(engine, people["no-show"], "PAST")
    set_status(engine, past, people["no-show"], "no_show")  # back on the list
    book_seat(engine, people["booked"], "NEXT")
    book_seat(engine, people["cancelled"], "NEXT")
    set_status(engine, _session_id(engine, "NEXT"), people["cancelled"], "cancelled")
    assert close_referral({"referral_reference": people["closed"], "closed_on": moment(2)[:10],
                                   "result": "complied"}, USER, engine=engine).ok
    return engine, people


def _session_id(engine, ref):
    with session_scope(engine) as s:
        return s.execute(select(CourseSession.id).where(CourseSession.session_ref == ref)).scalar_one()


def test_the_records_pages_and_the_capacity_figures_name_the_same_people(recorded):
    engine, people = recorded
    as_of = today()
    frames = load_frames(engine).at(as_of)
    course = set(work_queues.waiting_list(engine, today=as_of)["Referral"])
    assert course == {people["waiting"], people["no-show"], people["cancelled"]}
    assert set(waiting.awaiting_course(frames.referrals, as_of)["reference"]) == course
    assert capacity.waiting_list(frames.referrals, as_of)["people"][0] == len(course)
    assessment = set(work_queues.awaiting_assessment(engine, today=as_of)["Referral"])
    assert assessment == {people["not reached"]}
    assert set(waiting.awaiting_assessment(frames.referrals, as_of)["reference"]) == assessment
    row = capacity.awaiting_assessment(frames.referrals, as_of, 10).row(0, named=True)
    assert row["people"] == row["waiting"] == 1 and row["longest_working_days"] == int(
        work_queues.awaiting_assessment(engine, today=as_of)["Working days"][0])


def test_the_records_pages_and_the_capacity_figures_see_the_same_sessions_ahead(recorded):
    engine, _ = recorded
    after = end_of_day(today())
    listed = course_sessions.sessions(engine, upcoming=True, now=after)
    ahead = waiting.upcoming_sessions(load_frames(engine).sessions, after)
    assert listed["Session"].to_list() == ahead["session_ref"].to_list() == ["NEXT", "LATER"]
    assert listed["Taken"].to_list() == ahead["booked"].to_list() == [1, 0]  # the cancellation gave its seat back
    assert listed["Free"].to_list() == ahead["free"].to_list() == [9, 8]


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory):
    url, _ = demo_url(tmp_path_factory.mktemp("waiting-demo"), **SMALL_DEMO)
    engine = get_engine(url)
    yield engine
    engine.dispose()


def test_on_the_demo_both_name_the_same_people_and_sessions(demo_engine):
    as_of = DEMO_AS_OF  # the demo's last day: people waiting, sessions booked ahead
    frames = load_frames(demo_engine).at(as_of)
    for from_records, rule in ((work_queues.waiting_list, waiting.awaiting_course),
                               (work_queues.awaiting_assessment, waiting.awaiting_assessment)):
        listed = from_records(demo_engine, today=as_of, limit=10**6)["Referral"].to_list()
        assert listed, from_records.__name__
        assert listed == rule(frames.referrals, as_of)["reference"].to_list(), from_records.__name__
    after = end_of_day(as_of)
    assert course_sessions.sessions(demo_engine, upcoming=True, now=after)["Session"].to_list() == \
        waiting.upcoming_sessions(frames.sessions, after)["session_ref"].to_list()


# --- data gaps -----------------------------------------------------------------------------------------------
def test_records_from_before_a_gap_are_stale_not_year_long_waits():
    day = date(2025, 9, 1)
    frame = pl.DataFrame({
        "referral_id": [1, 2, 3],
        "referred_on": [day, day + timedelta(days=20), date(2026, 11, 30)],
        "assessed_at": [None, None, None], "assessment_result": [None, None, None], "closed_on": [None, None, None],
    }, schema_overrides={"assessed_at": pl.Datetime("us", "UTC"), "assessment_result": pl.String,
                         "closed_on": pl.Date})
    as_of = date(2026, 11, 30)
    gaps = waiting.data_gaps(frame, as_of)
    assert gaps == [waiting.Gap(day + timedelta(days=20), as_of)]
    listed = waiting.awaiting_assessment(frame, as_of, gaps[-1])
    assert listed["stale"].to_list() == [True, True, False]
    queue = waiting.summarise(listed, "working_days", 10)
    assert (queue.people, queue.waiting, queue.stale, queue.longest) == (3, 1, 2, 0)
    # without the referral today, the records simply stop: the gap runs up to the as-of date
    alone = frame.head(2)
    assert waiting.latest_gap(alone, as_of) == waiting.Gap(day + timedelta(days=20), None)
    row = capacity.awaiting_assessment(alone, as_of, 10).row(0, named=True)
    assert (row["people"], row["waiting"], row["longest_working_days"]) == (2, 0, None)
    # as of a day inside the records there is no gap and both are waiting
    assert waiting.latest_gap(alone, day + timedelta(days=25)) is None
