"""The week-by-week queue model of the planning model, and the staffing answer: `outlook`
(workers and sessions needed to keep every week's wait within the targets) is the one
function Capacity, Forecast, the Scenario planner and the Launch planner ask.

Two queues in a row, first come first served, one step per week:
1. Assessment: people who will take the telephone assessment (referrals x engagement) wait
   for a worker; a week's capacity is workers x assessments per worker-day x 5.
2. Course: people assessed and allocated to the group course wait for a seat; a week's
   capacity in people is sessions x seats / (1 - no-show rate), because a session is booked
   so that the people who turn up fill its seats.

Each week: served = min(waiting at the start + arrivals, capacity); the rest wait on.
The projected wait for someone joining at the back of the queue at the end of a week is the
usual wait when nobody queues (contact attempts, the next session's date) plus the time the
queue ahead takes to clear at that week's capacity: queue / capacity weeks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import polars as pl

from divert.analytics.calendar.weeks import DAYS_PER_WORKING_WEEK
from divert.analytics.planning.assumptions import DEMAND_LEVELS, FIELDS, Plan, plan_field_names

NO_CAPACITY = math.inf  # the wait when people are queueing and nothing serves them


def run_queue(arrivals, capacity, start: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(served, queue at the end of each week, weeks to clear that queue) for weekly
    arrivals and capacity. Negative inputs count as zero. Weeks to clear is 0 with no queue
    and infinite when people queue and the capacity is zero."""
    a = np.clip(np.asarray(arrivals, dtype=float), 0, None)
    c = np.clip(np.broadcast_to(np.asarray(capacity, dtype=float), a.shape), 0, None)
    served = np.zeros_like(a)
    queue = np.zeros_like(a)
    waiting = max(float(start), 0.0)
    for week in range(a.size):
        available = waiting + a[week]
        served[week] = min(available, c[week])
        waiting = available - served[week]
        queue[week] = waiting
    with np.errstate(divide="ignore", invalid="ignore"):
        clear = np.where(queue <= 1e-9, 0.0, np.where(c > 0, queue / np.where(c > 0, c, 1), NO_CAPACITY))
    return served, queue, clear


# --- the projection ---------------------------------------------------------------------------------
PROJECTION_SCHEMA = {
    "week": pl.Date, "weeks_ahead": pl.Int64, "referrals": pl.Float64,
    "assessment_arrivals": pl.Float64, "assessment_capacity": pl.Float64, "assessed": pl.Float64,
    "assessment_queue": pl.Float64, "wait_to_assessment": pl.Float64,
    "course_arrivals": pl.Float64, "course_capacity": pl.Float64, "booked": pl.Float64,
    "course_queue": pl.Float64, "wait_to_course": pl.Float64,
    "sessions": pl.Float64, "sessions_for_demand": pl.Float64, "completions": pl.Float64,
    "assessment_hours": pl.Float64, "facilitator_hours": pl.Float64, "staff_hours": pl.Float64,
}


def scenario_referrals(baseline: pl.DataFrame, plan: Plan) -> np.ndarray:
    """Weekly referrals for the plan: the chosen level of the baseline forecast (`mean`,
    `hi_80` or `hi_95`), times (1 + change) from the chosen week on."""
    column = plan.demand_level if plan.demand_level in baseline.columns else "mean"
    base = baseline.sort("weeks_ahead").head(plan.weeks)[column].fill_null(0).to_numpy().astype(float)
    ahead = np.arange(1, base.size + 1)
    factor = np.where(ahead >= plan.change_from_week, 1 + plan.demand_change_pct / 100, 1.0)
    return np.clip(base * factor, 0, None)


def _queues(referrals: np.ndarray, plan: Plan, workers: float, sessions: float):
    assessment_in = referrals * plan.engagement_pct / 100
    assessment_cap = np.full(referrals.size, replace(plan, assessment_workers=workers).assessments_per_week)
    assessed, a_queue, a_clear = run_queue(assessment_in, assessment_cap, plan.start_assessment_queue)
    course_in = assessed * plan.course_pct / 100
    attend = 1 - plan.no_show_pct / 100
    course_cap = np.full(referrals.size, replace(plan, sessions_per_week=sessions).course_places_per_week)
    booked, c_queue, c_clear = run_queue(course_in, course_cap, plan.start_course_queue)
    return {
        "assessment_arrivals": assessment_in, "assessment_capacity": assessment_cap, "assessed": assessed,
        "assessment_queue": a_queue,
        "wait_to_assessment": plan.base_days_to_assessment + a_clear * DAYS_PER_WORKING_WEEK,
        "course_arrivals": course_in, "course_capacity": course_cap, "booked": booked, "course_queue": c_queue,
        "wait_to_course": plan.base_days_to_course + c_clear * 7,
        "completions": booked * attend,
    }


