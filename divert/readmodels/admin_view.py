"""What the administrator's pages show, as tables: the data coverage (divert.analytics.data.coverage)
in words, and the areas of the programme's force."""

from __future__ import annotations

import polars as pl

from divert.reference import forces

SOURCES = {"stop-search": "Stop and search", "offences": "Offences", "referrals": "Referrals",
           "population": "Census population"}


def sources_with_gaps(coverage: pl.DataFrame) -> int:
    """How many sources (per force) miss a month inside their range, or a census."""
    return coverage.filter(pl.col("months_missing") > 0).height


def coverage_shown(coverage: pl.DataFrame) -> pl.DataFrame:
    """The coverage table with the sources and forces by name and the days written out."""
    return coverage.select(
        pl.col("source").replace(SOURCES).alias("Source"),
        pl.col("force").replace({f.slug: f.name for f in forces.FORCES}).alias("Force"),
        pl.col("covered_from").dt.strftime("%-d %b %Y").fill_null("-").alias("From"),
        pl.col("covered_to").dt.strftime("%-d %b %Y").fill_null("-").alias("To"),
        pl.col("months_held").cast(pl.String).fill_null("-").alias("Months held"),
        pl.col("months_missing").alias("Missing"),
        pl.col("missing").alias("Which"),
    )


def areas_table(areas) -> pl.DataFrame:
    """The force's areas, (code, name) pairs, as a table."""
    return pl.DataFrame([{"Code": code, "Area": name} for code, name in areas])
