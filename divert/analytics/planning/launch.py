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
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import polars as pl
from scipy.stats import poisson

from divert.analytics.planning.assumptions import (
    DEFAULTS,
    Plan,
    Source,
    default_source,
    plan_from_rates,
    work,
)
from divert.analytics.planning.queue import outlook
from divert.core.field_rules import Problem

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


def template_frame() -> pl.DataFrame:
    """A year of months to fill in (the Launch planner's CSV template)."""
    months = [date(2024, m, 1) for m in range(1, 13)]
    return pl.DataFrame({"month": [m.strftime("%Y-%m") for m in months], "offences": [None] * 12},
                        schema={"month": pl.String, "offences": pl.Int64})


def template_csv() -> bytes:
    return template_frame().write_csv().encode()


# --- the estimate ----------------------------------------------------------------------------------
def _new_service(plan: Plan) -> Plan:
    return replace(plan, start_assessment_queue=0.0, start_course_queue=0.0, demand_change_pct=0.0,
                   demand_level="central")


@dataclass(frozen=True)
class LaunchInputs:
    """The launch's own two assumptions (percentages 0-100) and the planning model's Plan for
    everything else (the same assumptions as every planning page; nobody waiting at launch)."""
    uplift_pct: float = DEFAULTS["uplift_pct"][0]  # the reference force's rise in recorded possession offences
    referral_pct: float = DEFAULTS["referral_pct"][0]  # recorded possession offences that become referrals
    plan: Plan = field(default_factory=lambda: _new_service(Plan()))

    @property
    def weeks(self) -> int:
        return self.plan.weeks


# the launch's own sliders: (lowest, highest, step)
RANGES = {"uplift_pct": (0, 100, 5), "referral_pct": (10, 100, 1)}


def defaults(rates=None) -> LaunchInputs:
    """The planner's starting values: the planning model's plan for this service
    (planning.plan_from_rates: measured where the records allow, the programme's defaults
    otherwise) with nobody waiting, and this service's referral share where it has one."""
    plan = _new_service(plan_from_rates(rates) if rates is not None else Plan())
    referral = getattr(rates, "referral_pct", None) if rates is not None else None
    if referral is None or not math.isfinite(referral):
        return LaunchInputs(plan=plan)
    low, high, step = RANGES["referral_pct"]
    return LaunchInputs(referral_pct=int(min(max(round(referral / step) * step, low), high)), plan=plan)


def launch_sources(inputs: LaunchInputs, rates=None) -> dict[str, Source]:
    """Where the launch's own two assumptions come from."""
    out = {"uplift_pct": default_source("uplift_pct") if inputs.uplift_pct == DEFAULTS["uplift_pct"][0]
           else Source("entered", f"changed from {DEFAULTS['uplift_pct'][0]:g}")}
    start = defaults(rates).referral_pct
    if inputs.referral_pct != start:
        out["referral_pct"] = Source("entered", f"changed from {start:g}")
    elif rates is not None and getattr(rates, "referral_pct", None) is not None:
        out["referral_pct"] = Source("measured", "referrals per recorded possession offence since this service "
                                                 "started, in these records")
    else:
        out["referral_pct"] = default_source("referral_pct")
    return out


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


NEEDED_SCHEMA = {"measure": pl.String, "average_week": pl.Float64, "busy_week": pl.Float64, "explanation": pl.String}
WORKERS_NEEDED = "Assessment workers needed"
SESSIONS_NEEDED = "Course sessions needed a week"


