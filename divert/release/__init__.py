"""The public transparency release (`divert export OUT --public`): aggregate tables as CSV and
Excel with a README and a data dictionary, every count protected (divert.release.protection):
1-7 suppressed, others rounded to the nearest 5, secondary suppression across every sum that
ties the published cells together, and an integer-programming check that no suppressed count
can be worked out from what is published.

Tables (divert.release.tables, divert.release.rates), built from the analytics functions with an
explicit as-of date, complete months only:
- volume by month and area (recorded possession offences, referrals), with totals;
- the pathway funnel by area;
- outcomes by ethnic group in the programme's before/after half-years;
- disparity by ethnic group at each decision point (rates and ratios from the published counts).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from divert.analytics.data.frames import Frames
from divert.analytics.data.loading import load_frames
from divert.analytics.equity.denominators import census_population
from divert.core.folders import written_whole, zip_folder
from divert.records.exports import record_export
from divert.reference import census
from divert.release import tables as build
from divert.release.protection import MIN_WIDTH, Cells, Protected, ProtectionError, protect
from divert.release.rates import disparity_table
from divert.release.writing import force_name, published_frame, write_files


class ReleaseError(Exception):
    """The release cannot be made; the message says why (nothing was written)."""


@dataclass
class Release:
    window: build.Window
    force: str
    census_year: int
    tables: list[build.Table]
    cells: Cells
    protected: Protected
    files: list[str] = field(default_factory=list)

    @property
    def first_month(self) -> str:
        return build.month_label(self.window.months[0])

    @property
    def last_month(self) -> str:
        return build.month_label(self.window.months[-1])

    @property
    def suppressed(self) -> int:
        return self.protected.suppressed

    @property
    def primary(self) -> int:
        return self.protected.count("primary")

    @property
    def secondary(self) -> int:
        return self.protected.count("secondary")

    def frames(self) -> dict[str, pl.DataFrame]:
        return {t.name: published_frame(t, self.protected) for t in self.tables if t.rows}

    def summary(self) -> dict:
        return {"as_of": self.window.as_of.isoformat(), "months": [self.first_month, self.last_month],
                "cells": len(self.cells.values), "suppressed": self.suppressed, "files": self.files}


def build_release(frames: Frames, as_of: date, *, force: str, launch: date, census_year: int = 2011) -> Release:
    """The tables and what of them is published, as known at the end of `as_of`."""
    frames = build.known_at(frames, as_of)
    win = build.window(frames, as_of, launch)
    if win is None:
        raise ReleaseError(f"no complete month of records as of {as_of}: nothing to publish")
    frames = build.within(frames, win)
    seen = set(frames.offences["area"].drop_nulls()) | set(frames.referrals["area"].drop_nulls())
    areas = sorted(set(census.areas_of(force)) | seen)
    cells = Cells()
    tables = [build.volume_table(cells, frames, win, areas), build.funnel_table(cells, frames, areas),
              build.outcomes_table(cells, frames, win)]
    if launch <= win.end:
        build.disparity_cells(cells, frames, win)
        population = census_population(frames.population, force=force, census_year=census_year, level="broad")
        population = population.with_columns(pl.col("population").round().cast(pl.Int64))
        tables.append(disparity_table(win, population, census_year))
    try:
        protected = protect(cells)
    except ProtectionError as error:
        raise ReleaseError(f"the tables could not be protected for publication: {error}") from error
    return Release(win, force, census_year, tables, cells, protected)


def write_release(engine, out: Path, as_of: date, *, force: str | None = None, launch: date | None = None,
                  census_year: int = 2011) -> Release:
    """Build the release from the database and write it to `out` (a new or empty folder; the
    folder appears only when complete)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):  # before the long build, not after
        raise ReleaseError(f"{out} already exists and is not an empty folder: choose a new folder")
    frames = load_frames(engine)
    programme = getattr(frames, "programme", None)
    if force is None:
        from divert.core.environment import current_force

        force = getattr(programme, "force", None) or current_force()
    if launch is None:
        from divert.analytics.data.filters import POLICY_START

        launch = getattr(programme, "launch", None) or POLICY_START
    release = build_release(frames, as_of, force=force, launch=launch, census_year=census_year)
    with written_whole(out, ReleaseError) as partial:
        published = release.frames()
        titles = {t.name: t.title for t in release.tables}
        release.files = write_files(partial, published, titles, _readme(release, published))
    return release


def release_zip(engine, as_of: date, user: str) -> tuple[bytes, str]:
    """The release as a zip (the admin page's download), audited; refused unless the last
    disclosure audit clears it (divert.records.disclosure_audits.release_problem)."""
    from divert.records.disclosure_audits import release_problem

    problem = release_problem(as_of, engine)
    if problem:
        raise ReleaseError(f"Release refused: {problem}")
    with tempfile.TemporaryDirectory(prefix="divert-release-") as folder:
        release = write_release(engine, Path(folder) / "release", as_of)
        data = zip_folder(Path(folder) / "release")
    record_export(user, {**release.summary(), "disclosure_audit": "passed"}, action="export_release", engine=engine)
    return data, f"divert-public-release-{as_of:%Y%m%d}.zip"


def _readme(release: Release, published: dict[str, pl.DataFrame]) -> str:
    from divert.release.readme import text

    return text(release, published, force_name(release.force), MIN_WIDTH, datetime.now(UTC))
