"""The census loader: the shipped 2011 tables and the reported 2021 West Midlands totals."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from sqlmodel import Session, select

from divert.core import codes
from divert.reference import census
from divert.storage.models import Population

BROAD = ("White", "Mixed", "Asian", "Black", "Other")
DETAIL = [c for c in codes.ETHNICITY_SELF if c != "NS"]


@pytest.fixture(scope="module")
def west_midlands() -> pl.DataFrame:
    return census.population_frame("west-midlands")


def counts(frame: pl.DataFrame, year: int, level: str, code: str | None = None) -> dict[str, int]:
    rows = frame.filter((pl.col("census_year") == year) & (pl.col("geography_level") == level))
    if code is not None:
        rows = rows.filter(pl.col("geography_code") == code)
    return dict(zip(rows["ethnicity"], rows["count"], strict=True))


def test_west_midlands_2011_totals_are_the_published_ones(west_midlands):
    force = counts(west_midlands, 2011, "force")
    assert force["All"] == 2_736_460
    assert {g: force[g] for g in BROAD} == {
        "White": 1_919_138,
        "Asian": 514_981,
        "Black": 164_069,
        "Mixed": 96_204,
        "Other": 42_068,
    }


def test_every_self_defined_group_is_there_and_adds_up(west_midlands):
    force = counts(west_midlands, 2011, "force")
    assert set(force) == set(DETAIL) | set(BROAD) | {"All"}
    for group in BROAD:
        details = [c for c in DETAIL if codes.broad_group(c) == group]
        assert sum(force[c] for c in details) == force[group], group
    assert sum(force[c] for c in DETAIL) == force["All"]
    assert force["B1"] == 79_632 and force["B2"] == 55_557  # Caribbean and African not swapped


def test_local_authorities_are_the_seven_areas_and_sum_to_the_force(west_midlands):
    areas = west_midlands.filter((pl.col("census_year") == 2011) & (pl.col("geography_level") == "local_authority"))
    assert dict(zip(*areas.select("geography_code", "geography_name").unique().sort("geography_code"), strict=True)) == (
        census.areas_of("west-midlands")
    )
    summed = areas.group_by("ethnicity").agg(pl.col("count").sum())
    assert dict(zip(summed["ethnicity"], summed["count"], strict=True)) == counts(west_midlands, 2011, "force")
    assert counts(west_midlands, 2011, "local_authority", "E08000025")["All"] == 1_073_045  # Birmingham


def test_2021_totals_keep_other_with_mixed(west_midlands):
    force = counts(west_midlands, 2021, "force")
    assert force == {
        "White": 1_793_077,
        "Asian": 667_390,
        "Black": 236_022,
        "Other incl. Mixed": 223_175,
        "All": 1_793_077 + 667_390 + 236_022 + 223_175,
    }
    assert round(force["All"] / 1e6, 2) == 2.92


def test_rows_carry_year_source_and_licence(west_midlands):
    assert set(west_midlands["census_year"]) == {2011, 2021}
    assert set(west_midlands["sex"]) == {"all"} and set(west_midlands["age_band"]) == {"all"}
    assert set(west_midlands["force"]) == {"west-midlands"}
    assert all("Open Government Licence v3.0" in s and len(s) <= 200 for s in west_midlands["source"])
    assert west_midlands.select("census_year", "geography_code", "ethnicity").is_duplicated().sum() == 0


def test_every_force_has_force_level_rows():
    everyone = census.population_frame(None)
    forces = everyone.filter((pl.col("census_year") == 2011) & (pl.col("geography_level") == "force"))
    assert forces["force"].n_unique() == 43
    assert {"west-midlands", "avon-and-somerset", "metropolitan", "dyfed-powys"} <= set(forces["force"])
    assert forces["geography_code"].str.contains(r"^[EW]\d{8}$").all()
    totals = forces.filter(pl.col("ethnicity") == "All")["count"].sum()
    assert totals == 56_075_912  # usual residents of England and Wales, 2011
    with pytest.raises(ValueError, match="no 2011 census figures"):
        census.population_frame("atlantis")


def test_a_census_file_missing_a_group_is_refused(tmp_path):
    for name in (census.FORCE_FILE, census.LOCAL_AUTHORITY_FILE):
        shutil.copy(census.CENSUS_2011_DIR / name, tmp_path / name)
    wide = pl.read_csv(tmp_path / census.FORCE_FILE)
    dropped = "Ethnic Group: Other ethnic group: Arab; measures: Value"
    wide.drop(dropped).write_csv(tmp_path / census.FORCE_FILE)
    with pytest.raises(ValueError, match="O2"):
        census.census_2011_frame("west-midlands", directory=tmp_path)


def test_rows_are_population_rows(sqlite_engine):
    rows = census.population_rows("west-midlands")
    with Session(sqlite_engine) as s:
        s.add_all(Population(**row) for row in rows)
        s.commit()
    with Session(sqlite_engine) as s:
        stored = s.exec(select(Population).where(Population.geography_level == "force")).all()
    by_key = {(p.census_year, p.ethnicity): p.count for p in stored}
    assert by_key[(2011, "All")] == 2_736_460 and by_key[(2021, "Other incl. Mixed")] == 223_175
    assert len(stored) + 7 * 24 == len(rows)


def test_local_authority_rows_of_every_force_sum_to_the_force():
    everyone = census.population_frame(None).filter(pl.col("census_year") == 2011)
    level = everyone.filter(pl.col("geography_level") == "local_authority")
    assert level["geography_code"].n_unique() == 348 and level["force"].n_unique() == 43
    assert level["geography_code"].str.contains(r"^[EW]0[6-9]\d{6}$").all()
    summed = level.group_by("force", "ethnicity").agg(pl.col("count").sum())
    forces = everyone.filter(pl.col("geography_level") == "force").select("force", "ethnicity", "count")
    assert summed.join(forces, on=["force", "ethnicity"], how="full").filter(
        pl.col("count") != pl.col("count_right")
    ).height == 0
    assert summed.height == forces.height == 43 * 24
