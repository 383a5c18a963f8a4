"""Value for money (divert.analytics.dashboards.value): counts by the pathway's definitions dated
by the day each step happened, the price prorated or per referral, every figure with its range;
the profile's new inputs (checked, old profiles still load); `divert programme set` and
`divert metrics value`, gated for viewers."""

from __future__ import annotations

import json
from datetime import date, datetime

import polars as pl
import pytest
from commands import divert
from dbfixtures import migrated_url
from hypothesis import given
from hypothesis import strategies as st

from divert.analytics.dashboards import value
from divert.core.disclosure import Gate
from divert.reference import programme
from divert.reference.programme import Programme

PERIOD = (date(2024, 1, 1), date(2024, 3, 31))  # 91 days


def referral(referred_on, *, assessed=None, result=None, allocation=None, attended=None, booked=None):
    def at(day):
        return None if day is None else datetime.combine(day, datetime.min.time()).replace(hour=10)

    return {"referred_on": referred_on, "assessed_at": at(assessed), "assessment_result": result,
            "first_contact_at": at(assessed), "allocation": allocation, "first_booked_at": at(booked),
            "attended_at": at(attended), "closure_result": None, "intelligence_log_date": None}


def frame(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"referred_on": pl.Date, "assessed_at": pl.Datetime("us"),
                                      "assessment_result": pl.String, "first_contact_at": pl.Datetime("us"),
                                      "allocation": pl.String, "first_booked_at": pl.Datetime("us"),
                                      "attended_at": pl.Datetime("us"), "closure_result": pl.String,
                                      "intelligence_log_date": pl.Date})


REFERRALS = frame([
    referral(date(2023, 12, 20), assessed=date(2024, 1, 5), result="completed", allocation="group_course",
             booked=date(2024, 1, 6), attended=date(2024, 1, 20)),  # referred before: its assessment and course count
    referral(date(2024, 1, 1), assessed=date(2024, 1, 10), result="completed", allocation="group_course",
             booked=date(2024, 1, 12), attended=date(2024, 4, 2)),  # the course is after the period
    referral(date(2024, 2, 1), assessed=date(2024, 2, 3), result="declined"),  # not an assessment completed
    referral(date(2024, 3, 1), assessed=date(2024, 3, 2), result="completed", allocation="one_to_one"),
    referral(date(2024, 3, 31)),  # the period's last day counts
    referral(date(2024, 4, 1)),  # after the period
])


def test_counts_follow_the_pathway_definitions_dated_by_the_day_each_step_happened():
    assert value.counts(REFERRALS, PERIOD) == {"referrals": 4, "assessments": 3, "courses": 1}
    assert value.counts(REFERRALS.head(0), PERIOD) == {"referrals": 0, "assessments": 0, "courses": 0}


def test_a_contract_price_is_prorated_over_the_period_and_every_figure_has_its_range():
    profile = Programme(cost_basis="contract_year", cost=365_000, cost_low=292_000, cost_high=438_000,
                        officer_hours_per_referral=4, officer_hours_low=3, officer_hours_high=6,
                        hourly_cost=40, hourly_cost_low=30, hourly_cost_high=50)
    row = value.value_for_money(REFERRALS, profile, PERIOD).row(0, named=True)
    assert (row["days"], row["referrals"], row["assessments"], row["courses"]) == (91, 4, 3, 1)
    assert (row["cost_low"], row["cost"], row["cost_high"]) == pytest.approx((72_800, 91_000, 109_200))
    assert (row["cost_per_referral_low"], row["cost_per_referral"], row["cost_per_referral_high"]) == \
        pytest.approx((18_200, 22_750, 27_300))
    assert row["cost_per_assessment"] == pytest.approx(91_000 / 3)
    assert row["cost_per_course"] == pytest.approx(91_000)
    assert (row["officer_hours_low"], row["officer_hours"], row["officer_hours_high"]) == (12, 16, 24)
    assert (row["officer_hours_value_low"], row["officer_hours_value"], row["officer_hours_value_high"]) == \
        pytest.approx((360, 640, 1_200))


