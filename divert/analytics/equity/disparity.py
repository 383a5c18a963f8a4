"""Disproportionality: stop and search per 1,000 residents a year, relative rates against White
with 95% intervals, the outcome ("find rate") test, officer- against self-defined ethnicity,
formal outcomes over time, and (from divert.analytics.equity.decision_points) the relative rate index at
every decision point of the pathway.

Rates use person-years from divert.analytics.equity.denominators (each year's population interpolated
between the censuses by default); windows end at the as-of date. The White row is 1 with no
interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from divert.analytics.data import coverage as cover
from divert.analytics.data.filters import POLICY_START  # noqa: F401  (re-exported for pages)
from divert.analytics.data.memo import per_snapshot
from divert.analytics.equity import decision_points
from divert.analytics.equity import denominators as dn
from divert.analytics.equity.decision_points import STAGE_LABELS, STAGES, chain_counts, pathway_rri  # noqa: F401  (pages use them)
from divert.analytics.stats.intervals import with_share
from divert.analytics.stats.ratios import (  # noqa: F401  (poisson_ratio, proportion_ratio: tests and pages)
    NO_RATIO,
    REFERENCE,
    REFERENCE_ROW,
    SMALL,
    UNCOUNTED,
    poisson_ratio,
    proportion_ratio,
    significant,
)
from divert.core import codes
from divert.reference.programme import TIME_ZONE

# with the 18 detailed groups there is no "White" row: White British is the reference
DETAILED_REFERENCE, DETAILED_REFERENCE_LABEL = "W1", "W1 White British"
OFFICER_TO_BROAD = {"White": "White", "Black": "Black", "Asian": "Asian", "Other": "Other", "Mixed": "Mixed"}


# --- groups -----------------------------------------------------------------------------------
def self_defined_group(column: str, level: str) -> pl.Expr:
    """Broad or detailed self-defined group of an 18+1 code column; NS and blanks kept."""
    broad = {code: codes.broad_group(code) for code in codes.ETHNICITY_SELF}
    code = pl.col(column).cast(pl.String)  # text, whether the frame holds the codes as text or Categorical
    if level == "detailed":
        return (pl.when(code.is_null()).then(pl.lit("Missing"))
                .when(code == "NS").then(pl.lit("Not stated")).otherwise(code))
    return code.replace_strict(broad, default="Missing")


def _with_ratios(table: pl.DataFrame, pairs: list[tuple]) -> pl.DataFrame:
    return table.with_columns(
        pl.Series("ratio_vs_white", [r[0] for r in pairs], dtype=pl.Float64),
        pl.Series("ci_low", [r[1] for r in pairs], dtype=pl.Float64),
        pl.Series("ci_high", [r[2] for r in pairs], dtype=pl.Float64),
        pl.Series("significant", [significant(r[1], r[2]) for r in pairs], dtype=pl.Boolean),
    )


def rates_against_white(events: pl.DataFrame, denominator: dn.Denominator, event_col: str = "events",
                        reference: str = REFERENCE) -> pl.DataFrame:
    """Events per 1,000 residents a year by group and the ratio to White (or another reference
    group) with its 95% interval. Groups without residents (not stated, missing) keep their count
    and get no rate; the reference row is 1 with no interval."""
    table = dn.per_year_rates(events, denominator, event_col)
    ref = table.filter(pl.col("group") == reference)
    ref_events = int(ref[event_col][0]) if ref.height else 0
    ref_years = ref["person_years"][0] if ref.height else None
    pairs = []
    for row in table.iter_rows(named=True):
        if row["group"] == reference:
            pairs.append(REFERENCE_ROW if ref_years and ref_events else NO_RATIO)
        elif row["person_years"] and ref_years:
            pairs.append(poisson_ratio(int(row[event_col]), row["person_years"], ref_events, ref_years))
        else:
            pairs.append(NO_RATIO)
    total = int(table[event_col].sum())
    return _with_ratios(table, pairs).with_columns(
        (pl.col(event_col) / total if total else pl.lit(None, pl.Float64)).alias("share_of_events"),
        pl.lit(DETAILED_REFERENCE_LABEL if reference == DETAILED_REFERENCE else reference).alias("reference"),
        pl.lit(denominator.note).alias("denominator"),
    ).sort(pl.col("group").is_in(UNCOUNTED), "group")


# --- stop and search --------------------------------------------------------------------------
def _search_day() -> pl.Expr:
    return pl.col("searched_at").dt.convert_time_zone(TIME_ZONE.key).dt.date()


def searches(stop_search: pl.DataFrame, *, force: str | None = None, start: date | None = None, end: date | None = None,
             object_of_search: str | None = None, ethnicity: str = "self", level: str = "broad",
             spans: list[tuple[date, date]] | None = None) -> pl.DataFrame:
    """People searched (vehicle-only searches excluded, as in the official statistics), with
    their group; dates are UK days. `spans`: only searches on the days inside them."""
    frame = stop_search.filter(pl.col("search_type") != "Vehicle search")
    if spans is not None:
        frame = frame.filter(pl.any_horizontal(pl.lit(False), *(_search_day().is_between(a, b) for a, b in spans)))
    if force:
        frame = frame.filter(pl.col("force") == force)
    if start:
        frame = frame.filter(_search_day() >= start)
    if end:
        frame = frame.filter(_search_day() <= end)
    if object_of_search:
        frame = frame.filter(pl.col("object_of_search") == object_of_search)
    if ethnicity == "officer":
        group = pl.col("ethnicity_officer").replace_strict(OFFICER_TO_BROAD, default="Missing")
    else:
        group = self_defined_group("ethnicity_self_code", level)
    return frame.with_columns(group.alias("group"))


@dataclass(frozen=True)
class SearchWindow:
    """A window of a force's searches: as asked (`start`, `end`), and the part of it the force's
    files cover (`spans`, divert.analytics.data.coverage)."""

    start: date
    end: date
    coverage: cover.Coverage

    @property
    def spans(self) -> list[tuple[date, date]]:
        return self.coverage.spans(self.start, self.end)

    @property
    def gaps(self) -> str | None:
        """What of the window has no data, in plain words (None: all of it is covered)."""
        return self.coverage.note(self.start, self.end)

    def fields(self) -> dict:
        return cover.window_fields(self.coverage, self.start, self.end)


def search_window(stop_search: pl.DataFrame, *, force: str, as_of: date, start: date | None = None,
                  end: date | None = None) -> SearchWindow | None:
    """From the chosen start (or the first month of the force's searches) to the chosen end (or,
    by default, the last day the force's searches cover, not the as-of date: police.uk publishes
    about two months late), never past the as-of date. A rate per year counts only the covered
    months inside it (`spans`). None when the force has no search at all."""
    coverage = cover.of_stop_search(stop_search, force, as_of)
    if not coverage.months:
        return None
    return SearchWindow(start or coverage.covered_from, min(end or coverage.covered_to, as_of), coverage)


def stop_search_rates(stop_search: pl.DataFrame, population: pl.DataFrame, *, force: str, as_of: date,
                      census: str | int = "interpolated", start: date | None = None, end: date | None = None,
                      level: str = "broad", ethnicity: str = "self", object_of_search: str | None = None) -> pl.DataFrame:
    """Searches per 1,000 residents a year by ethnic group and the relative rate against White,
    over the covered months of the window only. Columns: group, searches, residents (the average
    over the covered time), person_years, rate_per_1000_a_year, ratio_vs_white, ci_low, ci_high,
    significant, share_of_events, reference, denominator (in words, with what of the window has
    no data), covered_from and covered_to (the first and last covered day of the window) and
    months_missing (months of the window with no data). Empty when no month of it is covered."""
    window = search_window(stop_search, force=force, as_of=as_of, start=start, end=end)
    if window is None or not window.spans:
        return pl.DataFrame()
    spans = window.spans
    people = searches(stop_search, force=force, ethnicity=ethnicity, level=level, spans=spans,
                      object_of_search=object_of_search)
    counts = people.group_by("group").agg(pl.len().cast(pl.Int64).alias("searches"))
    residents = dn.window_denominator(population, force=force, start=spans[0][0], end=spans[-1][1], level=level,
                                      method=census, spans=spans, gaps=window.gaps)
    table = rates_against_white(counts, residents, "searches", DETAILED_REFERENCE if level == "detailed" else REFERENCE)
    fields = window.fields()
    return table.with_columns(pl.lit(fields["covered_from"]).alias("covered_from"),
                              pl.lit(fields["covered_to"]).alias("covered_to"),
                              pl.lit(fields["months_missing"], pl.Int64).alias("months_missing")).select(
        "group", "searches", "residents", "person_years", "rate_per_1000_a_year", "ratio_vs_white", "ci_low", "ci_high",
        "significant", "share_of_events", "reference", "denominator", "covered_from", "covered_to", "months_missing")


def no_rate_reason(stop_search: pl.DataFrame, *, force: str, as_of: date, start: date | None = None,
                   end: date | None = None) -> str:
    """Why a force's window gives no stop-search rate, in plain words."""
    window = search_window(stop_search, force=force, as_of=as_of, start=start, end=end)
    if window is None:
        return f"no stop-and-search records for force '{force}': import its police.uk files first"
    if window.start > window.end:
        return (f"no stop-and-search records for force '{force}' in the period: it starts "
                f"{window.start:%-d %b %Y}, after the as-of date or the end of the data ({window.end:%-d %b %Y})")
    return window.gaps or f"no stop-and-search records for force '{force}' in the period"


