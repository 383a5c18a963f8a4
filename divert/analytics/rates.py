"""The rates the planners start from: what the service has recently achieved (engagement,
allocation, no-shows, sessions, assessment pace, usual waits, the backlog), with programme
figures where the records say nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from divert.analytics.capacity import (
    COURSE,
    DAYS_PER_WORKING_WEEK,
    as_day,
    awaiting_assessment,
    wait_summary,
    waiting_list,
    week_start,
)
from divert.analytics.demand import Conversion
from divert.analytics.filters import Filters
from divert.analytics.frames import Frames

RECENT_WEEKS = 13  # the window the planning rates are taken from
OUTCOME_WEEKS = 26  # rates of outcomes that take a while to be known (engagement, allocation)

# Programme figures used when the database has nothing to learn from (DOMAIN.md and the
# provider's reports): 65% engage, most are allocated to the course, sessions of 12 seats.
FALLBACK = {
    "engagement_pct": 65.0, "course_pct": 86.0, "no_show_pct": 12.0, "seats_per_session": 12,
    "sessions_per_week": 3.0, "assessment_workers": 4.0, "assessments_per_worker_day": 4.0,
    "base_days_to_assessment": 5.0, "base_days_to_course": 7.0,
}



# --- the rates --------------------------------------------------------------
@dataclass(frozen=True)
class Rates:
    """What the service has recently achieved, as planner defaults (FALLBACK where the data
    say nothing). Percentages are 0-100."""
    engagement_pct: float
    course_pct: float
    no_show_pct: float
    seats_per_session: int
    sessions_per_week: float
    assessment_workers: float
    assessments_per_worker_day: float
    base_days_to_assessment: float
    base_days_to_course: float
    awaiting_assessment: int  # not yet assessed or closed at the end of the data
    assessment_backlog: int  # of those, waiting longer than the usual wait (base_days_to_assessment)
    course_waiting_list: int  # allocated to the course, not booked, not closed
    course_backlog: int  # of those, waiting longer than the usual wait (base_days_to_course)
    referral_pct: float | None  # referrals per recorded possession offence since the policy
    from_data: tuple[str, ...]  # which fields came from the data (the rest are FALLBACK)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "from_data"}


def observed_rates(referrals: pl.DataFrame, sessions: pl.DataFrame, last_day: date | None,
                   offences: pl.DataFrame | None = None, policy_start: date | None = None) -> Rates:
    """Planner defaults from the data up to `last_day`:
    - engagement: completed assessments / referrals with an assessment result, last 26 weeks;
    - course: allocated to the group course / allocated, last 26 weeks;
    - no-shows: 1 - attended / booked in sessions held in the last 13 weeks;
    - seats per session: the commonest size of recent sessions;
    - sessions per week: sessions already scheduled after the data end (up to 8 weeks), else
      the last 13 weeks' average;
    - assessment workers: workers with an assessment in the last 13 weeks;
    - assessments per worker per day: the 90th percentile over the last 13 weeks of each
      week's assessments / (workers active that week x 5) - a pace the team has shown it can
      reach in its busier weeks, not its average (workers are not always busy);
    - usual waits when nobody queues: the 90th percentile of recent waits."""
    values = dict(FALLBACK)
    learned: list[str] = []
    if last_day is None:
        return Rates(**values, awaiting_assessment=0, assessment_backlog=0, course_waiting_list=0, course_backlog=0,
                     referral_pct=None, from_data=())
    recent = last_day - timedelta(weeks=RECENT_WEEKS)
    longer = last_day - timedelta(weeks=OUTCOME_WEEKS)

    def learn(name: str, value) -> None:
        if value is not None and np.isfinite(value):
            values[name] = value
            learned.append(name)

    refs = referrals.filter(pl.col("referred_at").dt.date().is_between(longer, last_day))
    resolved = refs.filter(pl.col("assessment_result").is_not_null())
    if resolved.height >= 20:
        learn("engagement_pct", 100 * float((resolved["assessment_result"] == "completed").mean()))
    allocated = refs.filter(pl.col("allocation").is_not_null())
    if allocated.height >= 20:
        learn("course_pct", 100 * float((allocated["allocation"] == COURSE).mean()))

    held = sessions.filter(pl.col("starts_at").dt.date().is_between(recent, last_day))
    if held.height and int(held["booked"].sum()) >= 20:
        learn("no_show_pct", 100 * (1 - int(held["attended"].sum()) / int(held["booked"].sum())))
    if held.height:
        learn("seats_per_session", int(held["seats"].mode().sort()[-1]))
    ahead = sessions.filter(pl.col("starts_at").dt.date() > last_day)
    if ahead.height:
        first_week, last_week = week_start(last_day) + timedelta(weeks=1), week_start(last_day) + timedelta(weeks=8)
        window = ahead.filter(pl.col("starts_at").dt.date().is_between(first_week, last_week + timedelta(days=6)))
        weeks = window["starts_at"].dt.date().dt.truncate("1w").n_unique() if window.height else 0
        if weeks:
            learn("sessions_per_week", round(window.height / weeks, 1))
    elif held.height:
        learn("sessions_per_week", round(held.height / RECENT_WEEKS, 1))

    done = referrals.filter((pl.col("assessment_result") == "completed")
                            & pl.col("assessed_at").dt.date().is_between(recent, last_day))
    named = done.filter(pl.col("worker").is_not_null())
    if named.height:
        learn("assessment_workers", float(named["worker"].n_unique()))
        weekly = named.group_by(pl.col("assessed_at").dt.date().dt.truncate("1w").alias("week")).agg(
            pl.len().alias("assessments"), pl.col("worker").n_unique().alias("workers"))
        pace = (weekly["assessments"] / (weekly["workers"] * DAYS_PER_WORKING_WEEK)).to_numpy()
        learn("assessments_per_worker_day", round(float(np.quantile(pace, 0.9)), 2))
    summary = wait_summary(referrals, recent, last_day, 10**6, 10**6)
    for measure, name in (("to_assessment", "base_days_to_assessment"), ("to_course", "base_days_to_course")):
        row = summary.filter(pl.col("measure") == measure).row(0, named=True)
        if row["people"] >= 20:
            learn(name, round(row["p90"], 1))

    referral_pct = None
    if offences is not None and policy_start is not None:
        since = offences.filter(as_day("offence_date", offences) >= policy_start).height
        if since:
            referral_pct = 100 * referrals.filter(pl.col("referred_at").dt.date() >= policy_start).height / since
    waiting = waiting_list(referrals, last_day, values["base_days_to_course"]).row(0, named=True)
    pending = awaiting_assessment(referrals, last_day, values["base_days_to_assessment"]).row(0, named=True)
    return Rates(**values, awaiting_assessment=pending["people"], assessment_backlog=pending["over_target"],
                 course_waiting_list=waiting["people"], course_backlog=waiting["waiting_longer"],
                 referral_pct=referral_pct, from_data=tuple(learned))


def rates_for(frames: Frames, filters: Filters | None = None) -> Rates:
    from divert.analytics.filters import POLICY_START
    from divert.analytics.metrics import end_of_data

    filters = filters or Filters()
    refs = filters.without_period().apply(frames.referrals, "referred_on")
    offences = filters.without_period().apply(frames.offences, "offence_date")
    return observed_rates(refs, frames.sessions, end_of_data(frames), offences, POLICY_START)


def conversion_from(rates: Rates) -> Conversion:
    return Conversion(rates.engagement_pct, rates.course_pct, rates.no_show_pct, rates.seats_per_session,
                      rates.assessments_per_worker_day)
