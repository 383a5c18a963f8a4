"""Headline figures for the Overview and `divert metrics overview`: each for the chosen period
(ending on the as-of date), the period of the same length before it, and a monthly trend over
the chosen period (the month that is not over yet is provisional).

Rates that need follow-up time count only referrals (or offences) old enough for it, so that a
referral made today changes the referral count and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import polars as pl

from divert.analytics.calendar.maturity import cut_off, provisional
from divert.analytics.calendar.weeks import working_days_expr
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.memo import per_snapshot
from divert.analytics.data.partition import gated_table
from divert.analytics.stats.intervals import risk_ratio
from divert.core import codes
from divert.core.disclosure import Gate

Span = tuple[date, date]

# Each measure's one name, with what sets it apart (follow-up, comparison): the Overview, the
# Pathway page, the board pack and `divert metrics overview` all use these.
ENGAGED_LABEL = "Engaged (referrals at least 28 days old)"
COMPLIED_LABEL = "Closed - complied (referrals at least 90 days old)"
DISPARITY_LABEL = "Widest gap vs White: share of offences charged or cautioned, in the period"


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str  # "count", "share", "days", "hours", "pct", "ratio"
    help: str
    trend: pl.DataFrame  # period, value, people, events, provisional
    better: str = "up"  # which direction is good: "up", "down" or "none"
    bases: tuple = ()  # the counts the value is made from: the people it summarises first
    previous_bases: tuple = ()
    months: tuple = ()  # (this period, the period before) in months, where counts are compared as rates
    significant: bool | None = None  # for medians: worked out from the waits themselves (Mood's test)

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def periods(filters: Filters) -> tuple[Span, Span]:
    """The chosen period (default: the 12 months to the as-of date) and the one before it."""
    end = min(filters.end or filters.as_of_date, filters.as_of_date)
    start = filters.start or (pl.Series([end]).dt.offset_by("-12mo")[0] + timedelta(days=1))
    length = (end - start).days + 1
    return (start, end), (start - timedelta(days=length), start - timedelta(days=1))


def baseline(launch: date) -> Span:
    """The 12 months before the launch: what charges and cautions are compared with."""
    return pl.Series([launch]).dt.offset_by("-12mo")[0], launch - timedelta(days=1)


def _within(frame: pl.DataFrame, column: str, span: Span) -> pl.DataFrame:
    return frame.filter(pl.col(column).is_between(span[0], span[1]))


def _monthly(frame: pl.DataFrame, date_col: str, value: pl.Expr, span: Span, as_of: date,
             events: pl.Expr | None = None) -> pl.DataFrame:
    """The value per calendar month over the span, with the people it summarises (and the events
    it counts), zero-filled for counts; provisional marked."""
    months = pl.date_range(span[0].replace(day=1), span[1].replace(day=1), "1mo", eager=True).alias("period")
    spine = pl.DataFrame(months)
    schema = {"period": pl.Date, "value": pl.Float64, "people": pl.Int64, "events": pl.Int64}
    if frame.is_empty():
        values = pl.DataFrame(schema=schema)
    else:
        values = frame.group_by(pl.col(date_col).dt.truncate("1mo").alias("period")).agg(
            value.cast(pl.Float64).alias("value"), pl.len().cast(pl.Int64).alias("people"),
            (events if events is not None else pl.len()).cast(pl.Int64).alias("events"))
    return spine.join(values, on="period", how="left").with_columns(
        pl.col("people").fill_null(0), pl.col("events").fill_null(0),
        provisional(pl.col("period"), "1mo", as_of).alias("provisional")).sort("period")


def _share(frame: pl.DataFrame, flag: pl.Expr) -> float | None:
    return frame.select(flag.fill_null(False).mean()).item() if frame.height else None


@per_snapshot
def headlines(frames: Frames, filters: Filters, hours_per_referral: float) -> list[Headline]:
    as_of = filters.as_of_date
    if frames.as_of != as_of:
        frames = frames.at(as_of)
    now, before = periods(filters)
    everywhere = filters.without_period()
    refs = everywhere.apply(frames.referrals, "referred_on")
    offs = everywhere.apply(frames.offences, "offence_date")
    r_now, r_before = _within(refs, "referred_on", now), _within(refs, "referred_on", before)

    def mature(frame, measure):
        return frame.filter(pl.col("referred_on") <= cut_off(measure, as_of))

    def trend(frame, value, measure=None, events=None):
        part = frame if measure is None else mature(frame, measure)
        return _monthly(_within(part, "referred_on", now), "referred_on", value, now, as_of, events)

    def counted(frame, flag=None):
        return (frame.height,) if flag is None else (frame.height, frame.select(flag.fill_null(False).sum()).item())

    engaged = pl.col("assessment_result") == "completed"
    complied = pl.col("closure_result") == "complied"
    out = [
        Headline("referrals", "Referrals", r_now.height, r_before.height, "count",
                 "Referrals made in the period. More or fewer referrals is neither good nor bad in itself (it "
                 "follows policing), so the change is not coloured.", trend(refs, pl.len()), better="none",
                 bases=(r_now.height,), previous_bases=(r_before.height,)),
        Headline("engaged_share", ENGAGED_LABEL,
                 _share(mature(r_now, "engaged"), engaged), _share(mature(r_before, "engaged"), engaged), "share",
                 "Share of referrals who completed the telephone assessment and harm-reduction session. Only referrals "
                 "at least 28 days old count: newer ones may not have been assessed yet.",
                 trend(refs, engaged.fill_null(False).mean(), "engaged", engaged.fill_null(False).sum()),
                 bases=counted(mature(r_now, "engaged"), engaged), previous_bases=counted(mature(r_before, "engaged"), engaged)),
        Headline("completed_share", COMPLIED_LABEL,
                 _share(mature(r_now, "completed"), complied), _share(mature(r_before, "completed"), complied), "share",
                 "Share of referrals closed as complied (the Community Resolution stands). Only referrals at least "
                 "90 days old count: newer ones may still be in progress.",
                 trend(refs, complied.fill_null(False).mean(), "completed", complied.fill_null(False).sum()),
                 bases=counted(mature(r_now, "completed"), complied),
                 previous_bases=counted(mature(r_before, "completed"), complied)),
    ]
    launch = frames.programme.launch
    for key, label, outcome_codes in (("charges_change", "Charges", codes.CHARGE), ("cautions_change", "Cautions", codes.CAUTION)):
        out.append(_against_baseline(offs, key, label, outcome_codes, now, before, launch, as_of))
    out.append(_widest_disparity(offs, now, before, as_of))
    for key, label, start, finish, measure in (
            ("days_to_assessment", "Median working days to assessment", "referred_at", "assessed_at", "to_assessment"),
            ("days_to_course", "Median days from assessment to course", "assessed_at", "first_session_at", "to_course")):
        days = (working_days_expr(pl.col(start), pl.col(finish)) if measure == "to_assessment"
                else (pl.col(finish) - pl.col(start)).dt.total_hours() / 24)
        reached = pl.col(finish).is_not_null()
        waits_now = mature(r_now, measure).filter(reached).select(days.alias("d"))["d"].drop_nulls().to_list()
        waits_before = mature(r_before, measure).filter(reached).select(days.alias("d"))["d"].drop_nulls().to_list()
        out.append(Headline(
            key, label, mature(r_now, measure).select(days.median()).item(),
            mature(r_before, measure).select(days.median()).item(), "days",
            "Half of people waited longer than this (only those who reached the step, among referrals old enough "
            "for it to have happened).", trend(refs.filter(reached), days.median(), measure), better="down",
            bases=counted(mature(r_now, measure).filter(reached)),
            previous_bases=counted(mature(r_before, measure).filter(reached)),
            significant=medians_differ(waits_now, waits_before)))
    out.append(Headline("officer_hours", "Officer hours released", r_now.height * hours_per_referral,
                        r_before.height * hours_per_referral, "hours",
                        f"Referrals x {hours_per_referral:g} hours of officer time saved per referral (a setting).",
                        trend(refs, pl.len() * hours_per_referral), better="none", bases=(r_now.height,),
                        previous_bases=(r_before.height,)))
    onward = pl.col("onward_treatment").fill_null(False)
    out.append(Headline("onward_treatment", "Onward referrals into treatment", r_now.filter(onward).height,
                        r_before.filter(onward).height, "count",
                        "Referrals in the period closed with an onward referral into structured treatment.",
                        trend(refs, onward.sum(), events=onward.sum()), bases=(r_now.filter(onward).height,),
                        previous_bases=(r_before.filter(onward).height,)))
    return out


def gated(headline: Headline, gate: Gate, hours_per_referral: float = 4.0,
          within: tuple[Frames, Filters] | None = None) -> Headline:
    """The headline as the role may see it: the value, the previous value and every point of
    the trend pass the gate (a count is hidden or rounded; a figure made from counts is hidden
    when they are too few; a share is worked out from its counts as shown); officer hours are
    worked out from the gated referral count. `within` (the frames and filters the headline was
    made from) gates the trend together with the same headline's for the other values of a
    filter chosen (divert.analytics.data.partition)."""
    if gate.exact:
        return headline
    if headline.unit in ("count", "hours"):
        value, previous = _gated_counts(headline, gate, hours_per_referral, within)
        if headline.unit == "hours":
            value, previous = [None if c is None else c * hours_per_referral for c in (value, previous)]
    else:
        summary = headline.unit == "days"  # a median of days: no count to multiply back
        share = headline.unit == "share"
        value = gate.derived(headline.value, *headline.bases, summary=summary, share=share)
        previous = gate.derived(headline.previous, *headline.previous_bases, summary=summary, share=share)
    if headline.unit in ("count", "pct"):  # the trend counts events (referrals, charges ...) a month
        spec = {"counts": ["value"], "across": [[]]}
    elif headline.unit == "hours":
        spec = {"counts": ["people"], "across": [[]]}
    else:
        spec = {"counts": ["people", "events"], "derived": {"value": ["people", "events"]},
                **({"shares": ["value"]} if headline.unit == "share" else {})}

    def prepare(trend: pl.DataFrame) -> pl.DataFrame:  # the counts a month, as whole numbers where they are counts
        return trend.with_columns(pl.col("value").cast(pl.Int64)) if headline.unit in ("count", "pct") else trend

    if within is None:
        trend = gate.table(prepare(headline.trend), **spec)
    else:
        frames, filters = within
        hours = hours_per_referral

        def exact(chosen: Filters) -> pl.DataFrame:
            return prepare(next(h for h in headlines(frames, chosen, hours) if h.key == headline.key).trend)

        trend = gated_table(gate, exact, frames, filters, **spec)
    if headline.unit == "hours":
        trend = trend.with_columns((pl.col("people") * hours_per_referral).cast(pl.Float64).alias("value"))
    hidden = value is None and headline.value is not None
    help_text = headline.help
    if headline.key == "disparity":  # its help names the group with its exact ratio and interval
        group = headline.help.split(":")[0]
        help_text = (f"Not shown: {gate.small}." if hidden else
                     f"{group}: about {value:g} times the White share charged or cautioned (rounded for publication)."
                     if value is not None else headline.help)
    elif hidden:
        help_text = f"{headline.help} Not shown: {gate.small}."
    return replace(headline, value=value, previous=previous, trend=trend, help=help_text)


def _gated_counts(headline: Headline, gate: Gate, hours: float, within) -> tuple[int | None, int | None]:
    """The count of the period and of the period before as the role may see them (for hours,
    the referrals they are worked out from), with the other values of a filter chosen."""
    def exact(h: Headline) -> pl.DataFrame:
        counts = [h.value, h.previous] if h.unit == "count" else [b[0] if b else None for b in (h.bases, h.previous_bases)]
        return pl.DataFrame({"when": ["now", "before"], "count": counts}, schema={"when": pl.String, "count": pl.Int64})

    if within is None:
        shown = gate.table(exact(headline), ["count"])
    else:
        frames, filters = within
        shown = gated_table(gate, lambda f: exact(next(h for h in headlines(frames, f, hours) if h.key == headline.key)),
                            frames, filters, counts=["count"])
    return shown["count"][0], shown["count"][1]


def gated_headlines(frames: Frames, filters: Filters, gate: Gate, hours_per_referral: float) -> list[Headline]:
    """Every headline as the role may see it (see `gated`), each trend gated with the other
    values of a filter chosen."""
    return [gated(h, gate, hours_per_referral, within=(frames, filters))
            for h in headlines(frames, filters, hours_per_referral)]


def _against_baseline(offs, key, label, outcome_codes, now, before, launch, as_of) -> Headline:
    """Monthly rate of the outcome in a period against the 12 months before the launch. Offences
    too recent for their outcome to be known (90 days) are left out of the period."""
    last_known = cut_off("outcome", as_of)
    is_outcome = pl.col("outcome").is_in(outcome_codes)

    def per_month(span):
        span = (span[0], min(span[1], last_known))
        if span[1] < span[0]:
            return None
        count = _within(offs, "offence_date", span).filter(is_outcome).height
        return count / (((span[1] - span[0]).days + 1) / (365.25 / 12))

    base_span = baseline(launch)
    base = per_month(base_span)

    def change(span):
        rate = per_month(span)
        return None if not base or rate is None else (rate / base - 1) * 100

    shown = (now[0], min(now[1], last_known))
    trend = _monthly(_within(offs, "offence_date", shown) if shown[1] >= shown[0] else offs.head(0),
                     "offence_date", is_outcome.sum(), now, as_of)
    trend = trend.with_columns(pl.when(pl.col("period") > last_known).then(None).otherwise(pl.col("value")).alias("value"))
    def months(span):
        span = (span[0], min(span[1], last_known))
        return max(0.0, ((span[1] - span[0]).days + 1) / (365.25 / 12))

    def bases(span):
        span = (span[0], min(span[1], last_known))
        part = _within(offs, "offence_date", span) if span[1] >= span[0] else offs.head(0)
        base_count = _within(offs, "offence_date", base_span).filter(is_outcome).height
        return part.height, part.filter(is_outcome).height, base_count

    return Headline(key, f"{label} for possession vs pre-launch", change(now), change(before), "pct",
                    f"{label} a month for possession offences, against the 12 months before the launch "
                    f"({base_span[0]:%b %Y} to {base_span[1]:%b %Y}). Offences from the last "
                    "90 days are left out: their outcomes are not known yet.", trend.with_columns(
                        pl.col("value").cast(pl.Int64).alias("events")), better="down",
                    bases=bases(now), previous_bases=bases(before), months=(months(now), months(before)))


def _widest_disparity(offs, now, before, as_of) -> Headline:
    """The largest significant ratio (vs White) in the share of possession offences ending in a
    formal outcome, among broad groups (offences old enough for their outcome to be known)."""
    last_known = cut_off("outcome", as_of)

    def widest(span):
        part = offs.filter(pl.col("offence_date").is_between(span[0], min(span[1], last_known)))
        counts = part.group_by("ethnic_group").agg(pl.len().alias("n"), pl.col("outcome").is_in(codes.FORMAL_OUTCOMES).sum().alias("k"))
        table = {row["ethnic_group"]: (row["k"], row["n"]) for row in counts.iter_rows(named=True)}
        if "White" not in table:
            return None, None, ()
        best = (None, None, ())
        for group, (k, n) in table.items():
            if group in ("White", "Not stated", "Missing"):
                continue
            ratio, low, high = risk_ratio(k, n, *table["White"])
            if ratio is None or low is None or (low <= 1 <= high):
                continue
            distance = max(ratio, 1 / ratio) if ratio > 0 else 0
            if best[0] is None or distance > best[0]:
                best = (distance, f"{group}: {ratio:.2f}x White (95% {low:.2f}-{high:.2f})", (n, k, *table["White"][::-1]))
        return best

    value, text, bases = widest(now)
    previous, _, previous_bases = widest(before)
    return Headline("disparity", DISPARITY_LABEL, value, previous, "ratio",
                    text or "No group differs significantly from White in the share charged or cautioned.",
                    pl.DataFrame(schema={"period": pl.Date, "value": pl.Float64, "people": pl.Int64, "events": pl.Int64,
                                         "provisional": pl.Boolean}), better="down",
                    bases=bases, previous_bases=previous_bases)


def overview_table(frames: Frames, filters: Filters, hours_per_referral: float = 4.0,
                   gate: Gate | None = None) -> pl.DataFrame:
    """The headlines as rows: measure, value, previous, change, plus the periods and coverage;
    through the gate when one is given."""
    rows = (headlines(frames, filters, hours_per_referral) if gate is None
            else gated_headlines(frames, filters, gate, hours_per_referral))
    (start, end), (was_start, was_end) = periods(filters)
    snapshot = frames if frames.as_of == filters.as_of_date else frames.at(filters.as_of_date)
    up_to = snapshot.data_up_to()
    latest = max((d for d in up_to.values() if d), default=None)
    return pl.DataFrame({
        "as_of": [filters.as_of_date] * len(rows),
        "data_up_to": [latest] * len(rows),
        "period_start": [start] * len(rows), "period_end": [end] * len(rows),
        "previous_start": [was_start] * len(rows), "previous_end": [was_end] * len(rows),
        "measure": [h.key for h in rows],
        "label": [h.label for h in rows],
        "unit": [h.unit for h in rows],
        "value": [None if h.value is None else float(h.value) for h in rows],
        "previous": [None if h.previous is None else float(h.previous) for h in rows],
        "change": [None if h.delta is None else float(h.delta) for h in rows],
    }, schema_overrides={"data_up_to": pl.Date, "value": pl.Float64, "previous": pl.Float64, "change": pl.Float64})


# --- is the change beyond noise? ------------------------------------------------------------------------------
ALPHA = 0.05


def change_is_real(headline: Headline, alpha: float = ALPHA) -> bool | None:
    """Whether the change from the period before is larger than chance would give (95%), from
    the headline's own counts; None when it cannot be told. Shares: Newcombe's interval for the
    difference of two proportions excludes 0. Counts (and officer hours, which are referrals x
    hours): the exact conditional Poisson test of the two periods' counts (equal lengths, or the
    months each covers). Ratios: the two log ratios differ by more than 1.96 standard errors
    (Katz). Medians: Mood's median test on the waits, worked out when the headline is made."""
    unit, now, before = headline.unit, headline.bases, headline.previous_bases
    if headline.delta is None:
        return None
    if unit == "days":
        return headline.significant
    if unit == "share" and len(now) >= 2 and len(before) >= 2:
        return shares_differ(now[1], now[0], before[1], before[0], alpha)
    if unit in ("count", "hours") and now and before:
        return counts_differ(now[0], before[0], alpha=alpha)
    if unit == "pct" and len(now) >= 2 and len(before) >= 2 and len(headline.months) == 2:
        return counts_differ(now[1], before[1], *headline.months, alpha=alpha)
    if unit == "ratio" and len(now) == 4 and len(before) == 4:
        return ratios_differ(now, before, alpha)
    return None


