"""The relative rate index at each decision point of the diversion pathway: a chain of events
after the launch, each stage's denominator being the stage before it.

    residents -> possession offences after the launch -> referred (diverted) -> engaged
      -> group course: completed the course -> complied
      -> one-to-one or treatment: complied
      -> (the other branch) intelligence log

Possession offences count whatever their outcome, pending ones included. A stage that needs
follow-up time counts only referrals old enough to have had it (divert.analytics.calendar.maturity):
younger ones are left out of that stage's numerator and denominator alike.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from divert.analytics.calendar.maturity import cut_off
from divert.analytics.data import coverage
from divert.analytics.equity import denominators as dn
from divert.analytics.stats.ratios import (
    NO_RATIO,
    REFERENCE,
    REFERENCE_ROW,
    UNCOUNTED,
    poisson_ratio,
    proportion_ratio,
    reading,
    significant,
)

COURSE = ("group_course",)
OTHER_ALLOCATIONS = ("one_to_one", "structured_treatment")

# stage, label, events column, denominator column
STAGES = (
    ("possession_offence", "Possession offences after the launch", "offences", "person_years"),
    ("diverted", "Referred (diverted)", "referred", "offences"),
    ("diverted_eligible", "Referred, eligible offences only", "eligible_referred", "eligible_offences"),
    ("engaged", "Engaged (completed the assessment)", "engaged", "referrals_28"),
    ("course_completed", "Completed the group course", "course_completed", "course_90"),
    ("complied_course", "Complied, after the course", "course_complied", "course_completed"),
    ("complied_other", "Complied, one-to-one or treatment", "other_complied", "other_90"),
    ("intelligence_log", "Intelligence log (did not engage)", "intelligence_log", "referrals_90"),
)
STAGE_LABELS = {stage: label for stage, label, _, _ in STAGES}

SCHEMA = {"stage": pl.String, "stage_label": pl.String, "group": pl.String, "events": pl.Int64,
          "denominator": pl.Float64, "rate": pl.Float64, "rate_unit": pl.String, "rri": pl.Float64,
          "ci_low": pl.Float64, "ci_high": pl.Float64, "significant": pl.Boolean, "small_group": pl.Boolean,
          "reading": pl.String, "denominator_basis": pl.String, "covered_from": pl.Date, "covered_to": pl.Date,
          "months_missing": pl.Int64}


def window(launch: date, as_of: date, start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """The days that count: from the launch (or a later start) to the as-of date (or an earlier end)."""
    return max(start or launch, launch), min(end or as_of, as_of)


def chain_counts(offences: pl.DataFrame, referrals: pl.DataFrame, *, launch: date, as_of: date,
                 start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """For each broad group, the count at every stage and every denominator (see STAGES)."""
    first, last = window(launch, as_of, start, end)
    offs = offences.filter(pl.col("offence_date").is_between(first, last)).select(
        "offence_id", "offence_date", "person_id", pl.col("ethnic_group").cast(pl.String).alias("group"))
    refs = referrals.filter(pl.col("referred_on") <= as_of)
    # a person with an intelligence log before the offence is not offered the course again
    first_log = refs.filter(pl.col("intelligence_log_date").is_not_null()).group_by("person_id").agg(
        pl.col("intelligence_log_date").min().alias("first_log"))
    offs = offs.join(first_log, on="person_id", how="left").with_columns(
        pl.col("offence_id").is_in(refs["offence_id"].implode()).alias("is_referred"),
        (pl.col("first_log").is_null() | (pl.col("first_log") >= pl.col("offence_date"))).alias("eligible"),
    )
    by_offence = offs.group_by("group").agg(
        pl.len().alias("offences"),
        pl.col("is_referred").sum().alias("referred"),
        pl.col("eligible").sum().alias("eligible_offences"),
        (pl.col("eligible") & pl.col("is_referred")).sum().alias("eligible_referred"),
    )
    mine = refs.join(offs.select("offence_id", "group"), on="offence_id", how="inner")
    engaged = (pl.col("assessment_result") == "completed").fill_null(False)
    old_28 = pl.col("referred_on") <= cut_off("engaged", as_of)
    old_90 = pl.col("referred_on") <= cut_off("completed", as_of)
    course = engaged & pl.col("allocation").is_in(COURSE).fill_null(False) & old_90
    other = engaged & pl.col("allocation").is_in(OTHER_ALLOCATIONS).fill_null(False) & old_90
    finished = pl.col("course_completed_at").is_not_null()
    complied = (pl.col("closure_result") == "complied").fill_null(False)
    by_referral = mine.group_by("group").agg(
        old_28.sum().alias("referrals_28"),
        (engaged & old_28).sum().alias("engaged"),
        course.sum().alias("course_90"),
        (course & finished).sum().alias("course_completed"),
        (course & finished & complied).sum().alias("course_complied"),
        other.sum().alias("other_90"),
        (other & complied).sum().alias("other_complied"),
        old_90.sum().alias("referrals_90"),
        (old_90 & (pl.col("closure_result") == "not_engaged").fill_null(False)).sum().alias("intelligence_log"),
    )
    counts = by_offence.join(by_referral, on="group", how="full", coalesce=True).fill_null(0)
    return counts.with_columns(pl.exclude("group").cast(pl.Int64)).sort("group")


def basis(launch: date, as_of: date, start: date | None, end: date | None,
          diversion_outcome: int | None = None) -> dict[str, str]:
    """What each stage's denominator is, in words."""
    first, last = window(launch, as_of, start, end)
    d28, d90 = cut_off("engaged", as_of), cut_off("completed", as_of)
    offences = f"possession offences {first:%-d %b %Y} to {last:%-d %b %Y} (after the launch), outcome recorded or pending"
    recorded = f"; diverted: referred to the programme (recorded as outcome {diversion_outcome})" if diversion_outcome else ""
    return {
        "diverted": offences + recorded,
        "diverted_eligible": f"{offences}, of people not barred by an earlier intelligence log",
        "engaged": f"referrals of those offences made by {d28:%-d %b %Y} (at least 28 days before the as-of date)",
        "course_completed": f"engaged and allocated to the group course, referred by {d90:%-d %b %Y} (90 days)",
        "complied_course": f"completed the group course, referred by {d90:%-d %b %Y} (90 days)",
        "complied_other": f"engaged and allocated to one-to-one work or treatment, referred by {d90:%-d %b %Y} (90 days)",
        "intelligence_log": f"referrals of those offences made by {d90:%-d %b %Y} (at least 90 days before the as-of date)",
    }


