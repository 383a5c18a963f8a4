"""Weekly referral forecasts with prediction intervals, and a rolling-origin backtest.

The models come from statsforecast (Nixtla), not written here:
- AutoETS: exponential smoothing, the error/trend form chosen by AICc. statsforecast cannot
  fit an ETS season longer than 24 periods, so on weekly data it is non-seasonal (a smoothed
  level and trend); it is asked for that explicitly rather than silently dropping a season.
- SeasonalNaive: the same week last year (52 weeks back); with less than a year and a bit of
  history, Naive (last week's count) instead.
- The combination: the average of the two (point forecast and each interval bound, i.e.
  quantile averaging). Averages of simple forecasts are hard to beat; its intervals are
  checked by the backtest like the others'.

The backtest refits every model at each origin (statsforecast cross_validation) and scores
the forecasts it would have made: MASE (mean absolute error over the in-sample error of the
seasonal naive, so below 1 beats "same week last year" fitted in-sample) and the share of
actual weeks inside the 80% and 95% intervals (coverage).

Everything here is deterministic: the same weekly series gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import polars as pl

from divert.analytics.calendar.weeks import as_day, last_complete_week, next_week, snapshot, week_start
from divert.analytics.dashboards.volume import per_period
from divert.analytics.data.memo import by_content
from divert.analytics.planning import waiting as lists

SEASON = 52
LEVELS = (80, 95)
HORIZON = 26
REACH = 40  # weeks forecast after the as-of week: two whole calendar quarters after any as-of date
MIN_HISTORY = 8  # weeks: fewer than this and no forecast is made
BACKTEST_WINDOWS = 10
BACKTEST_STEP = 4  # weeks between forecast origins (about monthly, as a manager would re-plan)

ETS, SEASONAL_NAIVE, NAIVE, COMBINATION = "ets", "seasonal_naive", "naive", "combination"
MODEL_LABELS = {
    ETS: "Smoothed level and trend (AutoETS)",
    SEASONAL_NAIVE: "Same week last year (seasonal naive)",
    NAIVE: "Last week's count (naive)",
    COMBINATION: "Average of the two (used for planning)",
}
BOUNDS = tuple(f"{side}_{level}" for level in LEVELS for side in ("lo", "hi"))
FORECAST_SCHEMA = {"week": pl.Date, "weeks_ahead": pl.Int64, "model": pl.String, "mean": pl.Float64,
                   **{b: pl.Float64 for b in BOUNDS}}
BACKTEST_SCHEMA = {"cutoff": pl.Date, **FORECAST_SCHEMA, "actual": pl.Float64, "scale": pl.Float64}
ACCURACY_SCHEMA = {"model": pl.String, "label": pl.String, "mase": pl.Float64, "coverage_80": pl.Float64,
                   "coverage_95": pl.Float64, "forecasts": pl.Int64, "origins": pl.Int64}


@dataclass(frozen=True)
class ForecastResult:
    history: pl.DataFrame  # week, referrals
    forecast: pl.DataFrame  # FORECAST_SCHEMA, every model, `horizon` weeks ahead
    backtest: pl.DataFrame  # BACKTEST_SCHEMA: what each model forecast at each past origin
    accuracy: pl.DataFrame  # ACCURACY_SCHEMA: MASE and coverage by model
    season_length: int  # 52, or 1 when there was too little history for a yearly season
    note: str | None = None  # why there is no forecast or no backtest, in plain English
    as_of: date | None = None  # the forecast is for the weeks after the one as_of falls in
    recorded: pl.DataFrame | None = None  # weekly_referrals: every complete week, gaps as missing
    this_week: dict | None = None  # the week as_of falls in: {"week", "referrals" so far} (provisional)

    def model(self, key: str = COMBINATION) -> pl.DataFrame:
        return self.forecast.filter(pl.col("model") == key)


# --- the series ---------------------------------------------------------------------------------
WEEKLY_SCHEMA = {"week": pl.Date, "referrals": pl.Int64, "in_gap": pl.Boolean}


def weekly_referrals(referrals: pl.DataFrame, as_of: date | None) -> pl.DataFrame:
    """Referrals per ISO week (Monday start), complete weeks only, up to the last week over at
    as_of: a first week that starts before the first referral's day and the week as_of falls
    in would read as falls. Weeks that touch a data gap (divert.analytics.planning.waiting: nothing at
    all recorded for weeks) have no count (`in_gap`): missing, not zero."""
    if referrals.is_empty() or as_of is None:
        return pl.DataFrame(schema=WEEKLY_SCHEMA)
    column = "referred_on" if "referred_on" in referrals.columns else "referred_at"
    last_week = last_complete_week(as_of)
    days = referrals.select(as_day(column, referrals).alias("day")).to_series()
    first_day = days.min()
    if first_day is None or week_start(first_day) > last_week:
        return pl.DataFrame(schema=WEEKLY_SCHEMA)
    weekly = per_period(referrals.filter(days <= as_of), column, "1w", name="referrals", end=last_week)
    if first_day is not None and first_day > weekly["period"][0]:
        weekly = weekly.slice(1)
    weekly = weekly.filter(pl.col("period") <= last_week)
    gap = lists.weeks_in_gap(weekly["period"], lists.data_gaps(referrals, as_of), as_of)
    return weekly.select(pl.col("period").alias("week"), pl.col("referrals").cast(pl.Int64)).with_columns(
        gap.alias("in_gap")).with_columns(
        pl.when(pl.col("in_gap")).then(None).otherwise(pl.col("referrals")).alias("referrals"))


def model_history(weekly: pl.DataFrame) -> tuple[pl.DataFrame, str | None]:
    """The run of weeks a model is fitted on (week, referrals): the latest run with no gap of
    at least MIN_HISTORY weeks (else the latest run), and a note when a gap cut the history."""
    if weekly.is_empty():
        return weekly.select("week", "referrals"), None
    runs = weekly.with_columns(pl.col("in_gap").cum_sum().alias("_run")).filter(~pl.col("in_gap"))
    if runs.is_empty():
        return runs.select("week", "referrals"), None
    sizes = runs.group_by("_run").len().sort("_run")
    long_enough = sizes.filter(pl.col("len") >= MIN_HISTORY)
    chosen = (long_enough if long_enough.height else sizes)["_run"][-1]
    history = runs.filter(pl.col("_run") == chosen).select("week", "referrals")
    note = None
    if weekly["in_gap"].any():
        after = weekly.filter(pl.col("week") > history["week"][-1])
        if after["in_gap"].any():
            missing = after.filter(pl.col("in_gap"))
            note = (f"No referrals recorded in the {missing.height} weeks from {missing['week'][0]:%d %b %Y} (a gap in "
                    f"the records): the forecast is made from the {history.height} complete weeks up to the week of "
                    f"{history['week'][-1]:%d %b %Y} and runs on across the gap, so its intervals are wide.")
        else:
            note = (f"The forecast uses the {history.height} complete weeks since a gap in the records "
                    f"(from the week of {history['week'][0]:%d %b %Y}).")
    return history, note


# --- scores ---------------------------------------------------------------------------------------
def mase_scale(train: np.ndarray, season_length: int) -> float | None:
    """In-sample mean absolute error of the seasonal naive (naive if the series is shorter
    than a season and one): the MASE denominator. None if it is zero or undefined."""
    y = np.asarray(train, dtype=float)
    m = season_length if y.size > season_length else 1
    if y.size <= m:
        return None
    scale = float(np.mean(np.abs(y[m:] - y[:-m])))
    return scale if scale > 0 else None


def mase(actual, forecast, scale: float) -> float:
    """Mean absolute scaled error: mean |actual - forecast| / scale."""
    return float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float))) / scale)


def coverage(actual, low, high) -> float:
    """Share of actual values inside [low, high]."""
    a = np.asarray(actual, float)
    return float(np.mean((a >= np.asarray(low, float)) & (a <= np.asarray(high, float))))


def accuracy(backtest: pl.DataFrame) -> pl.DataFrame:
    """MASE (each error scaled by its own origin's in-sample seasonal-naive error, then
    averaged) and the coverage of the 80% and 95% intervals, by model."""
    if backtest.is_empty():
        return pl.DataFrame(schema=ACCURACY_SCHEMA)
    scored = backtest.filter(pl.col("scale").is_not_null() & (pl.col("scale") > 0))
    table = scored.group_by("model").agg(
        ((pl.col("actual") - pl.col("mean")).abs() / pl.col("scale")).mean().alias("mase"),
        ((pl.col("actual") >= pl.col("lo_80")) & (pl.col("actual") <= pl.col("hi_80"))).mean().alias("coverage_80"),
        ((pl.col("actual") >= pl.col("lo_95")) & (pl.col("actual") <= pl.col("hi_95"))).mean().alias("coverage_95"),
        pl.len().cast(pl.Int64).alias("forecasts"),
        pl.col("cutoff").n_unique().cast(pl.Int64).alias("origins"),
    )
    order = {key: i for i, key in enumerate(MODEL_LABELS)}
    return table.with_columns(
        pl.col("model").replace_strict(MODEL_LABELS, default=pl.col("model")).alias("label"),
        pl.col("model").replace_strict(order, default=99).alias("_order"),
    ).sort("_order").select(list(ACCURACY_SCHEMA)).cast(ACCURACY_SCHEMA)


# --- the models -----------------------------------------------------------------------------------
def _models(season_length: int):
    from statsforecast.models import AutoETS, Naive, SeasonalNaive

    ets = AutoETS(season_length=1, alias=ETS)
    if season_length > 1:
        return [ets, SeasonalNaive(season_length=season_length, alias=SEASONAL_NAIVE)], SEASONAL_NAIVE
    return [ets, Naive(alias=NAIVE)], NAIVE


def _engine(season_length: int):
    from statsforecast import StatsForecast

    models, benchmark = _models(season_length)
    return StatsForecast(models=models, freq="1w", n_jobs=1), benchmark


def _long(wide: pl.DataFrame, keys: list[str], benchmark: str) -> pl.DataFrame:
    """statsforecast's wide output (one column per model and bound) -> one row per model,
    with the combination added and bounds clipped at zero (counts cannot be negative)."""
    parts = []
    for model in (ETS, benchmark):
        cols = {model: "mean", **{f"{model}-{side}-{level}": f"{side}_{level}" for level in LEVELS for side in ("lo", "hi")}}
        parts.append(wide.select(*keys, pl.lit(model).alias("model"), *[pl.col(c).alias(n) for c, n in cols.items()]))
    both = pl.concat(parts)
    combined = both.group_by(keys, maintain_order=True).agg(
        pl.lit(COMBINATION).alias("model"), *[pl.col(c).mean() for c in ("mean", *BOUNDS)]
    )
    out = pl.concat([both, combined.select(both.columns)])
    return out.with_columns(pl.col(c).clip(lower_bound=0.0) for c in ("mean", *BOUNDS))


def _frame_for(history: pl.DataFrame) -> pl.DataFrame:
    return history.select(pl.lit("referrals").alias("unique_id"), pl.col("week").alias("ds"),
                          pl.col("referrals").cast(pl.Float64).alias("y"))


def _backtest_plan(n: int, horizon: int, season_length: int) -> tuple[int, int] | None:
    """(horizon, origins) for the backtest: each origin keeps at least a season and a half
    (or 8 weeks) of training data."""
    min_train = max(MIN_HISTORY, season_length + season_length // 2 if season_length > 1 else MIN_HISTORY)
    room = n - min_train
    h = min(horizon, max(room, 0))
    if h < 1:
        return None
    windows = min(BACKTEST_WINDOWS, (room - h) // BACKTEST_STEP + 1)
    return (h, windows) if windows >= 1 else None


@by_content  # refitted only when a complete week changes
def backtest(history: pl.DataFrame, horizon: int = HORIZON, season_length: int = SEASON) -> pl.DataFrame:
    """Rolling-origin backtest: refit at each origin, forecast `horizon` weeks, keep the
    actuals beside the forecasts with that origin's MASE scale."""
    plan = _backtest_plan(history.height, horizon, season_length)
    if plan is None:
        return pl.DataFrame(schema=BACKTEST_SCHEMA)
    h, windows = plan
    engine, benchmark = _engine(season_length)
    data = _frame_for(history)
    cv = engine.cross_validation(df=data, h=h, n_windows=windows, step_size=BACKTEST_STEP, level=list(LEVELS))
    cv = cv.rename({"ds": "week"}).with_columns(pl.col("week").cast(pl.Date), pl.col("cutoff").cast(pl.Date))
    cv = cv.with_columns(((pl.col("week") - pl.col("cutoff")).dt.total_days() // 7).cast(pl.Int64).alias("weeks_ahead"))
    y = history["referrals"].to_numpy().astype(float)
    weeks = history["week"].to_list()
    scales = {}
    for cutoff in cv["cutoff"].unique().to_list():
        train = y[: weeks.index(cutoff) + 1]
        scales[cutoff] = mase_scale(train, season_length)
    scale_frame = pl.DataFrame({"cutoff": list(scales), "scale": list(scales.values())},
                               schema={"cutoff": pl.Date, "scale": pl.Float64})
    long = _long(cv, ["cutoff", "week", "weeks_ahead", "y"], benchmark)
    return long.rename({"y": "actual"}).join(scale_frame, on="cutoff", how="left").select(list(BACKTEST_SCHEMA)).cast(
        BACKTEST_SCHEMA).sort("model", "cutoff", "week")


@by_content  # a write in the week under way leaves the complete weeks as they were: no new fit
def _fitted(history: pl.DataFrame, horizon: int, season_length: int) -> pl.DataFrame:
    """Every model's forecast `horizon` weeks past the history's last week (FORECAST_SCHEMA)."""
    engine, benchmark = _engine(season_length)
    wide = engine.forecast(df=_frame_for(history), h=horizon, level=list(LEVELS))
    wide = wide.rename({"ds": "week"}).with_columns(pl.col("week").cast(pl.Date))
    last = history["week"][-1]
    wide = wide.with_columns(((pl.col("week") - pl.lit(last)).dt.total_days() // 7).cast(pl.Int64).alias("weeks_ahead"))
    return _long(wide, ["week", "weeks_ahead"], benchmark).select(list(FORECAST_SCHEMA)).cast(FORECAST_SCHEMA).sort(
        "model", "week")


def forecast_referrals(history: pl.DataFrame, horizon: int = HORIZON, season_length: int = SEASON,
                       with_backtest: bool = True) -> ForecastResult:
    """Forecast weekly referrals `horizon` weeks past the last complete week, every model with
    80% and 95% prediction intervals, and (optionally) the rolling-origin backtest."""
    history = history.sort("week")
    n = history.height
    empty = pl.DataFrame(schema=FORECAST_SCHEMA)
    if n < MIN_HISTORY:
        return ForecastResult(history, empty, pl.DataFrame(schema=BACKTEST_SCHEMA), accuracy(pl.DataFrame(schema=BACKTEST_SCHEMA)),
                              season_length, f"A forecast needs at least {MIN_HISTORY} complete weeks of referrals; "
                              f"there are {n}.")
    note = None
    if n < season_length + max(MIN_HISTORY, season_length // 4):
        note = ("Less than about a year and a quarter of referrals: the forecast cannot use the same week last year, "
                "so it compares with last week's count instead.")
        season_length = 1
    forecast = _fitted(history, max(1, int(horizon)), season_length)
    tested = backtest(history, min(horizon, HORIZON), season_length) if with_backtest else pl.DataFrame(
        schema=BACKTEST_SCHEMA)
    if with_backtest and tested.is_empty():
        note = (note + " " if note else "") + "Too little history for a backtest."
    return ForecastResult(history, forecast, tested, accuracy(tested), season_length, note)


def accuracy_by_horizon(backtest_frame: pl.DataFrame, model: str = COMBINATION) -> pl.DataFrame:
    """MASE and coverage of one model by weeks ahead: how accuracy falls with distance."""
    part = backtest_frame.filter((pl.col("model") == model) & pl.col("scale").is_not_null())
    if part.is_empty():
        return pl.DataFrame(schema={"weeks_ahead": pl.Int64, "mase": pl.Float64, "coverage_80": pl.Float64,
                                    "coverage_95": pl.Float64, "forecasts": pl.Int64})
    return part.group_by("weeks_ahead").agg(
        ((pl.col("actual") - pl.col("mean")).abs() / pl.col("scale")).mean().alias("mase"),
        ((pl.col("actual") >= pl.col("lo_80")) & (pl.col("actual") <= pl.col("hi_80"))).mean().alias("coverage_80"),
        ((pl.col("actual") >= pl.col("lo_95")) & (pl.col("actual") <= pl.col("hi_95"))).mean().alias("coverage_95"),
        pl.len().cast(pl.Int64).alias("forecasts"),
    ).sort("weeks_ahead")


# --- as of a date: the forecast for the weeks after it ------------------------------------------------
def referrals_forecast(frames, filters, horizon: int = REACH, with_backtest: bool = True) -> ForecastResult:
    """The forecast of weekly referrals within the filters, as of filters.as_of_date: fitted on
    the complete weeks up to it (model_history: a gap in the records is missing, not zero),
    running to `horizon` weeks after the week the as-of date falls in (REACH: far enough for the
    planning pages' months and quarters; the weekly views show HORIZON). The period filter is
    ignored: a forecast uses all the history there is."""
    data, as_of = snapshot(frames, filters)
    referrals = filters.without_period().apply(data.referrals, "referred_on")
    weekly = weekly_referrals(referrals, as_of)
    history, gap_note = model_history(weekly)
    reach = horizon
    if history.height:
        reach = (next_week(as_of) - history["week"][-1]).days // 7 + horizon - 1
    result = forecast_referrals(history, reach, with_backtest=with_backtest)
    so_far = referrals.filter(as_day("referred_on", referrals).is_between(week_start(as_of), as_of)).height
    note = " ".join(n for n in (gap_note, result.note) if n) or None
    return replace(result, note=note, as_of=as_of, recorded=weekly,
                   this_week={"week": week_start(as_of), "referrals": so_far, "days": as_of.weekday() + 1})


def ahead(result: ForecastResult, model: str = COMBINATION, weeks: int = HORIZON) -> pl.DataFrame:
    """One model's forecast for the `weeks` weeks after the week the as-of date falls in, with
    weeks_ahead counted from there (1 = next week): the demand every planning page plans for."""
    part = result.model(model).sort("week")
    if result.as_of is not None:
        part = part.filter(pl.col("week") >= next_week(result.as_of))
    return part.head(weeks).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("weeks_ahead"))


TABLE_ORDER = {key: i for i, key in enumerate(MODEL_LABELS)}


def forecast_table(frames, filters) -> pl.DataFrame:
    """Weekly referrals for every model, as of filters.as_of_date: the week it falls in
    (weeks_ahead 0, `provisional`: not over, with the referrals `recorded` so far) and the 26
    weeks after it, with 80% and 95% prediction intervals, turned into work with the planning
    model at the service's measured rates (divert.analytics.planning.assumptions.work): assessments, course
    seats, sessions, assessment worker-days and staff hours (central, and at each interval
    bound)."""
    from divert.analytics.planning.assumptions import plan_from_rates
    from divert.analytics.planning.demand import demand_from_forecast
    from divert.analytics.planning.rates import rates_for

    result = referrals_forecast(frames, filters, with_backtest=False)
    if result.forecast.is_empty():
        return result.forecast.with_columns(pl.lit(None, pl.Boolean).alias("provisional"),
                                            pl.lit(None, pl.Int64).alias("recorded"))
    this_week = result.this_week["week"]
    parts = []
    for model in TABLE_ORDER:
        current = result.model(model).filter(pl.col("week") == this_week).with_columns(
            pl.lit(0, pl.Int64).alias("weeks_ahead"), pl.lit(True).alias("provisional"),
            pl.lit(result.this_week["referrals"], pl.Int64).alias("recorded"))
        later = ahead(result, model).with_columns(pl.lit(False).alias("provisional"),
                                                   pl.lit(None, pl.Int64).alias("recorded"))
        parts += [current, later]
    table = pl.concat([p for p in parts if p.height])
    plan = plan_from_rates(rates_for(frames, filters))
    return demand_from_forecast(table, plan).select("week", "weeks_ahead", "model", "provisional", "recorded",
                                                     pl.exclude("week", "weeks_ahead", "model", "provisional",
                                                                "recorded"))


def chart_frame(result: ForecastResult, model: str = COMBINATION, horizon: int = HORIZON,
                history_weeks: int = 104) -> pl.DataFrame:
    """The recorded weeks (the last `history_weeks`; a gap in the records as missing), the
    week the as-of date falls in so far (provisional), and one model's forecast from that week
    to `horizon` weeks after it, in long form for a chart: week, series, referrals, the
    interval bounds (forecast weeks only) and provisional."""
    schema = {"week": pl.Date, "series": pl.String, "referrals": pl.Float64, **{b: pl.Float64 for b in BOUNDS},
              "provisional": pl.Boolean}
    weekly = result.recorded if result.recorded is not None else result.history
    recorded = weekly.tail(history_weeks).select(
        "week", pl.lit("Recorded").alias("series"), pl.col("referrals").cast(pl.Float64),
        *[pl.lit(None, pl.Float64).alias(b) for b in BOUNDS], pl.lit(False).alias("provisional"))
    parts = [recorded.cast(schema)]
    if result.this_week is not None:
        parts.append(pl.DataFrame({"week": [result.this_week["week"]], "series": ["Recorded"],
                                   "referrals": [float(result.this_week["referrals"])], "provisional": [True]})
                     .with_columns(*[pl.lit(None, pl.Float64).alias(b) for b in BOUNDS]).select(list(schema)).cast(schema))
    first = result.this_week["week"] if result.this_week is not None else None
    forecast = result.model(model).sort("week")
    if first is not None:
        forecast = forecast.filter(pl.col("week") >= first)
    forecast = forecast.head(horizon + (1 if first is not None else 0)).select(
        "week", pl.lit("Forecast").alias("series"), pl.col("mean").alias("referrals"), *BOUNDS,
        pl.lit(True).alias("provisional"))
    parts.append(forecast.cast(schema))
    return pl.concat(parts)


def headline(result: ForecastResult, model: str = COMBINATION, horizon: int = HORIZON) -> dict | None:
    """Next week's forecast (the week after the one the as-of date falls in: a row with its
    intervals), the average a week over the `horizon` weeks from then, the latest complete week
    recorded, and this week so far."""
    coming = ahead(result, model, horizon)
    if coming.is_empty():
        return None
    weekly = result.recorded if result.recorded is not None else result.history
    known = weekly.drop_nulls("referrals")
    return {"next_week": coming.row(0, named=True), "mean_per_week": float(coming["mean"].mean()),
            "latest_week": known["week"][-1] if known.height else None,
            "latest_referrals": int(known["referrals"][-1]) if known.height else None,
            "this_week": result.this_week}


def coverage_long(accuracy_table: pl.DataFrame) -> pl.DataFrame:
    """Coverage by model and interval in long form, with the share each interval should
    cover (its nominal level), for a chart."""
    if accuracy_table.is_empty():
        return pl.DataFrame(schema={"model": pl.String, "label": pl.String, "interval": pl.String,
                                    "coverage": pl.Float64, "nominal": pl.Float64, "forecasts": pl.Int64})
    parts = [accuracy_table.select("model", "label", pl.lit(f"{level}% interval").alias("interval"),
                                   pl.col(f"coverage_{level}").alias("coverage"),
                                   pl.lit(level / 100).alias("nominal"), "forecasts") for level in LEVELS]
    return pl.concat(parts)
