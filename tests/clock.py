"""One fixed moment for tests that need "now": the wall clock is moved there (time-machine) and
ticks on from it, so a test reads the same calendar on any day it runs. Tests that only need a
date pass it as the as-of date instead."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

LONDON = ZoneInfo("Europe/London")
MOMENT = datetime(2026, 6, 17, 10, 30, tzinfo=LONDON)  # a Wednesday in mid-June, British Summer Time
TODAY = MOMENT.date()
YESTERDAY = TODAY - timedelta(days=1)


def frozen(moment: datetime = MOMENT) -> time_machine.travel:
    """A context manager (or decorator) that moves the clock to `moment`; it ticks on from there."""
    return time_machine.travel(moment, tick=True)


def month_end(day: date) -> date:
    """The last day of the month before `day`'s month."""
    return day.replace(day=1) - timedelta(days=1)
