"""Coverage is data: the months each source holds, the gaps, and rates over covered time only.

Issue 25 (1, 2): five forces' police.uk files for December 2019 to February 2020 gave a rate per
1,000 a year over seven years (28 times too small). Here, on the real files for Durham and
Derbyshire (Durham's January 2020 file left out: a month never imported), rates are over the
months the files cover, within 1% of a hand count, with or without --from/--to; the window's
gaps are said in words and carried in `--format json`; a window with no covered month gives no
rate; `divert status` lists coverage per source and force with the gaps."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from commands import divert
from dbfixtures import SMALL_DEMO, demo_url
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_data import USER
from sqlalchemy import text

from divert.analytics.calendar.months import add_months, month_end
from divert.analytics.data import coverage
from divert.analytics.data.loading import load_frames
from divert.analytics.equity import disparity
from divert.ingest.run import import_files
from divert.storage.db import get_engine

POLICE_UK = Path(__file__).parent / "fixtures" / "police-uk-sample"
LEFT_OUT = "2020-01-durham-stop-and-search.csv"  # Durham's January: never imported
AS_OF = "2020-12-31"


# --- the months, on hand-built data ---------------------------------------------------------------
def months(*pairs: tuple[int, int]) -> tuple[date, ...]:
    return tuple(date(y, m, 1) for y, m in pairs)


def test_a_gap_is_known_and_only_covered_days_count():
    cover = coverage.Coverage("stop-search", "durham", months((2019, 12), (2020, 2), (2020, 3)), date(2020, 12, 31))
    assert cover.covered_from == date(2019, 12, 1) and cover.covered_to == date(2020, 3, 31)
    assert cover.missing == months((2020, 1))
    assert cover.spans(date(2019, 1, 1), date(2020, 12, 31)) == [(date(2019, 12, 1), date(2019, 12, 31)),
                                                                 (date(2020, 2, 1), date(2020, 3, 31))]
    assert cover.spans(date(2019, 12, 15), date(2020, 2, 10)) == [(date(2019, 12, 15), date(2019, 12, 31)),
                                                                  (date(2020, 2, 1), date(2020, 2, 10))]
    assert cover.missing_in(date(2019, 11, 1), date(2020, 5, 31)) == list(months((2019, 11), (2020, 1), (2020, 4),
                                                                                 (2020, 5)))
    note = cover.note(date(2019, 11, 1), date(2020, 5, 31))
    assert "data starts 1 December 2019: the first month of this window has no data" in note
    assert "there is no stop-search data for January 2020" in note
    assert "data ends 31 March 2020: the last 2 months of this window have no data yet" in note
    assert cover.note(date(2019, 12, 1), date(2019, 12, 31)) is None
    assert "so there is no rate" in cover.note(date(2020, 1, 1), date(2020, 1, 31))


def test_the_last_month_is_covered_only_up_to_the_as_of_date():
    cover = coverage.Coverage("referrals", "x", months((2026, 11), (2026, 12)), date(2026, 12, 5))
    assert cover.covered_to == date(2026, 12, 5)
    assert cover.spans(date(2026, 11, 1), date(2026, 12, 31)) == [(date(2026, 11, 1), date(2026, 12, 5))]
    assert coverage.Coverage("referrals", "x", (), date(2026, 12, 5)).note(date(2026, 1, 1), date(2026, 2, 1)) \
        == "there is no referral data yet, so there is no rate"


@settings(max_examples=60, deadline=None)
@given(held=st.sets(st.integers(0, 36), min_size=1, max_size=20), a=st.integers(-3, 40), b=st.integers(-3, 40))
def test_covered_and_missing_months_partition_the_window(held, a, b):
    """Every month of a window is either covered (inside a span) or missing, never both: the
    days counted are exactly the held months' days inside the window."""
    base = date(2020, 1, 1)
    cover = coverage.Coverage("stop-search", "f", tuple(sorted(add_months(base, k) for k in held)), date(2030, 1, 1))
    start, end = add_months(base, min(a, b)), month_end(add_months(base, max(a, b)))
    spans = cover.spans(start, end)
    covered_days = sum((y - x).days + 1 for x, y in spans)
    expected = sum((month_end(m) - m).days + 1 for m in cover.months if start <= m <= end)
    assert covered_days == expected
    window_months = {add_months(base, k) for k in range(min(a, b), max(a, b) + 1)}
    assert set(cover.missing_in(start, end)) == window_months - set(cover.months)
    assert all(y < x2 for (_, y), (x2, _) in zip(spans, spans[1:], strict=False))  # sorted, apart


