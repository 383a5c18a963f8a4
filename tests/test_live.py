"""Live and truthful: one referral recorded today moves the referral count by one and nothing
else; an as-of date in the past reproduces the figures as they were. Figures come from the
real command (`divert metrics ... --as-of`) on a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from dbfixtures import main_url

from divert import records
from divert.db import get_engine, upgrade
from divert.demo import load_demo
from divert.programme import TIME_ZONE, today


def metrics(url, *args) -> list | dict:
    done = subprocess.run([sys.executable, "-m", "divert.cli", "--db", url, "metrics", *args, "--format", "json"],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    url = main_url(folder, "demo.db")
    upgrade(url)
    load_demo(get_engine(url), seed=23, scale=0.5)
    return url


def one_referral_today(url):
    now = datetime.now(TIME_ZONE).replace(microsecond=0, tzinfo=None)
    values = {"reference": "LIVE-0001", "crime_ref": "LIVE/0001/26", "offence_date": now.date().isoformat(),
              "referred_at": now.strftime("%Y-%m-%d %H:%M"), "area": "E08000025", "drug": "CAN",
              "source": "stop_search", "person_ref": "LIVE PERSON 1", "sex": "M", "birth_year": "1995",
              "ethnicity_self": "W1", "ethnicity_officer": "IC1"}
    saved = records.add_referral(values, "test", engine=get_engine(url))
    assert saved.ok, saved.problems


def by_measure(overview: dict) -> dict:
    return {m["measure"]: m for m in overview["measures"]}


def test_one_referral_today_moves_the_referral_count_by_one_and_nothing_else(demo):
    past = (today().replace(day=1) - timedelta(days=1)).isoformat()  # the last complete month end
    before_today = metrics(demo, "overview")
    before_past = metrics(demo, "overview", "--as-of", past)
    volume_past = metrics(demo, "volume", "--as-of", past)
    pathway_past = metrics(demo, "pathway", "--as-of", past)

    one_referral_today(demo)

    after_today = metrics(demo, "overview")
    was, now = by_measure(before_today), by_measure(after_today)
    assert before_today["as_of"] == after_today["as_of"] == today().isoformat()
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
    volume = metrics(demo, "volume")
    assert all("provisional" in row for row in volume)
    current = today().replace(day=1).isoformat()
    flagged = [row["period"] for row in volume if row["provisional"]]
    assert flagged == [current]
    waits = metrics(demo, "waits")
    assert waits and all("provisional" in row for row in waits)
    # the most recent referral months have not had time to finish their waits
    assert any(row["provisional"] for row in waits) and not all(row["provisional"] for row in waits)


def test_cli_rejects_a_future_or_malformed_as_of(demo):
    for bad in ("2099-01-01", "30/11/2026"):
        done = subprocess.run([sys.executable, "-m", "divert.cli", "--db", demo, "metrics", "volume", "--as-of", bad],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr and "--as-of" in done.stderr