def pathway_rri(offences: pl.DataFrame, referrals: pl.DataFrame, population: pl.DataFrame, *, force: str,
                launch: date, as_of: date, start: date | None = None, end: date | None = None,
                census: str | int = "interpolated", diversion_outcome: int | None = None) -> pl.DataFrame:
    """Relative rate index against White at every decision point. Columns: stage, stage_label,
    group, events, denominator (person-years for the first stage, else the count of the stage
    before), rate (per 1,000 residents a year for the first stage, else a share), rate_unit,
    rri, ci_low, ci_high, significant, small_group (under 1% of the residents), reading,
    denominator_basis. The White row is 1 with no interval."""
    first, asked = window(launch, as_of, start, end)
    # person-years only over the months the programme's records (offences, referrals) cover
    held = coverage.of_programme(offences, referrals, as_of)
    spans = held.spans(first, asked)
    if not spans:
        return pl.DataFrame(schema=SCHEMA)
    counts = chain_counts(offences, referrals, launch=launch, as_of=as_of, start=start, end=end)
    residents = dn.window_denominator(population, force=force, start=spans[0][0], end=spans[-1][1], method=census,
                                      spans=spans, gaps=held.note(first, asked))
    counts = counts.join(residents.person_years.select("group", "person_years"), on="group", how="full",
                         coalesce=True).with_columns(pl.exclude("group", "person_years").fill_null(0))
    total = residents.person_years["person_years"].sum() or 0
    words = basis(launch, as_of, start, end, diversion_outcome) | {"possession_offence": f"person-years: {residents.note}"}
    by_group = {row["group"]: row for row in counts.iter_rows(named=True)}
    white = by_group.get(REFERENCE)
    rows = []
    for stage, label, events_col, den_col in STAGES:
        for group, row in sorted(by_group.items()):
            events, denominator = int(row[events_col] or 0), row[den_col]
            share = row["person_years"] / total if row["person_years"] and total else None
            rate = events / denominator if denominator else None
            if stage == "possession_offence" and rate is not None:
                rate *= 1000
            if group == REFERENCE:
                ratio, low, high = REFERENCE_ROW if rate is not None else NO_RATIO
            elif white is None or group in UNCOUNTED or not denominator or not white[den_col]:
                ratio, low, high = NO_RATIO
            elif stage == "possession_offence":
                ratio, low, high = poisson_ratio(events, denominator, int(white[events_col]), white[den_col])
            else:
                ratio, low, high = proportion_ratio(events, int(denominator), int(white[events_col]), int(white[den_col]))
            rows.append({
                "stage": stage, "stage_label": label, "group": group, "events": events,
                "denominator": float(denominator) if denominator is not None else None, "rate": rate,
                "rate_unit": "per 1,000 residents a year" if stage == "possession_offence" else "share",
                "rri": ratio, "ci_low": low, "ci_high": high, "significant": significant(low, high),
                "small_group": share is not None and share < 0.01, "reading": reading(ratio, group),
                "denominator_basis": words[stage],
            })
    covered = coverage.window_fields(held, first, asked)  # of the window: its covered days and missing months
    return pl.DataFrame([row | covered for row in rows], schema=SCHEMA)


METHODS = """
### The diversion pathway, decision by decision
A chain of events after the launch, by self-defined broad ethnic group. Each stage's rate uses the
stage before it as the denominator, and its **relative rate index (RRI)** is that rate divided by the
White rate:

1. **Possession offences after the launch** per 1,000 residents a year (person-years, see Population
   denominators). Every recorded possession offence from the launch (or the start of the chosen period)
   to the as-of date counts, whatever its outcome, *including offences whose outcome is still pending*.
2. **Referred (diverted)**: the share of those offences with a referral to the programme. Beside it,
   **eligible offences only**: the same share among offences by people not barred by an intelligence log
   from an earlier referral (people who did not engage are not offered the course again).
3. **Engaged**: the share of those referrals where the person completed the assessment
   (harm-reduction session). Only referrals at least 28 days old at the as-of date count, in the numerator
   and the denominator alike: younger ones are still in progress.
4. **Completed the group course**: the share of people who engaged and were allocated to the group course
   who completed it; **complied, after the course**: the share of those who completed the course whose
   Community Resolution stands. People allocated to one-to-one work or structured treatment have no course:
   **complied, one-to-one or treatment** is the share of them who complied. These stages count referrals at
   least 90 days old.
5. **Intelligence log (did not engage)**, the other branch: the share of referrals at least 90 days old that
   ended with an intelligence log.

The White row is 1 by definition and has no interval. Intervals are as for the other relative rates
(Katz's log interval for shares with every count at least 10, the score interval otherwise; the
Poisson interval for the first stage). Groups under 1% of the residents are flagged. Not stated and
missing ethnicity keep their counts and shares but get no ratio.
"""
