"""Corrections of a referral's every field, and voiding records entered by mistake.

- `correct_referral`: the referral's own fields, its offence's and its person's (or the person
  it belongs to), with a reason. The referral's version is checked as before; each offence or
  person field changed must still hold the value the user loaded (`loaded`), so that nobody's
  change is overwritten unseen. A correction that would break a rule is refused with the
  reason; one that makes the referral an offer the person's history or the programme's rules
  would not make (after a non-engagement; after a completion when there is no second offer)
  needs an override reason, as a new referral does.
- `correct_closure`: a closure's date, result, intelligence-log date and onward referral.
- `void_referral` / `undo_void_referral`, `void_session` / `undo_void_session`: a record
  entered by mistake is kept, marked void (when, by whom, why) and left out of every figure
  (divert.analytics.data.frames) and every work list; only an administrator can undo a void.

Voiding a referral, undoing its void, correcting its time or person and correcting a closure
change the person's history: the person's other referrals follow in the same transaction
(divert.records.history.following: repeat flags recomputed, eligibility decisions kept, each
audited with why).

Every write here is audited (actions "update", "void", "undo void") and bumps data_version.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlmodel import Session

from divert.core import codes, wording
from divert.core.environment import current_force
from divert.core.field_rules import Checker, Problem
from divert.core.record_fields import FIELD_RULES, MAX_AGE, MIN_AGE
from divert.records import programme_profile
from divert.records.core import (
    Rejected,
    Saved,
    apply_changes,
    as_dict,
    as_utc,
    audit,
    check,
    editable,
    now,
    update_row,
    write,
)
from divert.records.history import barriers, following, person_past
from divert.records.offences import area_code
from divert.records.pseudonym import checked_key, person_key
from divert.reference import programme
from divert.storage.models import (
    Assessment,
    Booking,
    Closure,
    ContactAttempt,
    CourseSession,
    Offence,
    Person,
    Referral,
    User,
)

REFERRAL_FIELDS = ("reference", "referred_at", "referring_team")
OFFENCE_FIELDS = ("crime_ref", "offence_date", "area", "drug", "source")
PERSON_FIELDS = ("sex", "birth_year", "ethnicity_self", "ethnicity_officer")
CORRECTABLE = (*REFERRAL_FIELDS, *OFFENCE_FIELDS, "person_ref", *PERSON_FIELDS)
STALE = "someone else changed this record; reload it"


def _refuse(field: str, value, reason: str):
    raise Rejected([Problem(field, value, reason)])


def _reason(reason: str | None) -> str:
    if not (reason or "").strip():
        _refuse("reason", reason, "is required to change a record")
    return reason.strip()


# --- eligibility, as a new referral is checked ---------------------------------------------
def _eligibility(s, c: Checker, referral: Referral, person_id: int, referred_at, age: int | None, drug: str,
                 override: str | None, notes: list[str]) -> dict:
    """The referral's eligibility, repeat flag and override by the person's history before
    `referred_at` and the programme's rules, as a new referral is checked."""
    history = person_past(s, person_id, referral.id, referred_at)
    profile = programme_profile.in_session(s)
    repeat = bool(history.complied)
    reasons = barriers(profile, history) + programme.ineligible(profile, age, drug, False)
    if not reasons:
        if referral.eligibility == "override":
            notes.append("the referral no longer needs its override: neither the person's history nor the "
                         "programme's rules stop the offer")
        return {"eligibility": "eligible", "override_reason": None, "repeat": repeat}
    if override:
        notes.append("offered on override: " + "; ".join(reasons))
        return {"eligibility": "override", "override_reason": override, "repeat": repeat}
    if referral.eligibility == "override" and person_id == referral.person_id:
        return {"repeat": repeat}
    if history.not_engaged:
        c.fail("override_reason", "this person did not engage before (intelligence log "
               f"{history.last_intelligence_log}): this correction makes the referral a new offer, which needs an "
               "override reason", value="")
    else:
        c.fail("override_reason", "outside the programme's eligibility rules (" + "; ".join(reasons)
               + "): this correction makes the referral a new offer, which needs an override reason", value="")
    return {}


