"""The published table builders: each makes one table of a view as the page (or the board pack,
the CSV download, `divert metrics`) makes it, with the same analytics function and the same gate
specification, and tells the surface which records each of its counts counts.

A new table a role can receive joins the audit by adding a builder here (`@published`). The
surface checks every count against the page's own exact table, so a builder whose definition
drifts from the page's stops the audit with the figure that disagrees.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from divert.analytics.calendar.maturity import cut_off, mature
from divert.analytics.dashboards import outcomes, overview, pathway, reoffending
from divert.analytics.data.partition import gated_table
from divert.analytics.metrics import GATES, METRICS
from divert.core.disclosure import Gate
from divert.intruder.surface import INDEX, Surface, View
from divert.readmodels import pathway_view, volume_view

Builder = Callable[[View, Surface], None]
BUILDERS: dict[str, tuple[Builder, bool]] = {}  # name -> (builder, whether it depends on the period)
EXACT = Gate("admin")


def published(name: str, period: bool = True):
    """Register a builder: `period=False` for a table the period does not change (built once
    per as-of date and filter)."""
    def register(builder: Builder) -> Builder:
        BUILDERS[name] = (builder, period)
        return builder
    return register


def _month(column: str) -> pl.Expr:
    day = pl.col(column)
    return day.dt.truncate("1mo").alias("period")


def _refs(view: View, surface: Surface) -> pl.DataFrame:
    return surface.records("referrals", view.filters.apply(view.frames.referrals, "referred_on"))


def _offs(view: View, surface: Surface) -> pl.DataFrame:
    return surface.records("offences", view.filters.apply(view.frames.offences, "offence_date"))


def _metric(view: View, name: str, gate_name: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    return _gated(view, lambda f: METRICS[name](view.frames, f), gate_name or name)


def _gated(view: View, make, gate_name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the table as the page shows it, the exact table): the page's own table function and
    gate specification, gated with the other values of a filter chosen as the page gates it."""
    shown = gated_table(view.gate, make, view.frames, view.filters, **GATES[gate_name])
    return shown, gated_table(EXACT, make, view.frames, view.filters, **GATES[gate_name])


def _share(surface: Surface, view: View, gate_name: str, column: str, *args) -> None:
    """A derived figure of a table: a share the gate works out from the rounded counts, or a
    ratio that tells what it says."""
    if column in GATES[gate_name].get("shares", []):
        surface.share(*args, view.gate)
    else:
        surface.ratio(*args)


# --- Volume ---------------------------------------------------------------------------------------
@published("volume")
def volume_monthly(view: View, surface: Surface) -> None:
    """Volume page, board pack, `metrics volume`: offences and referrals per month of the period."""
    shown, exact = _metric(view, "volume")
    offs = _offs(view, surface).select(INDEX, _month("offence_date"))
    refs = _refs(view, surface).select(INDEX, _month("referred_on"))
    surface.counts("volume", view.where, shown, exact, ["period"], {"offences": offs, "referrals": refs}, view.gate)


@published("volume-weekly")
def volume_weekly(view: View, surface: Surface) -> None:
    """Volume page: referrals per week (ISO weeks, Monday first)."""
    refs = view.filters.apply(view.frames.referrals, "referred_on")
    shown, weekly = _gated(view, lambda f: volume_view.weekly_table(view.frames, f), "volume-weekly")
    counted = surface.records("referrals", refs).select(INDEX, pl.col("referred_on").dt.truncate("1w").alias("period"))
    surface.counts("volume: referrals per week", view.where, shown, weekly, ["period"], {"count": counted}, view.gate)


BREAKDOWNS = ("area", "source", "drug", "age_band", "sex", "ethnic_group")


@published("volume-breakdown")
def volume_breakdown(view: View, surface: Surface) -> None:
    """Volume page: offences in the period by each characteristic, with shares."""
    offences = view.filters.apply(view.frames.offences, "offence_date")
    records = surface.records("offences", offences)
    total = None
    for by in BREAKDOWNS:
        shown, exact = _gated(view, lambda f, by=by: volume_view.breakdown_table(view.frames, f, by), "volume-breakdown")
        label = volume_view.labeller(view.frames, by)
        counted = records.select(INDEX, pl.col(by).cast(pl.String))
        counted = counted.with_columns(pl.col(by).replace_strict(_labels(counted[by], label), default=None)
                                       .fill_null("Missing"))
        table = f"volume: offences by {by.replace('_', ' ')}"
        cells = surface.counts(table, view.where, shown, exact, [by], {"count": counted}, view.gate)
        if total is None:  # the shares' denominator: every offence of the view (not itself published)
            total = surface.add(_unpublished(table, view.where, "all offences"), records[INDEX].to_numpy())
        for (value, share), people in zip(shown.select(by, "share").rows(), exact["count"], strict=True):
            _share(surface, view, "volume-breakdown", "share", table, view.where, f"{by} {value}: share",
                   cells[(value, "count")], total, share, people)


