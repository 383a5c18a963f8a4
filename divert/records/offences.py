"""People and recorded possession offences (the force's crime extract, or typed with a referral)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from divert.core.field_rules import Checker, Problem
from divert.core.record_fields import age_at_offence, offence_fields, person_fields
from divert.records import programme_profile
from divert.records.core import Rejected, Saved, check, save, write
from divert.records.pseudonym import PersonKeyProblem, checked_key, person_key
from divert.reference import census
from divert.storage.models import Offence, Person, Referral

PERSON_FIELDS = ("person_ref", "sex", "birth_year", "ethnicity_self", "ethnicity_officer")
OFFENCE_FIELDS = ("crime_ref", "offence_date", "area", "drug", "source", "outcome", "outcome_date")


def find_person(s: Session, c: Checker) -> Person | None:
    """Find or create the person from person_ref (hashed, never stored) and demographics."""
    fields = person_fields(c)
    if fields["person_ref"] is None or c.problems:
        return None
    try:
        key = person_key(fields.pop("person_ref"), key=checked_key(s))
    except PersonKeyProblem as problem:
        raise Rejected([Problem("person_ref", None, str(problem))]) from problem
    person = s.execute(select(Person).where(Person.person_key == key)).scalars().first()
    if person is None:
        person = Person(person_key=key, **fields)
        s.add(person)
        s.flush()
    return person


def area_code(c: Checker, force: str, field_name: str = "area") -> str | None:
    """One of the force area's local authorities, by code or name (the census's)."""
    from divert.reference.forces import UnknownForce

    try:
        areas = census.areas_of(force)
    except UnknownForce:
        areas = None
    if areas:
        return c.code(field_name, areas, upper=True)
    return c.text(field_name, required=True, max_length=12)


def offence_by_ref(s: Session, force: str, crime_ref: str) -> Offence | None:
    query = select(Offence).where(Offence.force == force, Offence.crime_ref == crime_ref)
    return s.execute(query).scalars().first()


def offence_from(s: Session, c: Checker, force: str, *, upsert: bool = False) -> Offence:
    """Validate the offence fields (raising Rejected with every problem) and build the row."""
    fields = offence_fields(c, lambda c: area_code(c, force))
    person = find_person(s, c)
    if fields["crime_ref"] and not upsert and offence_by_ref(s, force, fields["crime_ref"]) is not None:
        c.fail("crime_ref", "is already recorded")
    check(c)
    age = age_at_offence(c, fields["offence_date"], person.birth_year)
    check(c)
    return Offence(force=force, person_id=person.id, age=age, **fields)


def person_change_problem(s: Session, existing: Offence, person_id: int) -> Problem | None:
    """An offence already recorded against another person: refused while a referral hangs on
    it (the referral would stay with the old person); otherwise the change is an audited update."""
    if existing.person_id is None or existing.person_id == person_id:
        return None
    referral = s.execute(select(Referral.reference).where(Referral.offence_id == existing.id)).scalar()
    if referral is None:
        return None
    return Problem(
        "person_ref", None,
        f"names a different person from the one offence {existing.crime_ref} and its referral "
        f"{referral} are recorded against: correct the person on the referral in Divert, not by import",
    )


def add_offence(values: dict, user: str, *, session=None, engine=None, upsert=False) -> Saved:
    def work(s):
        force = values.get("force") or programme_profile.force_in(s)
        offence = offence_from(s, Checker(values), force, upsert=upsert)
        existing = offence_by_ref(s, force, offence.crime_ref) if upsert else None
        if existing is not None:
            problem = person_change_problem(s, existing, offence.person_id)
            if problem is not None:
                raise Rejected([problem])
        return save(s, user, offence, {"force": force, "crime_ref": offence.crime_ref}, upsert=upsert)

    return write(work, session=session, engine=engine)
