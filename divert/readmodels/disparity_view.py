"""What the Disparity page shows, section by section: stop and search by ethnic group for one
force (rates against White, find rates, rates over time, the two ethnicities side by side, other
forces), the relative rate index at each decision point of the pathway, and formal outcomes by
half-year (divert.analytics.equity.disparity). Each table passes the disclosure gate here, just
after it is made, so the page only lays the figures out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from divert.analytics.calendar.maturity import cut_off
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.equity import denominators, disparity
from divert.analytics.metrics import GATES
from divert.core.disclosure import Gate
from divert.readmodels.volume_view import partial_edges

SEARCH_GATE = GATES["disparity:stop-search"]
RATIOS = ("rate_per_1000_a_year", "ratio_vs_white", "ci_low", "ci_high")


@dataclass(frozen=True)
class Block:
    """One chart block's figures: `chart` for the chart (None when there is nothing to draw)
    and `table` for the table under it and its download."""

    chart: pl.DataFrame | None
    table: pl.DataFrame


@dataclass(frozen=True)
class SearchForces:
    """The forces whose stop-and-search files are imported, those of them without 2021 census
    figures, and which to show first: the programme's own force when its files are there."""

    forces: list[str]
    lacking: list[str]
    first: int


@dataclass(frozen=True)
class SearchRates:
    """Searches against residents for each group of one force (`table`, gated), the groups with
    a ratio to White to chart (`ratios`), the share of searches with no stated ethnicity
    (`missing`) and the denominator under the rates (`note`); or why there is no rate
    (`problem`)."""

    problem: str | None = None
    note: str | None = None
    table: pl.DataFrame | None = None
    ratios: pl.DataFrame | None = None
    missing: float = 0.0


@dataclass(frozen=True)
class Pathway:
    """The relative rate index at every decision point (`full`, gated), the cells the matrix
    shows (`cells`: counted groups with a rate), the table under it (`table`), what each step is
    measured against (`bases`) and the first step's denominator (`denominator`); or why there is
    no index (`problem`)."""

    problem: str | None = None
    full: pl.DataFrame | None = None
    cells: pl.DataFrame | None = None
    table: pl.DataFrame | None = None
    bases: pl.DataFrame | None = None
    denominator: str | None = None


@dataclass(frozen=True)
class Stage:
    """One decision point: the groups other than White with a rate (`chart`), their table, and
    what the step is measured against (`denominator`, None when the step has no row)."""

    chart: pl.DataFrame
    table: pl.DataFrame
    denominator: str | None


def _object_of_search(drugs_only: bool) -> str | None:
    return "Controlled drugs" if drugs_only else None


def _end(filters: Filters):
    """The end of the period, never after the as-of date (for the measures that take no as-of)."""
    as_of = filters.as_of_date
    return min(filters.end or as_of, as_of)


def search_forces(frames: Frames) -> SearchForces:
    """The forces to choose from on the stop-and-search tab (none: nothing imported yet)."""
    forces = sorted(f for f in frames.stop_search["force"].unique().to_list() if f)
    own = frames.programme.force
    return SearchForces(forces, denominators.forces_without(frames.population, forces) if forces else [],
                        forces.index(own) if own in forces else 0)


def search_gaps(frames: Frames, filters: Filters, *, force: str) -> str | None:
    """What of the period the force's files do not cover, as a sentence (police.uk publishes
    about two months late); None when they cover all of it."""
    window = disparity.search_window(frames.stop_search, force=force, as_of=filters.as_of_date, start=filters.start,
                                     end=filters.end)
    if window is None or not window.gaps:
        return None
    return f"{window.gaps[0].upper()}{window.gaps[1:]}."


def search_rates(frames: Frames, filters: Filters, gate: Gate, *, force: str, ethnicity: str, level: str,
                 census: str, drugs_only: bool) -> SearchRates:
    """Each group's searches per 1,000 residents a year against White's, for one force. The
    denominator note is read before the gate, the share with no stated ethnicity after it."""
    table, problem = disparity.disparity_table(frames, "stop-search", force=force, start=filters.start,
                                               end=filters.end, as_of=filters.as_of_date,
                                               object_of_search=_object_of_search(drugs_only), ethnicity=ethnicity,
                                               level=level, census=census)
    if problem:
        return SearchRates(problem=problem)
    note = disparity.denominator_note(table)
    table = gate.table(table, **SEARCH_GATE)
    missing = table.filter(pl.col("group").is_in(disparity.UNCOUNTED))["share_of_events"].sum()
    ratios = table.filter(pl.col("ratio_vs_white").is_not_null() & pl.col("ci_low").is_not_null())  # not the reference
    return SearchRates(note=note, table=table, ratios=ratios, missing=missing)


def find_rates(frames: Frames, filters: Filters, gate: Gate, *, force: str, ethnicity: str, level: str,
               drugs_only: bool) -> pl.DataFrame:
    """The share of each group's searches that found what they looked for, gated."""
    finds = disparity.find_rates(frames.stop_search, force=force, start=filters.start, end=_end(filters),
                                 ethnicity=ethnicity, level=level, object_of_search=_object_of_search(drugs_only))
    return gate.table(finds, ["searches", "finds"], {name: ["searches", "finds"] for name in
                                                     ("find_rate", "ratio_vs_white", "ci_low", "ci_high")})


