"""Who is waiting, once: the rule behind the records pages' work queues (divert.readmodels.work_queues) and
the capacity figures (divert.analytics.planning.capacity), so that both name the same people; the
course sessions still ahead; and data gaps, the spells with nothing recorded at all.

Waiting for an assessment at the end of a day: referred by then, not closed by then, and no
assessment result recorded by then (no contact and declined are results: the team has
stopped trying; they carry no date, so they count from the closure when there is one). Waiting for a course: assessed and allocated to the group course by then,
not closed, and holding no place on a session (never booked, or every booking a no-show or
cancelled: they wait again).

A record is *stale* when it was last moved on before a data gap: a spell of more than
GAP_DAYS days in which nothing at all was recorded (no referral, assessment, booking or
closure). After such a spell nobody can say whether those people are still waiting (the
records simply stopped), so they are listed but kept out of waits and projections.

Pure functions: polars in, polars out. The as-of date is always a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from divert.analytics.calendar.weeks import as_day, working_days_between
from divert.analytics.data.memo import per_snapshot
from divert.core.wording import plural

COURSE = "group_course"
GAP_DAYS = 28  # four weeks with nothing recorded at all is a gap in the records, not a quiet spell


# --- data gaps -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Gap:
    last_before: date  # the last day anything was recorded before the gap
    first_after: date | None  # the first day after it (None: nothing since, up to the as-of date)

    def describe(self, as_of: date) -> str:
        end = self.first_after or as_of
        days = (end - self.last_before).days
        if self.first_after is None:
            return f"nothing was recorded after {self.last_before:%d %b %Y} ({plural(days, 'day')})"
        return f"nothing was recorded between {self.last_before:%d %b %Y} and {self.first_after:%d %b %Y} ({plural(days, 'day')})"


def activity_days(referrals: pl.DataFrame, as_of: date) -> pl.Series:
    """Every day up to as_of on which something was recorded on the pathway, sorted."""
    rows = referrals.lazy()
    parts = [rows.select(as_day(column, referrals).alias("day")).unique()  # each column's days first: few
             for column in ("referred_on", "referred_at", "assessed_at", "first_contact_at", "first_booked_at",
                            "attended_at", "closed_on") if column in referrals.columns]
    if not parts:
        return pl.Series("day", [], dtype=pl.Date)
    days = pl.concat(parts).drop_nulls().filter(pl.col("day") <= as_of).unique().sort("day").collect()
    return days["day"]


def data_gaps(referrals: pl.DataFrame, as_of: date) -> list[Gap]:
    """Spells of more than GAP_DAYS days with nothing recorded, oldest first, including one
    running up to as_of."""
    days = activity_days(referrals, as_of).to_list()
    gaps = [Gap(a, b) for a, b in zip(days, days[1:], strict=False) if (b - a).days > GAP_DAYS]
    if days and (as_of - days[-1]).days > GAP_DAYS:
        gaps.append(Gap(days[-1], None))
    return gaps


@per_snapshot
def latest_gap(referrals: pl.DataFrame, as_of: date) -> Gap | None:
    gaps = data_gaps(referrals, as_of)
    return gaps[-1] if gaps else None


def weeks_in_gap(weeks: pl.Series, gaps: list[Gap], as_of: date) -> pl.Series:
    """True for each week (a Monday) with any day strictly inside a data gap: its counts are
    missing or cut short, not a real fall."""
    flags = np.zeros(weeks.len(), dtype=bool)
    for gap in gaps:
        end = gap.first_after or (as_of + timedelta(days=1))
        flags |= ((weeks + timedelta(days=6) > gap.last_before) & (weeks < end)
                  & (gap.last_before + timedelta(days=1) < end)).to_numpy()
    return pl.Series("in_gap", flags)


def _stale(since: pl.Expr, gap: Gap | None) -> pl.Expr:
    return pl.lit(False) if gap is None else (since <= pl.lit(gap.last_before))


# --- the two waiting lists -------------------------------------------------------------------------
def _open_at(frame: pl.DataFrame, as_of: date) -> pl.Expr:
    closed = as_day("closed_on", frame) if "closed_on" in frame.columns else pl.lit(None, pl.Date)
    return closed.is_null() | (closed > as_of)


def awaiting_assessment(referrals: pl.DataFrame, as_of: date, gap: Gap | None = None) -> pl.DataFrame:
    """The people waiting for an assessment at the end of as_of, longest first: every column
    of the input plus `since` (the referral day), `working_days` and `days` waited so far,
    and `stale` (referred before the latest data gap)."""
    referred = as_day("referred_on" if "referred_on" in referrals.columns else "referred_at", referrals)
    assessed = as_day("assessed_at", referrals)
    closed = as_day("closed_on", referrals) if "closed_on" in referrals.columns else pl.lit(None, pl.Date)
    # a no-contact or declined result carries no date of its own: the team was still trying
    # until the referral was closed
    undated_stop = pl.col("assessment_result").is_in(["no_contact", "declined"]) & assessed.is_null()
    no_result = (pl.col("assessment_result").is_null() | (assessed.is_not_null() & (assessed > as_of))
                 | (undated_stop & closed.is_not_null() & (closed > as_of)))
    waiting = referrals.filter((referred <= as_of) & _open_at(referrals, as_of) & no_result)
    waiting = waiting.with_columns(referred.alias("since"))
    return _with_waits(waiting, as_of, gap)


def holds_a_place(frame: pl.DataFrame, as_of: date) -> pl.Expr:
    """A place held on a session at the end of as_of. The records pages know it directly
    (`holds_place_now`, bookings booked, attended or completed); the analytics frames from the
    first booking and the attendance: booked by then, and not only no-shows since."""
    if "holds_place_now" in frame.columns:
        return pl.col("holds_place_now").fill_null(False)
    booked = as_day("first_booked_at", frame)
    attended = as_day("attended_at", frame) if "attended_at" in frame.columns else pl.lit(None, pl.Date)
    no_shows = pl.col("no_shows").fill_null(0) if "no_shows" in frame.columns else pl.lit(0)
    only_no_shows = (no_shows > 0) & (attended.is_null() | (attended > as_of))
    return (booked.is_not_null() & (booked <= as_of) & ~only_no_shows).fill_null(False)


def awaiting_course(referrals: pl.DataFrame, as_of: date, gap: Gap | None = None) -> pl.DataFrame:
    """The people waiting for a course place at the end of as_of, longest first: every column
    of the input plus `since` (the assessment day), `days` waited so far (calendar days, as
    the course target), `working_days`, and `stale`."""
    assessed = as_day("assessed_at", referrals)
    allocated = (pl.col("assessment_result") == "completed") & (pl.col("allocation") == COURSE)
    waiting = referrals.filter(allocated & assessed.is_not_null() & (assessed <= as_of) & _open_at(referrals, as_of)
                               & ~holds_a_place(referrals, as_of))
    waiting = waiting.with_columns(assessed.alias("since"))
    return _with_waits(waiting, as_of, gap)


def _with_waits(waiting: pl.DataFrame, as_of: date, gap: Gap | None) -> pl.DataFrame:
    working = working_days_between(waiting["since"].to_numpy(), as_of) if waiting.height else []  # as_of broadcast
    sort = ["since", "referral_id"] if "referral_id" in waiting.columns else ["since"]
    return waiting.with_columns(
        pl.Series("working_days", working, dtype=pl.Int64),
        (pl.lit(as_of) - pl.col("since")).dt.total_days().cast(pl.Int64).alias("days"),
        _stale(pl.col("since"), gap).alias("stale"),
    ).sort(sort)


@dataclass(frozen=True)
class Queue:
    """A waiting list summed up: everyone on it (as the records pages list them), those still
    genuinely waiting (not stale), how long the longest of them has waited, and how many are
    past a target (in the list's unit)."""
    people: int
    waiting: int  # not stale
    stale: int
    longest: int | None  # among those genuinely waiting
    over_target: int
    unit: str

    @property
    def longest_text(self) -> str:
        if self.longest is None:
            return ""
        return plural(self.longest, self.unit[:-1]) if self.unit.endswith("s") else f"{self.longest:,} {self.unit}"


def summarise(waiting: pl.DataFrame, unit_column: str, target: float | None = None) -> Queue:
    """Sum up awaiting_assessment (unit "working_days") or awaiting_course (unit "days")."""
    live = waiting.filter(~pl.col("stale"))
    values = live[unit_column]
    over = int((values > target).sum()) if target is not None and live.height else 0
    return Queue(waiting.height, live.height, waiting.height - live.height,
                 int(values.max()) if live.height else None, over, unit_column.replace("_", " "))


# --- sessions ahead ------------------------------------------------------------------------------------
@per_snapshot
def upcoming_sessions(sessions: pl.DataFrame, after: datetime) -> pl.DataFrame:
    """Course sessions starting after `after`, in start order, with seats booked so far and
    free (a no-show is a seat taken). Columns: as given, plus `free`."""
    moment = pl.lit(after)
    zone = getattr(sessions.schema.get("starts_at"), "time_zone", None)
    if zone and after.tzinfo is not None:
        moment = moment.dt.convert_time_zone(zone)
    ahead = sessions.filter(pl.col("starts_at") > moment).sort("starts_at")
    return ahead.with_columns(pl.max_horizontal(pl.col("seats") - pl.col("booked"), pl.lit(0)).alias("free"))


# --- the next action on each open referral (the caseworkers' worklist) ---------------------------
FIRST_CONTACT = "Awaiting first contact"
CONTACT_DUE = "Contact attempts due"
ASSESSMENT_DUE = "Assessment due"
TO_BOOK = "To book"
BOOKED = "Booked"
REBOOK = "No-show to rebook"
READY_TO_CLOSE = "Ready to close"
NEXT_ACTIONS = (FIRST_CONTACT, CONTACT_DUE, ASSESSMENT_DUE, TO_BOOK, BOOKED, REBOOK, READY_TO_CLOSE)


def next_actions(referrals: pl.DataFrame, as_of: date, assessment_target: int, course_target: int) -> pl.DataFrame:
    """Every referral open at the end of as_of with its next action (NEXT_ACTIONS), by the two
    waiting lists above, so that the worklist names the same people as the capacity figures:

    - waiting for an assessment: awaiting first contact (no attempt yet), contact attempts due
      (tried, not reached), assessment due (reached, or the assessment booked); overdue past
      `assessment_target` working days from the referral;
    - waiting for a course: to book, or no-show to rebook (a no-show since); overdue past
      `course_target` days from the assessment;
    - holding a place: booked, or ready to close once attended or completed;
    - the rest (no contact, declined, allocated elsewhere, not allocated): ready to close.

    Columns: the input's, plus `action`, `since` (the day the wait began), `days`,
    `working_days`, `overdue` and `stale`. Optional input columns: contact_attempts,
    reached_at, scheduled_at (contact before the assessment), no_shows, attended_at,
    place_booked_at."""
    def col(name, default):
        return pl.col(name) if name in referrals.columns else pl.lit(default)

    referred = as_day("referred_on" if "referred_on" in referrals.columns else "referred_at", referrals)
    open_now = referrals.filter((referred <= as_of) & _open_at(referrals, as_of))
    assessment = awaiting_assessment(open_now, as_of).with_columns(
        pl.when(col("reached_at", None).is_not_null() | col("scheduled_at", None).is_not_null())
        .then(pl.lit(ASSESSMENT_DUE))
        .when(col("contact_attempts", 0).fill_null(0) > 0).then(pl.lit(CONTACT_DUE))
        .otherwise(pl.lit(FIRST_CONTACT)).alias("action"),
        (pl.col("working_days") > assessment_target).alias("overdue"),
    )
    course = awaiting_course(open_now, as_of).with_columns(
        pl.when(col("no_shows", 0).fill_null(0) > 0).then(pl.lit(REBOOK)).otherwise(pl.lit(TO_BOOK)).alias("action"),
        (pl.col("days") > course_target).alias("overdue"),
    )
    listed = pl.concat([assessment["referral_id"], course["referral_id"]])
    rest = open_now.filter(~pl.col("referral_id").is_in(listed.implode()))
    holding = holds_a_place(rest, as_of)
    attended = as_day("attended_at", rest) if "attended_at" in rest.columns else pl.lit(None, pl.Date)
    booked_on = as_day("place_booked_at", rest) if "place_booked_at" in rest.columns else pl.lit(None, pl.Date)
    assessed = as_day("assessed_at", rest)
    rest = rest.with_columns(
        pl.when(holding & attended.is_null()).then(pl.lit(BOOKED)).otherwise(pl.lit(READY_TO_CLOSE)).alias("action"),
        pl.coalesce(pl.when(holding).then(pl.coalesce(attended, booked_on)), assessed, referred).alias("since"),
        pl.lit(False).alias("overdue"),
    )
    rest = _with_waits(rest, as_of, None)
    order = {action: n for n, action in enumerate(NEXT_ACTIONS)}
    frames = [f.select(*rest.columns) for f in (assessment, course)] + [rest]
    return pl.concat(frames, how="vertical_relaxed").with_columns(
        pl.col("action").replace_strict(order, return_dtype=pl.Int64).alias("action_order")
    ).sort(["action_order", "since", "referral_id"]).drop("action_order")