def _labels(values: pl.Series, label) -> dict:
    """Each code as the page names it."""
    return {v: (label(v) or v) if label else v for v in values.drop_nulls().unique().to_list()}


@published("volume-per-area")
def volume_per_area(view: View, surface: Surface) -> None:
    """Volume page: offences per month in each area."""
    offences = view.filters.apply(view.frames.offences, "offence_date")
    shown, exact = _gated(view, lambda f: volume_view.per_area_table(view.frames, f), "volume-per-area")
    counted = surface.records("offences", offences).select(INDEX, _month("offence_date"), pl.col("area").cast(pl.String))
    names = _labels(counted["area"], volume_view.labeller(view.frames, "area"))
    counted = counted.with_columns(pl.col("area").replace_strict(names, default=None).fill_null("Area not recorded"))
    surface.counts("volume: offences per month by area", view.where, shown, exact, ["period", "area"],
                   {"count": counted}, view.gate)


# --- Pathway --------------------------------------------------------------------------------------
@published("pathway")
def pathway_funnel(view: View, surface: Surface) -> None:
    """Pathway page, board pack, `metrics pathway`: people at each stage (referrals old enough to
    have finished), with their shares of all referrals and of the stage before."""
    shown, exact = _metric(view, "pathway")
    refs = _refs(view, surface).filter(mature("referred_on", "completed", view.filters.as_of_date))
    flags = pathway.stage_flags(refs)
    counted = pl.concat([flags.filter(pl.col(stage)).select(INDEX, pl.lit(stage).alias("stage"))
                         for stage in pathway.STAGES])
    cells = surface.counts("pathway", view.where, shown, exact, ["stage"], {"people": counted}, view.gate)
    if not cells:
        return
    before = {stage: previous or "referred" for stage, _, previous, _ in pathway.FUNNEL}
    for row, people in zip(shown.iter_rows(named=True), exact["people"], strict=True):
        stage = row["stage"]
        _share(surface, view, "pathway", "share_of_referred", "pathway", view.where, f"stage {stage}: share of referred",
               cells[(stage, "people")], cells[("referred", "people")], row["share_of_referred"], people)
        _share(surface, view, "pathway", "share_of_previous", "pathway", view.where, f"stage {stage}: share of previous",
               cells[(stage, "people")], cells[(before[stage], "people")], row["share_of_previous"], people)


@published("waits")
def pathway_waits(view: View, surface: Surface) -> None:
    """Pathway page, `metrics waits`: how many people each month's waits are based on (the
    medians and percentiles themselves are not modelled)."""
    shown, exact = _metric(view, "waits")
    refs = _refs(view, surface)
    days = refs.select(INDEX, pl.col("referred_at").dt.date().dt.truncate("1mo").alias("period"),
                       pl.col("assessed_at").is_not_null().alias("to_assessment"),
                       (pl.col("first_session_at") - pl.col("assessed_at")).is_not_null().alias("to_course"))
    counted = pl.concat([days.filter(pl.col(m)).select(INDEX, "period", pl.lit(m).alias("measure"))
                         for m in ("to_assessment", "to_course")])
    surface.counts("waits", view.where, shown, exact, ["period", "measure"], {"people": counted}, view.gate)
    surface.skipped["waits: median and 90th percentile days"] = "order statistics, not sums of records"


@published("intelligence-logs")
def intelligence_logs(view: View, surface: Surface) -> None:
    """Pathway page: referrals of the period closed as not engaged, per month of the log."""
    refs = view.filters.apply(view.frames.referrals, "referred_on")
    shown, exact = _gated(view, lambda f: pathway_view.logs_table(view.frames, f), "intelligence-logs")
    counted = surface.records("referrals", refs).filter(pl.col("intelligence_log_date").is_not_null()).select(
        INDEX, pl.col("intelligence_log_date").dt.truncate("1mo").alias("period"))
    surface.counts("pathway: intelligence logs per month", view.where, shown, exact, ["period"],
                   {"intelligence_logs": counted}, view.gate)


