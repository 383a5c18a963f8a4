"""The programme profile: stored, audited, set from the command line, and followed by the
records, the demo, the figures and the Methods text."""

from __future__ import annotations

import csv
import json
from datetime import date

import pytest
from apptesting import open_app, sign_in
from commands import divert
from dbfixtures import demo_url, migrated_url
from sqlalchemy import text

from divert.records import programme_profile
from divert.records.referrals import add_referral
from divert.reference import census, forces
from divert.storage.db import get_engine

CENSUS = census.CENSUS_2011_DIR / census.LOCAL_AUTHORITY_FILE
LOOKUP = census.CENSUS_2011_DIR / census.LOOKUP_FILE


def expected_areas(force: forces.Force) -> list[dict]:
    """The force area's local authorities, read from the shipped census with the csv module."""
    with open(LOOKUP, newline="", encoding="utf-8-sig") as f:
        codes = {row["LAD16NM"]: row["LAD16CD"] for row in csv.DictReader(f)}
    with open(CENSUS, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if r["PFA16NM"] == force.area_name]
    return sorted(({"code": codes[r["LAD16NM"]], "name": r["geography"]} for r in rows), key=lambda a: a["code"])


@pytest.fixture
def db(tmp_path):
    return migrated_url(tmp_path)


def show(url) -> dict:
    done = divert("--db", url, "programme", "show", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_force_set_from_the_command_line_lists_exactly_its_census_areas(db):
    for force in forces.FORCES:
        done = divert("--db", db, "programme", "set", "--force", force.slug)
        assert done.returncode == 0 and f"{len(expected_areas(force))} areas" in done.stdout, force.slug
        shown = show(db)
        assert shown["force"] == force.slug
        assert shown["areas"] == expected_areas(force), force.slug


def test_the_profile_is_stored_audited_and_bad_values_change_nothing(db):
    assert divert("--db", db, "programme", "set", "--force", "durham", "--launch", "2019-04-01",
                  "--diversion-outcome", "22", "--minimum-age", "18", "--drug-classes", "B,C").returncode == 0
    before = show(db)
    assert (before["launch"], before["diversion_outcome"], before["minimum_age"], before["drug_classes"]) == \
        ("2019-04-01", 22, 18, ["B", "C"])
    for bad in (["--force", "durhm"], ["--launch", "2099-01-01"], ["--drug-classes", "D"], ["--minimum-age", "3"]):
        refused = divert("--db", db, "programme", "set", *bad)
        assert refused.returncode == 1, bad
        assert "Traceback" not in refused.stderr and refused.stderr.strip(), bad
    refused = divert("--db", db, "programme", "set", "--force", "durhm")
    assert refused.returncode == 1 and "did you mean durham" in refused.stderr
    assert show(db) == before
    with get_engine(db).connect() as conn:
        audited = conn.execute(text("SELECT count(*) FROM audit_event WHERE table_name = 'setting' "
                                    "AND row_id = 'programme'")).scalar_one()
    assert audited == 1


def test_records_follow_the_profile_areas_and_eligibility(db):
    engine = get_engine(db)
    saved, _ = programme_profile.save({"force": "durham", "minimum_age": 18, "drug_classes": ["A", "B"]}, "test", engine=engine)
    assert saved.ok

    def referral(n, **values):
        return add_referral({"reference": f"P-{n}", "crime_ref": f"P/{n}", "offence_date": "2024-03-01",
                                     "referred_at": "2024-03-01 10:00", "area": "Darlington", "drug": "CAN",
                                     "source": "stop_search", "person_ref": f"person {n}", "sex": "M",
                                     "birth_year": "1990", **values}, "test", engine=engine)

    assert referral(1).ok  # an area named as the census names it, in the profile's force
    wrong_area = referral(2, area="Birmingham")
    assert not wrong_area.ok and "Darlington" in wrong_area.problems[0].reason  # the nearest valid areas
    young = referral(3, birth_year="2008")
    assert not young.ok and "minimum age of 18" in young.problems[0].reason
    assert referral(4, birth_year="2008", override_reason="agreed by the inspector").ok
    class_c = referral(5, drug="BEN")
    assert not class_c.ok and "class C" in class_c.problems[0].reason


@pytest.mark.usefixtures("navigation_only")
def test_a_demo_for_another_force_with_outcome_22_is_followed_everywhere(tmp_path, monkeypatch):
    # the profile is saved (programme.save), then the demo generated for it (load_demo)
    db, summary = demo_url(tmp_path, seed=3, scale=1.0, as_of=date(2024, 12, 31),
                           programme={"force": "durham", "launch": "2019-04-01", "diversion_outcome": 22})
    engine = get_engine(db)
    with engine.connect() as conn:
        areas = {r[0] for r in conn.execute(text("SELECT DISTINCT area FROM offence"))}
        forces_used = {r[0] for r in conn.execute(text("SELECT DISTINCT force FROM offence"))}
        referred_outcomes = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT o.outcome FROM referral r JOIN offence o ON o.id = r.offence_id"))}
        first_referral = conn.execute(text("SELECT min(referred_at) FROM referral")).scalar_one()
    assert areas == {a["code"] for a in census.force_areas("durham")} and forces_used == {"durham"}
    assert referred_outcomes == {22} and str(first_referral) >= "2019-04-01"

    def metrics(name):
        done = divert("--db", db, "metrics", name, "--as-of", "2024-12-31", "--format", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    (change,) = metrics("volume-change")
    assert (change["before_end"], change["after_start"]) == ("2019-03-31", "2019-04-01")
    rows = [r for r in metrics("outcomes") if r["level"] == "overall"]
    assert (rows[0]["before_start"], rows[0]["after_start"]) == ("2018-01-01", "2020-01-01")
    diverted = next(r for r in rows if r["outcome"] == "Diversionary or intervention activity")
    assert diverted["count_before"] == 0 and diverted["count_after"] > 0

    monkeypatch.setenv("DIVERT_DATABASE_URL", db)
    login = next(x for x in summary["logins"] if x["role"] == "viewer")
    at = sign_in(open_app(), login["username"], login["password"])
    at.switch_page("pages/methods.py").run()
    assert not at.exception
    assert any("April 2019" in m.value for m in at.markdown)
