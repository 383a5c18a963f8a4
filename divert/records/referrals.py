"""A person's way through the programme: referral, assessment, closure."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from divert.core import codes
from divert.core.field_rules import Checker, Problem
from divert.core.record_fields import existing_offence, offence_not_after_referral, referral_fields
from divert.records import programme_profile
from divert.records.core import (
    Rejected,
    Saved,
    apply_changes,
    check,
    editable,
    insert,
    save,
    update_row,
    write,
)
from divert.records.history import following
from divert.records.offences import offence_by_ref, offence_from
from divert.reference import programme
from divert.storage.models import Assessment, Closure, Offence, Referral


def person_history(s: Session, person_id: int, *, before_referral: int | None = None) -> dict:
    """Previous closures of a person: the eligibility check before a new offer."""
    query = (
        select(Closure.result, Closure.intelligence_log_date)
        .join(Referral, Referral.id == Closure.referral_id)
        .where(Referral.person_id == person_id, Referral.void_at.is_(None))
    )
    if before_referral is not None:
        query = query.where(Referral.id != before_referral)
    rows = s.execute(query).all()
    logs = [r.intelligence_log_date for r in rows if r.result == "not_engaged"]
    return {
        "not_engaged": len(logs),
        "last_intelligence_log": max(logs) if logs else None,
        "complied": sum(r.result == "complied" for r in rows),
    }


def referral_by_ref(s: Session, reference: str) -> Referral | None:
    return s.execute(select(Referral).where(Referral.reference == reference)).scalars().first()


def add_referral(values: dict, user: str, *, session=None, engine=None, upsert=False) -> Saved:
    """A referral for an offence already recorded (crime_ref), or recorded with it."""

    def work(s):
        c = Checker(values)
        force = values.get("force") or programme_profile.force_in(s)
        reference, referred_at, team, override = referral_fields(c).values()
        existing = referral_by_ref(s, reference) if reference else None
        if existing is not None and upsert:
            check(c)  # a re-imported referral: only its own fields can change
            return save(s, user, Referral(reference=reference, referred_at=referred_at, referring_team=team,
                                          offence_id=existing.offence_id, person_id=existing.person_id),
                        {"reference": reference}, upsert=True, fields=("referred_at", "referring_team"))
        if existing is not None:
            c.fail("reference", "is already recorded")
        crime_ref = c.raw("crime_ref")
        offence = offence_by_ref(s, force, str(crime_ref)) if crime_ref else None
        if offence is None:
            # recorded with the referral: the referral's and the offence's problems are listed together
            offence = offence_from(s, c, force)
            if not offence_not_after_referral(c, offence.offence_date, referred_at.date()):
                check(c)
            offence.outcome, offence.outcome_date = 8, referred_at.date()
            insert(s, user, offence)
        else:
            referred = s.execute(select(Referral.id).where(Referral.offence_id == offence.id)).first() is not None
            existing_offence(c, has_referral=referred, has_person=offence.person_id is not None,
                             referred_at=referred_at, offence_date=offence.offence_date)
        check(c)
        history = person_history(s, offence.person_id)
        decided, notes = programme.offer(c, programme_profile.in_session(s), history, offence.age, offence.drug,
                                         override)
        check(c)
        referral = Referral(
            force=force,
            reference=reference,
            offence_id=offence.id,
            person_id=offence.person_id,
            referred_at=referred_at,
            referring_team=team,
            **decided,
        )
        saved = save(s, user, referral, {"reference": reference}, upsert=False, reason=referral.override_reason)
        saved.notes = notes
        return saved

    return write(work, session=session, engine=engine)


def add_referral_from_form(values: dict, user: str, *, engine=None) -> Saved:
    """add_referral for the form (kept as the form's entry point: add_referral itself now lists
    the referral's and the offence's problems together)."""
    return add_referral(values, user, engine=engine)

def find_referral(s: Session, c: Checker, field_name: str = "referral_reference") -> Referral | None:
    reference = c.reference(field_name)
    if reference is None:
        return None
    referral = referral_by_ref(s, reference)
    if referral is None:
        c.fail(field_name, "is not a known referral")
    elif referral.void_at is not None:
        c.fail(field_name, "is void (entered by mistake)")
    return referral


def record_assessment(values: dict, user: str, *, session=None, engine=None, upsert=False) -> Saved:
    def work(s):
        c = Checker(values)
        referral = find_referral(s, c)
        fields = assessment_fields(c, referral.referred_at if referral else None)
        if referral is not None:
            has_one = s.execute(select(Assessment.id).where(Assessment.referral_id == referral.id)).first()
            if has_one and not upsert:
                c.fail("referral_reference", "already has an assessment (edit it instead)")
            elif referral.status == "closed" and not has_one:
                c.fail("referral_reference", "is closed")
        check(c)
        row = Assessment(referral_id=referral.id, **fields)
        return save(s, user, row, {"referral_id": referral.id}, upsert=upsert)

    return write(work, session=session, engine=engine)


def assessment_fields(c: Checker, floor) -> dict:
    """An assessment's own fields, checked (problems collect in `c`); `floor` is the referral's
    time, before which nothing can have happened."""
    attempts = c.integer("contact_attempts", low=0, high=50) or 0
    first_contact = c.moment("first_contact_at", not_before=floor)
    scheduled = c.moment("scheduled_at", future_ok=True, not_before=floor)
    completed = c.moment("completed_at", not_before=floor)
    result = c.code("result", codes.ASSESSMENT_RESULTS, upper=False)
    allocation = c.code("allocation", codes.ALLOCATIONS, required=False, upper=False)
    flags = {name: c.boolean(name) for name in codes.RISK_FLAGS}
    advice = c.boolean("harm_reduction_advice")
    worker = c.text("worker", max_length=40)
    if result == "completed" and completed is None:
        c.fail("completed_at", "is required when the assessment was completed")
    if result and result != "completed" and allocation:
        c.fail("allocation", "can only be given after a completed assessment")
    return {
        "contact_attempts": attempts,
        "first_contact_at": first_contact,
        "scheduled_at": scheduled,
        "completed_at": completed,
        "result": result,
        "harm_reduction_advice": advice,
        "allocation": allocation,
        "worker": worker,
        **flags,
    }


def edit_assessment(assessment_id: int, values: dict, user: str, reason: str, expected_version: int,
                    *, engine=None) -> Saved:
    """Correct an assessment: every field as in `values` (the same rules as recording one);
    needs a reason, and refuses if someone saved the assessment since `expected_version`."""

    def work(s):
        row = editable(s, Assessment, assessment_id, expected_version, reason, "assessment")
        referral = s.get(Referral, row.referral_id)
        c = Checker(values)
        fields = assessment_fields(c, referral.referred_at)
        check(c)
        return apply_changes(s, user, row, fields, reason)

    return write(work, session=None, engine=engine)


def close_referral(values: dict, user: str, *, session=None, engine=None, upsert=False) -> Saved:
    def work(s):
        c = Checker(values)
        referral = find_referral(s, c)
        floor = referral.referred_at if referral else None
        closed_on = c.day("closed_on", required=True, not_before=floor)
        result = c.code("result", codes.CLOSURE_RESULTS, upper=False)
        log_date = c.day("intelligence_log_date", not_before=floor)
        onward = c.boolean("onward_treatment")
        if result == "not_engaged" and log_date is None:
            c.fail("intelligence_log_date", "is required when the person did not engage")
        if result == "complied" and log_date is not None:
            c.fail("intelligence_log_date", "is only for a closure as not engaged")
        if referral is not None and referral.status == "closed" and not upsert:
            c.fail("referral_reference", "is already closed")
        check(c)
        row = Closure(
            referral_id=referral.id,
            closed_on=closed_on,
            result=result,
            intelligence_log_date=log_date,
            onward_treatment=onward,
        )
        saved = save(s, user, row, {"referral_id": referral.id}, upsert=upsert)
        if referral.status != "closed":
            update_row(s, user, referral, {"status": "closed"})
        return saved

    return write(work, session=session, engine=engine)


def edit_referral(referral_id: int, changes: dict, user: str, reason: str, expected_version: int, *, engine=None) -> Saved:
    """Correct a referral's own fields; needs a reason, and refuses if someone saved first."""

    def work(s):
        c = Checker(changes)
        if not (reason or "").strip():
            raise Rejected([Problem("reason", reason, "is required to change a record")])
        referral = s.get(Referral, referral_id)
        if referral is None:
            raise Rejected([Problem("referral", referral_id, "is not a known referral")])
        if referral.version != expected_version:
            raise Rejected([Problem("version", expected_version, "someone else changed this record; reload it")])
        fields = {}
        if "referred_at" in changes:
            fields["referred_at"] = c.moment("referred_at", required=True)
            offence = s.get(Offence, referral.offence_id)
            if fields["referred_at"] and offence and fields["referred_at"].date() < offence.offence_date:
                c.fail("referred_at", f"is before the offence ({offence.offence_date})")
        if "referring_team" in changes:
            fields["referring_team"] = c.text("referring_team", max_length=80)
        check(c)
        with following(s, user, f"referral {referral.reference} was corrected", [referral.person_id]):
            update_row(s, user, referral, fields, reason=reason.strip())
        return Saved(True, referral.id, change="updated")

    return write(work, session=None, engine=engine)
