"""The tables behind each dashboard, by name: what `divert metrics NAME` prints and what the
pages draw. Each takes the loaded frames and the filters and returns one polars frame."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from divert.analytics.calendar.maturity import cut_off, mature, with_provisional
from divert.analytics.dashboards import outcomes, pathway, reoffending, value, volume
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.memo import per_snapshot
from divert.analytics.planning.capacity import capacity_table
from divert.analytics.planning.forecast import forecast_table
from divert.core.disclosure import Gate


def end_of_data(frames: Frames) -> date | None:
    """The latest date anything was recorded. Figures are measured from the as-of date
    instead; this remains only for modules that have not moved to it yet."""
    days = [d for d in frames.data_up_to().values() if d is not None]
    return max(days) if days else None


def snapshot(frames: Frames, filters: Filters) -> Frames:
    """The frames as they stood at the end of the filters' as-of date."""
    as_of = filters.as_of_date
    return frames if frames.as_of == as_of else frames.at(as_of)


@per_snapshot
def volume_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Recorded possession offences and referrals per month in the period; the month that is
    not over at the as-of date is provisional."""
    frames = snapshot(frames, filters)
    as_of = filters.as_of_date
    offences = filters.apply(frames.offences, "offence_date")
    refs = filters.apply(frames.referrals, "referred_on")
    start = filters.start or _first_day(frames)
    end = min(filters.end or as_of, as_of)
    if start is None or start > end:
        return pl.DataFrame(schema={"period": pl.Date, "offences": pl.UInt32, "referrals": pl.UInt32,
                                    "provisional": pl.Boolean})
    monthly = volume.per_period(offences, "offence_date", name="offences", start=start, end=end)
    referred = volume.per_period(refs, "referred_on", name="referrals", start=start, end=end)
    table = monthly.join(referred, on="period", how="full", coalesce=True).with_columns(
        pl.col("offences").fill_null(0), pl.col("referrals").fill_null(0)
    ).sort("period")
    table = volume.before_the_launch(table, "referrals", frames.programme.launch)
    return with_provisional(table.select("period", "offences", "referrals"), as_of)


def _first_day(frames: Frames) -> date | None:
    days = [d for d in (frames.offences["offence_date"].min(), frames.referrals["referred_on"].min()) if d is not None]
    return min(days) if days else None


@per_snapshot
def volume_change_table(frames: Frames, filters: Filters, months: int = 12) -> pl.DataFrame:
    """Recorded possession offences in equal windows before and after the launch (complete
    months only; seasonally adjusted, overdispersion allowed for)."""
    frames = snapshot(frames, filters)
    offences = filters.without_period().apply(frames.offences, "offence_date")
    return volume.launch_jump(offences, launch=frames.programme.launch, as_of=filters.as_of_date, months=months)


@per_snapshot
def pathway_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """The funnel for referrals in the period that are old enough to have finished (90 days)."""
    frames = snapshot(frames, filters)
    refs = filters.apply(frames.referrals, "referred_on")
    return pathway.funnel(refs.filter(mature("referred_on", "completed", filters.as_of_date)))


@per_snapshot
def waits_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Median and 90th-percentile waits by month of referral; a month whose referrals have not
    all had time to reach the step is provisional."""
    frames = snapshot(frames, filters)
    table = pathway.waits(filters.apply(frames.referrals, "referred_on"))
    as_of = filters.as_of_date
    open_cohort = pl.when(pl.col("measure") == "to_assessment").then(
        pathway_month_open(as_of, "to_assessment")).otherwise(pathway_month_open(as_of, "to_course"))
    return table.with_columns(open_cohort.alias("provisional"))


def pathway_month_open(as_of: date, measure: str) -> pl.Expr:
    """True where the month of referral ends after the measure's follow-up cut-off."""
    return (pl.col("period").dt.offset_by("1mo") - pl.duration(days=1)) > pl.lit(cut_off(measure, as_of))