def test_a_price_per_referral_makes_the_cost_per_referral_the_price():
    profile = Programme(cost_basis="per_referral", cost=500, cost_low=400)
    got = value.figures(profile, days=30, referrals=10, assessments=4, courses=0)
    assert (got["cost_low"], got["cost"], got["cost_high"]) == (4_000, 5_000, 5_000)  # no high entered: no range
    assert (got["cost_per_referral_low"], got["cost_per_referral"]) == (400, 500)
    assert got["cost_per_assessment"] == 1_250 and got["cost_per_course"] is None  # no course in the period


def test_no_cost_entered_says_so_rather_than_inventing_one():
    got = value.figures(Programme(), days=365, referrals=100, assessments=60, courses=50)
    assert got["cost"] is None and got["cost_per_referral"] is None and got["officer_hours_value"] is None
    assert got["officer_hours"] == 400  # the hours are known without a price
    shown = {line["measure"]: line for line in value.lines(got | {"hours_source": "a study"})}
    assert shown["Programme cost in the period"]["figure"] == value.NO_COST
    assert shown["Cost per referral"]["figure"] == value.NO_COST
    assert shown["Value of the officer hours"]["figure"] == value.NO_HOURLY_COST
    assert shown["Officer hours released"]["figure"] == "400 h" and "4 hours each" in shown["Officer hours released"]["how"]


def test_a_viewer_never_sees_a_figure_made_from_one_to_seven_people():
    from divert.analytics.metrics import GATES

    profile = Programme(cost_basis="contract_year", cost=100_000, hourly_cost=40)
    viewer = Gate("viewer", 8)
    row = value.value_for_money(REFERRALS, profile, PERIOD, viewer).row(0, named=True)
    assert (row["referrals"], row["assessments"], row["courses"]) == (None, None, None)  # 4, 3 and 1
    assert row["cost_per_referral"] is None and row["officer_hours"] is None and row["officer_hours_value"] is None
    assert row["cost"] == pytest.approx(100_000 * 91 / 365)  # a contract price is no count: still shown
    shown = {line["measure"]: line for line in value.lines(row)}
    assert shown["Cost per referral"]["figure"] == "*" and "too few" in shown["Cost per referral"]["range"]
    assert shown["Officer hours released"]["figure"] == "*"
    unpriced = {line["measure"]: line for line in value.lines(
        value.value_for_money(REFERRALS, Programme(), PERIOD, viewer).row(0, named=True))}
    assert unpriced["Cost per referral"]["figure"] == value.NO_COST  # nothing hidden where nothing is entered
    assert unpriced["Value of the officer hours"]["figure"] == value.NO_HOURLY_COST
    # `divert metrics value --role viewer`: the same counts pass the gate's table specification
    gated = viewer.table(value.value_for_money(REFERRALS, profile, PERIOD), **GATES["value"]).row(0, named=True)
    assert all(gated[c] is None for c in ("referrals", "assessments", "courses", "cost_per_referral", "officer_hours"))


def test_a_viewer_s_figures_are_worked_out_from_the_published_counts():
    many = pl.concat([REFERRALS.head(1).with_columns(pl.lit(date(2024, 2, 1)).alias("referred_on"))] * 143)
    profile = Programme(cost_basis="per_referral", cost=100, hourly_cost=40)
    row = value.value_for_money(many, profile, PERIOD, Gate("viewer", 8)).row(0, named=True)
    assert (row["referrals"], row["assessments"], row["courses"]) == (145, 145, 145)  # 143, rounded to 5
    assert row["officer_hours"] == 580 and row["officer_hours_value"] == 580 * 40  # as the Overview's card: 145 x 4
    assert row["cost"] == 14_500 and row["cost_per_referral"] == 100
    exact = value.value_for_money(many, profile, PERIOD, Gate("manager", 8)).row(0, named=True)
    assert (exact["referrals"], exact["officer_hours"], exact["cost"]) == (143, 572, 14_300)


