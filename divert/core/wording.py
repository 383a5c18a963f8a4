"""Counts in words: "1 day", "2 days", "1 person", "3 people" - never "day(s)".

Streamlit-free, so records, casework and the analytics wording can use it as the pages do.
"""

from __future__ import annotations

from datetime import UTC

IRREGULAR = {"person": "people", "child": "children", "this": "these", "was": "were", "is": "are", "has": "have"}


def plural(n: int | float, word: str, many: str | None = None, *, number: bool = True) -> str:
    """`n` and `word` in the right number ("1 booking", "2 bookings", "1,200 people"); `many`
    gives an irregular plural. With number=False only the word."""
    if n == 1:
        chosen = word
    else:
        chosen = many or IRREGULAR.get(word) or _regular(word)
    if not number:
        return chosen
    shown = f"{int(n):,}" if float(n).is_integer() else f"{n:,}"
    return f"{shown} {chosen}"


def _regular(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


# --- dates on screen: one format everywhere ("5 Dec 2026"), times to the minute in UK time ----------------------

DAY_FORMAT = "%-d %b %Y"  # strftime, also for polars' dt.strftime: "5 Dec 2026"
MOMENT_FORMAT = "%-d %b %Y %H:%M"  # "5 Dec 2026 14:03", always in UK time
UK_ZONE = "Europe/London"


def day(value) -> str:
    """A date (or the date of a datetime) as shown on screen: "5 Dec 2026"; "" for none."""
    return "" if value is None else format(value, DAY_FORMAT)


def moment(value) -> str:
    """A datetime as shown on screen, to the minute in UK time: "5 Dec 2026 14:03". An aware
    datetime is converted to UK time; a naive one is taken to be UTC (as the database stores
    it); "" for none."""
    if value is None:
        return ""
    from zoneinfo import ZoneInfo

    if getattr(value, "tzinfo", None) is None:
        value = value.replace(tzinfo=UTC)
    return format(value.astimezone(ZoneInfo(UK_ZONE)), MOMENT_FORMAT)
