"""Disproportionality: rates per 1,000 population, relative rates against White with 95%
intervals, the outcome ("find rate") test, and the relative rate index at every decision point
of the diversion pathway.

Intervals: for rates per population (Poisson) the log interval sqrt(1/a + 1/b) when both
counts are at least 10, else the exact conditional interval (Clopper-Pearson on a | a+b); for
ratios of proportions the Katz log interval when every cell is at least 10, else the score
interval (statsmodels). Nothing divides by zero: a ratio without a defined reference is null.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from divert import codes
from divert.analytics.filters import POLICY_START  # noqa: F401  (re-exported for pages)
from divert.analytics.intervals import Z95, risk_ratio, with_share

REFERENCE = "White"
SMALL = 10
UNCOUNTED = ("Not stated", "Missing")  # kept in every table, never given a population
OFFICER_TO_BROAD = {"White": "White", "Black": "Black", "Asian": "Asian", "Other": "Other", "Mixed": "Mixed"}
CENSUS_2021_OTHER = "Other incl. Mixed"


# --- intervals --------------------------------------------------------------------------------
def poisson_ratio(a: int, exposure_a: float, b: int, exposure_b: float) -> tuple[float | None, float | None, float | None]:
    """(a/exposure_a)/(b/exposure_b) and its 95% interval."""
    if not exposure_a or not exposure_b or exposure_a <= 0 or exposure_b <= 0 or b == 0:
        return None, None, None
    ratio = (a / exposure_a) / (b / exposure_b)
    if a >= SMALL and b >= SMALL:
        half = Z95 * math.sqrt(1 / a + 1 / b)
        return ratio, ratio * math.exp(-half), ratio * math.exp(half)
    # exact conditional: a | a+b ~ Binomial(a+b, p), p = RR*ea / (RR*ea + eb)
    low_p, high_p = proportion_confint(a, a + b, alpha=0.05, method="beta")
    scale = exposure_b / exposure_a

    def to_ratio(p):
        return None if p >= 1 else p / (1 - p) * scale

    return ratio, to_ratio(low_p) or 0.0, to_ratio(high_p)


def proportion_ratio(a: int, n_a: int, b: int, n_b: int) -> tuple[float | None, float | None, float | None]:
    """(a/n_a)/(b/n_b) and its 95% interval (Katz for large counts, score for small)."""
    if n_a <= 0 or n_b <= 0 or b == 0:
        return None, None, None
    if min(a, b, n_a - a, n_b - b) >= SMALL:
        return risk_ratio(a, n_a, b, n_b)
    with np.errstate(all="ignore"):
        low, high = confint_proportions_2indep(a, n_a, b, n_b, compare="ratio", method="score")
    if np.iscomplexobj(low) or np.iscomplexobj(high) or np.isnan(low) or np.isnan(high):
        return risk_ratio(a, n_a, b, n_b)  # the score equation has no real root here: Katz with a correction
    ratio = (a / n_a) / (b / n_b)
    return ratio, float(low), (float(high) if math.isfinite(high) else None)


def _significant(low, high) -> bool | None:
    if low is None or high is None:
        return None
    return bool(low > 1 or high < 1)


# --- groups -----------------------------------------------------------------------------------
def self_defined_group(column: str, level: str) -> pl.Expr:
    """Broad or detailed self-defined group of an 18+1 code column; NS and blanks kept."""
    broad = {code: codes.broad_group(code) for code in codes.ETHNICITY_SELF}
    if level == "detailed":
        return (pl.when(pl.col(column).is_null()).then(pl.lit("Missing"))
                .when(pl.col(column) == "NS").then(pl.lit("Not stated")).otherwise(pl.col(column)))
    return pl.col(column).replace_strict(broad, default="Missing")


def population_for(population: pl.DataFrame, *, force: str, census_year: int, level: str) -> pl.DataFrame:
    """group, population for a force's area (force-level census rows, all sexes and ages)."""
    rows = population.filter(
        (pl.col("force") == force) & (pl.col("census_year") == census_year) & (pl.col("geography_level") == "force")
        & (pl.col("sex") == "all") & (pl.col("age_band") == "all")
    )
    wanted = list(codes.ETHNICITY_SELF)[:-1] if level == "detailed" else [*codes.BROAD_GROUPS][:5] + [CENSUS_2021_OTHER]
    return rows.filter(pl.col("ethnicity").is_in(wanted)).group_by(pl.col("ethnicity").alias("group")).agg(
        pl.col("count").sum().cast(pl.Int64).alias("population")
    )