ranges = st.tuples(st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0, 1e6)).map(sorted)


@given(price=ranges, hours=ranges.map(lambda r: [x / 1e5 for x in r]), rate=ranges.map(lambda r: [x / 1e4 for x in r]),
       basis=st.sampled_from(["contract_year", "per_referral"]), days=st.integers(1, 800),
       counts=st.tuples(st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 5000)),
       scale=st.floats(0.01, 100))
def test_every_low_is_at_most_its_figure_and_costs_scale_with_the_price(price, hours, rate, basis, days, counts, scale):
    def profile(factor):
        return Programme(cost_basis=basis, cost=price[1] * factor, cost_low=price[0] * factor,
                         cost_high=price[2] * factor, officer_hours_per_referral=hours[1], officer_hours_low=hours[0],
                         officer_hours_high=hours[2], hourly_cost=rate[1], hourly_cost_low=rate[0], hourly_cost_high=rate[2])
    got = value.figures(profile(1), days, *counts)
    scaled = value.figures(profile(scale), days, *counts)
    for name in value.RANGED:
        if got[name] is not None:
            assert got[f"{name}_low"] <= got[name] <= got[f"{name}_high"], name
    for unit in ("referral", "assessment", "course"):
        name = f"cost_per_{unit}"
        assert (got[name] is None) == (scaled[name] is None)
        if got[name] is not None:
            assert scaled[name] == pytest.approx(got[name] * scale, rel=1e-9, abs=1e-9)


# --- the inputs: the programme profile -----------------------------------------------------------
def test_the_profile_checks_the_inputs_and_an_old_profile_still_loads():
    old = {"force": "durham", "launch": "2019-04-01", "officer_hours_per_referral": 3.5}  # stored before these fields
    loaded = programme.from_stored(old, None)
    assert (loaded.force, loaded.cost_basis, loaded.cost, loaded.hourly_cost) == ("durham", "none", None, None)
    assert loaded.span("cost") is None and loaded.span("officer_hours") == (3.5, 3.5, 3.5)
    chosen, problems = programme.check({"cost_basis": "contract_year", "cost": "120000", "cost_low": "",
                                        "officer_hours_high": 6, "hourly_cost": 40})
    assert not problems and chosen.span("cost") == (120_000, 120_000, 120_000) and chosen.span("officer_hours") == (4, 4, 6)

    def refused(values):
        return {p.field for p in programme.check(values)[1]}

    assert refused({"cost_basis": "per_referral"}) == {"cost"}
    assert refused({"cost": 10, "cost_low": 20, "cost_basis": "per_referral"}) == {"cost_low"}
    assert refused({"officer_hours_low": 5}) == {"officer_hours_low"}  # above the central 4 hours
    assert refused({"hourly_cost_high": 50}) == {"hourly_cost"}  # a range with no central figure
    assert refused({"hourly_cost": -1, "cost_basis": "monthly"}) == {"hourly_cost", "cost_basis"}


def test_set_from_the_command_line_and_printed_by_divert_metrics_value(tmp_path):
    db = migrated_url(tmp_path)
    refused = divert("--db", db, "programme", "set", "--cost-basis", "contract_year")
    assert refused.returncode == 1 and "--cost:" in refused.stderr and "Traceback" not in refused.stderr
    done = divert("--db", db, "programme", "set", "--cost-basis", "contract_year", "--cost", "120000",
                  "--cost-low", "100000", "--cost-high", "150000", "--hourly-cost", "45")
    assert done.returncode == 0, done.stderr
    shown = json.loads(divert("--db", db, "programme", "show", "--format", "json").stdout)
    assert (shown["cost_basis"], shown["cost_low"], shown["hourly_cost"], shown["hourly_cost_high"]) == \
        ("contract_year", 100_000, 45, None)
    ran = divert("--db", db, "metrics", "value", "--as-of", "2024-12-31", "--format", "json")
    assert ran.returncode == 0, ran.stderr
    (row,) = json.loads(ran.stdout)  # the Overview's period: the 12 months to the as-of date
    assert (row["start"], row["end"], row["days"]) == ("2024-01-01", "2024-12-31", 366)
    assert (row["referrals"], row["cost"], row["cost_per_referral"]) == (0, pytest.approx(120_000 * 366 / 365), None)


