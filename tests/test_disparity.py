"""Disparity: interval functions against hand-computed examples and properties; the real
police.uk samples recomputed independently from the raw files and census figures; the pathway's
decision points on hand-built frames with known answers; and the demo recomputed in SQL written
here, not taken from the analytics code."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from commands import divert
from dbfixtures import FULL_DEMO, demo_url, main_url
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

from divert.analytics.dashboards import outcomes
from divert.analytics.equity import disparity
from divert.analytics.equity.disparity import poisson_ratio, proportion_ratio
from divert.analytics.stats.ratios import mover_ratio

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


def wilson(k: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    centre, half = (k + z * z / 2) / (n + z * z), z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return centre - half, centre + half


def test_mover_interval_at_100_percent_is_the_published_formula():
    """Donner and Zou (2012), MOVER-R from two Wilson intervals, worked by hand."""
    a, n_a, b, n_b = 5, 5, 9, 10
    p1, p2 = a / n_a, b / n_b
    (l1, u1), (l2, u2) = wilson(a, n_a), wilson(b, n_b)
    low = (p1 * p2 - math.sqrt((p1 * p2) ** 2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2))) / (u2 * (2 * p2 - u2))
    high = (p1 * p2 + math.sqrt((p1 * p2) ** 2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2))) / (l2 * (2 * p2 - l2))
    assert mover_ratio(a, n_a, b, n_b) == (pytest.approx(10 / 9), pytest.approx(low), pytest.approx(high))
    assert proportion_ratio(a, n_a, b, n_b) == mover_ratio(a, n_a, b, n_b)
    swapped = mover_ratio(b, n_b, a, n_a)
    assert swapped[1] == pytest.approx(1 / high) and swapped[2] == pytest.approx(1 / low)


def test_two_groups_at_100_percent_are_not_significantly_different():
    ratio, low, high = proportion_ratio(338, 338, 3444, 3444)
    assert ratio == 1.0 and low < 1 < high
    assert disparity.significant(low, high) is False


# --- the real police.uk samples -------------------------------------------------------------
BROAD_OF_LABEL = {"White": "White", "Mixed/Multiple ethnic groups": "Mixed", "Asian/Asian British": "Asian",
                  "Black/African/Caribbean/Black British": "Black", "Other ethnic group": "Other"}
CENSUS_2021 = Path(__file__).parent.parent / "data" / "census2021" / "census2021-ts021-ltla.csv"
AUTHORITIES = {  # the local authorities of each force area (2021)
    "derbyshire": {"Amber Valley", "Bolsover", "Chesterfield", "Derbyshire Dales", "Erewash", "High Peak",
                   "North East Derbyshire", "South Derbyshire", "Derby"},
    "durham": {"County Durham", "Darlington"},
}
COLUMN_2021 = {"White": "White", "Mixed": "Mixed or Multiple ethnic groups", "Asian": "Asian, Asian British or Asian Welsh",
               "Black": "Black, Black British, Black Welsh, Caribbean or African", "Other": "Other ethnic group"}
SAMPLE_WINDOW = ("2019-12-01", "2020-02-29")  # the three months of the samples
YEAR_SHARES = {2019: 31 / 365, 2020: 60 / 366}


def independent_rates(force: str, object_of_search: str | None, census: str) -> dict:
    """Searches per 1,000 residents a year and ratio to White, straight from the CSV files."""
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
    census_2011 = {row["PFA16NM"]: row for row in csv.DictReader(CENSUS.open(encoding="utf-8"))}[force.capitalize()]
    p2011 = {g: int(census_2011[f"Ethnic Group: {g}; measures: Value"]) for g in COLUMN_2021}
    rows_2021 = [r for r in csv.DictReader(CENSUS_2021.open(encoding="utf-8")) if r["geography"] in AUTHORITIES[force]]
    assert len(rows_2021) == len(AUTHORITIES[force])
    p2021 = {g: sum(int(r[f"Ethnic group: {c}"]) for r in rows_2021) for g, c in COLUMN_2021.items()}

    def residents(group: str, year: int) -> float:
        if census == "2011":
            return p2011[group]
        return p2011[group] + (year - 2011) / 10 * (p2021[group] - p2011[group])

    person_years = {g: sum(residents(g, y) * share for y, share in YEAR_SHARES.items()) for g in COLUMN_2021}
    rates = {g: searches.get(g, 0) / person_years[g] * 1000 for g in COLUMN_2021}
    return {"searches": searches, "person_years": person_years, "rates": rates,
            "ratios": {g: rates[g] / rates["White"] for g in COLUMN_2021}}


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    """`divert init` and an import of the samples; then `divert ARGS` on that database."""
    folder = tmp_path_factory.mktemp("samples")
    url = main_url(folder, "d.db")
    env = {"DIVERT_DATA_DIR": str(folder), "DIVERT_DATABASE_URL": None, "DIVERT_FORCE": None}

    def run(*args, stderr=False):
        result = divert("--db", url, *args, env=env)
        assert result.returncode == 0, result.stderr
        return (result.stdout, result.stderr) if stderr else result.stdout
    run("init")
    run("import", "stop-search", *map(str, sorted(SAMPLES.glob("*.csv"))))
    return run


def sample_args(force: str, census: str) -> list[str]:
    return ["metrics", "disparity", "--source", "stop-search", "--force", force, "--from", SAMPLE_WINDOW[0],
            "--to", SAMPLE_WINDOW[1], "--as-of", SAMPLE_WINDOW[1], "--census", census]


@pytest.mark.parametrize("force", ["derbyshire", "durham"])
@pytest.mark.parametrize("object_of_search", [None, "Controlled drugs"])
@pytest.mark.parametrize("census", ["interpolated", "2011"])
def test_command_matches_an_independent_computation(sample_db, force, object_of_search, census):
    args = [*sample_args(force, census), "--format", "json"]
    if object_of_search:
        args += ["--object", object_of_search]
    table = {row["group"]: row for row in json.loads(sample_db(*args))}
    expected = independent_rates(force, object_of_search, census)
    for group, person_years in expected["person_years"].items():
        row = table[group]
        assert row["searches"] == expected["searches"].get(group, 0)
        assert row["person_years"] == pytest.approx(person_years)
        assert row["rate_per_1000_a_year"] == pytest.approx(expected["rates"][group])
        assert row["ratio_vs_white"] == pytest.approx(expected["ratios"][group])
        if row["searches"] and group != "White":
            assert row["ci_low"] <= row["ratio_vs_white"] <= row["ci_high"]
    assert table["White"]["ratio_vs_white"] == 1.0 and table["White"]["ci_low"] is None and table["White"]["ci_high"] is None
    for group in ("Not stated", "Missing"):  # shown, never dropped, with no population
        if expected["searches"].get(group):
            assert table[group]["searches"] == expected["searches"][group] and table[group]["person_years"] is None
    assert len({row["denominator"] for row in table.values()}) == 1


def test_csv_columns_and_the_denominator_line(sample_db):
    out, err = sample_db(*sample_args("durham", "interpolated"), stderr=True)
    assert out.splitlines()[0].startswith(
        "group,searches,residents,person_years,rate_per_1000_a_year,ratio_vs_white,ci_low,ci_high")
    assert ("Denominator: per 1,000 residents a year over 0.25 years (1 Dec 2019 to 29 Feb 2020); populations "
            "2019-2020: interpolated between the 2011 and 2021 censuses") in err


# --- the decision points on hand-built frames ------------------------------------------------
LAUNCH, AS_OF = date(2021, 1, 1), date(2021, 12, 31)


def hand_built() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """White: 10 offences after the launch, 8 referred (one of them 11 days before the as-of
    date), one pending; one offence before the launch (referred: not counted). Black: 11
    offences, 5 referred; person 14 got an intelligence log, then offended again (barred)."""
    offences = [(i, date(2021, 2, i), i, "White", 8 if i <= 8 else (None if i == 9 else 1)) for i in range(1, 11)]
    offences += [(i, date(2021, 2, i - 10), i, "Black", 8 if i <= 15 else 1) for i in range(11, 21)]
    offences += [(21, date(2020, 11, 1), 21, "White", 8), (22, date(2021, 6, 1), 14, "Black", 1)]
    offences = pl.DataFrame(offences, schema={"offence_id": pl.Int64, "offence_date": pl.Date, "person_id": pl.Int64,
                                              "ethnic_group": pl.String, "outcome": pl.Int64}, orient="row")
    referrals = []
    # offence/person, referred on, assessment, allocation, course completed, closure, intelligence log
    for i, assessed, allocation, finished, closure, log in [
        (1, "completed", "group_course", True, "complied", None), (2, "completed", "group_course", True, "complied", None),
        (3, "completed", "group_course", True, "complied", None), (4, "completed", "group_course", False, None, None),
        (5, "completed", "one_to_one", False, "complied", None), (6, "completed", "one_to_one", False, None, None),
        (7, "no_contact", None, False, "not_engaged", date(2021, 4, 1)), (8, "completed", "group_course", True, "complied", None),
        (11, "completed", "group_course", True, "complied", None), (12, "completed", "group_course", False, None, None),
        (13, "completed", "structured_treatment", False, "complied", None),
        (14, "declined", None, False, "not_engaged", date(2021, 4, 1)), (15, None, None, False, "not_engaged", date(2021, 5, 1)),
        (21, "completed", "group_course", True, "complied", None),
    ]:
        referred = date(2021, 12, 20) if i == 8 else date(2020, 11, 2) if i == 21 else date(2021, 3, 1)
        referrals.append((i, i, referred, assessed, allocation, date(2021, 4, 1) if finished else None, closure, log))
    referrals = pl.DataFrame(referrals, schema={
        "offence_id": pl.Int64, "person_id": pl.Int64, "referred_on": pl.Date, "assessment_result": pl.String,
        "allocation": pl.String, "course_completed_at": pl.Date, "closure_result": pl.String,
        "intelligence_log_date": pl.Date}, orient="row")
    population = pl.DataFrame([
        {"census_year": y, "geography_level": "force", "geography_code": "F", "geography_name": "F", "force": "f",
         "ethnicity": g, "sex": "all", "age_band": "all", "count": c, "source": "hand-built"}
        for y in (2011, 2021) for g, c in {"White": 1000, "Black": 100, "Asian": 50, "Mixed": 50, "Other": 50}.items()])
    return offences, referrals, population


@pytest.fixture(scope="module")
def chain() -> dict:
    offences, referrals, population = hand_built()
    table = disparity.pathway_rri(offences, referrals, population, force="f", launch=LAUNCH, as_of=AS_OF)
    return {(r["stage"], r["group"]): r for r in table.iter_rows(named=True)}


@pytest.mark.parametrize(("stage", "white", "black"), [
    # pending outcome counted; the pre-launch offence not. Residents' time only over the months with
    # records (February, March, June and December 2021: 120 days), not the whole year
    ("possession_offence", (10, 1000 * 120 / 365), (11, 100 * 120 / 365)),
    ("diverted", (8, 10), (5, 11)),
    ("diverted_eligible", (8, 10), (5, 10)),  # person 14's second offence came after their intelligence log
    ("engaged", (6, 7), (3, 5)),  # White referral 8 is 11 days old: out of numerator and denominator
    ("course_completed", (3, 4), (1, 2)),
    ("complied_course", (3, 3), (1, 1)),
    ("complied_other", (1, 2), (1, 1)),
    ("intelligence_log", (1, 7), (2, 5)),
])
def test_each_stage_uses_the_stage_before_as_denominator(chain, stage, white, black):
    w, b = chain[(stage, "White")], chain[(stage, "Black")]
    assert (w["events"], w["denominator"]) == pytest.approx(white) and (b["events"], b["denominator"]) == pytest.approx(black)
    scale = 1000 if stage == "possession_offence" else 1
    assert b["rate"] == pytest.approx(black[0] / black[1] * scale)
    assert b["rri"] == pytest.approx((black[0] / black[1]) / (white[0] / white[1]))
    assert b["ci_low"] <= b["rri"] <= b["ci_high"]
    assert (w["rri"], w["ci_low"], w["ci_high"], w["significant"]) == (1.0, None, None, None)


def test_stage_denominators_are_described(chain):
    assert chain[("possession_offence", "Black")]["rate_unit"] == "per 1,000 residents a year"
    basis = chain[("possession_offence", "Black")]["denominator_basis"]
    assert "over 0.33 years (1 Feb 2021 to 31 Mar 2021, 1 Jun 2021 to 30 Jun 2021, 1 Dec 2021 to 31 Dec 2021)" in basis
    assert "there is no offence and referral data for January 2021, April 2021, May 2021, July 2021" in basis
    assert "pending" in chain[("diverted", "Black")]["denominator_basis"]
    assert "3 Dec 2021" in chain[("engaged", "Black")]["denominator_basis"]  # 28 days before the as-of date
    assert "2 Oct 2021" in chain[("intelligence_log", "Black")]["denominator_basis"]  # 90 days
    assert chain[("possession_offence", "Asian")]["events"] == 0 and chain[("possession_offence", "Asian")]["rri"] == 0


def test_a_window_ending_before_the_launch_is_refused():
    offences, referrals, population = hand_built()
    assert disparity.pathway_rri(offences, referrals, population, force="f", launch=LAUNCH, as_of=date(2020, 12, 1)).is_empty()


# --- the demo, recomputed in SQL written here ---------------------------------------------------
DEMO_AS_OF = FULL_DEMO["as_of"]
GROUP_SQL = """CASE WHEN {c} IS NULL THEN 'Missing' WHEN {c} = 'NS' THEN 'Not stated'
     WHEN substr({c}, 1, 1) = 'W' THEN 'White' WHEN substr({c}, 1, 1) = 'M' THEN 'Mixed'
     WHEN substr({c}, 1, 1) = 'A' THEN 'Asian' WHEN substr({c}, 1, 1) = 'B' THEN 'Black' ELSE 'Other' END"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from divert.analytics.data.loading import load_frames
    from divert.records.census_rows import ensure_population
    from divert.storage.db import get_engine

    url, _ = demo_url(tmp_path_factory.mktemp("demo"), **FULL_DEMO)
    engine = get_engine(url)
    ensure_population(engine)  # as the app's first start and `divert init` do
    yield engine, load_frames(engine).at(DEMO_AS_OF)
    engine.dispose()


