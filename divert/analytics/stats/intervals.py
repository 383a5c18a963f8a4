"""Confidence intervals, from statsmodels, vectorised over frames where that helps.

- proportions: Wilson score interval (good at small counts and at 0% / 100%);
- ratio of two proportions: Katz log interval, exact-safe fallbacks for zero counts;
- ratio of two Poisson rates: score interval (statsmodels confint_poisson_2indep).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.rates import confint_poisson_2indep

Z95 = 1.959963984540054


def wilson(events, trials, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval for events/trials (arrays); NaN where trials == 0."""
    k = np.asarray(events, dtype=float)
    n = np.asarray(trials, dtype=float)
    safe = np.where(n > 0, n, 1)
    lo, hi = proportion_confint(np.minimum(k, safe), safe, alpha=alpha, method="wilson")
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def with_share(frame: pl.DataFrame, events: str, trials: str, name: str = "share") -> pl.DataFrame:
    """Add name, name_low, name_high (Wilson 95%) columns; null where trials is 0."""
    lo, hi = wilson(frame[events].to_numpy(), frame[trials].to_numpy())
    n = frame[trials]
    return frame.with_columns(
        pl.when(n > 0).then(pl.col(events) / pl.col(trials)).otherwise(None).alias(name),
        pl.Series(f"{name}_low", lo).fill_nan(None),
        pl.Series(f"{name}_high", hi).fill_nan(None),
    )


def risk_ratio(a: int, n_a: int, b: int, n_b: int) -> tuple[float | None, float | None, float | None]:
    """(a/n_a) / (b/n_b) with the Katz log 95% interval. With a zero count the ratio is 0 or
    undefined; a 0.5 continuity correction gives a finite, honest (wide) interval."""
    if n_a <= 0 or n_b <= 0 or b == 0:
        return None, None, None  # no denominator, or the reference rate is zero: no ratio
    ratio = (a / n_a) / (b / n_b)
    aa, bb, na, nb = (a, b, n_a, n_b) if a > 0 else (a + 0.5, b + 0.5, n_a + 1, n_b + 1)
    variance = max(1 / aa - 1 / na + 1 / bb - 1 / nb, 0.0)
    log_ratio = math.log((aa / na) / (bb / nb))
    half = Z95 * math.sqrt(variance)
    return ratio, math.exp(log_ratio - half), math.exp(log_ratio + half)


def rate_ratio(count_a: int, exposure_a: float, count_b: int, exposure_b: float):
    """(count_a/exposure_a) / (count_b/exposure_b) with a score 95% interval (Poisson)."""
    if exposure_a <= 0 or exposure_b <= 0 or count_b == 0:
        return None, None, None
    ratio = (count_a / exposure_a) / (count_b / exposure_b)
    low, high = confint_poisson_2indep(count_a, exposure_a, count_b, exposure_b, method="score", compare="ratio")
    return ratio, float(low), float(high)


def newcombe(k1, n1, k2, n2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of two proportions p2 - p1 with Newcombe's hybrid score 95% interval
    (statsmodels, method "newcomb"); NaN where a denominator is 0."""
    k1, n1, k2, n2 = (np.asarray(x, dtype=float) for x in (k1, n1, k2, n2))
    ok = (n1 > 0) & (n2 > 0)
    safe1, safe2 = np.where(ok, n1, 1), np.where(ok, n2, 1)
    d = np.where(ok, np.minimum(k2, safe2) / safe2 - np.minimum(k1, safe1) / safe1, np.nan)
    low, high = confint_proportions_2indep(np.minimum(k2, safe2), safe2, np.minimum(k1, safe1), safe1,
                                           method="newcomb", compare="diff")
    return d, np.where(ok, low, np.nan), np.where(ok, high, np.nan)
