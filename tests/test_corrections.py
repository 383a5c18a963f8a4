"""Corrections of any field of a referral (with a reason, the version check and the audit),
voiding records entered by mistake (kept, out of every figure, undone by an administrator
only) and contact attempts - on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from clock import TODAY
from sqlalchemy import select
from test_casework import SOON, USER, assess, count, problem, referral, session

from divert import casework, records
from divert.accounts import add_user
from divert.analytics.loading import load_frames
from divert.db import data_version, session_scope
from divert.models import AuditEvent, Booking, Offence, Person, Referral

# sessions ahead, bookings made "now" and this year's youngest birth year: the clock stands at clock.MOMENT
pytestmark = pytest.mark.usefixtures("clock")


def loaded(engine, reference):
    """What the correction form shows: the referral's, offence's and person's stored values."""
    detail = casework.referral_detail(engine, reference)
    return detail, {**{k: detail["offence"][k] for k in ("crime_ref", "offence_date", "area", "drug", "source")},
                    **detail["person"]}


def test_an_area_is_corrected_with_a_reason_and_audited(engine):
    referral(engine, "DIV-1", "C1", area="E08000025")
    detail, shown = loaded(engine, "DIV-1")
    version = data_version(engine)
    assert problem(records.correct_referral(detail["id"], {"area": "E08000028"}, shown, USER, "", 1, engine=engine),
                   "reason") == "is required to change a record"
    saved = records.correct_referral(detail["id"], {"area": "Sandwell"}, shown, USER, "typed the wrong area", 1,
                                     engine=engine)
    assert saved.ok and saved.change == "updated", saved.problems
    assert casework.referral_detail(engine, "DIV-1")["offence"]["area"] == "E08000028"
    assert data_version(engine) == version + 1
    with session_scope(engine) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.table_name == "offence",
                                                   AuditEvent.action == "update")).scalar_one()
    assert event.reason == "typed the wrong area" and json.loads(event.before)["area"] == "E08000025"
    trail = casework.audit_trail(engine, "DIV-1")
    assert "area: Birmingham → Sandwell" in list(trail["What changed"])
    # someone who loaded the old area and changes it too is told, and nothing is overwritten
    stale = records.correct_referral(detail["id"], {"area": "E08000026"}, shown, "other", "x", 1, engine=engine)
    assert problem(stale, "version") == "someone else changed this record; reload it"
    assert problem(records.correct_referral(detail["id"], {"area": "Atlantis"}, {}, USER, "x", 1, engine=engine),
                   "area").startswith("'Atlantis' is not a known code")


def test_a_correction_that_breaks_a_date_rule_is_explained_and_refused(engine):
    referral(engine, "DIV-1", "C1", on="2021-03-01")
    assess(engine, "DIV-1")  # completed 2021-03-04 11:00
    detail, shown = loaded(engine, "DIV-1")
    late = records.correct_referral(detail["id"], {"referred_at": "2021-03-05 09:00"}, shown, USER, "why", 1,
                                    engine=engine)
    assert problem(late, "referred_at") == "would be after the assessment (04/03/2021 11:00 UTC)"
    early = records.correct_referral(detail["id"], {"offence_date": "2021-03-02"}, shown, USER, "why", 1,
                                     engine=engine)
    assert "after the referral (01/03/2021)" in problem(early, "offence_date")
    moved = records.correct_referral(detail["id"], {"referred_at": "2021-03-02 09:00", "offence_date": "2021-03-02"},
                                     shown, USER, "dates typed a day early", 1, engine=engine)
    assert moved.ok, moved.problems
    with session_scope(engine) as s:
        offence = s.execute(select(Offence)).scalar_one()
    assert offence.offence_date.isoformat() == "2021-03-02" and offence.outcome_date.isoformat() == "2021-03-02"


