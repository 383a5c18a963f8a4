"""Capacity at the as-of date: course sessions against demand, seat use, the waiting lists,
waiting times against the service targets, and assessments per worker.

Pure functions on the loader's frames (referrals, sessions), measured from an as-of date
passed in (filters.as_of_date on a snapshot, frames.at(as_of)); never from the latest record
or today's date. A week not over at the as-of date is provisional. Who is waiting is decided
once, in divert.analytics.planning.waiting (the records pages use the same rule).

Units: the wait from referral to assessment is in working days (Monday to Friday), as its
service target; the wait from assessment to a course is in calendar days, as its target.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from divert.analytics.calendar.maturity import provisional
from divert.analytics.calendar.weeks import (  # noqa: F401  (re-exported: the capacity vocabulary)
    DAYS_PER_WORKING_WEEK,
    as_day,
    snapshot,
    week_start,
    working_days_between,
    working_days_in,
)
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.memo import per_snapshot
from divert.analytics.planning import waiting as lists

COURSE = lists.COURSE
MET_SHARE = 0.9  # a service target is met when at least nine in ten people are within it


# --- waits ----------------------------------------------------------------------------------------
def wait_days(referrals: pl.DataFrame) -> pl.DataFrame:
    """Each referral's waits: working days from referral to assessment (by date), days from
    assessment to the first course session (fractional, from the recorded times)."""
    referred = pl.col("referred_on") if "referred_on" in referrals.columns else pl.col("referred_at").dt.date()
    frame = referrals.select(
        "referral_id" if "referral_id" in referrals.columns else pl.int_range(pl.len()).alias("referral_id"),
        referred.alias("referred_on"),
        pl.col("assessed_at").dt.date().alias("assessed_on"),
        pl.col("first_session_at").dt.date().alias("session_on"),
        ((pl.col("first_session_at") - pl.col("assessed_at")).dt.total_hours() / 24).alias("days_to_course"),
    )
    assessed = frame["assessed_on"].is_not_null().to_numpy()
    working = np.full(frame.height, np.nan)
    if assessed.any():
        working[assessed] = working_days_between(
            frame["referred_on"].filter(frame["assessed_on"].is_not_null()).to_numpy(),
            frame["assessed_on"].drop_nulls().to_numpy(),
        )
    return frame.with_columns(pl.Series("working_days_to_assessment", working).fill_nan(None))


SUMMARY_SCHEMA = {"measure": pl.String, "label": pl.String, "unit": pl.String, "people": pl.Int64,
                  "median": pl.Float64, "p90": pl.Float64, "target": pl.Float64, "p90_over_target": pl.Float64,
                  "within_target": pl.Float64, "status": pl.String, "still_waiting": pl.Int64,
                  "still_waiting_over_target": pl.Int64}


@per_snapshot
def wait_summary(referrals: pl.DataFrame, start: date, end: date, target_assessment: int,
                 target_course: int) -> pl.DataFrame:
    """Waits of the people who reached the step between start and end (by the date they
    reached it): how many, median, 90th percentile, the target, the share within it, and
    whether the target is met (at least nine in ten people within the target). Those still
    waiting at the end are counted beside them (still_waiting, and how many of them are already
    past the target; records from before a data gap left out); the people already past the
    target count in the share within it too, as missing it (they can no longer meet it), so the
    status agrees with the worklist's overdue count."""
    waits = wait_days(referrals)
    gap = lists.latest_gap(referrals, end)
    open_lists = {"to_assessment": lists.summarise(lists.awaiting_assessment(referrals, end, gap), "working_days",
                                                    target_assessment),
                  "to_course": lists.summarise(lists.awaiting_course(referrals, end, gap), "days", target_course)}
    rows = []
    for measure, label, unit, column, day, target in (
        ("to_assessment", "Referral to assessment", "working days", "working_days_to_assessment", "assessed_on",
         target_assessment),
        ("to_course", "Assessment to course", "days", "days_to_course", "session_on", target_course),
    ):
        values = waits.filter(pl.col(day).is_between(start, end)).drop_nulls(column)[column]
        n = values.len()
        median = float(values.median()) if n else None
        p90 = float(values.quantile(0.9, "linear")) if n else None
        still = open_lists[measure]
        # people still waiting who are already past the target will not be within it, whenever
        # they reach the step: they count against it now, as on the worklist
        counted = n + still.over_target
        within = float((values <= target).sum()) / counted if counted else None
        status = None if within is None else ("met" if within >= MET_SHARE - 1e-12 else "breached")
        rows.append({"measure": measure, "label": label, "unit": unit, "people": n, "median": median, "p90": p90,
                     "target": float(target), "p90_over_target": None if p90 is None else p90 - target,
                     "within_target": within, "status": status, "still_waiting": still.waiting,
                     "still_waiting_over_target": still.over_target})
    return pl.DataFrame(rows, schema=SUMMARY_SCHEMA)


