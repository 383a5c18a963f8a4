"""Census population denominators: the shipped 2011 tables and the reported 2021 force totals.

`population_rows()` gives Population-table rows (dicts) that the demo loader inserts and an
importer can reuse; `population_frame()` gives the same as a polars frame.

2011: ONS Census 2011 table QS201EW (usual residents by ethnic group, via Nomis), in
`data/census2011/`: one row per police force area (force level) and per local authority,
with the 18 self-defined groups (codes W1..O9 as in divert.core.codes.ETHNICITY_SELF), the five
broad groups ("White", "Mixed", "Asian", "Black", "Other") and "All". The shipped
local-authority file names each authority but does not carry its ONS code; the code comes from
the ONS lookup shipped beside it (Local Authority District to Community Safety Partnership to
Police Force Area, December 2016), joined on the authority's LAD16NM. `force_areas(slug)`
lists a force area's local authorities (its local policing areas) from the same tables.

2021: the West Midlands force-area (= metropolitan county) broad-group totals reported from
Census 2021 (see DOMAIN.md). That release gives Mixed together with Other, so the row is
stored as ethnicity "Other incl. Mixed", not as "Other"; "All" is the sum of the four groups.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from divert.core import codes
from divert.core.environment import REFERENCE_DIR
from divert.core.lookup import each_value
from divert.reference import forces

CENSUS_2011_DIR = REFERENCE_DIR / "census2011"
FORCE_FILE = "force-demographics.csv"
LOCAL_AUTHORITY_FILE = "local-authorities-demographics-with-police-force.csv"
LOOKUP_FILE = "lad16-csp16-pfa16-lookup.csv"  # ONS, unchanged: LAD16CD,LAD16NM,...,PFA16CD,PFA16NM

OGL = "Contains public sector information licensed under the Open Government Licence v3.0."
SOURCE_2011 = f"ONS Census 2011, table QS201EW (Nomis): usual residents by ethnic group. {OGL}"
SOURCE_2021 = (
    "ONS Census 2021, West Midlands metropolitan county, broad groups as reported "
    f"(Mixed is within 'Other incl. Mixed'). {OGL}"
)
OTHER_INCL_MIXED = "Other incl. Mixed"

# census column detail (between "Ethnic Group: " and "; measures: Value") -> our code
CENSUS_2011_COLUMNS: dict[str, str] = {
    "All categories: Ethnic group": "All",
    "White": "White",
    "White: English/Welsh/Scottish/Northern Irish/British": "W1",
    "White: Irish": "W2",
    "White: Gypsy or Irish Traveller": "W3",
    "White: Other White": "W9",
    "Mixed": "Mixed",
    "Mixed/multiple ethnic group: White and Black Caribbean": "M1",
    "Mixed/multiple ethnic group: White and Black African": "M2",
    "Mixed/multiple ethnic group: White and Asian": "M3",
    "Mixed/multiple ethnic group: Other Mixed": "M9",
    "Asian": "Asian",
    "Asian/Asian British: Indian": "A1",
    "Asian/Asian British: Pakistani": "A2",
    "Asian/Asian British: Bangladeshi": "A3",
    "Asian/Asian British: Chinese": "A4",
    "Asian/Asian British: Other Asian": "A9",
    "Black": "Black",
    "Black/African/Caribbean/Black British: African": "B2",
    "Black/African/Caribbean/Black British: Caribbean": "B1",
    "Black/African/Caribbean/Black British: Other Black": "B9",
    "Other": "Other",
    "Other ethnic group: Arab": "O2",
    "Other ethnic group: Any other ethnic group": "O9",
}

# West Midlands, Census 2021 (DOMAIN.md)
WEST_MIDLANDS_2021: dict[str, int] = {
    "White": 1_793_077,
    "Asian": 667_390,
    "Black": 236_022,
    OTHER_INCL_MIXED: 223_175,
}


def force_slug(name: str) -> str:
    """police.uk force identifier of a census police force area name."""
    return forces.force(name).slug


def local_authorities(directory: Path | None = None) -> pl.DataFrame:
    """Every local authority of the shipped census with its ONS code and force area: columns
    code, name (as the census names it), PFA16CD, PFA16NM, force (police.uk slug)."""
    return _local_authorities(directory or CENSUS_2011_DIR)


@cache
def _local_authorities(directory: Path) -> pl.DataFrame:
    census = pl.read_csv(directory / LOCAL_AUTHORITY_FILE, infer_schema_length=0)
    lookup = pl.read_csv(directory / LOOKUP_FILE, infer_schema_length=0, encoding="utf8-lossy")
    lookup = lookup.rename({c: c.lstrip("\ufeff") for c in lookup.columns}).select("LAD16CD", "LAD16NM", "PFA16CD")
    joined = census.select("geography", "LAD16NM", "PFA16CD", "PFA16NM").join(
        lookup, on=["LAD16NM", "PFA16CD"], how="left"
    )
    missing = joined.filter(pl.col("LAD16CD").is_null())["geography"].to_list()
    if missing:
        raise ValueError(f"no ONS code in {LOOKUP_FILE} for {missing}")
    by_area = {f.area_code: f.slug for f in forces.FORCES}
    return joined.select(
        pl.col("LAD16CD").alias("code"),
        pl.col("geography").alias("name"),
        "PFA16CD",
        "PFA16NM",
        pl.col("PFA16CD").replace_strict(by_area, default=None).alias("force"),
    ).sort("code")


def force_areas(slug: str, directory: Path | None = None) -> list[dict[str, str]]:
    """The local authorities of a force's police force area, [{code, name}] sorted by code,
    from the shipped census. Raises forces.UnknownForce (with the nearest slugs) otherwise."""
    force = forces.force(slug)
    rows = local_authorities(directory).filter(pl.col("PFA16CD") == force.area_code)
    return rows.select("code", "name").to_dicts()


def _column_code(column: str) -> str | None:
    prefix, suffix = "Ethnic Group: ", "; measures: Value"
    if column.startswith(prefix) and column.endswith(suffix):
        return CENSUS_2011_COLUMNS.get(column[len(prefix) : -len(suffix)])
    return None


def _long(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """One row per area x ethnicity code, from the wide census table."""
    renames = {c: code for c in frame.columns if (code := _column_code(c))}
    missing = set(CENSUS_2011_COLUMNS.values()) - set(renames.values())
    if missing:
        raise ValueError(f"census table lacks columns for {sorted(missing)}")
    return (
        frame.rename(renames)
        .unpivot(index=keys, on=list(renames.values()), variable_name="ethnicity", value_name="count")
        .with_columns(pl.col("count").cast(pl.Int64))
    )


def census_2011_frame(force: str | None = codes.DEFAULT_FORCE, directory: Path | None = None) -> pl.DataFrame:
    """2011 rows (force and local-authority level) for one force (slug), or every force (None)."""
    directory = directory or CENSUS_2011_DIR
    authorities = pl.read_csv(directory / LOCAL_AUTHORITY_FILE, infer_schema_length=0)
    authorities = authorities.with_columns(each_value(authorities, "PFA16NM", force_slug, pl.String).alias("force"))
    force_codes = authorities.select("PFA16NM", "PFA16CD").unique()
    forces = pl.read_csv(directory / FORCE_FILE, infer_schema_length=0)
    forces = forces.with_columns(each_value(forces, "PFA16NM", force_slug, pl.String).alias("force")).join(
        force_codes, on="PFA16NM", how="left")
    if force is not None:
        forces = forces.filter(pl.col("force") == force)
        authorities = authorities.filter(pl.col("force") == force)
        if forces.is_empty():
            raise ValueError(f"no 2011 census figures for force {force!r}")
    force_rows = _long(forces, ["PFA16NM", "PFA16CD", "force"]).select(
        pl.lit("force").alias("geography_level"),
        pl.coalesce("PFA16CD", "force").alias("geography_code"),
        pl.col("PFA16NM").alias("geography_name"),
        "force",
        "ethnicity",
        "count",
    )
    codes_by_name = local_authorities(directory).select("name", pl.col("code").alias("area_code"))
    authorities = authorities.join(codes_by_name, left_on="geography", right_on="name", how="left")
    area_rows = _long(authorities, ["area_code", "geography", "force"]).select(
        pl.lit("local_authority").alias("geography_level"),
        pl.col("area_code").alias("geography_code"),
        pl.col("geography").alias("geography_name"),
        "force",
        "ethnicity",
        "count",
    )
    return pl.concat([force_rows, area_rows]).with_columns(
        pl.lit(2011).alias("census_year"),
        pl.lit("all").alias("sex"),
        pl.lit("all").alias("age_band"),
        pl.lit(SOURCE_2011).alias("source"),
    )


def census_2021_west_midlands_frame() -> pl.DataFrame:
    """The reported 2021 West Midlands broad-group totals, and their sum as "All"."""
    values = dict(WEST_MIDLANDS_2021, All=sum(WEST_MIDLANDS_2021.values()))
    return pl.DataFrame(
        {
            "geography_level": "force",
            "geography_code": "E23000014",  # the police force area (= the metropolitan county)
            "geography_name": "West Midlands",
            "force": "west-midlands",
            "ethnicity": list(values),
            "count": list(values.values()),
        }
    ).with_columns(
        pl.lit(2021).alias("census_year"),
        pl.lit("all").alias("sex"),
        pl.lit("all").alias("age_band"),
        pl.lit(SOURCE_2021).alias("source"),
        pl.col("count").cast(pl.Int64),
    )


COLUMNS = [
    "census_year",
    "geography_level",
    "geography_code",
    "geography_name",
    "force",
    "ethnicity",
    "sex",
    "age_band",
    "count",
    "source",
]


def population_frame(force: str | None = codes.DEFAULT_FORCE) -> pl.DataFrame:
    """Every shipped census row for a force (slug; None = all forces), Population columns."""
    frames = [census_2011_frame(force)]
    if force in (None, "west-midlands"):
        frames.append(census_2021_west_midlands_frame())
    return pl.concat([f.select(COLUMNS) for f in frames])


def population_rows(force: str | None = codes.DEFAULT_FORCE) -> list[dict]:
    """The same as a list of dicts, ready for Population(**row) or a bulk insert."""
    return population_frame(force).to_dicts()


# Local policing areas follow the local authorities (ONS codes) of the force area: they come
# from the shipped census for whichever force the programme profile names (divert.reference.programme).
def areas_of(force: str) -> codes.Labels:
    """The local authorities of a force area (code -> name as the census gives it)."""
    return _areas_of(force)


@cache
def _areas_of(force: str) -> codes.Labels:
    return codes.Labels("local policing area", {a["code"]: a["name"] for a in force_areas(force)})


@cache
def _all_area_names() -> dict[str, str]:
    frame = local_authorities()
    return dict(zip(frame["code"].to_list(), frame["name"].to_list(), strict=True))


def area_label(code: str | None) -> str:
    """An area's name (any local authority of England and Wales), else the code itself."""
    if not code:
        return "Not recorded"
    return _all_area_names().get(code, code)