# --- correcting a referral, its offence and its person -------------------------------------
def correct_referral(referral_id: int, changes: dict, loaded: dict, user: str, reason: str, expected_version: int,
                     *, override_reason: str | None = None, engine=None) -> Saved:
    """Correct any of CORRECTABLE (only the fields in `changes`). `loaded` holds the values the
    user saw for those fields; `person_ref` moves the referral (and its offence) to another
    person, found by their identifier or recorded new with the sex, year of birth and ethnicity
    given (or shown)."""

    def work(s):
        why = _reason(reason)
        referral, offence, person = _current(s, referral_id, changes, loaded, expected_version)
        c = Checker(changes)
        new = _checked_changes(s, c, changes, referral, offence)
        ref = c.text("person_ref", max_length=60) if "person_ref" in changes else None
        check(c)
        notes: list[str] = []
        target = _target_person(s, ref, person, new, loaded, notes)
        referred_at = as_utc(new.get("referred_at", referral.referred_at))
        offence_date = new.get("offence_date", offence.offence_date)
        outcome_date = offence.outcome_date
        if offence.outcome == 8 and outcome_date == as_utc(referral.referred_at).date():
            outcome_date = referred_at.date()  # the Community Resolution given at the referral moves with it
        _check_dates(s, c, referral, offence, referred_at, offence_date, outcome_date)
        birth_year = new.get("birth_year", target.birth_year)
        _check_ages(s, c, target, offence, offence_date, birth_year, "birth_year" if "birth_year" in new else "offence_date")
        check(c)
        eligibility = {}
        if target.id != person.id or "referred_at" in new:
            age = None if birth_year is None else offence_date.year - birth_year
            eligibility = _eligibility(s, c, referral, target.id, referred_at, age,
                                       new.get("drug", offence.drug), (override_reason or "").strip() or None, notes)
            check(c)
        changed = _apply_correction(s, user, why, (referral, offence, person, target), new, eligibility, outcome_date)
        return Saved(True, referral.id, change="updated" if changed else "unchanged", notes=notes)

    return write(work, session=None, engine=engine)


def _current(s, referral_id: int, changes: dict, loaded: dict, expected_version: int):
    """The referral, its offence and its person, refused if unknown, void, or changed since the
    user loaded them (the referral's version; each offence or person field's loaded value)."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        _refuse(unknown[0], changes[unknown[0]], "cannot be corrected here")
    referral = s.get(Referral, referral_id)
    if referral is None:
        _refuse("referral", referral_id, "is not a known referral")
    if referral.void_at is not None:
        _refuse("referral", referral.reference, "is void: an administrator must undo the void before correcting it")
    if referral.version != expected_version:
        _refuse("version", expected_version, STALE)
    offence = s.get(Offence, referral.offence_id)
    person = s.get(Person, referral.person_id)
    for name in changes:
        row = offence if name in OFFENCE_FIELDS else person if name in PERSON_FIELDS else None
        if row is not None and name in loaded and getattr(row, name) != loaded[name]:
            _refuse("version", expected_version, STALE)
    return referral, offence, person


def _checked_changes(s, c: Checker, changes: dict, referral: Referral, offence: Offence) -> dict:
    """Each changed field checked by its one rule (divert.core.record_fields), the area against
    the force's areas, and a new reference or crime reference refused if already recorded."""
    new = {}
    for name in (*REFERRAL_FIELDS, *OFFENCE_FIELDS, *PERSON_FIELDS):
        if name in changes:
            new[name] = area_code(c, offence.force or current_force()) if name == "area" else FIELD_RULES[name](c)
    if new.get("reference") and new["reference"] != referral.reference and s.execute(
            select(Referral.id).where(Referral.reference == new["reference"])).first():
        c.fail("reference", "is already recorded")
    if new.get("crime_ref") and s.execute(select(Offence.id).where(
            Offence.force == offence.force, Offence.crime_ref == new["crime_ref"], Offence.id != offence.id)).first():
        c.fail("crime_ref", "is already recorded")
    return new


def _target_person(s, ref: str | None, person: Person, new: dict, loaded: dict, notes: list[str]) -> Person:
    """The person the referral belongs to after the correction: the same one, or the one `ref`
    identifies (recorded new, with the fields given or shown, if nobody has that identifier)."""
    if not ref:
        return person
    key = person_key(ref, key=checked_key(s))
    target = s.execute(select(Person).where(Person.person_key == key)).scalars().first()
    if target is None:
        shown = {name: new.get(name, loaded.get(name, getattr(person, name))) for name in PERSON_FIELDS}
        target = Person(person_key=key, **shown)
        s.add(target)
        s.flush()
        notes.append("recorded as a new person")
    elif target.id == person.id:
        notes.append("the identifier is the same person's: nothing to move")
    return target


def _check_ages(s, c: Checker, target: Person, offence: Offence, offence_date, birth_year, field: str) -> None:
    """Every offence of the person must still give an age from 10 to 110."""
    for row in _offences_of(s, target, offence):
        day = offence_date if row.id == offence.id else row.offence_date
        age = None if birth_year is None else day.year - birth_year
        if age is not None and not MIN_AGE <= age <= MAX_AGE:
            c.fail(field, f"gives an age of {age} at the offence of {wording.day(day)}")


