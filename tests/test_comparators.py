"""Stop-search disparity for the programme's force beside other forces, from the same imports
(real police.uk files), with the same window, denominators and intervals."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from dbfixtures import migrated_url

from divert.analytics.data.loading import load_frames
from divert.analytics.equity import disparity
from divert.ingest.run import import_files
from divert.records.census_rows import ensure_population
from divert.storage.db import get_engine

SAMPLES = Path(__file__).parent / "fixtures" / "police-uk-sample"


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    engine = get_engine(migrated_url(tmp_path_factory.mktemp("comparators")))
    ensure_population(engine, "test")
    report = import_files("stop-search", [(p.name, p.read_bytes()) for p in sorted(SAMPLES.glob("*.csv"))], "test",
                          engine=engine)
    assert report.ok
    yield load_frames(engine)
    engine.dispose()


def test_each_force_and_the_forces_together_over_one_window(frames):
    table = disparity.comparators(frames.stop_search, frames.population, force="durham", others=["derbyshire"],
                                  as_of=date(2020, 2, 29))
    assert list(dict.fromkeys(table["area"])) == ["Durham Constabulary", "Derbyshire Constabulary", "All 2 forces shown"]
    rows = {(r["area"], r["group"]): r for r in table.iter_rows(named=True)}
    for group in ("White", "Black", "Asian"):
        durham, derby = rows[("Durham Constabulary", group)], rows[("Derbyshire Constabulary", group)]
        together = rows[("All 2 forces shown", group)]
        assert together["searches"] == durham["searches"] + derby["searches"]
        assert together["person_years"] == pytest.approx(durham["person_years"] + derby["person_years"])
        assert together["rate_per_1000_a_year"] == pytest.approx(
            together["searches"] / together["person_years"] * 1000)
    white = rows[("All 2 forces shown", "White")]
    assert white["ratio_vs_white"] == 1.0 and white["ci_low"] is None  # the reference row
    black = rows[("Durham Constabulary", "Black")]
    assert black["ci_low"] < black["ratio_vs_white"] < black["ci_high"]


def test_the_window_is_the_dates_every_force_covers(frames):
    table = disparity.comparators(frames.stop_search, frames.population, force="durham", others=["derbyshire"],
                                  as_of=date(2020, 2, 29), start=date(2020, 1, 1))
    searched = frames.stop_search.filter(
        (pl.col("force") == "durham") & (pl.col("search_type") != "Vehicle search")
        & (pl.col("searched_at").dt.convert_time_zone("Europe/London").dt.date() >= date(2020, 1, 1)))
    total = table.filter(pl.col("area") == "Durham Constabulary")["searches"].sum()
    assert total == searched.height
    assert disparity.comparators(frames.stop_search, frames.population, force="west-midlands", others=[],
                                 as_of=date(2020, 2, 29)).is_empty()  # no searches imported for it
