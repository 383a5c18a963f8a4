"""Home Office outcomes for possession offences: over time, and before/after the policy for
matching periods, by ethnic group and sex."""

from __future__ import annotations

from datetime import date

import polars as pl

from divert import codes
from divert.analytics.intervals import with_share

OUTCOME_GROUPS = {
    **dict.fromkeys(codes.CHARGE, "Charge/summons"),
    **dict.fromkeys(codes.CAUTION, "Caution"),
    **dict.fromkeys(codes.PND, "Penalty Notice for Disorder"),
    **dict.fromkeys(codes.CANNABIS_WARNING, "Cannabis/khat warning"),
    **dict.fromkeys(codes.COMMUNITY_RESOLUTION, "Community Resolution"),
    22: "Diversionary activity (22)",
}
OUTCOME_ORDER = ("Charge/summons", "Caution", "Penalty Notice for Disorder", "Cannabis/khat warning",
                 "Community Resolution", "Diversionary activity (22)", "Other outcome", "No outcome yet")
COMPARED = ("Charge/summons", "Caution", "Penalty Notice for Disorder", "Cannabis/khat warning", "Community Resolution")
BEFORE = (date(2019, 7, 1), date(2019, 12, 31))
AFTER = (date(2021, 7, 1), date(2021, 12, 31))


def with_outcome_group(offences: pl.DataFrame) -> pl.DataFrame:
    return offences.with_columns(
        pl.when(pl.col("outcome").is_null()).then(pl.lit("No outcome yet"))
        .otherwise(pl.col("outcome").replace_strict(OUTCOME_GROUPS, default="Other outcome", return_dtype=pl.String))
        .alias("outcome_group"),
        pl.col("outcome").is_in(codes.FORMAL_OUTCOMES).fill_null(False).alias("formal"),
    )


def monthly_outcomes(offences: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    """Offences per month by outcome group (stacked chart)."""
    grouped = with_outcome_group(offences).group_by(
        pl.col("offence_date").dt.truncate(every).alias("period"), "outcome_group"
    ).len(name="offences")
    return grouped.sort("period", "outcome_group")


def _in(period) -> pl.Expr:
    return pl.col("offence_date").is_between(period[0], period[1])


def before_after(offences: pl.DataFrame, before=BEFORE, after=AFTER, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """For each outcome compared (and each group in `by`): count and share of possession
    offences in each period, and the % change in the count."""
    frame = with_outcome_group(offences).filter(_in(before) | _in(after)).with_columns(
        pl.when(_in(before)).then(pl.lit("before")).otherwise(pl.lit("after")).alias("side")
    )
    keys = list(by)
    totals = frame.group_by(keys + ["side"]).len(name="offences") if keys else frame.group_by("side").len(name="offences")
    rows = []
    for outcome in COMPARED:
        counted = frame.group_by(keys + ["side"]).agg((pl.col("outcome_group") == outcome).sum().alias("count"))
        rows.append(counted.with_columns(pl.lit(outcome).alias("outcome")))
    counts = pl.concat(rows).join(totals, on=keys + ["side"], how="left")
    wide = counts.pivot(on="side", index=keys + ["outcome"], values=["count", "offences"])
    for column in ("count_before", "count_after", "offences_before", "offences_after"):
        if column not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.UInt32).alias(column))
    wide = wide.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in ("count_before", "count_after", "offences_before", "offences_after"))
    wide = with_share(wide, "count_before", "offences_before", "share_before")
    wide = with_share(wide, "count_after", "offences_after", "share_after")
    return wide.with_columns(
        pl.when(pl.col("count_before") > 0)
        .then((pl.col("count_after") - pl.col("count_before")) / pl.col("count_before") * 100)
        .otherwise(None).alias("change_pct")
    ).select(
        *keys, "outcome", "offences_before", "count_before", "share_before", "share_before_low", "share_before_high",
        "offences_after", "count_after", "share_after", "share_after_low", "share_after_high", "change_pct",
    ).sort(keys + ["outcome"])


def formal_share(offences: pl.DataFrame, periods: dict[str, tuple[date, date]], by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Share of possession offences with a formal outcome (charge or caution) in each named
    period, by group, with Wilson 95% intervals."""
    frame = with_outcome_group(offences)
    parts = []
    for name, period in periods.items():
        part = frame.filter(_in(period)).group_by(list(by) or pl.lit("all").alias("group")).agg(
            pl.len().alias("offences"), pl.col("formal").sum().cast(pl.Int64).alias("formal_outcomes")
        ).with_columns(pl.lit(name).alias("period"))
        parts.append(part)
    if not parts:
        return pl.DataFrame()
    combined = pl.concat(parts, how="diagonal").with_columns(pl.col("offences").cast(pl.Int64))
    return with_share(combined, "formal_outcomes", "offences", "formal_share")


def half_years(first: date, last: date) -> dict[str, tuple[date, date]]:
    """Named half-years (Jan-Jun, Jul-Dec) covering first..last."""
    periods = {}
    for year in range(first.year, last.year + 1):
        for start, end, label in ((date(year, 1, 1), date(year, 6, 30), "Jan-Jun"), (date(year, 7, 1), date(year, 12, 31), "Jul-Dec")):
            if end >= first and start <= last:
                periods[f"{label} {year}"] = (start, end)
    return periods
