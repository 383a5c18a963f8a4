"""The one planning model's inputs and arithmetic: every assumption the planning pages use
(Capacity, Forecast, Scenario planner, Launch planner), each with where it came from, and the
sums that turn referrals into work.

A Plan holds every assumption. Its defaults for this service come from divert.analytics.planning.rates
(measured from the records as of the as-of date, each with a Source saying how); where the
records say nothing, from DEFAULTS below, each with its source. The staffing answer (workers
and sessions needed to keep within the targets) comes from divert.analytics.planning.queue.outlook on
a Plan and a weekly demand: every page asks that one function.

What "assessments per worker-day" means, everywhere (PACE_MEANING): assessments completed
per worker per working day, counting five working days for each week a worker completed at
least one assessment, over the recent complete weeks; the planning pace is the 90th
percentile of the weekly figures (the pace the team reached in its busier weeks).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import polars as pl

from divert.analytics.calendar.weeks import DAYS_PER_WORKING_WEEK

PACE_MEANING = (
    "Assessments completed per worker per working day: for each of the recent complete weeks, the assessments "
    "completed that week / (workers who completed at least one that week x 5 working days); the planning pace is "
    "the 90th percentile of those weeks (a pace the team reached in its busier weeks). Workers who are not busy "
    "show a lower pace than they could reach.")


# --- where an assumption comes from -------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    kind: str  # "measured" (from the records), "default" (DEFAULTS) or "entered" (changed on a page)
    detail: str  # plain English: how it was measured, or where the default comes from

    def describe(self) -> str:
        return f"{self.kind}: {self.detail}"


# value, and where it comes from, for each assumption when the records say nothing
DEFAULTS: dict[str, tuple[float, str]] = {
    "engagement_pct": (65.0, "the reference programme's reported figure: 65% of people referred complete at least "
                             "the assessment (West Midlands)"),
    "course_pct": (86.0, "a planning assumption: most people assessed go on to the group course (the reference "
                         "programme reports no share)"),
    "no_show_pct": (12.0, "a planning assumption, not a reported figure"),
    "seats_per_session": (12, "a planning assumption for an online group session"),
    "sessions_per_week": (3.0, "a planning assumption"),
    "assessment_workers": (4.0, "a planning assumption"),
    "assessments_per_worker_day": (4.0, "a planning assumption for a full-time worker: about 1 hour 50 minutes an "
                                        "assessment in a 7.5-hour day, including failed contact attempts"),
    "base_days_to_assessment": (5.0, "a planning assumption: a week of contact attempts"),
    "base_days_to_course": (7.0, "a planning assumption: the next weekly session"),
    "facilitator_hours_per_session": (3.5, "the programme's 2-3 hour online course plus about an hour's "
                                           "preparation and follow-up"),
    "working_hours_per_day": (7.5, "a full-time working day"),
    "start_assessment_queue": (0.0, "nobody waiting at the start"),
    "start_course_queue": (0.0, "nobody waiting at the start"),
    "uplift_pct": (30.0, "the reference force: recorded possession offences rose 30% as soon as the policy started"),
    "referral_pct": (85.0, "a planning assumption: most recorded possession offences are referred"),
}


def default_source(name: str) -> Source:
    return Source("default", DEFAULTS[name][1])


# --- the planner's inputs ------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    label: str
    help: str
    low: float
    high: float
    step: float
    kind: type = float
    advanced: bool = False


@dataclass(frozen=True)
class Plan:
    """A scenario: every input of the planning model. Percentages are 0-100."""
    weeks: int = 26
    demand_change_pct: float = 0.0
    change_from_week: int = 1
    demand_level: str = "central"
    engagement_pct: float = DEFAULTS["engagement_pct"][0]
    course_pct: float = DEFAULTS["course_pct"][0]
    no_show_pct: float = DEFAULTS["no_show_pct"][0]
    seats_per_session: int = DEFAULTS["seats_per_session"][0]
    sessions_per_week: float = DEFAULTS["sessions_per_week"][0]
    assessment_workers: float = DEFAULTS["assessment_workers"][0]
    assessments_per_worker_day: float = DEFAULTS["assessments_per_worker_day"][0]
    base_days_to_assessment: float = DEFAULTS["base_days_to_assessment"][0]
    base_days_to_course: float = DEFAULTS["base_days_to_course"][0]
    start_assessment_queue: float = 0.0
    start_course_queue: float = 0.0
    facilitator_hours_per_session: float = DEFAULTS["facilitator_hours_per_session"][0]
    working_hours_per_day: float = DEFAULTS["working_hours_per_day"][0]

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def hours_per_assessment(self) -> float:
        return self.working_hours_per_day / self.assessments_per_worker_day if self.assessments_per_worker_day > 0 else 0.0

    @property
    def assessments_per_week(self) -> float:
        """Assessment capacity: workers x assessments per worker-day x 5 working days."""
        return self.assessment_workers * self.assessments_per_worker_day * DAYS_PER_WORKING_WEEK

    @property
    def course_places_per_week(self) -> float:
        """Course capacity in people booked: sessions x seats / (1 - no-show rate)."""
        attend = 1 - self.no_show_pct / 100
        return self.sessions_per_week * self.seats_per_session / attend if attend > 0 else 0.0


DEMAND_LEVELS = {
    "central": "The forecast (central)",
    "hi_80": "A busy run: top of the 80% interval every week",
    "hi_95": "A very busy run: top of the 95% interval every week",
}

FIELDS: dict[str, Field] = {
    "weeks": Field("Weeks ahead", "How far ahead to plan.", 4, 26, 1, int),
    "demand_change_pct": Field(
        "Change in referrals (%)",
        "On top of the forecast: for example +30 for the rise in recorded offences when a force launches, "
        "+15 for a new area joining, +10 for widening to under-18s; negative for a fall.", -50, 200, 5),
    "change_from_week": Field("Change starts in week",
                              "The week ahead in which the change starts (after the last week planned: no change).",
                              1, 26, 1, int),
    "engagement_pct": Field(
        "People who take the assessment (%)",
        "Share of referrals who complete the telephone assessment (the programme reports 65%).", 5, 100, 1),
    "course_pct": Field("Allocated to the group course (%)",
                        "Share of those assessed who are allocated to the group course (the rest go to "
                        "one-to-one work or treatment).", 0, 100, 1),
    "no_show_pct": Field(
        "No-shows (%)",
        "Share of bookings where the person does not attend. Sessions are booked so that those who turn up "
        "fill the seats, so more no-shows means more bookings per session and fewer completions.", 0, 50, 1),
    "seats_per_session": Field("Seats per session", "People a session takes.", 1, 40, 1, int),
    "sessions_per_week": Field("Sessions per week", "Course sessions run each week (0.5 = one a fortnight).",
                               0, 30, 0.5),
    "assessment_workers": Field(
        "Assessment workers",
        "Drug workers doing telephone assessments. With the pace below they can assess workers x assessments per "
        "worker-day x 5 people a week.", 0, 60, 0.5),
    "assessments_per_worker_day": Field("Assessments per worker-day", PACE_MEANING, 0.05, 12, 0.05),
    "base_days_to_assessment": Field(
        "Usual working days to assessment with no queue",
        "Time to reach and assess someone when no one is waiting for a worker (contact attempts, call-backs).",
        0, 30, 0.5, advanced=True),
    "base_days_to_course": Field(
        "Usual days to a course with no queue",
        "Time from assessment to a course session when there are free seats (waiting for the next session).",
        0, 60, 0.5, advanced=True),
    "start_assessment_queue": Field(
        "Backlog for assessment now",
        "People already waiting longer than the usual wait who will take the assessment (default: from the "
        "records at the as-of date, those not yet reached after the usual wait, times the assessment share; "
        "records from before a gap in the data are left out).", 0, 5000, 1, advanced=True),
    "start_course_queue": Field(
        "Backlog for a course now",
        "People allocated to the course, holding no place, who have already waited longer than the usual wait.",
        0, 5000, 1, advanced=True),
    "facilitator_hours_per_session": Field("Facilitator hours per session",
                                           "Running a session plus preparation and follow-up.", 0.5, 12, 0.5,
                                           advanced=True),
    "working_hours_per_day": Field("Working hours in a day", "For turning assessments into staff hours.", 1, 12,
                                   0.5, advanced=True),
}
ASSUMPTIONS = ("engagement_pct", "course_pct", "no_show_pct", "seats_per_session", "sessions_per_week",
               "assessment_workers", "assessments_per_worker_day", "base_days_to_assessment", "base_days_to_course",
               "start_assessment_queue", "start_course_queue", "facilitator_hours_per_session",
               "working_hours_per_day")


def plan_field_names() -> list[str]:
    return [f.name for f in fields(Plan)]


def plan_from_rates(rates, **overrides) -> Plan:
    """The plan for the service as the records show it (a divert.analytics.planning.rates.Rates), kept
    inside the inputs' ranges."""
    values = {name: getattr(rates, name) for name in plan_field_names() if hasattr(rates, name)}
    # the backlog: people already waiting longer than the usual wait (the rest are the normal
    # flow, which the usual wait already covers); of those not yet assessed, only the share who
    # will take the assessment
    values["start_assessment_queue"] = round(rates.assessment_backlog * rates.engagement_pct / 100)
    values["start_course_queue"] = rates.course_backlog
    values = {k: clamp(k, v) for k, v in values.items()}
    return replace(Plan(), **(values | overrides))