def sql(engine, query: str, **params) -> list[tuple]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query), params)]


def census_sql(engine, year: int) -> dict[str, int]:
    return dict(sql(engine, "SELECT ethnicity, count FROM population WHERE census_year = :y AND geography_level = 'force' "
                            "AND force = 'west-midlands' AND sex = 'all' AND age_band = 'all'", y=year))


def test_diverted_relative_rate_is_post_launch_offences_referred(demo):
    engine, frames = demo
    rows = sql(engine, f"""
        SELECT {GROUP_SQL.format(c='p.ethnicity_self')} AS grp, COUNT(*) AS offences,
               SUM(CASE WHEN EXISTS (SELECT 1 FROM referral r WHERE r.offence_id = o.id) THEN 1 ELSE 0 END) AS referred
        FROM offence o LEFT JOIN person p ON p.id = o.person_id
        WHERE o.offence_date >= :launch AND o.offence_date <= :as_of
        GROUP BY grp""", launch=frames.programme.launch.isoformat(), as_of=DEMO_AS_OF.isoformat())
    counts = {g: (off, ref) for g, off, ref in rows}
    assert sql(engine, "SELECT COUNT(*) FROM offence WHERE outcome IS NULL AND offence_date >= :l", l="2020-10-01")[0][0] > 0
    table, problem = disparity.disparity_table(frames, "pathway")
    assert problem is None
    diverted = {r["group"]: r for r in table.filter(pl.col("stage") == "diverted").iter_rows(named=True)}
    white = counts["White"][1] / counts["White"][0]
    for group in ("Asian", "Black", "Mixed", "Other"):
        offences, referred = counts[group]
        assert (diverted[group]["events"], diverted[group]["denominator"]) == (referred, offences)
        assert diverted[group]["rri"] == pytest.approx((referred / offences) / white)
    assert (diverted["White"]["rri"], diverted["White"]["ci_low"], diverted["White"]["ci_high"]) == (1.0, None, None)
    assert f"recorded as outcome {frames.programme.diversion_outcome}" in diverted["White"]["denominator_basis"]
    assert table.filter(pl.col("group") == "White")["ci_low"].null_count() == len(disparity.STAGES)
    assert table.filter(pl.col("group") == "Not stated")["rri"].null_count() == len(disparity.STAGES)
    black = table.filter((pl.col("stage") == "possession_offence") & (pl.col("group") == "Black")).row(0, named=True)
    assert black["rri"] > 1.5 and black["significant"]


