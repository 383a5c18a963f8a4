"""The impact evaluation: known answers on hand-built series, interval coverage by simulation,
the controlled version against comparator forces, the verdict, and the demo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from dbfixtures import FULL_DEMO, demo_url

from divert.analytics.calendar.months import add_months, month_end, month_grid, month_start
from divert.analytics.impact import control, model, verdict
from divert.analytics.stats.its import residual_correlation

LAUNCH = date(2020, 10, 1)


def offences_frame(counts: dict[str, list[tuple[date, int, int]]]) -> pl.DataFrame:
    """{group: [(month, offences, formal)]} -> one row per offence: the first `formal` of each
    month charged (outcome 1), the rest given a Community Resolution (8)."""
    parts = []
    for group, rows in counts.items():
        for month, offences, formal in rows:
            if offences == 0:
                continue
            days = np.array([month + timedelta(days=int(j % 28)) for j in range(offences)], dtype="datetime64[D]")
            parts.append(pl.DataFrame({
                "offence_date": days, "outcome": np.where(np.arange(offences) < formal, 1, 8),
                "ethnic_group": group,
            }))
    return pl.concat(parts).with_columns(pl.col("offence_date").cast(pl.Date), pl.col("outcome").cast(pl.Int64),
                                         pl.col("offence_date").alias("outcome_date"))


def expected_share(k: int, *, base=0.4, trend=-0.01, level=0.5, slope=0.005, launch_index=33) -> float:
    t = k - launch_index
    post = t >= 0
    return base * np.exp(trend * t + (np.log(level) + slope * t) * post)


MONTHS = month_grid(date(2018, 1, 1), date(2023, 12, 1))  # 33 months before the launch, 39 after


# --- known answers ----------------------------------------------------------------------------------
def test_monthly_formal_counts_only_outcomes_known_by_the_as_of_date():
    frame = pl.DataFrame({
        "offence_date": [date(2021, 1, 5), date(2021, 1, 9), date(2021, 1, 20), date(2021, 2, 3), date(2021, 4, 2)],
        "outcome": [1, 3, 1, 8, 1],
        "outcome_date": [date(2021, 1, 5), date(2021, 2, 1), date(2021, 5, 1), date(2021, 2, 3), date(2021, 4, 2)],
    })
    got = model.monthly_formal(frame, as_of=date(2021, 4, 1))
    assert got["month"].to_list() == [date(2021, 1, 1), date(2021, 2, 1), date(2021, 3, 1), date(2021, 4, 1)]
    assert got["offences"].to_list() == [3, 1, 0, 0]  # the offence of 2 April is after as_of
    assert got["formal"].to_list() == [2, 0, 0, 0]  # the charge recorded in May is not known yet
    # 60 days after 31 January is 1 April: January is settled; February (to 29 April) is not
    assert got["provisional"].to_list() == [False, True, True, True]


def test_a_noiseless_series_gives_back_its_level_slope_and_trend():
    rows = [(m, 5000, round(5000 * expected_share(k))) for k, m in enumerate(MONTHS)]
    offences = offences_frame({"White": rows})
    result = model.interrupted_time_series(offences, launch=LAUNCH, as_of=date(2024, 3, 31))
    level = result.estimate("level_change")
    assert level["estimate"] == pytest.approx(0.5, rel=0.01)
    assert level["ci_low"] < 0.5 < level["ci_high"] and level["ci_high"] < 0.6
    assert result.estimate("slope_change_per_month")["estimate"] == pytest.approx(np.exp(0.005), rel=0.001)
    assert result.estimate("slope_change_per_year")["estimate"] == pytest.approx(np.exp(0.06), rel=0.01)
    assert result.estimate("pre_trend_per_year")["estimate"] == pytest.approx(np.exp(-0.12), rel=0.01)
    # at the last month fitted (38 months after the launch): 0.5 * exp(0.005 * 38)
    assert result.estimate("effect_at_end")["estimate"] == pytest.approx(0.5 * np.exp(0.005 * 38), rel=0.01)
    assert level["months_before"] == 33 and level["months_after"] == 39
    series = result.series.filter(pl.col("month") <= MONTHS[-1])  # the months after the data have no offences
    assert result.series.filter(pl.col("month") > MONTHS[-1])["fitted"].null_count() == 3
    assert series["fitted_rate"].to_numpy() == pytest.approx([expected_share(k) for k in range(len(MONTHS))], rel=0.01)
    counterfactual = series.filter(pl.col("month") == date(2022, 10, 1))["counterfactual_rate"][0]
    assert counterfactual == pytest.approx(0.4 * np.exp(-0.01 * 24), rel=0.01)  # the old trend carried on
    assert series.filter(pl.col("period") == "before").height == 33


def test_provisional_excluded_and_part_months_are_left_out_of_the_fit():
    rows = [(m, 800, round(800 * expected_share(k))) for k, m in enumerate(MONTHS)]
    offences = offences_frame({"White": rows})
    mid_month = date(2020, 10, 15)
    result = model.interrupted_time_series(offences.filter(pl.col("offence_date") != date(2020, 10, 14)),
                                            launch=mid_month, as_of=date(2023, 12, 31), exclude=model.PANDEMIC)
    series = result.series
    fitted = set(series.filter("in_fit")["month"].to_list())
    assert date(2020, 10, 1) not in fitted  # the launch month is part before, part after
    assert not any(date(2020, 3, 1) <= m <= date(2021, 6, 1) for m in fitted)
    assert series.filter("excluded")["month"].to_list() == month_grid(date(2020, 3, 1), date(2021, 6, 1))
    assert series.filter("provisional")["month"].to_list() == [date(2023, 11, 1), date(2023, 12, 1)]
    assert result.estimate("level_change")["estimate"] == pytest.approx(0.5, rel=0.05)


def test_too_few_months_or_bad_input_give_a_note_or_a_clear_error():
    rows = [(m, 100, 30) for m in month_grid(date(2020, 6, 1), date(2021, 6, 1))]
    result = model.interrupted_time_series(offences_frame({"White": rows}), launch=LAUNCH, as_of=date(2021, 12, 31))
    level = result.estimate("level_change")
    assert level["estimate"] is None and "too few months" in level["note"]
    assert "No estimate" in verdict.verdict(result)
    with pytest.raises(ValueError, match="before the launch"):
        model.interrupted_time_series(offences_frame({"White": rows}), launch=LAUNCH, as_of=date(2019, 1, 1))
    with pytest.raises(ValueError, match="outcome_date"):
        model.interrupted_time_series(offences_frame({"White": rows}).drop("outcome_date"), launch=LAUNCH,
                                       as_of=date(2021, 12, 31))


def test_residual_correlation_recovers_an_ar1_and_finds_none_in_noise():
    rng = np.random.default_rng(5)
    e = np.zeros(4000)
    for i in range(1, len(e)):
        e[i] = 0.6 * e[i - 1] + rng.normal()
    c, phi = residual_correlation(e, np.arange(len(e)), np.zeros(len(e)))
    assert c == pytest.approx(1.0, abs=0.1) and phi == pytest.approx(0.6, abs=0.05)
    c, _ = residual_correlation(rng.normal(size=4000), np.arange(4000), np.zeros(4000))
    assert c < 0.1


def test_the_gap_against_white_before_and_after():
    white, black, asian = [], [], []
    for k, m in enumerate(MONTHS):
        p = expected_share(k, level=0.3)
        after = m >= LAUNCH
        white.append((m, 4000, round(4000 * p)))
        black.append((m, 2000, round(2000 * p * (2.0 if after else 1.5))))
        asian.append((m, 2000, round(2000 * p * 1.2)))
    offences = offences_frame({"White": white, "Black": black, "Asian": asian})
    gap = model.gap_against_white(offences, launch=LAUNCH, as_of=date(2024, 3, 31), groups=("Black", "Asian", "Other"))
    rows = {r["group"]: r for r in gap.iter_rows(named=True)}
    assert rows["Black"]["gap_before"] == pytest.approx(1.5, rel=0.01)
    assert rows["Black"]["gap_after"] == pytest.approx(2.0, rel=0.01)
    assert rows["Black"]["ratio_of_rate_ratios"] == pytest.approx(2.0 / 1.5, rel=0.01)
    assert rows["Black"]["rrr_low"] > 1 and rows["Black"]["p_value"] < 0.001
    assert rows["Asian"]["ratio_of_rate_ratios"] == pytest.approx(1.0, abs=0.02)
    assert rows["Asian"]["rrr_low"] < 1 < rows["Asian"]["rrr_high"]
    assert rows["Black"]["offences_before"] == 33 * 2000 and rows["Black"]["formal_after"] == sum(f for m, _, f in black if m >= LAUNCH)
    assert rows["Other"]["gap_before"] is None and "no formal outcomes" in rows["Other"]["note"]


def test_impact_by_group_has_every_group():
    rows = [(m, 600, round(600 * expected_share(k))) for k, m in enumerate(MONTHS)]
    few = [(m, 20, int(k % 4 == 0)) for k, m in enumerate(MONTHS)]  # about one formal outcome in four months
    offences = offences_frame({"White": rows, "Black": rows, "Other": few})
    table = model.impact_by_group(offences, launch=LAUNCH, as_of=date(2024, 3, 31), groups=("White", "Black", "Other"))
    levels = table.filter(pl.col("term") == "level_change")
    assert levels["group"].to_list() == ["All", "White", "Black", "Other"]
    assert levels["estimate"].to_numpy()[1:3] == pytest.approx([0.5, 0.5], rel=0.02)
    assert levels["note"][1] is None and "few events (9 before, 9 after)" in levels["note"][3]


# --- coverage by simulation -------------------------------------------------------------------------
def simulated_months(rng, level: float, months: int = 93, launch_index: int = 33, per_month: float = 200.0):
    """A demo-like series: offences up 30% at the launch, seasonal; formal outcomes binomial
    around a share with a trend, a level and slope change, and AR(1) month-to-month noise."""
    t = np.arange(months) - launch_index
    season = 0.1 * np.sin(2 * np.pi * np.arange(months) / 12)
    offences = rng.poisson(per_month * np.exp(season) * np.where(t >= 0, 1.3, 1.0))
    noise = np.zeros(months)
    shocks = rng.normal(0, 0.05, months)
    for i in range(months):
        noise[i] = (0.5 * noise[i - 1] if i else 0.0) + shocks[i]
    log_share = np.log(0.4) - 0.002 * t + (np.log(level) - 0.004 * t) * (t >= 0) + 0.5 * season + noise
    formal = rng.binomial(offences, np.clip(np.exp(log_share), 0, 1))
    month = [add_months(date(2018, 1, 1), k) for k in range(months)]
    return pl.DataFrame({"month": month, "events": formal, "exposure": offences, "provisional": False},
                        schema={"month": pl.Date, "events": pl.Int64, "exposure": pl.Int64, "provisional": pl.Boolean})


def test_the_95_percent_interval_covers_the_true_level_change_in_at_least_90_percent_of_runs():
    rng = np.random.default_rng(19)
    true_level = 0.3
    covered = []
    for _ in range(200):
        _, _, estimates = model.fit_series(simulated_months(rng, true_level), launch=LAUNCH)
        level = estimates.filter(pl.col("term") == "level_change").row(0, named=True)
        covered.append(level["ci_low"] <= true_level <= level["ci_high"])
    assert np.mean(covered) >= 0.90, np.mean(covered)


# --- comparator forces ------------------------------------------------------------------------------
def stop_search_frame(effects: dict[str, float], months: list[date], searches: int = 400) -> pl.DataFrame:
    """Drug searches per force and month with a formal-outcome share that shares a national
    trend and a spring-2020 dip, times the force's effect from the launch; plus rows that must
    not count (vehicle-only, other objects, no outcome)."""
    parts = []
    for force, effect in effects.items():
        for k, m in enumerate(months):
            share = 0.3 * np.exp(-0.004 * k) * (0.8 if date(2020, 4, 1) <= m <= date(2020, 6, 1) else 1.0)
            share *= effect if m >= LAUNCH else 1.0
            formal = round(searches * share)
            outcomes = ["Arrest"] * (formal // 2) + ["Summons / charged by post"] * (formal - formal // 2)
            outcomes += ["A no further action disposal"] * (searches - formal)
            extra = [("Vehicle search", "Controlled drugs", "Arrest"), ("Person search", "Offensive weapons", "Arrest"),
                     ("Person search", "Controlled drugs", None)]
            types = ["Person search"] * searches + [e[0] for e in extra]
            objects = ["Controlled drugs"] * searches + [e[1] for e in extra]
            parts.append(pl.DataFrame({
                "force": force, "searched_at": datetime(m.year, m.month, 10, 14, tzinfo=UTC),
                "search_type": types, "object_of_search": objects, "outcome": outcomes + [e[2] for e in extra],
            }))
    return pl.concat(parts)


def test_drug_search_counts_leave_out_vehicle_only_other_objects_and_blank_outcomes():
    frame = stop_search_frame({"west-midlands": 1.0}, [date(2021, 1, 1)], searches=50)
    got = control.monthly_drug_searches(frame, as_of=date(2021, 1, 31), forces=("west-midlands",))
    assert got.row(0, named=True) == {"force": "west-midlands", "month": date(2021, 1, 1), "searches": 50,
                                      "formal": round(50 * 0.3), "provisional": False}


def test_the_controlled_estimate_takes_out_what_the_comparators_share():
    months = month_grid(date(2018, 1, 1), date(2024, 6, 1))
    frame = stop_search_frame({"west-midlands": 0.6, "derbyshire": 1.0, "durham": 1.0}, months)
    result = control.controlled_impact(frame, force="west-midlands", comparators=("derbyshire", "durham"),
                                              launch=LAUNCH, as_of=date(2024, 6, 30))
    diff = result.difference("level_change")
    assert diff["estimate"] == pytest.approx(0.6, rel=0.03)
    assert diff["ci_low"] < 0.6 < diff["ci_high"] and diff["ci_high"] < 1
    levels = result.estimates.filter(pl.col("term") == "level_change")
    own = dict(zip(levels["series"], levels["estimate"], strict=True))
    # the spring-2020 dip biases each force's own estimate alike; the difference takes it out
    assert own["comparators"] != pytest.approx(1.0, abs=0.03) and own["comparators"] == pytest.approx(1.0, abs=0.1)
    assert own["programme"] == pytest.approx(0.6 * own["comparators"], rel=0.03)
    assert levels.filter(pl.col("series") == "comparators")["forces"][0] == "derbyshire, durham"
    assert set(result.series["force"]) == {"west-midlands", "derbyshire", "durham"}
    # a national fall at the launch with no programme effect: the difference is no change
    national = stop_search_frame({"west-midlands": 0.7, "derbyshire": 0.7}, months)
    same = control.controlled_impact(national, force="west-midlands", comparators=("derbyshire",),
                                            launch=LAUNCH, as_of=date(2024, 6, 30))
    level = same.difference("level_change")
    assert level["estimate"] == pytest.approx(1.0, abs=0.03) and level["ci_low"] < 1 < level["ci_high"]
    text = verdict._national_threat(same)
    assert "could be chance" in text and "derbyshire" in text
    with pytest.raises(ValueError, match="comparator"):
        control.controlled_impact(frame, force="west-midlands", comparators=("west-midlands",), launch=LAUNCH,
                                         as_of=date(2024, 6, 30))


# --- the verdict --------------------------------------------------------------------------------------
def test_the_verdict_names_every_threat_with_its_check():
    rows = [(m, 3000, round(3000 * expected_share(k, trend=-0.02))) for k, m in enumerate(MONTHS)]
    offences = offences_frame({"White": rows})
    common = {"launch": LAUNCH, "as_of": date(2024, 3, 31)}
    main = model.interrupted_time_series(offences, **common)
    sensitivity = model.interrupted_time_series(offences, exclude=model.PANDEMIC, **common)
    text = verdict.verdict(main, sensitivity=sensitivity, recording=model.recording_check(offences, **common))
    assert "0.50 times" in text and "very unlikely to be chance" in text
    assert "already falling" in text  # a 2%-a-month fall before the launch
    assert "launch fell inside it" in text and "tells the same story" in text
    assert "Changes in recording" in text and "National trend".lower() in text.lower()
    bare = verdict.verdict(main)
    assert "No run leaving those months out" in bare and "Not checked here" in bare
    assert "### Impact" in model.methods_markdown()


# --- the demo -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from divert.analytics.data.loading import load_frames
    from divert.storage.db import get_engine

    url, _ = demo_url(tmp_path_factory.mktemp("impact-demo"), **FULL_DEMO)
    engine = get_engine(url)
    yield load_frames(engine)
    engine.dispose()


def test_on_the_demo_formal_outcomes_fall_at_the_launch_beyond_chance(demo):
    from divert.demo import parameters

    last = demo.offences["offence_date"].max()
    as_of = last if last == month_end(last) else month_start(last) - timedelta(days=1)
    common = {"launch": parameters.LAUNCH, "as_of": as_of}
    main = model.interrupted_time_series(demo.offences, **common)
    level = main.estimate("level_change")
    assert level["estimate"] < 1 and level["ci_high"] < 1, level
    sensitivity = model.interrupted_time_series(demo.offences, exclude=model.PANDEMIC, **common)
    assert sensitivity.estimate("level_change")["ci_high"] < 1
    gap = model.gap_against_white(demo.offences, **common)
    assert set(gap["group"]) == {"Mixed", "Asian", "Black", "Other"}
    assert gap.filter(pl.col("group") == "Black")["gap_before"][0] > 1
    text = verdict.verdict(main, sensitivity=sensitivity, recording=model.recording_check(demo.offences, **common))
    assert "very unlikely to be chance" in text and "pandemic" in text.lower()


def test_a_group_the_model_cannot_estimate_gets_a_note_not_an_error():
    """Groups with a handful of formal outcomes over nine years (a small demo's counts, kept in
    tests/fixtures) drive the gap model's interval past any real number: such a group gets no
    ratio and says why, and the other groups keep theirs."""
    monthly = pl.read_csv(Path(__file__).parent / "fixtures" / "impact-separated-groups.csv", try_parse_dates=True)
    counts = {}
    for row in monthly.iter_rows(named=True):
        counts.setdefault(row["group"], []).append((row["month"], row["offences"], row["formal"]))
    gap = model.gap_against_white(offences_frame(counts), launch=date(2020, 10, 1), as_of=date(2026, 11, 30),
                                  groups=("Mixed", "Black", "Other"))
    rows = {r["group"]: r for r in gap.iter_rows(named=True)}
    assert rows["Other"]["gap_after"] is None and "too few formal outcomes" in rows["Other"]["note"]
    assert all(0 < rows[g]["gap_after_low"] <= rows[g]["gap_after"] <= rows[g]["gap_after_high"] for g in ("Mixed", "Black"))
