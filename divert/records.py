"""Every write goes through here: validate, write, audit, bump data_version - one transaction.

Each function takes the values as typed (a form's widgets or an import row) and returns a
Saved: ok with the new row's id, or the list of problems and nothing written. Pass `session`
to take part in a caller's transaction (an import writes all its rows or none); the caller
then bumps data_version once and commits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from divert import codes
from divert.db import bump_data_version, session_scope
from divert.models import (
    Assessment,
    AuditEvent,
    Booking,
    Closure,
    CourseSession,
    Offence,
    Person,
    Referral,
    Setting,
)
from divert.pseudonym import person_key
from divert.settings import current_force
from divert.validation import Checker, Problem


@dataclass
class Saved:
    ok: bool
    row_id: int | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "counted as a repeat diversion"


class Rejected(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems


def now() -> datetime:
    return datetime.now(UTC)


# --- the one write path ---------------------------------------------------------------------
def write(work: Callable[[Session], Saved], *, session: Session | None, engine) -> Saved:
    if session is not None:
        try:
            with session.begin_nested():
                return work(session)
        except Rejected as rejected:
            return Saved(False, problems=rejected.problems)
        except IntegrityError as error:
            return Saved(False, problems=[_integrity_problem(error)])
    try:
        with session_scope(engine, write=True) as s:
            saved = work(s)
            bump_data_version(s)
        return saved
    except Rejected as rejected:
        return Saved(False, problems=rejected.problems)
    except IntegrityError as error:
        return Saved(False, problems=[_integrity_problem(error)])


def _integrity_problem(error: IntegrityError) -> Problem:
    # Reached only when a concurrent writer saved a clashing row between check and insert.
    return Problem("record", None, f"conflicts with a record saved at the same time ({error.orig})")


def check(checker: Checker) -> None:
    """Stop the write (nothing saved) if the checker found problems."""
    if checker.problems:
        raise Rejected(checker.problems)


def as_dict(row: SQLModel | None) -> dict | None:
    return None if row is None else row.model_dump()


def audit(s: Session, user: str, action: str, table: str, row_id, before=None, after=None, reason=None):
    def dump(value):
        return None if value is None else json.dumps(value, default=str, sort_keys=True)

    s.add(
        AuditEvent(
            at=now(),
            username=user,
            action=action,
            table_name=table,
            row_id=None if row_id is None else str(row_id),
            before=dump(before),
            after=dump(after),
            reason=reason,
        )
    )


def _insert(s: Session, user: str, row: SQLModel, reason: str | None = None) -> int:
    s.add(row)
    s.flush()
    audit(s, user, "create", row.__tablename__, row.id, None, as_dict(row), reason)
    return row.id


# --- people ---------------------------------------------------------------------------------
def _person(s: Session, c: Checker) -> Person | None:
    """Find or create the person from person_ref (hashed) and demographics."""
    ref = c.text("person_ref", required=True, max_length=60)
    sex = c.code("sex", codes.SEXES, required=False) or "U"
    birth_year = c.integer("birth_year", low=1900, high=date.today().year - 10)
    eth_self = c.code(
        "ethnicity_self", codes.ETHNICITY_SELF, required=False, aliases=codes.ETHNICITY_SELF_ALIASES
    )
    eth_officer = c.code("ethnicity_officer", codes.ETHNICITY_OFFICER, required=False)
    if ref is None or c.problems:
        return None
    key = person_key(ref)
    person = s.execute(select(Person).where(Person.person_key == key)).scalars().first()
    if person is None:
        person = Person(
            person_key=key,
            sex=sex,
            birth_year=birth_year,
            ethnicity_self=eth_self,
            ethnicity_officer=eth_officer,
        )
        s.add(person)
        s.flush()
    return person


def _area(c: Checker, force: str, field_name: str = "area") -> str | None:
    areas = codes.AREAS.get(force)
    if areas:
        return c.code(field_name, areas, upper=True)
    return c.text(field_name, required=True, max_length=12)


# --- offences -------------------------------------------------------------------------------
def _offence_fields(s: Session, c: Checker, force: str) -> Offence | None:
    crime_ref = c.reference("crime_ref")
    offence_date = c.day("offence_date", required=True)
    area = _area(c, force)
    drug = c.code("drug", codes.DRUGS)
    source = c.code("source", codes.REFERRAL_SOURCES, upper=False)
    outcome = c.integer("outcome")
    if outcome is not None and outcome not in codes.HOCR_OUTCOMES:
        c.fail("outcome", "is not a Home Office outcome code")
    outcome_date = c.day("outcome_date", not_before=offence_date)
    person = _person(s, c)
    if crime_ref and _offence_by_ref(s, force, crime_ref) is not None:
        c.fail("crime_ref", "is already recorded")
    check(c)
    age = None
    if person.birth_year:
        age = offence_date.year - person.birth_year
        if not 10 <= age <= 110:
            c.fail("birth_year", f"gives an age of {age} at the offence")
            check(c)
    return Offence(
        force=force,
        crime_ref=crime_ref,
        person_id=person.id,
        offence_date=offence_date,
        age=age,
        area=area,
        drug=drug,
        source=source,
        outcome=outcome,
        outcome_date=outcome_date if outcome is not None else None,
    )


def _offence_by_ref(s: Session, force: str, crime_ref: str) -> Offence | None:
    query = select(Offence).where(Offence.force == force, Offence.crime_ref == crime_ref)
    return s.execute(query).scalars().first()


def add_offence(values: dict, user: str, *, session=None, engine=None) -> Saved:
    def work(s):
        force = values.get("force") or current_force()
        offence = _offence_fields(s, Checker(values), force)
        return Saved(True, _insert(s, user, offence))

    return write(work, session=session, engine=engine)


# --- referrals ------------------------------------------------------------------------------
def person_history(s: Session, person_id: int) -> dict:
    """Previous closures of a person: the eligibility check before a new offer."""
    rows = s.execute(
        select(Closure.result, Closure.intelligence_log_date)
        .join(Referral, Referral.id == Closure.referral_id)
        .where(Referral.person_id == person_id)
    ).all()
    logs = [r.intelligence_log_date for r in rows if r.result == "not_engaged"]
    return {
        "not_engaged": len(logs),
        "last_intelligence_log": max(logs) if logs else None,
        "complied": sum(r.result == "complied" for r in rows),
    }


def add_referral(values: dict, user: str, *, session=None, engine=None) -> Saved:
    """A referral for an offence already recorded (crime_ref) or recorded with it."""

    def work(s):
        c = Checker(values)
        force = values.get("force") or current_force()
        reference = c.reference("reference")
        referred_at = c.moment("referred_at", required=True)
        team = c.text("referring_team", max_length=80)
        override = c.text("override_reason", max_length=2000)
        if reference and s.execute(select(Referral.id).where(Referral.reference == reference)).first():
            c.fail("reference", "is already recorded")
        crime_ref = c.raw("crime_ref")
        offence = _offence_by_ref(s, force, str(crime_ref)) if crime_ref else None
        if offence is None:
            check(c)
            offence = _offence_fields(s, c, force)
            offence.outcome, offence.outcome_date = 8, referred_at.date()
            _insert(s, user, offence)
        else:
            if s.execute(select(Referral.id).where(Referral.offence_id == offence.id)).first():
                c.fail("crime_ref", "already has a referral")
            if offence.person_id is None:
                c.fail("crime_ref", "has no person recorded against the offence")
            if referred_at and referred_at.date() < offence.offence_date:
                c.fail("referred_at", f"is before the offence ({offence.offence_date})")
        check(c)
        history = person_history(s, offence.person_id)
        saved = Saved(True)
        if history["not_engaged"]:
            if not override:
                c.fail(
                    "override_reason",
                    "this person did not engage before (intelligence log "
                    f"{history['last_intelligence_log']}): no new offer without an override reason",
                    value=None,
                )
                check(c)
            saved.notes.append("offered on override after a previous non-engagement")
        if history["complied"]:
            saved.notes.append("counted as a repeat diversion")
        referral = Referral(
            force=force,
            reference=reference,
            offence_id=offence.id,
            person_id=offence.person_id,
            referred_at=referred_at,
            referring_team=team,
            eligibility="override" if history["not_engaged"] else "eligible",
            override_reason=override if history["not_engaged"] else None,
            repeat=bool(history["complied"]),
        )
        saved.row_id = _insert(s, user, referral, reason=referral.override_reason)
        return saved

    return write(work, session=session, engine=engine)


def _referral(s: Session, c: Checker, field_name: str = "referral_reference") -> Referral | None:
    reference = c.reference(field_name)
    if reference is None:
        return None
    referral = s.execute(select(Referral).where(Referral.reference == reference)).scalars().first()
    if referral is None:
        c.fail(field_name, "is not a known referral")
    return referral


# --- assessments ----------------------------------------------------------------------------
def record_assessment(values: dict, user: str, *, session=None, engine=None) -> Saved:
    def work(s):
        c = Checker(values)
        referral = _referral(s, c)
        floor = referral.referred_at if referral else None
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
        if referral is not None:
            if referral.status == "closed":
                c.fail("referral_reference", "is closed")
            if s.execute(select(Assessment.id).where(Assessment.referral_id == referral.id)).first():
                c.fail("referral_reference", "already has an assessment (edit it instead)")
        check(c)
        row = Assessment(
            referral_id=referral.id,
            contact_attempts=attempts,
            first_contact_at=first_contact,
            scheduled_at=scheduled,
            completed_at=completed,
            result=result,
            harm_reduction_advice=advice,
            allocation=allocation,
            worker=worker,
            **flags,
        )
        return Saved(True, _insert(s, user, row))

    return write(work, session=session, engine=engine)


# --- course sessions and bookings -----------------------------------------------------------
def add_session(values: dict, user: str, *, session=None, engine=None) -> Saved:
    def work(s):
        c = Checker(values)
        ref = c.reference("session_ref")
        starts_at = c.moment("starts_at", required=True, future_ok=True)
        duration = c.integer("duration_minutes", low=15, high=600) or 150
        mode = c.code("mode", codes.DELIVERY_MODES, required=False, upper=False) or "online"
        seats = c.integer("seats", required=True, low=1, high=100)
        facilitator = c.text("facilitator", max_length=40)
        if ref and s.execute(select(CourseSession.id).where(CourseSession.session_ref == ref)).first():
            c.fail("session_ref", "is already recorded")
        check(c)
        row = CourseSession(
            session_ref=ref,
            starts_at=starts_at,
            duration_minutes=duration,
            mode=mode,
            seats=seats,
            facilitator=facilitator,
        )
        return Saved(True, _insert(s, user, row))

    return write(work, session=session, engine=engine)


def seats_taken(s: Session, session_id: int) -> int:
    query = select(func.count(Booking.id)).where(
        Booking.session_id == session_id, Booking.status.in_(codes.SEAT_HOLDING)
    )
    return s.execute(query).scalar_one()


def book(values: dict, user: str, *, session=None, engine=None) -> Saved:
    """Book an allocated referral into a course session, within the session's seats."""

    def work(s):
        c = Checker(values)
        referral = _referral(s, c)
        ref = c.reference("session_ref")
        booked_at = c.moment("booked_at") or now()
        course = None
        if ref:
            course = s.execute(select(CourseSession).where(CourseSession.session_ref == ref)).scalars().first()
            if course is None:
                c.fail("session_ref", "is not a known session")
        if referral is not None:
            allocation = s.execute(
                select(Assessment.allocation).where(Assessment.referral_id == referral.id)
            ).scalar()
            if referral.status == "closed":
                c.fail("referral_reference", "is closed")
            elif allocation != "group_course":
                c.fail("referral_reference", "is not allocated to a group course")
        if referral is not None and course is not None:
            taken = s.execute(
                select(Booking.id).where(
                    Booking.referral_id == referral.id, Booking.session_id == course.id
                )
            ).first()
            if taken:
                c.fail("session_ref", "already has this referral booked")
            elif seats_taken(s, course.id) >= course.seats:
                c.fail("session_ref", f"is full ({course.seats} seats)")
        check(c)
        row = Booking(referral_id=referral.id, session_id=course.id, booked_at=booked_at)
        return Saved(True, _insert(s, user, row))

    return write(work, session=session, engine=engine)


