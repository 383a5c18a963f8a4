"""The programme profile: stored, audited, set from the command line, and followed by the
records, the demo, the figures and the Methods text."""

from __future__ import annotations

import csv
import json
from datetime import date

import pytest
from dbfixtures import main_url
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from divert import census, forces, programme, records
from divert.cli import main
from divert.db import get_engine, upgrade
from divert.demo import load_demo
from divert.settings import PROJECT_DIR

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
    url = main_url(tmp_path, "divert.db")
    upgrade(url)
    return url


def show(url, capsys) -> dict:
    capsys.readouterr()
    assert main(["--db", url, "programme", "show", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_force_set_from_the_command_line_lists_exactly_its_census_areas(db, capsys):
    for force in forces.FORCES:
        assert main(["--db", db, "programme", "set", "--force", force.slug]) == 0, force.slug
        shown = show(db, capsys)
        assert shown["force"] == force.slug
        assert shown["areas"] == expected_areas(force), force.slug


def test_the_profile_is_stored_audited_and_bad_values_change_nothing(db, capsys):
    assert main(["--db", db, "programme", "set", "--force", "durham", "--launch", "2019-04-01",
                 "--diversion-outcome", "22", "--minimum-age", "18", "--drug-classes", "B,C"]) == 0
    before = show(db, capsys)
    assert (before["launch"], before["diversion_outcome"], before["minimum_age"], before["drug_classes"]) == \
        ("2019-04-01", 22, 18, ["B", "C"])
    for bad in (["--force", "durhm"], ["--launch", "2099-01-01"], ["--drug-classes", "D"], ["--minimum-age", "3"]):
        assert main(["--db", db, "programme", "set", *bad]) == 1, bad
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.strip(), bad
    assert "did you mean durham" in (main(["--db", db, "programme", "set", "--force", "durhm"]) and
                                     capsys.readouterr().err)
    assert show(db, capsys) == before
    with get_engine(db).connect() as conn:
        audited = conn.execute(text("SELECT count(*) FROM audit_event WHERE table_name = 'setting' "
                                    "AND row_id = 'programme'")).scalar_one()
    assert audited == 1


def test_records_follow_the_profile_areas_and_eligibility(db):
    engine = get_engine(db)
    saved, _ = programme.save({"force": "durham", "minimum_age": 18, "drug_classes": ["A", "B"]}, "test", engine=engine)
    assert saved.ok

    def referral(n, **values):
        return records.add_referral({"reference": f"P-{n}", "crime_ref": f"P/{n}", "offence_date": "2024-03-01",
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
def test_a_demo_for_another_force_with_outcome_22_is_followed_everywhere(db, capsys, monkeypatch):
    engine = get_engine(db)
    saved, chosen = programme.save({"force": "durham", "launch": "2019-04-01", "diversion_outcome": 22}, "test",
                                   engine=engine)
    assert saved.ok
    summary = load_demo(engine, seed=3, scale=1.0, as_of=date(2024, 12, 31))
    with engine.connect() as conn:
        areas = {r[0] for r in conn.execute(text("SELECT DISTINCT area FROM offence"))}
        forces_used = {r[0] for r in conn.execute(text("SELECT DISTINCT force FROM offence"))}
        referred_outcomes = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT o.outcome FROM referral r JOIN offence o ON o.id = r.offence_id"))}
        first_referral = conn.execute(text("SELECT min(referred_at) FROM referral")).scalar_one()
    assert areas == {a["code"] for a in census.force_areas("durham")} and forces_used == {"durham"}
    assert referred_outcomes == {22} and str(first_referral) >= "2019-04-01"

    capsys.readouterr()
    assert main(["--db", db, "metrics", "volume-change", "--as-of", "2024-12-31", "--format", "json"]) == 0
    (change,) = json.loads(capsys.readouterr().out)
    assert (change["before_end"], change["after_start"]) == ("2019-03-31", "2019-04-01")
    assert main(["--db", db, "metrics", "outcomes", "--as-of", "2024-12-31", "--format", "json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["ethnic_group"] == "All"]
    assert (rows[0]["before_start"], rows[0]["after_start"]) == ("2018-01-01", "2020-01-01")
    diverted = next(r for r in rows if r["outcome"] == "Diversionary or intervention activity")
    assert diverted["count_before"] == 0 and diverted["count_after"] > 0

    monkeypatch.setenv("DIVERT_DATABASE_URL", db)
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=120)
    at.run()
    login = next(x for x in summary["logins"] if x["role"] == "viewer")
    next(t for t in at.text_input if t.label == "Username").input(login["username"])
    next(t for t in at.text_input if t.label == "Password").input(login["password"])
    next(b for b in at.button if b.label == "Sign in").click().run()
    at.switch_page("pages/methods.py").run()
    assert not at.exception
    assert any("April 2019" in m.value for m in at.markdown)
