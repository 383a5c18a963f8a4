"""Census 2021 population denominators for every police force area, and the 2011 census on the
2021 local authorities, so that each year between the censuses can be interpolated.

2021: ONS Census 2021 table TS021 "Ethnic group", lower-tier local authorities (the Nomis bulk
file `census2021-ts021-ltla.csv`, in `data/census2021/`), 331 authorities of England and Wales
on their 2021 boundaries, with the 19 detailed groups and the five broad ones. The 18+1 codes
of divert.core.codes are used; Census 2021's "White: Roma" is counted in W9 (any other White
background), as DOMAIN.md says. Force-area rows are the sums of their authorities.

Authorities are matched to police force areas through the 2011 table's authority -> force
(PFA16) column, by name. Eight 2021 authorities are mergers of 2011 districts (2019-2021
reorganisations); they are listed in PREDECESSORS, and their 2011 figures are the sums of their
predecessors, which is what interpolation needs: the same area in both years. Every merger stayed
inside one force area, so force-area totals are unaffected.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from divert.core.environment import REFERENCE_DIR
from divert.core.lookup import each_value
from divert.reference import census

CENSUS_2021_DIR = REFERENCE_DIR / "census2021"
LTLA_FILE = "census2021-ts021-ltla.csv"
COUNTRY_FILE = "census2021-ts021-ctry.csv"

OGL_2021 = "Source: Office for National Statistics licensed under the Open Government Licence v3.0."
SOURCE_2021 = f"ONS Census 2021, table TS021 (Nomis bulk): usual residents by ethnic group. {OGL_2021}"
SOURCE_2011_MERGED = (
    "ONS Census 2011, table QS201EW, summed over the 2011 districts that merged into this 2021 local "
    f"authority. {census.OGL}"
)

PREFIX = "Ethnic group: "
ASIAN = "Asian, Asian British or Asian Welsh"
BLACK = "Black, Black British, Black Welsh, Caribbean or African"
MIXED = "Mixed or Multiple ethnic groups"
# column of the Nomis file (after "Ethnic group: ") -> our code; two columns go to W9
TS021_COLUMNS: dict[str, str] = {
    "Total: All usual residents": "All",
    ASIAN: "Asian",
    f"{ASIAN}: Bangladeshi": "A3",
    f"{ASIAN}: Chinese": "A4",
    f"{ASIAN}: Indian": "A1",
    f"{ASIAN}: Pakistani": "A2",
    f"{ASIAN}: Other Asian": "A9",
    BLACK: "Black",
    f"{BLACK}: African": "B2",
    f"{BLACK}: Caribbean": "B1",
    f"{BLACK}: Other Black": "B9",
    MIXED: "Mixed",
    f"{MIXED}: White and Asian": "M3",
    f"{MIXED}: White and Black African": "M2",
    f"{MIXED}: White and Black Caribbean": "M1",
    f"{MIXED}: Other Mixed or Multiple ethnic groups": "M9",
    "White": "White",
    "White: English, Welsh, Scottish, Northern Irish or British": "W1",
    "White: Irish": "W2",
    "White: Gypsy or Irish Traveller": "W3",
    "White: Roma": "W9",
    "White: Other White": "W9",
    "Other ethnic group": "Other",
    "Other ethnic group: Arab": "O2",
    "Other ethnic group: Any other ethnic group": "O9",
}
BROAD = ("White", "Mixed", "Asian", "Black", "Other")

# 2021 authorities made of several 2011 districts (names as in the 2011 table)
PREDECESSORS: dict[str, tuple[str, ...]] = {
    "E06000058": ("Bournemouth", "Christchurch", "Poole"),  # Bournemouth, Christchurch and Poole, 2019
    "E06000059": ("East Dorset", "North Dorset", "Purbeck", "West Dorset", "Weymouth and Portland"),  # Dorset, 2019
    "E06000060": ("Aylesbury Vale", "Chiltern", "South Bucks", "Wycombe"),  # Buckinghamshire, 2020
    "E06000061": ("Corby", "East Northamptonshire", "Kettering", "Wellingborough"),  # North Northamptonshire, 2021
    "E06000062": ("Daventry", "Northampton", "South Northamptonshire"),  # West Northamptonshire, 2021
    "E07000244": ("Suffolk Coastal", "Waveney"),  # East Suffolk, 2019
    "E07000245": ("Forest Heath", "St Edmundsbury"),  # West Suffolk, 2019
    "E07000246": ("Taunton Deane", "West Somerset"),  # Somerset West and Taunton, 2019
}

COLUMNS = census.COLUMNS


def _column_code(column: str) -> str | None:
    return TS021_COLUMNS.get(column[len(PREFIX):]) if column.startswith(PREFIX) else None


def read_ts021(path: Path | None = None) -> pl.DataFrame:
    """The Nomis TS021 table as geography_code, geography_name, ethnicity (our codes, the broad
    groups and "All"), count. Refuses a file that lacks a column or whose groups do not add up."""
    path = path or CENSUS_2021_DIR / LTLA_FILE
    wide = pl.read_csv(path, infer_schema_length=0)
    found = {c: code for c in wide.columns if (code := _column_code(c))}
    missing = set(TS021_COLUMNS) - {c[len(PREFIX):] for c in found}
    if missing or "geography code" not in wide.columns:
        raise ValueError(f"{path.name} lacks columns: {sorted(missing) or ['geography code']}")
    long = (
        wide.unpivot(index=["geography code", "geography"], on=list(found), variable_name="column", value_name="count")
        .with_columns(pl.col("column").replace_strict(found).alias("ethnicity"),
                      pl.col("count").cast(pl.Int64, strict=False))
    )
    if long["count"].null_count() or (long["count"] < 0).any():
        raise ValueError(f"{path.name} has a blank, negative or non-numeric count")
    long = long.group_by("geography code", "geography", "ethnicity", maintain_order=True).agg(pl.col("count").sum())
    _check_adds_up(long, path.name)
    return long.select(pl.col("geography code").alias("geography_code"), pl.col("geography").alias("geography_name"),
                       "ethnicity", "count")


def _check_adds_up(long: pl.DataFrame, name: str) -> None:
    from divert.core import codes

    wide = long.pivot(on="ethnicity", index="geography code", values="count")
    for group in BROAD:
        details = [c for c in codes.ETHNICITY_SELF if c != "NS" and codes.broad_group(c) == group]
        bad = wide.filter(pl.sum_horizontal(details) != pl.col(group))
        if bad.height:
            raise ValueError(f"{name}: {group} is not the sum of its groups for {bad['geography code'][0]}")
    bad = wide.filter(pl.sum_horizontal(list(BROAD)) != pl.col("All"))
    if bad.height:
        raise ValueError(f"{name}: the broad groups do not add up to the total for {bad['geography code'][0]}")


def _authorities_2011(directory: Path | None = None) -> pl.DataFrame:
    """The 2011 table by local authority (name as in the table), with its force, long format."""
    directory = directory or census.CENSUS_2011_DIR
    wide = pl.read_csv(directory / census.LOCAL_AUTHORITY_FILE, infer_schema_length=0)
    renames = {}
    for column in wide.columns:
        if column.startswith("Ethnic Group: ") and column.endswith("; measures: Value"):
            code = census.CENSUS_2011_COLUMNS.get(column[len("Ethnic Group: "):-len("; measures: Value")])
            if code:
                renames[column] = code
    long = wide.rename(renames).unpivot(index=["geography", "PFA16CD", "PFA16NM"], on=list(renames.values()),
                                        variable_name="ethnicity", value_name="count")
    return long.with_columns(pl.col("count").cast(pl.Int64),
                             each_value(long, "PFA16NM", census.force_slug, pl.String).alias("force"))


def local_authority_forces(path: Path | None = None, directory_2011: Path | None = None) -> pl.DataFrame:
    """Each 2021 local authority with its 2011 predecessor(s) and police force area:
    LAD21CD, LAD21NM, predecessor (one row per 2011 district), force, force_code, force_name."""
    areas = read_ts021(path).select("geography_code", "geography_name").unique(maintain_order=True)
    old = _authorities_2011(directory_2011).select("geography", "force", "PFA16CD", "PFA16NM").unique()
    links = areas.with_columns(
        each_value(areas, "geography_code", lambda c: list(PREDECESSORS.get(c, ())), pl.List(pl.String))
        .alias("predecessor")
    ).with_columns(
        pl.when(pl.col("predecessor").list.len() > 0).then(pl.col("predecessor"))
        .otherwise(pl.concat_list(pl.col("geography_name"))).alias("predecessor")
    ).explode("predecessor")
    joined = links.join(old, left_on="predecessor", right_on="geography", how="left")
    unmatched = joined.filter(pl.col("force").is_null())
    if unmatched.height:
        raise ValueError(f"no 2011 district or force area for {unmatched['geography_name'].unique().sort().to_list()}")
    forces = joined.group_by("geography_code").agg(pl.col("force").n_unique())
    if (forces["force"] > 1).any():
        raise ValueError("a 2021 local authority spans two force areas")
    return joined.select(pl.col("geography_code").alias("LAD21CD"), pl.col("geography_name").alias("LAD21NM"),
                         "predecessor", "force", pl.col("PFA16CD").alias("force_code"),
                         pl.col("PFA16NM").alias("force_name"))


def _rows(frame: pl.DataFrame, year: int, level: str, source: str | pl.Expr) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(year).alias("census_year"), pl.lit(level).alias("geography_level"), pl.lit("all").alias("sex"),
        pl.lit("all").alias("age_band"), (source if isinstance(source, pl.Expr) else pl.lit(source)).alias("source"),
    ).select(COLUMNS)


def census_2021_frame(force: str | None = None) -> pl.DataFrame:
    """2021 rows by local authority and by force area (the sum of its authorities), for one
    force (police.uk slug) or every force (None)."""
    counts = read_ts021()
    lookup = local_authority_forces().select("LAD21CD", "force", "force_code", "force_name").unique()
    areas = counts.join(lookup, left_on="geography_code", right_on="LAD21CD")
    if force is not None:
        areas = areas.filter(pl.col("force") == force)
        if areas.is_empty():
            raise ValueError(f"no 2021 census figures for force {force!r}")
    forces = areas.group_by("force", "force_code", "force_name", "ethnicity").agg(pl.col("count").sum()).select(
        pl.col("force_code").alias("geography_code"), pl.col("force_name").alias("geography_name"), "force",
        "ethnicity", "count")
    return pl.concat([
        _rows(forces, 2021, "force", SOURCE_2021),
        _rows(areas.select("geography_code", "geography_name", "force", "ethnicity", "count"), 2021, "local_authority",
              SOURCE_2021),
    ]).sort("geography_level", "geography_code", "ethnicity")


def census_2011_on_2021_areas(force: str | None = None) -> pl.DataFrame:
    """2011 rows for each 2021 local authority: its own 2011 figures, or the sum of the 2011
    districts it was made from (PREDECESSORS)."""
    lookup = local_authority_forces()
    old = _authorities_2011().select("geography", "ethnicity", "count")
    rows = lookup.join(old, left_on="predecessor", right_on="geography").group_by(
        "LAD21CD", "LAD21NM", "force", "ethnicity").agg(pl.col("count").sum())
    if force is not None:
        rows = rows.filter(pl.col("force") == force)
    source = pl.when(pl.col("geography_code").is_in(list(PREDECESSORS))).then(pl.lit(SOURCE_2011_MERGED)).otherwise(
        pl.lit(census.SOURCE_2011))
    frame = rows.select(pl.col("LAD21CD").alias("geography_code"), pl.col("LAD21NM").alias("geography_name"), "force",
                        "ethnicity", "count")
    return _rows(frame, 2011, "local_authority", source).sort("geography_code", "ethnicity")


def reference_frame() -> pl.DataFrame:
    """Every census row a new database starts with: the 2011 tables (force areas, and the
    authorities census.py gives), the 2011 figures of every other 2021 authority, and Census 2021
    by authority and force area for every force."""
    base = census.census_2011_frame(None).select(COLUMNS)
    extra_2011 = census_2011_on_2021_areas().join(base.select("census_year", "geography_code").unique(),
                                                  on=["census_year", "geography_code"], how="anti")
    return pl.concat([base, extra_2011, census_2021_frame()])
