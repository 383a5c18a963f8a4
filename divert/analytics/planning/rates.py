"""The planning model's assumptions measured from the records as of the as-of date: what the
service has recently achieved (engagement, allocation, no-shows, sessions, assessment pace,
usual waits) and where it stands at the as-of date (who is waiting), each with a Source
saying how it was measured; the programme's defaults (divert.analytics.planning.assumptions.DEFAULTS)
where the records say nothing.

The measuring window is the RECENT_WEEKS complete weeks up to the as-of date, or, when the
records stop before it or have only just started again after a gap (fewer than RECENT_WEEKS
weeks since), up to the last complete week before the gap. Shares that need follow-up time (did the person take the assessment?)
count only referrals old enough for it (divert.analytics.calendar.maturity).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from divert.analytics.calendar import maturity
from divert.analytics.calendar.weeks import (
    DAYS_PER_WORKING_WEEK,
    as_day,
    last_complete_week,
    next_week,
    snapshot,
)
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.planning import waiting as lists
from divert.analytics.planning.assumptions import DEFAULTS, Source, default_source
from divert.analytics.planning.capacity import COURSE, wait_summary

RECENT_WEEKS = 13  # the window the planning rates are taken from
OUTCOME_WEEKS = 26  # rates of outcomes that take a while to be known (engagement, allocation)
MIN_PEOPLE = 20  # fewer than this and a share or a wait is not measured: the default is used
SESSIONS_AHEAD_WEEKS = 8
MEASURED = ("engagement_pct", "course_pct", "no_show_pct", "seats_per_session", "sessions_per_week",
            "assessment_workers", "assessments_per_worker_day", "base_days_to_assessment", "base_days_to_course")


@dataclass(frozen=True)
class Rates:
    """What the service has recently achieved and where it stands at the as-of date, as the
    planning model's defaults. Percentages are 0-100. `sources` says, for each assumption,
    how it was measured or which default it is."""
    engagement_pct: float
    course_pct: float
    no_show_pct: float
    seats_per_session: int
    sessions_per_week: float
    assessment_workers: float
    assessments_per_worker_day: float
    base_days_to_assessment: float
    base_days_to_course: float
    awaiting_assessment: int  # genuinely waiting for an assessment at the as-of date (not stale)
    assessment_backlog: int  # of those, waiting longer than the usual wait (base_days_to_assessment)
    course_waiting_list: int  # genuinely waiting for a course (allocated, no place held, not closed)
    course_backlog: int  # of those, waiting longer than the usual wait (base_days_to_course)
    referral_pct: float | None  # referrals per recorded possession offence since the launch
    as_of: date | None = None
    window: tuple[date, date] | None = None  # the measuring window (complete weeks)
    gap: lists.Gap | None = None  # the latest data gap up to the as-of date
    stale_assessment: int = 0  # open records waiting for an assessment from before the gap
    stale_course: int = 0
    sources: dict[str, Source] = field(default_factory=dict)

    @property
    def from_data(self) -> tuple[str, ...]:
        return tuple(name for name, source in self.sources.items() if source.kind == "measured")

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("sources", "gap", "window")}


def measuring_window(referrals: pl.DataFrame, as_of: date) -> tuple[date, date, lists.Gap | None]:
    """(first day, last day, gap): the RECENT_WEEKS complete weeks up to as_of; or, when the
    records since the latest data gap cover fewer weeks than that (or nothing has been recorded
    since it), the RECENT_WEEKS complete weeks up to the gap."""
    gap = lists.latest_gap(referrals, as_of)
    edge = as_of
    if gap is not None and (gap.first_after is None or (as_of - gap.first_after).days < 7 * RECENT_WEEKS):
        edge = gap.last_before
    end = last_complete_week(edge) + timedelta(days=6)
    return end - timedelta(weeks=RECENT_WEEKS) + timedelta(days=1), end, gap


def observed_rates(referrals: pl.DataFrame, sessions: pl.DataFrame, as_of: date | None,
                   offences: pl.DataFrame | None = None, policy_start: date | None = None) -> Rates:
    """The planning defaults from the records as of `as_of` (a snapshot: nothing later):
    - engagement: completed assessments / referrals, over the referrals of the last 26 weeks
      of the window old enough to have had their follow-up;
    - course: allocated to the group course / allocated, same referrals;
    - no-shows: 1 - attended / booked in the sessions held in the window;
    - seats per session: the commonest size of those sessions;
    - sessions per week: sessions on the calendar in the 8 weeks after the as-of week, else
      the window's average;
    - assessment workers: workers with an assessment completed in the window;
    - assessments per worker-day: planning.PACE_MEANING;
    - usual waits when nobody queues: the 90th percentile of the window's waits;
    - the backlogs: people genuinely waiting at the as-of date (divert.analytics.planning.waiting;
      records from before a data gap left out) longer than the usual wait."""
    values = {name: DEFAULTS[name][0] for name in MEASURED}
    found: dict[str, Source] = {name: default_source(name) for name in MEASURED}
    if as_of is None or (referrals.is_empty() and sessions.is_empty()):
        return Rates(**values, awaiting_assessment=0, assessment_backlog=0, course_waiting_list=0, course_backlog=0,
                     referral_pct=None, as_of=as_of, sources=found)
    first, last, gap = measuring_window(referrals, as_of)
    span = f"the {RECENT_WEEKS} complete weeks to {last:%d %b %Y}"
    if gap is not None and last < gap.last_before + timedelta(days=7):
        span += f" (the last before the gap in the records: {gap.describe(as_of)})"

    def learn(name: str, value, detail: str) -> None:
        if value is not None and np.isfinite(value):
            values[name] = value
            found[name] = Source("measured", detail)

    _learn_outcomes(learn, referrals, last, as_of)
    _learn_sessions(learn, sessions, (first, last), as_of, span)
    _learn_assessments(learn, referrals, (first, last), span)
    _learn_waits(learn, referrals, (first, last), span)

    referral_pct = None
    if offences is not None and policy_start is not None:
        since = offences.filter(as_day("offence_date", offences) >= policy_start).height
        if since:
            referral_pct = 100 * referrals.filter(as_day("referred_at", referrals) >= policy_start).height / since
    course_list = lists.awaiting_course(referrals, as_of, gap)
    assessment_list = lists.awaiting_assessment(referrals, as_of, gap)
    course = lists.summarise(course_list, "days", values["base_days_to_course"])
    pending = lists.summarise(assessment_list, "working_days", values["base_days_to_assessment"])
    found["start_assessment_queue"] = Source("measured", (
        f"{pending.over_target:,} people waiting at {as_of:%d %b %Y} longer than the usual wait, times the share who "
        "take the assessment" + (f" ({pending.stale:,} open records from before the gap left out)" if pending.stale
                                 else "")))
    found["start_course_queue"] = Source("measured", (
        f"{course.over_target:,} people allocated to the course at {as_of:%d %b %Y}, holding no place, waiting "
        "longer than the usual wait" + (f" ({course.stale:,} from before the gap left out)" if course.stale else "")))
    return Rates(**values, awaiting_assessment=pending.waiting, assessment_backlog=pending.over_target,
                 course_waiting_list=course.waiting, course_backlog=course.over_target, referral_pct=referral_pct,
                 as_of=as_of, window=(first, last), gap=gap, stale_assessment=pending.stale,
                 stale_course=course.stale, sources=found)


def _learn_outcomes(learn, referrals: pl.DataFrame, last: date, as_of: date) -> None:
    """Engagement and the course's share, over the referrals old enough to have had their follow-up."""
    outcomes_from = last - timedelta(weeks=OUTCOME_WEEKS) + timedelta(days=1)
    refs = referrals.with_columns(as_day("referred_at", referrals).alias("_day")).filter(
        pl.col("_day").is_between(outcomes_from, last) & maturity.mature("_day", "engaged", as_of))
    if refs.height >= MIN_PEOPLE:
        done = int((refs["assessment_result"] == "completed").sum())
        learn("engagement_pct", 100 * done / refs.height,
              f"{done:,} of the {refs.height:,} people referred in the {OUTCOME_WEEKS} weeks to {last:%d %b %Y} "
              f"(those referred at least {maturity.FOLLOW_UP_DAYS['engaged']} days before the as-of date) completed "
              "the assessment")
    allocated = refs.filter(pl.col("allocation").is_not_null())
    if allocated.height >= MIN_PEOPLE:
        course = int((allocated["allocation"] == COURSE).sum())
        learn("course_pct", 100 * course / allocated.height,
              f"{course:,} of the {allocated.height:,} people allocated from the same referrals went to the course")


