"""Checking an import's referrals or offences all at once, with the rules of divert.records.

The row-by-row writers (records.referrals.add_referral, records.offences.add_offence) read the database for every
row and write each row in a savepoint. Here the database is read once - the referrals, offences
and people the file names, the eligibility history of those people, the programme - and every
row is checked in memory by the same steps as the writers, in the same order, with the same
field rules (divert.core.field_rules.Checker; each rule runs once per distinct value and is
remembered), so the problems reported are the ones the writers would give. What the rows would
change becomes a records.import_writes.Plan, which records.import_writes.write_plan writes in a few statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import bindparam, cast, func, literal_column, select
from sqlmodel import Session

from divert.core.column_rules import Batch, CheckedColumn, column_rule
from divert.core.field_rules import Checker, Problem
from divert.core.record_fields import (
    FIELD_RULES,
    age_at_offence,
    existing_offence,
    offence_fields,
    offence_not_after_referral,
    person_fields,
    referral_fields,
)
from divert.records import programme_profile
from divert.records.import_writes import OFFENCE, PERSON, Plan
from divert.records.offences import area_code
from divert.records.pseudonym import person_key
from divert.records.referrals import person_history
from divert.reference import programme
from divert.storage.models import Closure, Offence, Person, Referral

KINDS = ("referrals", "offences")
CHUNK = 5_000  # values in one IN (...) list
# the fields whose rules read no other field: run on whole columns at once (batch_rules)
PERSON_BATCHED = ("person_ref", "sex", "birth_year", "ethnicity_self", "ethnicity_officer")
OFFENCE_BATCHED = ("crime_ref", "offence_date", "area", "drug", "source", "outcome")
BATCHED = {"referrals": ("reference", "referred_at", "referring_team", "override_reason", *OFFENCE_BATCHED,
                         *PERSON_BATCHED),
           "offences": (*OFFENCE_BATCHED, *PERSON_BATCHED)}
OFFENCE_COMPARED = ("force", "crime_ref", "person_id", "offence_date", "age", "area", "drug", "source", "outcome",
                    "outcome_date")


class RowFailed(Exception):
    """A row has problems (they are in its checker): nothing of it is planned."""


class CachedChecker(Checker):
    """A Checker whose field rules run once per distinct (rule, field, value, options) in an
    import and are then remembered, problems included."""

    def __init__(self, values: dict, cache: dict, batch: dict | None = None, row: int = 0):
        super().__init__(values)
        self.cache = cache
        self.batch, self.row = batch, row  # the file's columns checked at once (batch_rules), this row's place

    def _rule(self, name: str, field_name: str, options: tuple, run: Callable):
        key = (name, field_name, self.values.get(field_name), options)
        hit = self.cache.get(key)
        if hit is None:
            start = len(self.problems)
            hit = (run(), tuple(self.problems[start:]))
            self.cache[key] = hit
        elif hit[1]:
            self.problems.extend(hit[1])
        return hit[0]

    def text(self, field_name, *, required=False, max_length=200, pattern=None):
        return self._rule("text", field_name, (required, max_length, pattern),
                          lambda: Checker.text(self, field_name, required=required, max_length=max_length, pattern=pattern))

    def code(self, field_name, allowed, *, required=True, aliases=None, upper=True, noun=None):
        return self._rule("code", field_name, (id(allowed), required, id(aliases), upper, noun),
                          lambda: Checker.code(self, field_name, allowed, required=required, aliases=aliases,
                                               upper=upper, noun=noun))

    def integer(self, field_name, *, required=False, low=None, high=None):
        return self._rule("integer", field_name, (required, low, high),
                          lambda: Checker.integer(self, field_name, required=required, low=low, high=high))

    def day(self, field_name, *, required=False, future_ok=False, not_before=None):
        return self._rule("day", field_name, (required, future_ok, not_before),
                          lambda: Checker.day(self, field_name, required=required, future_ok=future_ok,
                                              not_before=not_before))

    def moment(self, field_name, *, required=False, future_ok=False, not_before=None):
        return self._rule("moment", field_name, (required, future_ok, not_before),
                          lambda: Checker.moment(self, field_name, required=required, future_ok=future_ok,
                                                 not_before=not_before))


def batch_rules(kind: str, frame, force: str) -> Batch:
    """The field rules of the kind's single fields applied to whole columns of one file at once:
    field -> (value, problems) per row, each rule run once per distinct value (the same rules,
    in the same order, as row by row: divert.core.record_fields). The area is checked against
    `force`'s areas unless the file names a force per row."""
    batch = {}
    for name in BATCHED[kind]:
        if name == "area" and "force" in frame.columns:
            continue
        column = frame.get_column(name) if name in frame.columns else pl.Series(name, [None] * frame.height, pl.String)
        batch[name] = column_rule(name, column, (lambda c: area_code(c, force)) if name == "area" else FIELD_RULES[name])
    if "outcome_date" not in frame.columns:  # no outcome date: None, whatever the offence date (its rule's answer)
        batch["outcome_date"] = CheckedColumn([None] * frame.height, {})
    return Batch(batch)