# --- the pages -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from dbfixtures import SMALL_DEMO, demo_url

    url, summary = demo_url(tmp_path_factory.mktemp("value"), **SMALL_DEMO)
    return url, {login["role"]: login["username"] for login in summary["logins"]}


def value_rows(at) -> dict:
    (table,) = [d for d in at.dataframe if "Measure" in d.value.columns]
    return {row["Measure"]: row for row in table.value.to_dict("records")}


def test_the_admin_enters_a_price_on_the_programme_page_and_the_overview_values_it(demo, monkeypatch):
    from apptesting import AFTER_DEMO, press, signed_in
    from clock import frozen

    url, usernames = demo
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)
    with frozen(AFTER_DEMO):
        seen = signed_in(usernames["viewer"], "pages/overview.py")
        viewer = value_rows(seen)
        assert viewer["Cost per referral"]["Figure"] == value.NO_COST
        assert any("An administrator enters the programme's price" in c.value for c in seen.caption)
        at = signed_in(usernames["admin"], "pages/admin_programme.py")
        basis = next(r for r in at.radio if r.label == "The programme's price is")
        basis.set_value("contract_year")
        boxes = {n.label: n for n in at.number_input}
        boxes["Price (£) - low"].set_value(150_000.0)
        boxes["Price (£)"].set_value(100_000.0)  # the low is above it: refused, nothing saved
        press(at, "Save the profile")
        refused = " ".join(str(e.value) for e in at.error)
        assert "Nothing was saved" in refused and "**Cost low** must be at most the central figure" in refused
        boxes = {n.label: n for n in at.number_input}
        boxes["Price (£) - low"].set_value(80_000.0)
        boxes["Cost of an officer hour (£)"].set_value(40.0)
        press(at, "Save the profile")
        assert at.success and "Saved" in at.success[0].value
        shown = value_rows(signed_in(usernames["manager"], "pages/overview.py"))
    assert shown["Programme cost in the period"]["Figure"] == "£100,000"
    assert shown["Programme cost in the period"]["Low to high"] == "£80,000 to £100,000"
    assert shown["Cost per referral"]["Figure"].startswith("£")
    assert shown["Value of the officer hours"]["Figure"].startswith("£")


def test_divert_metrics_value_takes_the_period_and_gives_a_viewer_the_overview_s_figures(demo):
    url, _ = demo
    ran = divert("--db", url, "metrics", "value", "--as-of", "2025-09-30", "--from", "2025-01-01", "--to",
                 "2025-06-30", "--format", "json")
    assert ran.returncode == 0, ran.stderr
    (row,) = json.loads(ran.stdout)
    assert (row["start"], row["end"], row["days"]) == ("2025-01-01", "2025-06-30", 181)
    shown = divert("--db", url, "metrics", "value", "--as-of", "2025-09-30", "--role", "viewer", "--format", "json")
    overview = divert("--db", url, "metrics", "overview", "--as-of", "2025-09-30", "--role", "viewer", "--format", "json")
    (viewer,) = json.loads(shown.stdout)
    cards = {m["measure"]: m["value"] for m in json.loads(overview.stdout)["measures"]}
    assert (viewer["referrals"], viewer["officer_hours"]) == (cards["referrals"], cards["officer_hours"])
