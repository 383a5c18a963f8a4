"""The equity watch: stage counts and the control chart on hand-built data with known answers,
its calibration and power by simulation, and the untouched demo."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from dbfixtures import FULL_DEMO, demo_url

from divert.analytics.calendar.months import add_months, month_end, month_start
from divert.analytics.equity import watch
from divert.analytics.stats import control_chart as cc

LAUNCH = date(2020, 10, 1)


# --- hand-built frames ------------------------------------------------------------------------------
def offence(day, outcome, group, outcome_date=None):
    return {"offence_date": day, "outcome": outcome, "outcome_date": outcome_date or day, "ethnic_group": group}


def referral(day, group, *, engaged=False, complied=False, logged=False, closed_after=20):
    closed = day + timedelta(days=closed_after)
    return {
        "referred_on": day, "ethnic_group": group,
        "assessment_result": "completed" if engaged else "no_contact",
        "assessed_at": datetime(day.year, day.month, day.day, 12) + timedelta(days=5) if engaged else None,
        "closure_result": "complied" if complied else ("not_engaged" if logged else None),
        "closed_on": closed if (complied or logged) else None,
        "intelligence_log_date": closed if logged else None,
    }


OFFENCE_SCHEMA = {"offence_date": pl.Date, "outcome": pl.Int64, "outcome_date": pl.Date, "ethnic_group": pl.String}
REFERRAL_SCHEMA = {"referred_on": pl.Date, "ethnic_group": pl.String, "assessment_result": pl.String,
                   "assessed_at": pl.Datetime("us", "UTC"), "closure_result": pl.String, "closed_on": pl.Date,
                   "intelligence_log_date": pl.Date}


def frames(offences: list[dict], referrals: list[dict]) -> tuple[pl.DataFrame, pl.DataFrame]:
    offs = pl.DataFrame(offences, schema=OFFENCE_SCHEMA) if offences else pl.DataFrame(schema=OFFENCE_SCHEMA)
    refs = pl.DataFrame(referrals, schema={**REFERRAL_SCHEMA, "assessed_at": pl.Datetime("us")})
    return offs, refs.with_columns(pl.col("assessed_at").dt.replace_time_zone("UTC"))


def test_stage_counts_follow_the_stage_definitions_and_the_as_of_date():
    nov = date(2020, 11, 10)
    offences = [
        offence(nov, 1, "Black"), offence(nov, 8, "Black"), offence(nov, 8, "Black"),
        offence(nov, 3, "White"), offence(nov, 8, "White"),
        offence(nov, 21, "White"),  # neither formal nor diversion: not in the denominator
        offence(nov, 1, "White", outcome_date=date(2021, 3, 1)),  # charged after as_of: not yet known
        offence(date(2020, 9, 30), 1, "Black"),  # before the launch
    ]
    referrals = [
        referral(nov, "Black", engaged=True, complied=True),
        referral(nov, "Black", engaged=True, logged=True),
        referral(nov, "Black", logged=True),
        referral(nov, "Black", logged=True, closed_after=200),  # logged after as_of: not yet
        referral(nov, "White", engaged=True, complied=True),
    ]
    offs, refs = frames(offences, referrals)
    counts = watch.stage_counts(offs, refs, launch=LAUNCH, as_of=date(2021, 1, 31), diversion_outcome=8)
    got = {(r["stage"], r["group"]): (r["events"], r["denominator"])
           for r in counts.filter(pl.col("month") == date(2020, 11, 1)).iter_rows(named=True)}
    assert got[("formal", "Black")] == (1, 3)
    assert got[("formal", "White")] == (1, 2)
    assert got[("engaged", "Black")] == (2, 4)
    assert got[("completed", "Black")] == (1, 2)
    assert got[("intelligence_log", "Black")] == (2, 4)
    assert got[("completed", "White")] == (1, 1)
    assert got[("formal", "Mixed")] == (0, 0)  # every group and month is there, zeros filled
    months = sorted(set(counts["month"]))
    assert months == [date(2020, 10, 1), date(2020, 11, 1), date(2020, 12, 1), date(2021, 1, 1)]
    provisional = {(r["stage"], r["month"]): r["provisional"] for r in counts.iter_rows(named=True)}
    # 31 Jan as of: December is settled for engagement (30 days' follow-up), not for formal outcomes (60)
    assert provisional[("engaged", date(2020, 12, 1))] is False
    assert provisional[("formal", date(2020, 12, 1))] is True
    assert provisional[("formal", date(2020, 11, 1))] is False
    assert provisional[("engaged", date(2021, 1, 1))] is True


def test_stage_counts_reject_bad_input():
    offs, refs = frames([], [referral(date(2021, 1, 5), "White")])
    with pytest.raises(ValueError, match="before the launch"):
        watch.stage_counts(offs, refs, launch=LAUNCH, as_of=date(2020, 1, 1), diversion_outcome=8)
    with pytest.raises(ValueError, match="closure_result"):
        watch.stage_counts(offs, refs.drop("closure_result"), launch=LAUNCH, as_of=date(2021, 6, 30), diversion_outcome=8)


# --- the chart, by hand ----------------------------------------------------------------------------
def test_statistic_is_zero_on_a_steady_ratio_and_known_after_one_deviation():
    months = 20
    a, n, b, m = (np.full(months, v, dtype=float) for v in (10, 100, 20, 200))
    steady = cc.ewma_statistic(a, n, b, m)
    first = cc.MIN_BASELINE_MONTHS + cc.GUARD_MONTHS - 1  # the first month charted
    assert not steady["charted"][:first].any() and steady["charted"][first:].all()
    assert np.allclose(steady["z"][first:], 0.0) and np.allclose(steady["baseline_rr"][first:], 1.0)

    a[first] = 20  # one month with twice the expected events
    chart = cc.ewma_statistic(a, n, b, m)
    # by hand: e = 100 * 1 * 20/200 = 10, d = 10, V = 100*.1*.9 + 100^2*.1*.9/200 = 13.5
    # S = .5*10, W = .25*13.5, E = .5*10, var(log RR0) over 12 baseline months = 1/120-1/1200+1/240-1/2400
    var0 = 1 / 120 - 1 / 1200 + 1 / 240 - 1 / 2400
    expected = 5 / np.sqrt(0.25 * 13.5 + 25 * var0)
    assert chart["z"][first] == pytest.approx(expected, rel=1e-9)
    assert chart["ewma_rr"][first] == pytest.approx(2.0)  # (E + S) / E
    # the next month back on the baseline: S halves, W = .25^2*13.5 + .25*13.5, E = .5*5 + .5*10,
    # and the baseline has grown to 13 months
    w = 0.25 * 0.25 * 13.5 + 0.25 * 13.5
    var13 = 1 / 130 - 1 / 1300 + 1 / 260 - 1 / 2600
    assert chart["z"][first + 1] == pytest.approx(2.5 / np.sqrt(w + 7.5 ** 2 * var13), rel=1e-9)
    assert (chart["ewma_rr"][first] > chart["upper"][first]) == (chart["z"][first] > cc.LIMIT)


def test_no_chart_for_a_group_with_too_few_events():
    months = 30
    chart = cc.ewma_statistic(np.ones(months), np.full(months, 40.0), np.full(months, 30.0), np.full(months, 300.0))
    assert not chart["charted"].any()  # one event a month: under MIN_EVENTS_PER_MONTH


def test_alarm_episodes_open_and_close_as_stated():
    L = cc.LIMIT
    z = np.array([0, L + 1, L + 1, 0, 0, 0, L + 1, 0, -(L + 1), 0, 0, 0, np.nan])
    ep = cc.alarm_episodes(z)
    assert np.flatnonzero(ep["onset"]).tolist() == [1, 6, 8]
    # opened at 1, back inside at 3, 4, 5 -> closed at month 5; the crossing below at 8 starts a new alert
    assert ep["open"].tolist() == [False, True, True, True, True, False, True, True, True, True, True, False, False]
    assert ep["direction"][8] == -1 and ep["direction"][6] == 1
    assert cc.onset_start(np.array([-1, 0.5, 0.2, 1.0, 3.0]), 4) == 1


# --- the watch on hand-built frames ----------------------------------------------------------------
def build_referrals(rng, months: int, shift_month: int | None, rates: dict[str, float], per_month: dict[str, int],
                    shifted: float = 1.0, group: str = "Black") -> list[dict]:
    rows = []
    for k in range(months):
        first = add_months(LAUNCH, k)
        for name, count in per_month.items():
            p = rates[name] * (shifted if shift_month is not None and k >= shift_month and name == group else 1.0)
            for j in range(count):
                logged = rng.random() < p
                rows.append(referral(first + timedelta(days=j % 27), name, engaged=not logged, complied=not logged, logged=logged))
    return rows


def test_the_watch_flags_a_jump_in_intelligence_logs_with_its_counts():
    rng = np.random.default_rng(11)
    rates = {"White": 0.4, "Black": 0.4, "Asian": 0.4}
    volume = {"White": 150, "Black": 60, "Asian": 60}
    shift = 30
    offs, refs = frames([], build_referrals(rng, 40, shift, rates, volume, shifted=1.8))
    as_of = month_end(add_months(LAUNCH, 40)) + timedelta(days=70)  # every month settled
    result = watch.equity_watch(offs, refs, launch=LAUNCH, as_of=as_of, diversion_outcome=8)
    alerts = result.alerts.filter((pl.col("stage") == "intelligence_log") & (pl.col("group") == "Black"))
    assert alerts.height >= 1
    alert = alerts.sort("raised").row(-1, named=True)
    shift_month = add_months(LAUNCH, shift)
    assert alert["direction"] == "higher" and alert["adverse"] is True
    assert alert["raised"] <= add_months(shift_month, 2)  # within three months
    assert add_months(shift_month, -3) <= alert["since"] <= shift_month
    assert alert["alert_id"] == f"intelligence_log/Black/{alert['since']:%Y-%m}"
    # the counts behind the alert are the hand-built rows from `since` to its last month
    behind = refs.filter(pl.col("referred_on").is_between(alert["since"], month_end(alert["last_month"])))
    black, white = behind.filter(pl.col("ethnic_group") == "Black"), behind.filter(pl.col("ethnic_group") == "White")
    assert alert["events"] == black["intelligence_log_date"].is_not_null().sum() and alert["denominator"] == black.height
    assert alert["white_events"] == white["intelligence_log_date"].is_not_null().sum()
    assert alert["white_denominator"] == white.height
    assert alert["rr"] > alert["baseline_rr"] and alert["change"] == pytest.approx(alert["rr"] / alert["baseline_rr"])
    assert "Black" in alert["message"] and "intelligence log" in alert["message"]
    assert alert["counts_text"] == f"{alert['events']} of {alert['denominator']} referrals, against {alert['white_events']} of {alert['white_denominator']} for White"
    # engagement falls as logs rise: the watch sees it from the other side
    assert result.alerts.filter((pl.col("stage") == "engaged") & (pl.col("group") == "Black")
                                & (pl.col("direction") == "lower")).height >= 1
    # Asian people's rate never moved: no alert there
    assert result.alerts.filter(pl.col("group") == "Asian").height == 0


def test_provisional_months_are_shown_but_never_charted():
    rng = np.random.default_rng(3)
    offs, refs = frames([], build_referrals(rng, 30, None, {"White": 0.4, "Black": 0.4}, {"White": 100, "Black": 50}))
    as_of = date(2023, 3, 15)  # March 2023 is incomplete; February ended 15 days ago
    chart = watch.equity_watch(offs, refs, launch=LAUNCH, as_of=as_of, diversion_outcome=8).chart
    logs = chart.filter((pl.col("stage") == "intelligence_log") & (pl.col("group") == "Black"))
    provisional = logs.filter("provisional")["month"].to_list()
    assert provisional == [date(2023, 1, 1), date(2023, 2, 1), date(2023, 3, 1)]  # 60 days' follow-up
    assert logs.filter("provisional")["statistic"].null_count() == 3
    assert not logs.filter("provisional")["charted"].any()
    assert logs.filter(~pl.col("provisional") & pl.col("charted")).height > 0
    # counts are still shown for provisional months
    assert logs.filter(pl.col("month") == date(2023, 2, 1))["denominator"][0] == 50


# --- calibration and power by simulation ----------------------------------------------------------
# Monthly volumes and rates measured on the demo (seed 7, scale 1) after the launch:
# per stage, (denominator per month, rate) for White, Asian, Black, Mixed, Other.
DEMO_STAGES = {
    "formal": [(131, 0.054), (47, 0.057), (36.7, 0.14), (14, 0.083), (3.9, 0.047)],
    "engaged": [(124, 0.668), (44.5, 0.65), (31.5, 0.60), (12.9, 0.66), (3.7, 0.66)],
    "completed": [(83, 0.88), (29, 0.87), (19, 0.86), (8.5, 0.88), (2.4, 0.86)],
    "intelligence_log": [(124, 0.407), (44.5, 0.433), (31.5, 0.477), (12.9, 0.416), (3.7, 0.44)],
}


def simulate(rng, stage: str, runs: int, months: int, scale: float = 1.0, shift: tuple | None = None):
    """Binomial counts (runs, 4 groups, months) and White's (runs, 1, months); `shift` =
    (group index, first month, factor) multiplies one group's rate from that month."""
    spec = DEMO_STAGES[stage]
    m = rng.poisson(spec[0][0] * scale, (runs, 1, months))
    b = rng.binomial(m, spec[0][1])
    sizes = np.array([s[0] for s in spec[1:]])[None, :, None] * scale
    n = rng.poisson(sizes, (runs, 4, months))
    p = np.broadcast_to(np.array([s[1] for s in spec[1:]])[None, :, None], n.shape).copy()
    if shift:
        g, start, factor = shift
        p[:, g, start:] = np.minimum(p[:, g, start:] * factor, 0.999)
    return rng.binomial(n, p), n, b, m


