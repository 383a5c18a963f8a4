"""Relative rates against a reference group, with 95% intervals.

For rates per population (Poisson) the log interval sqrt(1/a + 1/b) when both counts are at least
10, else the exact conditional interval (Clopper-Pearson on a | a+b); for ratios of proportions the
Katz log interval when every cell is at least 10, else the score interval (statsmodels), or at
0% and 100% the MOVER interval from two Wilson intervals. Nothing
divides by zero: a ratio without a defined reference is null. The reference group's own row is 1
by definition and has no interval: it is not an estimate.
"""

from __future__ import annotations

import math

import numpy as np
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from divert.analytics.stats.intervals import Z95, risk_ratio
from divert.core.codes import REFERENCE_GROUP

REFERENCE = REFERENCE_GROUP
SMALL = 10
UNCOUNTED = ("Not stated", "Missing")  # kept in every table, never given a population or a ratio
NO_RATIO = (None, None, None)
REFERENCE_ROW = (1.0, None, None)


def poisson_ratio(a: int, exposure_a: float, b: int, exposure_b: float) -> tuple[float | None, float | None, float | None]:
    """(a/exposure_a)/(b/exposure_b) and its 95% interval."""
    if not exposure_a or not exposure_b or exposure_a <= 0 or exposure_b <= 0 or b == 0:
        return NO_RATIO
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
        return NO_RATIO
    if min(a, b, n_a - a, n_b - b) >= SMALL:
        return risk_ratio(a, n_a, b, n_b)
    if a in (0, n_a) or b == n_b:
        return mover_ratio(a, n_a, b, n_b)  # the score interval breaks down at 0% and 100%
    with np.errstate(all="ignore"):
        low, high = confint_proportions_2indep(a, n_a, b, n_b, compare="ratio", method="score")
    if np.iscomplexobj(low) or np.iscomplexobj(high) or np.isnan(low) or np.isnan(high):
        return risk_ratio(a, n_a, b, n_b)  # the score equation has no real root here: Katz with a correction
    ratio = (a / n_a) / (b / n_b)
    return ratio, float(low), (float(high) if math.isfinite(high) else None)


def mover_ratio(a: int, n_a: int, b: int, n_b: int) -> tuple[float | None, float | None, float | None]:
    """(a/n_a)/(b/n_b) with the MOVER interval built from the two Wilson intervals (Donner and Zou
    2012), which stays sensible when a share is 0% or 100%."""
    if n_a <= 0 or n_b <= 0 or b == 0:
        return NO_RATIO
    p1, p2 = a / n_a, b / n_b
    (l1, u1), (l2, u2) = (proportion_confint(k, n, alpha=0.05, method="wilson") for k, n in ((a, n_a), (b, n_b)))
    low = (p1 * p2 - math.sqrt(max((p1 * p2) ** 2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2), 0.0))) / (u2 * (2 * p2 - u2))
    high = (p1 * p2 + math.sqrt(max((p1 * p2) ** 2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2), 0.0))) / (l2 * (2 * p2 - l2))
    return p1 / p2, (low if low > 0 else 0.0), high


def significant(low, high) -> bool | None:
    if low is None or high is None:
        return None
    return bool(low > 1 or high < 1)


def reading(ratio: float | None, group: str | None = None) -> str | None:
    if group == REFERENCE:
        return "reference group (1 by definition)"
    if ratio is None:
        return None
    if ratio == 0:
        return "none at this stage"
    if ratio >= 1:
        return f"{ratio:.2f} times the White rate"
    return f"the White rate is {1 / ratio:.2f} times this group's"