@per_snapshot
def outcomes_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Every outcome's share in the programme's two comparison half-years (for the reference
    programme July-December 2019 and 2021): overall, by ethnic group, by sex and by both
    (`level`; "All" where a characteristic is summed over)."""
    frames = snapshot(frames, filters)
    offences = filters.without_period().apply(frames.offences, "offence_date")
    before, after = outcomes.comparison_periods(frames.programme.launch)
    table = outcomes.before_after_cube(offences, before, after)
    return table.with_columns(pl.lit(before[0]).alias("before_start"), pl.lit(before[1]).alias("before_end"),
                              pl.lit(after[0]).alias("after_start"), pl.lit(after[1]).alias("after_end"))


@per_snapshot
def gaps_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """The share charged or cautioned by ethnic group and sex in the two comparison half-years,
    with the ratio to White of the same sex before and after (absolute and relative gaps)."""
    frames = snapshot(frames, filters)
    offences = filters.without_period().apply(frames.offences, "offence_date")
    before, after = outcomes.comparison_periods(frames.programme.launch)
    return outcomes.formal_gaps(offences, before, after, by=("ethnic_group", "sex"))


@per_snapshot
def reoffending_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Re-detected for possession within 6 and 12 months, referrals with the whole window
    before the as-of date only."""
    frames = snapshot(frames, filters)
    return reoffending.rates(filters.apply(frames.referrals, "referred_on"), frames.offences, filters.as_of_date)


@per_snapshot
def value_table(frames: Frames, filters: Filters, gate: Gate | None = None) -> pl.DataFrame:
    """Value for money in the Overview's period (default: the 12 months to the as-of date): the
    programme's cost per referral, per completed assessment and per course attended, the
    officer hours released and their value, each with its low-high range
    (divert.analytics.dashboards.value). With a gate, worked out from the counts as the role
    sees them (the Overview and the board pack)."""
    from divert.analytics.dashboards.overview import periods

    frames = snapshot(frames, filters)
    now, _ = periods(filters)
    refs = filters.without_period().apply(frames.referrals, "referred_on")
    return value.value_for_money(refs, frames.programme, now, gate)


@per_snapshot
def overview_metric(frames: Frames, filters: Filters) -> pl.DataFrame:
    from divert.analytics.dashboards.overview import overview_table

    return overview_table(frames, filters)


