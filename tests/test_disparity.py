"""Disparity: interval functions against hand-computed examples, properties, and the real
police.uk samples recomputed independently from the raw files and census figures."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

from divert.analytics import disparity, outcomes
from divert.analytics.disparity import poisson_ratio, proportion_ratio

SAMPLES = Path(__file__).parent / "fixtures" / "police-uk-sample"
CENSUS = Path(__file__).parent.parent / "data" / "census2011" / "force-demographics.csv"


def test_poisson_ratio_large_counts_is_the_textbook_log_interval():
    ratio, low, high = poisson_ratio(200, 10_000, 100, 10_000)
    half = 1.959964 * math.sqrt(1 / 200 + 1 / 100)
    assert ratio == pytest.approx(2.0)
    assert low == pytest.approx(2 * math.exp(-half), rel=1e-5) and high == pytest.approx(2 * math.exp(half), rel=1e-5)


def test_poisson_ratio_small_counts_is_exact_conditional():
    ratio, low, high = poisson_ratio(2, 1000, 4, 2000)
    # by hand: a | a+b ~ Bin(6, p); Clopper-Pearson for p, then RR = p/(1-p) * eb/ea
    p_low, p_high = beta.ppf(0.025, 2, 5), beta.ppf(0.975, 3, 4)
    assert ratio == pytest.approx(1.0)
    assert low == pytest.approx(p_low / (1 - p_low) * 2, rel=1e-6)
    assert high == pytest.approx(p_high / (1 - p_high) * 2, rel=1e-6)


def test_no_ratio_without_a_reference():
    assert poisson_ratio(5, 100, 0, 100) == (None, None, None)
    assert proportion_ratio(5, 10, 0, 10) == (None, None, None)
    assert poisson_ratio(5, 0, 3, 100) == (None, None, None)


def test_proportion_ratio_katz_for_large_counts():
    ratio, low, high = proportion_ratio(30, 100, 10, 100)
    assert (ratio, low, high) == (pytest.approx(3.0), pytest.approx(1.5508, abs=1e-3), pytest.approx(5.8033, abs=1e-3))


counts = st.integers(min_value=1, max_value=400)


@given(a=counts, b=counts, ea=st.integers(1000, 100_000), eb=st.integers(1000, 100_000))
def test_poisson_interval_properties(a, b, ea, eb):
    ratio, low, high = poisson_ratio(a, ea, b, eb)
    assert low <= ratio <= (high if high is not None else math.inf)
    swapped = poisson_ratio(b, eb, a, ea)
    assert swapped[0] == pytest.approx(1 / ratio)
    assert swapped[1] == pytest.approx(1 / high, rel=1e-6) and swapped[2] == pytest.approx(1 / low, rel=1e-6)
    bigger = poisson_ratio(a * 10, ea * 10, b * 10, eb * 10)
    assert bigger[2] / bigger[1] < high / low


@given(a=st.integers(1, 60), b=st.integers(1, 60), extra_a=st.integers(1, 200), extra_b=st.integers(1, 200))
def test_proportion_interval_properties(a, b, extra_a, extra_b):
    n_a, n_b = a + extra_a, b + extra_b
    ratio, low, high = proportion_ratio(a, n_a, b, n_b)
    assert low <= ratio <= high
    swapped = proportion_ratio(b, n_b, a, n_a)
    assert swapped[0] == pytest.approx(1 / ratio)
    assert swapped[1] == pytest.approx(1 / high, rel=1e-4) and swapped[2] == pytest.approx(1 / low, rel=1e-4)
    bigger = proportion_ratio(a * 20, n_a * 20, b * 20, n_b * 20)
    assert bigger[2] / bigger[1] < high / low


# --- the real police.uk samples -------------------------------------------------------------
BROAD_OF_LABEL = {"White": "White", "Mixed/Multiple ethnic groups": "Mixed", "Asian/Asian British": "Asian",
                  "Black/African/Caribbean/Black British": "Black", "Other ethnic group": "Other"}


def independent_rates(force: str, object_of_search: str | None = None) -> dict:
    """Searches per 1,000 and ratio to White computed straight from the CSV files."""
    searches: dict[str, int] = {}
    for path in SAMPLES.glob(f"*-{force}-stop-and-search.csv"):
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
            if row["Type"] == "Vehicle search":
                continue
            if object_of_search and row["Object of search"] != object_of_search:
                continue
            label = row["Self-defined ethnicity"]
            group = "Missing" if not label else ("Not stated" if label.endswith("Not stated") else BROAD_OF_LABEL[label.split(" - ")[0]])
            searches[group] = searches.get(group, 0) + 1
    census = {row["PFA16NM"]: row for row in csv.DictReader(CENSUS.open(encoding="utf-8"))}[force.capitalize()]
    population = {g: int(census[f"Ethnic Group: {g}; measures: Value"]) for g in ("White", "Mixed", "Asian", "Black", "Other")}
    rates = {g: searches.get(g, 0) / population[g] * 1000 for g in population}
    return {"searches": searches, "population": population, "rates": rates,
            "ratios": {g: rates[g] / rates["White"] for g in population}}


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    env = {"DIVERT_DATA_DIR": str(folder), "DIVERT_DATABASE_URL": f"sqlite:///{folder / 'd.db'}", "PATH": "/usr/bin:/bin"}
    def run(*args):
        result = subprocess.run([sys.executable, "-m", "divert.cli", *args], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout
    run("init")
    run("import", "stop-search", *map(str, sorted(SAMPLES.glob("*.csv"))))
    return run


@pytest.mark.parametrize("force", ["derbyshire", "durham"])
@pytest.mark.parametrize("object_of_search", [None, "Controlled drugs"])
def test_command_matches_an_independent_computation(sample_db, force, object_of_search):
    args = ["metrics", "disparity", "--source", "stop-search", "--force", force, "--format", "json"]
    if object_of_search:
        args += ["--object", object_of_search]
    table = {row["group"]: row for row in json.loads(sample_db(*args))}
    expected = independent_rates(force, object_of_search)
    for group, population in expected["population"].items():
        row = table[group]
        assert row["searches"] == expected["searches"].get(group, 0)
        assert row["population"] == population
        assert row["rate_per_1000"] == pytest.approx(expected["rates"][group])
        assert row["ratio_vs_white"] == pytest.approx(expected["ratios"][group])
        if row["searches"]:
            assert row["ci_low"] <= row["ratio_vs_white"] <= row["ci_high"]
    for group in ("Not stated", "Missing"):  # shown, never dropped, with no population
        if expected["searches"].get(group):
            assert table[group]["searches"] == expected["searches"][group] and table[group]["population"] is None


def test_csv_columns_are_the_documented_ones(sample_db):
    header = sample_db("metrics", "disparity", "--source", "stop-search", "--force", "durham").splitlines()[0]
    assert header.startswith("group,searches,population,rate_per_1000,ratio_vs_white,ci_low,ci_high")


# --- the pathway on the demo data -----------------------------------------------------------
@pytest.fixture(scope="module")
def demo_frames(tmp_path_factory):
    from divert.analytics.frames import load_frames
    from divert.db import get_engine, upgrade
    from divert.demo import load_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    upgrade(url)
    engine = get_engine(url)
    load_demo(engine, seed=11, scale=1.0)
    yield load_frames(engine)
    engine.dispose()


def test_pathway_table_has_every_stage_and_group(demo_frames):
    table = disparity.pathway_rri(demo_frames.offences, demo_frames.referrals, demo_frames.population, force="west-midlands")
    assert set(table["stage"]) == {s for s, _, _ in disparity.STAGES}
    assert {"White", "Black", "Asian", "Mixed", "Other", "Not stated"} <= set(table["group"])
    white = table.filter(pl.col("group") == "White")
    assert (white["rri"] == 1.0).all()
    black_offences = table.filter((pl.col("stage") == "possession_offence") & (pl.col("group") == "Black")).row(0, named=True)
    assert black_offences["rri"] > 2 and black_offences["significant"]
    assert table.filter(pl.col("group") == "Not stated")["rri"].null_count() == len(disparity.STAGES)


def test_formal_outcome_gap_narrows_after_the_policy(demo_frames):
    shares = outcomes.formal_share(demo_frames.offences, {"before": outcomes.BEFORE, "after": outcomes.AFTER}, by=("ethnic_group",))
    share = {(r["ethnic_group"], r["period"]): r["formal_share"] for r in shares.iter_rows(named=True)}
    gap_before = share[("Black", "before")] - share[("White", "before")]
    gap_after = share[("Black", "after")] - share[("White", "after")]
    assert abs(gap_after) < abs(gap_before)


def test_formal_rri_by_half_year_is_available(demo_frames):
    table = disparity.formal_by_half_year(demo_frames.offences, first=date(2019, 1, 1))
    assert {"Jul-Dec 2019", "Jul-Dec 2021"} <= set(table["period"])
    assert {"period", "group", "sex", "formal_outcomes", "offences", "formal_share", "rri", "ci_low", "ci_high"} <= set(table.columns)