RECENT_WEEKS = 4  # the Capacity page's default window for "recently"


def breached_now(referrals: pl.DataFrame, as_of: date, target_assessment: int, target_course: int,
                 weeks_back: int = RECENT_WEEKS) -> list[dict]:
    """The wait_summary rows whose target is breached at the as-of date (the Capacity page's
    banner over its default window): for the pages that need the same verdict."""
    start = as_of - timedelta(weeks=weeks_back) + timedelta(days=1)
    summary = wait_summary(referrals, start, as_of, target_assessment, target_course)
    return [row for row in summary.iter_rows(named=True) if row["status"] == "breached"]


@per_snapshot
def weekly_waits(referrals: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Median and 90th percentile of each wait by the week people reached the step, up to
    as_of; the week as_of falls in is provisional (not over)."""
    waits = wait_days(referrals)
    parts = []
    for measure, column, day in (("to_assessment", "working_days_to_assessment", "assessed_on"),
                                 ("to_course", "days_to_course", "session_on")):
        part = waits.drop_nulls(column).filter(pl.col(day) <= as_of).group_by(
            pl.col(day).dt.truncate("1w").alias("week")).agg(
            pl.lit(measure).alias("measure"), pl.len().cast(pl.Int64).alias("people"),
            pl.col(column).median().alias("median"), pl.col(column).quantile(0.9, "linear").alias("p90"),
        )
        parts.append(part)
    schema = {"week": pl.Date, "measure": pl.String, "people": pl.Int64, "median": pl.Float64, "p90": pl.Float64}
    table = pl.concat([p.cast(schema) for p in parts]).sort("measure", "week")
    return table.with_columns(provisional(pl.col("week"), "1w", as_of).alias("provisional"))


# --- the waiting lists (one row each) --------------------------------------------------------------
LIST_SCHEMA = {"on": pl.Date, "people": pl.Int64, "waiting": pl.Int64, "stale": pl.Int64,
               "median_days_waiting": pl.Float64, "longest_days_waiting": pl.Float64, "waiting_longer": pl.Int64}


@per_snapshot
def waiting_list(referrals: pl.DataFrame, on: date, longer_than: float | None = None) -> pl.DataFrame:
    """The course waiting list at the end of `on` (divert.analytics.planning.waiting.awaiting_course:
    allocated to the course, holding no place, not closed). One row: people on the list (as
    the records pages list them), those genuinely waiting (not from before a data gap) and
    stale, the median and longest days waited so far by those genuinely waiting, and how many
    of them have waited longer than `longer_than` days."""
    listed = lists.awaiting_course(referrals, on, lists.latest_gap(referrals, on))
    live = listed.filter(~pl.col("stale"))["days"]
    n = live.len()
    longer = int((live > longer_than).sum()) if n and longer_than is not None else 0
    return pl.DataFrame({"on": [on], "people": [listed.height], "waiting": [n], "stale": [listed.height - n],
                         "median_days_waiting": [float(live.median()) if n else None],
                         "longest_days_waiting": [float(live.max()) if n else None], "waiting_longer": [longer]},
                        schema=LIST_SCHEMA)


@per_snapshot
def awaiting_assessment(referrals: pl.DataFrame, on: date, target_working_days: float) -> pl.DataFrame:
    """Referrals waiting for an assessment at the end of `on` (divert.analytics.planning.waiting):
    people on the list, those genuinely waiting and stale, how many of those genuinely waiting
    are past the target (working days), and the longest wait among them (working days)."""
    listed = lists.awaiting_assessment(referrals, on, lists.latest_gap(referrals, on))
    queue = lists.summarise(listed, "working_days", target_working_days)
    return pl.DataFrame({"on": [on], "people": [queue.people], "waiting": [queue.waiting], "stale": [queue.stale],
                         "over_target": [queue.over_target], "longest_working_days": [queue.longest]},
                        schema={"on": pl.Date, "people": pl.Int64, "waiting": pl.Int64, "stale": pl.Int64,
                                "over_target": pl.Int64, "longest_working_days": pl.Int64})


# --- week by week ---------------------------------------------------------------------------------
WEEKLY_SCHEMA = {
    "week": pl.Date, "provisional": pl.Boolean, "scheduled": pl.Boolean, "in_gap": pl.Boolean,
    "referrals": pl.Int64, "assessments": pl.Int64, "course_allocations": pl.Int64, "sessions": pl.Int64,
    "seats": pl.Int64, "booked": pl.Int64, "attended": pl.Int64, "seat_use": pl.Float64, "seats_filled": pl.Float64,
    "attendance": pl.Float64, "waiting_list": pl.Int64,
}


@per_snapshot
def weekly_capacity(referrals: pl.DataFrame, sessions: pl.DataFrame, as_of: date,
                    start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """One row per week (Monday start) up to the last week with sessions on the calendar:
    referrals, assessments completed, people allocated to the course, sessions and seats,
    seats booked and attended, seat use (booked / seats), seats filled (attended / seats),
    attendance (attended / booked) and the course waiting list at the week's end.
    `provisional`: the week is not over at as_of (seats booked are "booked so far"; no
    attendance, seats filled or waiting list yet). `scheduled`: the week starts after as_of.
    `in_gap`: the week is wholly or partly in a data gap (divert.analytics.planning.waiting): its
    counts are missing, not zero."""
    def weekly(frame: pl.DataFrame, day: pl.Expr, name: str) -> pl.DataFrame:
        return frame.select(day.dt.truncate("1w").alias("week")).drop_nulls().group_by("week").len(name=name)

    refs = weekly(referrals, pl.col("referred_at").dt.date(), "referrals")
    assessed = referrals.filter(pl.col("assessment_result") == "completed")
    done = weekly(assessed, pl.col("assessed_at").dt.date(), "assessments")
    alloc = weekly(assessed.filter(pl.col("allocation") == COURSE), pl.col("assessed_at").dt.date(), "course_allocations")
    sess = sessions.drop_nulls("starts_at").group_by(pl.col("starts_at").dt.date().dt.truncate("1w").alias("week")).agg(
        pl.len().alias("sessions"), pl.col("seats").sum(), pl.col("booked").sum(), pl.col("attended").sum()
    )
    firsts = [f["week"].min() for f in (refs, sess) if f.height]
    lasts = [f["week"].max() for f in (refs, sess) if f.height]
    if not firsts:
        return pl.DataFrame(schema=WEEKLY_SCHEMA)
    first = week_start(start) if start else min(firsts)
    last = week_start(end) if end else max(max(lasts), week_start(as_of))
    if first > last:
        return pl.DataFrame(schema=WEEKLY_SCHEMA)
    spine = pl.DataFrame({"week": pl.date_range(first, last, "1w", eager=True)})
    table = spine
    for part in (refs, done, alloc, sess):
        table = table.join(part, on="week", how="left")
    counts = ["referrals", "assessments", "course_allocations", "sessions", "seats", "booked", "attended"]
    table = table.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)
    waiting = _waiting_list_by_week(referrals, table["week"])
    unfinished = provisional(pl.col("week"), "1w", as_of)  # the week as_of falls in, and weeks ahead
    in_gap = lists.weeks_in_gap(table["week"], lists.data_gaps(referrals, as_of), as_of)
    recorded = ["referrals", "assessments", "course_allocations", "waiting_list", "sessions", "seats", "booked",
                "attended", "seat_use", "seats_filled", "attendance"]
    return table.join(waiting, on="week", how="left").with_columns(
        unfinished.alias("provisional"), (pl.col("week") > as_of).alias("scheduled"), in_gap.alias("in_gap"),
        pl.when(pl.col("seats") > 0).then(pl.col("booked") / pl.col("seats")).alias("seat_use"),
        pl.when(~unfinished & (pl.col("seats") > 0)).then(pl.col("attended") / pl.col("seats")).alias("seats_filled"),
        pl.when(~unfinished & (pl.col("booked") > 0)).then(pl.col("attended") / pl.col("booked")).alias("attendance"),
        pl.when(unfinished).then(None).otherwise(pl.col("waiting_list")).alias("waiting_list"),
        pl.when(unfinished).then(None).otherwise(pl.col("attended")).alias("attended"),
    ).with_columns(
        pl.when(pl.col("in_gap")).then(None).otherwise(pl.col(c)).alias(c) for c in recorded
    ).select(list(WEEKLY_SCHEMA)).cast(WEEKLY_SCHEMA)


def _course_waiters(referrals: pl.DataFrame) -> pl.DataFrame:
    """People allocated to the group course: the day they joined the waiting list (assessed)
    and the day they left it (first booking, or closure if that came first). For the weekly
    history only: the list at a given day is divert.analytics.planning.waiting.awaiting_course."""
    allocated = referrals.filter(pl.col("allocation") == COURSE).filter(pl.col("assessed_at").is_not_null())
    joined = pl.col("assessed_at").dt.date()
    left = pl.min_horizontal(pl.col("first_booked_at").dt.date(), as_day("closed_on", referrals))
    # a booking or closure dated before the assessment (a correction) counts as leaving that day
    return allocated.select(joined.alias("joined"),
                            pl.when(left.is_null()).then(None).otherwise(pl.max_horizontal(left, joined)).alias("left"))


def _waiting_list_by_week(referrals: pl.DataFrame, weeks: pl.Series) -> pl.DataFrame:
    """The course waiting list at the end of each week (Sunday): joined minus left so far."""
    waiters = _course_waiters(referrals)
    ends = (weeks + timedelta(days=6)).to_numpy().astype("datetime64[D]")
    joined = np.sort(waiters["joined"].to_numpy().astype("datetime64[D]"))
    left = np.sort(waiters["left"].drop_nulls().to_numpy().astype("datetime64[D]"))
    count = np.searchsorted(joined, ends, side="right") - np.searchsorted(left, ends, side="right")
    return pl.DataFrame({"week": weeks, "waiting_list": count.astype(np.int64)})


def chart_window(filters: Filters, as_of: date, default_weeks: int = 52) -> tuple[date, date]:
    """The weeks a weekly chart shows: the filter's period, else the last `default_weeks` up to
    as_of."""
    start = filters.start or week_start(as_of - timedelta(weeks=default_weeks - 1))
    return start, filters.end or as_of


@per_snapshot
def recent_use(referrals: pl.DataFrame, sessions: pl.DataFrame, start: date, end: date) -> dict:
    """Sessions held and assessments done between start and end: seats, seats booked and
    filled (attended), the shares of seats booked and filled, and assessments a week."""
    held = sessions.filter(pl.col("starts_at").dt.date().is_between(start, end))
    seats, booked, attended = int(held["seats"].sum()), int(held["booked"].sum()), int(held["attended"].sum())
    done = referrals.filter((pl.col("assessment_result") == "completed")
                            & pl.col("assessed_at").dt.date().is_between(start, end)).height
    weeks = max(((end - start).days + 1) / 7, 1e-9)
    return {"sessions": held.height, "seats": seats, "booked": booked, "attended": attended,
            "seat_use": booked / seats if seats else None, "seats_filled": attended / seats if seats else None,
            "assessments": done, "assessments_per_week": done / weeks}


@per_snapshot
def worker_load(referrals: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Assessments completed by each worker between start and end, the weeks they completed
    any, their assessments per worker-day (assessments / (weeks active x 5 working days): worker-
    days counted as planning.PACE_MEANING counts them) and their share. A blank worker is 'Not recorded'."""
    done = referrals.filter((pl.col("assessment_result") == "completed")
                            & pl.col("assessed_at").dt.date().is_between(start, end))
    schema = {"worker": pl.String, "assessments": pl.Int64, "weeks_active": pl.Int64, "per_worker_day": pl.Float64,
              "share": pl.Float64}
    if done.is_empty():
        return pl.DataFrame(schema=schema)
    table = done.group_by(pl.col("worker").fill_null("Not recorded").alias("worker")).agg(
        pl.len().cast(pl.Int64).alias("assessments"),
        pl.col("assessed_at").dt.date().dt.truncate("1w").n_unique().cast(pl.Int64).alias("weeks_active"))
    return table.with_columns(
        (pl.col("assessments") / (pl.col("weeks_active") * DAYS_PER_WORKING_WEEK)).alias("per_worker_day"),
        (pl.col("assessments") / done.height).alias("share"),
    ).select(list(schema)).sort("assessments", "worker", descending=[True, False])


# --- capacity table (divert metrics capacity) -----------------------------------------------------------
@per_snapshot
def capacity_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Week by week as of filters.as_of_date: referrals, assessments, course allocations,
    sessions, seats, bookings, attendance, seat use, seats filled and the course waiting
    list, plus the median and 90th percentile waits of people who reached each step that week.
    `provisional`: the week is not over at the as-of date. Filters narrow the referrals
    (sessions serve every area); weeks already scheduled after the as-of date are included."""
    data, as_of = snapshot(frames, filters)
    if data.referrals.is_empty() and data.sessions.is_empty():
        return pl.DataFrame(schema=WEEKLY_SCHEMA)
    refs = filters.without_period().apply(data.referrals, "referred_on")
    table = weekly_capacity(refs, data.sessions, as_of)
    waits = weekly_waits(refs, as_of)
    for measure, prefix in (("to_assessment", "working_days_to_assessment"), ("to_course", "days_to_course")):
        part = waits.filter(pl.col("measure") == measure).select(
            "week", pl.col("median").alias(f"{prefix}_median"), pl.col("p90").alias(f"{prefix}_p90"))
        table = table.join(part, on="week", how="left")
    if filters.start:
        table = table.filter(pl.col("week") >= week_start(filters.start))
    if filters.end:
        table = table.filter(pl.col("week") <= filters.end)
    return table.sort("week")
