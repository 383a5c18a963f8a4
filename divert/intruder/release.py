"""The public release (`divert export --public`) as the intruder reads it: every count cell of
its tables with the records it counts. Its shares, rates and ratios are worked out from the
published (rounded) counts, so they tell nothing the counts do not; only the counts are read.
A suppressed cell says only "suppressed" (the release does not say why), so the intruder knows
it is at least 1 (zeros are always shown); a shown count is rounded to the nearest 5."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from divert.analytics.dashboards import outcomes, pathway
from divert.analytics.data.frames import Frames
from divert.core import codes
from divert.intruder.attack import Figure
from divert.intruder.surface import INDEX, Surface
from divert.release import ReleaseError, build_release
from divert.release import tables as build
from divert.release.protection import intruder_bounds


def release_figures(surface: Surface, frames: Frames, as_of: date, *, force: str, launch: date) -> int:
    """Add the release made at `as_of` to the surface; the number of cells (0: nothing to publish)."""
    try:
        release = build_release(frames, as_of, force=force, launch=launch)
    except ReleaseError:
        return 0
    win = release.window
    known = build.within(build.known_at(frames, as_of), win)
    offs = outcomes.with_outcome_group(surface.records("offences", known.offences)).with_columns(
        pl.col("offence_date").dt.strftime("%Y-%m").alias("month"))
    refs = pathway.stage_flags(surface.records("referrals", known.referrals)).with_columns(
        pl.col("referred_on").dt.strftime("%Y-%m").alias("month"))
    where = f"public release as of {as_of}"
    for key, true in release.cells.values.items():
        members = _members(key, offs, refs, win, frames.programme.diversion_outcome)
        low, high = intruder_bounds(release.protected.published[key], release.protected.threshold,
                                    release.protected.base)
        hidden = None if release.protected.published[key] is not None else "suppressed"
        surface.add(Figure("public release", where, " / ".join(map(str, key)), low, high, hidden, int(true)), members)
    return len(release.cells.values)


def _members(key: tuple, offs: pl.DataFrame, refs: pl.DataFrame, win: build.Window, diversion: int) -> np.ndarray:
    kind, *rest = key
    if kind == "volume":
        measure, month, area = rest
        frame = offs if measure == "offences" else refs
        frame = frame if month == build.ALL else frame.filter(pl.col("month") == month)
        frame = frame if area == build.ALL else frame.filter(pl.col("area") == area)
    elif kind == "funnel":
        stage, area = rest
        frame = refs.filter(pl.col(stage))
        frame = frame if area == build.ALL else frame.filter(pl.col("area") == area)
    elif kind == "outcomes":
        name, group, outcome = rest
        start, end = build.PERIODS[name]
        frame = offs.filter(pl.col("offence_date").is_between(start, end))
        frame = frame if group == build.ALL else frame.filter(pl.col("ethnic_group") == group)
        frame = frame if outcome == build.ALL else frame.filter(pl.col("outcome_group") == outcome)
    else:  # disparity: the decision points since the launch (release.tables.pathway_events)
        measure, group = rest
        frame = _decision_point(measure, offs, refs, win, diversion)
        frame = frame if group == build.ALL else frame.filter(pl.col("ethnic_group") == group)
    return frame[INDEX].to_numpy()


def _decision_point(measure: str, offs: pl.DataFrame, refs: pl.DataFrame, win: build.Window, diversion: int):
    offs = offs.filter(pl.col("offence_date").is_between(win.launch, win.end))
    refs = refs.filter(pl.col("referred_on").is_between(win.launch, win.end))
    engaged = (pl.col("assessment_result") == "completed").fill_null(False)
    decided = pl.col("outcome").is_in([*codes.FORMAL_OUTCOMES, diversion]).fill_null(False)
    return {
        "possession_offence": lambda: offs,
        "decided": lambda: offs.filter(decided),
        "diverted": lambda: offs.filter(decided & (pl.col("outcome") == diversion)),
        "referred": lambda: refs,
        "engaged": lambda: refs.filter(engaged),
        "completed": lambda: refs.filter(engaged & (pl.col("closure_result") == "complied").fill_null(False)),
        "intelligence_log": lambda: refs.filter((pl.col("closure_result") == "not_engaged").fill_null(False)),
    }[measure]()