@published("repeats")
def repeats(view: View, surface: Surface) -> None:
    """Pathway page: each month's referrals and how many were repeat diversions, with the share."""
    refs = view.filters.apply(view.frames.referrals, "referred_on")
    shown, exact = _gated(view, lambda f: pathway_view.repeats_table(view.frames, f), "repeats")
    records = surface.records("referrals", refs).select(
        INDEX, pl.col("referred_at").dt.date().dt.truncate("1mo").alias("period"), pl.col("repeat").fill_null(False))
    table = "pathway: repeat diversions per month"
    cells = surface.counts(table, view.where, shown, exact, ["period"],
                           {"referrals": records, "repeats": records.filter(pl.col("repeat"))}, view.gate)
    for row, people in zip(shown.iter_rows(named=True), exact["referrals"], strict=True):
        _share(surface, view, "repeats", "repeat_share", table, view.where, f"{row['period']}: repeat share",
               cells[(row["period"], "repeats")], cells[(row["period"], "referrals")], row["repeat_share"], people)


# --- Outcomes -------------------------------------------------------------------------------------
@published("outcomes", period=False)
def outcomes_before_after(view: View, surface: Surface) -> None:
    """Outcomes page (every split), `metrics outcomes`: every outcome's count and share in the
    programme's two comparison half-years, overall, by ethnic group, by sex and by both."""
    shown, exact = _metric(view, "outcomes")
    before, after = outcomes.comparison_periods(view.frames.programme.launch)
    offs = outcomes.with_outcome_group(surface.records(
        "offences", view.filters.without_period().apply(view.frames.offences, "offence_date")))
    keys = ["ethnic_group", "sex", "outcome"]
    counted = {}
    for side, (start, end) in (("before", before), ("after", after)):
        part = offs.filter(pl.col("offence_date").is_between(start, end))
        rows = pl.concat([part.select(INDEX, *(pl.col(c).cast(pl.String) if c in by else pl.lit(outcomes.ALL).alias(c)
                                               for c in ("ethnic_group", "sex")), "outcome_group")
                          for by in outcomes.LEVELS])  # the cross-table with its margins
        counted[f"count_{side}"] = rows.select(INDEX, "ethnic_group", "sex", pl.col("outcome_group").alias("outcome"))
        counted[f"offences_{side}"] = pl.concat([rows.select(INDEX, "ethnic_group", "sex", pl.lit(o).alias("outcome"))
                                                 for o in outcomes.COMPARED])
    cells = surface.counts("outcomes", view.where, shown, exact, keys, counted, view.gate)
    for row, exact_row in zip(shown.iter_rows(named=True), exact.iter_rows(named=True), strict=True):
        key = tuple(row[k] for k in keys)
        for side in ("before", "after"):
            _share(surface, view, "outcomes", f"share_{side}", "outcomes", view.where, f"{', '.join(key)}: share {side}",
                   cells[(*key, f"count_{side}")], cells[(*key, f"offences_{side}")], row[f"share_{side}"],
                   exact_row[f"offences_{side}"])


# --- Reoffending ----------------------------------------------------------------------------------
@published("reoffending")
def reoffending_rates(view: View, surface: Surface) -> None:
    """Reoffending page, `metrics reoffending`: referrals with the whole 6- or 12-month window
    before the as-of date, and those re-detected within it, by status, with the rate."""
    shown, exact = _metric(view, "reoffending")
    refs = view.filters.apply(view.frames.referrals, "referred_on")
    offences = view.frames.offences
    if view.known is not None:  # a referral that could exist is re-detected by its person's real offences
        offences = pl.concat([view.known.offences, offences], how="vertical_relaxed")
    frame = surface.records("referrals", reoffending.with_next_offence(refs, offences))
    eligible, events = [], []
    for window in (6, 12):
        days = window * reoffending.DAYS_PER_MONTH
        part = frame.filter((pl.lit(view.filters.as_of_date) - pl.col("referred_on")).dt.total_days() >= days)
        part = part.select(INDEX, "status", pl.lit(window, pl.Int32).alias("months"),
                           (pl.col("days_to_next") <= days).fill_null(False).alias("again"))
        eligible.append(part)
        events.append(part.filter(pl.col("again")))
    cells = surface.counts("reoffending", view.where, shown, exact, ["status", "months"],
                           {"referrals": pl.concat(eligible), "reoffended": pl.concat(events)}, view.gate)
    for row, people in zip(shown.iter_rows(named=True), exact["referrals"], strict=True):
        key = (row["status"], row["months"])
        _share(surface, view, "reoffending", "rate", "reoffending", view.where, f"{key[0]}, {key[1]} months: rate",
               cells[(*key, "reoffended")], cells[(*key, "referrals")], row["rate"], people)


