"""Published data: police.uk stop-and-search rows and census population denominators."""

from __future__ import annotations

from collections.abc import Callable

from divert.core import codes
from divert.core.environment import current_force
from divert.core.field_rules import Checker
from divert.records.core import Saved, check, save, write
from divert.reference import policeuk
from divert.storage.models import Population, StopSearch

SEARCH_TYPES = tuple(policeuk.SEARCH_TYPE.labels)
GEOGRAPHY_LEVELS = ("force", "local_authority", "area")


def _published(c: Checker, field: str, vocabulary: policeuk.Vocabulary, *, required=False) -> str | None:
    """The normalised value of a field as police.uk published it (any of its wordings since
    2014); an unknown wording is a problem naming the nearest known ones."""
    value = c.raw(field)
    if value is None:
        if required:
            c.fail(field, "is required")
        return None
    normalised = vocabulary.normalise(value)
    if normalised is None:
        c.fail(field, vocabulary.unknown(value))
    return normalised


def _self_defined(c: Checker) -> tuple[str | None, str | None]:
    """The self-defined ethnicity as published (label) and its 18+1 code."""
    label = c.text("Self-defined ethnicity", max_length=120)
    return label, _published(c, "Self-defined ethnicity", policeuk.SELF_DEFINED) if label is not None else None


# A police.uk row's fields: stored field -> (the file's column, its rule), in the order checked.
# The one set of rules for a row (add_stop_search) and for a whole file at once (divert.ingest.search_checks).
STOP_SEARCH_FIELDS: dict[str, tuple[str, Callable[[Checker], object]]] = {
    "search_type": ("Type", lambda c: _published(c, "Type", policeuk.SEARCH_TYPE, required=True)),
    "searched_at": ("Date", lambda c: c.moment("Date", required=True)),
    "part_of_operation": ("Part of a policing operation",
                          lambda c: c.boolean("Part of a policing operation", default=None)),
    "latitude": ("Latitude", lambda c: c.number("Latitude", low=-90, high=90)),
    "longitude": ("Longitude", lambda c: c.number("Longitude", low=-180, high=180)),
    "ethnicity_self": ("Self-defined ethnicity", _self_defined),  # (label, code)
    "ethnicity_officer": ("Officer-defined ethnicity",
                          lambda c: _published(c, "Officer-defined ethnicity", policeuk.OFFICER_DEFINED)),
    "age_range": ("Age range", lambda c: _published(c, "Age range", policeuk.AGE_RANGE)),
    "operation_name": ("Policing operation", lambda c: c.text("Policing operation", max_length=200)),
    "gender": ("Gender", lambda c: _published(c, "Gender", policeuk.GENDER)),
    "legislation": ("Legislation", lambda c: c.text("Legislation", max_length=200)),
    "object_of_search": ("Object of search", lambda c: _published(c, "Object of search", policeuk.OBJECT_OF_SEARCH)),
    "outcome": ("Outcome", lambda c: _published(c, "Outcome", policeuk.OUTCOME)),
    "outcome_linked": ("Outcome linked to object of search",
                       lambda c: c.boolean("Outcome linked to object of search", default=None)),
    "removal_of_clothing": ("Removal of more than just outer clothing",
                            lambda c: c.boolean("Removal of more than just outer clothing", default=None)),
    "source_file": ("source_file", lambda c: c.text("source_file", required=True, max_length=120)),
    "source_row": ("source_row", lambda c: c.integer("source_row", required=True, low=1)),
}


def stop_search_row(found: dict, force: str) -> dict:
    """The stored row from the checked fields (STOP_SEARCH_FIELDS' values)."""
    row = dict(found)
    row["ethnicity_self_label"], row["ethnicity_self_code"] = row.pop("ethnicity_self")
    return {"force": force, **row}


def add_stop_search(values: dict, user: str, *, session=None, engine=None, upsert=False) -> Saved:
    """One police.uk row as published, any year since 2014. `source_file`/`source_row`
    identify it, so importing the same file twice adds nothing. Self-defined ethnicity is
    kept as published (label) and as its 18+1 code; type, gender, age range, object of search,
    outcome and officer-defined ethnicity are stored in their current police.uk wording
    (divert.reference.policeuk: `Suspect arrested` is stored as `Arrest`), so every year reads alike.
    Officer-defined ethnicity is never filled from the self-defined one."""

    def work(s):
        c = Checker(values)
        found = {name: rule(c) for name, (_, rule) in STOP_SEARCH_FIELDS.items()}
        row = StopSearch(**stop_search_row(found, values.get("force") or current_force()))
        check(c)
        key = {"source_file": row.source_file, "source_row": row.source_row}
        return save(s, user, row, key, upsert=upsert)

    return write(work, session=session, engine=engine)


def add_population(values: dict, user: str, *, session=None, engine=None, upsert=False) -> Saved:
    """A census denominator: people in a geography x ethnic group (x sex x age band)."""

    def work(s):
        c = Checker(values)
        year = c.integer("census_year", required=True, low=1991, high=2041)
        level = c.code("geography_level", GEOGRAPHY_LEVELS, upper=False)
        ethnicity = c.text("ethnicity", required=True, max_length=20)
        allowed = set(codes.ETHNICITY_SELF) | set(codes.BROAD_GROUPS) | {"All", "Other incl. Mixed"}
        if ethnicity is not None and ethnicity not in allowed:
            c.fail("ethnicity", "is not an 18+1 code, a broad group or All")
        sex = c.code("sex", ("all", "M", "F"), required=False, upper=False) or "all"
        age_band = c.text("age_band", max_length=12) or "all"
        row = Population(
            census_year=year,
            geography_level=level,
            geography_code=c.text("geography_code", required=True, max_length=40),
            geography_name=c.text("geography_name", required=True, max_length=120),
            force=c.text("force", max_length=40),
            ethnicity=ethnicity,
            sex=sex,
            age_band=age_band,
            count=c.integer("count", required=True, low=0),
            source=c.text("source", required=True, max_length=200),
        )
        check(c)
        key = {k: getattr(row, k) for k in ("census_year", "geography_code", "ethnicity", "sex", "age_band")}
        return save(s, user, row, key, upsert=upsert)

    return write(work, session=session, engine=engine)