def _apply_correction(s, user: str, why: str, rows: tuple[Referral, Offence, Person, Person], new: dict,
                      eligibility: dict, outcome_date) -> bool:
    """Write the checked changes to the referral, its offence and the person, move them to
    `target` if it is another person, and bring the person's ages up to date: whether anything
    changed."""
    referral, offence, person, target = rows
    moved = {"person_id": target.id} if target.id != person.id else {}
    changed = False
    cause = f"referral {new.get('reference') or referral.reference} was corrected"
    with following(s, user, cause, {person.id, target.id}):
        referral_changes = {k: new[k] for k in REFERRAL_FIELDS if k in new} | moved | eligibility
        changed |= apply_changes(s, user, referral, referral_changes, why).change == "updated"
    offence_changes = {k: new[k] for k in OFFENCE_FIELDS if k in new} | {"outcome_date": outcome_date} | moved
    changed |= apply_changes(s, user, offence, offence_changes, why).change == "updated"
    person_changes = {k: new[k] for k in PERSON_FIELDS if k in new}
    if person_changes:
        changed |= apply_changes(s, user, target, person_changes, why).change == "updated"
    for row in _offences_of(s, target, offence):
        age = None if target.birth_year is None else row.offence_date.year - target.birth_year
        if row.age != age:
            update_row(s, user, row, {"age": age}, why)
            changed = True
    return changed


def _offences_of(s, person: Person, offence: Offence) -> list[Offence]:
    rows = list(s.execute(select(Offence).where(Offence.person_id == person.id)).scalars())
    return rows if any(r.id == offence.id for r in rows) else [*rows, offence]


def _check_dates(s, c: Checker, referral: Referral, offence: Offence, referred_at, offence_date, outcome_date) -> None:
    """The rules between the referral's time, the offence's day and what came after."""
    day = referred_at.date()
    if offence_date > day:
        c.fail("offence_date" if offence_date != offence.offence_date else "referred_at",
               f"would put the offence ({wording.day(offence_date)}) after the referral ({wording.day(day)})")
    if outcome_date is not None and offence_date > outcome_date:
        c.fail("offence_date", f"would be after the offence's outcome date ({wording.day(outcome_date)})")
    later = []
    assessment = s.execute(select(Assessment).where(Assessment.referral_id == referral.id)).scalars().first()
    if assessment is not None:
        later += [("the assessment", m) for m in (assessment.first_contact_at, assessment.completed_at) if m]
    first_contact = s.execute(select(func.min(ContactAttempt.attempted_at))
                              .where(ContactAttempt.referral_id == referral.id)).scalar()
    if first_contact:
        later.append(("the first contact attempt", first_contact))
    for what, moment in later:
        if as_utc(moment) < referred_at:
            c.fail("referred_at", f"would be after {what} ({wording.moment(as_utc(moment))} UK time)")
            return
    closed = s.execute(select(Closure.closed_on).where(Closure.referral_id == referral.id)).scalar()
    if closed is not None and closed < day:
        c.fail("referred_at", f"would be after the closure ({wording.day(closed)})")


# --- correcting a closure -----------------------------------------------------------------
def correct_closure(closure_id: int, values: dict, user: str, reason: str, expected_version: int, *,
                    engine=None) -> Saved:
    """A closure's day, result, intelligence-log day and onward referral, by the rules of closing."""

    def work(s):
        row = editable(s, Closure, closure_id, expected_version, reason, "closure")
        referral = s.get(Referral, row.referral_id)
        c = Checker(values)
        closed_on = c.day("closed_on", required=True, not_before=referral.referred_at)
        result = c.code("result", codes.CLOSURE_RESULTS, upper=False)
        log_date = c.day("intelligence_log_date", not_before=referral.referred_at)
        onward = c.boolean("onward_treatment")
        if result == "not_engaged" and log_date is None:
            c.fail("intelligence_log_date", "is required when the person did not engage")
        if result == "complied" and log_date is not None:
            c.fail("intelligence_log_date", "is only for a closure as not engaged")
        check(c)
        with following(s, user, f"the closure of referral {referral.reference} was corrected", [referral.person_id]):
            return apply_changes(s, user, row, {"closed_on": closed_on, "result": result,
                                                "intelligence_log_date": log_date, "onward_treatment": onward}, reason)

    return write(work, session=None, engine=engine)


