"""Headline figures for the overview: each for the chosen period, the previous period of the
same length, and a monthly trend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from divert import codes
from divert.analytics.filters import POLICY_START, Filters
from divert.analytics.frames import Frames
from divert.analytics.intervals import risk_ratio
from divert.analytics.metrics import end_of_data

BASELINE = (POLICY_START - timedelta(days=365), POLICY_START - timedelta(days=1))


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str  # "count", "share", "days", "hours", "pct", "ratio"
    help: str
    trend: pl.DataFrame  # period, value
    better: str = "up"  # which direction is good: "up", "down" or "none"

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def periods(frames: Frames, filters: Filters) -> tuple[tuple[date, date], tuple[date, date]] | None:
    """The chosen period (default: the last 12 months of data) and the one before it."""
    last = end_of_data(frames)
    if last is None:
        return None
    end = filters.end or last
    start = filters.start or (end - timedelta(days=364))
    length = (end - start).days + 1
    return (start, end), (start - timedelta(days=length), start - timedelta(days=1))


def _monthly(frame: pl.DataFrame, date_col: str, value: pl.Expr) -> pl.DataFrame:
    if frame.is_empty():
        return pl.DataFrame(schema={"period": pl.Date, "value": pl.Float64})
    return frame.group_by(pl.col(date_col).dt.truncate("1mo").alias("period")).agg(value.cast(pl.Float64).alias("value")).sort("period")


def _share(num: int, den: int) -> float | None:
    return num / den if den else None


def headlines(frames: Frames, filters: Filters, hours_per_referral: float) -> list[Headline]:
    chosen = periods(frames, filters)
    if chosen is None:
        return []
    now, before = chosen
    everywhere = filters.without_period()
    refs = everywhere.apply(frames.referrals, "referred_on")
    offs = everywhere.apply(frames.offences, "offence_date")

    def window(frame, col, span):
        return frame.filter(pl.col(col).is_between(span[0], span[1]))

    r_now, r_before = window(refs, "referred_on", now), window(refs, "referred_on", before)
    engaged = pl.col("assessment_result") == "completed"
    completed = pl.col("closure_result") == "complied"
    out = [
        Headline("referrals", "Referrals", r_now.height, r_before.height, "count",
                 "Referrals made in the period.", _monthly(refs, "referred_on", pl.len())),
        Headline("engaged", "Engaged (at least the assessment)",
                 _share(r_now.filter(engaged).height, r_now.height), _share(r_before.filter(engaged).height, r_before.height),
                 "share", "Share of referrals who completed the telephone assessment and harm-reduction session.",
                 _monthly(refs, "referred_on", engaged.fill_null(False).mean())),
        Headline("completed", "Completed",
                 _share(r_now.filter(completed).height, r_now.height), _share(r_before.filter(completed).height, r_before.height),
                 "share", "Share of referrals closed as complied (recent referrals may still be in progress).",
                 _monthly(refs, "referred_on", completed.fill_null(False).mean())),
    ]
    for key, label, outcome_codes in (("charges", "Charges", codes.CHARGE), ("cautions", "Cautions", codes.CAUTION)):
        out.append(_against_baseline(offs, key, label, outcome_codes, now, before))
    out.append(_widest_disparity(offs, now, before))
    for key, label, start, finish in (("days_to_assessment", "Median days to assessment", "referred_at", "assessed_at"),
                                      ("days_to_course", "Median days from assessment to course", "assessed_at", "first_session_at")):
        days = ((pl.col(finish) - pl.col(start)).dt.total_hours() / 24)
        out.append(Headline(key, label, r_now.select(days.median()).item(), r_before.select(days.median()).item(), "days",
                            "Half of people waited longer than this (only those who reached the step).",
                            _monthly(refs, "referred_on", days.median()), better="down"))
    out.append(Headline("officer_hours", "Officer hours released", r_now.height * hours_per_referral,
                        r_before.height * hours_per_referral, "hours",
                        f"Referrals x {hours_per_referral:g} hours of officer time saved per referral (a setting).",
                        _monthly(refs, "referred_on", pl.len() * hours_per_referral)))
    onward = pl.col("onward_treatment").fill_null(False)
    out.append(Headline("onward", "Onward referrals into treatment", r_now.filter(onward).height, r_before.filter(onward).height,
                        "count", "Referrals closed with an onward referral into structured treatment.",
                        _monthly(refs, "referred_on", onward.sum())))
    return out


def _against_baseline(offs, key, label, outcome_codes, now, before) -> Headline:
    """Monthly rate of the outcome in a period against the 12 months before the policy."""
    def per_month(span):
        count = offs.filter(pl.col("offence_date").is_between(*span) & pl.col("outcome").is_in(outcome_codes)).height
        return count / max(((span[1] - span[0]).days + 1) / 30.44, 1e-9)

    base = per_month(BASELINE)

    def change(span):
        return None if not base else (per_month(span) / base - 1) * 100

    trend = _monthly(offs, "offence_date", pl.col("outcome").is_in(outcome_codes).sum())
    return Headline(key, f"{label} for possession vs pre-policy", change(now), change(before), "pct",
                    f"{label} per month compared with the 12 months before October 2020 (baseline {base:,.1f} a month).",
                    trend, better="down")


def _widest_disparity(offs, now, before) -> Headline:
    """The largest significant ratio (vs White) in the share of possession offences ending in a
    formal outcome, among broad groups."""
    def widest(span):
        part = offs.filter(pl.col("offence_date").is_between(*span))
        counts = part.group_by("ethnic_group").agg(pl.len().alias("n"), pl.col("outcome").is_in(codes.FORMAL_OUTCOMES).sum().alias("k"))
        table = {row["ethnic_group"]: (row["k"], row["n"]) for row in counts.iter_rows(named=True)}
        if "White" not in table:
            return None, None
        best = (None, None)
        for group, (k, n) in table.items():
            if group in ("White", "Not stated", "Missing"):
                continue
            ratio, low, high = risk_ratio(k, n, *table["White"])
            if ratio is None or low is None or (low <= 1 <= high):
                continue
            distance = max(ratio, 1 / ratio) if ratio > 0 else 0
            if best[0] is None or distance > best[0]:
                best = (distance, f"{group}: {ratio:.2f}x White (95% {low:.2f}-{high:.2f})")
        return best

    value, text = widest(now)
    previous, _ = widest(before)
    return Headline("disparity", "Widest formal-outcome disparity", value, previous, "ratio",
                    text or "No group differs significantly from White in the share charged or cautioned.",
                    pl.DataFrame(schema={"period": pl.Date, "value": pl.Float64}), better="down")

