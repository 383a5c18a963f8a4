"""Planning in the units managers use: the weekly referral forecast (and the course capacity)
rolled up to weeks, calendar months and calendar quarters, over a horizon stated in words.

The horizon is counted from after the as-of date, so that "a quarter" is a calendar quarter:
weekly, from the Monday after the week the as-of date falls in; monthly and quarterly, from the
first whole calendar month (quarter) after the as-of date. The days between the as-of date and
the horizon's start (the rest of the as-of week, month or quarter) are a `lead_in` period,
always partial.

How a week is shared between periods: a forecast week's count is spread evenly over its seven
days, so a week that runs from one month into the next gives each month its share of days.
Central figures add up exactly: a period's forecast is the sum of its days' shares of the
weekly means, so the months of a fully covered horizon add up to the weekly total.

Intervals (the method, stated in every caption that shows them): the weeks are treated as
independent with a normal spread, the spread of each week read from its interval's upper
half-width (top of the interval minus the central forecast: the lower end is cut at zero). A
period's half-width is the square root of the sum of its days' shares of the squared weekly
half-widths (a week wholly inside contributes its own squared half-width), so the intervals of
the months add up in quadrature to the quarter's. statsforecast gives no sample paths to
simulate from; where next week's error carries over into the weeks after it, a total's true
range is wider (up to the sum of the weekly ranges).

`partial`: the period is not wholly covered, i.e. some of its days are before the horizon's
start (before or in the as-of week), or after its end, or beyond the forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from divert.analytics.calendar.months import add_months, month_start
from divert.analytics.calendar.weeks import next_week, week_start
from divert.core import wording
from divert.core.lookup import each_value

WEEK, MONTH, QUARTER = "week", "month", "quarter"
GRAINS = (WEEK, MONTH, QUARTER)
GRAIN_LABELS = {WEEK: "Weekly", MONTH: "Monthly", QUARTER: "Quarterly"}
NOUNS = {WEEK: ("week", "weeks"), MONTH: ("calendar month", "calendar months"),
         QUARTER: ("calendar quarter", "calendar quarters")}
# the choices of horizon a page offers, by grain (the forecast reaches forecast.REACH weeks)
CHOICES = {WEEK: (4, 8, 13, 26), MONTH: (3, 6), QUARTER: (1, 2)}
DEFAULT_PERIODS = {WEEK: 13, MONTH: 3, QUARTER: 1}
LEVELS = (80, 95)
PERIOD_SCHEMA = {"period": pl.Date, "period_end": pl.Date, "label": pl.String, "days": pl.Int64,
                 "days_covered": pl.Int64, "partial": pl.Boolean, "lead_in": pl.Boolean, "mean": pl.Float64,
                 **{f"{side}_{level}": pl.Float64 for level in LEVELS for side in ("lo", "hi")}}
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
                10: "ten", 11: "eleven", 12: "twelve"}


def _day(d: date) -> str:
    return wording.day(d)  # "5 Dec 2026"


# --- periods --------------------------------------------------------------------------------------------
def period_start(day: date, grain: str) -> date:
    """The first day of the week (Monday), calendar month or calendar quarter `day` falls in."""
    if grain == WEEK:
        return week_start(day)
    first = month_start(day)
    return first if grain == MONTH else first.replace(month=3 * ((first.month - 1) // 3) + 1)


def next_period(start: date, grain: str) -> date:
    """The first day of the period after the one starting on `start`."""
    if grain == WEEK:
        return start + timedelta(weeks=1)
    return add_months(start, 1 if grain == MONTH else 3)


def period_end(start: date, grain: str) -> date:
    return next_period(start, grain) - timedelta(days=1)


def period_label(start: date, grain: str) -> str:
    """"Week of 7 Dec 2026", "Jan 2027", "Jan to Mar 2027"."""
    if grain == WEEK:
        return f"Week of {_day(start)}"
    if grain == MONTH:
        return f"{start:%b %Y}"
    return f"{start:%b} to {period_end(start, grain):%b %Y}"


@dataclass(frozen=True)
class Horizon:
    """The periods planned for: `periods` whole weeks, months or quarters from `first` to `last`
    (both inclusive), after the as-of date."""

    grain: str
    periods: int
    first: date
    last: date
    as_of: date

    @property
    def lead_in(self) -> tuple[date, date] | None:
        """The days after the as-of date and before the horizon starts, or None."""
        start = self.as_of + timedelta(days=1)
        return (start, self.first - timedelta(days=1)) if start < self.first else None

    def span(self) -> str:
        """"1 Jan 2027 to 31 Mar 2027"."""
        return f"{_day(self.first)} to {_day(self.last)}"

    def meaning(self) -> str:
        """"the three calendar months after the as-of date (5 Dec 2026)"."""
        count = NUMBER_WORDS.get(self.periods, str(self.periods))
        noun = NOUNS[self.grain][0 if self.periods == 1 else 1]
        what = f"the {noun}" if self.periods == 1 else f"the {count} {noun}"
        where = "after the week the as-of date falls in" if self.grain == WEEK else "after the as-of date"
        return f"{what} {where} ({_day(self.as_of)})"

    def words(self, what: str = "Forecast") -> str:
        """"Forecast for 1 Jan 2027 to 31 Mar 2027: the three calendar months after the as-of date (...)"."""
        return f"{what} for {self.span()}: {self.meaning()}"


def horizon(as_of: date, grain: str, periods: int) -> Horizon:
    """The `periods` whole weeks (from the Monday after the as-of week), calendar months or
    quarters (from the first whole one after the as-of date) planned for."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")
    periods = max(1, int(periods))
    if grain == WEEK:
        first = next_week(as_of)
    else:
        after = as_of + timedelta(days=1)
        first = period_start(after, grain)
        if first != after:
            first = next_period(first, grain)
    last = first
    for _ in range(periods):
        last = next_period(last, grain)
    return Horizon(grain, periods, first, last - timedelta(days=1), as_of)