def project(baseline: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """Week by week for the plan: arrivals, capacity, people served and still queueing, the
    projected waits (working days to assessment, days to course; null when nothing serves a
    queue), sessions run and the sessions that would just match that week's demand, people
    completing the course, and staff hours. `baseline` is a forecast (week, weeks_ahead,
    mean, hi_80, hi_95)."""
    referrals = scenario_referrals(baseline, plan)
    if referrals.size == 0:
        return pl.DataFrame(schema=PROJECTION_SCHEMA)
    q = _queues(referrals, plan, plan.assessment_workers, plan.sessions_per_week)
    weeks = baseline.sort("weeks_ahead").head(referrals.size)
    attend = 1 - plan.no_show_pct / 100
    seats_needed = q["course_arrivals"] * attend
    frame = pl.DataFrame({
        "week": weeks["week"], "weeks_ahead": weeks["weeks_ahead"].cast(pl.Int64), "referrals": referrals,
        **{k: v for k, v in q.items() if k != "completions"},
        "sessions": np.full(referrals.size, float(plan.sessions_per_week)),
        "sessions_for_demand": seats_needed / plan.seats_per_session,
        "completions": q["completions"],
        "assessment_hours": q["assessed"] * plan.hours_per_assessment,
        "facilitator_hours": np.full(referrals.size, plan.sessions_per_week * plan.facilitator_hours_per_session),
    })
    frame = frame.with_columns((pl.col("assessment_hours") + pl.col("facilitator_hours")).alias("staff_hours"))
    return frame.with_columns(
        pl.col(c).replace(NO_CAPACITY, None) for c in ("wait_to_assessment", "wait_to_course")
    ).select(list(PROJECTION_SCHEMA)).cast(PROJECTION_SCHEMA)


# --- what it takes to stay within target ------------------------------------------------------------
def _smallest(ok, low: float, high: float, step: float) -> float | None:
    """Smallest value on the grid low, low+step, ... high for which ok(value) holds, assuming
    ok is monotone (more capacity never makes waits longer). None if even `high` fails."""
    n = int(round((high - low) / step))
    if not ok(low + n * step):
        return None
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(low + mid * step):
            hi = mid
        else:
            lo = mid + 1
    return round(low + lo * step, 6)


def _within(waits: np.ndarray, target: float) -> bool:
    return bool(np.all(waits <= target + 1e-9))


def _not_growing(backlog: np.ndarray) -> bool:
    """The backlog is not growing by the last week: a plan that only holds until the end of
    the period (the queue still climbing) is not enough."""
    return backlog.size < 2 or bool(backlog[-1] <= backlog[-2] + 1e-9)


def workers_needed(baseline: pl.DataFrame, plan: Plan, target_working_days: float, most: float = 500) -> float | None:
    """Fewest assessment workers (steps of 0.5) that keep every week's projected wait to
    assessment within the target, with the backlog no longer growing by the last week. None
    when no number does (the usual wait with no queue is already over the target, or more
    than `most` would be needed)."""
    referrals = scenario_referrals(baseline, plan)
    if referrals.size == 0 or plan.base_days_to_assessment > target_working_days:
        return None

    def ok(workers):
        q = _queues(referrals, plan, workers, 0)
        return _within(q["wait_to_assessment"], target_working_days) and _not_growing(q["assessment_queue"])

    return _smallest(ok, 0.0, most, 0.5)


def sessions_needed(baseline: pl.DataFrame, plan: Plan, target_days: float, workers: float | None = None,
                    most: float = 200) -> float | None:
    """Fewest sessions a week (steps of 0.5) that keep every week's projected wait to a course
    within the target, with the backlog no longer growing by the last week, when `workers`
    assessment workers feed the course (default: the plan's). None when no number does."""
    referrals = scenario_referrals(baseline, plan)
    if referrals.size == 0 or plan.base_days_to_course > target_days:
        return None
    workers = plan.assessment_workers if workers is None else workers

    def ok(sessions):
        q = _queues(referrals, plan, workers, sessions)
        return _within(q["wait_to_course"], target_days) and _not_growing(q["course_queue"])

    return _smallest(ok, 0.0, most, 0.5)


@dataclass(frozen=True)
class Outlook:
    """The headline of a projection against the targets."""
    longest_wait_to_assessment: float | None  # None: no capacity while people queue
    longest_wait_to_course: float | None
    first_week_over_assessment_target: int | None  # weeks ahead
    first_week_over_course_target: int | None
    final_assessment_queue: float
    final_course_queue: float
    largest_backlog: float  # the most people waiting in either queue at the end of any week
    workers_needed: float | None
    sessions_needed: float | None
    referrals: float
    completions: float
    staff_hours_per_week: float

    def as_dict(self) -> dict:
        return asdict(self)


def outlook(baseline: pl.DataFrame, plan: Plan, target_assessment: float, target_course: float) -> Outlook:
    """The staffing answer for a weekly demand (`baseline`: week, weeks_ahead, mean, hi_80,
    hi_95, starting the week after the as-of date) and a plan: the projection's longest waits,
    the first week over each target, the backlogs, and the workers and sessions needed to keep
    within both targets (workers_needed, sessions_needed). Every planning page asks this."""
    projection = project(baseline, plan)
    if projection.is_empty():
        return Outlook(None, None, None, None, 0.0, 0.0, 0.0, None, None, 0.0, 0.0, 0.0)

    def longest(column):
        values = projection[column]
        return None if values.null_count() else float(values.max())

    def first_over(column, target):
        over = projection.filter(pl.col(column).is_null() | (pl.col(column) > target + 1e-9))
        return None if over.is_empty() else int(over["weeks_ahead"][0])

    workers = workers_needed(baseline, plan, target_assessment)
    # sessions for the course target once assessments keep to their target too
    feeding = max(plan.assessment_workers, workers) if workers is not None else plan.assessment_workers
    return Outlook(
        longest("wait_to_assessment"), longest("wait_to_course"),
        first_over("wait_to_assessment", target_assessment), first_over("wait_to_course", target_course),
        float(projection["assessment_queue"][-1]), float(projection["course_queue"][-1]),
        float(max(projection["assessment_queue"].max(), projection["course_queue"].max())),
        workers, sessions_needed(baseline, plan, target_course, feeding),
        float(projection["referrals"].sum()), float(projection["completions"].sum()),
        float(projection["staff_hours"].mean()),
    )


OUTLOOK_LABELS = {
    "longest_wait_to_assessment": "Longest projected wait to assessment (working days)",
    "longest_wait_to_course": "Longest projected wait to a course (days)",
    "first_week_over_assessment_target": "First week over the assessment target",
    "first_week_over_course_target": "First week over the course target",
    "final_assessment_queue": "People waiting for an assessment at the end",
    "final_course_queue": "People waiting for a course at the end",
    "largest_backlog": "Largest backlog in any week (people)",
    "workers_needed": "Assessment workers needed to stay within target",
    "sessions_needed": "Sessions a week needed to stay within target",
    "referrals": "Referrals over the period",
    "completions": "Course completions over the period",
    "staff_hours_per_week": "Staff hours a week (assessments and sessions)",
}


def compare(named: dict[str, tuple[Plan, Outlook]]) -> pl.DataFrame:
    """Scenarios side by side: one row per input and per result, one column per scenario."""
    rows = []
    for name in plan_field_names():
        label = FIELDS[name].label if name in FIELDS else name.replace("_", " ").capitalize()
        if name == "demand_level":
            label = "Demand planned for"
        rows.append({"section": "Input", "measure": label,
                     **{s: _text(getattr(plan, name), name) for s, (plan, _) in named.items()}})
    for key, label in OUTLOOK_LABELS.items():
        rows.append({"section": "Result", "measure": label,
                     **{s: _text(getattr(result, key), key) for s, (_, result) in named.items()}})
    schema = {"section": pl.String, "measure": pl.String, **{s: pl.String for s in named}}
    return pl.DataFrame(rows, schema=schema)


def _text(value, key: str) -> str:
    if key == "demand_level":
        return DEMAND_LEVELS.get(value, str(value))
    if value is None:
        if key.startswith("first_week"):
            return "never"
        if key.endswith("_needed"):
            return "not reachable"
        return "no capacity"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


# --- warnings for the capacity page ------------------------------------------------------------------
@dataclass(frozen=True)
class TargetWarning:
    level: str  # "breached", "projected", "met" or "no_data" (nobody reached the step recently)
    measure: str  # "to_assessment" or "to_course"
    message: str


def target_warnings(summary: pl.DataFrame, result: Outlook, baseline: pl.DataFrame, weeks_back: int,
                    target_assessment: float, target_course: float) -> list[TargetWarning]:
    """One warning per service target: breached now (fewer than nine in ten people recently
    within it), projected to be breached (the queue model at the forecast demand and current
    capacity passes it), or met."""
    out = []
    first_weeks = {"to_assessment": result.first_week_over_assessment_target,
                   "to_course": result.first_week_over_course_target}
    weeks = baseline.sort("weeks_ahead")
    for row in summary.iter_rows(named=True):
        measure, unit, target = row["measure"], row["unit"], row["target"]
        step = "assessed" if measure == "to_assessment" else "starting a course"
        first = first_weeks.get(measure)
        ahead = ("at the forecast demand and the current capacity it would be met" if weeks.height else
                 "there is too little history for a forecast")
        if not row["people"] and not row.get("still_waiting_over_target") and first is None:
            out.append(TargetWarning("no_data", measure, (
                f"**{row['label']}:** nobody was {step} in the last {weeks_back} weeks, so the target cannot be "
                f"checked; {ahead}.")))
        elif row["status"] == "breached":
            out.append(TargetWarning("breached", measure, (
                f"**{row['label']}: target breached.** Of the {_counted(row, step, weeks_back)}, "
                f"{_within_text(row)} were within the target of {target:.0f} {unit}; the aim is at least nine "
                f"in ten.{_tail(row, unit)}")))
        elif first is not None:
            week = weeks.filter(pl.col("weeks_ahead") == first)["week"]
            when = f"in week {first} (week of {week[0]:%d %b %Y})" if week.len() else f"in week {first}"
            out.append(TargetWarning("projected", measure, (
                f"**{row['label']}: projected to breach the target {when}.** At the forecast demand and the "
                f"current capacity the wait would pass {target:.0f} {unit}. Open the scenario planner to see "
                "what would keep it within target.")))
        else:
            now = "" if row["within_target"] is None else (
                f" ({_share_text(row)} of the {_counted(row, step, weeks_back)} were within it)")
            projected = (", and projected to stay within it at the forecast demand" if weeks.height else
                         "; there is too little history to project it")
            out.append(TargetWarning("met", measure, (
                f"**{row['label']}: within the target of {target:.0f} {unit}**{now}{projected}.")))
    return out


def _counted(row: dict, step: str, weeks_back: int) -> str:
    """Whom the share within the target is of: the people who reached the step recently, and
    those still waiting who are already past the target (the worklist's overdue)."""
    reached = f"{row['people']:,} people {step} in the last {weeks_back} weeks"
    over = row.get("still_waiting_over_target") or 0
    return reached if not over else f"{reached} and the {over:,} still waiting past the target"


def _share_text(row: dict) -> str:
    """The share within the target, rounded down to one decimal place, so that a share just
    under nine in ten never reads as the aim (90%)."""
    return f"{math.floor(row['within_target'] * 1000) / 10:g}%"


def _within_text(row: dict) -> str:
    """'123 (89.7%)': how many were within the target, and the share."""
    counted = row["people"] + (row.get("still_waiting_over_target") or 0)
    return f"{round(row['within_target'] * counted):,} ({_share_text(row)})"


def _tail(row: dict, unit: str) -> str:
    return "" if row["p90"] is None else f" One in ten of those who reached it waited more than {row['p90']:.1f} {unit}."


def compare_projections(named: dict[str, Plan], baseline: pl.DataFrame) -> pl.DataFrame:
    """The week-by-week projections of several scenarios, one after another, with a
    `scenario` column."""
    parts = [project(baseline, plan).with_columns(pl.lit(name).alias("scenario")) for name, plan in named.items()]
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame(schema={"scenario": pl.String, **PROJECTION_SCHEMA})
    return pl.concat(parts).select("scenario", *PROJECTION_SCHEMA)