def false_alarms_per_two_years(rng, stage: str, scale: float, runs: int = 400, months: int = 60) -> float:
    a, n, b, m = simulate(rng, stage, runs, months, scale)
    chart = cc.ewma_statistic(a, n, b, m)
    onsets = cc.alarm_episodes(chart["z"])["onset"].sum()
    monitored = chart["charted"].any(axis=1).sum()  # stage-months with at least one chart
    return onsets / monitored * 24


@pytest.mark.parametrize("scale", [0.3, 1.0, 5.0])
def test_stable_series_raise_no_more_false_alarms_than_stated(scale):
    rng = np.random.default_rng(2024)
    for stage in DEMO_STAGES:
        rate = false_alarms_per_two_years(rng, stage, scale)
        assert rate <= cc.FALSE_ALARMS_PER_STAGE_PER_TWO_YEARS, (stage, scale, rate)


@pytest.mark.parametrize("group, label", [(1, "Black"), (0, "Asian")])
def test_a_relative_rate_raised_by_half_is_flagged_within_three_months(group, label):
    rng = np.random.default_rng(7)
    start = 40
    a, n, b, m = simulate(rng, "intelligence_log", 1000, 48, shift=(group, start, 1.5))
    z = cc.ewma_statistic(a, n, b, m)["z"][:, group, start:start + 3]
    detected = np.mean((z > cc.LIMIT).any(axis=1))
    assert detected >= 0.80, (label, detected)