# --- rolling a weekly forecast up ---------------------------------------------------------------------------
def _daily(weekly: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Each day from start to end that a forecast week covers: its share of the week's mean
    (a seventh) and of each squared upper half-width (a seventh)."""
    if weekly.is_empty() or start > end:
        return pl.DataFrame(schema={"day": pl.Date, "mean": pl.Float64, "var_80": pl.Float64, "var_95": pl.Float64})
    spread = weekly.select(
        pl.col("week").cast(pl.Date), pl.col("mean").cast(pl.Float64) / 7,
        *[((pl.col(f"hi_{level}") - pl.col("mean")).clip(lower_bound=0.0) ** 2 / 7).alias(f"var_{level}")
          for level in LEVELS],
        pl.int_ranges(0, 7).alias("offset"),
    ).explode("offset")
    days = spread.with_columns((pl.col("week") + pl.duration(days=pl.col("offset"))).alias("day"))
    return days.filter(pl.col("day").is_between(start, end)).select("day", "mean", "var_80", "var_95")


def _combined() -> list[pl.Expr]:
    half = {level: pl.col(f"var_{level}").sum().sqrt() for level in LEVELS}
    out = [pl.col("mean").sum().alias("mean"), pl.len().cast(pl.Int64).alias("days_covered")]
    for level in LEVELS:
        out += [(pl.col("mean").sum() - half[level]).clip(lower_bound=0.0).alias(f"lo_{level}"),
                (pl.col("mean").sum() + half[level]).alias(f"hi_{level}")]
    return out


def roll_up(weekly: pl.DataFrame, grain: str, start: date, end: date, horizon_start: date | None = None) -> pl.DataFrame:
    """A weekly forecast (week, mean, lo_80, hi_80, lo_95, hi_95) over the days from start to
    end, by week, calendar month or calendar quarter (PERIOD_SCHEMA): every period that has a
    forecast day in the range, with its days, the days the forecast covers within the range, and
    `partial` when those are not all of its days. `lead_in`: the period starts before
    `horizon_start` (the days between the as-of date and the horizon)."""
    daily = _daily(weekly, start, end)
    if daily.is_empty():
        return pl.DataFrame(schema=PERIOD_SCHEMA)
    every = {WEEK: "1w", MONTH: "1mo", QUARTER: "3mo"}[grain]  # 3mo from 1970: Jan, Apr, Jul, Oct
    rolled = daily.group_by(pl.col("day").dt.truncate(every).alias("period")).agg(*_combined()).sort("period")
    ends = {s: period_end(s, grain) for s in rolled["period"].to_list()}
    first = horizon_start or start
    return rolled.with_columns(
        pl.col("period").replace_strict(ends, return_dtype=pl.Date).alias("period_end"),
        each_value(rolled, "period", lambda s: period_label(s, grain), pl.String).alias("label"),
        each_value(rolled, "period", lambda s: (period_end(s, grain) - s).days + 1, pl.Int64).alias("days"),
        (pl.col("period") < first).alias("lead_in"),
    ).with_columns((pl.col("days_covered") < pl.col("days")).alias("partial")).select(
        list(PERIOD_SCHEMA)).cast(PERIOD_SCHEMA)


def total(weekly: pl.DataFrame, start: date, end: date) -> dict:
    """The forecast over the days from start to end as one figure: the sum of the days' shares
    of the weekly means, with 80% and 95% intervals combined as roll_up combines them, and the
    days covered."""
    daily = _daily(weekly, start, end)
    if daily.is_empty():
        return {"mean": None, **{f"{s}_{lv}": None for lv in LEVELS for s in ("lo", "hi")}, "days_covered": 0,
                "days": (end - start).days + 1}
    row = daily.select(*_combined()).row(0, named=True)
    return {**row, "days": (end - start).days + 1}


def forecast_periods(weekly: pl.DataFrame, hz: Horizon) -> tuple[pl.DataFrame, dict]:
    """The forecast by the horizon's grain from the day after the as-of date to the horizon's
    last day (the lead-in period first, marked), and the total over the horizon itself."""
    table = roll_up(weekly, hz.grain, hz.as_of + timedelta(days=1), hz.last, horizon_start=hz.first)
    return table, total(weekly, hz.first, hz.last)


def covered_note(table: pl.DataFrame, hz: Horizon) -> str | None:
    """A plain sentence about the partial periods in a roll_up table, or None."""
    notes = []
    lead = table.filter(pl.col("lead_in"))
    if lead.height:
        notes.append(f"{lead['label'][0]} is partial: only its days after the as-of date "
                     f"({_day(hz.as_of)}) are forecast ({lead['days_covered'][0]} of {lead['days'][0]} days), and it "
                     "is left out of the total.")
    short = table.filter(~pl.col("lead_in") & pl.col("partial"))
    if short.height:
        notes.append("Partial (the forecast does not reach all its days): "
                     + "; ".join(f"{r['label']} ({r['days_covered']} of {r['days']} days)"
                                 for r in short.iter_rows(named=True)) + ".")
    return " ".join(notes) or None


METHOD = ("Weeks that run across two months give each month its share of days. The ranges of a month or quarter "
          "treat the weeks as independent (each week's spread read from its own range, added as variances under a "
          "normal approximation); if a busy week tends to be followed by another, the true range of a total is "
          "wider.")


# --- capacity by period -----------------------------------------------------------------------------------
HELD, SCHEDULED, SO_FAR, NOT_YET = "held", "scheduled", "scheduled so far", "not yet scheduled"
CAPACITY_SCHEMA = {"period": pl.Date, "period_end": pl.Date, "label": pl.String, "days": pl.Int64,
                   "partial": pl.Boolean, "schedule": pl.String, "sessions": pl.Int64, "seats": pl.Int64,
                   "booked": pl.Int64, "attended": pl.Int64, "seats_needed": pl.Float64, "needed_lo_80": pl.Float64,
                   "needed_hi_80": pl.Float64, "needed_days": pl.Int64}


def _schedule(start: date, end: date, as_of: date, last_session: date | None) -> str:
    if end <= as_of:
        return HELD
    if last_session is None or start > last_session:
        return NOT_YET
    return SCHEDULED if end <= last_session else SO_FAR


def capacity_periods(sessions: pl.DataFrame, needed: pl.DataFrame, as_of: date, grain: str, start: date,
                     end: date) -> pl.DataFrame:
    """Course capacity by week, calendar month or quarter, for every period from the one `start`
    falls in to the one `end` falls in (CAPACITY_SCHEMA). From the sessions themselves (by the
    day each starts): sessions, seats, seats booked (so far, for sessions after the as-of date)
    and attended (sessions held by the as-of date only). `schedule` says how far the calendar
    goes: 'held' (the period is over), 'scheduled' (the calendar covers the whole period),
    'scheduled so far' (the last session on the calendar falls in it) or 'not yet scheduled'
    (after the last session on the calendar: its sessions, seats and bookings are unknown,
    None, not zero). The seats the forecast needs are rolled up from `needed` (week,
    course_seats and its 80% and 95% tops: divert.analytics.planning.demand.demand_from_forecast)
    over the days after the as-of date, as roll_up does. `partial`: the period runs across the
    as-of date, or past the start or end given."""
    days = sessions.drop_nulls("starts_at").with_columns(pl.col("starts_at").dt.date().alias("day"))
    last_session = days["day"].max() if days.height else None
    starts, cursor = [], period_start(start, grain)
    while cursor <= end:
        starts.append(cursor)
        cursor = next_period(cursor, grain)
    seats_needed = pl.DataFrame(schema=PERIOD_SCHEMA)
    if needed.height:
        weekly = needed.select("week", pl.col("course_seats").alias("mean"), pl.col("course_seats_hi_80").alias("hi_80"),
                               pl.col("course_seats_hi_95").alias("hi_95"))
        seats_needed = roll_up(weekly, grain, max(start, as_of + timedelta(days=1)), end)
    need = {r["period"]: r for r in seats_needed.iter_rows(named=True)}
    rows = []
    for first in starts:
        last = period_end(first, grain)
        status = _schedule(first, last, as_of, last_session)
        inside = days.filter(pl.col("day").is_between(first, last))
        held = inside.filter(pl.col("day") <= as_of)
        known = status != NOT_YET
        row = need.get(first, {})
        rows.append({
            "period": first, "period_end": last, "label": period_label(first, grain), "days": (last - first).days + 1,
            "partial": first < start or last > end or first <= as_of < last, "schedule": status,
            "sessions": inside.height if known else None, "seats": int(inside["seats"].sum()) if known else None,
            "booked": int(inside["booked"].sum()) if known else None,
            "attended": int(held["attended"].sum()) if first <= as_of else None,
            "seats_needed": row.get("mean"), "needed_lo_80": row.get("lo_80"), "needed_hi_80": row.get("hi_80"),
            "needed_days": row.get("days_covered", 0)})
    return pl.DataFrame(rows, schema=CAPACITY_SCHEMA)


def schedule_note(table: pl.DataFrame, last_session: date | None) -> str | None:
    """A plain sentence on where the calendar of sessions ends, when a period shown is past it."""
    later = table.filter(pl.col("schedule").is_in([SO_FAR, NOT_YET]))
    if not later.height:
        return None
    if last_session is None:
        return "No course sessions are on the calendar after the as-of date yet: the seats ahead are not yet known."
    return (f"Sessions are on the calendar up to {_day(last_session)}. After that nothing is scheduled yet, so the "
            "seats there are shown as not yet scheduled (a blank, not a fall to none), and the bookings for sessions "
            "ahead are the bookings so far.")
