"""Census 2021 (TS021) by local authority and force area, the 2011 figures on 2021 boundaries,
and loading them as reference data."""

from __future__ import annotations

import csv

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from divert.core import codes
from divert.records.census_rows import ensure_population
from divert.reference import census, census2021
from divert.storage.models import AuditEvent, Population

BROAD = ("White", "Mixed", "Asian", "Black", "Other")
DETAIL = [c for c in codes.ETHNICITY_SELF if c != "NS"]
LTLA = census2021.CENSUS_2021_DIR / census2021.LTLA_FILE


@pytest.fixture(scope="module")
def everyone() -> pl.DataFrame:
    return census2021.census_2021_frame()


def by_area(frame: pl.DataFrame, level: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in frame.filter(pl.col("geography_level") == level).iter_rows(named=True):
        out.setdefault(row["geography_code"], {})[row["ethnicity"]] = row["count"]
    return out


def test_every_authority_of_england_and_wales_is_there(everyone):
    areas = by_area(everyone, "local_authority")
    assert len(areas) == 331
    assert sum(c.startswith("E") for c in areas) == 309 and sum(c.startswith("W") for c in areas) == 22
    for code, groups in areas.items():
        assert set(groups) == set(DETAIL) | set(BROAD) | {"All"}, code
        assert sum(groups[c] for c in DETAIL) == groups["All"], code


def test_authorities_add_up_to_the_published_country_totals(everyone):
    """The country table is perturbed separately by ONS (cell key perturbation), so sums of
    authorities differ from it by a few people; a misread figure would differ by far more."""
    areas = by_area(everyone, "local_authority")
    with (census2021.CENSUS_2021_DIR / census2021.COUNTRY_FILE).open(encoding="utf-8") as f:
        countries = {row["geography code"]: row for row in csv.DictReader(f)}
    assert int(countries["E92000001"]["Ethnic group: Total: All usual residents"]) == 56_490_048
    assert int(countries["W92000004"]["Ethnic group: Total: All usual residents"]) == 3_107_494
    for country, letter in (("E92000001", "E"), ("W92000004", "W")):
        for column, code in census2021.TS021_COLUMNS.items():
            if code in ("All", *BROAD):
                summed = sum(g[code] for a, g in areas.items() if a.startswith(letter))
                assert abs(summed - int(countries[country][f"Ethnic group: {column}"])) <= 50, (country, code)


def test_west_midlands_matches_the_reported_county_totals(everyone):
    """DOMAIN.md's figures come from the county table (perturbed on its own): they agree with the
    sum of the seven authorities to within a few dozen people."""
    force = by_area(everyone, "force")["E23000014"]
    reported = census.WEST_MIDLANDS_2021
    for group in ("White", "Asian", "Black"):
        assert abs(force[group] - reported[group]) <= 100, group
    assert abs(force["Mixed"] + force["Other"] - reported[census.OTHER_INCL_MIXED]) <= 100
    assert force["Black"] == 236_047 and force["All"] == 2_919_655
    seven = everyone.filter((pl.col("force") == "west-midlands") & (pl.col("geography_level") == "local_authority"))
    assert set(seven["geography_code"]) == set(census.areas_of("west-midlands"))


def test_every_authority_has_one_force_and_43_forces_are_covered(everyone):
    lookup = census2021.local_authority_forces()
    assert lookup["LAD21CD"].n_unique() == 331
    assert lookup.group_by("LAD21CD").agg(pl.col("force").n_unique())["force"].max() == 1
    assert everyone["force"].n_unique() == 43
    forces_2011 = census.census_2011_frame(None).filter(pl.col("geography_level") == "force")
    codes_2011 = dict(zip(forces_2011["force"], forces_2011["geography_code"], strict=False))
    forces_2021 = everyone.filter(pl.col("geography_level") == "force")
    assert dict(zip(forces_2021["force"], forces_2021["geography_code"], strict=False)) == codes_2011
    merged = lookup.filter(pl.col("LAD21CD") == "E06000060")
    assert set(merged["predecessor"]) == {"Aylesbury Vale", "Chiltern", "South Bucks", "Wycombe"}
    assert set(merged["force"]) == {"thames-valley"}
    assert set(lookup.filter(pl.col("LAD21CD").is_in(["E06000058", "E06000059"]))["force"]) == {"dorset"}


def test_merged_authorities_get_the_sum_of_their_2011_districts():
    old = census2021.census_2011_on_2021_areas()
    assert old["geography_code"].n_unique() == 331
    bucks = by_area(old, "local_authority")["E06000060"]
    assert bucks["All"] == 505_283  # Buckinghamshire county, 2011
    wide = pl.read_csv(census.CENSUS_2011_DIR / census.LOCAL_AUTHORITY_FILE, infer_schema_length=0)
    total = "Ethnic Group: All categories: Ethnic group; measures: Value"
    dorset = wide.filter(pl.col("geography").is_in(census2021.PREDECESSORS["E06000059"]))[total].cast(pl.Int64).sum()
    assert by_area(old, "local_authority")["E06000059"]["All"] == dorset
    assert "merged" in old.filter(pl.col("geography_code") == "E06000059")["source"][0]
    # the areas of each force add up to the force's 2011 figures, group by group
    forces = census.census_2011_frame(None).filter(pl.col("geography_level") == "force")
    summed = old.group_by("force", "ethnicity").agg(pl.col("count").sum())
    assert summed.join(forces, on=["force", "ethnicity"]).filter(pl.col("count") != pl.col("count_right")).is_empty()
    assert summed.height == forces.height


def test_roma_is_counted_in_any_other_white(everyone):
    wide = pl.read_csv(LTLA, infer_schema_length=0).filter(pl.col("geography code") == "E08000025")
    roma, other = (int(wide[f"Ethnic group: White: {g}"][0]) for g in ("Roma", "Other White"))
    assert by_area(everyone, "local_authority")["E08000025"]["W9"] == roma + other == 1833 + 45914


def test_a_file_missing_a_column_or_not_adding_up_is_refused(tmp_path):
    wide = pl.read_csv(LTLA, infer_schema_length=0)
    wide.drop("Ethnic group: Other ethnic group: Arab").write_csv(tmp_path / "a.csv")
    with pytest.raises(ValueError, match="Arab"):
        census2021.read_ts021(tmp_path / "a.csv")
    wide.with_columns(pl.lit("1").alias("Ethnic group: Black, Black British, Black Welsh, Caribbean or African: African")
                      ).write_csv(tmp_path / "b.csv")
    with pytest.raises(ValueError, match="Black is not the sum"):
        census2021.read_ts021(tmp_path / "b.csv")


def test_reference_rows_are_unique_and_carry_their_licence():
    rows = census2021.reference_frame()
    assert rows.select("census_year", "geography_code", "ethnicity", "sex", "age_band").is_duplicated().sum() == 0
    assert all("Open Government Licence v3.0" in s and len(s) <= 200 for s in rows["source"].unique())
    counts = rows.group_by("census_year", "geography_level").len()
    # 2011 authorities: those census.py gives, and every other 2021 authority (merged ones summed)
    given = set(census.census_2011_frame(None).filter(pl.col("geography_level") == "local_authority")["geography_code"])
    extra = set(census2021.census_2011_on_2021_areas()["geography_code"]) - given
    assert dict(zip(zip(counts["census_year"], counts["geography_level"], strict=True), counts["len"], strict=True)) == {
        (2011, "force"): 43 * 24, (2011, "local_authority"): (len(given) + len(extra)) * 24,
        (2021, "force"): 43 * 24, (2021, "local_authority"): 331 * 24,
    }
    codes_2011 = set(rows.filter((pl.col("census_year") == 2011) & (pl.col("geography_level") == "local_authority"))[
        "geography_code"])
    assert set(census2021.PREDECESSORS) <= codes_2011  # every 2021 authority can be interpolated
    assert set(rows.filter(pl.col("census_year") == 2021)["geography_code"]) - codes_2011 == set(
        rows.filter((pl.col("census_year") == 2021) & (pl.col("geography_level") == "force"))["geography_code"])
    # the seven West Midlands authorities come from census.py, the same figures either way
    from_census = census.census_2011_frame("west-midlands").filter(pl.col("geography_level") == "local_authority")
    ours = census2021.census_2011_on_2021_areas("west-midlands")
    assert from_census.select("geography_code", "ethnicity", "count").sort("geography_code", "ethnicity").equals(
        ours.select("geography_code", "ethnicity", "count").sort("geography_code", "ethnicity"))


def test_readme_names_source_and_licence():
    text = (census2021.CENSUS_2021_DIR / "README.md").read_text(encoding="utf-8")
    assert "TS021" in text and "nomisweb.co.uk" in text
    assert "Source: Office for National Statistics licensed under the Open Government Licence v3.0" in text
    assert "Contains public sector information licensed under the Open Government Licence v3.0" in text


def count(engine, *where) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(Population).where(*where)).scalar_one()


