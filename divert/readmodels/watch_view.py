"""What the Equity watch page shows: the watch's alerts as the role may see them, open and
closed, and one control-chart panel for each step of the pathway (divert.readmodels.equity).
Each table passes the disclosure gate here."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.core.disclosure import Gate
from divert.readmodels import equity

# what a viewer may see of the charted months: the ratios made from enough people; the
# baseline, the control limits and White's rate pass as they are
CHART_GATE = {"counts": ["events", "denominator", "white_events", "white_denominator"],
              "derived": {name: ["denominator", "events"] for name in ("rr", "rr_low", "rr_high", "ewma_rr", "rate",
                                                                        "statistic")},
              "keep": ["baseline_rr", "lower_limit", "upper_limit", "white_rate"]}


@dataclass(frozen=True)
class Alerts:
    """The alerts as rows (newest first, with their acknowledgement), open and closed."""

    open: list[dict]
    closed: list[dict]


@dataclass(frozen=True)
class Panel:
    """One step of the pathway: its label, the smoothed ratio and its limits as lines for the
    chart (`lines`: month, group, provisional, line, ratio; None when there are none) and the
    table under it."""

    stage: str
    label: str
    lines: pl.DataFrame | None
    table: pl.DataFrame


def alerts(frames: Frames, filters: Filters, gate: Gate, engine) -> Alerts:
    """The alerts a role sees: every column for a manager; for a viewer the counts behind each
    alert gated and the exact-count sentence and who acknowledged left out."""
    shown = equity.alerts_for(frames, filters, gate, engine)
    return Alerts(shown.filter(pl.col("status") == "open").to_dicts(),
                  shown.filter(pl.col("status") != "open").to_dicts())


def panels(frames: Frames, filters: Filters, gate: Gate) -> list[Panel]:
    """The charted months of the watch, gated, one panel per step in the watch's order."""
    chart = gate.table(equity.equity_watch(frames, filters).chart.filter(pl.col("charted")), **CHART_GATE)
    shown = []
    for stage in chart["stage"].unique(maintain_order=True).to_list():
        part = chart.filter(pl.col("stage") == stage)
        lines = part.select("month", "group", "provisional", pl.col("ewma_rr").alias("Smoothed ratio"),
                            pl.col("lower_limit").alias("Lower limit"), pl.col("upper_limit").alias("Upper limit"))
        lines = lines.unpivot(index=["month", "group", "provisional"], variable_name="line", value_name="ratio")
        shown.append(Panel(stage, part["stage_label"][0], lines if not lines.is_empty() else None, part.drop("stage")))
    return shown
