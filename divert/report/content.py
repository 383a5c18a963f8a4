"""The board pack's content, made by the same functions the dashboard pages use and passed
through the disclosure gate for the role: the Overview's headlines, the Volume, Pathway and
Disparity tables and charts, value for money, capacity and forecast (service managers), and the method notes."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import polars as pl

from divert.analytics.dashboards.overview import Headline, gated_headlines, periods
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.loading import load_frames
from divert.analytics.data.partition import gated_table
from divert.analytics.equity import disparity
from divert.analytics.metrics import GATES, METRICS
from divert.charts import build
from divert.core import clock, wording
from divert.core.disclosure import SUPPRESSED, Gate, too_narrow
from divert.records import stored_settings
from divert.reference import programme
from divert.report import figures, methods, planning, value
from divert.report.blocks import (
    MISSING,
    BoardPack,
    Progress,
    ReportError,
    Section,
    Table,
    Text,
    cell,
    count,
    hidden,
    interval,
    number,
    ratio,
    share,
    source,
)
from divert.storage.db import data_version

ROLES = ("viewer", "manager", "admin")
MONTHS_IN_ONE_TABLE = 24


def month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def last_month_end(day: date) -> date:
    return day if month_end(day) else day.replace(day=1) - timedelta(days=1)


def check_request(role: str, start: date, end: date, as_of: date, today: date | None = None) -> list[str]:
    """Why a pack cannot be made for this role, period and as-of date (empty: it can)."""
    today = today or clock.today()
    problems = []
    if role not in ROLES:
        problems.append(f"The board pack is made for the viewer, manager or admin role, not '{role}'.")
    if start > end:
        problems.append(f"The period starts ({wording.day(start)}) after it ends ({wording.day(end)}).")
    if as_of > today:
        problems.append(f"The as-of date ({wording.day(as_of)}) is after today.")
    if end > as_of:
        problems.append(f"The period ends ({wording.day(end)}) after the as-of date ({wording.day(as_of)}): figures are "
                        "measured as things stood on the as-of date, so the period must end by then.")
    if role == "viewer":
        if not month_end(as_of):
            problems.append(f"For the viewer role (the published pack) the as-of date must be a month end, as on the "
                            f"viewer's pages: {wording.day(as_of)} is not (the one before is "
                            f"{wording.day(last_month_end(as_of))}).")
        if start.day != 1 or not month_end(end):
            problems.append("For the viewer role the period must be whole months: from the first day of a month to "
                            "the last day of a month.")
    return problems


def build_pack(engine, *, start: date, end: date, as_of: date, role: str = "viewer", progress: Progress | None = None,
               generated_at: datetime | None = None) -> BoardPack:
    """The board pack for the period, measured as of `as_of`, as `role` may see it. Raises
    ReportError when the request is not acceptable or the period has no records."""
    step = progress or (lambda text, fraction: None)
    problems = check_request(role, start, end, as_of)
    if problems:
        raise ReportError(" ".join(problems))
    step("Loading the records", 0.05)
    settings = stored_settings.load(engine)
    gate = Gate(role, settings.small_number_threshold)
    version = data_version(engine)
    frames = load_frames(engine).at(as_of)
    filters = Filters(start=start, end=end, as_of=as_of)
    if not (filters.apply(frames.offences, "offence_date").height or filters.apply(frames.referrals, "referred_on").height):
        raise ReportError(f"No offences or referrals are recorded from {wording.day(start)} to {wording.day(end)} (as of "
                          f"{wording.day(as_of)}): there is nothing to report for this period.")
    if not gate.exact:
        reason = too_narrow(frames, filters, gate.threshold)  # as on the viewer's pages
        if reason:
            raise ReportError(reason)
    _, previous = periods(filters)
    pack = BoardPack(force_name=frames.programme.force_name, role=role, start=start, end=end, previous=previous,
                     as_of=as_of, data_version=version,
                     generated_at=generated_at or datetime.now(programme.TIME_ZONE), coverage=coverage(frames),
                     threshold=gate.threshold, rounding=gate.base, exact=gate.exact)
    step("Headline figures", 0.15)
    pack.sections.append(headline_section(pack, frames, filters, gate, frames.programme.officer_hours_per_referral))
    step("Volume", 0.25)
    pack.sections.append(volume_section(frames, filters, gate))
    step("Pathway", 0.35)
    pack.sections.append(pathway_section(frames, filters, gate))
    pack.sections.append(value.section(frames, filters, gate))
    step("Disparity", 0.5)
    pack.sections.append(disparity_section(frames, filters, gate))
    pack.sections.append(stop_search_section(frames, filters, gate))
    step("Capacity and forecast", 0.65)
    pack.sections.append(sources_in_words(planning.section(frames, filters, gate, settings), frames))
    step("Method notes", 0.8)
    pack.sections.append(methods.section(pack))
    return pack


def coverage(frames: Frames) -> str:
    """How far each source's records go, as the pages say under their title."""
    up_to = frames.data_up_to()
    sources = {"offences": "offences", "referrals": "referrals", "stop_search": "stop and search"}
    parts = [f"{label} up to {wording.day(up_to[key])}" for key, label in sources.items() if up_to.get(key)]
    text = ("Records of " + ", ".join(parts)) if parts else "No records yet"
    if frames.last_import:
        text += f" (last import {wording.day(frames.last_import)})"
    return text + "."


