"""What the Scenario planner shows around the queue model (divert.analytics.planning.queue): the
warnings when a projected wait passes its target, the targets breached now (the same verdict as
the Capacity page's banner), the saved scenarios side by side, and the list of saved scenarios."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import polars as pl

from divert.analytics.planning import capacity, forecast, queue, staffing
from divert.analytics.planning.assumptions import Plan

ROW_HEIGHT, MOST_HEIGHT = 38, 700  # the comparison table's height on screen, in pixels


def no_forecast(result: forecast.ForecastResult) -> bool:
    """True when there is too little referral history to forecast, so nothing to plan from."""
    return result.forecast.is_empty()


def over_target(projection: pl.DataFrame, outlook: queue.Outlook, target_days_to_assessment: int,
                target_days_to_course: int) -> list[str]:
    """A sentence for each wait that passes its target in the weeks projected: the first week
    it does, by number and date."""
    weeks = projection.select("weeks_ahead", "week")
    out = []
    for label, first, unit, target in (
        ("assessment", outlook.first_week_over_assessment_target, "working days", target_days_to_assessment),
        ("a course", outlook.first_week_over_course_target, "days", target_days_to_course),
    ):
        if first is not None:
            week = weeks.filter(pl.col("weeks_ahead") == first)["week"][0]
            out.append(f"**The wait to {label} passes the target of {target} {unit} in week {first}** (week of "
                       f"{week:%d %B %Y}).")
    return out


def breached_now(referrals: pl.DataFrame, as_of: date, target_days_to_assessment: int,
                 target_days_to_course: int) -> list[str]:
    """A sentence for each target breached at the as-of date, from the same counts as the
    Capacity page's banner and the worklist (divert.analytics.planning.capacity.breached_now)."""
    return [f"**{row['label']}: the target is breached now** ({math.floor(row['within_target'] * 1000) / 10:g}% "
            f"within it, {row['still_waiting_over_target']:,} still waiting past it; as on the Capacity page). The "
            "projection starts from the people waiting now."
            for row in capacity.breached_now(referrals, as_of, target_days_to_assessment, target_days_to_course)]


@dataclass(frozen=True)
class Comparison:
    """Scenarios side by side: their inputs and results, and every week of each."""

    table: pl.DataFrame  # one column a scenario (divert.analytics.planning.queue.compare)
    height: int  # the table's height on screen
    weeks: pl.DataFrame  # every week of each scenario (queue.compare_projections)
    course: pl.DataFrame  # the columns of the wait-to-a-course chart's table
    assessment: pl.DataFrame  # the columns of the wait-to-assessment chart's table


def comparison(result: forecast.ForecastResult, plans: dict[str, Plan], baseline: pl.DataFrame,
               target_days_to_assessment: int, target_days_to_course: int) -> Comparison:
    """Each plan projected on the forecast as of the as-of date, with the current targets."""
    outlooks = {name: (p, staffing.for_plan(result, p, target_days_to_assessment, target_days_to_course).outlook)
                for name, p in plans.items()}
    table = queue.compare(outlooks)
    weeks = queue.compare_projections(plans, baseline)
    return Comparison(table, min(ROW_HEIGHT * table.height, MOST_HEIGHT), weeks,
                      weeks.select("scenario", "week", "weeks_ahead", "wait_to_course", "course_queue"),
                      weeks.select("scenario", "week", "weeks_ahead", "wait_to_assessment", "assessment_queue"))


def saved_list(listing: pl.DataFrame) -> pl.DataFrame:
    """The saved scenarios as listed on the page (the export has every input too)."""
    return listing.select("name", "saved_by", "saved_at", "note")
