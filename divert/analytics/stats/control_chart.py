"""The equity watch's control chart: an EWMA of a group's events against the events expected
at its usual relative rate to White, standardised with binomial variances from the counts.

Everything here works on numpy arrays whose last axis is the month, so the watch and the
calibration simulations run the very same code (vectorised over charts and runs).

For a group g and month t: a = group events, n = group denominator, b = White events,
m = White denominator. The baseline relative rate RR0 pools every month from the first one
up to `GUARD_MONTHS` before t (at least `MIN_BASELINE_MONTHS` of them), so a change under way
does not leak into its own baseline. The events expected at RR0 are e = n * RR0 * b/m, the
deviation d = a - e, and its null variance V = n p0 (1 - p0) + (n RR0)^2 pW (1 - pW) / m
(p0 = RR0 pW, pW = White's baseline rate). With weights lambda (1 - lambda)^k:

    S_t = (1 - lambda) S_{t-1} + lambda d_t        W_t = (1 - lambda)^2 W_{t-1} + lambda^2 V_t
    E_t = (1 - lambda) E_{t-1} + lambda e_t        Z_t = S_t / sqrt(W_t + E_t^2 var(log RR0))

Z is standard normal while the relative rate stays at its baseline (the last term carries the
baseline's own uncertainty). An alarm is |Z| > LIMIT; an alert stays open until Z has been
back inside the limits for CLOSE_AFTER months running. A chart is drawn only while both the
group and White have, on average over the baseline, at least MIN_EVENTS_PER_MONTH of each
outcome (events and non-events) a month: below that the normal approximation fails and the
chart would raise false alarms on single events.

Calibration (tests/test_watch.py re-measures it): simulated stages of four groups against
White, binomial counts at 0.3 to 20 times the demo's volumes, 60 months, no change. With
LAMBDA = 0.5 and LIMIT = 2.7 the alarms per stage per 24 monitored months ranged from 0.0
(small volumes, where few charts qualify) to about 0.6 (large volumes, four charts), under the
stated rate of 1 (LIMIT = 2.6 gave up to 0.8). At demo volume a relative rate raised by half in
the intelligence-log stage was flagged within three months in about 84% of runs for the Black
group and 88% for the Asian group.
"""

from __future__ import annotations

import numpy as np

LAMBDA = 0.5  # EWMA weight of the newest month
LIMIT = 2.7  # alarm when |Z| exceeds this (calibrated by simulation, see above)
CLOSE_AFTER = 3  # months back inside the limits that close an alert
GUARD_MONTHS = 6  # the newest months are kept out of the baseline
MIN_BASELINE_MONTHS = 12  # months of baseline before a chart starts
MIN_EVENTS_PER_MONTH = 2.0  # of each outcome, in the group and in White, for a chart to be drawn
FALSE_ALARMS_PER_STAGE_PER_TWO_YEARS = 1.0  # the stated rate the constants are calibrated to