SOURCES = {  # each `divert metrics` table: the records it is counted from
    "overview": ("referrals",), "volume": ("offences", "referrals"), "pathway": ("referrals",),
    "disparity": ("offences", "referrals"), "value": ("referrals",), "capacity": ("referrals",),
    "forecast": ("referrals",),
}


def sources_in_words(section: Section, frames: Frames) -> Section:
    """A section's "Source: divert metrics NAME ..." notes (the planning tables') as sentences."""
    def sentence(match: re.Match) -> str:
        name = match.group(1)
        return " " + source(frames, *SOURCES.get(name, ("referrals",)),
                            verb="Forecast from" if name == "forecast" else "Counted from")

    for block in section.blocks:
        if hasattr(block, "caption"):
            block.caption = re.sub(r"\s*Source: divert metrics (\w[\w-]*)[^.]*\.", sentence, block.caption)
    return section


# --- headlines (the Overview) ------------------------------------------------------------------
def shown(value, unit: str) -> str:
    """A headline value as the Overview page prints it."""
    return {"count": f"{value:,.0f}", "share": f"{value:.0%}", "days": f"{value:,.1f} days", "hours": f"{value:,.0f} h",
            "pct": f"{value:+.0f}%", "ratio": f"{value:.2f}x"}[unit]


def change(h: Headline) -> str:
    """The change from the previous period as the Overview page prints it."""
    d = h.delta
    return {"count": f"{d:+,.0f}", "share": f"{d * 100:+.1f} points", "days": f"{d:+.1f} days", "hours": f"{d:+,.0f} h",
            "pct": f"{d:+.0f} points", "ratio": f"{d:+.2f}"}[h.unit]


def headline_cells(h: Headline, gate: Gate) -> list[str]:
    def one(value, bases):
        if value is not None and h.unit == "ratio" and not gate.exact:  # rounded for publication, as on the page
            return f"about {value:g}x"
        if value is not None:
            return shown(value, h.unit)
        return SUPPRESSED if bases and bases[0] and not gate.safe(*bases) else MISSING  # none at all: nothing hidden

    now, before = one(h.value, h.bases), one(h.previous, h.previous_bases)
    moved = change(h) if h.delta is not None else (SUPPRESSED if SUPPRESSED in (now, before) else MISSING)
    return [h.label, now, before, moved]


def headline_section(pack: BoardPack, frames: Frames, filters: Filters, gate: Gate, hours: float) -> Section:
    rows = gated_headlines(frames, filters, gate, hours)
    pack.headlines = rows
    (was_start, was_end) = pack.previous
    table = Table(
        "overview", "This period against the one before",
        f"This period: {pack.period_text}. Compared with {wording.day(was_start)} to {wording.day(was_end)}, the period of "
        "the same length before it. Shares and waits count only referrals old enough for the step to have happened. "
        f"As on the Overview page. {source(frames, 'referrals')}",
        ["Measure", "This period", "Previous period", "Change"], [headline_cells(h, gate) for h in rows],
        numeric=(1, 2, 3), widths=(46, 18, 18, 18),
        count_cells=tuple((i, c) for i, h in enumerate(rows) if h.unit == "count" for c in (1, 2)))
    section = Section("overview", "Headline figures", [table])
    for h in rows:
        if h.key == "disparity" and (h.value is not None or not h.bases):
            section.blocks.append(Text(f"{h.label}: {h.help}"))
    return section


def headline_counts(pack: BoardPack) -> list[float]:
    """The counts among the headlines as printed (referrals, onward referrals): for checks."""
    return [v for h in pack.headlines if h.unit == "count" for v in (h.value, h.previous) if v is not None]