# --- on real police.uk files ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def database(tmp_path_factory):
    url, _ = demo_url(tmp_path_factory.mktemp("coverage"), **SMALL_DEMO)
    engine = get_engine(url)
    files = [(p.name, p.read_bytes()) for p in sorted(POLICE_UK.glob("*.csv")) if p.name != LEFT_OUT]
    report = import_files("stop-search", files, USER, engine=engine)
    assert report.ok and report.written, report.problems[:3]
    with engine.begin() as connection:  # a force with one census only: Durham's 2021 rows left out
        connection.execute(text("DELETE FROM population WHERE force = 'durham' AND census_year = 2021"))
    yield url, load_frames(engine)
    engine.dispose()


def hand_count(frames, force: str, group: str, days_2019: int, days_2020: int) -> float:
    """People of a broad group searched in the force's imported files (vehicle-only searches
    left out) per 1,000 residents of the group a year, over the days given, with the 2011 census."""
    searched = 0
    for path in sorted(POLICE_UK.glob(f"*-{force}-*.csv")):
        if path.name == LEFT_OUT:
            continue
        with open(path, encoding="utf-8-sig", newline="") as handle:
            searched += sum(1 for row in csv.DictReader(handle)
                            if row["Self-defined ethnicity"].startswith(group) and row["Type"] != "Vehicle search")
    residents = frames.population.filter((pl.col("force") == force) & (pl.col("geography_level") == "force")
                                         & (pl.col("census_year") == 2011) & (pl.col("ethnicity") == group)
                                         & (pl.col("sex") == "all") & (pl.col("age_band") == "all"))["count"].sum()
    return searched / (residents * (days_2019 / 365 + days_2020 / 366)) * 1000


def rates(url: str, force: str, *window: str) -> tuple[list[dict], str]:
    ran = divert("metrics", "disparity", "--db", url, "--source", "stop-search", "--force", force, "--census", "2011",
                 "--as-of", AS_OF, "--format", "json", *window)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout), ran.stderr


@pytest.mark.parametrize("window", [(), ("--from", "2019-06-01", "--to", "2020-12-31"), ("--to", "2020-02-29")])
@pytest.mark.parametrize("force, days", [("derbyshire", (31, 60)), ("durham", (31, 29))])  # Durham: no January
def test_rates_are_over_the_months_the_files_cover_with_or_without_a_window(database, force, days, window):
    url, frames = database
    rows, said = rates(url, force, *window)
    by_group = {row["group"]: row for row in rows}
    for group in ("White", "Asian"):
        assert by_group[group]["rate_per_1000_a_year"] == pytest.approx(hand_count(frames, force, group, *days), rel=0.01)
    white = by_group["White"]
    assert white["covered_from"] == "2019-12-01" and white["covered_to"] == "2020-02-29"
    missing = (1 if force == "durham" else 0) + (16 if window and window[0] == "--from" else 0)
    assert white["months_missing"] == missing
    if force == "durham":
        assert "there is no stop-search data for January 2020" in said
    if window[:1] == ("--from",):
        assert "the last 10 months of this window have no data yet" in said
    else:  # the default window ends where the data ends: nothing to say about months after it
        assert "no data yet" not in said


def test_a_window_with_no_covered_month_gives_no_rate_and_says_why(database):
    url, _ = database
    for window in (("--from", "2020-01-01", "--to", "2020-01-31"), ("--from", "2021-01-01", "--to", "2021-06-30")):
        ran = divert("metrics", "disparity", "--db", url, "--source", "stop-search", "--force", "durham",
                     "--as-of", "2021-12-31", *window)
        assert ran.returncode != 0 and not ran.stdout
        assert "so there is no rate" in ran.stderr