def _learn_sessions(learn, sessions: pl.DataFrame, window: tuple[date, date], as_of: date, span: str) -> None:
    """No-shows, seats per session and sessions per week, from the sessions held and booked."""
    first, last = window
    day = pl.col("starts_at").dt.date()
    held = sessions.filter(day.is_between(first, last))
    booked, attended = (int(held["booked"].sum()), int(held["attended"].sum())) if held.height else (0, 0)
    if booked >= MIN_PEOPLE:
        learn("no_show_pct", 100 * (1 - attended / booked),
              f"{booked - attended:,} of the {booked:,} bookings in the {held.height:,} sessions held in {span} "
              "were not attended")
    if held.height:
        seats = int(held["seats"].mode().sort()[-1])
        learn("seats_per_session", seats, f"the commonest size of the {held.height:,} sessions held in {span}")
    ahead_from = next_week(as_of)
    ahead_to = ahead_from + timedelta(weeks=SESSIONS_AHEAD_WEEKS) - timedelta(days=1)
    ahead = sessions.filter(day.is_between(ahead_from, ahead_to))
    weeks_ahead = ahead["starts_at"].dt.date().dt.truncate("1w").n_unique() if ahead.height else 0
    if weeks_ahead:
        learn("sessions_per_week", round(ahead.height / weeks_ahead, 1),
              f"{ahead.height:,} sessions on the calendar in the {weeks_ahead} weeks with sessions from "
              f"{ahead_from:%d %b %Y}")
    elif held.height:
        learn("sessions_per_week", round(held.height / RECENT_WEEKS, 1), f"{held.height:,} sessions held in {span}")


