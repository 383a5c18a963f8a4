"""What the Overview page shows: whether anything is recorded yet, the headline cards for the
chosen period against the one before (divert.analytics.dashboards.overview), and the equity
watch's open alerts in words (divert.readmodels.equity)."""

from __future__ import annotations

import polars as pl

from divert.analytics.dashboards.overview import gated, headlines
from divert.analytics.dashboards.overview_cards import Card, card
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.core.disclosure import Gate
from divert.readmodels import equity


def nothing_recorded(frames: Frames) -> bool:
    """No offence and no referral yet: the page says where to add them instead of its cards."""
    return frames.offences.is_empty() and frames.referrals.is_empty()


def cards(frames: Frames, filters: Filters, gate: Gate) -> list[Card]:
    """The headline cards as the role may see them, with the programme's officer hours per
    referral (its source is on the Programme page)."""
    hours = frames.programme.officer_hours_per_referral
    return [card(gated(headline, gate, hours), gate) for headline in headlines(frames, filters, hours)]


def open_alerts(frames: Frames, filters: Filters, engine) -> list[dict]:
    """The watch's open alerts, newest first, with their acknowledgement. Only the sentence and
    whether it is acknowledged are shown here; the counts behind them are on the Equity watch."""
    return equity.alerts_table(frames, filters, engine).filter(pl.col("status") == "open").to_dicts()
