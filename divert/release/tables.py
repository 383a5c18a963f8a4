"""The aggregate tables of the public release, built from the analytics functions (read only):
their cells (true counts), the sums that tie the cells together within and across tables, and
the rows each table is published as.

Every count cell has a key; a count published in two tables (referrals per area in the volume
table and at the first stage of the funnel) has one key, so it is rounded and suppressed alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from divert.analytics.dashboards import outcomes, pathway, volume
from divert.analytics.data.frames import Frames
from divert.core import codes
from divert.reference import census
from divert.release.protection import Cells

ALL = "All"
LONDON = ZoneInfo("Europe/London")
GROUPS = ("White", "Mixed", "Asian", "Black", "Other", "Not stated", "Missing")
PERIODS = {"Jul-Dec 2019": outcomes.BEFORE, "Jul-Dec 2021": outcomes.AFTER}  # the programme's reported comparison
MEASURES = {  # disparity: count, its denominator, and the rate's unit
    "possession_offence": ("Possession offences recorded", "population", "per 1,000 people per year"),
    "decided": ("Offences ending in a formal outcome or a diversion", None, None),
    "diverted": ("Diverted (Community Resolution) rather than a formal outcome", "decided", "% of decided"),
    "referred": ("Referred to the diversion provider", None, None),
    "engaged": ("Engaged (completed the assessment)", "referred", "% of referred"),
    "completed": ("Engaged and completed", "engaged", "% of engaged"),
    "intelligence_log": ("Did not engage (intelligence log)", "referred", "% of referred"),
}
NESTED = (("decided", "possession_offence"), ("diverted", "decided"), ("engaged", "referred"),
          ("completed", "engaged"), ("intelligence_log", "referred"))


@dataclass
class Window:
    as_of: date
    end: date  # the last day of the last month complete at as_of (and not after the data)
    months: list[date]
    launch: date
    data_end: date


@dataclass
class Table:
    """One published table: rows of dimension values and, per count column, the cell's key."""
    name: str
    title: str
    counts: list[str]
    rows: list[dict] = field(default_factory=list)
    extra: Callable | None = None  # (rows with published counts) -> extra columns, e.g. rates


def last_complete_month_end(as_of: date) -> date:
    """The end of the last month complete at `as_of` (today is never complete)."""
    from divert.analytics.calendar.maturity import last_complete_day

    day = last_complete_day(as_of)
    return day if (day + timedelta(days=1)).day == 1 else day.replace(day=1) - timedelta(days=1)


def known_at(frames: Frames, as_of: date) -> Frames:
    """What was known at the end of `as_of` (Frames.at)."""
    return frames if frames.as_of == as_of else frames.at(as_of)