@per_snapshot
def rates_over_time(stop_search: pl.DataFrame, population: pl.DataFrame, *, force: str, as_of: date,
                    census: str | int = "interpolated", start: date | None = None, end: date | None = None,
                    **selection) -> pl.DataFrame:
    """Searches per 1,000 residents a year by broad group for each calendar year of the window,
    each year over its own population and its covered months only (`part_year`: fewer than all
    of its months are covered), with ratios to White. A year of the window with no covered month
    has a row per group with no rate (a gap in a chart, not a zero)."""
    window = search_window(stop_search, force=force, as_of=as_of, start=start, end=end)
    if window is None or not window.spans:
        return pl.DataFrame()
    spans = window.spans
    parts, empty_years = [], []
    for year in range(window.start.year, window.end.year + 1):
        inside = [(max(a, date(year, 1, 1)), min(b, date(year, 12, 31))) for a, b in spans]
        inside = [(a, b) for a, b in inside if a <= b]
        if not inside:
            empty_years.append(date(year, 1, 1))
            continue
        people = searches(stop_search, force=force, spans=inside, **selection)
        counts = people.group_by("group").agg(pl.len().cast(pl.Int64).alias("searches"))
        residents = dn.window_denominator(population, force=force, start=inside[0][0], end=inside[-1][1],
                                          method=census, spans=inside)
        days = sum((b - a).days + 1 for a, b in inside)
        parts.append(rates_against_white(counts, residents, "searches").with_columns(
            pl.lit(date(year, 1, 1)).alias("period"),
            pl.lit(days < (date(year, 12, 31) - date(year, 1, 1)).days + 1).alias("part_year")))
    table = pl.concat(parts, how="diagonal")
    if empty_years:
        groups = table["group"].unique().to_list()
        table = pl.concat([table, pl.DataFrame({"period": [y for y in empty_years for _ in groups],
                                                "group": [g for _ in empty_years for g in groups],
                                                "searches": [None] * len(groups) * len(empty_years)},
                                               schema_overrides={"searches": pl.Int64})], how="diagonal")
    return table.sort("period", "group")