# --- the untouched demo ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from divert.analytics.data.loading import load_frames
    from divert.storage.db import get_engine

    url, _ = demo_url(tmp_path_factory.mktemp("watch-demo"), **FULL_DEMO)
    engine = get_engine(url)
    yield load_frames(engine)
    engine.dispose()


def last_month_end(day: date) -> date:
    return day if day == month_end(day) else month_start(day) - timedelta(days=1)


def test_the_untouched_demo_raises_no_more_alerts_than_the_stated_rate(demo):
    from divert.core import codes
    from divert.demo import parameters

    as_of = last_month_end(demo.offences["offence_date"].max())
    result = watch.equity_watch(demo.offences, demo.referrals, launch=parameters.LAUNCH, as_of=as_of,
                                diversion_outcome=codes.COMMUNITY_RESOLUTION[0])
    monitored = result.chart.filter("charted").group_by("stage").agg(pl.col("month").n_unique())["month"]
    allowed = cc.FALSE_ALARMS_PER_STAGE_PER_TWO_YEARS * monitored.sum() / 24
    assert monitored.len() == 4 and monitored.min() >= 24  # every stage charted for two years or more
    assert result.alerts.height <= allowed, result.alerts.select("alert_id", "statistic")
    assert result.alerts["alert_id"].n_unique() == result.alerts.height
    # the chart covers every stage and broad group, with the newest months provisional
    assert set(result.chart["stage"]) == set(watch.STAGES) and set(result.chart["group"]) == set(watch.GROUPS)
    newest = result.chart.filter(pl.col("month") == result.chart["month"].max())
    assert newest["provisional"].all() and newest["statistic"].null_count() == newest.height