def month_end(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def window(frames: Frames, as_of: date, launch: date) -> Window | None:
    """The months complete at `as_of`, from the first record's month to the last month with
    records (months after the data stop are not published as zeros)."""
    end = last_complete_month_end(as_of)
    days = [d for d in (frames.offences["offence_date"].min(), frames.offences["offence_date"].max(),
                        frames.referrals["referred_on"].min(), frames.referrals["referred_on"].max()) if d]
    if not days or min(days) > end:
        return None
    first, last = min(days).replace(day=1), min(end, max(days)).replace(day=1)
    months = pl.date_range(first, last, "1mo", eager=True).to_list()
    return Window(as_of, month_end(last), months, launch, max(days))


def within(frames: Frames, win: Window) -> Frames:
    """Only the records of the months covered."""
    from dataclasses import replace

    return replace(frames, offences=frames.offences.filter(pl.col("offence_date") <= win.end),
                   referrals=frames.referrals.filter(pl.col("referred_on") <= win.end))


def month_label(day: date) -> str:
    return f"{day:%Y-%m}"


# --- volume by month and area ---------------------------------------------------------------------
def volume_table(cells: Cells, frames: Frames, win: Window, areas: list[str]) -> Table:
    table = Table("volume_by_month_and_area", "Recorded possession offences and referrals by month and area",
                  ["offences", "referrals"])
    first, last = win.months[0], win.months[-1]
    labels = [month_label(m) for m in win.months]
    for measure, frame, column in (("offences", frames.offences, "offence_date"),
                                   ("referrals", frames.referrals, "referred_on")):
        for area in areas:
            monthly = volume.per_period(frame.filter(pl.col("area") == area), column, name="n", start=first, end=last)
            for day, n in monthly.iter_rows():
                cells.add(("volume", measure, month_label(day), area), n)
            cells.add(("volume", measure, ALL, area), sum(cells.values[("volume", measure, m, area)] for m in labels))
        for month in [*labels, ALL]:
            cells.add(("volume", measure, month, ALL), sum(cells.values[("volume", measure, month, a)] for a in areas))
            cells.add_sum(("volume", measure, month, ALL), [("volume", measure, month, a) for a in areas])
        for area in [*areas, ALL]:
            cells.add_sum(("volume", measure, ALL, area), [("volume", measure, m, area) for m in labels])
    for month in [*map(month_label, win.months), ALL]:
        for area in [*areas, ALL]:
            table.rows.append({"month": "All months" if month == ALL else month, "area_code": area,
                               "area": "All areas" if area == ALL else census.area_label(area),
                               "offences": ("volume", "offences", month, area),
                               "referrals": ("volume", "referrals", month, area)})
    return table


# --- the pathway funnel by area -------------------------------------------------------------------
def funnel_table(cells: Cells, frames: Frames, areas: list[str]) -> Table:
    """Referrals in the months covered, by how far they had gone at the as-of date. The first
    stage is the volume table's referrals per area (the same cells)."""
    table = Table("pathway_funnel_by_area", "How far referrals had gone along the pathway, by area", ["people"])
    counts = {}
    for area in [*areas, ALL]:
        refs = frames.referrals if area == ALL else frames.referrals.filter(pl.col("area") == area)
        counts[area] = dict(pathway.funnel(refs).select("stage", "people").iter_rows())

    def key(stage, area):
        return ("volume", "referrals", ALL, area) if stage == "referred" else ("funnel", stage, area)

    for stage in pathway.STAGES:
        for area in [*areas, ALL]:
            cells.add(key(stage, area), counts[area][stage])
        cells.add_sum(key(stage, ALL), [key(stage, a) for a in areas])
    for after, _, before, _ in pathway.FUNNEL:  # a stage never has more people than the one before it
        if before is None:
            continue
        if all(counts[a][after] <= counts[a][before] for a in counts):
            for area in counts:
                cells.add_order(key(after, area), key(before, area))
    for stage in pathway.STAGES:
        for area in [*areas, ALL]:
            table.rows.append({"stage": stage, "stage_label": pathway.STAGE_LABELS[stage], "area_code": area,
                               "area": "All areas" if area == ALL else census.area_label(area),
                               "people": key(stage, area)})
    table.extra = lambda published: _funnel_shares(table.rows, published)
    return table


def _funnel_shares(rows, published) -> dict[str, list]:
    shares = []
    for row in rows:
        people, referred = published[row["people"]], published[("volume", "referrals", ALL, row["area_code"])]
        shares.append(None if people is None or not referred else round(100 * people / referred, 1))
    return {"share_of_referred_pct": shares}


# --- outcomes by ethnic group ---------------------------------------------------------------------
def outcomes_table(cells: Cells, frames: Frames, win: Window) -> Table:
    """Possession offences by outcome and broad ethnic group in the programme's before/after
    half-years (those complete at the as-of date and covered by the data)."""
    table = Table("outcomes_by_ethnic_group", "Outcomes of possession offences by ethnic group, before and after",
                  ["offences"])
    outcome_names = [*outcomes.COMPARED, ALL]  # every outcome, pending included: they add up to the total
    spans = list(PERIODS.items())
    grouped = outcomes.before_after(frames.offences, before=spans[0][1], after=spans[1][1], by=("ethnic_group",))
    overall = outcomes.before_after(frames.offences, before=spans[0][1], after=spans[1][1])
    for (name, (start, end)), side in zip(spans, ("before", "after"), strict=True):
        if start < win.months[0] or end > win.end:  # not complete, or before the data
            continue
        for group in [*GROUPS, ALL]:
            rows = overall if group == ALL else grouped.filter(pl.col("ethnic_group") == group)
            found = {r["outcome"]: r for r in rows.iter_rows(named=True)}
            total = int(next(iter(found.values()))[f"offences_{side}"]) if found else 0
            compared = {o: int(found[o][f"count_{side}"]) if o in found else 0 for o in outcomes.COMPARED}
            values = {**compared, ALL: total}
            for outcome in outcome_names:
                cells.add(("outcomes", name, group, outcome), values[outcome])
            cells.add_sum(("outcomes", name, group, ALL), [("outcomes", name, group, o) for o in outcome_names[:-1]])
        for outcome in outcome_names:
            cells.add_sum(("outcomes", name, ALL, outcome), [("outcomes", name, g, outcome) for g in GROUPS])
        months = [m for m in win.months if start <= m <= end]
        cells.add_sum(("outcomes", name, ALL, ALL), [("volume", "offences", month_label(m), ALL) for m in months])
        for group in GROUPS:
            for outcome in outcome_names:
                table.rows.append({"period": name, "period_start": start, "period_end": end, "ethnic_group": group,
                                   "outcome": outcome if outcome != ALL else "All outcomes",
                                   "offences": ("outcomes", name, group, outcome)})
        for outcome in outcome_names:
            table.rows.append({"period": name, "period_start": start, "period_end": end, "ethnic_group": "All groups",
                               "outcome": outcome if outcome != ALL else "All outcomes",
                               "offences": ("outcomes", name, ALL, outcome)})
    table.extra = lambda published: _outcome_shares(table.rows, published)
    return table


def _outcome_shares(rows, published) -> dict[str, list]:
    shares = []
    for row in rows:
        key = row["offences"]
        count, total = published[key], published[(*key[:3], ALL)]
        shares.append(None if count is None or not total else round(100 * count / total, 1))
    return {"share_of_group_pct": shares}


# --- disparity by ethnic group --------------------------------------------------------------------
def pathway_events(offences: pl.DataFrame, referrals: pl.DataFrame, *, start: date, end: date,
                   diversion_outcome: int) -> pl.DataFrame:
    """For each broad group, the counts the release's disparity table publishes (MEASURES): offences
    from `start` to `end`, those ending in a formal outcome or the programme's diversion outcome,
    and the referrals with how far they went."""
    offs = offences.filter(pl.col("offence_date").is_between(start, end))
    refs = referrals.filter(pl.col("referred_on").is_between(start, end))
    group = pl.col("ethnic_group").alias("group")
    decided = offs.filter(pl.col("outcome").is_in([*codes.FORMAL_OUTCOMES, diversion_outcome]))
    engaged = (pl.col("assessment_result") == "completed").fill_null(False)
    return offs.group_by(group).agg(pl.len().alias("possession_offence")).join(
        decided.group_by(group).agg(pl.len().alias("decided"),
                                    (pl.col("outcome") == diversion_outcome).sum().alias("diverted")),
        on="group", how="full", coalesce=True,
    ).join(
        refs.group_by(group).agg(
            pl.len().alias("referred"), engaged.sum().alias("engaged"),
            (engaged & (pl.col("closure_result") == "complied").fill_null(False)).sum().alias("completed"),
            (pl.col("closure_result") == "not_engaged").fill_null(False).sum().alias("intelligence_log")),
        on="group", how="full", coalesce=True,
    ).fill_null(0)


def disparity_cells(cells: Cells, frames: Frames, win: Window) -> None:
    """Counts at each decision point by broad group, from the launch to the end of the window."""
    if win.launch > win.end:
        return
    events = pathway_events(frames.offences, frames.referrals, start=win.launch, end=win.end,
                            diversion_outcome=frames.programme.diversion_outcome)
    by_group = {row["group"]: row for row in events.iter_rows(named=True)}
    for measure in MEASURES:
        for group in GROUPS:
            cells.add(("disparity", measure, group), int(by_group.get(group, {}).get(measure) or 0))
        cells.add(("disparity", measure, ALL), sum(cells.values[("disparity", measure, g)] for g in GROUPS))
        cells.add_sum(("disparity", measure, ALL), [("disparity", measure, g) for g in GROUPS])
    for small, large in NESTED:
        if all(cells.values[("disparity", small, g)] <= cells.values[("disparity", large, g)] for g in (*GROUPS, ALL)):
            for group in (*GROUPS, ALL):
                cells.add_order(("disparity", small, group), ("disparity", large, group))
    if win.launch.day == 1:  # the window is whole months of the volume table
        months = [month_label(m) for m in win.months if m >= win.launch]
        for measure, volume_measure in (("possession_offence", "offences"), ("referred", "referrals")):
            cells.add_sum(("disparity", measure, ALL), [("volume", volume_measure, m, ALL) for m in months])
    refs = frames.referrals
    if refs.filter(pl.col("referred_on") < win.launch).is_empty():  # the funnel counts the same referrals
        cells.add_sum(("disparity", "engaged", ALL), [("funnel", "engaged", ALL)])
    for name, (start, _) in PERIODS.items():
        if start >= win.launch and ("outcomes", name, ALL, ALL) in cells.values:
            for group in (*GROUPS, ALL):
                cells.add_order(("outcomes", name, group, ALL), ("disparity", "possession_offence", group))
                cells.add_order(("outcomes", name, group, "Community Resolution"), ("disparity", "diverted", group))