def mark_attendance(session_id: int, statuses: dict[int, str], user: str, *, engine=None) -> Saved:
    """The attendance register: set many bookings' status in one save."""

    def work(s):
        problems = []
        for booking_id, status in statuses.items():
            if status not in codes.BOOKING_STATUSES:
                problems.append(Problem("status", status, "is not a booking status", row=booking_id))
        bookings = {
            b.id: b
            for b in s.execute(select(Booking).where(Booking.session_id == session_id)).scalars()
        }
        for booking_id in statuses:
            if booking_id not in bookings:
                problems.append(Problem("booking", booking_id, "is not booked on this session"))
        if problems:
            raise Rejected(problems)
        for booking_id, status in statuses.items():
            booking = bookings[booking_id]
            if booking.status != status:
                before = as_dict(booking)
                booking.status = status
                booking.version += 1
                s.flush()
                audit(s, user, "update", "booking", booking.id, before, as_dict(booking))
        return Saved(True, session_id)

    return write(work, session=None, engine=engine)


# --- closures -------------------------------------------------------------------------------
def close_referral(values: dict, user: str, *, session=None, engine=None) -> Saved:
    def work(s):
        c = Checker(values)
        referral = _referral(s, c)
        floor = referral.referred_at if referral else None
        closed_on = c.day("closed_on", required=True, not_before=floor)
        result = c.code("result", codes.CLOSURE_RESULTS, upper=False)
        log_date = c.day("intelligence_log_date", not_before=floor)
        onward = c.boolean("onward_treatment")
        if result == "not_engaged" and log_date is None:
            c.fail("intelligence_log_date", "is required when the person did not engage")
        if result == "complied" and log_date is not None:
            c.fail("intelligence_log_date", "is only for a closure as not engaged")
        if referral is not None and referral.status == "closed":
            c.fail("referral_reference", "is already closed")
        check(c)
        row = Closure(
            referral_id=referral.id,
            closed_on=closed_on,
            result=result,
            intelligence_log_date=log_date,
            onward_treatment=onward,
        )
        row_id = _insert(s, user, row)
        update_row(s, user, referral, {"status": "closed"})
        return Saved(True, row_id)

    return write(work, session=session, engine=engine)


