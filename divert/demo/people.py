"""Recorded possession offences and the people behind them (arrays, vectorised).

Offences arrive day by day (Poisson around the monthly level, +30% from the launch). Each
offence is by a new person, or - with REPEAT_SHARE - by the person of an earlier offence about
REPEAT_GAP_DAYS before it; chains of repeats are resolved by pointer jumping, so a person's
offences, age, sex and ethnicity stay consistent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from divert.core import codes
from divert.demo import dates as C
from divert.demo import parameters as P
from divert.reference.census import census_2011_frame

SELF_CODES = list(codes.ETHNICITY_SELF)  # 18 + NS
OFFICER_CODES = list(codes.ETHNICITY_OFFICER)
DRUG_CODES = list(P.DRUGS)
SOURCE_CODES = list(P.SOURCES)
BROAD_NAMES = ["White", "Mixed", "Asian", "Black", "Other", "Not stated"]
BROAD_OF_SELF = np.array([BROAD_NAMES.index(codes.broad_group(c)) for c in SELF_CODES])


@dataclass
class Offences:
    day: np.ndarray
    person: np.ndarray  # index into People
    area: np.ndarray  # index into the scene's areas
    drug: np.ndarray  # index into DRUG_CODES
    source: np.ndarray  # index into SOURCE_CODES
    age: np.ndarray
    seconds: np.ndarray  # local time of day

    def __len__(self) -> int:
        return len(self.day)


@dataclass
class People:
    first_day: np.ndarray
    birth_year: np.ndarray
    sex: np.ndarray  # "M" / "F" / "X"
    ethnicity_self: np.ndarray  # index into SELF_CODES
    ethnicity_officer: np.ndarray  # index into OFFICER_CODES
    home_area: np.ndarray

    def __len__(self) -> int:
        return len(self.first_day)

    @property
    def broad(self) -> np.ndarray:
        return BROAD_OF_SELF[self.ethnicity_self]


def census_counts(force: str) -> tuple[dict[str, int], dict[str, int]]:
    """2011 force population by self-defined code, and by local authority (All)."""
    frame = census_2011_frame(force)
    force = frame.filter(pl.col("geography_level") == "force")
    by_code = dict(zip(force["ethnicity"], force["count"], strict=True))
    areas = frame.filter((pl.col("geography_level") == "local_authority") & (pl.col("ethnicity") == "All"))
    return by_code, dict(zip(areas["geography_code"], areas["count"], strict=True))


def ethnicity_weights(by_code: dict[str, int]) -> np.ndarray:
    """Chance of each self-defined code (SELF_CODES order) for a person searched or
    recorded: census share x the broad group's relative rate, then the not-stated share."""
    stated = np.array(
        [by_code[c] * P.RELATIVE_RATE[codes.broad_group(c)] if c != "NS" else 0.0 for c in SELF_CODES]
    )
    weights = stated / stated.sum() * (1.0 - P.NOT_STATED)
    weights[SELF_CODES.index("NS")] = P.NOT_STATED
    return weights


def officer_matrix() -> np.ndarray:
    """Row per self-defined code: the chance of each officer-defined code."""
    matrix = np.zeros((len(SELF_CODES), len(OFFICER_CODES)))
    for row, code in enumerate(SELF_CODES):
        probabilities = P.OFFICER_DEFINED.get(code) or P.OFFICER_DEFINED[code[0]]
        for ic, p in probabilities.items():
            matrix[row, OFFICER_CODES.index(ic)] = p
    return matrix / matrix.sum(axis=1, keepdims=True)


def area_weights(area_population: dict[str, int], areas: tuple[str, ...]) -> np.ndarray:
    return C.normalised(area_population.get(a, 0) * P.AREA_WEIGHT.get(a, 1.0) for a in areas)


def person_of_offences(rng: np.random.Generator, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(person index per offence, True where the offence is the person's first)."""
    n = len(day)
    first_day = day[0] if n else 0
    per_day = np.bincount(day - first_day) if n else np.zeros(0, dtype=np.int64)
    day_start = np.concatenate([[0], np.cumsum(per_day)[:-1]]) if n else per_day
    repeat = rng.random(n) < P.REPEAT_SHARE
    gap = P.REPEAT_MIN_GAP_DAYS + rng.exponential(P.REPEAT_GAP_DAYS, n).astype(np.int64)
    earlier = day - gap - first_day
    u = rng.random(n)
    valid = repeat & (earlier >= 0)
    earlier = np.where(valid, earlier, 0)
    count = per_day[earlier] if n else per_day
    valid &= count > 0
    parent = np.arange(n)
    parent[valid] = day_start[earlier[valid]] + (u[valid] * count[valid]).astype(np.int64)
    while True:  # pointer jumping: each offence to the first offence of its chain
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    first = parent == np.arange(n)
    index = np.cumsum(first) - 1
    return index[parent], first


def generate_people(rng: np.random.Generator, first_day: np.ndarray, by_code: dict, area_population: dict,
                    areas: tuple[str, ...]) -> People:
    n = len(first_day)
    sex = np.array(list(P.SEX))[C.pick(rng, P.SEX, n)]
    ethnicity_self = rng.choice(len(SELF_CODES), size=n, p=ethnicity_weights(by_code))
    ethnicity_officer = C.pick_rows(rng.random(n), officer_matrix()[ethnicity_self])
    band = C.pick(rng, P.AGE_BANDS, n)
    low = np.array([P.AGE_RANGES[b][0] for b in P.AGE_BANDS])[band]
    high = np.array([P.AGE_RANGES[b][1] for b in P.AGE_BANDS])[band]
    older = band == len(P.AGE_BANDS) - 1  # over 34: fewer as age rises
    age = np.where(
        older,
        np.minimum(low + rng.exponential(9.0, n).astype(np.int64), high),
        C.between(rng, low, high, n),
    )
    birth_year = C.years(first_day) - age
    home_area = rng.choice(len(areas), size=n, p=area_weights(area_population, areas))
    return People(first_day, birth_year, sex, ethnicity_self, ethnicity_officer, home_area)


def generate(rng: np.random.Generator, scale: float, scene: C.Scene) -> tuple[Offences, People]:
    by_code, area_population = census_counts(scene.force)
    rate = C.daily_rates(C.days(scene.start, scene.end), P.OFFENCES_PER_MONTH, scale * scene.population_factor,
                         P.LAUNCH_UPLIFT, scene.launch_day)
    day = C.event_days(rng, scene.start, scene.end, rate)
    person, first = person_of_offences(rng, day)
    people = generate_people(rng, day[first], by_code, area_population, scene.areas)
    n = len(day)
    # a person mostly uses one drug
    main_drug = rng.choice(len(DRUG_CODES), size=len(people), p=C.normalised(P.DRUGS.values()))
    other_drug = rng.choice(len(DRUG_CODES), size=n, p=C.normalised(P.DRUGS.values()))
    drug = np.where(rng.random(n) < 0.8, main_drug[person], other_drug)
    away = rng.choice(len(scene.areas), size=n, p=area_weights(area_population, scene.areas))
    area = np.where(rng.random(n) < P.HOME_AREA_OFFENCE, people.home_area[person], away)
    source = C.pick(rng, P.SOURCES, n)
    # time of day: mostly afternoon and evening
    hour = np.clip(rng.normal(17.0, 4.5, n), 0, 23.99)
    seconds = (hour * 3600).astype(np.int64)
    age = C.years(day) - people.birth_year[person]
    return Offences(day, person, area, drug, source, age, seconds), people