# --- volume --------------------------------------------------------------------------------------
def volume_section(frames: Frames, filters: Filters, gate: Gate) -> Section:
    monthly = gated_table(gate, lambda f: METRICS["volume"](frames, f), frames, filters, **GATES["volume"])
    launch = frames.programme.launch
    section = Section("volume", "Volume")
    if monthly.is_empty():
        section.blocks.append(Text("Nothing recorded in the period."))
        return section
    section.blocks.append(figures.render(
        build.line(monthly, "period", "offences", y_title="Offences",
                    policy=launch if filters.start is None or filters.start <= launch else None),
        "offences_per_month", "Recorded possession offences per month",
        f"Every possession offence the force recorded in the period, by month, with the start of diversion marked "
        f"({frames.programme.launch_label}). A month not over at the as-of date is hollow (provisional)."))
    parts = ([("volume", "", monthly)] if monthly.height <= MONTHS_IN_ONE_TABLE else
             [(f"volume_{year}", f", {year}", part) for (year,), part in
              monthly.group_by(pl.col("period").dt.year(), maintain_order=True)])
    for key, suffix, part in parts:
        rows = [[f"{r['period']:%b %Y}" + (" (provisional)" if r["provisional"] else ""),
                 cell(r, "offences", count), cell(r, "referrals", count)] for r in part.iter_rows(named=True)]
        section.blocks.append(Table(
            key, f"Offences and referrals per month{suffix}",
            "Recorded possession offences and referrals to the provider in each month of the period. "
            + source(frames, "offences", "referrals"), ["Month", "Offences", "Referrals"], rows, counts=(1, 2), numeric=(1, 2),
            widths=(50, 25, 25), frame=part))
    return section


# --- pathway -------------------------------------------------------------------------------------
def pathway_section(frames: Frames, filters: Filters, gate: Gate) -> Section:
    funnel = gated_table(gate, lambda f: METRICS["pathway"](frames, f), frames, filters, **GATES["pathway"])
    section = Section("pathway", "Pathway")
    if funnel.is_empty() or not (funnel["people"].fill_null(0) > 0).any():
        section.blocks.append(Text("No referrals in the period are at least 90 days old (or too few to show without "
                                   "identifying anyone), so the pathway is not shown."))
        return section
    title = "From referral to closure"
    caption = ("How many referred people reached each step, for referrals in the period at least 90 days old (each "
               "has had time to finish). After the assessment people go to the group course or to one-to-one work "
               "or treatment. 'Closed - complied' means the Community Resolution stands; 'not engaged' ends with an "
               "intelligence log and no second offer.")
    section.blocks.append(figures.render(
        build.bars(funnel, "label", "people", y_title="People", x_title="Step", horizontal=True, sort=None,
                    color="branch", color_title="Branch", domain=list(dict.fromkeys(funnel["branch"].to_list()))),
        "pathway_funnel", title, caption, width=380))
    rows = [[r["label"], r["branch"], cell(r, "people", count), cell(r, "share_of_referred", share),
             interval(r, "share_of_referred_low", "share_of_referred_high", share, "share_of_referred"),
             cell(r, "share_of_previous", share),
             interval(r, "share_of_previous_low", "share_of_previous_high", share, "share_of_previous")]
            for r in funnel.iter_rows(named=True)]
    section.blocks.append(Table(
        "pathway", "People at each step", "Referrals at least 90 days old, one cohort for every step, so the engaged "
        "share here can differ from the headline 'engaged (referrals at least 28 days old)'. With 95% intervals "
        "(Wilson) for the shares. " + source(frames, "referrals"),
        ["Step", "Branch", "People", "Share of referrals", "95% interval", "Share of the step before", "95% interval"],
        rows, counts=(2,), numeric=(2, 3, 4, 5, 6), widths=(25, 14, 8, 9, 16, 10, 16), frame=funnel))
    return section


# --- disparity -----------------------------------------------------------------------------------
def disparity_section(frames: Frames, filters: Filters, gate: Gate) -> Section:
    section = Section("disparity", "Disparity at each decision point")
    as_of = filters.as_of_date
    full, problem = disparity.disparity_table(frames, "pathway", start=filters.start, end=filters.end, as_of=as_of)
    if problem:
        section.blocks.append(Text(f"Decision points: {problem}."))
    else:
        note = disparity.denominator_note(full)
        full = gate.table(full, **GATES["disparity:pathway"])
        stage_order = [label for _, label, _, _ in disparity.STAGES]
        section.blocks.append(figures.render(
            build.matrix(full.filter(~pl.col("group").is_in(disparity.UNCOUNTED) & pl.col("rri").is_not_null()),
                          "stage_label", "group", "rri", label="Relative rate", row_sort=stage_order),
            "pathway_rri", "Relative rate index at each decision point",
            f"A chain of events after the launch ({frames.programme.launch_label}): each cell is the group's rate at "
            "that step, with the step before as the denominator, divided by the White rate. Orange above 1, blue "
            "below; White is 1 by definition. A blank cell has no ratio or too few people to show. Steps that need "
            "follow-up time count only referrals old enough for it. First step's denominator: "
            f"{(note or '').removeprefix('person-years: ')}.", width=330))
        for stage, label, _, _ in disparity.STAGES:
            part = full.filter(pl.col("stage") == stage)
            if part.is_empty():
                continue
            section.blocks.append(_stage_table(stage, label, part, frames))
    return section


