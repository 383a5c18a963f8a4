"""Definitions recomputed independently on the demo: the SQL is written here, not taken from the
analytics code, and the figures from `divert metrics` (the real command) must agree with it."""

from __future__ import annotations

import json

import pytest
from commands import divert
from dbfixtures import FULL_DEMO, demo_url
from sqlalchemy import text

from divert.storage.db import get_engine

AS_OF = FULL_DEMO["as_of"]
BROAD = """CASE substr(p.ethnicity_self, 1, 1) WHEN 'W' THEN 'White' WHEN 'M' THEN 'Mixed' WHEN 'A' THEN 'Asian'
           WHEN 'B' THEN 'Black' WHEN 'O' THEN 'Other' ELSE 'Other' END"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url, _ = demo_url(tmp_path_factory.mktemp("definitions"), **FULL_DEMO)
    return url


def metrics(url, *args):
    done = divert("--db", url, "metrics", *args, "--as-of", str(AS_OF), "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sql(url, query, **params):
    with get_engine(url).connect() as conn:
        return conn.execute(text(query), params).fetchall()


def test_outcome_shares_add_up_to_100_percent_and_match_sql(demo):
    rows = [r for r in metrics(demo, "outcomes") if r["level"] == "overall"]
    assert sum(r["share_before"] for r in rows) == pytest.approx(1.0)
    assert sum(r["share_after"] for r in rows) == pytest.approx(1.0)
    first = rows[0]
    for side in ("before", "after"):
        (total, formal, pending, public_interest), = sql(demo, """
            SELECT count(*), sum(CASE WHEN outcome IN (1, 2, 3) THEN 1 ELSE 0 END),
                   sum(CASE WHEN outcome IS NULL THEN 1 ELSE 0 END), sum(CASE WHEN outcome = 21 THEN 1 ELSE 0 END)
            FROM offence WHERE offence_date BETWEEN :a AND :b""", a=first[f"{side}_start"], b=first[f"{side}_end"])
        shares = {r["outcome"]: r[f"count_{side}"] for r in rows}
        assert sum(shares.values()) == total == first[f"offences_{side}"]
        assert shares["Charge/summons"] + shares["Caution"] == formal
        assert shares["No outcome yet"] == pending
        assert shares["Not in the public interest to investigate further"] == public_interest


def test_relative_gap_against_white_males_matches_sql(demo):
    gaps = {(r["ethnic_group"], r["sex"]): r for r in metrics(demo, "gaps")}
    outcomes = metrics(demo, "outcomes")
    after = (outcomes[0]["after_start"], outcomes[0]["after_end"])
    counts = {group: (formal, total) for group, formal, total in sql(demo, f"""
        SELECT {BROAD} AS grp, sum(CASE WHEN o.outcome IN (1, 2, 3) THEN 1 ELSE 0 END), count(*)
        FROM offence o JOIN person p ON p.id = o.person_id
        WHERE o.offence_date BETWEEN :a AND :b AND p.sex = 'M' AND p.ethnicity_self IS NOT NULL
              AND p.ethnicity_self <> 'NS'
        GROUP BY grp""", a=after[0], b=after[1])}
    black, white = counts["Black"], counts["White"]
    expected = (black[0] / black[1]) / (white[0] / white[1])
    assert gaps[("Black", "M")]["ratio_after"] == pytest.approx(expected)
    assert gaps[("White", "M")]["ratio_after"] == 1.0 and gaps[("White", "M")]["ratio_after_low"] is None


def test_before_and_after_volume_use_equal_windows_matching_sql(demo):
    (change,) = metrics(demo, "volume-change")
    assert change["months_before"] == change["months_after"] == 12
    assert change["before_end"] == "2020-09-30" and change["after_start"] == "2020-10-01"
    for side in ("before", "after"):
        (count,), = sql(demo, "SELECT count(*) FROM offence WHERE offence_date BETWEEN :a AND :b",
                        a=change[f"{side}_start"], b=change[f"{side}_end"])
        assert change[f"mean_{side}"] == pytest.approx(count / 12)
    assert change["ci_low_pct"] < change["change_pct"] < change["ci_high_pct"]
    assert 20 < change["change_pct"] < 40 and change["seasonally_adjusted"]


def test_every_metrics_option_is_honoured_or_refused(demo):
    done = divert("--db", demo, "metrics", "volume-change", "--from", "2021-01-01")
    assert done.returncode == 2 and "--from cannot be used" in done.stderr
    narrow = metrics(demo, "volume", "--from", "2021-01-01", "--to", "2021-03-31")
    assert [r["period"] for r in narrow] == ["2021-01-01", "2021-02-01", "2021-03-01"]
