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
from divert.analytics.maturity import cut_off, mature, with_provisional


def end_of_data(frames: Frames) -> date | None:
    """The latest date anything was recorded. Figures are measured from the as-of date
    instead; this remains only for modules that have not moved to it yet."""
    days = [d for d in frames.data_up_to().values() if d is not None]
    return max(days) if days else None


def snapshot(frames: Frames, filters: Filters) -> Frames:
    """The frames as they stood at the end of the filters' as-of date."""
    as_of = filters.as_of_date
    return frames if frames.as_of == as_of else frames.at(as_of)


def volume_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Recorded possession offences and referrals per month in the period; the month that is
    not over at the as-of date is provisional."""
    frames = snapshot(frames, filters)
    as_of = filters.as_of_date
    offences = filters.apply(frames.offences, "offence_date")
    refs = filters.apply(frames.referrals, "referred_on")
    start = filters.start or _first_day(frames)
    end = min(filters.end or as_of, as_of)
    if start is None or start > end:
        return pl.DataFrame(schema={"period": pl.Date, "offences": pl.UInt32, "referrals": pl.UInt32,
                                    "provisional": pl.Boolean})
    monthly = volume.per_period(offences, "offence_date", name="offences", start=start, end=end)
    referred = volume.per_period(refs, "referred_on", name="referrals", start=start, end=end)
    table = monthly.join(referred, on="period", how="full", coalesce=True).with_columns(
        pl.col("offences").fill_null(0), pl.col("referrals").fill_null(0)
    ).sort("period")
    return with_provisional(table.select("period", "offences", "referrals"), as_of)


def _first_day(frames: Frames) -> date | None:
    days = [d for d in (frames.offences["offence_date"].min(), frames.referrals["referred_on"].min()) if d is not None]
    return min(days) if days else None


def volume_change_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Monthly recorded possession offences before vs after the launch (complete months only)."""
    frames = snapshot(frames, filters)
    offences = filters.without_period().apply(frames.offences, "offence_date")
    monthly = with_provisional(volume.per_period(offences, "offence_date"), filters.as_of_date)
    complete = monthly.filter(~pl.col("provisional")).drop("provisional")
    return volume.level_change(complete, policy_start=frames.programme.launch)


def pathway_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """The funnel for referrals in the period that are old enough to have finished (90 days)."""
    frames = snapshot(frames, filters)
    refs = filters.apply(frames.referrals, "referred_on")
    return pathway.funnel(refs.filter(mature("referred_on", "completed", filters.as_of_date)))


def waits_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Median and 90th-percentile waits by month of referral; a month whose referrals have not
    all had time to reach the step is provisional."""
    frames = snapshot(frames, filters)
    table = pathway.waits(filters.apply(frames.referrals, "referred_on"))
    as_of = filters.as_of_date
    open_cohort = pl.when(pl.col("measure") == "to_assessment").then(
        pathway_month_open(as_of, "to_assessment")).otherwise(pathway_month_open(as_of, "to_course"))
    return table.with_columns(open_cohort.alias("provisional"))


def pathway_month_open(as_of: date, measure: str) -> pl.Expr:
    """True where the month of referral ends after the measure's follow-up cut-off."""
    return (pl.col("period").dt.offset_by("1mo") - pl.duration(days=1)) > pl.lit(cut_off(measure, as_of))


def outcomes_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Before/after (Jul-Dec 2019 vs Jul-Dec 2021) by ethnic group and sex, and overall."""
    frames = snapshot(frames, filters)
    offences = filters.without_period().apply(frames.offences, "offence_date")
    overall = outcomes.before_after(offences).with_columns(pl.lit("All").alias("ethnic_group"), pl.lit("All").alias("sex"))
    grouped = outcomes.before_after(offences, by=("ethnic_group", "sex"))
    return pl.concat([overall.select(grouped.columns), grouped], how="vertical_relaxed")


def reoffending_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Re-detected for possession within 6 and 12 months, referrals with the whole window
    before the as-of date only."""
    frames = snapshot(frames, filters)
    return reoffending.rates(filters.apply(frames.referrals, "referred_on"), frames.offences, filters.as_of_date)


def overview_metric(frames: Frames, filters: Filters) -> pl.DataFrame:
    from divert.analytics.overview import overview_table

    return overview_table(frames, filters)


METRICS: dict[str, Callable[[Frames, Filters], pl.DataFrame]] = {
    "overview": overview_metric,
    "volume": volume_table,
    "volume-change": volume_change_table,
    "pathway": pathway_table,
    "waits": waits_table,
    "outcomes": outcomes_table,
    "reoffending": reoffending_table,
    "capacity": capacity_table,
    "forecast": forecast_table,
}