def search_counts(engine, first: str, last_exclusive: str) -> dict[str, int]:
    return dict(sql(engine, f"""
        SELECT {GROUP_SQL.format(c='ethnicity_self_code')} AS grp, COUNT(*) FROM stop_search
        WHERE force = 'west-midlands' AND search_type <> 'Vehicle search'
          AND searched_at >= :first AND searched_at < :last
        GROUP BY grp""", first=first, last=last_exclusive))  # 1 January: UK time is UTC


def test_a_two_year_window_gives_yearly_rates_over_hand_computed_person_years(demo):
    engine, frames = demo
    p2011, p2021 = census_sql(engine, 2011), census_sql(engine, 2021)
    person_years = {g: sum(p2011[g] + (y - 2011) / 10 * (p2021[g] - p2011[g]) for y in (2019, 2020))
                    for g in ("White", "Black", "Asian", "Mixed", "Other")}
    searches = search_counts(engine, "2019-01-01", "2021-01-01")
    table, problem = disparity.disparity_table(frames, "stop-search", start=date(2019, 1, 1), end=date(2020, 12, 31))
    assert problem is None
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    for group, years in person_years.items():
        assert rows[group]["searches"] == searches[group]
        assert rows[group]["person_years"] == pytest.approx(years)
        assert rows[group]["rate_per_1000_a_year"] == pytest.approx(searches[group] / years * 1000)
    assert rows["Black"]["ratio_vs_white"] == pytest.approx(
        (searches["Black"] / person_years["Black"]) / (searches["White"] / person_years["White"]))
    assert (rows["White"]["ratio_vs_white"], rows["White"]["ci_low"]) == (1.0, None)
    assert "over 2.00 years" in rows["Black"]["denominator"]