def rates_against_white(events: pl.DataFrame, population: pl.DataFrame, event_col: str = "events") -> pl.DataFrame:
    """events per 1,000 population by group and the ratio to White with its 95% interval.
    Groups without a population (not stated, missing) keep their count and get no rate."""
    table = events.join(population, on="group", how="full", coalesce=True).with_columns(
        pl.col(event_col).fill_null(0).cast(pl.Int64)
    )
    ref = table.filter(pl.col("group") == REFERENCE)
    ref_events = int(ref[event_col][0]) if ref.height else 0
    ref_pop = ref["population"][0] if ref.height else None
    ratios = [
        poisson_ratio(int(row[event_col]), row["population"], ref_events, ref_pop) if row["population"] else (None, None, None)
        for row in table.iter_rows(named=True)
    ]
    total = int(table[event_col].sum())
    return table.with_columns(
        pl.when(pl.col("population") > 0).then(pl.col(event_col) / pl.col("population") * 1000).otherwise(None).alias("rate_per_1000"),
        pl.Series("ratio_vs_white", [r[0] for r in ratios], dtype=pl.Float64),
        pl.Series("ci_low", [r[1] for r in ratios], dtype=pl.Float64),
        pl.Series("ci_high", [r[2] for r in ratios], dtype=pl.Float64),
        (pl.col(event_col) / total if total else pl.lit(None, pl.Float64)).alias("share_of_events"),
    ).with_columns(
        pl.struct("ci_low", "ci_high").map_elements(lambda s: _significant(s["ci_low"], s["ci_high"]), return_dtype=pl.Boolean).alias("significant"),
    ).sort(pl.col("group").is_in(UNCOUNTED), "group")


# --- stop and search --------------------------------------------------------------------------
def searches(stop_search: pl.DataFrame, *, force: str | None = None, start: date | None = None, end: date | None = None,
             object_of_search: str | None = None, ethnicity: str = "self", level: str = "broad") -> pl.DataFrame:
    """People searched (vehicle-only searches excluded, as in the official statistics), with
    their group."""
    frame = stop_search.filter(pl.col("search_type") != "Vehicle search")
    if force:
        frame = frame.filter(pl.col("force") == force)
    if start:
        frame = frame.filter(pl.col("searched_at").dt.date() >= start)
    if end:
        frame = frame.filter(pl.col("searched_at").dt.date() <= end)
    if object_of_search:
        frame = frame.filter(pl.col("object_of_search") == object_of_search)
    if ethnicity == "officer":
        group = pl.col("ethnicity_officer").replace_strict(OFFICER_TO_BROAD, default="Missing")
    else:
        group = self_defined_group("ethnicity_self_code", level)
    return frame.with_columns(group.alias("group"))


def stop_search_rates(stop_search: pl.DataFrame, population: pl.DataFrame, *, force: str, census_year: int = 2011,
                      level: str = "broad", ethnicity: str = "self", **selection) -> pl.DataFrame:
    """Searches per 1,000 population by ethnic group and the relative rate against White.
    Columns: group, searches, population, rate_per_1000, ratio_vs_white, ci_low, ci_high, ..."""
    people = searches(stop_search, force=force, ethnicity=ethnicity, level=level, **selection)
    if census_year == 2021:
        people = people.with_columns(pl.col("group").replace({"Mixed": CENSUS_2021_OTHER, "Other": CENSUS_2021_OTHER}))
    counts = people.group_by("group").agg(pl.len().cast(pl.Int64).alias("searches"))
    pop = population_for(population, force=force, census_year=census_year, level=level)
    table = rates_against_white(counts, pop, "searches")
    return table.select("group", "searches", "population", "rate_per_1000", "ratio_vs_white", "ci_low", "ci_high",
                        "significant", "share_of_events")


def find_rates(stop_search: pl.DataFrame, **selection) -> pl.DataFrame:
    """The outcome test: share of searches whose outcome was linked to what was searched for,
    by group, with Wilson intervals and the ratio to White. A lower find rate for a group
    suggests a lower threshold for searching its members."""
    people = searches(stop_search, **selection)
    counts = people.group_by("group").agg(
        pl.len().cast(pl.Int64).alias("searches"),
        pl.col("outcome_linked").fill_null(False).sum().cast(pl.Int64).alias("finds"),
    )
    table = with_share(counts, "finds", "searches", "find_rate")
    ref = table.filter(pl.col("group") == REFERENCE)
    ref_k, ref_n = (int(ref["finds"][0]), int(ref["searches"][0])) if ref.height else (0, 0)
    ratios = [proportion_ratio(int(r["finds"]), int(r["searches"]), ref_k, ref_n) for r in table.iter_rows(named=True)]
    return table.with_columns(
        pl.Series("ratio_vs_white", [r[0] for r in ratios], dtype=pl.Float64),
        pl.Series("ci_low", [r[1] for r in ratios], dtype=pl.Float64),
        pl.Series("ci_high", [r[2] for r in ratios], dtype=pl.Float64),
    ).sort(pl.col("group").is_in(UNCOUNTED), "group")


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


