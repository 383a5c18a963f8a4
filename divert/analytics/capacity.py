"""Capacity now: course sessions against demand, seat use, the waiting list, waiting times
against the service targets, and assessments per worker.

Pure functions on the loader's frames (referrals, sessions). "Now" is the end of the data
(divert.analytics.metrics.end_of_data), so the answers never depend on today's date.
Working days are Monday to Friday (numpy busday functions; bank holidays are not removed).
The planners build on this: divert.analytics.rates (what the service has achieved),
demand (referrals -> work), planning (a scenario's inputs) and queue (the queue model).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from divert.analytics.filters import Filters
from divert.analytics.frames import Frames

DAYS_PER_WORKING_WEEK = 5
COURSE = "group_course"
MET_SHARE = 0.9  # a service target is met when at least nine in ten people are within it

# --- small helpers ------------------------------------------------------------------------------
def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def working_days_between(start, end) -> np.ndarray:
    """Working days (Mon-Fri) from each start date to each end date: the start day is not
    counted, the end day is (Friday -> next Monday is 1). numpy.busday_count on date arrays."""
    s = np.asarray(start, dtype="datetime64[D]")
    e = np.asarray(end, dtype="datetime64[D]")
    return np.busday_count(s + 1, e + 1)


def working_days_in(start: date, end: date) -> int:
    """Working days from start to end inclusive."""
    return int(np.busday_count(np.datetime64(start, "D"), np.datetime64(end + timedelta(days=1), "D")))


def as_day(column: str, frame: pl.DataFrame) -> pl.Expr:
    """A date column, or a datetime column as its date."""
    col = pl.col(column)
    return col if frame.schema.get(column) == pl.Date else col.dt.date()


# --- waits ----------------------------------------------------------------------------------------
def wait_days(referrals: pl.DataFrame) -> pl.DataFrame:
    """Each referral's waits: working days from referral to assessment (by date), days from
    assessment to the first course session (fractional, from the recorded times)."""
    frame = referrals.select(
        "referral_id" if "referral_id" in referrals.columns else pl.int_range(pl.len()).alias("referral_id"),
        pl.col("referred_at").dt.date().alias("referred_on"),
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


def wait_summary(referrals: pl.DataFrame, start: date, end: date, target_assessment: int,
                 target_course: int) -> pl.DataFrame:
    """Waits of the people who reached the step between start and end (by the date they
    reached it): how many, median, 90th percentile, the target, the share within it, and
    whether the target is met (at least nine in ten people waited no longer than the target)."""
    waits = wait_days(referrals)
    rows = []
    for measure, label, unit, column, day, target in (
        ("to_assessment", "Referral to assessment", "working days", "working_days_to_assessment", "assessed_on", target_assessment),
        ("to_course", "Assessment to course", "days", "days_to_course", "session_on", target_course),
    ):
        values = waits.filter(pl.col(day).is_between(start, end)).drop_nulls(column)[column]
        n = values.len()
        median = float(values.median()) if n else None
        p90 = float(values.quantile(0.9, "linear")) if n else None
        within = float((values <= target).mean()) if n else None
        status = None if within is None else ("met" if within >= MET_SHARE - 1e-12 else "breached")
        rows.append({"measure": measure, "label": label, "unit": unit, "people": n, "median": median, "p90": p90,
                     "target": float(target), "p90_over_target": None if p90 is None else p90 - target,
                     "within_target": within, "status": status})
    return pl.DataFrame(rows, schema={"measure": pl.String, "label": pl.String, "unit": pl.String, "people": pl.Int64,
                                      "median": pl.Float64, "p90": pl.Float64, "target": pl.Float64,
                                      "p90_over_target": pl.Float64, "within_target": pl.Float64, "status": pl.String})


def weekly_waits(referrals: pl.DataFrame) -> pl.DataFrame:
    """Median and 90th percentile of each wait by the week people reached the step."""
    waits = wait_days(referrals)
    parts = []
    for measure, column, day in (("to_assessment", "working_days_to_assessment", "assessed_on"),
                                 ("to_course", "days_to_course", "session_on")):
        part = waits.drop_nulls(column).group_by(pl.col(day).dt.truncate("1w").alias("week")).agg(
            pl.lit(measure).alias("measure"), pl.len().cast(pl.Int64).alias("people"),
            pl.col(column).median().alias("median"), pl.col(column).quantile(0.9, "linear").alias("p90"),
        )
        parts.append(part)
    schema = {"week": pl.Date, "measure": pl.String, "people": pl.Int64, "median": pl.Float64, "p90": pl.Float64}
    return pl.concat([p.cast(schema) for p in parts]).sort("measure", "week") if parts else pl.DataFrame(schema=schema)


# --- the waiting lists ------------------------------------------------------------------------------
def _course_waiters(referrals: pl.DataFrame) -> pl.DataFrame:
    """People allocated to the group course: the day they joined the waiting list (assessed)
    and the day they left it (first booking, or closure if that came first)."""
    allocated = referrals.filter(pl.col("allocation") == COURSE).filter(pl.col("assessed_at").is_not_null())
    joined = pl.col("assessed_at").dt.date()
    left = pl.min_horizontal(pl.col("first_booked_at").dt.date(), as_day("closed_on", referrals))
    # a booking or closure dated before the assessment (a correction) counts as leaving that day
    return allocated.select(joined.alias("joined"),
                            pl.when(left.is_null()).then(None).otherwise(pl.max_horizontal(left, joined)).alias("left"))


def waiting_list(referrals: pl.DataFrame, on: date, longer_than: float | None = None) -> pl.DataFrame:
    """The course waiting list at the end of `on`: allocated to the course, not booked on a
    session and not closed. One row: people, median and longest days waited so far, and how
    many have waited longer than `longer_than` days."""
    waiters = _course_waiters(referrals).filter(
        (pl.col("joined") <= on) & (pl.col("left").is_null() | (pl.col("left") > on))
    )
    days = waiters.select((pl.lit(on) - pl.col("joined")).dt.total_days().alias("days"))["days"]
    n = days.len()
    longer = int((days > longer_than).sum()) if n and longer_than is not None else 0
    return pl.DataFrame({"on": [on], "people": [n], "median_days_waiting": [float(days.median()) if n else None],
                         "longest_days_waiting": [float(days.max()) if n else None], "waiting_longer": [longer]},
                        schema={"on": pl.Date, "people": pl.Int64, "median_days_waiting": pl.Float64,
                                "longest_days_waiting": pl.Float64, "waiting_longer": pl.Int64})


def awaiting_assessment(referrals: pl.DataFrame, on: date, target_working_days: int) -> pl.DataFrame:
    """Referrals not yet assessed or closed at the end of `on`:
    how many, and how many have already waited longer than the target in working days."""
    frame = referrals.filter(
        (pl.col("referred_at").dt.date() <= on)
        & (pl.col("assessed_at").is_null() | (pl.col("assessed_at").dt.date() > on))
        & (as_day("closed_on", referrals).is_null() | (as_day("closed_on", referrals) > on))
        # no contact or declined but never closed: not waiting for a worker
        & ~(pl.col("assessment_result").is_in(["no_contact", "declined"]) & as_day("closed_on", referrals).is_null()).fill_null(False)
    )
    waited = working_days_between(frame["referred_at"].dt.date().to_numpy(), np.full(frame.height, np.datetime64(on, "D")))
    over = int((waited > target_working_days).sum()) if frame.height else 0
    return pl.DataFrame({"on": [on], "people": [frame.height], "over_target": [over],
                         "longest_working_days": [int(waited.max()) if frame.height else None]},
                        schema={"on": pl.Date, "people": pl.Int64, "over_target": pl.Int64,
                                "longest_working_days": pl.Int64})


# --- week by week ---------------------------------------------------------------------------------
WEEKLY_SCHEMA = {
    "week": pl.Date, "scheduled": pl.Boolean, "referrals": pl.Int64, "assessments": pl.Int64,
    "course_allocations": pl.Int64, "sessions": pl.Int64, "seats": pl.Int64, "booked": pl.Int64,
    "attended": pl.Int64, "seat_use": pl.Float64, "attendance": pl.Float64, "waiting_list": pl.Int64,
}


def weekly_capacity(referrals: pl.DataFrame, sessions: pl.DataFrame, last_day: date,
                    start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """One row per week (Monday start): referrals, assessments completed, people allocated to
    the course, sessions and seats scheduled, seats booked and attended, seat use (booked /
    seats), attendance (attended / booked) and the course waiting list at the week's end.
    Weeks that end after the data (the current part week, and weeks ahead that already have
    sessions on the calendar) are included with `scheduled` true: no attendance or waiting
    list for them yet."""
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
    last = week_start(end) if end else max(max(lasts), week_start(last_day))
    if first > last:
        return pl.DataFrame(schema=WEEKLY_SCHEMA)
    spine = pl.DataFrame({"week": pl.date_range(first, last, "1w", eager=True)})
    table = spine
    for part in (refs, done, alloc, sess):
        table = table.join(part, on="week", how="left")
    counts = ["referrals", "assessments", "course_allocations", "sessions", "seats", "booked", "attended"]
    table = table.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)
    waiting = _waiting_list_by_week(referrals, table["week"])
    unfinished = pl.col("week").dt.offset_by("6d") > last_day  # the current part week, and weeks ahead
    return table.join(waiting, on="week", how="left").with_columns(
        unfinished.alias("scheduled"),
        pl.when(pl.col("seats") > 0).then(pl.col("booked") / pl.col("seats")).alias("seat_use"),
        pl.when(~unfinished & (pl.col("booked") > 0)).then(pl.col("attended") / pl.col("booked")).alias("attendance"),
        pl.when(unfinished).then(None).otherwise(pl.col("waiting_list")).alias("waiting_list"),
    ).select(list(WEEKLY_SCHEMA)).cast(WEEKLY_SCHEMA)


def _waiting_list_by_week(referrals: pl.DataFrame, weeks: pl.Series) -> pl.DataFrame:
    """The course waiting list at the end of each week (Sunday): joined minus left so far."""
    waiters = _course_waiters(referrals)
    ends = (weeks + timedelta(days=6)).to_numpy().astype("datetime64[D]")
    joined = np.sort(waiters["joined"].to_numpy().astype("datetime64[D]"))
    left = np.sort(waiters["left"].drop_nulls().to_numpy().astype("datetime64[D]"))
    count = np.searchsorted(joined, ends, side="right") - np.searchsorted(left, ends, side="right")
    return pl.DataFrame({"week": weeks, "waiting_list": count.astype(np.int64)})


def chart_window(filters: Filters, last_day: date, default_weeks: int = 52) -> tuple[date, date]:
    """The weeks a weekly chart shows: the filter's period, else the last `default_weeks`."""
    start = filters.start or week_start(last_day - timedelta(weeks=default_weeks - 1))
    return start, filters.end or last_day