# --- Overview -------------------------------------------------------------------------------------
@published("overview")
def overview_cards(view: View, surface: Surface) -> None:
    """Overview page, wall view, board pack headlines, `metrics overview`: the referral and
    onward-treatment counts of the period and the period before with their monthly trends, and
    the engaged and complied shares with theirs (people and events a month)."""
    frames, filters, gate = view.frames, view.filters, view.gate
    hours = frames.programme.officer_hours_per_referral
    found = {h.key: h for h in overview.headlines(frames, filters, hours)}
    now, before = overview.periods(filters)
    refs = surface.records("referrals", filters.without_period().apply(frames.referrals, "referred_on"))
    onward = pl.col("onward_treatment").fill_null(False)
    as_of = filters.as_of_date
    for key, flag in (("referrals", pl.lit(True)), ("onward_treatment", onward)):
        h = found[key]
        shown = gated(h, view)
        for label, span, value, truth in (("this period", now, shown.value, h.value),
                                          ("period before", before, shown.previous, h.previous)):
            members = refs.filter(pl.col("referred_on").is_between(*span) & flag)[INDEX].to_numpy()
            low, high, hidden = _single(gate, value)
            surface.add(_figure("overview", view.where, f"{key} ({label})", low, high, hidden, truth), members)
        trend = refs.filter(pl.col("referred_on").is_between(*now) & flag).select(INDEX, _month("referred_on"))
        surface.counts(f"overview: {key} a month", view.where, shown.trend, h.trend.with_columns(
            pl.col("value").cast(pl.Int64)), ["period"], {"value": trend}, gate)
    for key, measure, flag in (("engaged_share", "engaged", pl.col("assessment_result") == "completed"),
                               ("completed_share", "completed", pl.col("closure_result") == "complied")):
        h, shown = found[key], gated(found[key], view)
        ripe = refs.filter(pl.col("referred_on") <= cut_off(measure, as_of))
        for label, span, value, bases in (("this period", now, shown.value, h.bases),
                                          ("period before", before, shown.previous, h.previous_bases)):
            part = ripe.filter(pl.col("referred_on").is_between(*span))
            people = surface.add(_unpublished("overview", view.where, f"{key} people ({label})"), part[INDEX].to_numpy())
            events = surface.add(_unpublished("overview", view.where, f"{key} events ({label})"),
                                 part.filter(flag.fill_null(False))[INDEX].to_numpy())
            surface.share("overview", view.where, f"{key} ({label})", events, people, value,
                          bases[0] if bases else None, gate)
        part = ripe.filter(pl.col("referred_on").is_between(*now)).select(INDEX, _month("referred_on"),
                                                                          flag.fill_null(False).alias("flag"))
        table = f"overview: {key} a month"
        cells = surface.counts(table, view.where, shown.trend, h.trend, ["period"],
                               {"people": part, "events": part.filter(pl.col("flag"))}, gate)
        for row, exact_row in zip(shown.trend.iter_rows(named=True), h.trend.iter_rows(named=True), strict=True):
            surface.share(table, view.where, f"{row['period']}: share", cells[(row["period"], "events")],
                          cells[(row["period"], "people")], row["value"], exact_row["people"], gate)


def gated(h, view: View):
    """The headline as the Overview shows it (its trend gated with the other values of a filter
    chosen)."""
    return overview.gated(h, view.gate, view.frames.programme.officer_hours_per_referral,
                          within=(view.frames, view.filters))


def _single(gate: Gate, value) -> tuple[float, float, str | None]:
    """A headline count as shown: hidden (None) means 1 to threshold-1 (its help says so)."""
    from divert.intruder.surface import gate_bounds

    return gate_bounds(value, f"value: {gate.small}" if value is None else None, "value", gate)


def _figure(table, where, what, low, high, hidden, truth):
    from divert.intruder.attack import Figure

    return Figure(table, where, what, low, high, hidden, None if truth is None else int(truth))


def _unpublished(table: str, where: str, what: str):
    """A count that is not published itself but that a published share is made from."""
    return _figure(table, where, what, 0.0, float("inf"), None, None)
