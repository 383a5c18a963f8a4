"""Widening a window past the end of the data leaves every yearly rate unchanged (Hypothesis,
metamorphic).

Rates "per 1,000 residents a year" are over the months the data covers (DOMAIN.md: "Rates per
year are over the months held, never over the calendar up to today"). So a disparity table over
[from, the last month with data] and over [from, any later date] must give the same rates,
person-years and ratios: for stop-search (real police.uk files for Durham and Derbyshire,
December 2019 to February 2020, and the demo's West Midlands searches) and for the pathway's
possession offences per 1,000 residents a year (the demo's offences and referrals).

Issue 25 (1): the rate divides by the window's years instead, so a window reaching past the data
understates every rate (28 times for three months of data in a seven-year window)."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from commands import divert
from dbfixtures import SMALL_DEMO, demo_url
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rule_data import USER, frames_read_once  # noqa: F401  (a fixture)

from divert.analytics.data.frames import Frames
from divert.analytics.data.loading import load_frames
from divert.analytics.equity.disparity import disparity_table
from divert.ingest.run import import_files
from divert.storage.db import get_engine

POLICE_UK = Path(__file__).parent / "fixtures" / "police-uk-sample"
# each source's data: the first and last day of the months it covers
COVERED = {
    ("stop-search", "durham"): (date(2019, 12, 1), date(2020, 2, 29)),
    ("stop-search", "derbyshire"): (date(2019, 12, 1), date(2020, 2, 29)),
    ("stop-search", "west-midlands"): (date(2018, 1, 1), SMALL_DEMO["as_of"]),
    ("pathway", "west-midlands"): (date(2020, 10, 1), SMALL_DEMO["as_of"]),  # from the launch
}
LATEST = date(2026, 6, 30)  # the latest as-of date tried
NUMBERS = {"stop-search": ["rate_per_1000_a_year", "person_years", "residents", "searches", "ratio_vs_white", "ci_low",
                           "ci_high", "share_of_events"],
           "pathway": ["rate", "denominator", "events", "rri", "ci_low", "ci_high"]}
KEYS = {"stop-search": ["group"], "pathway": ["stage", "group"]}


class Data:
    """The module's database: its URL and its frames, read once."""

    def __init__(self, url: str, frames: Frames):
        self.url, self.frames = url, frames

    def __repr__(self) -> str:  # Hypothesis prints the arguments of a failing example
        return "Data(the small demo and six police.uk files)"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """The small demo (West Midlands, to 30 September 2025) and six real police.uk files."""
    url, _ = demo_url(tmp_path_factory.mktemp("yearly-rates"), **SMALL_DEMO)
    engine = get_engine(url)
    files = [(p.name, p.read_bytes()) for p in sorted(POLICE_UK.glob("*.csv"))]
    report = import_files("stop-search", files, USER, engine=engine)
    assert report.ok and report.new == 947, report.problems[:3]
    yield Data(url, load_frames(engine))
    engine.dispose()


@st.composite
def two_windows(draw, source: str):
    """A force with the source's data, a start inside the data (or none), the data's last day as one end
    and a later day (or none: the as-of date) as the other, an as-of date after both, and the
    table's options."""
    force = draw(st.sampled_from(sorted(f for s, f in COVERED if s == source)))
    first, last = COVERED[(source, force)]
    as_of = draw(st.dates(last + timedelta(days=1), LATEST))
    wider = draw(st.one_of(st.none(), st.dates(last + timedelta(days=1), as_of)))
    start = draw(st.one_of(st.none(), st.dates(first, last)))
    options = {"census": draw(st.sampled_from(["interpolated", "2011"]))}
    if source == "stop-search":
        options |= {"level": draw(st.sampled_from(["broad", "detailed"])),
                    "object_of_search": draw(st.sampled_from([None, "Controlled drugs"]))}
        options["ethnicity"] = "self" if options["level"] == "detailed" else draw(st.sampled_from(["self", "officer"]))
    return force, start, last, wider, as_of, options


def numbers(table: pl.DataFrame, source: str) -> pl.DataFrame:
    return table.select(*KEYS[source], *NUMBERS[source]).sort(KEYS[source])


@pytest.mark.parametrize("source", ["stop-search", "pathway"])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_a_window_reaching_past_the_data_gives_the_same_yearly_rates(database, source, data):
    force, start, last, wider, as_of, options = data.draw(two_windows(source), label="force, from, data end, to, as of")
    frames = database.frames.at(as_of)
    to_data, problem = disparity_table(frames, source, force=force, start=start, end=last, as_of=as_of, **options)
    assume(problem is None)  # (a census the force lacks is a usage problem, the same for every window)
    beyond, problem = disparity_table(frames, source, force=force, start=start, end=wider, as_of=as_of, **options)
    assert problem is None
    narrow, wide = numbers(to_data, source), numbers(beyond, source)
    assert narrow.select(KEYS[source]).equals(wide.select(KEYS[source]))
    for column in NUMBERS[source]:
        for group, a, b in zip(narrow[KEYS[source][-1]], narrow[column], wide[column], strict=True):
            assert (a is None and b is None) or (a is not None and b is not None and b == pytest.approx(a, rel=1e-9)), \
                (f"{column} for {group}: {a} over {start or 'the first record'} to {last}, {b} to "
                 f"{wider or as_of} (as of {as_of})")


def test_the_command_gives_a_force_s_stop_search_rates_over_its_months_whatever_the_window(database,
                                                                                           frames_read_once):  # noqa: F811
    """The issue's steps: `divert metrics disparity --source stop-search --force durham` with no
    --from/--to, as of the end of 2020, against the same to the last month of the files."""
    url = database.url

    def rates(*window):
        ran = divert("metrics", "disparity", "--db", url, "--source", "stop-search", "--force", "durham",
                     "--census", "2011", "--as-of", "2020-12-31", "--format", "json", *window)
        assert ran.returncode == 0, ran.stderr
        return {row["group"]: row["rate_per_1000_a_year"] for row in json.loads(ran.stdout)}

    over_the_files, no_window = rates("--to", "2020-02-29"), rates()
    assert over_the_files["White"] == pytest.approx(white_rate_by_hand(database.frames), rel=1e-6)
    assert {g: r for g, r in no_window.items() if r is not None} == \
        pytest.approx({g: r for g, r in over_the_files.items() if r is not None}, rel=1e-9)


def white_rate_by_hand(frames) -> float:
    """White people searched in Durham's three files per 1,000 White residents a year (the 2011
    census, as the command is asked): 31 days of 2019 and 60 of 2020."""
    searched = 0
    for path in sorted(POLICE_UK.glob("*-durham-*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            searched += sum(1 for row in csv.DictReader(handle)
                            if row["Self-defined ethnicity"].startswith("White") and row["Type"] != "Vehicle search")
    residents = frames.population.filter((pl.col("force") == "durham") & (pl.col("geography_level") == "force")
                                         & (pl.col("census_year") == 2011) & (pl.col("ethnicity") == "White")
                                         & (pl.col("sex") == "all") & (pl.col("age_band") == "all"))["count"].sum()
    return searched / (residents * (31 / 365 + 60 / 366)) * 1000
