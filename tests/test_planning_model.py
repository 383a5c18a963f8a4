"""One planning model: the analytics modules depend downwards only, and the same inputs give
the same staffing answer through each planning page's code path (Capacity, Forecast, the
Scenario planner, the Launch planner), on hand-built records with a known answer."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from clock import YESTERDAY
from dbfixtures import demo_url
from test_planning_live import DEMO

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.planning import assumptions, forecast, launch, staffing
from divert.web import scenarios

UTC_DT = pl.Datetime("us", "UTC")


# --- hand-built records with a known staffing answer ------------------------------------------------------
AS_OF = date(2025, 6, 29)  # a Sunday: the week it ends is complete
FIRST_WEEK = date(2024, 4, 29)  # sixty complete weeks of referrals up to the as-of date
TARGET_ASSESSMENT, TARGET_COURSE = 10, 28


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def hand_built() -> Frames:
    """Referrals alternate 30 and 42 a week (Monday to Friday). Every other one is assessed on
    the Friday by one of two workers (the others decline that day and are closed), allocated to the course, booked the next day and
    seated five days after the assessment. Two sessions of ten seats run every week (and are on
    the calendar for eight weeks ahead), every booking attended.

    So: half take the assessment (15 or 21 a week); two workers managed 1.5 and 2.1 assessments
    per worker-day, a pace of 2.1 in the busier weeks (the 90th percentile): 10.5 a week each.
    The forecast is between 31.5 and 42 referrals a week, so 16 to 21 assessments: two workers
    (21 a week) are needed and enough; one and a half (15.75) are not. All go to the course:
    two sessions (20 places) are needed, one and a half (15) are not."""
    rows, sessions = [], []
    weeks = (AS_OF - FIRST_WEEK).days // 7 + 1
    n = 0
    for w in range(weeks):
        monday = FIRST_WEEK + timedelta(weeks=w)
        for i in range(30 if w % 2 == 0 else 42):
            referred = monday + timedelta(days=i % 5)
            n += 1
            row = {"referral_id": n, "referred_at": at(referred), "referred_on": referred, "assessed_at": None,
                   "assessment_result": None, "allocation": None, "worker": None, "first_contact_at": None,
                   "first_booked_at": None, "first_session_at": None, "attended_at": None,
                   "course_completed_at": None, "no_shows": 0, "closed_on": None, "closure_result": None,
                   "intelligence_log_date": None, "onward_treatment": None, "area": "E08000025"}
            if i % 2 == 0:
                assessed = monday + timedelta(days=4)  # the Friday
                seated = assessed + timedelta(days=5)
                if assessed <= AS_OF:
                    row.update(assessed_at=at(assessed), first_contact_at=at(assessed), assessment_result="completed",
                               allocation="group_course", worker=f"W{(i // 2) % 2 + 1}")
                if assessed + timedelta(days=1) <= AS_OF:
                    row.update(first_booked_at=at(assessed + timedelta(days=1)), first_session_at=at(seated, 18))
                if seated <= AS_OF:
                    row.update(attended_at=at(seated, 18))
            else:  # declines on the Friday call, and the referral is closed that day
                row.update(assessment_result="declined", closed_on=monday + timedelta(days=4))
            rows.append(row)
        for d in (1, 3):
            sessions.append({"session_id": len(sessions) + 1, "starts_at": at(monday + timedelta(days=d), 18),
                             "seats": 10, "booked": 9, "attended": 9})
    for w in range(1, 9):  # the calendar ahead
        monday = AS_OF + timedelta(days=1) + timedelta(weeks=w - 1)
        for d in (1, 3):
            sessions.append({"session_id": len(sessions) + 1, "starts_at": at(monday + timedelta(days=d), 18),
                             "seats": 10, "booked": 0, "attended": 0})
    referrals = pl.DataFrame(rows, schema_overrides={
        c: UTC_DT for c in ("referred_at", "assessed_at", "first_contact_at", "first_booked_at", "first_session_at",
                            "attended_at", "course_completed_at")} | {"closed_on": pl.Date, "intelligence_log_date": pl.Date,
                                                                       "onward_treatment": pl.Boolean,
                                                                       "closure_result": pl.String})
    offences = pl.DataFrame({"offence_date": referrals["referred_on"], "outcome_date": referrals["referred_on"],
                             "outcome": [8] * referrals.height, "area": referrals["area"]})
    empty = pl.DataFrame({"searched_at": []}, schema={"searched_at": UTC_DT})
    return Frames(offences=offences, referrals=referrals, sessions=pl.DataFrame(sessions, schema_overrides={
        "starts_at": UTC_DT}), stop_search=empty, population=pl.DataFrame(), as_of=AS_OF)


@pytest.fixture(scope="module")
def basis():
    return staffing.planning_basis(hand_built(), Filters(as_of=AS_OF))


def test_the_rates_are_measured_as_built(basis):
    result, rates = basis
    assert rates.assessment_workers == 2 and rates.assessments_per_worker_day == pytest.approx(2.1)
    assert rates.sources["assessments_per_worker_day"].kind == "measured"
    assert rates.course_pct == 100 and rates.no_show_pct == 0 and rates.seats_per_session == 10
    assert rates.sessions_per_week == 2 and rates.base_days_to_assessment <= 4
    assert rates.assessment_backlog == 0 and rates.course_backlog == 0
    coming = forecast.ahead(result)
    assert coming["week"][0] == date(2025, 6, 30) and coming["weeks_ahead"][0] == 1  # the week after the as-of date
    assert 31.5 < coming["mean"].min() and coming["mean"].max() <= 42


def page_answers(result, rates) -> dict[str, tuple[float | None, float | None]]:
    """(workers, sessions) needed, by each page's own path from the shared inputs."""
    # Capacity and Forecast: the service as the records show it
    service = staffing.for_service(result, rates, TARGET_ASSESSMENT, TARGET_COURSE)
    # the Scenario planner: its inputs start from the same plan and pass through the page's check
    typed = {name: getattr(assumptions.plan_from_rates(rates), name) for name in assumptions.plan_field_names()}
    plan, problems = scenarios.check_plan(typed)
    assert problems == []
    scenario = staffing.for_plan(result, plan, TARGET_ASSESSMENT, TARGET_COURSE)
    # the Launch planner: its defaults from the same rates, its demand here the same forecast
    inputs = launch.defaults(rates)
    table = launch.capacity_needed(forecast.ahead(result, weeks=inputs.weeks), inputs, TARGET_ASSESSMENT,
                                   TARGET_COURSE)
    needed = {row["measure"]: row["average_week"] for row in table.iter_rows(named=True)}
    return {"capacity/forecast": (service.workers_needed, service.sessions_needed),
            "scenarios": (scenario.workers_needed, scenario.sessions_needed),
            "launch": (needed[launch.WORKERS_NEEDED], needed[launch.SESSIONS_NEEDED])}