def test_moving_a_referral_to_a_person_who_did_not_engage_needs_an_override(engine):
    referral(engine, "DIV-1", "C1", person="PNC A", on="2021-01-04")
    records.close_referral({"referral_reference": "DIV-1", "closed_on": "2021-02-01", "result": "not_engaged",
                            "intelligence_log_date": "2021-02-02"}, USER, engine=engine)
    saved = referral(engine, "DIV-2", "C2", person="PNC B", on="2021-03-01")
    detail, shown = loaded(engine, "DIV-2")
    refused = records.correct_referral(saved.row_id, {"person_ref": "PNC A"}, shown, USER, "wrong person", 1,
                                       engine=engine)
    assert "did not engage before (intelligence log 2021-02-02)" in problem(refused, "override_reason")
    moved = records.correct_referral(saved.row_id, {"person_ref": "PNC A"}, shown, USER, "wrong person", 1,
                                     override_reason="Inspector agreed", engine=engine)
    assert moved.ok, moved.problems
    with session_scope(engine) as s:
        first, second = s.execute(select(Referral).order_by(Referral.id)).scalars().all()
        offence = s.get(Offence, second.offence_id)
    assert second.person_id == first.person_id == offence.person_id
    assert (second.eligibility, second.override_reason) == ("override", "Inspector agreed")
    assert "offered on override" in " ".join(moved.notes)
    # a new identifier: a new person, with the details shown on the form
    back = records.correct_referral(saved.row_id, {"person_ref": "PNC C", "birth_year": "1985"}, shown, USER,
                                    "it was someone else", 2, engine=engine)
    assert back.ok and "recorded as a new person" in back.notes, back.problems
    with session_scope(engine) as s:
        row = s.get(Referral, saved.row_id)
        person = s.get(Person, row.person_id)
        offence = s.get(Offence, row.offence_id)
    assert (row.eligibility, row.override_reason) == ("eligible", None)
    assert (person.birth_year, person.sex, person.ethnicity_self, offence.age) == (1985, "F", "B1", 36)


def test_a_year_of_birth_is_checked_against_every_offence_of_the_person(engine):
    saved = referral(engine, "DIV-1", "C1", on="2021-03-01")
    detail, shown = loaded(engine, "DIV-1")
    too_young = records.correct_referral(saved.row_id, {"birth_year": "2020"}, shown, USER, "typo", 1, engine=engine)
    assert problem(too_young, "birth_year") == f"must be between 1900 and {TODAY.year - 10}"
    odd = records.correct_referral(saved.row_id, {"birth_year": "1905"}, shown, USER, "typo", 1, engine=engine)
    assert problem(odd, "birth_year") == "gives an age of 116 at the offence of 01/03/2021"
    assert records.correct_referral(saved.row_id, {"birth_year": "1991", "sex": "M"}, shown, USER, "typo", 1,
                                    engine=engine).ok
    with session_scope(engine) as s:
        assert s.execute(select(Offence.age)).scalar_one() == 30
        assert s.execute(select(Person.sex)).scalar_one() == "M"


def test_a_void_referral_is_kept_but_left_out_of_figures_lists_and_seats(engine):
    for n in (1, 2):
        referral(engine, f"DIV-{n}", f"C{n}", person=f"P{n}")
        assess(engine, f"DIV-{n}")
    session_id = session(engine, seats=2, starts_at=SOON)
    assert records.book_many("S1", ["DIV-1", "DIV-2"], USER, engine=engine).ok
    before = load_frames(engine)
    assert (before.referrals.height, before.offences.height, before.sessions["booked"][0]) == (2, 2, 2)
    duplicate = casework.referral_detail(engine, "DIV-2")
    assert problem(records.void_referral(duplicate["id"], " ", USER, 1, engine=engine), "reason")
    saved = records.void_referral(duplicate["id"], "entered twice", USER, duplicate["version"], engine=engine)
    assert saved.ok and saved.notes == ["its offence C2 is void too"], saved.problems
    after = load_frames(engine)
    assert list(after.referrals["reference"]) == ["DIV-1"] and list(after.offences["crime_ref"]) == ["C1"]
    assert after.sessions["booked"][0] == 1
    assert casework.session_detail(engine, session_id)["taken"] == 1
    assert count(engine, Referral) == 2 and count(engine, Booking) == 2  # kept
    assert casework.referral_detail(engine, "DIV-2")["stage"] == "Void - entered by mistake"
    assert casework.search_referrals(engine, "DIV-2")["Stage"][0] == "Void - entered by mistake"
    assert problem(records.close_referral({"referral_reference": "DIV-2", "closed_on": "2021-04-01",
                                           "result": "complied"}, USER, engine=engine),
                   "referral_reference") == "is void (entered by mistake)"
    with session_scope(engine) as s:
        actions = [e.action for e in s.execute(select(AuditEvent).where(AuditEvent.action == "void")).scalars()]
    assert actions == ["void", "void"]

    # only an administrator can undo it
    version = casework.referral_detail(engine, "DIV-2")["version"]
    assert problem(records.undo_void_referral(duplicate["id"], "mistake", USER, version, engine=engine),
                   "user") == "only an administrator can undo a void"
    assert add_user({"username": "boss", "role": "admin", "password": "a long enough password 1"}, "test",
                    engine=engine).ok
    assert records.undo_void_referral(duplicate["id"], "not a duplicate after all", "boss", version, engine=engine).ok
    restored = load_frames(engine)
    assert (restored.referrals.height, restored.offences.height, restored.sessions["booked"][0]) == (2, 2, 2)