def rates_over_time(stop_search: pl.DataFrame, population: pl.DataFrame, *, force: str, census_year: int = 2011,
                    every: str = "1y", **selection) -> pl.DataFrame:
    """Searches per 1,000 by broad group per period (calendar year by default), with ratios."""
    people = searches(stop_search, force=force, **selection)
    pop = population_for(population, force=force, census_year=census_year, level="broad")
    parts = []
    for (period,), part in people.group_by(pl.col("searched_at").dt.date().dt.truncate(every).alias("period")):
        counts = part.group_by("group").agg(pl.len().cast(pl.Int64).alias("searches"))
        parts.append(rates_against_white(counts, pop, "searches").with_columns(pl.lit(period).alias("period")))
    return pl.concat(parts, how="diagonal").sort("period", "group") if parts else pl.DataFrame()


# --- the diversion pathway --------------------------------------------------------------------
STAGES = (
    ("possession_offence", "Possession offence recorded", "per 1,000 population"),
    ("diverted", "Diverted rather than a formal outcome", "of offences with either"),
    ("engaged", "Engaged (completed the assessment)", "of people diverted"),
    ("completed", "Completed", "of people who engaged"),
    ("intelligence_log", "Intelligence log (did not engage)", "of people diverted"),
)


def pathway_events(offences: pl.DataFrame, referrals: pl.DataFrame, *, start: date | None, end: date | None) -> pl.DataFrame:
    """For each broad group: the count at each decision point and its denominator."""
    offs = offences
    refs = referrals
    if start:
        offs, refs = offs.filter(pl.col("offence_date") >= start), refs.filter(pl.col("referred_on") >= start)
    if end:
        offs, refs = offs.filter(pl.col("offence_date") <= end), refs.filter(pl.col("referred_on") <= end)
    group = pl.col("ethnic_group").alias("group")
    diverted_or_formal = offs.filter(pl.col("outcome").is_in([*codes.FORMAL_OUTCOMES, *codes.COMMUNITY_RESOLUTION]))
    by_offence = offs.group_by(group).agg(pl.len().alias("possession_offence"))
    by_decision = diverted_or_formal.group_by(group).agg(
        pl.len().alias("decided"), pl.col("outcome").is_in(codes.COMMUNITY_RESOLUTION).sum().alias("diverted")
    )
    by_referral = refs.group_by(group).agg(
        pl.len().alias("referred"),
        (pl.col("assessment_result") == "completed").sum().alias("engaged"),
        ((pl.col("assessment_result") == "completed") & (pl.col("closure_result") == "complied")).sum().alias("completed"),
        (pl.col("closure_result") == "not_engaged").sum().alias("intelligence_log"),
    )
    return by_offence.join(by_decision, on="group", how="full", coalesce=True).join(
        by_referral, on="group", how="full", coalesce=True
    ).fill_null(0)


