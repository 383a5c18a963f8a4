"""The programme profile: which force runs the scheme, when it started and how a diversion is
recorded. It is passed down to the analytics (on the loaded frames), never imported as a
module constant.

Today the profile is the reference case (West Midlands, launched 1 October 2020, Community
Resolution); the force comes from the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from divert import codes

TIME_ZONE = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Programme:
    force: str = codes.DEFAULT_FORCE
    launch: date = date(2020, 10, 1)
    diversion_outcome: int = 8  # HOCR 8 Community Resolution, or 22 diversionary activity

    @property
    def launch_label(self) -> str:
        return f"{self.launch:%B %Y}"


def current(engine=None) -> Programme:
    """The profile in force. (The engine is where a stored profile will be read from.)"""
    from divert.settings import current_force

    return Programme(force=current_force())


def today() -> date:
    """Today in Europe/London: the default as-of date of every figure."""
    from datetime import datetime

    return datetime.now(TIME_ZONE).date()
