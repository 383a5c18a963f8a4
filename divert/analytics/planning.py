"""A scenario's inputs (Plan), with each field's label, help, range and step for the pages and
for checking stored scenarios; and the defaults taken from the service's recent rates."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from divert.analytics.capacity import DAYS_PER_WORKING_WEEK
from divert.analytics.demand import Conversion


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
    """A scenario: every input of the queue model. Percentages are 0-100."""
    weeks: int = 26
    demand_change_pct: float = 0.0
    change_from_week: int = 1
    demand_level: str = "central"
    engagement_pct: float = 65.0
    course_pct: float = 86.0
    no_show_pct: float = 12.0
    seats_per_session: int = 12
    sessions_per_week: float = 3.0
    assessment_workers: float = 4.0
    assessments_per_worker_day: float = 4.0
    base_days_to_assessment: float = 5.0
    base_days_to_course: float = 7.0
    start_assessment_queue: float = 0.0
    start_course_queue: float = 0.0
    facilitator_hours_per_session: float = 3.5
    working_hours_per_day: float = 7.5

    def conversion(self) -> Conversion:
        return Conversion(self.engagement_pct, self.course_pct, self.no_show_pct, self.seats_per_session,
                          self.assessments_per_worker_day, self.working_hours_per_day, self.facilitator_hours_per_session)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def assessments_per_week(self) -> float:
        """Assessment capacity: workers x assessments per worker per day x 5 working days."""
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
    "seats_per_session": Field("Seats per session", "People a session takes (the reference course takes 12).",
                               1, 40, 1, int),
    "sessions_per_week": Field("Sessions per week", "Course sessions run each week (0.5 = one a fortnight).",
                               0, 30, 0.5),
    "assessment_workers": Field(
        "Assessment workers",
        "Drug workers doing telephone assessments. With the pace below they can assess workers x assessments per "
        "worker per day x 5 people a week.", 0, 60, 0.5),
    "assessments_per_worker_day": Field(
        "Assessments per worker per day",
        "Assessments a full-time worker completes in a working day, including the time spent trying to reach "
        "people who never answer. Part-time or shared workers show as under one a day.", 0.05, 12, 0.05),
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
        "records, those not yet reached after the usual wait, times the assessment share).", 0, 5000, 1,
        advanced=True),
    "start_course_queue": Field(
        "Backlog for a course now",
        "People allocated to the course, not yet booked, who have already waited longer than the usual wait.",
        0, 5000, 1, advanced=True),
    "facilitator_hours_per_session": Field("Facilitator hours per session",
                                           "Running a session plus preparation and follow-up.", 0.5, 12, 0.5,
                                           advanced=True),
    "working_hours_per_day": Field("Working hours in a day", "For turning assessments into staff hours.", 1, 12,
                                   0.5, advanced=True),
}


def plan_field_names() -> list[str]:
    return [f.name for f in fields(Plan)]


def plan_from_rates(rates, **overrides) -> Plan:
    """Planner defaults from what the service has recently achieved (capacity.Rates)."""
    values = {name: getattr(rates, name) for name in plan_field_names() if hasattr(rates, name)}
    # the backlog: people already waiting longer than the usual wait (the rest are the normal
    # flow, which the usual wait already covers); of those not yet assessed, only the share who
    # will take the assessment
    values["start_assessment_queue"] = round(rates.assessment_backlog * rates.engagement_pct / 100)
    values["start_course_queue"] = rates.course_backlog
    values = {k: _clamp(k, v) for k, v in values.items()}
    return replace(Plan(), **values, **overrides)


def _clamp(name: str, value):
    spec = FIELDS.get(name)
    if spec is None:
        return value
    value = min(max(value, spec.low), spec.high)
    if spec.kind is int:
        return int(round(value))
    return round(round(value / spec.step) * spec.step, 4)
