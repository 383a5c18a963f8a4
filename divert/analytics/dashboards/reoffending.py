"""Reoffending: a further recorded possession offence after a referral, by completion status.

Counted from the referral date; only referrals with the whole follow-up window inside the data
are counted for the 6- and 12-month rates (no one is counted as 'not reoffended' before their
window has passed). Events are offences, matched on the pseudonymous person key.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from statsmodels.duration.survfunc import SurvfuncRight

from divert.analytics.data.memo import per_snapshot
from divert.analytics.stats.intervals import with_share

STATUS_LABELS = {"complied": "Closed - complied", "not_engaged": "Closed - not engaged", None: "Still open"}
DAYS_PER_MONTH = 365.25 / 12


def with_next_offence(referrals: pl.DataFrame, offences: pl.DataFrame) -> pl.DataFrame:
    """Add days_to_next: days from the referral to the person's next possession offence."""
    base = referrals.select("referral_id", "person_id", "offence_id", "referred_on", "closure_result")
    later = (
        base.join(offences.select("person_id", pl.col("offence_id").alias("other_id"), "offence_date"), on="person_id")
        .filter((pl.col("offence_date") > pl.col("referred_on")) & (pl.col("other_id") != pl.col("offence_id")))
        .group_by("referral_id").agg(pl.col("offence_date").min().alias("next_offence_date"))
    )
    return base.join(later, on="referral_id", how="left").with_columns(
        (pl.col("next_offence_date") - pl.col("referred_on")).dt.total_days().alias("days_to_next"),
        pl.col("closure_result").replace_strict(STATUS_LABELS, default="Still open").alias("status"),
    )


def rates(referrals: pl.DataFrame, offences: pl.DataFrame, end_of_data: date, months=(6, 12)) -> pl.DataFrame:
    """Share with a further offence within each window, by status, with Wilson 95% intervals."""
    frame = with_next_offence(referrals, offences)
    parts = []
    for window in months:
        days = window * DAYS_PER_MONTH
        eligible = frame.filter((pl.lit(end_of_data) - pl.col("referred_on")).dt.total_days() >= days)
        part = eligible.group_by("status").agg(
            pl.len().cast(pl.Int64).alias("referrals"),
            (pl.col("days_to_next") <= days).fill_null(False).sum().cast(pl.Int64).alias("reoffended"),
        ).with_columns(pl.lit(window).alias("months"))
        parts.append(part)
    schema = {"status": pl.String, "referrals": pl.Int64, "reoffended": pl.Int64, "months": pl.Int32}
    combined = pl.concat([p.cast(schema) for p in parts]) if parts else pl.DataFrame(schema=schema)
    return with_share(combined, "reoffended", "referrals", "rate").sort("months", "status")


@per_snapshot
def kaplan_meier(referrals: pl.DataFrame, offences: pl.DataFrame, end_of_data: date) -> pl.DataFrame:
    """Share still without a further offence over time since referral (Kaplan-Meier, with 95%
    pointwise intervals), by status; people are censored at the end of the data."""
    frame = with_next_offence(referrals, offences).with_columns(
        (pl.lit(end_of_data) - pl.col("referred_on")).dt.total_days().alias("followed")
    ).filter(pl.col("followed") >= 0)
    out = []
    for (status,), part in frame.group_by("status"):
        event = part["days_to_next"].is_not_null() & (part["days_to_next"] <= part["followed"])
        time = np.where(event.to_numpy(), part["days_to_next"].fill_null(0).to_numpy(), part["followed"].to_numpy())
        if len(time) == 0:
            continue
        fit = SurvfuncRight(time.astype(float), event.to_numpy().astype(int))
        low, high = _pointwise(fit)
        out.append(pl.DataFrame({
            "status": status, "days": fit.surv_times, "still_without_offence": fit.surv_prob,
            "low": low, "high": high, "at_risk": fit.n_risk,
        }))
    schema = {"status": pl.String, "days": pl.Float64, "still_without_offence": pl.Float64,
              "low": pl.Float64, "high": pl.Float64, "at_risk": pl.Float64}
    return pl.concat([o.cast(schema) for o in out]).sort("status", "days") if out else pl.DataFrame(schema=schema)


def _pointwise(fit: SurvfuncRight):
    """Log-log 95% interval from Greenwood's standard error (statsmodels gives the SE)."""
    s = np.clip(fit.surv_prob, 1e-12, 1 - 1e-12)
    se = fit.surv_prob_se
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = se / (s * np.abs(np.log(s)))
        low = s ** np.exp(1.959964 * theta)
        high = s ** np.exp(-1.959964 * theta)
    return np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=1.0)
