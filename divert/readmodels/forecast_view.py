"""What the Forecast page shows beyond the forecast itself (divert.analytics.planning.forecast):
the methods to choose from under their plain names, the backtest of each method with its
headline figures and the sentence that compares them, and the forecast by week, calendar month
or quarter over a horizon stated in words (divert.analytics.planning.periods), with the work it
means and its total."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from divert.analytics.planning import by_period, forecast, periods

# plain names on screen; the technical name of each method is in the help text
PLAIN = {forecast.ETS: "Recent level and trend", forecast.SEASONAL_NAIVE: "Same week last year",
         forecast.NAIVE: "Last week's count", forecast.COMBINATION: "Average of the two (used for planning)"}
ERROR_NAME = "Error against 'same week last year'"


def models(result: forecast.ForecastResult) -> list[str]:
    """The forecasts made, in the order of MODEL_LABELS; empty when there is no forecast."""
    made = set(result.forecast["model"].to_list())
    return [m for m in forecast.MODEL_LABELS if m in made]


def label(model: str) -> str:
    """A method's plain name."""
    return PLAIN.get(model, forecast.MODEL_LABELS.get(model, model))


@dataclass(frozen=True)
class Backtest:
    """The rolling-origin backtest as the page shows it."""

    origins: int  # the past dates the forecasts were made again from
    chosen: dict  # the chosen method's row (or the only one)
    compared: str  # the error of each method, in a sentence
    coverage: pl.DataFrame  # each method with its plain label, for the coverage chart
    table: pl.DataFrame  # the same, for the table and download
    by_horizon: pl.DataFrame  # the chosen method's error by weeks ahead


def backtest(result: forecast.ForecastResult, model: str) -> Backtest | None:
    """How well each method forecast the past, or None when there is too little history."""
    acc = result.accuracy
    if acc.is_empty():
        return None
    origins = int(acc["origins"].max())
    acc = acc.with_columns(pl.col("model").replace_strict(PLAIN, default=pl.col("label")).alias("label"))
    chosen = acc.row(0, named=True) if acc.height == 1 else acc.filter(pl.col("model") == model).row(0, named=True)
    compared = (f"{ERROR_NAME}, each forecast: " + "; ".join(f"{row['label']} {row['mase']:.2f}"
                                                             for row in acc.iter_rows(named=True))
                + f". Based on {int(acc['forecasts'].max()):,} weeks forecast from {origins} past dates.")
    return Backtest(origins, chosen, compared, acc, acc.drop("model").rename({"mase": "error_against_same_week_last_year"}),
                    forecast.accuracy_by_horizon(result.backtest, model))


# --- by week, month or quarter (divert.analytics.planning.by_period) -------------------------------------------
Planned, planned = by_period.Planned, by_period.planned


def period_caption(plan: Planned) -> str:
    """What the period table and chart show, with the method behind the ranges."""
    noun = {periods.WEEK: "week", periods.MONTH: "calendar month", periods.QUARTER: "calendar quarter"}[
        plan.horizon.grain]
    return (f"{plan.horizon.words()}. Referrals expected each {noun}, with the range they should fall in 80 and 95 "
            "times in 100, and the work they mean at the service's measured rates; the last row is the total over "
            f"the horizon. Pale bars are partial periods. {periods.METHOD}"
            + (f" {plan.note}" if plan.note else ""))


def period_title(plan: Planned) -> str:
    """"Referrals by calendar month: about 137 from 1 Oct 2025 to 31 Dec 2025"."""
    noun = {periods.WEEK: "week", periods.MONTH: "calendar month", periods.QUARTER: "calendar quarter"}[
        plan.horizon.grain]
    return f"Referrals by {noun}: about {plan.total['referrals']:,.0f} from {plan.horizon.span()}"


def horizon_choices(grain: str) -> tuple[int, ...]:
    return periods.CHOICES[grain]


def choice_label(grain: str, count: int) -> str:
    """"13 weeks", "3 months", "1 quarter"."""
    unit = {periods.WEEK: "week", periods.MONTH: "month", periods.QUARTER: "quarter"}[grain]
    return f"{count} {unit}{'' if count == 1 else 's'}"