@dataclass
class _Person:
    id: int | None  # None: new in this import
    birth_year: int | None
    index: int | None = None  # its place in plan.new["person"]


@dataclass
class _Offence:
    id: int | None
    person: Any  # person id (int) or a new _Person
    offence_date: date
    age: int | None
    drug: str | None
    row: dict | None = None  # the stored row (offences: compared on re-import)
    referral: str | None = None  # the reference of its referral, if any
    index: int | None = None


@dataclass
class Context:
    """What the checks read from the database, read once."""

    force: str
    profile: programme.Programme
    key: str
    referrals: dict[str, dict] = field(default_factory=dict)
    offences: dict[tuple[str, str], _Offence] = field(default_factory=dict)
    people: dict[str, _Person] = field(default_factory=dict)
    history: dict[int, dict] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # person_ref -> its keyed hash

    def person_key(self, ref: str) -> str:
        found = self.keys.get(ref)
        if found is None:
            found = self.keys[ref] = person_key(ref, key=self.key)
        return found


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _among(s: Session, column, values: list) -> Iterable:
    """Conditions selecting `column` among `values`: one JSON array parameter (jsonb_array_elements_text
    on PostgreSQL, json_each on SQLite), which plans far faster than a long IN list and is sent as
    one string (an array parameter of 100,000 texts took the driver seconds to send)."""
    if s.get_bind().dialect.name == "postgresql" and values:
        from sqlalchemy.dialects.postgresql import JSONB

        elements = func.jsonb_array_elements_text(cast(bindparam(None, json.dumps(values)), JSONB)).table_valued("value")
        yield column.in_(select(cast(elements.c.value, column.type)))
        return
    if s.get_bind().dialect.name == "sqlite" and values:  # one JSON array parameter (json_each), not a long IN list
        listed = select(literal_column("value")).select_from(func.json_each(bindparam(None, json.dumps(values))))
        yield column.in_(listed)
        return
    for chunk in _chunks(values):
        yield column.in_(chunk)


@dataclass
class File:
    """One file of an import as the bulk path checks it: its rows, the values added to each
    (`extra`: they win over the file's), its field rules run on whole columns (batch_rules), the
    rows with a NUL character (`nul`: checked on their own) and the rows whose key an earlier row
    of the import has (`repeated`: reported, never checked)."""

    name: str
    frame: pl.DataFrame
    extra: dict
    batch: Batch
    nul: list[bool]
    repeated: dict[int, Problem]
    keys: list[str | None] = field(default_factory=list)  # each row's person key (None: no person_ref); read_context

    def raw(self, column: str) -> list:
        """The column's values as the file gives them (or as `extra` sets them), row by row."""
        if column in self.extra:
            return [self.extra[column]] * self.frame.height
        if column in self.frame.columns:
            return self.frame.get_column(column).to_list()
        return [None] * self.frame.height

    def checked(self) -> list[int]:
        """The rows that are checked (every row but the repeated ones)."""
        return [i for i in range(self.frame.height) if i not in self.repeated]


