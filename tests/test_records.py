"""The one write path: validation, audit, data_version, refusal leaves nothing - on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from clock import TODAY
from sqlalchemy import func, select

from divert.records.core import Saved, update_row, write
from divert.records.offences import add_offence
from divert.records.referrals import add_referral, close_referral, edit_referral, record_assessment
from divert.records.sessions import add_session, book, mark_attendance
from divert.storage.db import data_version, session_scope
from divert.storage.models import AuditEvent, Booking, Closure, Offence, Person, Referral

# "the future" and writes stamped "now": the clock stands at clock.MOMENT
pytestmark = pytest.mark.usefixtures("clock")

USER = "test.caseworker"


def offence_values(**overrides):
    values = {
        "crime_ref": "20WM/0001/21",
        "offence_date": "2021-03-01",
        "area": "E08000025",
        "drug": "CAN",
        "source": "stop_search",
        "person_ref": "PNC 21/0000001A",
        "sex": "M",
        "birth_year": "1999",
        "ethnicity_self": "B1",
        "ethnicity_officer": "IC3",
    }
    values.update(overrides)
    return values


def referral_values(reference="DIV-1", crime_ref="20WM/0001/21", **overrides):
    values = offence_values(crime_ref=crime_ref)
    values.update({"reference": reference, "referred_at": "2021-03-01 10:30"})
    values.update(overrides)
    return values


def counts(engine) -> dict:
    with session_scope(engine) as s:
        return {
            model.__tablename__: s.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Person, Offence, Referral, Booking, Closure, AuditEvent)
        }


def assert_refused(engine, saved, field, reason_part):
    assert not saved.ok
    matching = [p for p in saved.problems if p.field == field]
    assert matching, f"no problem on {field}: {saved.problems}"
    assert reason_part in matching[0].reason


def test_accepted_write_is_audited_and_bumps_version(engine):
    before = data_version(engine)
    saved = add_offence(offence_values(), USER, engine=engine)
    assert saved.ok, saved.problems
    assert data_version(engine) == before + 1
    with session_scope(engine) as s:
        offence = s.get(Offence, saved.row_id)
        assert offence.force == "west-midlands"
        assert offence.age == 22
        events = s.execute(select(AuditEvent).where(AuditEvent.table_name == "offence")).scalars().all()
    assert len(events) == 1
    event = events[0]
    assert event.username == USER and event.action == "create" and event.before is None
    assert json.loads(event.after)["crime_ref"] == "20WM/0001/21"


def test_person_identifier_is_hashed_never_stored(engine):
    add_offence(offence_values(person_ref="PNC 21/0000001A"), USER, engine=engine)
    add_offence(offence_values(crime_ref="C2", person_ref="pnc21/0000001a"), USER, engine=engine)
    with session_scope(engine) as s:
        people = s.execute(select(Person)).scalars().all()
        audit_text = " ".join(e.after or "" for e in s.execute(select(AuditEvent)).scalars())
    assert len(people) == 1  # same identifier, spaces and case aside
    assert len(people[0].person_key) == 64
    assert "0000001" not in people[0].person_key and "0000001" not in audit_text


@pytest.mark.parametrize(
    "overrides, field, reason",
    [
        ({"drug": "XYZ"}, "drug", "not a known code"),
        ({"area": "E09999999"}, "area", "not a known code"),
        ({"source": "phone"}, "source", "not a known code"),
        ({"ethnicity_self": "Z1"}, "ethnicity_self", "not a known code"),
        ({"sex": "Q"}, "sex", "not a known code"),
        ({"outcome": "5"}, "outcome", "not a Home Office outcome"),
        ({"offence_date": "1999-12-31"}, "offence_date", "before 2000"),
        ({"offence_date": (TODAY + timedelta(days=2)).isoformat()}, "offence_date", "future"),
        ({"offence_date": "31/02/2021"}, "offence_date", "not a date"),
        ({"crime_ref": ""}, "crime_ref", "required"),
        ({"crime_ref": "=HYPERLINK(1)"}, "crime_ref", "only letters"),
        ({"birth_year": "nineteen"}, "birth_year", "whole number"),
        ({"outcome": "1", "outcome_date": "2021-02-01"}, "outcome_date", "before 2021-03-01"),
    ],
)
def test_invalid_offence_is_refused_and_nothing_changes(engine, overrides, field, reason):
    before, version = counts(engine), data_version(engine)
    saved = add_offence(offence_values(**overrides), USER, engine=engine)
    assert_refused(engine, saved, field, reason)
    assert counts(engine) == before
    assert data_version(engine) == version


def test_uk_dates_are_accepted(engine):
    saved = add_offence(offence_values(offence_date="01/03/2021"), USER, engine=engine)
    assert saved.ok
    with session_scope(engine) as s:
        assert s.get(Offence, saved.row_id).offence_date == date(2021, 3, 1)


def test_duplicate_crime_reference_is_refused(engine):
    assert add_offence(offence_values(), USER, engine=engine).ok
    before = counts(engine)
    saved = add_offence(offence_values(person_ref="someone else"), USER, engine=engine)
    assert_refused(engine, saved, "crime_ref", "already recorded")
    assert counts(engine) == before


def test_the_same_crime_reference_in_another_force_is_allowed(engine):
    assert add_offence(offence_values(), USER, engine=engine).ok
    other = offence_values(force="derbyshire", area="Derby")
    assert add_offence(other, USER, engine=engine).ok


def test_referral_records_its_offence_with_a_community_resolution(engine):
    saved = add_referral(referral_values(), USER, engine=engine)
    assert saved.ok, saved.problems
    with session_scope(engine) as s:
        referral = s.get(Referral, saved.row_id)
        offence = s.get(Offence, referral.offence_id)
    assert offence.outcome == 8 and offence.outcome_date == date(2021, 3, 1)
    assert referral.status == "open" and referral.version == 1 and not referral.repeat


def test_referral_before_its_offence_is_refused(engine):
    add_offence(offence_values(offence_date="2021-03-05"), USER, engine=engine)
    saved = add_referral({"reference": "R", "crime_ref": "20WM/0001/21", "referred_at": "2021-03-01"}, USER, engine=engine)
    assert_refused(engine, saved, "referred_at", "before the offence")


def _through_to_booking(engine, seats=1, reference="DIV-1", crime_ref="20WM/0001/21", person="P1"):
    assert add_referral(referral_values(reference, crime_ref, person_ref=person), USER, engine=engine).ok
    assessed = record_assessment(
        {
            "referral_reference": reference,
            "contact_attempts": "2",
            "completed_at": "2021-03-04 11:00",
            "result": "completed",
            "allocation": "group_course",
            "harm_reduction_advice": "yes",
            "risk_alcohol": "true",
        },
        USER,
        engine=engine,
    )
    assert assessed.ok, assessed.problems


def test_booking_beyond_the_seats_is_refused(engine):
    assert add_session({"session_ref": "S1", "starts_at": "2021-03-20 18:00", "seats": "1"}, USER, engine=engine).ok
    _through_to_booking(engine, reference="DIV-1", crime_ref="C1", person="P1")
    _through_to_booking(engine, reference="DIV-2", crime_ref="C2", person="P2")
    assert book({"referral_reference": "DIV-1", "session_ref": "S1"}, USER, engine=engine).ok
    before = counts(engine)
    saved = book({"referral_reference": "DIV-2", "session_ref": "S1"}, USER, engine=engine)
    assert_refused(engine, saved, "session_ref", "is full (1 seat)")
    assert counts(engine) == before


def test_booking_needs_a_group_course_allocation(engine):
    add_session({"session_ref": "S1", "starts_at": "2021-03-20 18:00", "seats": "10"}, USER, engine=engine)
    add_referral(referral_values(), USER, engine=engine)
    saved = book({"referral_reference": "DIV-1", "session_ref": "S1"}, USER, engine=engine)
    assert_refused(engine, saved, "referral_reference", "not allocated to a group course")


def test_attendance_register_saves_all_statuses_at_once(engine):
    add_session({"session_ref": "S1", "starts_at": "2021-03-20 18:00", "seats": "5"}, USER, engine=engine)
    for n in (1, 2):
        _through_to_booking(engine, reference=f"DIV-{n}", crime_ref=f"C{n}", person=f"P{n}")
        assert book({"referral_reference": f"DIV-{n}", "session_ref": "S1"}, USER, engine=engine).ok
    with session_scope(engine) as s:
        ids = [b.id for b in s.execute(select(Booking).order_by(Booking.id)).scalars()]
        session_id = s.execute(select(Booking.session_id)).scalars().first()
    bad = mark_attendance(session_id, {ids[0]: "completed", ids[1]: "asleep"}, USER, engine=engine)
    assert not bad.ok
    with session_scope(engine) as s:
        assert {b.status for b in s.execute(select(Booking)).scalars()} == {"booked"}
    good = mark_attendance(session_id, {ids[0]: "completed", ids[1]: "no_show"}, USER, engine=engine)
    assert good.ok
    with session_scope(engine) as s:
        statuses = [b.status for b in s.execute(select(Booking).order_by(Booking.id)).scalars()]
    assert statuses == ["completed", "no_show"]


def test_closure_before_its_referral_is_refused(engine):
    add_referral(referral_values(), USER, engine=engine)
    before = counts(engine)
    saved = close_referral(
        {"referral_reference": "DIV-1", "closed_on": "2021-02-01", "result": "complied"}, USER, engine=engine
    )
    assert_refused(engine, saved, "closed_on", "before 2021-03-01")
    assert counts(engine) == before


def test_not_engaged_needs_an_intelligence_log_date(engine):
    add_referral(referral_values(), USER, engine=engine)
    saved = close_referral(
        {"referral_reference": "DIV-1", "closed_on": "2021-04-01", "result": "not_engaged"}, USER, engine=engine
    )
    assert_refused(engine, saved, "intelligence_log_date", "required")


def test_intelligence_log_blocks_a_second_offer_unless_overridden(engine):
    add_referral(referral_values(person_ref="P9"), USER, engine=engine)
    closed = close_referral(
        {"referral_reference": "DIV-1", "closed_on": "2021-04-01", "result": "not_engaged", "intelligence_log_date": "2021-04-02"},
        USER,
        engine=engine,
    )
    assert closed.ok, closed.problems
    with session_scope(engine) as s:
        assert s.execute(select(Referral.status)).scalar() == "closed"
    before = counts(engine)
    second = referral_values("DIV-2", "C2", person_ref="P9", offence_date="2021-06-01", referred_at="2021-06-01")
    refused = add_referral(second, USER, engine=engine)
    assert_refused(engine, refused, "override_reason", "did not engage before")
    assert counts(engine) == before  # the offence typed with it is not left behind either
    second["override_reason"] = "Inspector agreed: new circumstances"
    allowed = add_referral(second, USER, engine=engine)
    assert allowed.ok
    with session_scope(engine) as s:
        referral = s.get(Referral, allowed.row_id)
        event = s.execute(
            select(AuditEvent).where(AuditEvent.table_name == "referral", AuditEvent.row_id == str(allowed.row_id))
        ).scalar_one()
    assert referral.eligibility == "override"
    assert event.reason == "Inspector agreed: new circumstances"


def test_completed_diversion_allows_a_repeat(engine):
    add_referral(referral_values(person_ref="P7"), USER, engine=engine)
    close_referral({"referral_reference": "DIV-1", "closed_on": "2021-04-01", "result": "complied"}, USER, engine=engine)
    saved = add_referral(
        referral_values("DIV-2", "C2", person_ref="P7", offence_date="2021-06-01", referred_at="2021-06-01"), USER, engine=engine
    )
    assert saved.ok
    assert "counted as a repeat diversion" in saved.notes
    with session_scope(engine) as s:
        assert s.get(Referral, saved.row_id).repeat is True


def test_edit_with_a_stale_version_is_refused(engine):
    add_referral(referral_values(), USER, engine=engine)
    with session_scope(engine) as s:
        mine = s.execute(select(Referral)).scalar_one()
    with session_scope(engine, write=True) as s:  # someone else saves first
        theirs = s.get(Referral, mine.id)
        update_row(s, "other.user", theirs, {"referring_team": "Team B"}, reason="typo")

    def stale_edit(s):
        update_row(s, USER, mine, {"referring_team": "Team C"}, reason="typo")
        return Saved(True, mine.id)

    saved = write(stale_edit, session=None, engine=engine)
    assert_refused(engine, saved, "version", "someone else changed this record")
    with session_scope(engine) as s:
        assert s.get(Referral, mine.id).referring_team == "Team B"


def test_schema_refuses_bad_codes_even_without_records(engine):
    """CHECK constraints hold the codes for writers that bypass records.py."""
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(Person(person_key="k" * 64, sex="Q"))
        s.flush()


def test_a_referral_with_its_offence_lists_every_problem_at_once(engine):
    values = referral_values(referred_at="not a time", drug="GLUE", area="Narnia")
    saved = add_referral(values, USER, engine=engine)
    assert {p.field for p in saved.problems} >= {"referred_at", "drug", "area"}


def test_an_offence_after_its_referral_is_refused_clearly(engine):
    saved = add_referral(referral_values(offence_date="2021-03-05", referred_at="2021-03-01 10:00"), USER, engine=engine)
    assert_refused(engine, saved, "offence_date", "is after the referral (2021-03-01)")


def test_a_corrected_referral_date_cannot_precede_the_offence(engine):
    saved = add_referral(referral_values(), USER, engine=engine)
    refused = edit_referral(saved.row_id, {"referred_at": "2021-02-01 09:00"}, USER, "typo", 1, engine=engine)
    assert_refused(engine, refused, "referred_at", "before the offence")