def test_a_void_referral_no_longer_blocks_a_new_offer(engine):
    referral(engine, "DIV-1", "C1", person="PNC A", on="2021-01-04")
    records.close_referral({"referral_reference": "DIV-1", "closed_on": "2021-02-01", "result": "not_engaged",
                            "intelligence_log_date": "2021-02-02"}, USER, engine=engine)
    detail = casework.referral_detail(engine, "DIV-1")
    assert records.void_referral(detail["id"], "wrong person entirely", USER, detail["version"], engine=engine).ok
    saved = referral(engine, "DIV-2", "C2", person="PNC A", on="2021-03-01")
    assert saved.notes == []


def test_a_session_with_people_booked_cannot_be_voided(engine):
    referral(engine, "DIV-1", "C1")
    assess(engine, "DIV-1")
    session_id = session(engine, "S1", starts_at=SOON)
    empty = session(engine, "S2", starts_at=SOON)
    assert records.book({"referral_reference": "DIV-1", "session_ref": "S1"}, USER, engine=engine).ok
    assert problem(records.void_session(session_id, "typo", USER, 1, engine=engine),
                   "session") == "has 1 booked: cancel or move the bookings first"
    assert records.void_session(empty, "typo", USER, 1, engine=engine).ok
    assert list(load_frames(engine).sessions["session_ref"]) == ["S1"]
    assert list(casework.sessions(engine)["Session"]) == ["S1"]
    assert problem(records.book({"referral_reference": "DIV-1", "session_ref": "S2"}, USER, engine=engine),
                   "session_ref") == "is void (entered by mistake)"


def test_contact_attempts_before_the_assessment(engine):
    referral(engine, "DIV-1", "C1", on="2021-03-01")
    bad = records.record_contact({"referral_reference": "DIV-1", "attempted_at": "2021-02-28 10:00",
                                  "outcome": "no_answer", "assessment_booked_for": "2021-03-05 10:00"},
                                 USER, engine=engine)
    assert problem(bad, "attempted_at") == "is before 2021-03-01"
    assert problem(bad, "assessment_booked_for") == "can only be given when the person was reached"
    for moment, outcome in (("2021-03-01 15:00", "no_answer"), ("2021-03-02 09:00", "reached")):
        assert records.record_contact({"referral_reference": "DIV-1", "attempted_at": moment, "outcome": outcome},
                                      USER, engine=engine).ok
    with session_scope(engine) as s:
        summary = records.contact_summary(s, casework.referral_detail(engine, "DIV-1")["id"])
    assert summary["attempts"] == 2 and summary["first_contact_at"].strftime("%d %H:%M") == "02 09:00"
    assess(engine, "DIV-1")
    assert problem(records.record_contact({"referral_reference": "DIV-1", "attempted_at": "2021-03-05 10:00",
                                           "outcome": "reached"}, USER, engine=engine),
                   "referral_reference") == "already has an assessment recorded"
