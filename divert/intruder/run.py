"""`divert disclosure audit`: collect everything a role can receive over the as-of dates, attack
every hidden count, and say what was found.

The views: every month-end as-of date asked for, every named period a viewer may choose
(divert.analytics.calendar.months.NAMED_PERIODS), no filter and every single filter value the
sidebar offers, minus the views the gate refuses (too few people, divert.core.disclosure.too_narrow);
in each, every table of divert.intruder.tables; and the public release at each as-of date.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

from divert.analytics.calendar.months import NAMED_PERIODS, default_as_of, period_bounds
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.core import codes
from divert.core.disclosure import Gate, too_narrow
from divert.intruder.attack import Findings, Progress, attack
from divert.intruder.phantoms import phantoms
from divert.intruder.release import release_figures
from divert.intruder.surface import Surface, View
from divert.intruder.tables import BUILDERS

FILTER_NAMES = ("area", "source", "age_band", "sex", "ethnic_group")


@dataclass
class Audit:
    role: str
    as_of: list[date]
    threshold: int
    views: int
    refused: int
    release_cells: int
    findings: Findings
    skipped: dict[str, str]
    build_seconds: float

    @property
    def passed(self) -> bool:
        return not self.findings.leaks

    def summary(self) -> dict:
        """What is kept (and shown on the administrator's page): no true count of a hidden cell."""
        f = self.findings
        narrowest = f.narrowest
        return {
            "passed": self.passed, "role": self.role, "as_of": [d.isoformat() for d in self.as_of],
            "threshold": self.threshold, "protection": f.protection, "views": self.views, "refused_views": self.refused,
            "tables": f.tables, "figures": f.figures, "counts": f.rows, "ratios": f.ratios, "unknowns": f.atoms,
            "release_cells": self.release_cells, "hidden_attacked": len(f.ranges), "programs": f.programs,
            "leaks": [{"cells": r.figures[:5], "low": _end(r.low), "high": _end(r.high),
                       "width": r.width, "given_away_by": r.given_away_by[:8]} for r in f.leaks],
            "narrowest": None if narrowest is None else {
                "cell": narrowest.figures[0], "low": _end(narrowest.low), "high": _end(narrowest.high),
                "width": narrowest.width},
            "seconds": round(self.build_seconds + f.seconds, 1),
        }


def _end(value: float):
    return None if value == float("inf") else round(float(value), 2)


def default_dates(today: date, count: int = 3) -> list[date]:
    """The `count` most recent month ends before today (the default as-of date first)."""
    out = [default_as_of(today)]
    while len(out) < count:
        out.append(out[-1].replace(day=1) - timedelta(days=1))
    return out


def filter_choices(frames: Frames) -> list[dict]:
    """No filter, then every single value the sidebar offers."""
    values = {"area": list(frames.programme.area_labels), "source": list(codes.REFERRAL_SOURCES),
              "age_band": [*codes.AGE_BANDS, "Missing"], "sex": list(codes.SEXES),
              "ethnic_group": [*codes.BROAD_GROUPS, "Missing"]}
    return [{}] + [{name: value} for name in FILTER_NAMES for value in values[name]]


def run(frames: Frames, as_of: list[date], *, role: str = "viewer", threshold: int = 8,
        progress: Progress | None = None, release: bool = True, builders: dict | None = None) -> Audit:
    progress = progress or (lambda step, fraction: None)
    started = time.perf_counter()
    gate = Gate(role, threshold)
    builders = BUILDERS if builders is None else builders
    surface = Surface(frames)
    views, refused, cells = _read(surface, frames, frames, sorted(as_of), gate, builders, release, progress)
    surface.read_phantoms(could_be := phantoms(frames, surface, gate.threshold))
    _read(surface, frames, could_be, [day for day, _ in views], gate, builders, False, progress, views)
    built = time.perf_counter() - started
    findings = attack(surface.figures, surface.members, surface.n_records, surface.ratios, gate.base - 1,
                      gate.threshold, progress=progress, phantoms=(surface.phantom_members, surface.n_phantoms,
                                                                     surface.impossible))
    return Audit(role, sorted(as_of), threshold, len(views), refused, cells, findings, dict(surface.skipped), built)


def _read(surface: Surface, frames: Frames, records: Frames, days: list[date], gate: Gate, builders: dict,
          release: bool, progress: Progress, views: list | None = None) -> tuple[list, int, int]:
    """Every view the role may ask for, each builder's tables read into the surface; `records`
    are the records counted (the real ones, or the phantoms, over the views read the first
    time: `views`). Returns the views read, those refused and the release's cells."""
    first = frames.offences["offence_date"].min() or frames.programme.launch  # "All time" starts here, as on the pages
    choices = filter_choices(frames)
    read, refused, cells = [], 0, 0
    wanted = None if views is None else set(views)
    days = sorted(set(days))
    # records that could exist are read from the tables as the pages make them, every row (their
    # gated versions would hide or withhold rows of so few records, and every row is a place
    # where they could count)
    counting = gate if views is None else Gate("manager", gate.threshold, gate.base)
    for number, day in enumerate(days):
        known, counted = frames.at(day), records.at(day)
        for count, chosen in enumerate(choices):
            progress(f"reading what a {gate.role} receives as of {day}" + (" (records that could exist)" if views else ""),
                     (number * len(choices) + count) / (len(days) * len(choices)))
            once = False
            for period in NAMED_PERIODS:
                start, end = period_bounds(period, day, frames.programme.launch)
                filters = Filters(start=start or first, end=end, as_of=day, **chosen)
                key = (day, (period, tuple(sorted(chosen.items()))))
                if wanted is not None and key not in wanted:
                    continue
                if wanted is None and not gate.exact and too_narrow(known, filters, gate.threshold):
                    refused += 1
                    continue
                read.append(key)
                for builder, by_period in builders.values():
                    if by_period or not once:
                        builder(View(day, period if by_period else None, filters, counted, counting,
                                     known if views is not None else None), surface)
                once = True
        if release:
            cells += release_figures(surface, frames, day, force=frames.programme.force,
                                     launch=frames.programme.launch)
    return read, refused, cells
