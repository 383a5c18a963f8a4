"""What the Capacity page shows, section by section: the people waiting now and the seats used
recently, the course sessions on the calendar ahead, the referrals the forecast expects, and the
weekly tables its charts draw (seats against demand, seat use, the course waiting list, the waits
week by week). Pure functions over the planning frames (divert.analytics.planning), so the page
only lays them out."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from divert.analytics.data.frames import end_of_day
from divert.analytics.planning import capacity, demand, waiting
from divert.analytics.planning.assumptions import Plan

CALENDAR_WEEKS = 8  # the calendar ahead shown next to the staffing answer
WAIT_MEASURES = ("to_assessment", "to_course")


def nothing_to_plan(referrals: pl.DataFrame) -> bool:
    """True when no referral is recorded up to the as-of date: nothing to plan from."""
    return referrals.is_empty()


def waiting_now(referrals: pl.DataFrame, sessions: pl.DataFrame, start: date, as_of: date,
                target_days_to_assessment: int) -> dict:
    """The headline cards' figures: the course waiting list and the people awaiting an
    assessment at the as-of date (one row each, as dicts), and the seats and assessments of the
    recent weeks from `start`."""
    return {
        "course_list": capacity.waiting_list(referrals, as_of).row(0, named=True),
        "pending": capacity.awaiting_assessment(referrals, as_of, target_days_to_assessment).row(0, named=True),
        "recent": capacity.recent_use(referrals, sessions, start, as_of),
    }


def calendar_ahead(sessions: pl.DataFrame, as_of: date) -> dict:
    """The course sessions after the as-of date and in the next eight weeks: how many, and their
    seats and bookings so far (as listed on Course sessions)."""
    upcoming = waiting.upcoming_sessions(sessions, end_of_day(as_of))
    ahead = upcoming.filter(pl.col("starts_at").dt.date() <= as_of + timedelta(weeks=CALENDAR_WEEKS))
    return {"sessions": ahead.height, "booked": int(ahead["booked"].sum()), "seats": int(ahead["seats"].sum())}


def referrals_a_week(baseline: pl.DataFrame) -> float | None:
    """The referral forecast's average a week over the weeks planned, or None without a forecast."""
    return baseline["mean"].mean() if baseline.height else None


def wait_rows(summary: pl.DataFrame) -> list[dict]:
    """The wait summary (divert.analytics.planning.capacity.wait_summary), one dict a step."""
    return list(summary.iter_rows(named=True))


def seats_against_demand(weekly: pl.DataFrame, baseline: pl.DataFrame, plan: Plan) -> tuple[pl.DataFrame, int]:
    """The seats scheduled, booked and filled each week against the seats the referral forecast
    needs, and how many weeks after the as-of week the forecast reaches."""
    needed = demand.demand_from_forecast(baseline, plan)
    return demand.seats_against_demand(weekly, needed), int(needed["weeks_ahead"].max() or 0)


def seat_use(weekly: pl.DataFrame, shown_from: date, as_of: date) -> pl.DataFrame:
    """Seat use in the weeks with sessions, from the first week shown to eight weeks ahead."""
    use = weekly.filter((pl.col("seats") > 0)
                        & pl.col("week").is_between(shown_from, as_of + timedelta(weeks=CALENDAR_WEEKS)))
    return use.select("week", "provisional", "sessions", "seats", "booked", "attended", "seat_use", "seats_filled",
                      "attendance")


def waiting_list_weeks(weekly: pl.DataFrame, shown_from: date, shown_to: date) -> pl.DataFrame:
    """The course waiting list at the end of each complete week shown, weeks in a gap in the
    records left out."""
    weeks = weekly.filter(~pl.col("provisional") & ~pl.col("in_gap") & pl.col("week").is_between(shown_from, shown_to))
    return weeks.select("week", "course_allocations", "booked", "waiting_list")


def weekly_waits(referrals: pl.DataFrame, as_of: date, shown_from: date, shown_to: date) -> dict[str, pl.DataFrame]:
    """The waits week by week in the weeks shown, one table for each step (WAIT_MEASURES)."""
    waits = capacity.weekly_waits(referrals, as_of).filter(pl.col("week").is_between(shown_from, shown_to))
    return {measure: waits.filter(pl.col("measure") == measure).drop("measure") for measure in WAIT_MEASURES}