def read_context(s: Session, kind: str, files: list[File], key: str) -> Context:
    profile = programme_profile.in_session(s)
    ctx = Context(profile.force, profile, key)
    references, by_force, keys = set(), {}, set()
    for f in files:
        reference, crime_ref, force, person_ref = (f.raw(c) for c in ("reference", "crime_ref", "force", "person_ref"))
        for ref in {r for r in person_ref if isinstance(r, str) and r.strip()}:
            ctx.person_key(ref)  # each distinct identifier hashed once
        f.keys = [ctx.keys.get(r) for r in person_ref]
        for i in f.checked():
            if f.nul[i]:
                continue
            if kind == "referrals" and reference[i]:
                references.add(str(reference[i]))
            if crime_ref[i]:
                by_force.setdefault(force[i] or ctx.force, set()).add(str(crime_ref[i]))
            if f.keys[i] is not None:
                keys.add(f.keys[i])
    for among in _among(s, Referral.reference, sorted(references)):
        query = select(Referral.id, Referral.reference, Referral.offence_id, Referral.person_id, Referral.referred_at,
                       Referral.referring_team, Referral.version).where(among)
        for row in s.execute(query).mappings():
            ctx.referrals[row["reference"]] = dict(row)
    columns = [Offence.id, *[getattr(Offence, name) for name in OFFENCE_COMPARED]]
    for force, refs in by_force.items():
        for among in _among(s, Offence.crime_ref, sorted(refs)):
            query = (select(*columns, Referral.reference.label("referral"))
                     .outerjoin(Referral, Referral.offence_id == Offence.id)
                     .where(Offence.force == force, among))
            for row in s.execute(query).mappings():
                stored = {name: row[name] for name in OFFENCE_COMPARED}
                ctx.offences[(force, row["crime_ref"])] = _Offence(row["id"], row["person_id"], row["offence_date"],
                                                                   row["age"], row["drug"], stored, row["referral"])
    for among in _among(s, Person.person_key, sorted(keys)):
        for row in s.execute(select(Person.id, Person.person_key, Person.birth_year).where(among)):
            ctx.people[row.person_key] = _Person(row.id, row.birth_year)
    if kind == "referrals":
        ids = sorted({p.id for p in ctx.people.values()} | {o.person for o in ctx.offences.values() if o.person})
        ctx.history = _histories(s, ids)
    return ctx


def _histories(s: Session, person_ids: list[int]) -> dict[int, dict]:
    """person_history for many people at once (people without closures are left out)."""
    found: dict[int, list] = {}
    for among in _among(s, Referral.person_id, person_ids):
        query = (select(Referral.person_id).join(Closure, Closure.referral_id == Referral.id)
                 .where(among, Referral.void_at.is_(None)).distinct())
        found.update({pid: None for pid in s.execute(query).scalars()})
    return {pid: person_history(s, pid) for pid in found}  # the writers' own query, for the few with closures


@dataclass
class Checked:
    plan: Plan = field(default_factory=Plan)
    changes: list[str] = field(default_factory=list)  # new | updated | unchanged, per good row


def check_row(kind: str, values: dict, ctx: Context, plan: Plan, batch: dict | None = None,
              row: int = 0) -> tuple[str | None, list[Problem]]:
    """Check one row as the kind's writer would (upsert); plan its change. Returns (change,
    problems). `batch`: the file's batch_rules, `row` this row's place in the file."""
    c = CachedChecker(values, ctx.cache, batch, row)
    try:
        change = (_referral if kind == "referrals" else _offence_row)(c, values, ctx, plan)
    except RowFailed:
        return None, c.problems
    return change, []


def _check(c: Checker) -> None:
    if c.problems:
        raise RowFailed


def _find_person(c: CachedChecker, ctx: Context) -> tuple[_Person | None, dict | None]:
    """records.offences.find_person: (the person, or None; the new person's row when new)."""
    fields = person_fields(c)
    if fields["person_ref"] is None or c.problems:
        return None, None
    key = ctx.person_key(fields.pop("person_ref"))
    person = ctx.people.get(key)
    if person is not None:
        return person, None
    return _Person(None, fields["birth_year"]), {"person_key": key, **fields, "demo": False}


def _offence_from(c: CachedChecker, ctx: Context, force: str):
    """records.offences.offence_from: the checked offence fields, the person, the age."""
    fields = offence_fields(c, lambda c: area_code(c, force))
    person, person_row = _find_person(c, ctx)
    _check(c)
    age = age_at_offence(c, fields["offence_date"], person.birth_year)
    _check(c)
    return {"force": force, **fields, "age": age}, person, person_row


