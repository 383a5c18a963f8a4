"""The controlled impact: the same interrupted time series on police.uk stop-search outcomes,
for the programme's force and for comparator forces, so that a national trend is not
credited to the programme.

The measure is the monthly share of drug searches (object of search "Controlled drugs",
vehicle-only searches excluded, as in the official statistics; searches with no outcome
recorded left out of the denominator) ending in an arrest, summons/charge or caution. The
comparator forces are fitted together (one intercept per force, shared trend, seasonality and
changes at the programme's launch date). The difference-in-differences is the programme's
level change over the comparators' (a ratio of rate ratios), with an interval that treats
the two fits as independent (conservative when the forces share month-to-month shocks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy import stats

from divert.analytics.calendar.months import month_start, provisional_expr
from divert.analytics.data import coverage
from divert.analytics.impact.model import TERMS, fit_series

DRUG_SEARCH = "Controlled drugs"
VEHICLE_ONLY = "Vehicle search"
# police.uk outcome labels counted as formal (current wording, then older wording)
SEARCH_FORMAL_OUTCOMES = (
    "Arrest", "Summons / charged by post", "Caution (simple or conditional)",
    "Suspect arrested", "Suspect summonsed to court", "Offender cautioned",
)
PROGRAMME, COMPARATORS, DIFFERENCE = "programme", "comparators", "difference"
CONTROLLED_SCHEMA = {
    "series": pl.String, "term": pl.String, "label": pl.String, "estimate": pl.Float64, "ci_low": pl.Float64,
    "ci_high": pl.Float64, "p_value": pl.Float64, "months_before": pl.Int64, "months_after": pl.Int64,
    "forces": pl.String, "note": pl.String,
}
SERIES_COLUMNS = ("series", "force", "month", "searches", "formal", "rate", "fitted", "fitted_rate", "counterfactual",
                  "counterfactual_rate", "period", "provisional", "excluded", "in_fit")


@dataclass(frozen=True)
class ControlledImpact:
    estimates: pl.DataFrame  # CONTROLLED_SCHEMA: programme, comparators and difference rows
    series: pl.DataFrame  # SERIES_COLUMNS, one row per force and month

    def difference(self, term: str = "level_change") -> dict:
        rows = self.estimates.filter((pl.col("series") == DIFFERENCE) & (pl.col("term") == term))
        return rows.row(0, named=True) if rows.height else {}


def monthly_drug_searches(stop_search: pl.DataFrame, *, as_of: date, forces: tuple[str, ...],
                          formal_outcomes=SEARCH_FORMAL_OUTCOMES, follow_up_days: int = 0) -> pl.DataFrame:
    """Person searches for controlled drugs with an outcome recorded, and those with a formal
    outcome, per force and month: the months its files cover, from its first drug search to
    as_of (a month never imported is left out, not counted as no searches).
    Columns: force, month, searches, formal, provisional."""
    missing = [c for c in ("force", "searched_at", "search_type", "object_of_search", "outcome") if c not in stop_search.columns]
    if missing:
        raise ValueError(f"the stop-search frame has no column(s) {', '.join(missing)}")
    day = pl.col("searched_at").dt.date() if stop_search.schema["searched_at"] != pl.Date else pl.col("searched_at")
    rows = stop_search.with_columns(day.alias("_day")).filter(
        pl.col("force").is_in(forces), pl.col("_day") <= as_of, pl.col("object_of_search") == DRUG_SEARCH,
        pl.col("search_type").fill_null("") != VEHICLE_ONLY,
        pl.col("outcome").is_not_null() & (pl.col("outcome").cast(pl.String).str.strip_chars() != ""),
    )
    counted = rows.group_by(pl.col("force").cast(pl.String), pl.col("_day").dt.truncate("1mo").alias("month")).agg(
        pl.len().cast(pl.Int64).alias("searches"),
        pl.col("outcome").is_in(formal_outcomes).sum().cast(pl.Int64).alias("formal"),
    )
    grids = []
    for force in forces:  # the months the force's files cover: a month never imported is a gap, not a zero
        held = coverage.held_months(coverage.search_days(stop_search, force), as_of)
        first = rows.filter(pl.col("force") == force)["_day"].min()
        if first is not None:
            grids.append(pl.DataFrame({"force": force, "month": [m for m in held if m >= month_start(first)]},
                                      schema={"force": pl.String, "month": pl.Date}))
    if not grids:
        return pl.DataFrame(schema={"force": pl.String, "month": pl.Date, "searches": pl.Int64, "formal": pl.Int64,
                                    "provisional": pl.Boolean})
    return pl.concat(grids).join(counted, on=["force", "month"], how="left").with_columns(
        pl.col("searches").fill_null(0), pl.col("formal").fill_null(0),
        provisional_expr(pl.col("month"), as_of, follow_up_days).alias("provisional"),
    ).sort("force", "month")


def controlled_impact(stop_search: pl.DataFrame, *, force: str, comparators: tuple[str, ...], launch: date,
                      as_of: date, exclude: tuple[date, date] | None = None, formal_outcomes=SEARCH_FORMAL_OUTCOMES,
                      follow_up_days: int = 0) -> ControlledImpact:
    """The programme force's and the comparators' level and slope changes at the launch in the
    formal-outcome share of drug searches, and the programme's over the comparators'."""
    if as_of < launch:
        raise ValueError(f"the as-of date {as_of} is before the launch {launch}")
    comparators = tuple(c for c in comparators if c != force)
    if not comparators:
        raise ValueError("no comparator forces given")
    monthly = monthly_drug_searches(stop_search, as_of=as_of, forces=(force, *comparators),
                                    formal_outcomes=formal_outcomes, follow_up_days=follow_up_days)
    frame = monthly.rename({"formal": "events", "searches": "exposure"})
    fits, estimates, series = {}, [], []
    for name, forces in ((PROGRAMME, (force,)), (COMPARATORS, comparators)):
        part = frame.filter(pl.col("force").is_in(forces))
        label = ", ".join(forces)
        if part.is_empty():
            fits[name] = None
            estimates.append(_rows(name, label, None, f"no drug searches for {label}"))
            continue
        fit, rows, est = fit_series(part, launch=launch, exclude=exclude, label=name,
                                    extra_fe="force" if len(forces) > 1 else None)
        fits[name] = fit
        estimates.append(est.rename({"group": "series"}).with_columns(pl.lit(label).alias("forces")))
        series.append(rows.with_columns(pl.lit(name).alias("series")))
    estimates.append(_difference(fits, estimates))
    table = pl.concat([e.select(list(CONTROLLED_SCHEMA)).cast(CONTROLLED_SCHEMA) for e in estimates])
    if series:
        rows = pl.concat(series).rename({"events": "formal", "exposure": "searches"}).with_columns(
            pl.when(pl.col("searches") > 0).then(pl.col("formal") / pl.col("searches")).alias("rate"),
            (pl.col("fitted") / pl.col("searches")).alias("fitted_rate"),
            (pl.col("counterfactual") / pl.col("searches")).alias("counterfactual_rate"),
        ).select(SERIES_COLUMNS)
    else:
        rows = pl.DataFrame(schema=dict.fromkeys(SERIES_COLUMNS, pl.Float64))
    return ControlledImpact(table, rows)


def _rows(series: str, forces: str, values: dict | None, note: str | None) -> pl.DataFrame:
    values = values or {}
    return pl.DataFrame([{
        "series": series, "term": term, "label": text, **values.get(term, {}), "forces": forces, "note": note,
    } for term, text in TERMS if term in ("level_change", "slope_change_per_year")], schema=CONTROLLED_SCHEMA)


def _difference(fits: dict, estimates: list[pl.DataFrame]) -> pl.DataFrame:
    """Programme over comparators: exp(b_P - b_C) with a t interval on se^2_P + se^2_C."""
    programme, comparison = fits.get(PROGRAMME), fits.get(COMPARATORS)
    if programme is None or comparison is None:
        return _rows(DIFFERENCE, "", None, "needs both the programme force and comparators fitted")
    values = {}
    df = min(programme.df_resid, comparison.df_resid)
    q = stats.t.ppf(0.975, df)
    for term, weights in (("level_change", {"level": 1.0}), ("slope_change_per_year", {"slope": 12.0})):
        p, c = programme.combination(weights), comparison.combination(weights)
        log, se = p["log"] - c["log"], math.hypot(p["se"], c["se"])
        values[term] = {"estimate": math.exp(log), "ci_low": math.exp(log - q * se), "ci_high": math.exp(log + q * se),
                        "p_value": float(2 * stats.t.sf(abs(log) / se, df)) if se > 0 else None}
    months = [e for e in estimates if e.height]
    before = int(np.min([e["months_before"].min() for e in months])) if months else None
    after = int(np.min([e["months_after"].min() for e in months])) if months else None
    rows = _rows(DIFFERENCE, "programme over comparators", values, None)
    return rows.with_columns(pl.lit(before, pl.Int64).alias("months_before"), pl.lit(after, pl.Int64).alias("months_after"))
