"""What the Impact page shows: the interrupted time series of formal outcomes with its verdict,
the change at the launch by group, the gap against White, the recording check and the
comparator forces (divert.readmodels.equity.evaluation), each table through the disclosure gate."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.metrics import GATES
from divert.core.disclosure import Gate
from divert.readmodels import equity

GAP_COUNTS = ["offences_before", "formal_before", "offences_after", "formal_after"]
GAP_DERIVED = ("share_before", "share_after", "gap_before", "gap_after", "ratio_of_rate_ratios", "rrr_low", "rrr_high",
               "p_value")
ESTIMATES = ["estimate", "ci_low", "ci_high", "p_value", "months_before", "months_after"]


@dataclass(frozen=True)
class Impact:
    """The Impact page's figures, gated: the verdict in words; the months in the fit with the
    provisional ones (`series`) and the same as lines for the chart (`lines`: month,
    provisional, series, share); the estimates by group and the level changes among them; the
    gap against White; the recording check; the comparator forces' estimates (None when no
    other force is imported) and those forces."""

    verdict: str
    series: pl.DataFrame
    lines: pl.DataFrame
    estimates: pl.DataFrame
    level_changes: pl.DataFrame
    gap: pl.DataFrame
    recording: pl.DataFrame
    controlled: pl.DataFrame | None
    comparators: list[str]


def _series(series: pl.DataFrame, gate: Gate) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The months in the fit and the provisional ones, gated, and as one line per series."""
    series = gate.table(series.filter(pl.col("in_fit") | pl.col("provisional")), ["offences", "formal"],
                        {"rate": ["offences", "formal"]}, keep=["fitted_rate", "counterfactual_rate"])
    lines = series.select("month", "provisional",
                          pl.col("rate").alias("Observed"), pl.col("fitted_rate").alias("Fitted"),
                          pl.col("counterfactual_rate").alias("Had nothing changed"))
    return series, lines.unpivot(index=["month", "provisional"], variable_name="series", value_name="share")


def impact(frames: Frames, filters: Filters, gate: Gate) -> Impact | None:
    """Everything the page shows, or None when there are too few complete months either side
    of the launch to fit the model."""
    result = equity.evaluation(frames, filters)
    main = result["main"]
    if main.estimates.is_empty() or main.estimate("level_change").get("estimate") is None:
        return None
    series, lines = _series(main.series, gate)
    estimates = gate.table(equity.impact_table(frames, filters), **GATES["impact"])
    return Impact(
        verdict=result["verdict"], series=series, lines=lines, estimates=estimates,
        level_changes=estimates.filter(pl.col("term") == "level_change"),
        gap=gate.table(result["gap"], GAP_COUNTS, dict.fromkeys(GAP_DERIVED, GAP_COUNTS)),
        recording=gate.table(result["recording"], [], keep=["change_pct", "ci_low_pct", "ci_high_pct", "p_value"]),
        controlled=gate.table(result["controlled"].estimates, [], keep=ESTIMATES)
        if result["controlled"] is not None else None,
        comparators=result["comparators"],
    )