# --- voiding --------------------------------------------------------------------------------
def _admin(s: Session, user: str) -> None:
    """Undoing a void is for an administrator: checked on the account as stored now."""
    role = s.execute(select(User.role).where(User.username == user, User.active.is_(True))).scalar()
    if role != "admin":
        _refuse("user", user, "only an administrator can undo a void")


def _mark(s: Session, user: str, row, values: dict, action: str, why: str) -> None:
    """Set or clear a row's void fields (version checked where the row has one), audited."""
    before = as_dict(row)
    model = type(row)
    condition = model.id == row.id
    if hasattr(row, "version"):
        values = {**values, "version": row.version + 1}
        condition = condition & (model.version == row.version)
    if s.execute(update(model).where(condition).values(**values)).rowcount != 1:
        _refuse("version", getattr(row, "version", None), STALE)
    s.refresh(row)
    audit(s, user, action, row.__tablename__, row.id, before, as_dict(row), why)


def _voidable(s, model, row_id: int, expected_version: int, what: str):
    row = s.get(model, row_id)
    if row is None:
        _refuse(what, row_id, f"is not a known {what}")
    if row.version != expected_version:
        _refuse("version", expected_version, STALE)
    return row


def void_referral(referral_id: int, reason: str, user: str, expected_version: int, *, with_offence: bool = True,
                  engine=None) -> Saved:
    """Mark a referral entered by mistake void (and its offence, unless the offence is real and
    only the referral was a mistake). Its assessment, bookings and closure stay with it, out of
    every figure; its seats are free again."""

    def work(s):
        why = _reason(reason)
        referral = _voidable(s, Referral, referral_id, expected_version, "referral")
        if referral.void_at is not None:
            _refuse("referral", referral.reference, "is already void")
        stamp = {"void_at": now(), "void_by": user, "void_reason": why}
        with following(s, user, f"referral {referral.reference} was voided", [referral.person_id]):
            _mark(s, user, referral, stamp, "void", why)
        notes = []
        if with_offence:
            offence = s.get(Offence, referral.offence_id)
            if offence.void_at is None:
                _mark(s, user, offence, stamp, "void", why)
                notes.append(f"its offence {offence.crime_ref} is void too")
        return Saved(True, referral.id, change="updated", notes=notes)

    return write(work, session=None, engine=engine)


def undo_void_referral(referral_id: int, reason: str, user: str, expected_version: int, *, engine=None) -> Saved:
    """An administrator puts a void referral back (with the offence voided with it)."""

    def work(s):
        why = _reason(reason)
        _admin(s, user)
        referral = _voidable(s, Referral, referral_id, expected_version, "referral")
        if referral.void_at is None:
            _refuse("referral", referral.reference, "is not void")
        offence = s.get(Offence, referral.offence_id)
        clear = {"void_at": None, "void_by": None, "void_reason": None}
        if offence.void_at is not None and as_utc(offence.void_at) == as_utc(referral.void_at):
            _mark(s, user, offence, clear, "undo void", why)
        with following(s, user, f"the void of referral {referral.reference} was undone", [referral.person_id]):
            _mark(s, user, referral, clear, "undo void", why)
        return Saved(True, referral.id, change="updated")

    return write(work, session=None, engine=engine)


def void_session(session_id: int, reason: str, user: str, expected_version: int, *, engine=None) -> Saved:
    """Mark a course session entered by mistake void; refused while anyone holds a seat on it."""

    def work(s):
        why = _reason(reason)
        row = _voidable(s, CourseSession, session_id, expected_version, "session")
        if row.void_at is not None:
            _refuse("session", row.session_ref, "is already void")
        holding = s.execute(
            select(func.count(Booking.id)).join(Referral, Referral.id == Booking.referral_id)
            .where(Booking.session_id == row.id, Booking.status.in_(codes.SEAT_HOLDING), Referral.void_at.is_(None))
        ).scalar_one()
        if holding:
            _refuse("session", row.session_ref, f"has {holding} booked: cancel or move the bookings first")
        _mark(s, user, row, {"void_at": now(), "void_by": user, "void_reason": why}, "void", why)
        return Saved(True, row.id, change="updated")

    return write(work, session=None, engine=engine)


def undo_void_session(session_id: int, reason: str, user: str, expected_version: int, *, engine=None) -> Saved:
    def work(s):
        why = _reason(reason)
        _admin(s, user)
        row = _voidable(s, CourseSession, session_id, expected_version, "session")
        if row.void_at is None:
            _refuse("session", row.session_ref, "is not void")
        _mark(s, user, row, {"void_at": None, "void_by": None, "void_reason": None}, "undo void", why)
        return Saved(True, row.id, change="updated")

    return write(work, session=None, engine=engine)
