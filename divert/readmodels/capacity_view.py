"""What the Capacity page shows, section by section: the people waiting now and the seats used
recently, the course sessions on the calendar ahead, the referrals the forecast expects, and the
weekly tables its charts draw (seats against demand, seat use, the course waiting list, the waits
week by week). Pure functions over the planning frames (divert.analytics.planning), so the page
only lays them out."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from divert.analytics.data.frames import end_of_day
from divert.analytics.planning import by_period, capacity, demand, periods, waiting
from divert.analytics.planning.assumptions import Plan
from divert.core import wording

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


# --- by week, month or quarter (divert.analytics.planning.by_period) -------------------------------------------
SeatsByPeriod, seats_by_period, calendar_ends = by_period.SeatsByPeriod, by_period.seats_by_period, by_period.calendar_ends


def seats_by_period_title(seats: SeatsByPeriod) -> str:
    """The finding: the seats needed over the horizon against those on the calendar so far."""
    total, span = seats.total, seats.horizon.span()
    if total["seats_needed"] is None:
        return f"Course seats on the calendar, {span}"
    scheduled = "none" if total["seats"] is None else f"{total['seats']:,}"
    so_far = "" if total["schedule"] == periods.SCHEDULED else " so far"
    return (f"About {total['seats_needed']:,.0f} course seats needed from {span}; {scheduled} on the calendar"
            f"{so_far}")


def seats_by_period_caption(seats: SeatsByPeriod) -> str:
    return (f"{seats.note} Grey bars: seats in the course sessions on the calendar (pale: scheduled so far; none "
            "where nothing is scheduled yet). Orange: the seats the referral forecast needs (people allocated to "
            "the course who will attend, at the planning model's rates), the line its 80% range. Bookings for "
            "sessions ahead are the bookings so far. " + periods.METHOD)


def calendar_end_text(sessions: pl.DataFrame) -> str | None:
    """"Sessions are on the calendar up to 12 Jan 2027", or None when none are."""
    last = calendar_ends(sessions)
    return f"Sessions are on the calendar up to {wording.day(last)}" if last else None
