"""Field rules shared by the forms and the importers.

A rule never raises on bad input: it returns a Problem (field, value, reason) that a form shows
next to the field and an importer lists in its report. Values arrive as typed (strings from a
form or a CSV cell) or already parsed (dates from a date widget); both are accepted.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from divert.core import clock

EARLIEST = date(2000, 1, 1)
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]*$")
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


@dataclass(frozen=True)
class Problem:
    field: str
    value: Any
    reason: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}{self.field} = {self.value!r}: {self.reason}"


class Checker:
    """Collects problems while parsing one record's fields."""

    def __init__(self, values: dict[str, Any]):
        self.values = values
        self.problems: list[Problem] = []
        self.nul_fields: set[str] = set()

    def fail(self, field: str, reason: str, value: Any = None) -> None:
        self.problems.append(Problem(field, self.values.get(field) if value is None else value, reason))

    def raw(self, field: str) -> Any:
        value = self.values.get(field)
        if isinstance(value, str):
            if "\x00" in value:  # never meant, and PostgreSQL cannot store or even look it up
                if field not in self.nul_fields:
                    self.nul_fields.add(field)
                    self.fail(field, "contains a NUL character (a zero byte), which is not text")
                return None
            value = value.strip()
            return value or None
        return value

    def text(self, field: str, *, required=False, max_length=200, pattern=None) -> str | None:
        value = self.raw(field)
        if value is None:
            if required and field not in self.nul_fields:
                self.fail(field, "is required")
            return None
        value = str(value)
        if len(value) > max_length:
            self.fail(field, f"is longer than {max_length} characters")
        elif pattern is not None and not pattern.match(value):
            self.fail(field, "may contain only letters, digits and / _ . -")
        return value

    def reference(self, field: str, *, required=True) -> str | None:
        return self.text(field, required=required, max_length=40, pattern=_REF)

    def code(self, field: str, allowed, *, required=True, aliases=None, upper=True, noun=None) -> Any:
        """One of `allowed` (codes, or a code -> label mapping), given as the code or - for a
        mapping - its label, in any case (`Birmingham` or `E08000025`, `cocaine` or `COC`).
        Returns the code. An unknown value is reported with the nearest valid ones; `noun`
        (or the mapping's `noun` attribute) says what the field is ("local policing area")."""
        value = self.raw(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        found = match_code(value, allowed, aliases=aliases, upper=upper)
        if found is NO_MATCH:
            self.fail(field, unknown_code(value, allowed, noun or getattr(allowed, "noun", None)))
            return None
        return found

    def integer(self, field: str, *, required=False, low=None, high=None) -> int | None:
        value = self.raw(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        try:
            number = float(value) if isinstance(value, str) else value
            if isinstance(number, bool) or number != int(number):
                raise ValueError
            number = int(number)
        except (TypeError, ValueError, OverflowError):
            self.fail(field, "is not a whole number")
            return None
        if (low is not None and number < low) or (high is not None and number > high):
            self.fail(field, f"must be between {low} and {high}")
            return None
        return number

    def number(self, field: str, *, low: float, high: float) -> float | None:
        """A number from `low` to `high` (a latitude, a longitude)."""
        value = self.raw(field)
        if value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(field, "is not a number")
            return None
        if not low <= number <= high:
            self.fail(field, f"must be between {low} and {high}")
            return None
        return number

    def boolean(self, field: str, *, default: bool | None = False) -> bool | None:
        value = self.raw(field)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.fail(field, "must be yes or no (true/false)")
        return default

    def day(self, field: str, *, required=False, future_ok=False, not_before=None) -> date | None:
        value = self.raw(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.fail(field, "is not a date (use YYYY-MM-DD or DD/MM/YYYY)")
            return None
        return self._in_range(field, parsed, parsed, future_ok, not_before)

    def moment(self, field: str, *, required=False, future_ok=False, not_before=None) -> datetime | None:
        value = self.raw(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        parsed = parse_datetime(value)
        if parsed is None:
            self.fail(field, "is not a date and time (use YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM)")
            return None
        return self._in_range(field, parsed.date(), parsed, future_ok, not_before)

    def _in_range(self, field, day_value: date, value, future_ok, not_before):
        if day_value < EARLIEST:
            self.fail(field, "is before 2000")
            return None
        if not future_ok and day_value > today():
            self.fail(field, "is in the future")
            return None
        if not_before is not None:
            floor = not_before.date() if isinstance(not_before, datetime) else not_before
            if day_value < floor:
                self.fail(field, f"is before {floor.isoformat()}")
                return None
        return value


NO_MATCH = object()


def _fold(text: object) -> str:
    return " ".join(str(text).casefold().split())


def _index(allowed, aliases=None) -> dict[str, Any]:
    """casefolded code, label or alias -> code (codes win over labels that look the same)."""
    index: dict[str, Any] = {}
    if isinstance(allowed, Mapping):
        for code, label in allowed.items():
            index.setdefault(_fold(label), code)
    for alias, code in (aliases or {}).items():
        if code in allowed:
            index[_fold(alias)] = code
    for code in allowed:
        index[_fold(code)] = code
    return index


def match_code(value: Any, allowed, *, aliases=None, upper=True) -> Any:
    """The code of `allowed` that `value` names (code, label or alias, any case), or NO_MATCH."""
    try:
        if value in allowed:
            return value
    except TypeError:  # unhashable
        return NO_MATCH
    if isinstance(value, str):
        key = value.upper() if upper else value
        if aliases and key in aliases:
            key = aliases[key]
        if key in allowed:
            return key
    return _index(allowed, aliases).get(_fold(value), NO_MATCH)


def _shown(code: Any, allowed) -> str:
    if isinstance(allowed, Mapping) and _fold(allowed[code]) != _fold(code):
        return f"{allowed[code]} ({code})"
    return str(code)


def nearest_codes(value: Any, allowed, n: int = 3) -> list[Any]:
    """The codes whose code or label is closest to `value` (best first)."""
    index = _index(allowed)
    found: list[Any] = []
    for match in difflib.get_close_matches(_fold(value), list(index), n=n * 2, cutoff=0.6):
        if index[match] not in found:
            found.append(index[match])
    return found[:n]


def unknown_code(value: Any, allowed, noun: str | None = None, *, listed: int = 12) -> str:
    """Why `value` is refused, naming the nearest valid codes, e.g. "'Birmingam' is not a known
    code or name of a local policing area; did you mean Birmingham (E08000025)?"."""
    what = f"is not a known code or name of a {noun}" if noun else "is not a known code"
    nearest = nearest_codes(str(value)[:200], allowed)
    text = str(value)
    value = text if len(text) <= 40 else f"{text[:40]}..."  # never echo a long value in full
    if nearest:
        return f"{value!r} {what}; did you mean " + " or ".join(_shown(c, allowed) for c in nearest) + "?"
    options = [_shown(c, allowed) for c in allowed]
    more = f" and {len(options) - listed} more" if len(options) > listed else ""
    return f"{value!r} {what} (allowed: {', '.join(options[:listed])}{more})"


def today() -> date:
    """Today in the United Kingdom (divert.core.clock): a date typed today is never "in the future"."""
    return clock.today()


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"):
        try:
            return datetime.strptime(text[:10] if fmt == "%Y-%m-%d" and "T" in text else text, fmt).date()
        except ValueError:
            continue
    return None


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 (with or without offset) or UK dd/mm/yyyy [HH:MM]; naive means UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    text = str(value).strip()
    parsed = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for fmt in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