def recent_use(referrals: pl.DataFrame, sessions: pl.DataFrame, start: date, end: date) -> dict:
    """Sessions held and assessments done between start and end: seats, seats booked, the
    share booked, and assessments a week on average."""
    held = sessions.filter(pl.col("starts_at").dt.date().is_between(start, end))
    seats, booked = int(held["seats"].sum()), int(held["booked"].sum())
    done = referrals.filter((pl.col("assessment_result") == "completed")
                            & pl.col("assessed_at").dt.date().is_between(start, end)).height
    weeks = max(((end - start).days + 1) / 7, 1e-9)
    return {"sessions": held.height, "seats": seats, "booked": booked, "seat_use": booked / seats if seats else None,
            "assessments": done, "assessments_per_week": done / weeks}


def worker_load(referrals: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Assessments completed by each worker between start and end, per working day of the
    period, and each worker's share. A blank worker is 'Not recorded'."""
    days = max(working_days_in(start, end), 1)
    done = referrals.filter((pl.col("assessment_result") == "completed")
                            & pl.col("assessed_at").dt.date().is_between(start, end))
    if done.is_empty():
        return pl.DataFrame(schema={"worker": pl.String, "assessments": pl.Int64, "per_working_day": pl.Float64,
                                    "share": pl.Float64})
    table = done.group_by(pl.col("worker").fill_null("Not recorded").alias("worker")).len(name="assessments")
    return table.with_columns(
        pl.col("assessments").cast(pl.Int64),
        (pl.col("assessments") / days).alias("per_working_day"),
        (pl.col("assessments") / done.height).alias("share"),
    ).sort("assessments", "worker", descending=[True, False])


# --- capacity table (divert metrics capacity) -----------------------------------------------------------
def capacity_table(frames: Frames, filters: Filters) -> pl.DataFrame:
    """Week by week: referrals, assessments, course allocations, sessions, seats, bookings,
    attendance, seat use and the course waiting list, plus the median and 90th percentile
    waits of people who reached each step that week. Filters narrow the referrals (sessions
    serve every area); weeks already scheduled after the end of the data are included."""
    from divert.analytics.metrics import end_of_data

    last = end_of_data(frames)
    if last is None:
        return pl.DataFrame(schema=WEEKLY_SCHEMA)
    refs = filters.without_period().apply(frames.referrals, "referred_on")
    table = weekly_capacity(refs, frames.sessions, last)
    waits = weekly_waits(refs)
    for measure, prefix in (("to_assessment", "working_days_to_assessment"), ("to_course", "days_to_course")):
        part = waits.filter(pl.col("measure") == measure).select(
            "week", pl.col("median").alias(f"{prefix}_median"), pl.col("p90").alias(f"{prefix}_p90"))
        table = table.join(part, on="week", how="left")
    if filters.start:
        table = table.filter(pl.col("week") >= week_start(filters.start))
    if filters.end:
        table = table.filter(pl.col("week") <= filters.end)
    return table.sort("week")
