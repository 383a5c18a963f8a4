"""The fields of a person, an offence and a referral, and their rules: the one set, used by the
write path for a form or a single row (divert.records.offences, divert.records.referrals) and by
imports checking many rows at once (divert.ingest.row_checks), so that a value refused by one is
refused by the other, in the same order and with the same words. `c` is a
divert.core.field_rules.Checker (or the import's caching one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from divert.core import clock, codes
from divert.core.field_rules import Checker

MIN_AGE, MAX_AGE = 10, 110


# One rule per field, by name: the same check wherever the field is typed, imported or corrected
# (divert.records.corrections checks only the fields a correction changes).
FIELD_RULES: dict[str, Callable[[Checker], object]] = {
    "person_ref": lambda c: c.text("person_ref", required=True, max_length=60),
    "sex": lambda c: c.code("sex", codes.SEXES, required=False) or "U",
    "birth_year": lambda c: c.integer("birth_year", low=1900, high=clock.today().year - MIN_AGE),
    "ethnicity_self": lambda c: c.code("ethnicity_self", codes.ETHNICITY_SELF, required=False,
                                       aliases=codes.ETHNICITY_SELF_ALIASES),
    "ethnicity_officer": lambda c: c.code("ethnicity_officer", codes.ETHNICITY_OFFICER, required=False),
    "crime_ref": lambda c: c.reference("crime_ref"),
    "offence_date": lambda c: c.day("offence_date", required=True),
    "drug": lambda c: c.code("drug", codes.DRUGS),
    "source": lambda c: c.code("source", codes.REFERRAL_SOURCES, upper=False),
    "reference": lambda c: c.reference("reference"),
    "referred_at": lambda c: c.moment("referred_at", required=True),
    "referring_team": lambda c: c.text("referring_team", max_length=80),
    "override_reason": lambda c: c.text("override_reason", max_length=2000),
    "outcome": lambda c: c.integer("outcome"),
}


def _one(c: Checker, name: str, rule: Callable[[Checker], object]):
    batch = getattr(c, "batch", None)
    column = batch.get(name) if batch else None
    if column is None:
        return rule(c)
    problems = column.problems.get(c.row)
    if problems:
        c.problems.extend(problems)
    return column.values[c.row]


def _checked(c: Checker, *names: str) -> dict:
    """The named fields by their rules, or - for an import checking whole columns at once
    (divert.ingest.row_checks.batch_rules) - as the rules found them for this row."""
    batch = getattr(c, "batch", None)
    if batch and c.row not in batch.troubled:  # no checked column has a problem in this row
        return {name: batch[name].values[c.row] if name in batch else FIELD_RULES[name](c) for name in names}
    return {name: _one(c, name, FIELD_RULES[name]) for name in names}


def person_fields(c: Checker) -> dict:
    """person_ref (hashed by the caller, never stored), sex, birth year and both ethnicities."""
    return _checked(c, "person_ref", "sex", "birth_year", "ethnicity_self", "ethnicity_officer")


def offence_fields(c: Checker, area: Callable[[Checker], str | None]) -> dict:
    """The offence's own fields; `area` checks the area against the force's local authorities."""
    crime_ref, offence_date = _checked(c, "crime_ref", "offence_date").values()
    area_code = _one(c, "area", area)
    drug, source = _checked(c, "drug", "source").values()
    outcome = _checked(c, "outcome")["outcome"]
    if outcome is not None and outcome not in codes.HOCR_OUTCOMES:
        c.fail("outcome", "is not a Home Office outcome code")
    outcome_date = _one(c, "outcome_date", lambda c: c.day("outcome_date", not_before=offence_date))
    if outcome_date is not None and outcome is None:
        c.fail("outcome_date", "is given without an outcome")
    return {"crime_ref": crime_ref, "offence_date": offence_date, "area": area_code, "drug": drug, "source": source,
            "outcome": outcome, "outcome_date": outcome_date}


def age_at_offence(c: Checker, offence_date: date, birth_year: int | None) -> int | None:
    """The person's age in the offence's year, refused outside 10 to 110."""
    return age_in_year(c, offence_date.year, birth_year)


def age_in_year(c: Checker, year: int, birth_year: int | None) -> int | None:
    """age_at_offence by the offence's year alone (all it reads of the date)."""
    if not birth_year:
        return None
    age = year - birth_year
    if not MIN_AGE <= age <= MAX_AGE:
        c.fail("birth_year", f"gives an age of {age} at the offence")
    return age


def offence_not_after_referral(c: Checker, offence_date: date, referred_on: date) -> bool:
    """A new offence recorded with its referral is not after the day of the referral (False: it
    is, and `c` says so)."""
    if offence_date > referred_on:
        c.fail("offence_date", f"is after the referral ({referred_on})")
        return False
    return True


def referral_fields(c: Checker) -> dict:
    """The referral's own fields (its offence is found or recorded by the caller)."""
    return _checked(c, "reference", "referred_at", "referring_team", "override_reason")


def existing_offence(c: Checker, *, has_referral: bool, has_person: bool, referred_at, offence_date: date) -> None:
    """A referral for an offence already recorded: the offence has no referral yet, has its
    person, and the referral is not before it."""
    if has_referral:
        c.fail("crime_ref", "already has a referral")
    if not has_person:
        c.fail("crime_ref", "has no person recorded against the offence")
    if referred_at and referred_at.date() < offence_date:
        c.fail("referred_at", f"is before the offence ({offence_date})")
