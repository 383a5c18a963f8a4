"""Home Office outcomes for possession offences: over time, and before/after the launch for
matching periods, by ethnic group and sex.

Every outcome is counted, "further investigation not in the public interest" (21), other codes
and offences still awaiting an outcome included, so the shares of a period add up to 100%.
Changes are differences in share (percentage points, Newcombe 95% interval), never % changes
in counts (counts also move with the rise in recorded offences). Gaps between groups are read
both ways: the absolute share and the ratio to the reference group.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from divert.analytics.data.frames import as_text
from divert.analytics.data.memo import per_snapshot
from divert.analytics.stats.intervals import newcombe, risk_ratio, with_share
from divert.core import codes

OUTCOME_GROUPS = {
    **dict.fromkeys(codes.CHARGE, "Charge/summons"),
    **dict.fromkeys(codes.CAUTION, "Caution"),
    **dict.fromkeys(codes.PND, "Penalty Notice for Disorder"),
    **dict.fromkeys(codes.CANNABIS_WARNING, "Cannabis/khat warning"),
    **dict.fromkeys(codes.COMMUNITY_RESOLUTION, "Community Resolution"),
    22: "Diversionary or intervention activity",
    21: "Not in the public interest to investigate further",
}
OUTCOME_ORDER = ("Charge/summons", "Caution", "Penalty Notice for Disorder", "Cannabis/khat warning",
                 "Community Resolution", "Diversionary or intervention activity",
                 "Not in the public interest to investigate further", "Other outcome", "No outcome yet")
COMPARED = OUTCOME_ORDER  # every outcome, so a period's shares add up to 100%
BEFORE = (date(2019, 7, 1), date(2019, 12, 31))  # the reference programme's published comparison
AFTER = (date(2021, 7, 1), date(2021, 12, 31))
FORMAL_LABEL = "charge or caution"


def comparison_periods(launch: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """The programme's own comparison: the July-December (or January-June) half-year that ends
    at least three months before the launch, against the same half-year two years later
    (for an October 2020 launch: July-December 2019 against July-December 2021)."""
    start = date(launch.year, 7 if launch.month >= 7 else 1, 1)
    start = date(start.year - 1, start.month, 1)
    before = (start, date(start.year, start.month + 5, 31 if start.month == 7 else 30))
    after = (date(start.year + 2, start.month, 1), date(start.year + 2, start.month + 5, before[1].day))
    return before, after


def with_outcome_group(offences: pl.DataFrame) -> pl.DataFrame:
    return offences.with_columns(
        pl.when(pl.col("outcome").is_null()).then(pl.lit("No outcome yet"))
        .otherwise(pl.col("outcome").replace_strict(OUTCOME_GROUPS, default="Other outcome", return_dtype=pl.String))
        .alias("outcome_group"),
        pl.col("outcome").is_in(codes.FORMAL_OUTCOMES).fill_null(False).alias("formal"),
    )


@per_snapshot
def monthly_outcomes(offences: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    """Offences per month by outcome group (stacked chart)."""
    grouped = with_outcome_group(offences).group_by(
        pl.col("offence_date").dt.truncate(every).alias("period"), "outcome_group"
    ).len(name="offences")
    return grouped.sort("period", "outcome_group")


def _in(period) -> pl.Expr:
    return pl.col("offence_date").is_between(period[0], period[1])


@per_snapshot
def before_after(offences: pl.DataFrame, before=BEFORE, after=AFTER, by: tuple[str, ...] = ()) -> pl.DataFrame:
    """For every outcome (and each group in `by`): count and share of possession offences in
    each period (Wilson 95%), and the change in share in percentage points (Newcombe 95%)."""
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
    diff, low, high = newcombe(wide["count_before"], wide["offences_before"], wide["count_after"], wide["offences_after"])
    order = {name: i for i, name in enumerate(OUTCOME_ORDER)}
    return wide.with_columns(
        pl.Series("change_points", diff * 100).fill_nan(None),
        pl.Series("change_points_low", low * 100).fill_nan(None),
        pl.Series("change_points_high", high * 100).fill_nan(None),
    ).select(
        *keys, "outcome", "offences_before", "count_before", "share_before", "share_before_low", "share_before_high",
        "offences_after", "count_after", "share_after", "share_after_low", "share_after_high",
        "change_points", "change_points_low", "change_points_high",
    ).sort([*keys, pl.col("outcome").replace_strict(order, default=99)])


ALL = "All"  # a characteristic summed over
LEVELS = {(): "overall", ("ethnic_group",): "by ethnic group", ("sex",): "by sex", ("ethnic_group", "sex"): "by group"}


@per_snapshot
def before_after_cube(offences: pl.DataFrame, before=BEFORE, after=AFTER) -> pl.DataFrame:
    """`before_after` overall, by ethnic group, by sex and by both, in one table: "All" where a
    characteristic is summed over, and `level` naming the split. These are one cross-table
    (each group's outcomes add up to its offences, each outcome's groups to its margins), so
    every split the Outcomes page offers is cut from it and gated with it (divert.core.disclosure).
    """
    parts = []
    for by, level in LEVELS.items():
        table = before_after(offences, before, after, by=by).with_columns(
            *(pl.col(c).cast(pl.String) if c in by else pl.lit(ALL).alias(c) for c in ("ethnic_group", "sex")),
            pl.lit(level).alias("level"))
        parts.append(table.select("ethnic_group", "sex", "level", *(c for c in table.columns
                                                                     if c not in ("ethnic_group", "sex", "level"))))
    return pl.concat(parts, how="vertical_relaxed")


@per_snapshot
def formal_share(offences: pl.DataFrame, periods: dict[str, tuple[date, date]], by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Share of possession offences with a formal outcome (charge or caution) in each named
    period, by group, with Wilson 95% intervals."""
    frame = with_outcome_group(offences)
    parts = []
    for name, period in periods.items():
        part = as_text(frame.filter(_in(period)).group_by(list(by) or pl.lit("all").alias("group")).agg(
            pl.len().alias("offences"), pl.col("formal").sum().cast(pl.Int64).alias("formal_outcomes")
        )).with_columns(pl.lit(name).alias("period"))
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


