"""Corrections of any field of a referral (with a reason, the version check and the audit),
voiding records entered by mistake (kept, out of every figure, undone by an administrator
only) and contact attempts - on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from clock import TODAY
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from test_casework import SOON, USER, assess, count, problem, referral, session

from divert.analytics.data.loading import load_frames
from divert.auth.accounts import add_user
from divert.readmodels import casework, course_sessions, referral_history
from divert.records import programme_profile
from divert.records.contacts import contact_summary, record_contact
from divert.records.corrections import (
    correct_closure,
    correct_referral,
    undo_void_referral,
    void_referral,
    void_session,
)
from divert.records.referrals import close_referral
from divert.records.sessions import book, book_many
from divert.storage.db import data_version, session_scope
from divert.storage.models import AuditEvent, Booking, Offence, Person, Referral

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
    assert problem(correct_referral(detail["id"], {"area": "E08000028"}, shown, USER, "", 1, engine=engine),
                   "reason") == "is required to change a record"
    saved = correct_referral(detail["id"], {"area": "Sandwell"}, shown, USER, "typed the wrong area", 1,
                                     engine=engine)
    assert saved.ok and saved.change == "updated", saved.problems
    assert casework.referral_detail(engine, "DIV-1")["offence"]["area"] == "E08000028"
    assert data_version(engine) == version + 1
    with session_scope(engine) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.table_name == "offence",
                                                   AuditEvent.action == "update")).scalar_one()
    assert event.reason == "typed the wrong area" and json.loads(event.before)["area"] == "E08000025"
    trail = referral_history.audit_trail(engine, "DIV-1")
    assert "area: Birmingham → Sandwell" in list(trail["What changed"])
    # someone who loaded the old area and changes it too is told, and nothing is overwritten
    stale = correct_referral(detail["id"], {"area": "E08000026"}, shown, "other", "x", 1, engine=engine)
    assert problem(stale, "version") == "someone else changed this record; reload it"
    assert problem(correct_referral(detail["id"], {"area": "Atlantis"}, {}, USER, "x", 1, engine=engine),
                   "area").startswith("'Atlantis' is not a known code")


def test_a_correction_that_breaks_a_date_rule_is_explained_and_refused(engine):
    referral(engine, "DIV-1", "C1", on="2021-03-01")
    assess(engine, "DIV-1")  # completed 2021-03-04 11:00
    detail, shown = loaded(engine, "DIV-1")
    late = correct_referral(detail["id"], {"referred_at": "2021-03-05 09:00"}, shown, USER, "why", 1,
                                    engine=engine)
    assert problem(late, "referred_at") == "would be after the assessment (4 Mar 2021 11:00 UK time)"
    early = correct_referral(detail["id"], {"offence_date": "2021-03-02"}, shown, USER, "why", 1,
                                     engine=engine)
    assert "after the referral (1 Mar 2021)" in problem(early, "offence_date")
    moved = correct_referral(detail["id"], {"referred_at": "2021-03-02 09:00", "offence_date": "2021-03-02"},
                                     shown, USER, "dates typed a day early", 1, engine=engine)
    assert moved.ok, moved.problems
    with session_scope(engine) as s:
        offence = s.execute(select(Offence)).scalar_one()
    assert offence.offence_date.isoformat() == "2021-03-02" and offence.outcome_date.isoformat() == "2021-03-02"


def test_moving_a_referral_to_a_person_who_did_not_engage_needs_an_override(engine):
    referral(engine, "DIV-1", "C1", person="PNC A", on="2021-01-04")
    close_referral({"referral_reference": "DIV-1", "closed_on": "2021-02-01", "result": "not_engaged",
                            "intelligence_log_date": "2021-02-02"}, USER, engine=engine)
    saved = referral(engine, "DIV-2", "C2", person="PNC B", on="2021-03-01")
    detail, shown = loaded(engine, "DIV-2")
    refused = correct_referral(saved.row_id, {"person_ref": "PNC A"}, shown, USER, "wrong person", 1,
                                       engine=engine)
    assert "did not engage before (intelligence log 2021-02-02)" in problem(refused, "override_reason")
    moved = correct_referral(saved.row_id, {"person_ref": "PNC A"}, shown, USER, "wrong person", 1,
                                     override_reason="Inspector agreed", engine=engine)
    assert moved.ok, moved.problems
    with session_scope(engine) as s:
        first, second = s.execute(select(Referral).order_by(Referral.id)).scalars().all()
        offence = s.get(Offence, second.offence_id)
    assert second.person_id == first.person_id == offence.person_id
    assert (second.eligibility, second.override_reason) == ("override", "Inspector agreed")
    assert "offered on override" in " ".join(moved.notes)
    # a new identifier: a new person, with the details shown on the form
    back = correct_referral(saved.row_id, {"person_ref": "PNC C", "birth_year": "1985"}, shown, USER,
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
    too_young = correct_referral(saved.row_id, {"birth_year": "2020"}, shown, USER, "typo", 1, engine=engine)
    assert problem(too_young, "birth_year") == f"must be between 1900 and {TODAY.year - 10}"
    odd = correct_referral(saved.row_id, {"birth_year": "1905"}, shown, USER, "typo", 1, engine=engine)
    assert problem(odd, "birth_year") == "gives an age of 116 at the offence of 1 Mar 2021"
    assert correct_referral(saved.row_id, {"birth_year": "1991", "sex": "M"}, shown, USER, "typo", 1,
                                    engine=engine).ok
    with session_scope(engine) as s:
        assert s.execute(select(Offence.age)).scalar_one() == 30
        assert s.execute(select(Person.sex)).scalar_one() == "M"


def test_a_void_referral_is_kept_but_left_out_of_figures_lists_and_seats(engine):
    for n in (1, 2):
        referral(engine, f"DIV-{n}", f"C{n}", person=f"P{n}")
        assess(engine, f"DIV-{n}")
    session_id = session(engine, seats=2, starts_at=SOON)
    assert book_many("S1", ["DIV-1", "DIV-2"], USER, engine=engine).ok
    before = load_frames(engine)
    assert (before.referrals.height, before.offences.height, before.sessions["booked"][0]) == (2, 2, 2)
    duplicate = casework.referral_detail(engine, "DIV-2")
    assert problem(void_referral(duplicate["id"], " ", USER, 1, engine=engine), "reason")
    saved = void_referral(duplicate["id"], "entered twice", USER, duplicate["version"], engine=engine)
    assert saved.ok and saved.notes == ["its offence C2 is void too"], saved.problems
    after = load_frames(engine)
    assert list(after.referrals["reference"]) == ["DIV-1"]
    assert list(after.offences["offence_id"]) == list(after.referrals["offence_id"])  # C1, DIV-1's: C2 is left out
    assert after.sessions["booked"][0] == 1
    assert course_sessions.session_detail(engine, session_id)["taken"] == 1
    assert count(engine, Referral) == 2 and count(engine, Booking) == 2  # kept
    assert casework.referral_detail(engine, "DIV-2")["stage"] == "Void - entered by mistake"
    assert casework.search_referrals(engine, "DIV-2")["Stage"][0] == "Void - entered by mistake"
    assert problem(close_referral({"referral_reference": "DIV-2", "closed_on": "2021-04-01",
                                           "result": "complied"}, USER, engine=engine),
                   "referral_reference") == "is void (entered by mistake)"
    with session_scope(engine) as s:
        actions = [e.action for e in s.execute(select(AuditEvent).where(AuditEvent.action == "void")).scalars()]
    assert actions == ["void", "void"]

    # only an administrator can undo it
    version = casework.referral_detail(engine, "DIV-2")["version"]
    assert problem(undo_void_referral(duplicate["id"], "mistake", USER, version, engine=engine),
                   "user") == "only an administrator can undo a void"
    assert add_user({"username": "boss", "role": "admin", "password": "a long enough password 1"}, "test",
                    engine=engine).ok
    assert undo_void_referral(duplicate["id"], "not a duplicate after all", "boss", version, engine=engine).ok
    restored = load_frames(engine)
    assert (restored.referrals.height, restored.offences.height, restored.sessions["booked"][0]) == (2, 2, 2)


def test_a_void_referral_no_longer_blocks_a_new_offer(engine):
    referral(engine, "DIV-1", "C1", person="PNC A", on="2021-01-04")
    close_referral({"referral_reference": "DIV-1", "closed_on": "2021-02-01", "result": "not_engaged",
                            "intelligence_log_date": "2021-02-02"}, USER, engine=engine)
    detail = casework.referral_detail(engine, "DIV-1")
    assert void_referral(detail["id"], "wrong person entirely", USER, detail["version"], engine=engine).ok
    saved = referral(engine, "DIV-2", "C2", person="PNC A", on="2021-03-01")
    assert saved.notes == []


def test_a_session_with_people_booked_cannot_be_voided(engine):
    referral(engine, "DIV-1", "C1")
    assess(engine, "DIV-1")
    session_id = session(engine, "S1", starts_at=SOON)
    empty = session(engine, "S2", starts_at=SOON)
    assert book({"referral_reference": "DIV-1", "session_ref": "S1"}, USER, engine=engine).ok
    assert problem(void_session(session_id, "typo", USER, 1, engine=engine),
                   "session") == "has 1 booked: cancel or move the bookings first"
    assert void_session(empty, "typo", USER, 1, engine=engine).ok
    assert list(load_frames(engine).sessions["session_ref"]) == ["S1"]
    assert list(course_sessions.sessions(engine)["Session"]) == ["S1"]
    assert problem(book({"referral_reference": "DIV-1", "session_ref": "S2"}, USER, engine=engine),
                   "session_ref") == "is void (entered by mistake)"


def test_contact_attempts_before_the_assessment(engine):
    referral(engine, "DIV-1", "C1", on="2021-03-01")
    bad = record_contact({"referral_reference": "DIV-1", "attempted_at": "2021-02-28 10:00",
                                  "outcome": "no_answer", "assessment_booked_for": "2021-03-05 10:00"},
                                 USER, engine=engine)
    assert problem(bad, "attempted_at") == "is before 2021-03-01"
    assert problem(bad, "assessment_booked_for") == "can only be given when the person was reached"
    for moment, outcome in (("2021-03-01 15:00", "no_answer"), ("2021-03-02 09:00", "reached")):
        assert record_contact({"referral_reference": "DIV-1", "attempted_at": moment, "outcome": outcome},
                                      USER, engine=engine).ok
    with session_scope(engine) as s:
        summary = contact_summary(s, casework.referral_detail(engine, "DIV-1")["id"])
    assert summary["attempts"] == 2 and summary["first_contact_at"].strftime("%d %H:%M") == "02 09:00"
    assess(engine, "DIV-1")
    assert problem(record_contact({"referral_reference": "DIV-1", "attempted_at": "2021-03-05 10:00",
                                           "outcome": "reached"}, USER, engine=engine),
                   "referral_reference") == "already has an assessment recorded"


# --- what depends on a referral follows its void or correction -----------------------------------
def close(engine, reference, on, result="complied"):
    values = {"referral_reference": reference, "closed_on": on, "result": result}
    if result == "not_engaged":
        values["intelligence_log_date"] = on
    saved = close_referral(values, USER, engine=engine)
    assert saved.ok, saved.problems


def stored(engine, reference) -> Referral:
    with session_scope(engine) as s:
        return s.execute(select(Referral).where(Referral.reference == reference)).scalar_one()


def recomputed(engine, reference) -> list[AuditEvent]:
    """The audit events of a referral that a change elsewhere recomputed."""
    with session_scope(engine) as s:
        row_id = str(s.execute(select(Referral.id).where(Referral.reference == reference)).scalar_one())
        return list(s.execute(select(AuditEvent).where(AuditEvent.table_name == "referral", AuditEvent.row_id == row_id,
                                                       AuditEvent.reason.like("recomputed after %"))
                              .order_by(AuditEvent.id)).scalars())


def test_voiding_an_earlier_completion_recomputes_the_later_repeat_flag(engine):
    referral(engine, "DIV-A", "C1", person="PNC A", on="2021-01-04")
    close(engine, "DIV-A", "2021-02-01")
    assert referral(engine, "DIV-B", "C2", person="PNC A", on="2021-03-01").notes == ["counted as a repeat diversion"]
    assert stored(engine, "DIV-B").repeat
    first = casework.referral_detail(engine, "DIV-A")
    version = data_version(engine)
    assert void_referral(first["id"], "wrong person entirely", USER, first["version"], engine=engine).ok
    later = stored(engine, "DIV-B")
    assert later.repeat is False and (later.eligibility, later.version) == ("eligible", 2)
    assert data_version(engine) == version + 1
    [event] = recomputed(engine, "DIV-B")
    assert (event.action, event.username) == ("update", USER)
    assert (json.loads(event.before)["repeat"], json.loads(event.after)["repeat"]) == (True, False)
    assert event.reason == ("recomputed after referral DIV-A was voided: repeat diversion: no, the person had not "
                            "completed a diversion before")
    assert "repeat: True → False" in list(referral_history.audit_trail(engine, "DIV-B")["What changed"])
    # the void undone: the flag follows back
    assert add_user({"username": "boss", "role": "admin", "password": "a long enough password 1"}, "test",
                    engine=engine).ok
    voided = casework.referral_detail(engine, "DIV-A")
    assert undo_void_referral(voided["id"], "the right person after all", "boss", voided["version"],
                                      engine=engine).ok
    assert stored(engine, "DIV-B").repeat is True
    assert recomputed(engine, "DIV-B")[-1].reason.startswith("recomputed after the void of referral DIV-A was undone")


def test_correcting_a_closure_and_a_referral_time_moves_the_repeat_flags(engine):
    referral(engine, "DIV-A", "C1", person="PNC A", on="2021-01-04")
    close(engine, "DIV-A", "2021-02-01")
    referral(engine, "DIV-B", "C2", person="PNC A", on="2021-03-01")
    close(engine, "DIV-B", "2021-03-10")
    assert (stored(engine, "DIV-A").repeat, stored(engine, "DIV-B").repeat) == (False, True)
    # A's completion was on 25 March, after B was referred: B is no repeat
    closure = casework.referral_detail(engine, "DIV-A")["closure"]
    assert correct_closure(closure["id"], {"closed_on": "2021-03-25", "result": "complied"}, USER,
                                   "closed later than typed", closure["version"], engine=engine).ok
    assert stored(engine, "DIV-B").repeat is False
    assert recomputed(engine, "DIV-B")[0].reason.startswith("recomputed after the closure of referral DIV-A was "
                                                            "corrected: repeat diversion: no")
    # and A was referred on 15 March, after B had completed: A is the repeat now
    detail, shown = loaded(engine, "DIV-A")
    saved = correct_referral(detail["id"], {"referred_at": "2021-03-15 10:30", "offence_date": "2021-03-15"},
                                     shown, USER, "dates typed wrong", detail["version"], engine=engine)
    assert saved.ok, saved.problems
    assert (stored(engine, "DIV-A").repeat, stored(engine, "DIV-B").repeat) == (True, False)


def test_moving_a_referral_to_another_person_recomputes_both_people(engine):
    referral(engine, "DIV-A", "C1", person="PNC A", on="2021-01-04")
    close(engine, "DIV-A", "2021-02-01")
    referral(engine, "DIV-B", "C2", person="PNC A", on="2021-03-01")
    referral(engine, "DIV-Q", "C3", person="PNC Q", on="2021-04-01")
    assert (stored(engine, "DIV-B").repeat, stored(engine, "DIV-Q").repeat) == (True, False)
    detail, shown = loaded(engine, "DIV-A")
    version = data_version(engine)
    assert correct_referral(detail["id"], {"person_ref": "PNC Q"}, shown, USER, "wrong person",
                                    detail["version"], engine=engine).ok
    assert (stored(engine, "DIV-B").repeat, stored(engine, "DIV-Q").repeat) == (False, True)
    assert data_version(engine) == version + 1
    for reference in ("DIV-B", "DIV-Q"):
        [event] = recomputed(engine, reference)
        assert event.reason.startswith("recomputed after referral DIV-A was corrected: repeat diversion: ")


def test_an_eligibility_decision_stands_and_the_audit_says_what_the_rules_now_give(engine):
    saved, _ = programme_profile.save({"second_offer_after_engagement": "no"}, USER, engine=engine)
    assert saved.ok, saved.problems
    # offered on override after a completion: the completion voided, the override stands
    referral(engine, "DIV-A", "C1", person="PNC A", on="2021-01-04")
    close(engine, "DIV-A", "2021-02-01")
    referral(engine, "DIV-B", "C2", person="PNC A", on="2021-03-01", override_reason="Inspector agreed")
    first = casework.referral_detail(engine, "DIV-A")
    assert void_referral(first["id"], "entered twice", USER, first["version"], engine=engine).ok
    later = stored(engine, "DIV-B")
    assert (later.repeat, later.eligibility, later.override_reason) == (False, "override", "Inspector agreed")
    assert recomputed(engine, "DIV-B")[0].reason.endswith(
        "the person's history no longer needs an override (engaged before, and the programme makes no second offer "
        "no longer holds); the offer made on override stands")
    # offered as eligible: a completion found to be before it does not undo the offer
    referral(engine, "DIV-C", "C3", person="PNC C", on="2021-01-04")
    referral(engine, "DIV-D", "C4", person="PNC C", on="2021-03-01")
    close(engine, "DIV-C", "2021-04-01")
    closure = casework.referral_detail(engine, "DIV-C")["closure"]
    assert correct_closure(closure["id"], {"closed_on": "2021-02-01", "result": "complied"}, USER,
                                   "closed earlier than typed", closure["version"], engine=engine).ok
    offered = stored(engine, "DIV-D")
    assert (offered.repeat, offered.eligibility, offered.override_reason) == (True, "eligible", None)
    assert recomputed(engine, "DIV-D")[0].reason.endswith(
        "the programme's rules now give no offer without an override reason (engaged before, and the programme makes "
        "no second offer); the offer made stands as eligible")


def test_moving_a_referral_to_someone_who_completed_before_needs_an_override_without_second_offers(engine):
    saved, _ = programme_profile.save({"second_offer_after_engagement": "no"}, USER, engine=engine)
    assert saved.ok, saved.problems
    referral(engine, "DIV-A", "C1", person="PNC A", on="2021-01-04")
    close(engine, "DIV-A", "2021-02-01")
    moved = referral(engine, "DIV-B", "C2", person="PNC B", on="2021-03-01")
    detail, shown = loaded(engine, "DIV-B")
    refused = correct_referral(moved.row_id, {"person_ref": "PNC A"}, shown, USER, "wrong person", 1,
                                       engine=engine)
    assert problem(refused, "override_reason") == (
        "outside the programme's eligibility rules (engaged before, and the programme makes no second offer): this "
        "correction makes the referral a new offer, which needs an override reason")
    assert correct_referral(moved.row_id, {"person_ref": "PNC A"}, shown, USER, "wrong person", 1,
                                    override_reason="Inspector agreed", engine=engine).ok
    later = stored(engine, "DIV-B")
    assert (later.repeat, later.eligibility, later.override_reason) == (True, "override", "Inspector agreed")


def test_a_changed_non_engagement_is_said_even_when_no_flag_changes(engine):
    referral(engine, "DIV-A", "C1", person="PNC A", on="2021-01-04")
    close(engine, "DIV-A", "2021-02-01", result="not_engaged")
    referral(engine, "DIV-B", "C2", person="PNC A", on="2021-03-01", override_reason="Inspector agreed")
    closure = casework.referral_detail(engine, "DIV-A")["closure"]
    assert correct_closure(closure["id"], {"closed_on": "2021-04-01", "result": "not_engaged",
                                                   "intelligence_log_date": "2021-04-01"}, USER,
                                   "closed later than typed", closure["version"], engine=engine).ok
    later = stored(engine, "DIV-B")
    assert (later.repeat, later.eligibility, later.version) == (False, "override", 1)  # nothing stored changes
    [event] = recomputed(engine, "DIV-B")
    assert event.before == event.after
    assert event.reason == ("recomputed after the closure of referral DIV-A was corrected: the person's history no "
                            "longer needs an override (did not engage before (intelligence log 2021-02-01) no longer "
                            "holds); the offer made on override stands")


# any referrals and closures of one person, saved in date order, then one referral voided: the
# stored repeat flags are those of the remaining records saved afresh, and no decision changed
HISTORY = st.lists(
    st.tuples(st.integers(0, 90), st.none() | st.tuples(st.sampled_from(["complied", "not_engaged"]),
                                                         st.integers(0, 40))),
    min_size=1, max_size=5, unique_by=lambda row: row[0])


def save_in_date_order(engine, person: str, rows) -> list[str]:
    """Save the referrals and closures (day offsets from 4 January 2021) as they happened."""
    start = date(2021, 1, 4)
    events = []
    for n, (offset, closure) in enumerate(rows):
        events.append((start + timedelta(days=offset), 1, n, None))
        if closure:
            day = start + timedelta(days=offset + closure[1])
            events.append((day, 0 if closure[1] else 2, n, closure[0]))  # a closure before a referral that day
    references = [f"{person}-{n}" for n in range(len(rows))]
    for day, _, n, result in sorted(events):
        if result is None:
            referral(engine, references[n], references[n], person=person, on=day.isoformat(),
                     override_reason="agreed")
        else:
            close(engine, references[n], day.isoformat(), result)
    return references


def test_after_any_void_the_repeat_flags_are_those_of_the_records_saved_afresh(sqlite_engine):
    people = iter(range(10_000))

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rows=HISTORY, pick=st.integers(0, 4))
    @example(rows=[(0, ("complied", 5)), (5, None), (9, None)], pick=2)  # completed on the day of the next referral
    def check(rows, pick):
        voided = pick % len(rows)
        n = next(people)
        references = save_in_date_order(sqlite_engine, f"P{n}", rows)
        before = {r: stored(sqlite_engine, r) for r in references}
        target = before[references[voided]]
        assert void_referral(target.id, "entered by mistake", USER, target.version, engine=sqlite_engine).ok
        kept = [row for i, row in enumerate(rows) if i != voided]
        fresh = save_in_date_order(sqlite_engine, f"F{n}", kept)
        remaining = [r for i, r in enumerate(references) if i != voided]
        after = {r: stored(sqlite_engine, r) for r in remaining}
        assert [after[r].repeat for r in remaining] == [stored(sqlite_engine, r).repeat for r in fresh]
        for r in remaining:
            assert (after[r].eligibility, after[r].override_reason) == (before[r].eligibility, before[r].override_reason)
            told = [e for e in recomputed(sqlite_engine, r) if f"referral {references[voided]} was voided" in e.reason]
            assert bool(told) >= (after[r].repeat != before[r].repeat)

    check()