# --- edits with optimistic concurrency ------------------------------------------------------
def update_row(s: Session, user: str, row: SQLModel, changes: dict, reason: str | None = None):
    before = as_dict(row)
    model = type(row)
    values = dict(changes)
    if hasattr(row, "version"):
        values["version"] = row.version + 1
        condition = (model.id == row.id) & (model.version == row.version)
    else:
        condition = model.id == row.id
    result = s.execute(update(model).where(condition).values(**values))
    if result.rowcount != 1:
        raise Rejected(
            [Problem("version", getattr(row, "version", None), "someone else changed this record; reload it")]
        )
    s.refresh(row)
    audit(s, user, "update", row.__tablename__, row.id, before, as_dict(row), reason)


def set_setting(key: str, value: Any, user: str, *, engine=None) -> Saved:
    def work(s):
        row = s.get(Setting, key)
        text = json.dumps(value, default=str)
        if row is None:
            s.add(Setting(key=key, value=text))
            s.flush()
            audit(s, user, "create", "setting", key, None, {"value": value})
        else:
            before = json.loads(row.value)
            row.value = text
            s.flush()
            audit(s, user, "update", "setting", key, {"value": before}, {"value": value})
        return Saved(True)

    return write(work, session=None, engine=engine)


def get_setting(s: Session, key: str, default: Any = None) -> Any:
    row = s.get(Setting, key)
    return default if row is None else json.loads(row.value)