def _learn_assessments(learn, referrals: pl.DataFrame, window: tuple[date, date], span: str) -> None:
    """The assessment workers and their pace, from the assessments completed in the window."""
    first, last = window
    done = referrals.filter((pl.col("assessment_result") == "completed")
                            & pl.col("assessed_at").dt.date().is_between(first, last) & pl.col("worker").is_not_null())
    if done.height:
        workers = done["worker"].n_unique()
        learn("assessment_workers", float(workers), f"workers who completed an assessment in {span}")
        weekly = done.group_by(pl.col("assessed_at").dt.date().dt.truncate("1w").alias("week")).agg(
            pl.len().alias("assessments"), pl.col("worker").n_unique().alias("workers"))
        pace = (weekly["assessments"] / (weekly["workers"] * DAYS_PER_WORKING_WEEK)).to_numpy()
        average = done.height / float((weekly["workers"] * DAYS_PER_WORKING_WEEK).sum())
        learn("assessments_per_worker_day", round(float(np.quantile(pace, 0.9)), 2),
              f"the 90th percentile of the weekly pace over {span}: {done.height:,} assessments by {workers} "
              f"workers in {weekly.height} weeks (average {average:.2f} a worker-day)")


def _learn_waits(learn, referrals: pl.DataFrame, window: tuple[date, date], span: str) -> None:
    """The usual waits when nobody queues: the 90th percentile of the window's waits."""
    first, last = window
    summary = wait_summary(referrals, first, last, 10**6, 10**6)
    for measure, name, unit in (("to_assessment", "base_days_to_assessment", "working days"),
                                ("to_course", "base_days_to_course", "days")):
        row = summary.filter(pl.col("measure") == measure).row(0, named=True)
        if row["people"] >= MIN_PEOPLE:
            learn(name, round(row["p90"], 1), f"the 90th percentile wait ({unit}) of the {row['people']:,} people "
                                              f"who reached the step in {span}")


def rates_for(frames: Frames, filters: Filters | None = None) -> Rates:
    """The service's rates within the filters (the period filter is ignored), as of
    filters.as_of_date."""
    filters = filters or Filters()
    data, as_of = snapshot(frames, filters)
    refs = filters.without_period().apply(data.referrals, "referred_on")
    offences = filters.without_period().apply(data.offences, "offence_date")
    return observed_rates(refs, data.sessions, as_of, offences, data.programme.launch)
