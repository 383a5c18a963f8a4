"""The launch planner: for a force considering the scheme, the referrals to expect from its
recorded possession offences, and the capacity it needs from week one.

When the reference force launched, recorded possession offences rose by 30% at once
(offences that used to go unrecorded were recorded so that they could be referred), and
referrals "considerably outstripped projections" built from the old crime figures. So the
estimate starts from the force's monthly offence counts, adds the recording uplift, and
plans for a busy week, not an average one: weekly referrals vary (taken here as Poisson
around the expected level), and the capacity is sized for the 90th percentile week.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from scipy.stats import poisson

from divert.analytics.capacity import DAYS_PER_WORKING_WEEK
from divert.validation import Problem

WEEKS_PER_MONTH = 52 / 12
BUSY_WEEK = 0.9  # plan for the 90th percentile week
MONTH_NAMES = ("month", "period", "date")
COUNT_NAMES = ("offences", "count", "possession_offences", "recorded_offences")
MAX_ROWS = 240
OFFENCES_SCHEMA = {"month": pl.Date, "offences": pl.Int64}


# --- the offence counts -----------------------------------------------------------------------------
def _month(value) -> date | None:
    if isinstance(value, date):
        return value.replace(day=1)
    text = str(value).strip() if value is not None else ""
    for fmt in ("%Y-%m-%d", "%Y-%m", "%d/%m/%Y", "%m/%Y", "%b %Y", "%B %Y"):
        try:
            from datetime import datetime

            return datetime.strptime(text, fmt).date().replace(day=1)
        except ValueError:
            continue
    return None


def check_offence_counts(rows: list[dict]) -> tuple[pl.DataFrame, list[Problem]]:
    """Typed or imported rows {month, offences} -> a clean frame (one row per month, sorted)
    and the problems found (row numbers from 1). Rows without a count are skipped (a month of
    the template not filled in), so no counts at all is an empty frame and no problem."""
    problems: list[Problem] = []
    clean: dict[date, int] = {}
    if len(rows) > MAX_ROWS:
        return pl.DataFrame(schema=OFFENCES_SCHEMA), [Problem("offences", len(rows), f"has more than {MAX_ROWS} rows")]
    for number, row in enumerate(rows, start=1):
        raw_month, raw_count = row.get("month"), row.get("offences")
        if _blank(raw_count):  # not filled in (a blank row, or a month of the template left empty)
            continue
        month = _month(raw_month)
        if month is None:
            problems.append(Problem("month", raw_month, "is not a month (use YYYY-MM)", number))
            continue
        count = _count(raw_count)
        if count is None:
            problems.append(Problem("offences", raw_count, "must be a whole number of 0 or more", number))
            continue
        if month in clean:
            problems.append(Problem("month", raw_month, "appears twice", number))
            continue
        clean[month] = count
    return pl.DataFrame({"month": list(clean), "offences": list(clean.values())}, schema=OFFENCES_SCHEMA).sort("month"), problems


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _count(value) -> int | None:
    if isinstance(value, bool) or _blank(value):
        return None
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0 or number != int(number) or number > 10**7:
        return None
    return int(number)


def read_offence_counts(data: bytes) -> tuple[pl.DataFrame, list[Problem]]:
    """A CSV file with a header: a month column (month, period or date) and a count column
    (offences or count). Other columns are ignored."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return pl.DataFrame(schema=OFFENCES_SCHEMA), [Problem("file", None, "is not a UTF-8 text (CSV) file")]
    try:
        frame = pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=True)
    except Exception as error:  # polars raises several kinds for malformed CSV
        return pl.DataFrame(schema=OFFENCES_SCHEMA), [Problem("file", None, f"could not be read as CSV ({error})")]
    names = {c.strip().lower().replace(" ", "_"): c for c in frame.columns}
    month = next((names[n] for n in MONTH_NAMES if n in names), None)
    count = next((names[n] for n in COUNT_NAMES if n in names), None)
    if month is None or count is None:
        return pl.DataFrame(schema=OFFENCES_SCHEMA), [Problem(
            "file", ", ".join(frame.columns), "needs a 'month' column and an 'offences' column")]
    rows = [{"month": m, "offences": c} for m, c in zip(frame[month].to_list(), frame[count].to_list(), strict=True)]
    return check_offence_counts(rows)


def template_csv() -> bytes:
    months = [date(2024, m, 1) for m in range(1, 13)]
    return pl.DataFrame({"month": [m.strftime("%Y-%m") for m in months], "offences": [None] * 12},
                        schema={"month": pl.String, "offences": pl.Int64}).write_csv().encode()