def test_yearly_rates_leave_a_year_with_no_covered_month_as_a_gap_not_a_zero(database):
    _, frames = database
    table = disparity.rates_over_time(frames.stop_search, frames.population, force="durham", as_of=date(2022, 12, 31),
                                      census="2011", end=date(2022, 12, 31))
    assert sorted(set(table["period"])) == [date(2019, 1, 1), date(2020, 1, 1), date(2021, 1, 1), date(2022, 1, 1)]
    later = table.filter(pl.col("period") >= date(2021, 1, 1))
    assert later.height and later["rate_per_1000_a_year"].is_null().all() and later["searches"].is_null().all()
    assert table.filter(pl.col("period") <= date(2020, 1, 1))["part_year"].all()


def test_comparators_use_the_days_every_force_covers(database):
    _, frames = database
    table = disparity.comparators(frames.stop_search, frames.population, force="derbyshire", others=["durham"],
                                  as_of=date(2020, 12, 31), census="2011")
    white = table.filter((pl.col("group") == "White") & (pl.col("force") == "derbyshire"))
    assert white["rate_per_1000_a_year"][0] == pytest.approx(
        _white_rate_without_january(frames), rel=0.01)
    assert "1 Dec 2019 to 31 Dec 2019, 1 Feb 2020 to 29 Feb 2020" in white["denominator"][0]


def _white_rate_without_january(frames) -> float:
    searched = 0
    for path in POLICE_UK.glob("20*-derbyshire-*.csv"):
        if "2020-01" in path.name:
            continue
        with open(path, encoding="utf-8-sig", newline="") as handle:
            searched += sum(1 for row in csv.DictReader(handle)
                            if row["Self-defined ethnicity"].startswith("White") and row["Type"] != "Vehicle search")
    residents = frames.population.filter((pl.col("force") == "derbyshire") & (pl.col("geography_level") == "force")
                                         & (pl.col("census_year") == 2011) & (pl.col("ethnicity") == "White")
                                         & (pl.col("sex") == "all") & (pl.col("age_band") == "all"))["count"].sum()
    return searched / (residents * (31 / 365 + 29 / 366)) * 1000


def test_status_lists_coverage_per_source_and_force_with_the_gaps(database):
    url, _ = database
    ran = divert("status", "--db", url, "--as-of", AS_OF)
    assert ran.returncode == 0, ran.stderr
    lines = {line.split()[0] + " " + line.split()[1]: line for line in ran.stdout.splitlines()
             if line.startswith("  ") and len(line.split()) > 2}
    assert "January 2020" in lines["stop-search durham"] and "Dec 2019" in lines["stop-search durham"]
    assert "none" in lines["stop-search derbyshire"]
    assert "referrals west-midlands" in lines and "population durham" in lines


def test_a_viewer_is_told_the_window_s_coverage_too(database):
    url, _ = database
    ran = divert("metrics", "disparity", "--db", url, "--source", "stop-search", "--force", "durham", "--census", "2011",
                 "--as-of", AS_OF, "--role", "viewer", "--format", "json")
    assert ran.returncode == 0, ran.stderr
    white = next(row for row in json.loads(ran.stdout) if row["group"] == "White")
    assert (white["covered_from"], white["covered_to"], white["months_missing"]) == ("2019-12-01", "2020-02-29", 1)


def test_the_pathway_carries_its_coverage_too(database):
    """The demo's offences and referrals cover every month up to its as-of date (30 Sep 2025): a
    window to the end of 2025 has three months with no data, said in words and counted."""
    url, _ = database
    ran = divert("metrics", "disparity", "--db", url, "--source", "pathway", "--from", "2025-01-01", "--to", "2025-12-31",
                 "--as-of", "2025-12-31", "--format", "json")
    assert ran.returncode == 0, ran.stderr
    rows = json.loads(ran.stdout)
    assert {(r["covered_from"], r["covered_to"], r["months_missing"]) for r in rows} == {("2025-01-01", "2025-09-30", 3)}
    assert "the last 3 months of this window have no data yet" in ran.stderr