def stop_search_section(frames: Frames, filters: Filters, gate: Gate) -> Section:
    section = Section("stop_search", "Stop and search")
    as_of = filters.as_of_date
    search_forces = set(frames.stop_search["force"].drop_nulls().to_list()) if frames.stop_search.height else set()
    if frames.programme.force not in search_forces:
        section.blocks.append(Text("No stop-and-search records are imported for the force, so search rates are not "
                                   "shown."))
        return section
    table, problem = disparity.disparity_table(frames, "stop-search", start=filters.start, end=filters.end, as_of=as_of)
    if problem:
        section.blocks.append(Text(f"Stop and search: {problem}."))
        return section
    note = disparity.denominator_note(table)
    table = gate.table(table, **GATES["disparity:stop-search"])
    period_end = min(filters.end or as_of, as_of)
    window = disparity.search_window(frames.stop_search, force=frames.programme.force, as_of=as_of,
                                     start=filters.start, end=filters.end)
    if window is not None and window.gaps:  # police.uk publishes about two months late
        section.blocks.append(Text(f"{window.gaps[0].upper()}{window.gaps[1:]}.", "warning"))
    ratios = table.filter(pl.col("ratio_vs_white").is_not_null() & pl.col("ci_low").is_not_null())
    if ratios.height:
        section.blocks.append(figures.render(
            build.forest(ratios, "group", "ratio_vs_white", "ci_low", "ci_high", x_title="Ratio to White (log scale)"),
            "stop_search_ratios", "How many times as likely to be searched as White people",
            "People searched per 1,000 residents a year of each group divided by the White rate, with 95% intervals "
            "(log scale; the dashed line at 1 means no difference). Vehicle-only searches are excluded. An interval "
            f"that crosses 1 is not significant. Denominator: {note}.", width=480))
    rows = [[r["group"], cell(r, "searches", count), cell(r, "rate_per_1000_a_year", number),
             cell(r, "ratio_vs_white", ratio), interval(r, "ci_low", "ci_high", ratio),
             cell(r, "share_of_events", share)] for r in table.iter_rows(named=True)]
    section.blocks.append(Table(
        "disparity_stop_search", "Stop and search by ethnic group (self-defined)",
        f"{frames.programme.force_name}, {wording.day(filters.start)} to {wording.day(period_end)}. 'Not stated' and "
        "missing ethnicity are their own rows, with no rate. " + source(frames, "stop_search"),
        ["Group", "People searched", "Per 1,000 a year", "Ratio to White", "95% interval", "Share of searches"],
        rows, counts=(1,), numeric=(1, 2, 3, 4, 5), widths=(20, 16, 16, 14, 18, 16), frame=table))
    return section


def _stage_table(stage: str, label: str, part: pl.DataFrame, frames: Frames) -> Table:
    per_person = part["rate_unit"][0] == "share"
    rows = []
    for r in part.iter_rows(named=True):
        group = r["group"] + (" (under 1% of residents)" if r.get("small_group") else "")
        rates = [cell(r, "rate", share if per_person else number), cell(r, "rri", ratio),
                 interval(r, "ci_low", "ci_high", ratio)]
        if (r["denominator"] is None and not hidden(r, "denominator")) or r["group"] in disparity.UNCOUNTED:
            # no population (not stated, missing): no rate or ratio at all, rather than a hidden one
            rates = [f if r[c] is not None else MISSING for f, c in zip(rates, ("rate", "rri", "ci_low"), strict=True)]
        rows.append([group, cell(r, "events", count), cell(r, "denominator", count), *rates])
    basis = part["denominator_basis"][0] or ""
    return Table(f"disparity_{stage}", f"Decision point: {label}",
                 f"Out of: {basis.removeprefix('person-years: ')}. {source(frames, 'offences', 'referrals')}",
                 ["Group", "Events", "Denominator", "Rate" if per_person else "Per 1,000 a year", "Relative rate",
                  "95% interval"], rows, counts=(1, 2), numeric=(1, 2, 3, 4, 5), widths=(26, 13, 15, 15, 13, 18),
                 frame=part)
