"""The one clock. "Today" is the date in the United Kingdom (Europe/London), wherever the server
runs: the default as-of date of every figure, the limit of every "not in the future" check and
the day a caseworker's worklist is for. Moments are stored in UTC. Nothing else reads the wall
clock for a date, so that between 00:00 and 01:00 British Summer Time (when the UTC date is still
yesterday) every part of the product agrees on what today is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


def now() -> datetime:
    """This moment, in UTC (how moments are stored)."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in the United Kingdom."""
    return datetime.now(UK).date()
