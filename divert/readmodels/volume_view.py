"""What the Volume page shows: the change in recorded possession offences at the launch,
offences per month, referrals per week, offences by one characteristic and per month in each
area, each through the disclosure gate for the user's role with the finding for its title
(read from the gated figures, so a title never says more than the role may see)."""

from __future__ import annotations

import polars as pl

from divert.analytics.calendar.maturity import provisional, with_provisional
from divert.analytics.dashboards import volume
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.partition import gated_table
from divert.analytics.metrics import GATES, volume_change_table, volume_table
from divert.core import codes, wording
from divert.core.disclosure import NOTE, Gate
from divert.core.lookup import each_value
from divert.reference import census

BREAKDOWNS = {"area": "Local policing area", "source": "Source", "drug": "Drug", "age_band": "Age band", "sex": "Sex",
              "ethnic_group": "Ethnic group (self-defined)"}


def partial_edges(frame: pl.DataFrame, filters: Filters, every: str = "1mo", column: str = "period", *,
                  lag_days: int = 0, why: str | None = None) -> pl.DataFrame:
    """`frame` with its partial periods marked `provisional`, and a `note` saying why (after the
    gate's note on a row with a hidden count, which stays): the period not over at the as-of
    date, and a first period that the filter's start cuts short (or, for an event counted up to
    `lag_days` after the referral that started it, the first period whatever its start: `why`
    says so). The chart draws them dashed, hollow or pale."""
    if column not in frame.columns or frame.is_empty():
        return frame
    as_of = filters.as_of_date
    if "provisional" not in frame.columns:
        frame = with_provisional(frame, as_of, every, column)
    start = filters.start
    cut = (pl.col(column) < pl.lit(start)) if start else pl.lit(False)
    if start and lag_days:  # the first period shown misses the events of referrals made before the start
        cut = cut | (pl.col(column) == pl.col(column).min())
    not_over = provisional(pl.col(column), every, as_of).fill_null(False)
    first = (f"Partial: the period shown starts on {wording.day(start)}" + (f"; {why}" if why else "")
             if start else None)
    partial = (pl.when(not_over).then(pl.lit(f"Provisional: not over on {wording.day(as_of)}"))
               .when(cut).then(pl.lit(first)).otherwise(pl.lit(None, pl.String)))
    # beside the gate's note (a hidden count), never instead of it: for_display marks a count hidden by that note
    gated = pl.col(NOTE) if NOTE in frame.columns else pl.lit(None, pl.String)
    note = pl.when(gated.is_null()).then(partial).when(partial.is_null()).then(gated) \
        .otherwise(pl.concat_str([gated, partial], separator="; "))
    return frame.with_columns((pl.col("provisional").fill_null(False) | cut).alias("provisional"), note.alias(NOTE))


def launch_change(data: Frames, filters: Filters, gate: Gate) -> dict:
    """The change in offences a month across the launch (divert metrics volume-change), gated:
    one row as a dict."""
    return gated_table(gate, lambda f: volume_change_table(data, f), data, filters, **GATES["volume-change"]).row(0, named=True)


def monthly(data: Frames, filters: Filters, gate: Gate) -> tuple[pl.DataFrame, str]:
    """Offences per month, gated, and the title: the average of the complete months shown."""
    frame = partial_edges(gated_table(gate, lambda f: volume_table(data, f), data, filters, **GATES["volume"]), filters)
    complete = frame.filter(~pl.col("provisional").fill_null(False)) if "provisional" in frame.columns else frame
    mean_month = complete["offences"].mean() if complete.height else None
    title = (f"About {mean_month:,.0f} possession offences recorded a month" if mean_month
             else "Recorded possession offences per month")
    return frame, title


def weekly_referrals(data: Frames, filters: Filters, gate: Gate) -> tuple[pl.DataFrame, str]:
    """Referrals per week with the week not over marked provisional, gated, and the title: the
    average of the last four complete weeks, when all four are shown."""
    weekly = partial_edges(gated_table(gate, lambda f: weekly_table(data, f), data, filters,
                                       **GATES["volume-weekly"]), filters, "1w")
    recent = weekly.filter(~pl.col("provisional").fill_null(False)).tail(4)["count"] if weekly.height else pl.Series([])
    title = (f"Referrals averaged {recent.mean():,.0f} a week over the last 4 complete weeks"
             if recent.len() == 4 and recent.null_count() == 0 else "Referrals per week")
    return weekly, title


def weekly_table(data: Frames, filters: Filters) -> pl.DataFrame:
    """Referrals per week (ISO weeks, Monday first), the week not over provisional: exact."""
    referrals = filters.apply(data.referrals, "referred_on")
    weekly = volume.per_period(referrals, "referred_on", "1w", start=filters.start, end=filters.end)
    weekly = volume.before_the_launch(weekly, "count", data.programme.launch, "1w")
    return with_provisional(weekly, filters.as_of_date, "1w")


def _area_label(data: Frames):
    """An area code's name: the programme's own name for it, else the census's."""
    names = data.programme.area_labels
    return lambda v: names.get(v) or census.area_label(v)


def _labels(data: Frames, by: str):
    return {"area": _area_label(data), "source": codes.REFERRAL_SOURCES.get, "drug": codes.DRUGS.get,
            "sex": codes.SEXES.get}.get(by)


def labeller(data: Frames, by: str):
    """How the page names a code of `by` (None: shown as it is)."""
    return _labels(data, by)


def breakdown(data: Frames, filters: Filters, gate: Gate, by: str) -> tuple[pl.DataFrame, str]:
    """Offences in the period by one characteristic (`by`, a key of BREAKDOWNS), codes named,
    gated, and the title: the largest group shown."""
    title = BREAKDOWNS[by]
    table = gated_table(gate, lambda f: breakdown_table(data, f, by), data, filters, **GATES["volume-breakdown"])
    top = table.drop_nulls("count").sort("count", descending=True).head(1)
    return table, (f"Most offences by {title.lower()}: {top[by][0]}" if top.height else f"Offences by {title.lower()}")


def breakdown_table(data: Frames, filters: Filters, by: str) -> pl.DataFrame:
    """Offences in the period by one characteristic, codes named, with shares: exact."""
    table = volume.breakdown(filters.apply(data.offences, "offence_date"), by)
    label_of = _labels(data, by)
    if label_of is not None:
        table = table.with_columns(each_value(table, by, lambda v: label_of(v) or v, pl.String))
    return table


def per_area_table(data: Frames, filters: Filters) -> pl.DataFrame:
    """Offences per month in each area, named ("Area not recorded" for none): exact."""
    areas = volume.per_period_by(filters.apply(data.offences, "offence_date"), "offence_date", "area")
    return areas.with_columns(each_value(areas, "area", _area_label(data), pl.String, nulls_too=True)
                              .fill_null("Area not recorded"))


def per_area(data: Frames, filters: Filters, gate: Gate) -> tuple[pl.DataFrame, list[str]]:
    """Offences per month in each area (named; "Area not recorded" for none), partial months
    marked provisional as on the chart of all areas, gated, and the programme's areas in name
    order."""
    areas = gated_table(gate, lambda f: per_area_table(data, f), data, filters, **GATES["volume-per-area"])
    return partial_edges(areas, filters), sorted(set(data.programme.area_labels.values()))
