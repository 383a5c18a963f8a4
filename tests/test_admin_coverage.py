"""The Data coverage page (administrators only): the months each source holds per force, with
the gaps, from the same function as `divert status`; other roles are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptesting import REFUSED, messages, signed_in

from divert import accounts
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
    durham = table[(table["source"] == "Stop and search") & (table["force"] == "durham")].iloc[0]
    assert durham["months_held"] == 2 and durham["months_missing"] == 1 and durham["missing"] == "January 2020"
    derbyshire = table[(table["force"] == "derbyshire")].iloc[0]
    assert derbyshire["months_missing"] == 0
    assert "missing months" in messages(at, "warning")


@pytest.mark.parametrize("role", ["viewer", "manager", "caseworker"])
def test_other_roles_are_refused(db, role):
    at = on_the_page(db, role)
    assert REFUSED in messages(at, "warning")
    assert not at.dataframe