@per_snapshot
def find_rates(stop_search: pl.DataFrame, **selection) -> pl.DataFrame:
    """The outcome test: share of searches whose outcome was linked to what was searched for,
    by group, with Wilson intervals and the ratio to White (the White row is 1, no interval).
    A lower find rate for a group suggests a lower threshold for searching its members."""
    people = searches(stop_search, **selection)
    counts = people.group_by("group").agg(
        pl.len().cast(pl.Int64).alias("searches"),
        pl.col("outcome_linked").fill_null(False).sum().cast(pl.Int64).alias("finds"),
    )
    table = with_share(counts, "finds", "searches", "find_rate")
    ref = table.filter(pl.col("group") == REFERENCE)
    ref_k, ref_n = (int(ref["finds"][0]), int(ref["searches"][0])) if ref.height else (0, 0)
    pairs = [(REFERENCE_ROW if ref_k else NO_RATIO) if r["group"] == REFERENCE
             else proportion_ratio(int(r["finds"]), int(r["searches"]), ref_k, ref_n) for r in table.iter_rows(named=True)]
    return _with_ratios(table, pairs).drop("significant").sort(pl.col("group").is_in(UNCOUNTED), "group")


@per_snapshot
def agreement(stop_search: pl.DataFrame, **selection) -> pl.DataFrame:
    """Officer-defined against self-defined broad group: how often they agree, per
    self-defined group (rows where either is blank are counted separately, never filled)."""
    people = searches(stop_search, **selection).with_columns(
        self_defined_group("ethnicity_self_code", "broad").alias("self_defined"),
        pl.col("ethnicity_officer").replace_strict(OFFICER_TO_BROAD, default="Missing").alias("officer_defined"),
    )
    both = people.filter(~pl.col("self_defined").is_in(UNCOUNTED) & (pl.col("officer_defined") != "Missing"))
    table = both.group_by("self_defined").agg(
        pl.len().cast(pl.Int64).alias("searches"),
        (pl.col("self_defined") == pl.col("officer_defined")).sum().cast(pl.Int64).alias("agree"),
    )
    return with_share(table, "agree", "searches", "agreement").sort("self_defined")