def capacity_needed(weekly: pl.DataFrame, inputs: LaunchInputs, target_assessment: float,
                    target_course: float) -> pl.DataFrame:
    """What to have in place from week one, for the expected demand (average week) and for a
    busy run (every week at the top of its 80% interval, the 90th percentile week): referrals,
    assessments, course seats and assessment worker-days a week (planning.work), and the
    workers and sessions needed to keep within the targets: the planning model's staffing
    answer (queue.outlook, as on every planning page), with the staff hours they mean."""
    if weekly.is_empty():
        return pl.DataFrame(schema=NEEDED_SCHEMA)
    rows: dict[str, dict] = {}
    for level, column, demand_level in (("average_week", "mean", "central"), ("busy_week", "hi_80", "hi_80")):
        sums = weekly.select(**{k: e.mean() for k, e in work(pl.col(column), inputs.plan).items()},
                             referrals=pl.col(column).mean()).row(0, named=True)
        answer = outlook(weekly, replace(inputs.plan, demand_level=demand_level), target_assessment, target_course)
        sessions = answer.sessions_needed
        values = {
            "Referrals a week": sums["referrals"],
            "Assessments a week": sums["assessments"],
            "Course seats a week": sums["course_seats"],
            "Assessment worker-days a week": sums["assessment_worker_days"],
            WORKERS_NEEDED: answer.workers_needed,
            SESSIONS_NEEDED: sessions,
            "Staff hours a week": None if sessions is None else (
                sums["assessments"] * inputs.plan.hours_per_assessment
                + sessions * inputs.plan.facilitator_hours_per_session),
        }
        for measure, value in values.items():
            rows.setdefault(measure, {"measure": measure})[level] = value
    explain = {
        "Referrals a week": "Offences a month x 12 / 52, plus the recording uplift, times the share referred "
                            "(busy: the top of the 80% interval, a Poisson 90th percentile week).",
        "Assessments a week": "Referrals x the share who take the assessment.",
        "Course seats a week": "Assessments x the share allocated to the course x those who attend.",
        "Assessment worker-days a week": "Assessments / assessments per worker-day.",
        WORKERS_NEEDED: f"Fewest workers (in halves) keeping every week's wait to assessment within "
                        f"{target_assessment:g} working days, with no growing backlog: the planning model's answer, "
                        "as on every planning page. Blank: not reachable (the usual wait alone is over the target).",
        SESSIONS_NEEDED: f"Fewest sessions a week (in halves) keeping every week's wait to a course within "
                         f"{target_course:g} days, with no growing backlog.",
        "Staff hours a week": "Assessment time plus facilitator time for the sessions needed.",
    }
    return pl.DataFrame([{**row, "explanation": explain[m]} for m, row in rows.items()], schema=NEEDED_SCHEMA)


def baseline_from_offences(counts: pl.DataFrame, inputs: LaunchInputs) -> dict[str, float | None]:
    """The headline numbers: offences a month now, expected after the uplift, and the
    referrals a week that implies."""
    if counts.is_empty():
        return {"offences_per_month": None, "offences_after_uplift": None, "referrals_per_week": None}
    per_month = float(counts["offences"].mean())
    after = per_month * (1 + inputs.uplift_pct / 100)
    return {"offences_per_month": per_month, "offences_after_uplift": after,
            "referrals_per_week": after / WEEKS_PER_MONTH * inputs.referral_pct / 100}


def launch_plan(inputs: LaunchInputs, workers: float, sessions: float) -> Plan:
    """The queue model's plan for a new service with this capacity and no one waiting."""
    return replace(inputs.plan, assessment_workers=workers, sessions_per_week=sessions)


def sized_from_old_figures(counts: pl.DataFrame, inputs: LaunchInputs, target_assessment: float,
                           target_course: float) -> tuple[float | None, float | None]:
    """(workers, sessions) a force would put on if it sized the service from its old crime
    figures: no recording uplift, the expected week; the same staffing answer as every page.
    The launch page shows what follows."""
    old = replace(inputs, uplift_pct=0.0)
    weekly = expected_referrals(counts, old, date(2000, 1, 3))
    if weekly.is_empty():
        return 0.0, 0.0
    answer = outlook(weekly, old.plan, target_assessment, target_course)
    return answer.workers_needed, answer.sessions_needed


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