# --- the estimate ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LaunchInputs:
    """Percentages are 0-100."""
    uplift_pct: float = 30.0  # the reference force's rise in recorded possession offences
    referral_pct: float = 85.0  # recorded possession offences that become referrals
    engagement_pct: float = 65.0
    course_pct: float = 86.0
    no_show_pct: float = 12.0
    seats_per_session: int = 12
    assessments_per_worker_day: float = 4.0
    working_hours_per_day: float = 7.5
    facilitator_hours_per_session: float = 3.5
    weeks: int = 26


# the planner's sliders: (lowest, highest, step)
RANGES = {
    "uplift_pct": (0, 100, 5), "referral_pct": (10, 100, 1), "engagement_pct": (5, 100, 1), "course_pct": (0, 100, 1),
    "no_show_pct": (0, 50, 1), "seats_per_session": (1, 40, 1), "assessments_per_worker_day": (0.5, 12.0, 0.5),
    "weeks": (4, 26, 1),
}


def defaults(rates=None) -> LaunchInputs:
    """The planner's starting values: this service's own rates where it has them (a
    divert.analytics.rates.Rates), kept inside the sliders' ranges; the programme's figures
    otherwise. The pace of assessment is not taken from the records: an established team's
    pace reflects part-time and shared workers, a new service plans in full-time workers."""
    values = {}
    if rates is not None:
        for name in ("engagement_pct", "course_pct", "no_show_pct", "seats_per_session", "referral_pct"):
            value = getattr(rates, name, None)
            if value is not None and math.isfinite(value):
                values[name] = value
    out = {}
    for name, value in values.items():
        low, high, step = RANGES[name]
        out[name] = int(min(max(round(value / step) * step, low), high))
    return LaunchInputs(**out)


def monthly_shape(counts: pl.DataFrame) -> dict[int, float]:
    """Month-of-year factors (mean 1) from two years or more of counts (every month seen at
    least twice: one year of months is mostly noise); flat otherwise."""
    seen = counts.group_by(pl.col("month").dt.month()).len()["len"] if counts.height else pl.Series([], dtype=pl.UInt32)
    if seen.len() < 12 or int(seen.min()) < 2 or counts["offences"].sum() == 0:
        return {m: 1.0 for m in range(1, 13)}
    by_month = counts.group_by(pl.col("month").dt.month().alias("m")).agg(pl.col("offences").mean())
    means = dict(zip(by_month["m"].to_list(), by_month["offences"].to_list(), strict=True))
    overall = float(np.mean(list(means.values())))
    return {m: (means.get(m, overall) / overall if overall else 1.0) for m in range(1, 13)}


def expected_referrals(counts: pl.DataFrame, inputs: LaunchInputs, launch: date) -> pl.DataFrame:
    """Week by week from the launch week: expected referrals (offences a week in that month of
    the year x (1 + uplift) x referral share) with 80% and 95% intervals for a week's count
    (Poisson), and the busy-week level (90th percentile)."""
    if counts.is_empty():
        return pl.DataFrame(schema={"week": pl.Date, "weeks_ahead": pl.Int64, "mean": pl.Float64, **{
            b: pl.Float64 for b in ("lo_80", "hi_80", "lo_95", "hi_95", "busy_week")}})
    per_month = float(counts["offences"].mean())
    shape = monthly_shape(counts)
    start = launch - timedelta(days=launch.weekday())
    weeks = [start + timedelta(weeks=i) for i in range(max(1, inputs.weeks))]
    factor = (1 + inputs.uplift_pct / 100) * inputs.referral_pct / 100
    mean = np.array([per_month / WEEKS_PER_MONTH * shape[(w + timedelta(days=3)).month] * factor for w in weeks])
    return pl.DataFrame({
        "week": weeks, "weeks_ahead": np.arange(1, len(weeks) + 1), "mean": mean,
        "lo_80": poisson.ppf(0.10, mean), "hi_80": poisson.ppf(0.90, mean),
        "lo_95": poisson.ppf(0.025, mean), "hi_95": poisson.ppf(0.975, mean),
        "busy_week": poisson.ppf(BUSY_WEEK, mean),
    }).with_columns(pl.col(c).fill_nan(0.0) for c in ("lo_80", "hi_80", "lo_95", "hi_95", "busy_week"))


