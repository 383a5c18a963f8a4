"""The Disparity page in the real app (AppTest) on the demo: the denominator is printed under
the rates, a census choice changes it, and a force without 2021 figures is named, not hidden."""

from __future__ import annotations

import pytest
from apptesting import AFTER_DEMO, signed_in
from clock import frozen
from dbfixtures import DEMO_AS_OF, SMALL_DEMO, demo_url
from sqlalchemy import text

from divert.storage.db import get_engine

pytestmark = pytest.mark.usefixtures("navigation_only")


@pytest.fixture
def demo(tmp_path, monkeypatch):
    """This test's copy of the demo (one test changes it), opened the morning after it ends."""
    url, summary = demo_url(tmp_path, **SMALL_DEMO)
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)
    admin = next(login["username"] for login in summary["logins"] if login["role"] == "admin")
    with frozen(AFTER_DEMO):
        yield get_engine(url), admin


def disparity_page(admin):
    return signed_in(admin, "pages/disparity.py")  # the app's run tops the census up, as on the server


def denominators(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Denominator:")]


def test_the_denominator_is_printed_and_follows_the_census_choice(demo):
    _, admin = demo
    at = disparity_page(admin)
    next(d for d in at.date_input if d.label == "As of").set_value(DEMO_AS_OF).run()  # the demo's last day
    assert not at.exception, at.exception
    lines = denominators(at)  # the last 12 months (October 2024 to September 2025): the 2021 census, never 2011
    searches, pathway = lines[0], next(line for line in lines if "first step" in line)
    for line in (searches, pathway):
        assert "per 1,000 residents a year over 1.00 years" in line and line.endswith("2021 census (the latest, held).")
    assert any("each calendar year over its own residents: interpolated" in line for line in lines), lines
    assert not [w.value for w in at.warning if "census" in w.value]
    at.radio(key="disparity_census").set_value("2011").run()
    assert not at.exception
    assert denominators(at)[0].endswith("populations 2024-2025: 2011 census."), denominators(at)


def test_a_force_without_2021_figures_is_named_on_the_page(demo):
    engine, admin = demo
    disparity_page(admin)  # loads the census
    with engine.begin() as conn:
        # the force's 2021 rows belong to another force now: the census top-up (keyed on area codes) adds nothing back
        conn.execute(text("UPDATE population SET force = 'elsewhere' WHERE census_year = 2021 AND force = 'west-midlands'"))
        conn.execute(text("UPDATE data_version SET version = version + 1"))
    at = disparity_page(admin)
    warnings = [w.value for w in at.warning]
    assert any("No 2021 census figures for: west-midlands" in w for w in warnings), warnings
    assert any("2011 census for every year: no 2021 census figures for west-midlands" in w for w in warnings), warnings


def test_a_filter_that_leaves_nothing_to_draw_says_so_and_keeps_the_table(demo):
    """Women only: the formal-outcome series has rows (all hidden by the comparison with
    men, none left to draw) - the tab says there is nothing to draw, and never fails."""
    _, admin = demo
    at = disparity_page(admin)
    next(s for s in at.selectbox if s.label == "Sex").set_value("F").run()
    assert not at.exception, at.exception
    assert any("Nothing to draw for these filters" in i.value for i in at.info), [i.value for i in at.info]


def test_the_page_opens_on_the_programmes_own_pathway(demo):
    _, admin = demo
    at = disparity_page(admin)
    sections = ["Diversion pathway", "Stop and search", "Formal outcomes over time"]
    assert [t.label for t in at.tabs if t.label in sections] == sections  # the first tab is the one open