def test_a_2023_window_is_measured_against_2021_by_default(demo):
    engine, frames = demo
    p2021 = census_sql(engine, 2021)
    searches = search_counts(engine, "2023-01-01", "2024-01-01")
    table, _ = disparity.disparity_table(frames, "stop-search", start=date(2023, 1, 1), end=date(2023, 12, 31))
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    assert rows["Black"]["person_years"] == p2021["Black"]
    assert rows["Black"]["rate_per_1000_a_year"] == pytest.approx(searches["Black"] / p2021["Black"] * 1000)
    assert "2021 census" in rows["Black"]["denominator"] and "2011" not in rows["Black"]["denominator"]
    fixed, _ = disparity.disparity_table(frames, "stop-search", start=date(2023, 1, 1), end=date(2023, 12, 31), census=2011)
    assert {r["group"]: r for r in fixed.iter_rows(named=True)}["Black"]["person_years"] == census_sql(engine, 2011)["Black"]


def test_detailed_groups_are_compared_with_white_british(demo):
    engine, frames = demo
    table, problem = disparity.disparity_table(frames, "stop-search", level="detailed", start=date(2023, 1, 1),
                                               end=date(2023, 12, 31))
    assert problem is None and set(table["reference"]) == {"W1 White British"}
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    assert (rows["W1"]["ratio_vs_white"], rows["W1"]["ci_low"], rows["W1"]["ci_high"]) == (1.0, None, None)
    b1 = dict(sql(engine, "SELECT ethnicity, count FROM population WHERE census_year = 2021 AND geography_level = 'force' "
                          "AND force = 'west-midlands' AND ethnicity IN ('B1', 'W1')"))
    searched = dict(sql(engine, "SELECT ethnicity_self_code, COUNT(*) FROM stop_search WHERE force = 'west-midlands' "
                                "AND search_type <> 'Vehicle search' AND searched_at >= '2023-01-01' "
                                "AND searched_at < '2024-01-01' AND ethnicity_self_code IN ('B1', 'W1') "
                                "GROUP BY ethnicity_self_code"))
    assert rows["B1"]["ratio_vs_white"] == pytest.approx((searched["B1"] / b1["B1"]) / (searched["W1"] / b1["W1"]))


