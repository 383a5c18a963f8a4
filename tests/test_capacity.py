"""Capacity now, the queue model, demand conversion and the launch planner, on hand-built
data with known answers; and the capacity table on the demo data."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from clock import TODAY, YESTERDAY
from commands import divert
from dbfixtures import DEMO_AS_OF, SMALL_DEMO, demo_url

from divert.analytics.data.filters import Filters
from divert.analytics.data.loading import load_frames
from divert.analytics.planning import (
    assumptions,
    by_period,
    capacity,
    demand,
    forecast,
    launch,
    periods,
    queue,
)
from divert.analytics.planning import rates as service_rates
from divert.storage.db import get_engine

UTC_DT = pl.Datetime("us", "UTC")


# --- working days -------------------------------------------------------------------------------
def test_working_days_skip_weekends():
    friday, monday = date(2025, 9, 5), date(2025, 9, 8)
    starts = [friday, monday, monday, friday]
    ends = [monday, monday + timedelta(days=7), monday, friday + timedelta(days=1)]  # Sat
    assert capacity.working_days_between(starts, ends).tolist() == [1, 5, 0, 0]
    assert capacity.working_days_in(monday, monday + timedelta(days=13)) == 10


# --- hand-built referrals ----------------------------------------------------------------------------
MONDAY = datetime(2025, 9, 1, 10, tzinfo=UTC)  # a Monday
REF_SCHEMA = {"referral_id": pl.Int64, "referred_at": UTC_DT, "assessed_at": UTC_DT, "assessment_result": pl.String,
              "allocation": pl.String, "worker": pl.String, "first_booked_at": UTC_DT, "first_session_at": UTC_DT,
              "closed_on": pl.Date}


def ref(n, referred=0, assessed=None, result=None, allocation=None, worker=None, booked=None, session=None,
        closed=None):
    def at(days):
        return None if days is None else MONDAY + timedelta(days=days)

    return {"referral_id": n, "referred_at": at(referred), "assessed_at": at(assessed), "assessment_result": result,
            "allocation": allocation, "worker": worker, "first_booked_at": at(booked), "first_session_at": at(session),
            "closed_on": None if closed is None else (MONDAY + timedelta(days=closed)).date()}


def refs(*rows) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=REF_SCHEMA)


# Referred on Monday 1 September 2025. Working days to assessment: 1, 5, 10 and 12; the course
# waits (assessment -> first session) are 7, 14 and 30 days.
PEOPLE = refs(
    ref(1, assessed=1, result="completed", allocation="group_course", worker="W1", booked=2, session=8),
    ref(2, assessed=7, result="completed", allocation="group_course", worker="W1", booked=8, session=21),
    ref(3, assessed=14, result="completed", allocation="group_course", worker="W2", booked=20, session=44),
    ref(4, assessed=16, result="completed", allocation="one_to_one", worker="W2"),
    ref(5, result="no_contact", closed=20),
    ref(6, referred=10, assessed=17, result="completed", allocation="group_course", worker="W1"),  # still waiting
    ref(7, referred=10, assessed=17, result="completed", allocation="group_course", worker=None, closed=24),
    ref(8, referred=24),  # not yet reached
)


def test_wait_summary_median_90th_percentile_and_target():
    summary = capacity.wait_summary(PEOPLE, date(2025, 9, 1), date(2025, 10, 31), target_assessment=10,
                                    target_course=28)
    to_assessment = summary.filter(pl.col("measure") == "to_assessment").row(0, named=True)
    # working days: 1, 5, 10, 12 and, referred on the Thursday 11th and assessed Thursday 18th, 5 and 5
    assert to_assessment["people"] == 6
    assert to_assessment["median"] == pytest.approx(5.0)
    assert to_assessment["p90"] == pytest.approx(11.0)  # linear between 10 and 12
    assert to_assessment["within_target"] == pytest.approx(5 / 6)
    assert to_assessment["status"] == "breached" and to_assessment["p90_over_target"] == pytest.approx(1.0)
    to_course = summary.filter(pl.col("measure") == "to_course").row(0, named=True)
    assert to_course["people"] == 3 and to_course["median"] == pytest.approx(14.0)
    assert to_course["within_target"] == pytest.approx(2 / 3) and to_course["status"] == "breached"


def test_wait_summary_of_nobody_has_no_figures():
    summary = capacity.wait_summary(PEOPLE, date(2024, 1, 1), date(2024, 1, 31), 10, 28)
    assert summary["people"].to_list() == [0, 0] and summary["status"].to_list() == [None, None]


def test_course_waiting_list_counts_allocated_not_booked_not_closed():
    # 19 Sept: 1 and 2 booked; 3 assessed 15th, booked 21st (waiting); 6 and 7 assessed 18th (waiting)
    on_19th = capacity.waiting_list(PEOPLE, date(2025, 9, 19), longer_than=3).row(0, named=True)
    assert on_19th["people"] == 3 and on_19th["longest_days_waiting"] == pytest.approx(4)
    assert on_19th["waiting_longer"] == 1
    # 26 Sept: 3 booked, 7 closed on the 25th: only 6 is left
    assert capacity.waiting_list(PEOPLE, date(2025, 9, 26))["people"][0] == 1
    assert capacity.waiting_list(PEOPLE.head(0), date(2025, 9, 26))["people"][0] == 0


def test_awaiting_assessment_and_those_past_the_target():
    # at 26 Sept: 5 (no contact, closes on the 21st) has gone; 8 was referred on the 25th
    waiting = capacity.awaiting_assessment(PEOPLE, date(2025, 9, 26), target_working_days=10).row(0, named=True)
    assert waiting["people"] == 1 and waiting["over_target"] == 0 and waiting["longest_working_days"] == 1
    earlier = capacity.awaiting_assessment(PEOPLE, date(2025, 9, 17), target_working_days=10).row(0, named=True)
    # 5 (no contact, an undated result: still being tried until the closure on the 21st), 6 and 7
    # (assessed on the 18th)
    assert earlier["people"] == 3 and earlier["waiting"] == 3 and earlier["stale"] == 0
    assert earlier["over_target"] == 1  # 5: referred 1 Sept, still not reached after 12 working days
    assert earlier["longest_working_days"] == 12


def test_weekly_capacity_counts_sessions_seats_and_the_waiting_list():
    sessions = pl.DataFrame({
        "session_id": [1, 2, 3, 4], "starts_at": [MONDAY + timedelta(days=d) for d in (8, 9, 21, 42)],
        "seats": [12, 12, 12, 12], "booked": [12, 6, 9, 0], "attended": [9, 6, 9, 0],
    }, schema_overrides={"starts_at": UTC_DT})
    last = date(2025, 9, 28)  # a Sunday: weeks up to the one starting 22 Sept are complete
    table = capacity.weekly_capacity(PEOPLE, sessions, last)
    rows = {r["week"]: r for r in table.iter_rows(named=True)}
    week2 = rows[date(2025, 9, 8)]
    assert (week2["sessions"], week2["seats"], week2["booked"], week2["attended"]) == (2, 24, 18, 15)
    assert week2["seat_use"] == pytest.approx(0.75) and week2["attendance"] == pytest.approx(15 / 18)
    assert week2["referrals"] == 2 and week2["assessments"] == 1 and week2["course_allocations"] == 1
    assert rows[date(2025, 9, 15)]["waiting_list"] == 2  # 6 and 7 (3 was booked on Sunday the 21st)
    assert rows[date(2025, 9, 22)]["waiting_list"] == 1
    ahead = rows[date(2025, 10, 13)]
    assert ahead["scheduled"] and ahead["seats"] == 12 and ahead["waiting_list"] is None
    assert not rows[date(2025, 9, 22)]["scheduled"]
    assert table["week"].to_list() == sorted(table["week"].to_list())  # no gaps, in order
    assert len(table) == 7


def test_weeks_in_a_gap_in_the_records_are_missing_not_zero():
    sessions = pl.DataFrame({"session_id": [1], "starts_at": [MONDAY + timedelta(days=8)], "seats": [12], "booked": [9],
                             "attended": [9]}, schema_overrides={"starts_at": UTC_DT})
    # nothing recorded after 25 September: by 30 November that is a gap in the records
    table = capacity.weekly_capacity(PEOPLE, sessions, date(2025, 11, 30))
    rows = {r["week"]: r for r in table.iter_rows(named=True)}
    assert rows[date(2025, 9, 8)]["referrals"] == 2 and not rows[date(2025, 9, 8)]["in_gap"]
    gap = table.filter(pl.col("in_gap"))
    assert gap["week"].min() == date(2025, 9, 22) and gap["week"].max() == date(2025, 11, 24)
    assert gap["referrals"].null_count() == gap["seats"].null_count() == gap.height  # missing, not zero


def test_worker_load_per_worker_day():
    load = capacity.worker_load(PEOPLE, date(2025, 9, 1), date(2025, 9, 14))
    rows = {r["worker"]: r for r in load.iter_rows(named=True)}
    # W1: one assessment in each of two weeks: 2 / (2 weeks x 5 working days)
    assert rows["W1"]["assessments"] == 2 and rows["W1"]["weeks_active"] == 2
    assert rows["W1"]["per_worker_day"] == pytest.approx(0.2)
    assert set(rows) == {"W1"}
    everyone = capacity.worker_load(PEOPLE, date(2025, 9, 1), date(2025, 9, 30))
    assert dict(zip(everyone["worker"], everyone["assessments"], strict=True)) == {"W1": 3, "W2": 2, "Not recorded": 1}
    assert everyone["share"].sum() == pytest.approx(1.0)
    assert capacity.worker_load(PEOPLE, date(2024, 1, 1), date(2024, 1, 2)).is_empty()


def test_observed_rates_from_the_records():
    rows = []
    for i in range(40):  # 40 referrals two days apart; 30 assessed (75%), 24 of them to the course (80%)
        assessed = i < 30
        rows.append(ref(i, referred=-i * 2, assessed=(-i * 2 + 3) if assessed else None,
                        result="completed" if assessed else "no_contact",
                        allocation=("group_course" if i < 24 else "one_to_one") if assessed else None,
                        worker=f"W{i % 3}" if assessed else None))
    frame = refs(*rows, ref(99, referred=31))  # and one on Thursday 2 October, too young to count
    sessions = pl.DataFrame({"starts_at": [MONDAY + timedelta(days=28 - 7 * k) for k in range(10)],
                             "seats": [10] * 10, "booked": [10] * 10, "attended": [9] * 10},
                            schema_overrides={"starts_at": UTC_DT})
    # as of Sunday 5 October: every referral is at least 28 days old (its follow-up is over)
    rates = service_rates.observed_rates(frame, sessions, date(2025, 10, 5))
    assert rates.window == (date(2025, 7, 7), date(2025, 10, 5))  # the 13 complete weeks to the as-of date
    assert rates.engagement_pct == pytest.approx(75.0)
    assert rates.course_pct == pytest.approx(80.0)
    assert rates.no_show_pct == pytest.approx(10.0)
    assert rates.seats_per_session == 10 and rates.sessions_per_week == pytest.approx(round(10 / 13, 1))
    assert rates.assessment_workers == 3
    assert "engagement_pct" in rates.from_data
    assert rates.sources["engagement_pct"].kind == "measured"
    assert "30 of the 40 people referred" in rates.sources["engagement_pct"].detail
    assert rates.sources["base_days_to_course"].kind == "default"  # nobody reached a course
    # as of 7 September, the last 11 referrals (a week to three weeks old) are too young to say
    # whether they will take the assessment: only the 29 older ones count (19 of them assessed)
    young = service_rates.observed_rates(frame, sessions, date(2025, 9, 7))
    assert young.engagement_pct == pytest.approx(100 * 19 / 29)
    # without the October referral nothing was recorded after 4 September: by 5 October that is
    # a gap in the records, so the rates come from the complete weeks before it
    gap = service_rates.observed_rates(frame.filter(pl.col("referral_id") != 99), sessions, date(2025, 10, 5))
    assert gap.gap.last_before == date(2025, 9, 4) and gap.gap.first_after is None
    assert gap.window == (date(2025, 6, 2), date(2025, 8, 31))
    assert "before the gap" in gap.sources["assessment_workers"].detail


def test_rates_fall_back_to_the_programme_figures_with_no_data():
    rates = service_rates.observed_rates(PEOPLE.head(0), pl.DataFrame(schema={"starts_at": UTC_DT, "seats": pl.Int64,
                                                                       "booked": pl.Int64, "attended": pl.Int64}), None)
    assert rates.engagement_pct == 65.0 and rates.from_data == ()
    assert rates.sources["engagement_pct"].kind == "default" and "65%" in rates.sources["engagement_pct"].detail


def test_demand_conversion_multiplies_through():
    plan = assumptions.Plan(engagement_pct=50, course_pct=80, no_show_pct=25, seats_per_session=12,
                         assessments_per_worker_day=5, working_hours_per_day=7.5, facilitator_hours_per_session=3)
    forecast = pl.DataFrame({"week": [date(2025, 10, 6)], "mean": [100.0], "lo_80": [80.0], "hi_80": [120.0],
                             "hi_95": [140.0]})
    work = demand.demand_from_forecast(forecast, plan).row(0, named=True)
    assert work["assessments"] == pytest.approx(50)
    assert work["course_seats"] == pytest.approx(30)  # 50 x 80% x 75% attend
    assert work["sessions"] == pytest.approx(2.5)
    assert work["assessment_worker_days"] == pytest.approx(10)  # 50 / 5 a worker-day
    assert work["staff_hours"] == pytest.approx(50 * 1.5 + 2.5 * 3)
    assert work["sessions_hi_80"] == pytest.approx(3.0) and work["assessments_lo_80"] == pytest.approx(40)


# --- the queue model: known answers -------------------------------------------------------------------
def test_capacity_above_demand_leaves_no_backlog():
    served, backlog, clear = queue.run_queue([10, 12, 8, 11], 12)
    assert backlog.tolist() == [0, 0, 0, 0] and served.tolist() == [10, 12, 8, 11] and clear.tolist() == [0] * 4


def test_demand_above_capacity_grows_the_backlog_by_the_difference_each_week():
    served, backlog, clear = queue.run_queue([15] * 6, 10)
    assert backlog.tolist() == [5, 10, 15, 20, 25, 30]
    assert served.tolist() == [10] * 6
    assert clear.tolist() == pytest.approx([0.5, 1, 1.5, 2, 2.5, 3])  # weeks to clear at 10 a week


def test_a_step_change_in_capacity_drains_the_backlog_at_the_expected_rate():
    capacity_per_week = [20] * 4 + [30] * 14  # from week 5: ten more than the 20 arriving each week
    _, backlog, _ = queue.run_queue([20] * 18, capacity_per_week, start=100)
    assert backlog[:4].tolist() == [100] * 4
    assert backlog[4:14].tolist() == [90, 80, 70, 60, 50, 40, 30, 20, 10, 0]
    assert backlog[14:].tolist() == [0] * 4


def test_no_capacity_while_people_queue_is_an_infinite_wait_and_bad_inputs_are_clipped():
    _, backlog, clear = queue.run_queue([5, -3, 0], [0, 0, 0])
    assert backlog.tolist() == [5, 5, 5] and np.isinf(clear).all()
    _, none_waiting, clear = queue.run_queue([0, 0], [0, 0])
    assert none_waiting.tolist() == [0, 0] and clear.tolist() == [0, 0]


def flat_forecast(referrals: float, weeks: int = 26) -> pl.DataFrame:
    return pl.DataFrame({"week": [date(2025, 10, 6) + timedelta(weeks=i) for i in range(weeks)],
                         "weeks_ahead": list(range(1, weeks + 1)), "mean": [referrals] * weeks,
                         "hi_80": [referrals * 1.2] * weeks, "hi_95": [referrals * 1.4] * weeks})


# 100 referrals a week, half take the assessment (50), all go to the course, nobody misses it:
# 2 workers at 5 a day assess exactly 50 a week; 5 sessions of 10 seats take exactly 50.
BALANCED = assumptions.Plan(weeks=12, engagement_pct=50, course_pct=100, no_show_pct=0, seats_per_session=10,
                      sessions_per_week=5, assessment_workers=2, assessments_per_worker_day=5,
                      base_days_to_assessment=2, base_days_to_course=7)


def test_projection_with_capacity_matching_demand_waits_only_the_usual_time():
    projection = queue.project(flat_forecast(100), BALANCED)
    assert projection.height == 12
    assert projection["assessment_queue"].max() == 0 and projection["course_queue"].max() == 0
    assert projection["wait_to_assessment"].to_list() == [2.0] * 12
    assert projection["wait_to_course"].to_list() == [7.0] * 12
    assert projection["sessions_for_demand"].to_list() == pytest.approx([5.0] * 12)
    assert projection["staff_hours"][0] == pytest.approx(50 * 7.5 / 5 + 5 * 3.5)


def test_a_demand_rise_from_a_week_grows_the_backlog_and_the_wait():
    plan = replace(BALANCED, demand_change_pct=20, change_from_week=3)  # 60 to assess from week 3, capacity 50
    projection = queue.project(flat_forecast(100), plan)
    assert projection["assessment_queue"].to_list()[:5] == pytest.approx([0, 0, 10, 20, 30])
    assert projection["wait_to_assessment"][3] == pytest.approx(2 + 5 * 20 / 50)  # working days
    assert projection["course_queue"].max() == 0  # assessments are the bottleneck: the course sees 50 a week
    result = queue.outlook(flat_forecast(100), plan, target_assessment=10, target_course=28)
    # wait = 2 + 5 x backlog / 50 working days, with the backlog 10 x (week - 2): over 10 from week 11
    assert result.first_week_over_assessment_target == 11
    assert result.workers_needed == pytest.approx(2.5)  # 62.5 a week >= 60
    assert result.sessions_needed == pytest.approx(6.0)  # 60 people a week once assessments keep up


def test_workers_and_sessions_needed_have_known_answers():
    baseline = flat_forecast(100)
    assert queue.workers_needed(baseline, BALANCED, target_working_days=10) == pytest.approx(2.0)
    assert queue.sessions_needed(baseline, BALANCED, target_days=28) == pytest.approx(5.0)
    # 4 sessions would hold the wait within 28 days for these 12 weeks, but the backlog would still
    # be growing (40 places for 50 people): not enough
    assert queue.sessions_needed(baseline, replace(BALANCED, weeks=12), target_days=28) == pytest.approx(5.0)
    # 300 already waiting: in week 1, 350 people, and 7 + 7 x (350 - c) / c <= 28 needs c >= 87.5
    backlog = replace(BALANCED, start_course_queue=300)
    assert queue.sessions_needed(baseline, backlog, target_days=28) == pytest.approx(9.0)
    # the usual wait alone is over the target: nothing reaches it
    assert queue.workers_needed(baseline, replace(BALANCED, base_days_to_assessment=12), 10) is None


def test_no_sessions_means_no_capacity_not_an_error():
    plan = replace(BALANCED, sessions_per_week=0)
    projection = queue.project(flat_forecast(100), plan)
    assert projection["wait_to_course"].null_count() == 12
    result = queue.outlook(flat_forecast(100), plan, 10, 28)
    assert result.longest_wait_to_course is None and result.first_week_over_course_target == 1
    table = queue.compare({"none": (plan, result)})
    assert table.filter(pl.col("measure") == queue.OUTLOOK_LABELS["longest_wait_to_course"])["none"][0] == "no capacity"


def test_demand_level_uses_the_top_of_the_interval():
    busy = queue.project(flat_forecast(100), replace(BALANCED, demand_level="hi_80"))
    assert busy["referrals"][0] == pytest.approx(120)
    assert busy["assessment_queue"][0] == pytest.approx(10)


def test_plan_from_rates_takes_the_backlog_beyond_the_usual_wait():
    rates = service_rates.observed_rates(PEOPLE.head(0), pl.DataFrame(schema={"starts_at": UTC_DT, "seats": pl.Int64,
                                                                       "booked": pl.Int64, "attended": pl.Int64}), None)
    rates = replace(rates, assessment_backlog=40, engagement_pct=50.0, course_backlog=7, seats_per_session=15)
    plan = assumptions.plan_from_rates(rates)
    assert plan.start_assessment_queue == 20 and plan.start_course_queue == 7 and plan.seats_per_session == 15


def test_target_warnings_say_breached_projected_or_met():
    summary = capacity.wait_summary(PEOPLE, date(2025, 9, 1), date(2025, 10, 31), 10, 60)
    baseline = flat_forecast(100)
    plan = replace(BALANCED, demand_change_pct=20, change_from_week=3)
    result = queue.outlook(baseline, plan, 10, 60)
    warnings = {w.measure: w for w in queue.target_warnings(summary, result, baseline, 4, 10, 60)}
    assert warnings["to_assessment"].level == "breached" and "Of the 6 people assessed" in warnings["to_assessment"].message
    assert "5 (83.3%)" in warnings["to_assessment"].message
    assert warnings["to_course"].level == "met"
    calm = capacity.wait_summary(PEOPLE, date(2025, 9, 1), date(2025, 10, 31), 20, 60)
    projected = {w.measure: w for w in queue.target_warnings(calm, result, baseline, 4, 10, 60)}
    assert projected["to_assessment"].level == "projected" and "week 11" in projected["to_assessment"].message


# --- the launch planner -------------------------------------------------------------------------------
def test_offence_counts_are_checked_row_by_row():
    counts, problems = launch.check_offence_counts([
        {"month": "2024-01", "offences": "130"}, {"month": "Feb 2024", "offences": 120},
        {"month": "", "offences": None}, {"month": "2024-13", "offences": 5}, {"month": "2024-03", "offences": -1},
        {"month": "2024-01", "offences": 4}, {"month": "2024-04", "offences": 2.5},
    ])
    assert [(p.field, p.row) for p in problems] == [("month", 4), ("offences", 5), ("month", 6), ("offences", 7)]
    assert counts["offences"].to_list() == [130, 120]
    nothing, problems = launch.check_offence_counts([{"month": None, "offences": None}])
    assert nothing.is_empty() and problems == []


def test_offence_counts_read_from_csv():
    counts, problems = launch.read_offence_counts("\ufeffMonth,Offences,Note\n2024-01,130,x\n2024-02,120,\n".encode())
    assert problems == [] and counts["month"].to_list() == [date(2024, 1, 1), date(2024, 2, 1)]
    _, missing = launch.read_offence_counts(b"when,how many\n2024-01,3\n")
    assert "needs a 'month' column" in missing[0].reason
    _, binary = launch.read_offence_counts(b"\xff\xfe\x00bad")
    assert binary[0].field == "file"
    template, problems = launch.read_offence_counts(launch.template_csv())
    assert template.is_empty() and problems == []  # a blank template: nothing to plan from yet


def test_expected_referrals_include_the_uplift_and_plan_for_a_busy_week():
    counts = pl.DataFrame({"month": [date(2024, m, 1) for m in range(1, 13)], "offences": [130] * 12})
    plan = assumptions.Plan(weeks=8, engagement_pct=50, course_pct=80, no_show_pct=25, seats_per_session=12,
                         assessments_per_worker_day=4)
    inputs = launch.LaunchInputs(uplift_pct=30, referral_pct=100, plan=plan)
    weekly = launch.expected_referrals(counts, inputs, date(2026, 1, 7))
    assert weekly["week"][0] == date(2026, 1, 5) and weekly.height == 8
    assert weekly["mean"].to_list() == pytest.approx([130 * 12 / 52 * 1.3] * 8)  # 39 a week
    assert (weekly["lo_95"] <= weekly["lo_80"]).all() and (weekly["hi_80"] <= weekly["hi_95"]).all()
    assert weekly["busy_week"][0] == 47 == weekly["hi_80"][0]  # Poisson 90th percentile of 39
    needed = {r["measure"]: r for r in launch.capacity_needed(weekly, inputs, 10, 28).iter_rows(named=True)}
    assert needed["Assessments a week"]["average_week"] == pytest.approx(19.5)
    assert needed["Assessment worker-days a week"]["average_week"] == pytest.approx(19.5 / 4)
    # one worker assesses 20 a week: enough for 19.5, not for a busy 23.5 (half a worker more)
    assert needed[launch.WORKERS_NEEDED]["average_week"] == 1.0
    assert needed[launch.WORKERS_NEEDED]["busy_week"] == 1.5
    assert needed["Course seats a week"]["average_week"] == pytest.approx(11.7)
    # a session books 12 / 0.75 = 16 people: enough for 15.6 a week, not for a busy 18.8
    assert needed[launch.SESSIONS_NEEDED]["average_week"] == 1.0
    assert needed[launch.SESSIONS_NEEDED]["busy_week"] == 1.5
    head = launch.baseline_from_offences(counts, inputs)
    assert head["offences_after_uplift"] == pytest.approx(169)
    assert launch.sized_from_old_figures(counts, inputs, 10, 28) == (1.0, 1.0)  # 30 a week: 15 to assess


def test_the_time_of_year_needs_two_years_of_counts():
    one_year = pl.DataFrame({"month": [date(2024, m, 1) for m in range(1, 13)], "offences": [100 + m for m in range(12)]})
    assert set(launch.monthly_shape(one_year).values()) == {1.0}
    two_years = pl.concat([one_year, one_year.with_columns(pl.col("month").dt.offset_by("1y"))])
    shape = launch.monthly_shape(two_years)
    assert shape[12] > 1 > shape[1] and sum(shape.values()) == pytest.approx(12)


# --- on the demo data ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_frames(tmp_path_factory):
    url, _ = demo_url(tmp_path_factory.mktemp("capacity-demo"), **SMALL_DEMO)
    engine = get_engine(url)
    yield load_frames(engine)
    engine.dispose()


def test_capacity_table_on_the_demo(demo_frames):
    table = capacity.capacity_table(demo_frames, Filters(as_of=DEMO_AS_OF))
    past = table.filter(~pl.col("scheduled"))
    assert table["referrals"].sum() == demo_frames.referrals.height
    assert table.filter(pl.col("scheduled"))["seats"].sum() > 0  # the calendar runs on past the data
    assert 0 < past["seat_use"].drop_nulls().mean() <= 1
    assert {"working_days_to_assessment_p90", "days_to_course_median"} <= set(table.columns)
    narrowed = capacity.capacity_table(demo_frames, Filters(area="E08000029", start=date(2024, 1, 1), as_of=DEMO_AS_OF))
    assert narrowed["referrals"].sum() < past["referrals"].sum() and narrowed["week"].min() >= date(2024, 1, 1)


def test_course_seats_by_month_on_the_demo_are_blank_not_zero_after_the_calendar_ends(demo_frames):
    filters = Filters(as_of=DEMO_AS_OF)
    snap = demo_frames.at(DEMO_AS_OF)
    result = forecast.referrals_forecast(demo_frames, filters, with_backtest=False)
    plan = assumptions.plan_from_rates(service_rates.rates_for(demo_frames, filters))
    seats = by_period.seats_by_period(snap.sessions, result, plan, DEMO_AS_OF, periods.MONTH, 3)
    table = seats.periods_only
    assert table["label"].to_list() == ["Jun 2025", "Jul 2025", "Aug 2025", "Sep 2025", "Oct 2025", "Nov 2025",
                                        "Dec 2025"]
    ends = by_period.calendar_ends(snap.sessions)
    assert ends is not None and DEMO_AS_OF < ends < date(2025, 12, 1)  # the demo's calendar stops in the horizon
    after = table.filter(pl.col("period") > ends)
    assert after.height and set(after["schedule"]) == {periods.NOT_YET}
    assert after["seats"].null_count() == after.height and after["booked"].null_count() == after.height
    held = table.filter(pl.col("period_end") <= DEMO_AS_OF)
    assert set(held["schedule"]) == {periods.HELD} and held["attended"].null_count() == 0
    assert held["seats"].sum() == snap.sessions.filter(pl.col("starts_at").dt.date() >= date(2025, 6, 1))[
        "seats"].sum() - table.filter(pl.col("period") > DEMO_AS_OF)["seats"].fill_null(0).sum()
    total = seats.total
    assert total["schedule"] == periods.SO_FAR and total["seats"] == table.filter(pl.col("period") > DEMO_AS_OF)[
        "seats"].fill_null(0).sum()
    assert total["seats_needed"] == pytest.approx(table["seats_needed"].fill_null(0).sum())
    assert "Sessions are on the calendar up to" in seats.note


def test_rates_from_the_demo_match_its_parameters(demo_frames):
    rates = service_rates.rates_for(demo_frames, Filters(as_of=DEMO_AS_OF))
    assert 55 <= rates.engagement_pct <= 75  # the programme's 65%
    assert rates.seats_per_session == 12
    assert rates.referral_pct is not None and 60 <= rates.referral_pct <= 100
    plan = assumptions.plan_from_rates(rates)
    assert plan.assessment_workers >= 1 and plan.sessions_per_week > 0


def test_divert_metrics_prints_the_capacity_and_forecast_tables(tmp_path, monkeypatch, clock):
    """The `divert metrics capacity|forecast` contract, with the two tables registered, as of
    today (clock.TODAY) on a demo whose records end yesterday."""
    from divert.analytics import metrics
    from divert.analytics.planning import forecast

    monkeypatch.setitem(metrics.METRICS, "capacity", capacity.capacity_table)
    monkeypatch.setitem(metrics.METRICS, "forecast", forecast.forecast_table)
    url, _ = demo_url(tmp_path, **{**SMALL_DEMO, "as_of": YESTERDAY})
    done = divert("--db", url, "metrics", "capacity", "--from", "2025-01-01", "--as-of", TODAY.isoformat())
    assert done.returncode == 0, done.stderr
    table = pl.read_csv(done.stdout.encode())
    assert {"week", "provisional", "sessions", "seats", "seat_use", "seats_filled", "waiting_list"} <= set(table.columns)
    assert str(table["week"].min()) >= "2024-12-30"
    this_week = str(TODAY - timedelta(days=TODAY.weekday()))
    assert table.filter(pl.col("provisional"))["week"].cast(pl.String).min() == this_week  # today is not over
    done = divert("--db", url, "metrics", "forecast", "--format", "json", "--as-of", TODAY.isoformat())
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    # for each model: this week (provisional, with the referrals so far) and the 26 weeks after it
    assert len(rows) == 3 * (forecast.HORIZON + 1)
    assert {"lo_80", "hi_95", "sessions", "staff_hours", "provisional", "recorded"} <= set(rows[0])
    assert {r["week"] for r in rows if r["provisional"]} == {this_week}
    # in managers' units: by calendar month over the months after the as-of date, the total last
    done = divert("--db", url, "metrics", "forecast", "--by", "month", "--format", "json", "--as-of", TODAY.isoformat())
    assert done.returncode == 0, done.stderr
    months = json.loads(done.stdout)
    assert "the three calendar months after the as-of date" in done.stderr
    assert months[-1]["label"].startswith("Total, ") and months[-1]["period"] is None
    assert months[-1]["referrals"] == pytest.approx(sum(r["referrals"] for r in months if r["in_total"]))
