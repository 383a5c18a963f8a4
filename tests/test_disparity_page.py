"""The Disparity page in the real app (AppTest) on the demo: the denominator is printed under
the rates, a census choice changes it, and a force without 2021 figures is named, not hidden."""

from __future__ import annotations

from datetime import date

import pytest
from dbfixtures import main_url
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from divert.db import get_engine, upgrade
from divert.demo import load_demo
from divert.settings import PROJECT_DIR

pytestmark = pytest.mark.usefixtures("navigation_only")
APP = str(PROJECT_DIR / "app.py")


@pytest.fixture
def demo(tmp_path, monkeypatch):
    url = main_url(tmp_path, "divert.db")
    upgrade(url)
    engine = get_engine(url)
    summary = load_demo(engine, seed=5, scale=0.2, as_of=date(2025, 9, 30))
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)
    yield engine, next(login for login in summary["logins"] if login["role"] == "admin")
    engine.dispose()


def disparity_page(login) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()  # the first start tops the census up, as on the server
    next(t for t in at.text_input if t.label == "Username").input(login["username"])
    next(t for t in at.text_input if t.label == "Password").input(login["password"])
    next(b for b in at.button if b.label == "Sign in").click().run()
    at.switch_page("pages/disparity.py").run()
    assert not at.exception, at.exception
    return at


def denominators(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Denominator:")]


def test_the_denominator_is_printed_and_follows_the_census_choice(demo):
    _, login = demo
    at = disparity_page(login)
    lines = denominators(at)  # the last 12 months: after 2021, so the 2021 census, never 2011
    searches, pathway = lines[0], next(line for line in lines if "first step" in line)
    for line in (searches, pathway):
        assert "per 1,000 residents a year over 1.00 years" in line and line.endswith("2021 census (the latest, held).")
    assert any("each calendar year over its own residents: interpolated" in line for line in lines), lines
    assert not [w.value for w in at.warning if "census" in w.value]
    at.radio(key="disparity_census").set_value("2011").run()
    assert not at.exception
    assert denominators(at)[0].endswith("populations 2025-2026: 2011 census."), denominators(at)


def test_a_force_without_2021_figures_is_named_on_the_page(demo):
    engine, login = demo
    disparity_page(login)  # loads the census
    with engine.begin() as conn:
        # the force's 2021 rows belong to another force now: the census top-up (keyed on area codes) adds nothing back
        conn.execute(text("UPDATE population SET force = 'elsewhere' WHERE census_year = 2021 AND force = 'west-midlands'"))
        conn.execute(text("UPDATE data_version SET version = version + 1"))
    at = disparity_page(login)
    warnings = [w.value for w in at.warning]
    assert any("No 2021 census figures for: west-midlands" in w for w in warnings), warnings
    assert any("2011 census for every year: no 2021 census figures for west-midlands" in w for w in warnings), warnings
