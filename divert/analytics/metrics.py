"""The tables behind each dashboard, by name: what `divert metrics NAME` prints and what the
pages draw. Each takes the loaded frames and the filters and returns one polars frame."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from divert.analytics import outcomes, pathway, reoffending, volume
from divert.analytics.capacity import capacity_table
from divert.analytics.filters import Filters
from divert.analytics.forecast import forecast_table
from divert.analytics.frames import Frames


def end_of_data(frames: Frames) -> date | None:
    """The latest date anything was recorded: the edge of every follow-up window."""
    days = [frames.offences["offence_date"].max()]
    if frames.referrals.height:
        days.append(frames.referrals["referred_on"].max())
    days = [d for d in days if d is not None]
    return max(days) if days else None


def volume_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Recorded possession offences and referrals per month."""
    offences = filters.apply(frames.offences, "offence_date")
    refs = filters.apply(frames.referrals, "referred_on")
    monthly = volume.per_period(offences, "offence_date", name="offences")
    referred = volume.per_period(refs, "referred_on", name="referrals")
    if monthly.is_empty():
        return referred.with_columns(pl.lit(0, pl.UInt32).alias("offences")).select("period", "offences", "referrals")
    return monthly.join(referred, on="period", how="full", coalesce=True).with_columns(
        pl.col("offences").fill_null(0), pl.col("referrals").fill_null(0)
    ).sort("period")


def volume_change_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Monthly recorded possession offences before vs after the policy start."""
    offences = filters.without_period().apply(frames.offences, "offence_date")
    return volume.level_change(volume.per_period(offences, "offence_date"))


def pathway_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    return pathway.funnel(filters.apply(frames.referrals, "referred_on"))


def waits_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    return pathway.waits(filters.apply(frames.referrals, "referred_on"))


def outcomes_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Before/after (Jul-Dec 2019 vs Jul-Dec 2021) by ethnic group and sex, and overall."""
    offences = filters.without_period().apply(frames.offences, "offence_date")
    overall = outcomes.before_after(offences).with_columns(pl.lit("All").alias("ethnic_group"), pl.lit("All").alias("sex"))
    grouped = outcomes.before_after(offences, by=("ethnic_group", "sex"))
    return pl.concat([overall.select(grouped.columns), grouped], how="vertical_relaxed")


def reoffending_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    end = end_of_data(frames)
    if end is None:
        return reoffending.rates(frames.referrals.head(0), frames.offences.head(0), date.today())
    return reoffending.rates(filters.apply(frames.referrals, "referred_on"), frames.offences, end)


METRICS: dict[str, Callable[[Frames, Filters], pl.DataFrame]] = {
    "volume": volume_table,
    "volume-change": volume_change_table,
    "pathway": pathway_table,
    "waits": waits_table,
    "outcomes": outcomes_table,
    "reoffending": reoffending_table,
    "capacity": capacity_table,
    "forecast": forecast_table,
}
