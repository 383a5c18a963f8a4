"""Live and truthful: one referral recorded today moves the referral count by one and nothing
else; an as-of date in the past reproduces the figures as they were. Figures come from the
real command (`divert metrics ... --as-of`, in process; without it, the last month end) on a real SQLite file, with the clock
at clock.MOMENT (a Wednesday in mid-June) and a demo whose records end the day before."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from clock import MOMENT, TODAY, YESTERDAY, month_end
from commands import divert
from dbfixtures import SMALL_DEMO, demo_url

from divert.records.referrals import add_referral
from divert.storage.db import get_engine

pytestmark = pytest.mark.usefixtures("clock")  # "today" is clock.TODAY: the default as-of date
LIVE_DEMO = {**SMALL_DEMO, "as_of": YESTERDAY}  # a demo that looks current on TODAY


def metrics(url, *args) -> list | dict:
    done = divert("--db", url, "metrics", *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def demo(tmp_path):
    url, _ = demo_url(tmp_path, **LIVE_DEMO)
    return url


def one_referral_today(url):
    values = {"reference": "LIVE-0001", "crime_ref": "LIVE/0001/26", "offence_date": TODAY.isoformat(),
              "referred_at": MOMENT.strftime("%Y-%m-%d %H:%M"), "area": "E08000025", "drug": "CAN",
              "source": "stop_search", "person_ref": "LIVE PERSON 1", "sex": "M", "birth_year": "1995",
              "ethnicity_self": "W1", "ethnicity_officer": "IC1"}
    saved = add_referral(values, "test", engine=get_engine(url))
    assert saved.ok, saved.problems


def by_measure(overview: dict) -> dict:
    return {m["measure"]: m for m in overview["measures"]}


def test_one_referral_today_moves_the_referral_count_by_one_and_nothing_else(demo):
    past = month_end(TODAY).isoformat()  # the last complete month end
    assert metrics(demo, "overview")["as_of"] == past  # the default, for every role: the last month end
    before_today = metrics(demo, "overview", "--as-of", TODAY.isoformat())
    before_past = metrics(demo, "overview", "--as-of", past)
    volume_past = metrics(demo, "volume", "--as-of", past)
    pathway_past = metrics(demo, "pathway", "--as-of", past)

    one_referral_today(demo)

    after_today = metrics(demo, "overview", "--as-of", TODAY.isoformat())
    was, now = by_measure(before_today), by_measure(after_today)
    assert before_today["as_of"] == after_today["as_of"] == TODAY.isoformat()
    assert now["referrals"]["value"] == was["referrals"]["value"] + 1
    assert now["officer_hours"]["value"] - was["officer_hours"]["value"] == pytest.approx(4.0)  # referrals x 4 h
    for measure in set(was) - {"referrals", "officer_hours"}:
        assert now[measure]["value"] == pytest.approx(was[measure]["value"], abs=1e-9), measure
        assert now[measure]["previous"] == pytest.approx(was[measure]["previous"], abs=1e-9), measure
    # the headlines a board reads did not collapse
    assert now["referrals"]["value"] > 100 and 0.5 < now["engaged_share"]["value"] < 0.8
    assert now["charges_change"]["value"] < -30

    # measured as of a past date, nothing recorded since changes anything
    assert metrics(demo, "overview", "--as-of", past) == before_past
    assert metrics(demo, "volume", "--as-of", past) == volume_past
    assert metrics(demo, "pathway", "--as-of", past) == pathway_past


def test_series_carry_a_provisional_flag_for_the_month_not_over(demo):
    volume = metrics(demo, "volume", "--as-of", TODAY.isoformat())
    assert all("provisional" in row for row in volume)
    flagged = [row["period"] for row in volume if row["provisional"]]
    assert flagged == [TODAY.replace(day=1).isoformat()]
    waits = metrics(demo, "waits", "--as-of", TODAY.isoformat())
    assert waits and all("provisional" in row for row in waits)
    # the most recent referral months have not had time to finish their waits
    assert any(row["provisional"] for row in waits) and not all(row["provisional"] for row in waits)


def test_cli_rejects_a_future_or_malformed_as_of(demo):
    for bad in ("2099-01-01", "30/11/2026", (TODAY + timedelta(days=1)).isoformat()):
        done = divert("--db", demo, "metrics", "volume", "--as-of", bad)
        assert done.returncode == 2 and "Traceback" not in done.stderr and "--as-of" in done.stderr, bad