@per_snapshot
def formal_by_half_year(offences: pl.DataFrame, first: date = date(2018, 1, 1), as_of: date | None = None) -> pl.DataFrame:
    """Before and after the policy: per half-year up to the as-of date, the share of each
    group's possession offences (by broad group and sex) ending in a charge or caution, and its
    ratio to White of the same sex (White: 1, no interval)."""
    from divert.analytics.dashboards.outcomes import formal_share, half_years

    last = as_of or offences["offence_date"].max()
    if last is None:
        return pl.DataFrame()
    periods = half_years(first, last)
    table = formal_share(offences, periods, by=("ethnic_group", "sex")).rename({"ethnic_group": "group"})
    white = {(r["period"], r["sex"]): (r["formal_outcomes"], r["offences"]) for r in table.filter(pl.col("group") == REFERENCE).iter_rows(named=True)}
    ratios = []
    for row in table.iter_rows(named=True):
        ref = white.get((row["period"], row["sex"]))
        if ref is None or row["group"] in UNCOUNTED:
            ratios.append(NO_RATIO)
        elif row["group"] == REFERENCE:
            ratios.append(REFERENCE_ROW if ref[0] else NO_RATIO)
        else:
            ratios.append(proportion_ratio(row["formal_outcomes"], row["offences"], ref[0], ref[1]))
    order = {name: i for i, name in enumerate(periods)}
    return table.with_columns(
        pl.Series("rri", [r[0] for r in ratios], dtype=pl.Float64),
        pl.Series("ci_low", [r[1] for r in ratios], dtype=pl.Float64),
        pl.Series("ci_high", [r[2] for r in ratios], dtype=pl.Float64),
        pl.col("period").replace_strict({n: p[0] for n, p in periods.items()}, return_dtype=pl.Date).alias("starts"),
    ).sort(pl.col("period").replace_strict(order), "group", "sex")