def _plan_person(person: _Person, person_row: dict | None, ctx: Context, plan: Plan) -> None:
    if person_row is not None:
        person.index = len(plan.new["person"])
        plan.new["person"].append(person_row)
        ctx.people[person_row["person_key"]] = person


def _person_ref(person) -> dict:
    if isinstance(person, _Person):
        return {"person_id": person.id} if person.id is not None else {PERSON: person.index}
    return {"person_id": person}


def _offence_row(c: CachedChecker, values: dict, ctx: Context, plan: Plan) -> str:
    """records.offences.add_offence(upsert=True)."""
    force = values.get("force") or ctx.force
    fields, person, person_row = _offence_from(c, ctx, force)
    existing = ctx.offences.get((force, fields["crime_ref"]))
    same_person = person.id is not None and existing is not None and existing.person == person.id
    if existing is not None and existing.person is not None and not same_person and existing.referral is not None:
        c.problems.append(Problem(
            "person_ref", None,
            f"names a different person from the one offence {fields['crime_ref']} and its referral "
            f"{existing.referral} are recorded against: correct the person on the referral in Divert, not by import"))
        raise RowFailed
    _plan_person(person, person_row, ctx, plan)
    if existing is None:
        plan.new["offence"].append({**fields, **_person_ref(person), "demo": False})
        return "new"
    new = {**fields, "person_id": person.id}
    changed = {name: value for name, value in new.items()
               if value is not None and existing.row[name] != value}
    if person.id is None:
        changed["person_id"] = None
    if not changed:
        plan.unchanged["offence"] += 1
        return "unchanged"
    after = {name: value for name, value in changed.items() if name != "person_id"}
    if "person_id" in changed:
        after.update(_person_ref(person))
    plan.updates["offence"].append((existing.id, None, {n: existing.row[n] for n in changed}, after))
    return "updated"


def _referral(c: CachedChecker, values: dict, ctx: Context, plan: Plan) -> str:
    """records.referrals.add_referral(upsert=True)."""
    force = values.get("force") or ctx.force
    reference, referred_at, team, override = referral_fields(c).values()
    existing = ctx.referrals.get(reference) if reference else None
    if existing is not None:
        _check(c)  # a re-imported referral: only its own fields can change
        new = {"referred_at": referred_at, "referring_team": team}
        changed = {n: v for n, v in new.items() if v is not None and existing[n] != v}
        if not changed:
            plan.unchanged["referral"] += 1
            return "unchanged"
        plan.updates["referral"].append((existing["id"], existing["version"], {n: existing[n] for n in changed},
                                         changed))
        existing["version"] += 1
        return "updated"
    crime_ref = c.raw("crime_ref")
    offence = ctx.offences.get((force, str(crime_ref))) if crime_ref else None
    person_row = None
    if offence is None:
        fields, person, person_row = _offence_from(c, ctx, force)
        if not offence_not_after_referral(c, fields["offence_date"], referred_at.date()):
            _check(c)
        fields["outcome"], fields["outcome_date"] = 8, referred_at.date()
        offence = _Offence(None, person, fields["offence_date"], fields["age"], fields["drug"])
        new_offence = fields
    else:
        new_offence = None
        existing_offence(c, has_referral=offence.referral is not None, has_person=offence.person is not None,
                         referred_at=referred_at, offence_date=offence.offence_date)
    _check(c)
    person = offence.person
    pid = person.id if isinstance(person, _Person) else person
    history = ctx.history.get(pid) if pid is not None else None
    history = history or {"not_engaged": 0, "last_intelligence_log": None, "complied": 0}
    decided, _ = programme.offer(c, ctx.profile, history, offence.age, offence.drug, override)
    _check(c)
    # the row is good: plan its person, offence and referral
    if new_offence is not None:
        _plan_person(person, person_row, ctx, plan)
        offence.index = len(plan.new["offence"])
        plan.new["offence"].append({**new_offence, **_person_ref(person), "demo": False})
        ctx.offences[(force, new_offence["crime_ref"])] = offence
    offence.referral = reference
    plan.new["referral"].append({
        "force": force, "reference": reference,
        **({"offence_id": offence.id} if offence.id is not None else {OFFENCE: offence.index}),
        **_person_ref(person), "referred_at": referred_at, "referring_team": team,
        **decided, "status": "open", "version": 1, "demo": False,
    })
    return "new"