def test_ensure_population_loads_everything_once(sqlite_engine):
    added = ensure_population(sqlite_engine, "tester")
    assert added == census2021.reference_frame().height == count(sqlite_engine)
    assert ensure_population(sqlite_engine, "tester") == 0
    with Session(sqlite_engine) as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.action == "load_reference")).scalars().all()
    assert len(events) == 1 and events[0].username == "tester"


def test_an_earlier_database_gets_census_2021_in_place_of_the_reported_totals(sqlite_engine):
    """A database loaded before TS021 was shipped: the West Midlands totals as reported (Mixed
    inside "Other incl. Mixed") give way to TS021; a row an administrator imported stays."""
    old = census.population_rows(force=None)
    imported = {"census_year": 2021, "geography_level": "local_authority", "geography_code": "X99000001",
                "geography_name": "Imported", "force": "west-midlands", "ethnicity": "All", "sex": "all",
                "age_band": "all", "count": 5, "source": "imported by an administrator"}
    with Session(sqlite_engine) as s:
        s.add_all(Population(**row) for row in [*old, imported])
        s.commit()
    assert count(sqlite_engine, Population.ethnicity == census.OTHER_INCL_MIXED) == 1
    added = ensure_population(sqlite_engine, "tester")
    assert added > 0
    assert count(sqlite_engine, Population.ethnicity == census.OTHER_INCL_MIXED) == 0
    assert count(sqlite_engine, Population.source == census2021.SOURCE_2021, Population.force == "west-midlands") == 8 * 24
    assert count(sqlite_engine, Population.geography_code == "X99000001") == 1
    assert count(sqlite_engine) == census2021.reference_frame().height + 1
    assert ensure_population(sqlite_engine, "tester") == 0

