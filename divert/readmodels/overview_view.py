"""What the Overview page shows: whether anything is recorded yet, the headline cards for the
chosen period against the one before (divert.analytics.dashboards.overview), and the equity
watch's open alerts in words (divert.readmodels.equity), and value for money
(divert.analytics.dashboards.value)."""

from __future__ import annotations

import polars as pl

from divert.analytics.dashboards import value
from divert.analytics.dashboards.overview import gated_headlines
from divert.analytics.dashboards.overview_cards import Card, card
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.metrics import value_table
from divert.core.disclosure import Gate
from divert.readmodels import equity


def nothing_recorded(frames: Frames) -> bool:
    """No offence and no referral yet: the page says where to add them instead of its cards."""
    return frames.offences.is_empty() and frames.referrals.is_empty()


def cards(frames: Frames, filters: Filters, gate: Gate) -> list[Card]:
    """The headline cards as the role may see them, with the programme's officer hours per
    referral (its source is on the Programme page)."""
    hours = frames.programme.officer_hours_per_referral
    return [card(headline, gate) for headline in gated_headlines(frames, filters, gate, hours)]


def open_alerts(frames: Frames, filters: Filters, engine) -> list[dict]:
    """The watch's open alerts, newest first, with their acknowledgement. Only the sentence and
    whether it is acknowledged are shown here; the counts behind them are on the Equity watch."""
    return equity.alerts_table(frames, filters, engine).filter(pl.col("status") == "open").to_dicts()


VALUE_COLUMNS = {"measure": "Measure", "figure": "Figure", "range": "Low to high", "how": "How it is worked out"}


def value_for_money(frames: Frames, filters: Filters, gate: Gate) -> dict:
    """The value-for-money lines as the role may see them (every figure worked out from the counts
    as the role sees them, so the officer hours are the officer-hours card's), the period they
    cover and whether a price is entered."""
    row = value_table(frames, filters, gate).row(0, named=True)
    lines = [{VALUE_COLUMNS[k]: v for k, v in line.items()} for line in value.lines(row)]
    return {"lines": lines, "start": row["start"], "end": row["end"], "days": row["days"],
            "priced": row["cost_basis"] != "none", "valued": row["hourly_cost"] is not None,
            "meaning": value.MEANING, "hours_source": row["hours_source"]}
