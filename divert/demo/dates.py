"""Days, local wall-clock seconds and vectorised sampling shared by the demo generators.

Internally a day is an int (days since 1970-01-01) and a moment is int seconds of local
(Europe/London) wall-clock time since 1970-01-01; `utc_seconds` turns moments into real UTC
instants only when the tables are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from divert.demo import parameters as P

DAY = 86_400
EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    return (d - EPOCH).days




def end_moment(end_day: int) -> int:
    """The last second of the end day, local time."""
    return (end_day + 1) * DAY - 1


NEVER = np.iinfo(np.int64).max // 4


def days(first: date, last: date) -> np.ndarray:
    return np.arange(day_number(first), day_number(last) + 1, dtype=np.int64)


def years(day: np.ndarray) -> np.ndarray:
    return day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def months(day: np.ndarray) -> np.ndarray:
    """0..11"""
    return day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12


def weekdays(day: np.ndarray) -> np.ndarray:
    """0 = Monday (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


@dataclass(frozen=True)
class Scene:
    """What a demo is generated for: the programme's force, its areas and launch, and the
    days it covers (from `start` to `end`)."""
    force: str
    launch: date
    end: date
    areas: tuple[str, ...]  # local authority codes of the force area
    area_names: tuple[str, ...]
    diversion_outcome: int = 8
    population_factor: float = 1.0  # the force's population against the reference force's

    @property
    def start(self) -> date:
        """Two years before the launch at least, from the start of a year."""
        return min(P.START, date(self.launch.year - 2, 1, 1))

    @property
    def start_day(self) -> int:
        return day_number(self.start)

    @property
    def launch_day(self) -> int:
        return day_number(self.launch)

    @property
    def end_day(self) -> int:
        return day_number(self.end)

    def months_after_launch(self, months: int) -> date:
        year, month = divmod(self.launch.month - 1 + months, 12)
        return date(self.launch.year + year, month + 1, 1)


def daily_rates(day: np.ndarray, per_month: float, scale: float, uplift: float = 0.0,
                launch_day: int = day_number(P.LAUNCH)) -> np.ndarray:
    """Expected events per day: the monthly level shaped by month and weekday, stepped up
    by `uplift` from the launch."""
    month_shape = np.asarray(P.MONTH_SHAPE) / np.mean(P.MONTH_SHAPE)
    week_shape = np.asarray(P.WEEKDAY_SHAPE) / np.mean(P.WEEKDAY_SHAPE)
    rate = per_month * 12 / 365.25 * scale * month_shape[months(day)] * week_shape[weekdays(day)]
    return rate * np.where(day >= launch_day, 1.0 + uplift, 1.0)


def event_days(rng: np.random.Generator, first: date, last: date, rate: np.ndarray) -> np.ndarray:
    """Poisson counts per day, one entry per event, in day order."""
    span = days(first, last)
    return np.repeat(span, rng.poisson(rate))


def utc_seconds(local: np.ndarray) -> np.ndarray:
    """Local (Europe/London) wall-clock seconds -> UTC epoch seconds. A time skipped when the
    clocks go forward is read as an hour later; a repeated one as its first occurrence."""
    if len(local) == 0:
        return np.asarray(local, dtype=np.int64)
    naive = pl.Series(np.asarray(local, dtype=np.int64) * 1_000_000).cast(pl.Datetime("us"))
    zone = P.TIME_ZONE

    def convert(series: pl.Series) -> pl.Series:
        return series.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")

    aware = convert(naive)
    if aware.null_count():
        aware = aware.fill_null(convert(naive + pl.duration(hours=1)))
    return aware.dt.epoch("s").to_numpy().astype(np.int64)


# --- sampling ---------------------------------------------------------------------------------
def normalised(weights) -> np.ndarray:
    w = np.asarray(list(weights), dtype=float)
    return w / w.sum()


def pick(rng: np.random.Generator, options: dict, n: int) -> np.ndarray:
    """n indices into the keys of `options`, drawn with its values as weights."""
    return rng.choice(len(options), size=n, p=normalised(options.values()))


def pick_rows(u: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Category index per row, from a uniform draw u and each row's probability vector."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative /= cumulative[:, -1:]
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), probabilities.shape[1] - 1)


def between(rng: np.random.Generator, low, high, n: int) -> np.ndarray:
    """Uniform integers in [low, high] (inclusive), vectorised."""
    return rng.integers(low, np.asarray(high) + 1, size=n)
