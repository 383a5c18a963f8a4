"""People and recorded possession offences (the force's crime extract, or typed with a referral)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from divert.core import clock, codes
from divert.core.field_rules import Checker, Problem
from divert.records import programme_profile
from divert.records.core import Rejected, Saved, check, save, write
from divert.records.pseudonym import PersonKeyProblem, checked_key, person_key
from divert.reference import census
from divert.storage.models import Offence, Person, Referral

PERSON_FIELDS = ("person_ref", "sex", "birth_year", "ethnicity_self", "ethnicity_officer")
OFFENCE_FIELDS = ("crime_ref", "offence_date", "area", "drug", "source", "outcome", "outcome_date")


def find_person(s: Session, c: Checker) -> Person | None:
    """Find or create the person from person_ref (hashed, never stored) and demographics."""
    ref = c.text("person_ref", required=True, max_length=60)
    sex = c.code("sex", codes.SEXES, required=False) or "U"
    birth_year = c.integer("birth_year", low=1900, high=clock.today().year - 10)
    eth_self = c.code(
        "ethnicity_self", codes.ETHNICITY_SELF, required=False, aliases=codes.ETHNICITY_SELF_ALIASES
    )
    eth_officer = c.code("ethnicity_officer", codes.ETHNICITY_OFFICER, required=False)
    if ref is None or c.problems:
        return None
    try:
        key = person_key(ref, key=checked_key(s))
    except PersonKeyProblem as problem:
        raise Rejected([Problem("person_ref", None, str(problem))]) from problem
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
    crime_ref = c.reference("crime_ref")
    offence_date = c.day("offence_date", required=True)
    area = area_code(c, force)
    drug = c.code("drug", codes.DRUGS)
    source = c.code("source", codes.REFERRAL_SOURCES, upper=False)
    outcome = c.integer("outcome")
    if outcome is not None and outcome not in codes.HOCR_OUTCOMES:
        c.fail("outcome", "is not a Home Office outcome code")
    outcome_date = c.day("outcome_date", not_before=offence_date)
    if outcome_date is not None and outcome is None:
        c.fail("outcome_date", "is given without an outcome")
    person = find_person(s, c)
    if crime_ref and not upsert and offence_by_ref(s, force, crime_ref) is not None:
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
        outcome_date=outcome_date,
    )


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