def capacity_needed(weekly: pl.DataFrame, inputs: LaunchInputs) -> pl.DataFrame:
    """What to have in place from week one, for an average week and for a busy week (the
    busiest week's 90th percentile in the period): referrals, assessments, assessment
    workers, course seats, sessions (whole sessions, rounded up) and staff hours a week."""
    schema = {"measure": pl.String, "average_week": pl.Float64, "busy_week": pl.Float64, "explanation": pl.String}
    if weekly.is_empty():
        return pl.DataFrame(schema=schema)
    levels = {"average_week": float(weekly["mean"].mean()), "busy_week": float(weekly["busy_week"].max())}
    hours_per_assessment = inputs.working_hours_per_day / inputs.assessments_per_worker_day
    rows: dict[str, dict] = {}
    for level, referrals in levels.items():
        assessments = referrals * inputs.engagement_pct / 100
        seats = assessments * inputs.course_pct / 100 * (1 - inputs.no_show_pct / 100)
        sessions = math.ceil(seats / inputs.seats_per_session - 1e-9)
        workers = math.ceil(2 * assessments / (inputs.assessments_per_worker_day * DAYS_PER_WORKING_WEEK) - 1e-9) / 2
        values = {
            "Referrals a week": referrals,
            "Assessments a week": assessments,
            "Assessment workers (full-time, to the half)": workers,
            "Course seats a week": seats,
            "Course sessions a week": float(sessions),
            "Staff hours a week": assessments * hours_per_assessment + sessions * inputs.facilitator_hours_per_session,
        }
        for measure, value in values.items():
            rows.setdefault(measure, {"measure": measure})[level] = value
    explain = {
        "Referrals a week": "Offences a month x 12 / 52, plus the recording uplift, times the share referred.",
        "Assessments a week": "Referrals x the share who take the assessment.",
        "Assessment workers (full-time, to the half)": "Assessments / (assessments per worker per day x 5), rounded up.",
        "Course seats a week": "Assessments x the share allocated to the course x those who attend.",
        "Course sessions a week": "Seats / seats per session, rounded up to whole sessions.",
        "Staff hours a week": "Assessment time plus facilitator time for the sessions.",
    }
    return pl.DataFrame([{**row, "explanation": explain[m]} for m, row in rows.items()], schema=schema)


def baseline_from_offences(counts: pl.DataFrame, inputs: LaunchInputs) -> dict[str, float | None]:
    """The headline numbers: offences a month now, expected after the uplift, and the
    referrals a week that implies."""
    if counts.is_empty():
        return {"offences_per_month": None, "offences_after_uplift": None, "referrals_per_week": None}
    per_month = float(counts["offences"].mean())
    after = per_month * (1 + inputs.uplift_pct / 100)
    return {"offences_per_month": per_month, "offences_after_uplift": after,
            "referrals_per_week": after / WEEKS_PER_MONTH * inputs.referral_pct / 100}


def launch_plan(inputs: LaunchInputs, workers: float, sessions: float, base_days_to_assessment: float = 5.0,
                base_days_to_course: float = 7.0):
    """A queue-model plan (divert.analytics.planning.Plan) for a new service with this capacity
    and no one waiting at the start."""
    from divert.analytics.planning import Plan

    return Plan(weeks=max(4, min(26, inputs.weeks)), engagement_pct=inputs.engagement_pct, course_pct=inputs.course_pct,
                no_show_pct=inputs.no_show_pct, seats_per_session=inputs.seats_per_session,
                sessions_per_week=sessions, assessment_workers=workers,
                assessments_per_worker_day=inputs.assessments_per_worker_day,
                base_days_to_assessment=base_days_to_assessment, base_days_to_course=base_days_to_course,
                facilitator_hours_per_session=inputs.facilitator_hours_per_session,
                working_hours_per_day=inputs.working_hours_per_day)


def sized_from_old_figures(counts: pl.DataFrame, inputs: LaunchInputs) -> tuple[float, float]:
    """(workers, sessions) a force would put on if it sized the service from its old crime
    figures: no recording uplift, an average week. The launch page shows what follows."""
    from dataclasses import replace

    weekly = expected_referrals(counts, replace(inputs, uplift_pct=0.0), date(2000, 1, 3))
    table = capacity_needed(weekly, replace(inputs, uplift_pct=0.0))
    if table.is_empty():
        return 0.0, 0.0
    values = dict(zip(table["measure"].to_list(), table["average_week"].to_list(), strict=True))
    return values["Assessment workers (full-time, to the half)"], values["Course sessions a week"]


def offences_before(offences: pl.DataFrame, policy_start: date, months: int = 12) -> pl.DataFrame:
    """Recorded possession offences a month in the `months` full months before the policy
    started: an example (or this force's own starting point) for the launch planner."""
    start = policy_start
    for _ in range(months):
        start = (start.replace(day=1) - timedelta(days=1)).replace(day=1)
    first = start
    day = pl.col("offence_date") if offences.schema.get("offence_date") == pl.Date else pl.col("offence_date").dt.date()
    part = offences.filter((day >= first) & (day < policy_start.replace(day=1)))
    if part.is_empty():
        return pl.DataFrame(schema=OFFENCES_SCHEMA)
    counts = part.group_by(day.dt.truncate("1mo").alias("month")).len(name="offences")
    spine = pl.DataFrame({"month": pl.date_range(first, (policy_start.replace(day=1) - timedelta(days=1)).replace(day=1),
                                                 "1mo", eager=True)})
    return spine.join(counts, on="month", how="left").with_columns(
        pl.col("offences").fill_null(0).cast(pl.Int64)).select(list(OFFENCES_SCHEMA))
