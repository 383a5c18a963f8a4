"""What the Launch planner shows around the launch model (divert.analytics.planning.launch): this
force's own launch jump, the counts table the user edits and what comes back from it, the two
assumptions the planner adds to the planning model's, the capacity answers by measure, and the
service sized from the old figures set against one sized for a busy run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from divert.analytics.dashboards import volume
from divert.analytics.data.frames import Frames
from divert.analytics.planning import launch, queue
from divert.core.field_rules import Problem

OLD, BUSY = "Sized from the old figures", "Sized for a busy run"
EXTRA = (("uplift_pct", "Recording uplift (%)"), ("referral_pct", "Offences referred (%)"))


def own_jump(known: Frames, as_of: date) -> tuple[dict, str | None]:
    """This force's recorded possession offences before and after it launched (as the Volume
    page shows them at `as_of`), and that jump in words (None when it cannot be measured)."""
    jump = volume.launch_jump(known.offences, launch=known.programme.launch, as_of=as_of).row(0, named=True)
    return jump, volume.launch_jump_text(jump)


def editor_rows(offences: pl.DataFrame, launched: date) -> pl.DataFrame:
    """The counts table the user starts from: the offences recorded in the two years before
    the launch, months as YYYY-MM, or one empty row when there are none."""
    example = launch.offences_before(offences, launched, months=24)
    if example.height:
        return example.with_columns(pl.col("month").dt.strftime("%Y-%m"))
    return pl.DataFrame({"month": [None], "offences": [None]}, schema={"month": pl.String, "offences": pl.Int64})


def counts_from_editor(edited) -> tuple[pl.DataFrame, list[Problem]]:
    """The counts as typed in the table (any frame st.data_editor returns), checked."""
    return launch.check_offence_counts(pl.DataFrame(edited).to_dicts())


def months(counts: pl.DataFrame) -> int:
    """How many months of counts were given."""
    return counts.height


def extra_assumptions(inputs: launch.LaunchInputs, rates) -> pl.DataFrame:
    """The planner's own two assumptions (the uplift and the share referred), with where each
    came from, as rows of the assumptions table."""
    own = launch.launch_sources(inputs, rates)
    return pl.DataFrame([{"assumption": label, "value": float(getattr(inputs, name)), "source": own[name].kind,
                          "how": own[name].detail} for name, label in EXTRA])


def capacity_answers(needed: pl.DataFrame) -> dict[str, dict]:
    """The capacity needed (divert.analytics.planning.launch.capacity_needed), one row by measure."""
    return {row["measure"]: row for row in needed.iter_rows(named=True)}


@dataclass(frozen=True)
class Sizings:
    """The service sized from the crime figures before the uplift against one sized for a busy
    run, projected week by week from the launch."""

    old_workers: int
    old_sessions: int
    order: list[str]  # the sizings, in the order the charts draw them
    warning: str | None  # where the old sizing's waits pass a target (None: they stay within)
    runs: pl.DataFrame  # both sizings week by week
    assessment: pl.DataFrame  # the columns of the wait-to-assessment chart's table
    course: pl.DataFrame  # the columns of the wait-to-a-course chart's table


def sizings(counts: pl.DataFrame, inputs: launch.LaunchInputs, weekly: pl.DataFrame, needed: pl.DataFrame,
            target_days_to_assessment: int, target_days_to_course: int) -> Sizings | None:
    """Both sizings projected on the expected referrals from launch, or None when no number of
    workers or sessions keeps the usual wait within a target."""
    old_workers, old_sessions = launch.sized_from_old_figures(counts, inputs, target_days_to_assessment,
                                                              target_days_to_course)
    busy = dict(zip(needed["measure"].to_list(), needed["busy_week"].to_list(), strict=True))
    busy_workers, busy_sessions = busy[launch.WORKERS_NEEDED], busy[launch.SESSIONS_NEEDED]
    if None in (old_workers, old_sessions, busy_workers, busy_sessions):
        return None
    old_plan = launch.launch_plan(inputs, old_workers, old_sessions)
    plans = {OLD: old_plan, BUSY: launch.launch_plan(inputs, busy_workers, busy_sessions)}
    runs = queue.compare_projections(plans, weekly)
    old = queue.outlook(weekly, old_plan, target_days_to_assessment, target_days_to_course)
    warning = None
    if old.first_week_over_assessment_target is not None or old.first_week_over_course_target is not None:
        weeks_over = [f"assessment in week {old.first_week_over_assessment_target}"
                      if old.first_week_over_assessment_target else None,
                      f"a course in week {old.first_week_over_course_target}" if old.first_week_over_course_target else None]
        warning = "Sized from the old figures, the wait passes the target for " + " and for ".join(
            w for w in weeks_over if w) + "."
    return Sizings(
        old_workers, old_sessions, list(plans), warning, runs,
        runs.select("scenario", "week", "weeks_ahead", "referrals", "assessment_capacity", "assessment_queue",
                    "wait_to_assessment", "course_capacity", "course_queue", "wait_to_course"),
        runs.select("scenario", "week", "weeks_ahead", "course_arrivals", "course_capacity", "course_queue",
                    "wait_to_course"),
    )