def ewma_statistic(a, n, b, m, *, lam: float = LAMBDA, guard: int = GUARD_MONTHS,
                   min_baseline: int = MIN_BASELINE_MONTHS, min_events: float = MIN_EVENTS_PER_MONTH,
                   limit: float = LIMIT) -> dict:
    """The chart for arrays (..., T) of counts. Returns arrays (..., T), NaN where no chart:
    z (the statistic), baseline_rr, ewma_rr (the smoothed relative rate), lower and upper
    (the control limits in relative-rate units, at `limit`), se (of the smoothed ratio to the
    baseline) and charted (bool)."""
    a, n, b, m = (np.asarray(x, dtype=float) for x in (a, n, b, m))
    shape = np.broadcast_shapes(a.shape, n.shape, b.shape, m.shape)
    a, n, b, m = (np.broadcast_to(x, shape) for x in (a, n, b, m))
    months = shape[-1]
    out = {k: np.full(shape, np.nan) for k in ("z", "baseline_rr", "ewma_rr", "se")}
    charted = np.zeros(shape, dtype=bool)
    cum = [np.cumsum(x, axis=-1) for x in (a, n, b, m)]
    s = np.zeros(shape[:-1])
    w = np.zeros(shape[:-1])
    e_sum = np.zeros(shape[:-1])
    for t in range(months):
        last = t - guard  # the last baseline month
        if last + 1 < min_baseline:
            continue
        a0, n0, b0, m0 = (c[..., last] for c in cum)
        per_month = last + 1
        with np.errstate(divide="ignore", invalid="ignore"):
            enough = (
                (np.minimum(a0, n0 - a0) / per_month >= min_events)
                & (np.minimum(b0, m0 - b0) / per_month >= min_events)
            )
            p_white = b0 / m0
            rr0 = (a0 / n0) / p_white
            var0 = 1 / a0 - 1 / n0 + 1 / b0 - 1 / m0
            has_white = m[..., t] > 0
            e = np.where(has_white, n[..., t] * rr0 * b[..., t] / np.where(has_white, m[..., t], 1), 0.0)
            p0 = np.clip(rr0 * p_white, 1e-9, 1 - 1e-9)
            v = np.where(
                has_white,
                n[..., t] * p0 * (1 - p0) + (n[..., t] * rr0) ** 2 * p_white * (1 - p_white) / np.where(has_white, m[..., t], 1),
                0.0,
            )
            d = np.where(has_white, a[..., t] - e, 0.0)
        enough = enough & np.isfinite(rr0) & np.isfinite(var0)
        d, e, v = (np.where(enough, x, 0.0) for x in (d, e, v))
        s = (1 - lam) * s + lam * d
        w = (1 - lam) ** 2 * w + lam ** 2 * v
        e_sum = (1 - lam) * e_sum + lam * e
        with np.errstate(divide="ignore", invalid="ignore"):
            total_var = w + e_sum ** 2 * var0
            z = s / np.sqrt(total_var)
            se = np.sqrt(total_var) / e_sum
            ewma_rr = rr0 * (e_sum + s) / e_sum
        ok = enough & (total_var > 0) & (e_sum > 0)
        out["z"][..., t] = np.where(ok, z, np.nan)
        out["baseline_rr"][..., t] = np.where(ok, rr0, np.nan)
        out["ewma_rr"][..., t] = np.where(ok, ewma_rr, np.nan)
        out["se"][..., t] = np.where(ok, se, np.nan)
        charted[..., t] = ok
    out["lower"] = np.maximum(out["baseline_rr"] * (1 - limit * out["se"]), 0.0)
    out["upper"] = out["baseline_rr"] * (1 + limit * out["se"])
    out["charted"] = charted
    return out


def alarm_episodes(z, *, limit: float = LIMIT, close_after: int = CLOSE_AFTER) -> dict:
    """Alerts from a statistic (..., T): onset (bool, the month an alert is raised), open (bool,
    an alert is open that month) and direction (+1 above, -1 below, 0 none) of the open alert.
    NaN months (no chart) count as inside the limits."""
    z = np.asarray(z, dtype=float)
    onset = np.zeros(z.shape, dtype=bool)
    is_open = np.zeros(z.shape, dtype=bool)
    direction = np.zeros(z.shape, dtype=np.int8)
    active = np.zeros(z.shape[:-1], dtype=bool)
    sign = np.zeros(z.shape[:-1], dtype=np.int8)
    inside = np.zeros(z.shape[:-1], dtype=np.int64)
    for t in range(z.shape[-1]):
        zt = np.nan_to_num(z[..., t])
        beyond = np.abs(zt) > limit
        side = np.sign(zt).astype(np.int8)
        # a crossing to the other side while open closes the first alert and opens another
        new = beyond & (~active | (side != sign))
        onset[..., t] = new
        sign = np.where(new, side, sign)
        inside = np.where(beyond, 0, inside + 1)
        active = (active | beyond) & (inside < close_after)
        is_open[..., t] = active
        direction[..., t] = np.where(active, sign, 0)
        sign = np.where(active, sign, 0)
    return {"onset": onset, "open": is_open, "direction": direction}


def onset_start(z, onset_index: int) -> int:
    """'Since when' for an alert raised at onset_index of a 1-D statistic: the first month of
    the run of months in which the statistic stood on the alert's side of the baseline."""
    z = np.asarray(z, dtype=float)
    side = np.sign(z[onset_index])
    start = onset_index
    while start > 0 and np.isfinite(z[start - 1]) and np.sign(z[start - 1]) == side:
        start -= 1
    return start