def pathway_rri(offences: pl.DataFrame, referrals: pl.DataFrame, population: pl.DataFrame, *, force: str,
                census_year: int = 2011, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Relative rate index against White at every decision point, the previous stage being
    the denominator. Columns: stage, group, events, denominator, rate, rri, ci_low, ci_high,
    significant, small_group (under 1% of the population), reading."""
    counts = pathway_events(offences, referrals, start=start, end=end)
    pop = population_for(population, force=force, census_year=census_year, level="broad")
    counts = counts.join(pop, on="group", how="left")
    total_pop = pop["population"].sum() or 0
    denominators = {"possession_offence": "population", "diverted": "decided", "engaged": "referred",
                    "completed": "engaged", "intelligence_log": "referred"}
    rows = []
    by_group = {row["group"]: row for row in counts.iter_rows(named=True)}
    white = by_group.get(REFERENCE)
    for stage, label, _ in STAGES:
        den_col = denominators[stage]
        for group, row in sorted(by_group.items()):
            events, denominator = int(row[stage] or 0), row[den_col]
            denominator = int(denominator) if denominator is not None else None
            rate = events / denominator if denominator else None
            ratio = low = high = None
            if white is not None and group not in UNCOUNTED and denominator:
                ref_events, ref_den = int(white[stage] or 0), white[den_col]
                if stage == "possession_offence":
                    ratio, low, high = poisson_ratio(events, denominator, ref_events, ref_den)
                elif ref_den:
                    ratio, low, high = proportion_ratio(events, denominator, ref_events, int(ref_den))
            population_share = (row["population"] / total_pop) if row["population"] and total_pop else None
            rows.append({
                "stage": stage, "stage_label": label, "group": group, "events": events, "denominator": denominator,
                "rate": rate * 1000 if rate is not None and stage == "possession_offence" else rate,
                "rri": ratio, "ci_low": low, "ci_high": high, "significant": _significant(low, high),
                "small_group": population_share is not None and population_share < 0.01,
                "reading": _reading(ratio),
            })
    schema = {"stage": pl.String, "stage_label": pl.String, "group": pl.String, "events": pl.Int64, "denominator": pl.Int64,
              "rate": pl.Float64, "rri": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
              "significant": pl.Boolean, "small_group": pl.Boolean, "reading": pl.String}
    return pl.DataFrame(rows, schema=schema)


def _reading(ratio: float | None) -> str | None:
    if ratio is None:
        return None
    if ratio == 0:
        return "none at this stage"
    if ratio >= 1:
        return f"{ratio:.2f} times the White rate"
    return f"the White rate is {1 / ratio:.2f} times this group's"


def formal_by_half_year(offences: pl.DataFrame, first: date = date(2018, 1, 1)) -> pl.DataFrame:
    """Before and after the policy: per half-year, the share of each group's possession
    offences (by broad group and sex) ending in a charge or caution, and its ratio to White
    of the same sex."""
    from divert.analytics.outcomes import formal_share, half_years

    last = offences["offence_date"].max()
    if last is None:
        return pl.DataFrame()
    periods = half_years(first, last)
    table = formal_share(offences, periods, by=("ethnic_group", "sex")).rename({"ethnic_group": "group"})
    white = {(r["period"], r["sex"]): (r["formal_outcomes"], r["offences"]) for r in table.filter(pl.col("group") == REFERENCE).iter_rows(named=True)}
    ratios = []
    for row in table.iter_rows(named=True):
        ref = white.get((row["period"], row["sex"]))
        if ref is None or row["group"] in UNCOUNTED:
            ratios.append((None, None, None))
        else:
            ratios.append(proportion_ratio(row["formal_outcomes"], row["offences"], ref[0], ref[1]))
    order = {name: i for i, name in enumerate(periods)}
    return table.with_columns(
        pl.Series("rri", [r[0] for r in ratios], dtype=pl.Float64),
        pl.Series("ci_low", [r[1] for r in ratios], dtype=pl.Float64),
        pl.Series("ci_high", [r[2] for r in ratios], dtype=pl.Float64),
        pl.col("period").replace_strict({n: p[0] for n, p in periods.items()}, return_dtype=pl.Date).alias("starts"),
    ).sort(pl.col("period").replace_strict(order), "group", "sex")


def disparity_table(frames, source: str, *, force: str | None = None, start: date | None = None, end: date | None = None,
                    object_of_search: str | None = None, ethnicity: str = "self", level: str = "broad",
                    census_year: int = 2011) -> tuple[pl.DataFrame, str | None]:
    """The table `divert metrics disparity` prints, or a usage problem."""
    from divert.settings import current_force

    force = force or current_force()
    if level == "detailed" and (ethnicity == "officer" or census_year == 2021):
        return pl.DataFrame(), "--level detailed needs self-defined ethnicity and the 2011 census (18 groups)"
    available = frames.population.filter((pl.col("force") == force) & (pl.col("census_year") == census_year))
    if available.is_empty():
        return pl.DataFrame(), f"no {census_year} census population for force '{force}': import it with `divert import population`"
    if source == "stop-search":
        table = stop_search_rates(frames.stop_search, frames.population, force=force, census_year=census_year, level=level,
                                  ethnicity=ethnicity, start=start, end=end, object_of_search=object_of_search)
        return table, None
    table = pathway_rri(frames.offences, frames.referrals, frames.population, force=force, census_year=census_year,
                        start=start, end=end)
    return table.select("stage", "group", "events", "denominator", "rate", "rri", "ci_low", "ci_high", "significant",
                        "small_group"), None
