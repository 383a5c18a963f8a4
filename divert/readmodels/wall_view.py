"""What the Wall view shows: a few of the Overview's headline cards and three tables for the
charts a board wants at a glance (referrals a month, the pathway from referral to closure, and
how likely an offence is to be diverted for each ethnic group against White), for the 12 months
to the dashboards' default as-of date (the last month end before today). Every figure passes the
disclosure gate for the role here, where it is made, so the page only lays it out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from divert.analytics.dashboards.overview import gated_headlines, periods
from divert.analytics.dashboards.overview_cards import Card, card
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.memo import per_snapshot
from divert.analytics.data.partition import gated_table
from divert.analytics.equity import disparity
from divert.analytics.metrics import GATES, pathway_table
from divert.core.disclosure import Gate

# the Overview's cards a board reads first, in this order (keys of overview.headlines), each with
# a label short enough for large type; what the Overview's label adds goes under the number
CARDS = {"referrals": ("Referrals", "In the 12 months"),
         "engaged_share": ("Engaged", "Of referrals at least 28 days old"),
         "completed_share": ("Closed - complied", "Of referrals at least 90 days old"),
         "days_to_assessment": ("Days to assessment", "Median working days; half waited longer")}
# the funnel's main steps, each in a few words so that it reads from across a room (one colour:
# no legend); the Pathway page has every step
STEPS = {"referred": "Referred", "engaged": "Engaged (assessed)", "course_allocated": "Course: allocated",
         "course_attended": "Course: attended", "other_allocated": "One-to-one or treatment",
         "complied": "Closed: complied", "intelligence_log": "Closed: not engaged"}
EQUITY_STAGE = "diverted"  # the referral step: possession offences referred, against all of them


@dataclass(frozen=True)
class Panel:
    """One chart: its title, the one plain sentence under it, and its table, gated (empty when
    there is nothing to draw; `empty` then says why)."""

    title: str
    sentence: str
    table: pl.DataFrame
    empty: str = "Nothing recorded in these 12 months yet."


@dataclass(frozen=True)
class Wall:
    """Everything on the wall: the period, the latest record counted, the cards and the three
    panels."""

    start: date
    as_of: date
    data_up_to: date | None
    cards: list[Card]
    referrals: Panel
    funnel: Panel
    equity: Panel


def filters_at(as_of: date) -> Filters:
    """The dashboards' default view at `as_of`: the 12 months to it, every area and group."""
    (start, end), _ = periods(Filters(as_of=as_of))
    return Filters(start=start, end=end, as_of=as_of)


def nothing_recorded(frames: Frames) -> bool:
    """No offence and no referral yet: the wall says where they are added instead."""
    return frames.offences.is_empty() and frames.referrals.is_empty()


@per_snapshot
def wall(frames: Frames, as_of: date, gate: Gate) -> Wall:
    """The wall at `as_of` as the role may see it; worked out once per snapshot of the data, so
    the page's regular redraw costs nothing until a write moves the data on."""
    filters = filters_at(as_of)
    hours = frames.programme.officer_hours_per_referral
    shown = {h.key: h for h in gated_headlines(frames, filters, gate, hours) if h.key in CARDS}
    snapshot = frames if frames.as_of == as_of else frames.at(as_of)
    days = [d for d in snapshot.data_up_to().values() if d is not None]
    return Wall(filters.start, as_of, max(days) if days else None, [_card(shown[key], gate) for key in CARDS],
                _referrals(shown["referrals"].trend), _funnel(frames, filters, gate),
                _equity(frames, filters, gate))


def _card(headline, gate: Gate) -> Card:
    """The Overview's card for the headline, under a short label."""
    label, note = CARDS[headline.key]
    return replace(card(headline, gate), label=label, note=note)


def _referrals(trend: pl.DataFrame) -> Panel:
    """Referrals a month (the Overview's Referrals card, month by month, already gated); the
    title gives the average of the complete months when every one of them is shown."""
    table = trend.select("period", pl.col("value").cast(pl.Int64).alias("referrals"), "provisional",
                         *([pl.col("note")] if "note" in trend.columns else []))
    complete = table.filter(~pl.col("provisional").fill_null(False))["referrals"]
    title = (f"About {complete.mean():,.0f} referrals a month" if complete.len() and not complete.null_count()
             else "Referrals a month")
    return Panel(title, "Referrals made each month (a hollow point: a month not over yet; a gap: too few "
                        "to show).", table)


def _funnel(frames: Frames, filters: Filters, gate: Gate) -> Panel:
    """How many referrals old enough to have finished reached each step, gated."""
    table = gated_table(gate, lambda f: pathway_table(frames, f), frames, filters, **GATES["pathway"])
    table = table.filter(pl.col("stage").is_in(list(STEPS))).select(
        pl.col("stage").replace_strict(STEPS).alias("step"), "people", "share_of_referred",
        *([pl.col("note")] if "note" in table.columns else []))
    return Panel("From referral to closure",
                 "Of those referred at least 90 days ago, how many reached each main step (no bar: too few "
                 "to show).", table,
                 empty="No referral in these 12 months is 90 days old yet.")


def _equity(frames: Frames, filters: Filters, gate: Gate) -> Panel:
    """Each group's chance of an offence being diverted against White people's, with its 95%
    interval, gated (a group too small to show has no ratio and is left off the chart)."""
    title = "Diversion by ethnic group"
    full, problem = disparity.disparity_table(frames, "pathway", start=filters.start, end=filters.end,
                                              as_of=filters.as_of_date)
    if problem:
        return Panel(title, "", pl.DataFrame(), empty=f"No ratio to show: {problem}.")
    full = gate.table(full, **GATES["disparity:pathway"])
    table = full.filter((pl.col("stage") == EQUITY_STAGE) & (pl.col("group") != disparity.REFERENCE)
                        & ~pl.col("group").is_in(disparity.UNCOUNTED) & pl.col("rri").is_not_null())
    table = table.select("group", "rri", "ci_low", "ci_high")  # what the chart draws, nothing more
    return Panel(title, "Each group's chance of an offence being diverted over White people's (1: the "
                        "same), with its 95% interval.",
                 table, empty="Too few offences in these 12 months to compare groups.")