@per_snapshot
def formal_gaps(offences: pl.DataFrame, before=BEFORE, after=AFTER, by: tuple[str, ...] = ("ethnic_group",),
                reference: dict[str, str] | None = None) -> pl.DataFrame:
    """The share with a formal outcome (charge or caution) in each period for each group, its
    change in points, and the ratio to the reference group (White; White of the same sex when
    split by sex) in each period with Katz 95% intervals. The reference rows show 1 with no
    interval. Groups with no census meaning (Not stated, Missing) are kept, not compared."""
    frame = with_outcome_group(offences).filter(_in(before) | _in(after)).with_columns(
        _in(before).alias("is_before"))
    keys = list(by)
    counts = as_text(frame.group_by(keys).agg(
        pl.col("is_before").sum().cast(pl.Int64).alias("offences_before"),
        (pl.col("is_before") & pl.col("formal")).sum().cast(pl.Int64).alias("formal_before"),
        (~pl.col("is_before")).sum().cast(pl.Int64).alias("offences_after"),
        (~pl.col("is_before") & pl.col("formal")).sum().cast(pl.Int64).alias("formal_after"),
    )).sort(keys)
    counts = with_share(counts, "formal_before", "offences_before", "share_before")
    counts = with_share(counts, "formal_after", "offences_after", "share_after")
    diff, low, high = newcombe(counts["formal_before"], counts["offences_before"], counts["formal_after"], counts["offences_after"])
    counts = counts.with_columns(pl.Series("change_points", diff * 100).fill_nan(None),
                                 pl.Series("change_points_low", low * 100).fill_nan(None),
                                 pl.Series("change_points_high", high * 100).fill_nan(None))
    wanted = {"ethnic_group": "White", **(reference or {})}
    rows = []
    for row in counts.iter_rows(named=True):
        ref = {k: (wanted[k] if k in wanted else row[k]) for k in keys}
        base = counts.filter(*[pl.col(k) == v for k, v in ref.items()])
        is_reference = all(row[k] == v for k, v in ref.items())
        out = dict(row, reference=" ".join(str(v) for v in ref.values()), is_reference=is_reference)
        for side in ("before", "after"):
            if is_reference:
                ratio, lo, hi = 1.0, None, None
            elif base.is_empty() or row["ethnic_group"] in ("Not stated", "Missing"):
                ratio, lo, hi = None, None, None
            else:
                b = base.row(0, named=True)
                ratio, lo, hi = risk_ratio(row[f"formal_{side}"], row[f"offences_{side}"], b[f"formal_{side}"], b[f"offences_{side}"])
            out |= {f"ratio_{side}": ratio, f"ratio_{side}_low": lo, f"ratio_{side}_high": hi}
        rows.append(out)
    schema = {**counts.schema, "reference": pl.String, "is_reference": pl.Boolean,
              **{f"ratio_{s}{e}": pl.Float64 for s in ("before", "after") for e in ("", "_low", "_high")}}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def gap_reading(gaps: pl.DataFrame) -> str:
    """One sentence that reads the absolute and the relative change together."""
    compared = gaps.filter(~pl.col("is_reference") & pl.col("ratio_before").is_not_null() & pl.col("ratio_after").is_not_null()
                           & pl.col("share_before").is_not_null() & pl.col("share_after").is_not_null())
    if compared.is_empty():
        return "Too few offences in the two periods to compare groups."
    every = gaps.filter(pl.col("share_before").is_not_null() & pl.col("share_after").is_not_null())
    fell = every.filter(pl.col("share_after") < pl.col("share_before")).height
    absolute = ("the share charged or cautioned fell for every group" if fell == every.height
                else f"the share charged or cautioned fell for {fell} of {every.height} groups")
    wider = compared.filter(pl.col("ratio_after") > pl.col("ratio_before"))
    narrower = compared.filter(pl.col("ratio_after") <= pl.col("ratio_before"))

    def names(frame):
        label = [" ".join(str(v) for v in r if v is not None) for r in frame.select(pl.exclude(  # not the gate's note
            "offences_before", "formal_before", "offences_after", "formal_after", "reference", "is_reference",
            "note", "^share_.*$", "^change_.*$", "^ratio_.*$")).iter_rows()]
        return ", ".join(label)

    reference = compared["reference"][0]
    parts = [absolute.capitalize()]
    if wider.height:
        parts.append(f"but the gap against {reference} widened for {names(wider)}")
    if narrower.height:
        parts.append(f"{'and' if not wider.height else 'while'} it narrowed or held for {names(narrower)}")
    return "; ".join(parts) + ". Ratios are shown with 95% intervals in the table: a change inside them may be noise."
