"""What the Pathway page shows: the funnel from referral to closure, the waits for the
assessment and the course, intelligence logs and repeat diversions, each through the
disclosure gate for the user's role with the finding for its title (read from the gated
figures, so a title never says more than the role may see)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from divert.analytics.calendar.maturity import FOLLOW_UP_DAYS, mature, with_provisional
from divert.analytics.dashboards import pathway
from divert.analytics.dashboards.overview import gated_headlines
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.partition import gated_table
from divert.analytics.metrics import GATES, pathway_table, waits_table
from divert.core.disclosure import Gate
from divert.readmodels.volume_view import partial_edges

WAITS = {"to_assessment": "Referral to assessment", "to_course": "Assessment to course"}
UNITS = {"Referral to assessment": "working days (Monday to Friday, as the service target)",
         "Assessment to course": "calendar days"}
SHORT_UNITS = {"Referral to assessment": "working days", "Assessment to course": "days"}


@dataclass(frozen=True)
class Funnel:
    """The funnel, gated, for the chart and as the table shows it (empty when no referral is
    old enough to have finished), its branches in order, its title, and how many referrals it
    counts out of all those in the period (exact: `finished`, `referred`; as the role may see
    them: `cohort`, "240 of 1,000")."""
    table: pl.DataFrame
    shown: pl.DataFrame
    branches: list[str]
    title: str
    finished: int
    referred: int
    cohort: str


@dataclass(frozen=True)
class Wait:
    """One wait (a value of WAITS) per month of referral: the table, the median and 90th
    percentile long for the chart, and the title."""
    measure: str
    table: pl.DataFrame
    statistics: pl.DataFrame
    title: str


def _referrals(data: Frames, filters: Filters) -> pl.DataFrame:
    return filters.apply(data.referrals, "referred_on")


def funnel(data: Frames, filters: Filters, gate: Gate) -> Funnel:
    """How many referrals at least the completion follow-up old reached each step, gated; the
    title gives the Overview's engaged and complied shares, as the role may see them."""
    referrals = _referrals(data, filters)
    finished = referrals.filter(mature("referred_on", "completed", filters.as_of_date)).height
    table = gated_table(gate, lambda f: pathway_table(data, f), data, filters, **GATES["pathway"])
    hours = data.programme.officer_hours_per_referral
    headline = {h.key: h.value for h in gated_headlines(data, filters, gate, hours)}  # as on the Overview
    engaged, complied = headline["engaged_share"], headline["completed_share"]
    title = (f"{engaged:.0%} of referrals engaged and {complied:.0%} closed as complied"
             if engaged is not None and complied is not None else "From referral to closure")
    shown_finished, shown_referred = gate.count(finished), gate.count(referrals.height)
    return Funnel(table, table if finished else table.head(0), table["branch"].unique(maintain_order=True).to_list(),
                  title, finished, referrals.height,
                  f"{_people(shown_finished, gate)} of {_people(shown_referred, gate)}")


def _people(count: int | None, gate: Gate) -> str:
    return f"fewer than {gate.threshold}" if count is None else f"{count:,}"


def waits(data: Frames, filters: Filters, gate: Gate) -> list[Wait]:
    """Each wait's median and 90th percentile per month of referral, gated, with the title: the
    median in the latest complete month shown."""
    frame = partial_edges(gated_table(gate, lambda f: waits_table(data, f), data, filters, **GATES["waits"]), filters)
    frame = frame.with_columns(pl.col("measure").replace_strict(WAITS).alias("wait"))
    out = []
    for measure in WAITS.values():
        part = frame.filter(pl.col("wait") == measure).sort("period")
        long = part.unpivot(index=[c for c in ("period", "people", "provisional", "note") if c in part.columns],
                            on=["median_days", "p90_days"],
                            variable_name="statistic", value_name="days")
        long = long.with_columns(pl.col("statistic").replace_strict({"median_days": "Median", "p90_days": "90th percentile"}))
        settled = part.filter(~pl.col("provisional").fill_null(False)).drop_nulls("median_days").tail(1)
        title = (f"{measure}: a median of {settled['median_days'][0]:,.1f} {SHORT_UNITS[measure]} in "
                 f"{settled['period'][0]:%B %Y}" if settled.height else f"Days: {measure.lower()}")
        out.append(Wait(measure, part.drop("measure"), long, title))
    return out


def intelligence_logs(data: Frames, filters: Filters, gate: Gate) -> pl.DataFrame:
    """Referrals closed as not engaged (an intelligence log) per month, gated; the month not over
    provisional, and so are the first month and any month beginning within the engagement
    window of the period's start: their logs come only from referrals made in the period, so
    they count low (most logs follow the referral by up to FOLLOW_UP_DAYS["engaged"] days)."""
    window = FOLLOW_UP_DAYS["engaged"]
    logs = gated_table(gate, lambda f: logs_table(data, f), data, filters, **GATES["intelligence-logs"])
    return partial_edges(logs, filters, lag_days=window,
                         why=f"a log follows its referral by up to about {window} days, so logs for referrals made "
                             "before the start are not counted")


def repeats(data: Frames, filters: Filters, gate: Gate) -> pl.DataFrame:
    """The share of each month's referrals for people diverted before, the month not over
    provisional, gated."""
    return partial_edges(gated_table(gate, lambda f: repeats_table(data, f), data, filters, **GATES["repeats"]),
                         filters)


def logs_table(data: Frames, filters: Filters) -> pl.DataFrame:
    """Intelligence logs per month of the log, the month not over provisional: exact."""
    return with_provisional(pathway.intelligence_logs(_referrals(data, filters)), filters.as_of_date)


def repeats_table(data: Frames, filters: Filters) -> pl.DataFrame:
    """Each month's referrals and repeat diversions with the share, the month not over
    provisional: exact."""
    return with_provisional(pathway.repeats(_referrals(data, filters)), filters.as_of_date)