def test_same_inputs_give_the_same_staffing_answer_on_every_page(basis):
    answers = page_answers(*basis)
    assert set(answers.values()) == {(2.0, 2.0)}, answers


def test_a_changed_assumption_changes_every_page_alike(basis):
    result, rates = basis
    from dataclasses import replace

    assessments = forecast.ahead(result)["mean"].max() * 0.5  # about 16.5 a week
    slower = replace(rates, assessments_per_worker_day=1.0)  # five a week each
    answers = page_answers(result, slower)
    expected = math.ceil(2 * assessments / 5) / 2  # nobody waiting: enough half-workers for every week
    assert expected == 3.5 and set(answers.values()) == {(expected, 2.0)}, answers


def test_every_assumption_says_where_it_came_from(basis):
    _, rates = basis
    table = assumptions.assumptions_table(assumptions.plan_from_rates(rates), rates)
    assert table.height == len(assumptions.ASSUMPTIONS) and table["how"].str.len_chars().min() > 10
    kinds = dict(zip(table["assumption"], table["source"], strict=True))
    assert kinds[assumptions.FIELDS["assessments_per_worker_day"].label] == "measured"
    assert kinds[assumptions.FIELDS["working_hours_per_day"].label] == "default"
    changed = assumptions.assumptions_table(assumptions.plan_from_rates(rates, assessment_workers=5), rates)
    row = changed.filter(pl.col("assumption") == assumptions.FIELDS["assessment_workers"].label).row(0, named=True)
    assert row["source"] == "entered" and "changed from 2" in row["how"]


# --- the pages themselves, on the demo ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def current_demo(tmp_path_factory):
    """test_planning_live's demo up to yesterday (clock.MOMENT), as a new user sees it today."""
    from divert.storage.db import get_engine

    url, _ = demo_url(tmp_path_factory.mktemp("planning-model"), **DEMO, as_of=YESTERDAY)
    yield url
    get_engine(url).dispose()


def test_the_pages_show_the_same_staffing_answer_on_the_demo(current_demo, monkeypatch, clock):
    from apptesting import app_test, as_user

    from divert.analytics.data.loading import load_frames
    from divert.core.clock import today
    from divert.core.environment import PROJECT_DIR
    from divert.records import stored_settings
    from divert.storage.db import get_engine

    monkeypatch.setenv("DIVERT_DATABASE_URL", current_demo)
    shown = {}
    for page in ("capacity", "forecast", "scenarios"):
        at = as_user(app_test(PROJECT_DIR / "pages" / f"{page}.py"), "test.manager", "manager").run()
        assert not at.exception, [e.value for e in at.exception]
        metrics = {m.label: m.value for m in at.metric}
        shown[page] = (metrics[staffing.WORKERS_LABEL], metrics[staffing.SESSIONS_LABEL])
    engine = get_engine(current_demo)
    targets = stored_settings.load(engine)
    result, rates = staffing.planning_basis(load_frames(engine), Filters(as_of=today()))
    answer = staffing.for_service(result, rates, targets.target_days_to_assessment, targets.target_days_to_course)
    expected = (staffing.needed_text(answer.workers_needed), staffing.needed_text(answer.sessions_needed))
    assert set(shown.values()) == {expected}, shown
    # and the Launch planner's path, given the same demand and the same rates, agrees
    inputs = launch.defaults(rates)
    table = launch.capacity_needed(forecast.ahead(result, weeks=inputs.weeks), inputs,
                                   targets.target_days_to_assessment, targets.target_days_to_course)
    needed = {row["measure"]: row["average_week"] for row in table.iter_rows(named=True)}
    # the launch plans a new service: nobody waiting at the start
    from dataclasses import replace

    fresh = staffing.for_plan(result, replace(answer.plan, start_assessment_queue=0, start_course_queue=0),
                              targets.target_days_to_assessment, targets.target_days_to_course)
    assert (needed[launch.WORKERS_NEEDED], needed[launch.SESSIONS_NEEDED]) == (fresh.workers_needed,
                                                                               fresh.sessions_needed)
    assert fresh.workers_needed is not None