def clamp(name: str, value):
    spec = FIELDS.get(name)
    if spec is None:
        return value
    value = min(max(value, spec.low), spec.high)
    if spec.kind is int:
        return int(round(value))
    return round(round(value / spec.step) * spec.step, 4)


def sources(plan: Plan, rates=None) -> dict[str, Source]:
    """Where each assumption of the plan came from: the rates' source when the plan still has
    the service's value, 'entered' when it was changed, the default's source otherwise."""
    start = plan_from_rates(rates) if rates is not None else Plan()
    known = getattr(rates, "sources", {}) if rates is not None else {}
    out = {}
    for name in ASSUMPTIONS:
        value, base = getattr(plan, name), getattr(start, name)
        if abs(float(value) - float(base)) > 1e-9:
            out[name] = Source("entered", f"changed from {base:g}")
        elif name in known:
            out[name] = known[name]
        else:
            out[name] = default_source(name)
    return out


def assumptions_table(plan: Plan, rates=None) -> pl.DataFrame:
    """One row per assumption: label, value, where it came from (measured / default /
    entered) and how. For the pages' "assumptions" expander and its CSV."""
    found = sources(plan, rates)
    rows = [{"assumption": FIELDS[name].label, "value": float(getattr(plan, name)), "source": found[name].kind,
             "how": found[name].detail} for name in ASSUMPTIONS]
    return pl.DataFrame(rows, schema={"assumption": pl.String, "value": pl.Float64, "source": pl.String,
                                      "how": pl.String})


# --- referrals -> work ----------------------------------------------------------------------------
def work(referrals: pl.Expr, plan: Plan) -> dict[str, pl.Expr]:
    """Expressions turning a weekly referrals column into the work it brings, at the plan's
    rates: assessments = referrals x engagement; course seats = assessments x course share x
    attendance (1 - no-shows: seats are planned for the people who will attend); sessions =
    seats / seats per session; worker-days = assessments / assessments per worker-day; staff
    hours = assessment hours + facilitator hours. (Workers *needed* also depend on the
    queue and the targets: divert.analytics.planning.queue.outlook.)"""
    assessments = referrals * (plan.engagement_pct / 100)
    seats = assessments * (plan.course_pct / 100) * (1 - plan.no_show_pct / 100)
    sessions = seats / plan.seats_per_session if plan.seats_per_session > 0 else pl.lit(None, pl.Float64)
    worker_days = assessments / plan.assessments_per_worker_day if plan.assessments_per_worker_day > 0 \
        else pl.lit(None, pl.Float64)
    hours = assessments * plan.hours_per_assessment + sessions * plan.facilitator_hours_per_session
    return {"assessments": assessments, "course_seats": seats, "sessions": sessions,
            "assessment_worker_days": worker_days, "staff_hours": hours}
