"""The Data coverage page (administrators only): the months each source holds per force, with
the gaps, from the same function as `divert status`; other roles are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptesting import REFUSED, messages, signed_in

from divert.auth import accounts
from divert.ingest.run import import_files

pytestmark = pytest.mark.usefixtures("navigation_only", "clock")
PASSWORD = "willow-harbour-77"
PAGE = "pages/admin_coverage.py"
POLICE_UK = Path(__file__).parent / "fixtures" / "police-uk-sample"


def on_the_page(engine, role: str):
    saved = accounts.add_user({"username": f"the.{role}", "display_name": role.title(), "role": role,
                               "password": PASSWORD}, "test", engine=engine)
    assert saved.ok, saved.problems
    return signed_in(f"the.{role}", PAGE)


def test_admin_sees_each_force_s_months_and_the_gap(db):
    files = [(p.name, p.read_bytes()) for p in sorted(POLICE_UK.glob("*.csv")) if not p.name.startswith("2020-01-durham")]
    assert import_files("stop-search", files, "test", engine=db).written
    at = on_the_page(db, "admin")
    assert not at.exception
    table = at.dataframe[0].value
    durham = table[(table["Source"] == "Stop and search") & (table["Force"] == "Durham Constabulary")].iloc[0]
    assert durham["Months held"] == "2" and durham["Missing"] == 1 and durham["Which"] == "January 2020"
    assert (durham["From"], durham["To"]) == ("1 Dec 2019", "29 Feb 2020")
    derbyshire = table[(table["Force"] == "Derbyshire Constabulary")].iloc[0]
    assert derbyshire["Missing"] == 0
    assert not table.isna().any().any()  # nothing shows as None
    assert "missing months" in messages(at, "warning")


@pytest.mark.parametrize("role", ["viewer", "manager", "caseworker"])
def test_other_roles_are_refused(db, role):
    at = on_the_page(db, role)
    assert REFUSED in messages(at, "warning")
    assert not at.dataframe