def census_problem(population: pl.DataFrame, *, force: str, census: str, level: str) -> str | None:
    """Why the chosen census cannot give rates for the force, or None."""
    if census == "interpolated":
        if not any(dn.has_census(population, force=force, census_year=y, level=level) for y in (2011, 2021)):
            return f"no census population for force '{force}': import it with `divert import population`"
        return None
    if not dn.has_census(population, force=force, census_year=int(census), level=level):
        return (f"no {census} census population ({level} groups) for force '{force}': choose another census "
                "or import it with `divert import population`")
    return None


@per_snapshot
def disparity_table(frames, source: str, *, force: str | None = None, start: date | None = None, end: date | None = None,
                    as_of: date | None = None, object_of_search: str | None = None, ethnicity: str = "self",
                    level: str = "broad", census: str | int = "interpolated",
                    census_year: int | None = None) -> tuple[pl.DataFrame, str | None]:
    """The table `divert metrics disparity` prints, or a usage problem. Measured from `as_of`
    (default: the frames' snapshot date); the pathway starts at the programme's launch.
    `census_year` (2011 or 2021) is the older spelling of a fixed `census`."""
    census = str(census_year or census)
    as_of = as_of or frames.as_of
    if as_of is None:
        return pl.DataFrame(), "no as-of date: take a snapshot with Frames.at(as_of)"
    if census not in dn.METHODS_ALLOWED:
        return pl.DataFrame(), f"--census must be one of {', '.join(dn.METHODS_ALLOWED)}"
    if level == "detailed" and ethnicity == "officer":
        return pl.DataFrame(), "--level detailed needs self-defined ethnicity (officer-defined has broad groups only)"
    programme = frames.programme
    force = force or programme.force
    problem = census_problem(frames.population, force=force, census=census, level=level)
    if problem:
        return pl.DataFrame(), problem
    if source == "stop-search":
        table = stop_search_rates(frames.stop_search, frames.population, force=force, as_of=as_of, census=census,
                                  level=level, ethnicity=ethnicity, start=start, end=end, object_of_search=object_of_search)
        if table.is_empty():
            return table, no_rate_reason(frames.stop_search, force=force, as_of=as_of, start=start, end=end)
        return table, None
    if min(end or as_of, as_of) < max(start or programme.launch, programme.launch):
        return pl.DataFrame(), f"the period ends before the launch ({programme.launch:%-d %B %Y})"
    return pathway_rri(frames.offences, frames.referrals, frames.population, force=force, launch=programme.launch,
                       as_of=as_of, start=start, end=end, census=census,
                       diversion_outcome=programme.diversion_outcome), None


def denominator_note(table: pl.DataFrame) -> str | None:
    """The population denominator in words: of a stop-search table (the same on every row) or of
    the first stage of a pathway table."""
    if table.is_empty():
        return None
    if "denominator_basis" in table.columns:
        first = table.filter(pl.col("stage") == "possession_offence")
        return first["denominator_basis"][0] if first.height else None
    return table["denominator"][0] if "denominator" in table.columns else None


# the Methods page text: stop and search, then the pathway decision by decision
METHODS = """
### Stop and search per 1,000 residents
- **Searches per 1,000 residents a year** for group *g* = people searched in *g* over the period /
  person-years of *g* x 1,000 (see Population denominators). People are counted, not vehicles: as in
  the Home Office statistics, **vehicle-only searches are excluded**. The period runs from the chosen
  start (or the first month of the force's files) to the chosen end, or by default to the end of the
  last month its files cover (police.uk publishes about two months late), and **counts only the months
  the files cover**: months after the last file, or a month never imported, are left out and named
  beside the rate. The rates over time give each calendar year its own population over its covered
  months (a part-year over its part); a year with no covered month is a gap, not a zero.
- **Relative rate against White** = rate for *g* / White rate ("X times as likely"), with the 95%
  interval exp(ln RR +/- 1.96 sqrt(1/a + 1/b)) when both counts are at least 10 and the exact
  conditional interval (Clopper-Pearson on a given a + b) otherwise. The White row is 1 by definition
  and has no interval. When the White count is zero there is no ratio, and none is shown.
- With the 18 detailed groups the reference is **White British** (W1), the largest group, and the
  `reference` column says so; with the broad groups it is White.
- Self-defined ethnicity is used by default; officer-defined can be chosen, but the census has no
  officer-defined categories, so its rates compare unlike with like. The two are never filled in from
  each other. "Not stated" and blank ethnicity are shown as their own rows, with no rate.
- **Find rate (outcome test)**: the share of searches whose outcome was linked to the object of the
  search (Wilson intervals), and its ratio to White's (Katz or score interval). A lower find rate for a
  group suggests its members are searched on weaker grounds.
""" + decision_points.METHODS