def rates_over_time(frames: Frames, filters: Filters, gate: Gate, *, force: str, census: str,
                    drugs_only: bool) -> Block:
    """Each counted group's search rate calendar year by calendar year, gated along the years
    and the groups, a part-year (cut by the period's start, or not over) marked provisional;
    nothing to chart when there are no rates."""
    over_time = disparity.rates_over_time(frames.stop_search, frames.population, force=force, as_of=filters.as_of_date,
                                          census=census, start=filters.start, end=filters.end,
                                          object_of_search=_object_of_search(drugs_only))
    if not over_time.is_empty():
        over_time = over_time.filter(~pl.col("group").is_in(disparity.UNCOUNTED))
    over_time = partial_edges(gate.table(over_time, **(SEARCH_GATE | {"across": [["period"], ["group"]]})), filters, "1y")
    return Block(over_time if not over_time.is_empty() else None, over_time)


def agreement(frames: Frames, filters: Filters, gate: Gate, *, force: str) -> pl.DataFrame:
    """How often the officer-defined broad group matches the self-defined one, gated."""
    agree = disparity.agreement(frames.stop_search, force=force, start=filters.start, end=_end(filters))
    return gate.table(agree, ["searches", "agree"], {"agreement": ["searches", "agree"]})


def beside_other_forces(frames: Frames, filters: Filters, gate: Gate, *, force: str, others: list[str],
                        census: str, drugs_only: bool) -> Block:
    """The ratio to White for the force and the others chosen, over the dates every one covers.
    The chart has a row per force and group other than White (labelled "force: group"); with
    none, the chart is left out and the table is empty."""
    compared = disparity.comparators(frames.stop_search, frames.population, force=force, others=others,
                                     as_of=filters.as_of_date, census=census, start=filters.start, end=filters.end,
                                     object_of_search=_object_of_search(drugs_only))
    compared = gate.table(compared, ["searches"], {name: ["searches"] for name in RATIOS}, keep=["person_years"])
    rows = compared.filter(pl.col("ratio_vs_white").is_not_null() & (pl.col("group") != "White")
                           & ~pl.col("group").is_in(disparity.UNCOUNTED)) if compared.height else compared
    if not rows.height:
        return Block(None, compared.head(0))
    return Block(rows.with_columns((pl.col("area") + ": " + pl.col("group")).alias("row")), compared)


def pathway(frames: Frames, filters: Filters, gate: Gate, *, census: str) -> Pathway:
    """The relative rate index at each decision point after the launch, gated; the denominator
    note is read before the gate."""
    full, problem = disparity.disparity_table(frames, "pathway", census=census, start=filters.start, end=filters.end,
                                              as_of=filters.as_of_date)
    if problem:
        return Pathway(problem=problem)
    note = disparity.denominator_note(full)
    full = gate.table(full, **GATES["disparity:pathway"])
    return Pathway(
        full=full,
        cells=full.filter(~pl.col("group").is_in(disparity.UNCOUNTED) & pl.col("rri").is_not_null()),  # no empty cell
        table=full.drop("stage"),
        bases=full.select("stage_label", "denominator_basis").unique(maintain_order=True).rename(
            {"stage_label": "Step", "denominator_basis": "Denominator"}),
        denominator=f"first step, {note.removeprefix('person-years: ')}" if note else None,
    )


def pathway_stage(shown: Pathway, stage: str) -> Stage:
    """One decision point of the pathway's index, for its chart with intervals."""
    one = shown.full.filter((pl.col("stage") == stage) & pl.col("rri").is_not_null()
                            & (pl.col("group") != disparity.REFERENCE))
    basis = shown.full.filter(pl.col("stage") == stage)["denominator_basis"]
    return Stage(one, one.drop("stage"), basis[0].removeprefix("person-years: ") if basis.len() else None)


def formal_outcomes(frames: Frames, filters: Filters, gate: Gate) -> Block:
    """The share of possession offences charged or cautioned per half-year, by group and sex,
    gated along the half-years and the groups, a half-year not over or with outcomes still to
    come provisional; the chart has the counted groups' males."""
    offences = filters.without_period().apply(frames.offences, "offence_date")
    formal = disparity.formal_by_half_year(offences, as_of=filters.as_of_date)
    if "starts" in formal.columns:  # a half-year not over, or with outcomes still to come, is provisional
        known = cut_off("outcome", filters.as_of_date) + timedelta(days=1)
        formal = formal.with_columns((pl.col("starts").dt.offset_by("6mo") > known).alias("provisional"))
    formal = gate.table(formal, ["formal_outcomes", "offences"],
                        {name: ["offences", "formal_outcomes"] for name in ("formal_share", "rri", "ci_low", "ci_high")},
                        across=[["period", "sex"], ["group", "sex"]])
    males = formal.filter((pl.col("sex") == "M") & ~pl.col("group").is_in(disparity.UNCOUNTED)) \
        if not formal.is_empty() else formal
    return Block(males if not males.is_empty() else None, formal)