# What each table holds, for the disclosure gate (divert.core.disclosure.Gate.table): its counts, the
# figures made from them, and the dimensions along which secondary suppression runs. The pages
# gate the same tables with the same specifications, so `divert metrics NAME --role viewer`
# gives what a viewer's page shows.
GATES: dict[str, dict] = {
    "volume": {"counts": ["offences", "referrals"], "across": [[]]},
    "volume-weekly": {"counts": ["count"], "across": [[]]},
    "volume-breakdown": {"counts": ["count"], "derived": {"share": ["count"]}, "across": [[]], "shares": ["share"]},
    "volume-per-area": {"counts": ["count"], "across": [["period"], ["area"]]},
    "intelligence-logs": {"counts": ["intelligence_logs"], "across": [[]]},
    "repeats": {"counts": ["repeats", "referrals"], "derived": {"repeat_share": ["referrals", "repeats"]},
                "across": [[]], "shares": ["repeat_share"]},
    "volume-change": {"counts": ["offences_before", "offences_after"], "derived": {"mean_before": ["offences_before"], "mean_after": ["offences_after"],
                                                "change_pct": ["offences_before", "offences_after"],
                                                "ci_low_pct": ["offences_before", "offences_after"],
                                                "ci_high_pct": ["offences_before", "offences_after"]},
                      "keep": ["months_before", "months_after"]},
    "pathway": {"counts": ["people"], "derived": {"share_of_referred": ["people"], "share_of_previous": ["people"]},
                "shares": ["share_of_referred", "share_of_previous"], "withhold": ("stage", "referred", "people"),
                "after": {"share_of_previous": "people"},
                # each stage's people are among those of the stage it follows (by definition, pathway.stage_flags):
                # checked together, so that no chain of stages pins a hidden one
                "whole": True, "within": [("stage", outer, inners, []) for outer, inners in (
                    ("referred", ["contacted"]), ("contacted", ["engaged"]), ("engaged", ["course_allocated", "other_allocated"]),
                    ("course_allocated", ["course_booked"]), ("course_allocated", ["course_attended"]),
                    ("engaged", ["complied"]), ("referred", ["intelligence_log"]))]},
    "waits": {"counts": ["people"], "derived": {"median_days": ["people"], "p90_days": ["people"]},
              "across": [["measure"]], "summaries": ["median_days", "p90_days"],
              # those who reached a course were assessed first: checked together (the one bounds the other)
              "whole": True, "within": [("measure", "to_assessment", ["to_course"], ["period"])]},
    "outcomes": {"counts": ["count_before", "count_after", "offences_before", "offences_after"],
                 "derived": {"share_before": ["offences_before", "count_before"],
                             "share_after": ["offences_after", "count_after"],
                             "change_points": ["offences_before", "count_before", "offences_after", "count_after"]},
                 # a cross-table of ethnic group, sex and outcome with its margins ("All"): each group's
                 # outcomes add up to its offences, and the cube's own relations join the rest
                 "across": [["ethnic_group", "sex"]], "cube": ["ethnic_group", "sex"],
                 "totals": {"count_before": ("offences_before", ["ethnic_group", "sex"]),
                            "count_after": ("offences_after", ["ethnic_group", "sex"])},
                 "shares": ["share_before", "share_after"]},
    "gaps": {"counts": ["formal_before", "formal_after", "offences_before", "offences_after"],
             "derived": {"share_before": ["offences_before", "formal_before"],
                         "share_after": ["offences_after", "formal_after"],
                         "change_points": ["offences_before", "formal_before", "offences_after", "formal_after"],
                         "ratio_before": ["offences_before", "formal_before"],
                         "ratio_after": ["offences_after", "formal_after"]},
             "across": [[]], "shares": ["share_before", "share_after"]},
    "disparity:stop-search": {"counts": ["searches"], "keep": ["residents", "person_years", "months_missing"],
                              "derived": {"rate_per_1000_a_year": ["searches"], "ratio_vs_white": ["searches"],
                                          "ci_low": ["searches"], "ci_high": ["searches"], "share_of_events": ["searches"],
                                          "significant": ["searches"]},
                              "ratio": ("ratio_vs_white", "ci_low", "ci_high")},
    "disparity:pathway": {"counts": ["events", "denominator"], "keep": ["months_missing"],
                          "derived": {"rate": ["denominator", "events"], "rri": ["denominator", "events"],
                                      "ci_low": ["denominator", "events"], "ci_high": ["denominator", "events"],
                                      "reading": ["denominator", "events"], "significant": ["denominator", "events"]},
                          "ratio": ("rri", "ci_low", "ci_high")},
    # model estimates over every month's possession offences; the page warns where events are few
    "impact": {"counts": [], "keep": ["estimate", "ci_low", "ci_high", "p_value", "months_before", "months_after"]},
    # the price, hours per referral and hourly cost are settings; what is divided by or
    # multiplied with a count is hidden with it (a price per referral x referrals is a count).
    # The Overview and the board pack instead work every figure out from the gated counts
    # (value_table with the gate), as the Overview's officer-hours card does.
    "value": {"counts": ["referrals", "assessments", "courses"],
              "derived": {"cost": ["referrals"], "cost_per_referral": ["referrals"],
                          "cost_per_assessment": ["assessments"], "cost_per_course": ["courses"],
                          "officer_hours": ["referrals"], "officer_hours_value": ["referrals"]},
              "keep": ["days", *(f"{n}{end}" for n in ("hours_per_referral", "hourly_cost") for end in ("", "_low", "_high"))]},
    "reoffending": {"counts": ["reoffended", "referrals"], "derived": {"rate": ["referrals", "reoffended"]},
                    "across": [["months"]], "keep": ["months"], "shares": ["rate"]},
}


METRICS: dict[str, Callable[[Frames, Filters], pl.DataFrame]] = {
    "overview": overview_metric,
    "volume": volume_table,
    "volume-change": volume_change_table,
    "pathway": pathway_table,
    "waits": waits_table,
    "outcomes": outcomes_table,
    "gaps": gaps_table,
    "reoffending": reoffending_table,
    "value": value_table,
    "capacity": capacity_table,
    "forecast": forecast_table,
}