# --- comparators --------------------------------------------------------------------------------
def common_spans(each: list[list[tuple[date, date]]]) -> list[tuple[date, date]]:
    """The days inside every list of spans (each sorted and disjoint)."""
    common = each[0] if each else []
    for spans in each[1:]:
        common = [(max(a, c), min(b, d)) for a, b in common for c, d in spans if max(a, c) <= min(b, d)]
    return sorted(common)


def comparators(stop_search: pl.DataFrame, population: pl.DataFrame, *, force: str, others: list[str], as_of: date,
                census: str | int = "interpolated", start: date | None = None, end: date | None = None,
                object_of_search: str | None = None) -> pl.DataFrame:
    """Stop-search rates per 1,000 residents a year and the ratio to White, broad groups, for the
    programme's force beside chosen forces and all of them together ("England and Wales" when all
    43 are there), over one common window (the same dates for every force) and the same
    denominators and intervals. Columns: area (force name or the total), force, group, searches,
    person_years, rate_per_1000_a_year, ratio_vs_white, ci_low, ci_high, denominator."""
    from dataclasses import replace

    from divert.reference import forces as force_list

    chosen = [force, *[f for f in others if f != force]]
    windows = [search_window(stop_search, force=f, as_of=as_of, start=start, end=end) for f in chosen]
    windows = [w for w in windows if w is not None]
    if not windows:
        return pl.DataFrame()
    common = common_spans([w.spans for w in windows])  # the days every force's files cover
    if not common:
        return pl.DataFrame()
    first, last = common[0][0], common[-1][1]
    parts, all_counts, all_years = [], [], []
    for f in chosen:
        people = searches(stop_search, force=f, spans=common, object_of_search=object_of_search)
        if people.is_empty():
            continue
        counts = people.group_by("group").agg(pl.len().cast(pl.Int64).alias("searches"))
        residents = dn.window_denominator(population, force=f, start=first, end=last, method=census, spans=common)
        name = force_list.force_name(f) if f in force_list.BY_SLUG else f
        parts.append(rates_against_white(counts, residents, "searches").with_columns(
            pl.lit(name).alias("area"), pl.lit(f).alias("force")))
        all_counts.append(counts)
        all_years.append(residents)
    if len(parts) > 1:
        counts = pl.concat(all_counts).group_by("group").agg(pl.col("searches").sum())
        years = pl.concat([d.person_years for d in all_years]).group_by("group").agg(
            pl.col("person_years").sum(), pl.col("residents").sum())
        together = replace(all_years[0], person_years=years,
                           note=f"{all_years[0].note} (the forces shown, added together)")
        label = "England and Wales" if len(parts) == len(force_list.FORCES) else f"All {len(parts)} forces shown"
        parts.append(rates_against_white(counts, together, "searches").with_columns(
            pl.lit(label).alias("area"), pl.lit(None, pl.String).alias("force")))
    if not parts:
        return pl.DataFrame()
    return pl.concat(parts, how="diagonal").select(
        "area", "force", "group", "searches", "person_years", "rate_per_1000_a_year", "ratio_vs_white", "ci_low",
        "ci_high", "denominator")
