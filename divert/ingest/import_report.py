"""What an import reports: the rows new, updated and unchanged, and every problem (file, row,
column, value, reason) - never a person identifier, and long values shortened. Also the rule that
one record appears once in an import: the same key twice is a problem (divert.ingest.run's
row-by-row path and divert.ingest.bulk_path both apply it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from divert.core.environment import current_force
from divert.core.field_rules import Problem
from divert.core.wording import plural

MAX_PROBLEMS = 10_000
MAX_VALUE_CHARS = 200
IDENTIFIER_COLUMNS = ("person_ref",)  # hashed before storage: never shown back
HIDDEN = "(not shown)"
# the columns that name one record: the same key twice in one import is a problem
KEY_COLUMNS = {
    "offences": ("force", "crime_ref"),
    "referrals": ("reference",),
    "assessments": ("referral_reference",),
    "sessions": ("session_ref",),
    "bookings": ("referral_reference", "session_ref"),
    "closures": ("referral_reference",),
    "stop-search": ("source_file", "source_row"),
    "population": ("census_year", "geography_code", "ethnicity", "sex", "age_band"),
}
KEY_DEFAULTS = {"sex": "all", "age_band": "all"}


def shown_value(column: str, value):
    """A problem's value as a report may show it: never an identifier, never very long."""
    if value is None:
        return None
    if column in IDENTIFIER_COLUMNS:
        return HIDDEN
    if not isinstance(value, int | float | str):
        value = str(value)
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return f"{value[:MAX_VALUE_CHARS]}... ({len(value):,} characters)"
    return value


@dataclass
class FileProblem:
    file: str
    row: int | None
    column: str
    value: object
    reason: str


@dataclass
class ImportReport:
    kind: str
    files: list[str]
    dry_run: bool
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    more_problems: int = 0  # beyond MAX_PROBLEMS, counted but not listed
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, file: str, problem: Problem, row: int | None = None) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.more_problems += 1
            return
        value = shown_value(problem.field, problem.value)
        self.problems.append(FileProblem(file, row if row is not None else problem.row, problem.field, value, problem.reason))

    def summary(self) -> str:
        counts = f"{plural(self.rows, 'row')}: {self.new:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged"
        if self.problems:
            total = len(self.problems) + self.more_problems
            return f"Rejected - nothing was written. {plural(total, 'problem')} in {plural(self.rows, 'row')}."
        if self.dry_run:
            return f"Dry run - nothing was written. Would import {counts}."
        if not (self.new or self.updated):
            return f"Nothing to change - {counts}."
        return f"Imported {counts}."

    def problems_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "file": [p.file for p in self.problems],
                "row": [p.row for p in self.problems],
                "column": [p.column for p in self.problems],
                "value": [None if p.value is None else str(p.value) for p in self.problems],
                "reason": [p.reason for p in self.problems],
            },
            schema={"file": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String},
        )


def _repeated(kind: str, seen: dict, name: str, row_number: int, values: dict) -> Problem | None:
    """The problem of a row whose key was already seen in this import (None: first time)."""
    return _seen(kind, seen, name, row_number, _key(kind, values), values.get)


def repeats(kind: str, seen: dict, name: str, frame: pl.DataFrame, extra: dict) -> dict[int, Problem]:
    """_repeated for every row of one file at once: row index -> its problem (the rows whose key
    was seen before). `extra`: values added to every row (they win over the file's)."""
    columns = KEY_COLUMNS.get(kind, ())
    if not columns:
        return {}
    raw = {column: [extra[column]] * frame.height if column in extra else
           frame.get_column(column).to_list() if column in frame.columns else [None] * frame.height
           for column in columns}
    parts = [[_part(column, value) for value in raw[column]] for column in columns]
    found = {}
    for index, key in enumerate(zip(*parts, strict=True)):
        if _MISSING in key:
            continue
        problem = _seen(kind, seen, name, index + 2, key, lambda column, i=index: raw[column][i] if column in raw else None)
        if problem is not None:
            found[index] = problem
    return found


def _seen(kind: str, seen: dict, name: str, row_number: int, key: tuple | None, value_of) -> Problem | None:
    if key is None:
        return None
    if key in seen:
        first_file, first_row = seen[key]
        where = f"row {first_row}" + (f" of {first_file}" if first_file != name else "")
        column = next(c for c in KEY_COLUMNS[kind] if c != "force")
        return Problem(column, value_of(column), f"repeats the record of {where}: each record may appear once in an import")
    seen[key] = (name, row_number)
    return None


_MISSING = object()


def _part(column: str, value):
    """One part of a record's key: stripped, its default when missing, _MISSING when there is none."""
    if value is None:
        value = current_force() if column == "force" else KEY_DEFAULTS.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        return _MISSING  # the record's own rules report the missing value
    return value.strip() if isinstance(value, str) else value


def _key(kind: str, values: dict) -> tuple | None:
    parts = tuple(_part(column, values.get(column)) for column in KEY_COLUMNS.get(kind, ()))
    return None if not parts or _MISSING in parts else parts
