"""Stop-and-search rows as police.uk publishes them (labels, blanks and all), one
`demo-YYYY-MM-west-midlands-stop-and-search.csv` per month."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from divert.core import codes
from divert.demo import dates as C
from divert.demo import parameters as P
from divert.demo.people import (
    BROAD_OF_SELF,
    OFFICER_CODES,
    SELF_CODES,
    area_weights,
    ethnicity_weights,
    officer_matrix,
)

# code -> the police.uk label (the first label listed for a code)
SELF_LABEL: dict[str, str] = {}
for _label, _code in codes.POLICE_UK_SELF_DEFINED.items():
    SELF_LABEL.setdefault(_code, _label)
OFFICER_LABEL = {"IC1": "White", "IC2": "White", "IC3": "Black", "IC4": "Asian", "IC5": "Asian", "IC6": "Other"}


LABEL_COLUMNS = [
    "force", "search_type", "gender", "age_range", "ethnicity_self_label", "ethnicity_self_code",
    "ethnicity_officer", "legislation", "object_of_search", "outcome", "area", "source_file",
]  # fmt: skip


def _labels(options: dict, index: np.ndarray) -> pl.Series:
    return pl.Series(list(options), dtype=pl.String).gather(index)


def generate(rng: np.random.Generator, scale: float, by_code: dict, area_population: dict,
             scene: C.Scene) -> pl.DataFrame:
    """Every search from the scene's start to its end, a year at a time (bounded memory at large
    scales)."""
    years = []
    for year in range(scene.start.year, scene.end.year + 1):
        first, last = max(scene.start, date(year, 1, 1)), min(scene.end, date(year, 12, 31))
        rate = C.daily_rates(C.days(first, last), P.SEARCHES_PER_MONTH, scale * scene.population_factor)
        years.append(_searches(rng, C.event_days(rng, first, last, rate), by_code, area_population, scene))
    return pl.concat(years, rechunk=False).with_columns(pl.lit(True).alias("demo"))


def _searches(rng: np.random.Generator, day: np.ndarray, by_code: dict, area_population: dict,
              scene: C.Scene) -> pl.DataFrame:
    n = len(day)
    hour = np.mod(rng.normal(19.0, 5.0, n), 24.0)
    moment = day * C.DAY + (hour * 3600).astype(np.int64)
    order = np.argsort(moment, kind="stable")
    day, moment = day[order], moment[order]

    search_type = C.pick(rng, P.SEARCH_TYPES, n)
    vehicle_only = search_type == list(P.SEARCH_TYPES).index("Vehicle search")
    self_code = rng.choice(len(SELF_CODES), size=n, p=ethnicity_weights(by_code))
    officer = C.pick_rows(rng.random(n), officer_matrix()[self_code])
    self_blank = vehicle_only | (rng.random(n) < P.SEARCH_SELF_BLANK)
    officer_blank = vehicle_only | (rng.random(n) < 0.02)
    broad = BROAD_OF_SELF[self_code]

    legislation = C.pick(rng, P.SEARCH_LEGISLATION, n)
    legislation_names = list(P.SEARCH_LEGISLATION)
    drugs_act = legislation == legislation_names.index("Misuse of Drugs Act 1971 (section 23)")
    section_60 = legislation == legislation_names.index("Criminal Justice and Public Order Act 1994 (section 60)")
    pace_object = np.array(list(P.PACE_OBJECTS))[C.pick(rng, P.PACE_OBJECTS, n)]
    blank_law = legislation == legislation_names.index(None)
    obj = np.where(drugs_act | blank_law, "Controlled drugs", np.where(section_60, "Offensive weapons", pace_object))

    outcome, linked = _outcomes(rng, day, broad, scene)
    u = rng.random(n)
    clothing = np.where(vehicle_only, 2, np.where(u < 0.03, 1, np.where(u < 0.93, 0, 2)))
    u = rng.random(n)
    operation = np.where(u < 0.02, 1, np.where(u < 0.8, 0, 2))

    area, located, latitude, longitude = _places(rng, n, area_population, scene)

    gender = C.pick(rng, P.SEARCH_GENDER, n)
    age = C.pick(rng, P.SEARCH_AGE, n)
    # one file a month, rows numbered from 1 in each (rows are in time order)
    source_file = pl.Series(day.astype(np.int32)).cast(pl.Date).dt.strftime(f"demo-%Y-%m-{scene.force}-stop-and-search.csv")
    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    source_row = np.arange(n) - np.searchsorted(month, month, side="left") + 1

    def flag(values: np.ndarray) -> pl.Series:
        series = pl.Series(values == 1)
        return series.scatter(np.flatnonzero(values == 2), None)

    frame = pl.DataFrame(
        {
            "force": pl.Series([scene.force] * n, dtype=pl.String),
            "search_type": _labels(P.SEARCH_TYPES, search_type),
            "searched_at": pl.Series(C.utc_seconds(moment) * 1_000_000).cast(pl.Datetime("us", "UTC")),
            "part_of_operation": flag(operation),
            "operation_name": pl.Series([None] * n, dtype=pl.String),
            "latitude": pl.Series(np.where(located, latitude, np.nan)).fill_nan(None),
            "longitude": pl.Series(np.where(located, longitude, np.nan)).fill_nan(None),
            "gender": _labels(P.SEARCH_GENDER, gender),
            "age_range": _labels(P.SEARCH_AGE, age),
            "ethnicity_self_label": pl.Series([SELF_LABEL[c] for c in SELF_CODES]).gather(self_code),
            "ethnicity_self_code": pl.Series(SELF_CODES).gather(self_code),
            "ethnicity_officer": pl.Series([OFFICER_LABEL.get(c) for c in OFFICER_CODES], dtype=pl.String).gather(
                officer
            ),
            "legislation": _labels(P.SEARCH_LEGISLATION, legislation),
            "object_of_search": pl.Series(obj),
            "outcome": pl.Series(P.SEARCH_OUTCOMES).gather(outcome),
            "outcome_linked": flag(linked),
            "removal_of_clothing": flag(clothing),
            "area": pl.Series(scene.areas).gather(area),
            "source_file": source_file,
            "source_row": source_row,
        }
    )
    blank = pl.Series(self_blank)
    frame = frame.with_columns(
        pl.when(blank).then(None).otherwise(pl.col("ethnicity_self_label")).alias("ethnicity_self_label"),
        pl.when(blank).then(None).otherwise(pl.col("ethnicity_self_code")).alias("ethnicity_self_code"),
        pl.when(pl.Series(officer_blank)).then(None).otherwise(pl.col("ethnicity_officer")).alias("ethnicity_officer"),
        pl.when(pl.Series(vehicle_only)).then(None).otherwise(pl.col("gender")).alias("gender"),
        pl.when(pl.Series(vehicle_only)).then(None).otherwise(pl.col("age_range")).alias("age_range"),
    )
    # few distinct labels: hold them as categories (the values written are the same strings)
    return frame.with_columns(pl.col(LABEL_COLUMNS).cast(pl.Categorical))


def _outcomes(rng: np.random.Generator, day: np.ndarray, broad: np.ndarray, scene: C.Scene):
    """Each search's outcome (finds likelier for the groups P.SEARCH_FIND_ODDS names, the shares
    changing at the launch) and whether it was linked to the object of the search."""
    n = len(day)
    after = day >= scene.launch_day
    shares = np.where(after[:, None], P.SEARCH_OUTCOMES_AFTER, P.SEARCH_OUTCOMES_BEFORE)
    find_odds = np.array([P.SEARCH_FIND_ODDS[b] for b in ("White", "Mixed", "Asian", "Black", "Other", "Not stated")])
    found = 1.0 - shares[:, 0]
    shifted = found * find_odds[broad] / (1.0 - found + found * find_odds[broad])
    shares[:, 1:] *= (shifted / found)[:, None]
    shares[:, 0] = 1.0 - shifted
    outcome = C.pick_rows(rng.random(n), shares)
    nfa = outcome == 0
    u = rng.random(n)
    linked = np.where(nfa, np.where(u < 0.85, 0, 2), np.where(u < 0.75, 1, np.where(u < 0.95, 0, 2)))
    return outcome, linked


def _places(rng: np.random.Generator, n: int, area_population: dict, scene: C.Scene):
    """Each search's area (by population) and a location near the area's centre (5% blank)."""
    area = rng.choice(len(scene.areas), size=n, p=area_weights(area_population, scene.areas))
    centre = np.array([P.AREA_CENTRES.get(a, (np.nan, np.nan)) for a in scene.areas])[area]
    located = (rng.random(n) >= 0.05) & ~np.isnan(centre[:, 0])  # no centre known: location left blank
    latitude = np.round(centre[:, 0] + rng.normal(0, 0.025, n), 6)
    longitude = np.round(centre[:, 1] + rng.normal(0, 0.04, n), 6)
    return area, located, latitude, longitude