def test_the_window_ends_at_the_as_of_date_not_the_latest_record(demo):
    _, frames = demo
    earlier = frames.at(date(2024, 6, 30))
    table, _ = disparity.disparity_table(earlier, "stop-search")
    assert "to 30 Jun 2024" in disparity.denominator_note(table)
    pathway, _ = disparity.disparity_table(earlier, "pathway")
    assert "1 Oct 2020 to 30 Jun 2024" in disparity.denominator_note(pathway)


def test_find_rates_and_formal_outcomes_give_white_1_without_an_interval(demo):
    _, frames = demo
    finds = {r["group"]: r for r in disparity.find_rates(frames.stop_search, force="west-midlands").iter_rows(named=True)}
    assert (finds["White"]["ratio_vs_white"], finds["White"]["ci_low"], finds["White"]["ci_high"]) == (1.0, None, None)
    assert finds["Black"]["ci_low"] is not None
    table = disparity.formal_by_half_year(frames.offences, first=date(2019, 1, 1), as_of=DEMO_AS_OF)
    assert {"Jul-Dec 2019", "Jul-Dec 2021", "Jul-Dec 2025"} <= set(table["period"])
    white = table.filter(pl.col("group") == "White")
    assert white["ci_low"].null_count() == white["ci_high"].null_count() == white.height
    assert white.filter(pl.col("formal_outcomes") > 0)["rri"].to_list() == [1.0] * white.filter(pl.col("formal_outcomes") > 0).height
    assert white.filter(pl.col("formal_outcomes") == 0)["rri"].null_count() == white.filter(pl.col("formal_outcomes") == 0).height


def test_formal_outcome_gap_narrows_after_the_policy(demo):
    _, frames = demo
    shares = outcomes.formal_share(frames.offences, {"before": outcomes.BEFORE, "after": outcomes.AFTER}, by=("ethnic_group",))
    share = {(r["ethnic_group"], r["period"]): r["formal_share"] for r in shares.iter_rows(named=True)}
    gap_before = share[("Black", "before")] - share[("White", "before")]
    gap_after = share[("Black", "after")] - share[("White", "after")]
    assert abs(gap_after) < abs(gap_before)


def test_methods_text_defines_every_stage():
    from divert.analytics.equity import decision_points

    for _, label, _, _ in disparity.STAGES:
        assert label.split(" (")[0].split(",")[0].lower() in decision_points.METHODS.lower(), label
    assert "pending" in decision_points.METHODS and "28 days" in decision_points.METHODS
    assert "no interval" in disparity.METHODS
