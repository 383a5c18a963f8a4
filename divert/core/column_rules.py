"""The field rules (divert.core.field_rules.Checker) on a whole column at once, for imports.

An import checks hundreds of thousands of values. `column_rule` applies one field's rule (the
same rule a form uses, from divert.core.record_fields.FIELD_RULES) to a whole column: where the
rule has a column form here (text, references, dates, dates with times), the values it surely
accepts are found for the whole column in polars; every other value (missing, refused, or
unusual in any way: surrounding spaces, a format the column form does not parse) goes through
the rule on its own, once per distinct value, so a problem is reported word for word as a form
would report it and an accepted value is exactly what the form would store. A rule without a
column form (codes, whole numbers, defaults) runs once per distinct value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

import polars as pl

from divert.core.field_rules import EARLIEST, Checker, today

# values whose Python strip() is themselves and whose length is their length in characters:
# printable ASCII, no space at either end
_PLAIN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"
_DAY_FORMS = ((r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "%Y-%m-%d"), (r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$", "%d/%m/%Y"))
_MOMENT_FORMS = ((r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$", "%Y-%m-%d %H:%M"),
                 (r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$", "%Y-%m-%d %H:%M:%S"),
                 # police.uk's: UTC, written with its offset
                 (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00$", "%Y-%m-%dT%H:%M:%S+00:00"),
                 (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", "%Y-%m-%dT%H:%M:%SZ"))
_WHOLE = r"^[0-9]{1,15}$"  # no sign, no spaces, exact as a float
_DECIMAL = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"


class NoColumnForm(Exception):
    """The rule has no column form: run it on each distinct value."""


@dataclass(frozen=True)
class Sure:
    """A column form's answer: the value for each row where `ok`, and nothing to say of the
    others (they go through the rule one by one)."""

    values: pl.Series
    ok: pl.Series

    def __bool__(self):  # a rule that goes on to use its value (`... or "U"`) has no column form
        raise NoColumnForm


class ColumnChecker:
    """Checker's rules with a column form; called by a field rule in place of a Checker."""

    def __init__(self, series: pl.Series):
        self.series = series.cast(pl.String)

    def text(self, field: str, *, required=False, max_length=200, pattern=None) -> Sure:
        s = self.series
        ok = s.str.contains(_PLAIN) & (s.str.len_chars() <= max_length)
        if pattern is not None:
            try:
                ok = ok & s.str.contains(pattern.pattern)
            except pl.exceptions.ComputeError as error:  # a pattern polars reads differently
                raise NoColumnForm from error
        return Sure(s, ok.fill_null(False))

    reference = Checker.reference  # text with the reference pattern

    def day(self, field: str, *, required=False, future_ok=False, not_before=None) -> Sure:
        return self._dated(_DAY_FORMS, pl.Date, future_ok, not_before)

    def moment(self, field: str, *, required=False, future_ok=False, not_before=None) -> Sure:
        return self._dated(_MOMENT_FORMS, pl.Datetime("us"), future_ok, not_before)

    def _dated(self, forms, dtype, future_ok: bool, not_before) -> Sure:
        if not_before is not None:
            raise NoColumnForm
        s = self.series
        parsed = pl.Series(s.name, [None] * len(s), dtype=dtype)
        for pattern, fmt in forms:
            matches = s.str.contains(pattern).fill_null(False)
            if dtype == pl.Date:
                read = s.str.to_date(fmt, strict=False)
            else:
                read = s.str.to_datetime(fmt, strict=False, time_unit="us")
            parsed = pl.select(pl.when(matches & parsed.is_null()).then(read).otherwise(parsed)).to_series()
        days = parsed if dtype == pl.Date else parsed.dt.date()
        ok = (days >= EARLIEST) if future_ok else (days >= EARLIEST) & (days <= today())
        return Sure(parsed, ok.fill_null(False))

    def integer(self, field: str, *, required=False, low=None, high=None) -> Sure:
        s = self.series
        number = s.cast(pl.Int64, strict=False)
        ok = s.str.contains(_WHOLE).fill_null(False)
        ok = ok & (number >= low if low is not None else True) & (number <= high if high is not None else True)
        return Sure(number, ok.fill_null(False))

    def number(self, field: str, *, low: float, high: float) -> Sure:
        s = self.series
        number = s.cast(pl.Float64, strict=False)
        ok = s.str.contains(_DECIMAL).fill_null(False) & (number >= low) & (number <= high)
        return Sure(number, ok.fill_null(False))

    def code(self, *args, **kwargs):
        raise NoColumnForm

    boolean = raw = fail = code  # a rule that reads or judges a value itself runs on each value


@dataclass(frozen=True)
class CheckedColumn:
    """A column checked: the value for each row, and the problems of the rows that have any
    (row index -> problems, in the rule's order)."""

    values: list
    problems: dict[int, tuple]

    def __getitem__(self, row: int) -> tuple:
        """(value, problems) of one row."""
        return self.values[row], self.problems.get(row, ())


class Batch(dict):
    """Field -> CheckedColumn for one file, and the rows where any of them has a problem."""

    def __init__(self, columns: dict[str, CheckedColumn]):
        super().__init__(columns)
        self.troubled = set().union(*(column.problems for column in columns.values()))


def column_rule(name: str, column: pl.Series, rule: Callable[[Checker], object]) -> CheckedColumn:
    """The column checked: the rule's column form where it is sure, the rule itself once per
    distinct value elsewhere."""
    seen: dict = {}

    def one(value) -> tuple:
        if value not in seen:
            c = Checker({name: value})
            seen[value] = (rule(c), tuple(c.problems))
        return seen[value]

    try:
        sure = rule(ColumnChecker(column))
        if not isinstance(sure, Sure):
            raise NoColumnForm
    except NoColumnForm:
        raw = column.to_list()
        for value in column.unique().to_list():  # the rule once per distinct value
            one(value)
        try:
            values = [seen[v][0] for v in raw]
        except KeyError:  # a value unequal to itself (NaN): each on its own
            results = [one(v) for v in raw]
            return CheckedColumn([value for value, _ in results], {i: said for i, (_, said) in enumerate(results) if said})
        refused = {value for value, (_, said) in seen.items() if said}
        return CheckedColumn(values, {i: seen[v][1] for i, v in enumerate(raw) if v in refused} if refused else {})
    values = sure.values.to_list()
    if sure.values.dtype == pl.Datetime:  # naive means UTC, as field_rules.parse_datetime reads it
        values = [v.replace(tzinfo=UTC) if v is not None else None for v in values]
    problems = {}
    unsure = (~sure.ok).arg_true().to_list()
    raw = column.gather(unsure).to_list() if unsure else []
    for index, value in zip(unsure, raw, strict=True):
        values[index], said = one(value)
        if said:
            problems[index] = said
    return CheckedColumn(values, problems)
