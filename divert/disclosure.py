"""Small-number suppression for anything shown to the viewer role or published.

Counts from 1 to threshold-1 become '*' (zero may be shown); rates and shares whose
denominator is below the threshold are not shown; and secondary suppression hides the next
smallest count in the same group, so a suppressed cell cannot be recovered from a total.
"""

from __future__ import annotations

import polars as pl

SUPPRESSED = "*"


def suppress(frame: pl.DataFrame, counts: list[str], rates: dict[str, str] | None = None,
             threshold: int = 8, group_by: list[str] | None = None) -> pl.DataFrame:
    """Return a copy with suppressed counts and rates set to null and a `suppressed` flag
    column per count (`<count>_suppressed`). `rates` maps each rate column (and its _low/_high
    interval columns, if present) to its denominator column."""
    out = frame
    for column in counts:
        small = (pl.col(column) > 0) & (pl.col(column) < threshold)
        out = out.with_columns(small.fill_null(False).alias(f"{column}_suppressed"))
        if group_by is not None:
            out = _secondary(out, column, group_by)
    for rate, denominator in (rates or {}).items():
        hidden = (pl.col(denominator) < threshold).fill_null(True)
        for name in (rate, f"{rate}_low", f"{rate}_high"):
            if name in out.columns:
                out = out.with_columns(pl.when(hidden).then(None).otherwise(pl.col(name)).alias(name))
    for column in counts:
        out = out.with_columns(pl.when(pl.col(f"{column}_suppressed")).then(None).otherwise(pl.col(column)).alias(column))
    return out


def _secondary(frame: pl.DataFrame, column: str, group_by: list[str]) -> pl.DataFrame:
    """Where a group has exactly one suppressed cell, also suppress its next smallest
    non-zero count, so the suppressed value cannot be worked out from the group total."""
    flag = f"{column}_suppressed"
    keys = group_by or [pl.lit(1).alias("_all")]
    ranked = frame.with_row_index("_row").with_columns(
        pl.col(flag).sum().over(keys).alias("_n_suppressed"),
        pl.when(~pl.col(flag) & (pl.col(column) > 0)).then(pl.col(column)).otherwise(None)
        .rank("ordinal").over(keys).alias("_rank"),
    )
    return ranked.with_columns(
        (pl.col(flag) | ((pl.col("_n_suppressed") == 1) & (pl.col("_rank") == 1)).fill_null(False)).alias(flag)
    ).sort("_row").drop("_row", "_n_suppressed", "_rank")


def for_display(frame: pl.DataFrame, counts: list[str]) -> pl.DataFrame:
    """Counts as text with '*' where suppressed, for tables and downloads."""
    out = frame
    for column in counts:
        flag = f"{column}_suppressed"
        if flag in out.columns:
            out = out.with_columns(
                pl.when(pl.col(flag)).then(pl.lit(SUPPRESSED)).otherwise(pl.col(column).cast(pl.String)).alias(column)
            ).drop(flag)
    return out
