"""The planning figures are live and truthful: with the demo loaded, one referral recorded today
through divert.records moves them by that one referral and nothing else, even when the demo's
records stop long before today (the case a new user met: a demo ending in September 2025 seen
months later); and as of a past date they are exactly what they were. "Today" is clock.MOMENT."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from clock import YESTERDAY
from dbfixtures import DEMO_AS_OF, demo_url

from divert.analytics.data.filters import Filters
from divert.analytics.data.loading import load_frames
from divert.analytics.planning import capacity, forecast, queue, staffing
from divert.core.clock import today
from divert.records.referrals import add_referral
from divert.reference.programme import TIME_ZONE
from divert.storage.db import get_engine

TARGET_ASSESSMENT, TARGET_COURSE = 10, 28
DEMO = {"seed": 31, "scale": 0.3}  # the figures below are sane for a demo of this size


def figures(engine, as_of: date) -> dict:
    """What Capacity and Forecast show, as of a date, through the pages' own functions."""
    frames = load_frames(engine)
    filters = Filters(as_of=as_of)
    snap = frames.at(as_of)
    result, rates = staffing.planning_basis(snap, filters)
    answer = staffing.for_service(result, rates, TARGET_ASSESSMENT, TARGET_COURSE)
    start = as_of - timedelta(weeks=4) + timedelta(days=1)
    summary = capacity.wait_summary(snap.referrals, start, as_of, TARGET_ASSESSMENT, TARGET_COURSE)
    warnings = queue.target_warnings(summary, answer.outlook, answer.baseline, 4, TARGET_ASSESSMENT, TARGET_COURSE)
    top = forecast.headline(result)
    return {
        "awaiting": capacity.awaiting_assessment(snap.referrals, as_of, TARGET_ASSESSMENT).row(0, named=True),
        "course_list": capacity.waiting_list(snap.referrals, as_of).row(0, named=True),
        "warnings": {w.measure: w.level for w in warnings},
        "first_week_over": (answer.outlook.first_week_over_assessment_target,
                            answer.outlook.first_week_over_course_target),
        "next_week": top["next_week"],
        "workers_needed": answer.workers_needed, "sessions_needed": answer.sessions_needed,
        "pace": rates.assessments_per_worker_day, "backlog": (answer.plan.start_assessment_queue,
                                                              answer.plan.start_course_queue),
        "capacity_table": capacity.capacity_table(frames, filters),
        "forecast_table": forecast.forecast_table(frames, filters),
    }


def one_referral_today(engine):
    now = datetime.now(TIME_ZONE).replace(microsecond=0, tzinfo=None)
    values = {"reference": "LIVE-0001", "crime_ref": "LIVE/0001/26", "offence_date": now.date().isoformat(),
              "referred_at": now.strftime("%Y-%m-%d %H:%M"), "area": "E08000025", "drug": "CAN",
              "source": "stop_search", "person_ref": "LIVE PERSON 1", "sex": "M", "birth_year": "1995",
              "ethnicity_self": "W1", "ethnicity_officer": "IC1"}
    saved = add_referral(values, "test", engine=engine)
    assert saved.ok, saved.problems


def same(before: dict, after: dict, keys) -> None:
    for key in keys:
        if key.endswith("_table"):
            assert after[key].equals(before[key]), key
        else:
            assert after[key] == before[key], key


@pytest.fixture(params=["current", "stopped"])
def demo(request, tmp_path, clock):
    """The demo up to yesterday, or a demo whose records stopped on 30 September 2025."""
    ends = None if request.param == "current" else DEMO_AS_OF
    url, _ = demo_url(tmp_path, **DEMO, as_of=ends or YESTERDAY)
    engine = get_engine(url)
    yield engine, ends
    engine.dispose()


def test_one_referral_today_does_not_collapse_the_planning_figures(demo):
    engine, ends = demo
    now = today()
    past = ends or now - timedelta(days=45)
    before, before_past = figures(engine, now), figures(engine, past)

    one_referral_today(engine)
    after, after_past = figures(engine, now), figures(engine, past)

    # as of a past date nothing recorded since changes anything
    same(before_past, after_past, before_past)
    # today: one more person waiting for an assessment, and nothing else moves
    assert after["awaiting"]["people"] == before["awaiting"]["people"] + 1
    assert after["awaiting"]["waiting"] == before["awaiting"]["waiting"] + 1
    same(before, after, ["course_list", "warnings", "first_week_over", "next_week", "workers_needed",
                         "sessions_needed", "pace", "backlog"])
    # the new referral has waited 0 working days: the longest wait does not move
    assert after["awaiting"]["longest_working_days"] == (before["awaiting"]["longest_working_days"] or 0)
    # the week the as-of date falls in is provisional: one more referral recorded so far, the same forecast
    this_week = after["forecast_table"].filter("provisional")
    assert this_week["recorded"].to_list() == [r + 1 for r in before["forecast_table"].filter("provisional")["recorded"]]
    assert after["forecast_table"].drop("recorded").equals(before["forecast_table"].drop("recorded"))

    # and the figures are sane: no breach in week 1, a real forecast for next week, no year-long waits
    assert after["first_week_over"][0] != 1 and after["first_week_over"][1] != 1
    assert after["next_week"]["week"] == now - timedelta(days=now.weekday()) + timedelta(weeks=1)
    assert after["next_week"]["mean"] > 10
    longest = after["awaiting"]["longest_working_days"]
    assert longest is not None and longest < 60
    if ends is not None:
        # the records stopped nine months ago: those still open then are stale, not waiting; the new referral
        # waits alone, for 0 working days, and the backlog the projection starts from is empty
        assert after["awaiting"]["waiting"] == 1 and after["awaiting"]["stale"] == before["awaiting"]["stale"] > 0
        assert longest == 0 and after["backlog"] == (0, 0)
        assert before_past["awaiting"]["stale"] == 0 and before_past["awaiting"]["waiting"] > 0
