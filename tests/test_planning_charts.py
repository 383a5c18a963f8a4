"""The planning pages' chart builders (divert.charts.planning) on small hand-built frames: each
gives a specification that follows the chart standard (divert.charts.standard.problems) and
carries the marks and encodings the pages show."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from divert.analytics.planning import demand
from divert.charts import build, planning, standard

WEEKS = [date(2025, 9, 1) + timedelta(weeks=i) for i in range(6)]


def units(spec: dict, data: dict | None = None) -> list[dict]:
    """Every unit view (a mark with its encoding) in a specification, layers flattened, each with
    the data it draws (its own or its layer's)."""
    data = spec.get("data") or data
    out = [{**spec, "data": data}] if "mark" in spec else []
    for child in spec.get("layer") or []:
        out += units(child, data)
    return out


def mark(view: dict) -> str:
    return view["mark"]["type"] if isinstance(view["mark"], dict) else view["mark"]


def rows(spec: dict, view: dict) -> list[dict]:
    return spec["datasets"][view["data"]["name"]]


def check(chart) -> dict:
    spec = chart.to_dict()
    assert standard.problems(spec) == []
    return spec


def weekly_capacity() -> pl.DataFrame:
    return pl.DataFrame({"week": WEEKS, "provisional": [False] * 5 + [True], "sessions": [2] * 6,
                         "seats": [24] * 6, "booked": [20, 22, 18, 24, 21, 9], "attended": [16, 18, 15, 20, 17, 0],
                         "seat_use": [0.83, 0.92, 0.75, 1.0, 0.88, 0.38],
                         "seats_filled": [0.67, 0.75, 0.63, 0.83, 0.71, 0.0]})


def projection() -> pl.DataFrame:
    n = len(WEEKS)
    return pl.DataFrame({"week": WEEKS, "weeks_ahead": list(range(1, n + 1)),
                         "wait_to_assessment": [3.0, 4.0, 5.5, None, 6.0, 7.0], "wait_to_course": [20.0 + i for i in range(n)],
                         "assessment_queue": [0.0, 2.0, 4.5, 6.0, 8.0, 9.5], "course_queue": [1.0] * n,
                         "assessment_arrivals": [30.0] * n, "assessment_capacity": [28.0] * n,
                         "course_arrivals": [12.0] * n, "course_capacity": [14.0] * n, "referrals": [40.0] * n})


def test_seats_against_demand_draws_scheduled_bars_a_band_and_the_lines():
    weekly = weekly_capacity()
    needed = pl.DataFrame({"week": [WEEKS[-1] + timedelta(weeks=1)], "course_seats": [21.0],
                           "course_seats_lo_80": [15.0], "course_seats_hi_80": [27.0]})
    frame = demand.seats_against_demand(weekly, needed)
    spec = check(planning.seats_against_demand(frame))
    views = units(spec)
    bar = next(v for v in views if mark(v) == "bar")
    assert {r["series"] for r in rows(spec, bar)} == {demand.SCHEDULED}
    assert bar["mark"]["color"] == build.GREY and bar["encoding"]["opacity"]["condition"]["test"] == "datum.provisional"
    area = next(v for v in views if mark(v) == "area")
    assert area["encoding"]["y"]["field"] == "low" and area["encoding"]["y2"]["field"] == "high"
    assert all(r["low"] is not None for r in rows(spec, area))
    lines = [v for v in views if mark(v) == "line"]
    assert lines and lines[0]["encoding"]["color"]["scale"]["domain"] == [demand.BOOKED, demand.FILLED, demand.NEEDED]


def test_seat_use_is_two_shares_in_a_declared_order():
    spec = check(planning.seat_use(weekly_capacity()))
    line = next(v for v in units(spec) if mark(v) == "line")
    assert line["encoding"]["color"]["scale"]["domain"] == list(planning.SEAT_USE.values())
    assert line["encoding"]["y"]["axis"]["format"] == standard.SHARE_FORMAT


def test_weekly_waits_has_both_statistics_and_the_target():
    part = pl.DataFrame({"week": WEEKS, "people": [5] * 6, "provisional": [False] * 5 + [True],
                         "median": [4.0, 5.0, 4.5, 6.0, 5.0, 3.0], "p90": [9.0, 10.0, 11.0, 12.0, 9.5, 8.0]})
    spec = check(planning.weekly_waits(part, unit="Working days", target=10))
    line = next(v for v in units(spec) if mark(v) == "line")
    assert line["encoding"]["color"]["scale"]["domain"] == ["90th percentile", "Median"]
    rule = next(v for v in units(spec) if mark(v) == "rule")
    assert rows(spec, rule) == [{"target": 10.0, "label": "Target: 10"}]


def test_assessments_per_worker_are_horizontal_bars_with_the_extra_tooltips():
    load = pl.DataFrame({"worker": ["A. Worker", "B. Worker"], "assessments": [30, 12], "per_worker_day": [2.5, 1.2],
                         "weeks_active": [4, 2], "share": [0.71, 0.29]})
    spec = check(planning.assessments_per_worker(load))
    bar = next(v for v in units(spec) if mark(v) == "bar")
    assert bar["encoding"]["y"]["field"] == "worker" and bar["encoding"]["y"]["sort"] == "-x"
    assert {t["field"] for t in bar["encoding"]["tooltip"]} >= {"per_worker_day", "weeks_active", "share"}


def test_projected_waits_are_solid_against_a_dashed_target_of_the_same_colour():
    waits = planning.projected_waits_frame(projection(), 10, 28)
    assert waits.height == 2 * len(WEEKS)
    assert waits.group_by("wait").agg(pl.col("target").first()).sort("wait").rows() == [
        (planning.WAITS[1], 28.0), (planning.WAITS[0], 10.0)]
    spec = check(planning.projected_waits(waits))
    solid, dashed = units(spec)
    for view in (solid, dashed):
        assert view["encoding"]["color"]["scale"] == {"domain": planning.WAITS, "range": build.PALETTE[:2]}
    assert dashed["mark"]["strokeDash"] == [4, 3] and dashed["encoding"]["y"]["field"] == "target"
    assert solid["encoding"]["x"]["axis"]["format"] == standard.DATE_FORMATS["1w"]
    assert spec["height"] == 300 + standard.legend_height(planning.WAITS)


@pytest.mark.parametrize("largest", [0.0, 9.5])
def test_the_backlog_axis_runs_from_0_to_the_largest_backlog(largest):
    queues = planning.backlog_frame(projection())
    assert set(queues["queue"].unique()) == set(planning.QUEUES.values())
    spec = check(planning.backlog(queues, largest))
    scale = spec["encoding"]["y"]["scale"]
    assert scale == {"domainMin": 0, "domainMax": max(1.0, largest)}
    assert spec["encoding"]["color"]["scale"]["domain"] == list(planning.QUEUES.values())


def test_demand_and_capacity_has_the_four_flows_in_order():
    spec = check(planning.demand_and_capacity(projection()))
    line = next(v for v in units(spec) if mark(v) == "line")
    assert line["encoding"]["color"]["scale"]["domain"] == planning.FLOW_ORDER
    assert {r["series"] for r in rows(spec, line) if r["series"]} == set(planning.FLOW_ORDER)


def test_launch_band_is_two_ranges_and_the_expected_line():
    weekly = pl.DataFrame({"week": WEEKS, "mean": [20.0 + i for i in range(6)],
                           "lo_80": [14.0] * 6, "hi_80": [27.0] * 6, "lo_95": [11.0] * 6, "hi_95": [31.0] * 6})
    spec = check(planning.launch_band(weekly))
    wide, narrow, line = units(spec)
    assert (mark(wide), mark(narrow), mark(line)) == ("area", "area", "line")
    assert wide["encoding"]["y"]["field"] == "lo_95" and narrow["encoding"]["y"]["field"] == "lo_80"
    assert {v["mark"]["color"] for v in (wide, narrow, line)} == {build.PALETTE[1]}
    assert {v["encoding"]["x"]["axis"]["format"] for v in (wide, narrow, line)} == {standard.DATE_FORMATS["1w"]}


def test_backtest_coverage_keeps_the_page_order_and_ticks_the_nominal_share():
    acc = pl.DataFrame({"model": ["combination", "ets"], "label": ["Average of the two (used for planning)",
                                                                   "Recent level and trend"],
                        "coverage_80": [0.78, 0.7], "coverage_95": [0.93, 0.9], "forecasts": [120, 120]})
    spec = check(planning.backtest_coverage(acc))
    bar, tick = units(spec)
    assert bar["encoding"]["y"]["sort"] == acc["label"].to_list()
    assert bar["encoding"]["color"]["scale"]["domain"] == ["80% interval", "95% interval"]
    assert tick["encoding"]["x"]["field"] == "nominal" and {r["nominal"] for r in rows(spec, tick)} == {0.8, 0.95}
    assert spec["height"] == 60 * 2 + 40


def test_sessions_needed_shows_the_busy_week_first():
    table = pl.DataFrame({"week": WEEKS, "sessions": [2.0, 2.5, 2.0, 3.0, 2.5, 2.0],
                          "sessions_busy_week": [3.0, 3.5, 3.0, 4.0, 3.5, 3.0]})
    spec = check(planning.sessions_needed(table))
    line = next(v for v in units(spec) if mark(v) == "line")
    assert line["encoding"]["color"]["scale"]["domain"] == ["Busy week", "Central forecast"]


# --- planning by week, month or quarter --------------------------------------------------------------------------
def test_future_bookings_are_not_drawn_as_a_fall_and_the_calendar_end_is_marked():
    weekly = weekly_capacity().with_columns((pl.col("week") > WEEKS[3]).alias("scheduled"),
                                            pl.Series("booked", [20, 22, 18, 24, 3, 0]))
    frame = demand.seats_against_demand(weekly, pl.DataFrame(schema={"week": pl.Date, "course_seats": pl.Float64,
                                                                     "course_seats_lo_80": pl.Float64,
                                                                     "course_seats_hi_80": pl.Float64}))
    booked = frame.filter(pl.col("series") == demand.BOOKED)
    assert booked["week"].max() == WEEKS[3]  # the weeks ahead's bookings so far (3, then 0) are left out
    spec = check(planning.seats_against_demand(frame, WEEKS[4]))
    rule = next(v for v in units(spec) if mark(v) == "rule" and "strokeDash" in v["mark"])
    assert rows(spec, rule)[0]["week"].startswith(str(WEEKS[4]))
    assert "last session on the calendar" in spec["description"]


def test_the_forecast_band_names_its_lines_in_a_legend_not_over_the_band():
    shown = pl.DataFrame({"week": WEEKS, "series": ["Recorded"] * 3 + ["Forecast"] * 3,
                          "referrals": [10.0, 12.0, 11.0, 11.5, 11.0, 12.0],
                          **{b: [None] * 3 + [8.0, 7.0, 6.0] if b.startswith("lo") else [None] * 3 + [15.0, 16.0, 17.0]
                             for b in ("lo_80", "hi_80", "lo_95", "hi_95")},
                          "provisional": [False, False, True, True, True, True]})
    spec = check(planning.forecast_band(shown))
    assert not [v for v in units(spec) if mark(v) == "text"]  # no label at the line's end
    legends = [v["encoding"]["color"] for v in units(spec) if "color" in v.get("encoding", {})
               and v["encoding"]["color"].get("legend") is not None]
    assert legends and legends[0]["scale"]["domain"] == ["Recorded", "Forecast"]


def test_periods_are_bars_with_their_ranges_and_partial_ones_say_so():
    from divert.analytics.planning import periods

    weekly = pl.DataFrame({"week": [date(2025, 9, 29) + timedelta(weeks=i) for i in range(14)], "mean": [70.0] * 14,
                           "lo_80": [60.0] * 14, "hi_80": [80.0] * 14, "lo_95": [50.0] * 14, "hi_95": [90.0] * 14})
    table = periods.roll_up(weekly, periods.MONTH, date(2025, 10, 2), date(2025, 12, 31)).rename(
        {"mean": "referrals", "days_covered": "days_forecast",
         **{f"{s}_{lv}": f"referrals_{s}_{lv}" for lv in (80, 95) for s in ("lo", "hi")}})
    spec = check(planning.period_forecast(table))
    bar = next(v for v in units(spec) if mark(v) == "bar")
    assert [r["period_name"] for r in rows(spec, bar)] == ["Oct 2025 (partial)", "Nov 2025", "Dec 2025"]
    assert {v["encoding"]["x"]["field"] for v in units(spec) if mark(v) == "rule"} == {"referrals_lo_80",
                                                                                       "referrals_lo_95"}
    calendar = periods.capacity_periods(
        pl.DataFrame({"starts_at": [date(2025, 10, 7)], "seats": [12], "booked": [3], "attended": [0]}).with_columns(
            pl.col("starts_at").cast(pl.Datetime)),
        weekly.select("week", pl.col("mean").alias("course_seats"), pl.col("hi_80").alias("course_seats_hi_80"),
                      pl.col("hi_95").alias("course_seats_hi_95")),
        date(2025, 9, 30), periods.MONTH, date(2025, 10, 1), date(2025, 11, 30))
    spec = check(planning.seats_by_period(calendar))
    bar = next(v for v in units(spec) if mark(v) == "bar")
    names = [r["period_name"] for r in rows(spec, bar)]
    assert names == ["Oct 2025: scheduled so far", "Nov 2025: not yet scheduled"]