def shares_differ(k: int, n: int, k_before: int, n_before: int, alpha: float = ALPHA) -> bool | None:
    """k of n against k_before of n_before: does Newcombe's 95% interval of the difference
    leave out 0?"""
    import numpy as np

    from divert.analytics.stats.intervals import newcombe

    if not n or not n_before:
        return None
    _, low, high = newcombe(k_before, n_before, k, n)
    low, high = float(np.asarray(low)), float(np.asarray(high))
    return not (low <= 0 <= high)


def counts_differ(count: int, count_before: int, exposure: float = 1.0, exposure_before: float = 1.0,
                  alpha: float = ALPHA) -> bool | None:
    """Two Poisson counts over their exposures (equal periods by default): the exact
    conditional test (a binomial test of one count out of both) rejects equal rates."""
    from statsmodels.stats.rates import test_poisson_2indep

    if count is None or count_before is None or count + count_before == 0 or not exposure or not exposure_before:
        return None
    test = test_poisson_2indep(count, exposure, count_before, exposure_before, method="exact-cond")
    return bool(test.pvalue < alpha)


def ratios_differ(now: tuple, before: tuple, alpha: float = ALPHA) -> bool | None:
    """Two risk ratios, each from (n, k, n_reference, k_reference): is the difference of their
    logarithms beyond 1.96 (for 95%) of its standard error (Katz)?"""
    import math

    def log_and_variance(n, k, n_ref, k_ref):
        if not (n and k and n_ref and k_ref):
            return None
        return math.log((k / n) / (k_ref / n_ref)), 1 / k - 1 / n + 1 / k_ref - 1 / n_ref

    a, b = log_and_variance(*now), log_and_variance(*before)
    if a is None or b is None:
        return None
    from scipy.stats import norm

    return bool(abs(a[0] - b[0]) / math.sqrt(a[1] + b[1]) > norm.ppf(1 - alpha / 2))


def medians_differ(values: list[float], values_before: list[float], alpha: float = ALPHA) -> bool | None:
    """Mood's median test: do the two sets of waits have different medians?"""
    if len(values) < 2 or len(values_before) < 2:
        return None
    from scipy.stats import median_test

    try:
        return bool(median_test(values, values_before, ties="below").pvalue < alpha)
    except ValueError:  # every value equal to the grand median
        return False
