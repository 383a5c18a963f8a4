"""The planning pages in a real browser: capacity, forecast, scenario planner and launch
planner render for an administrator, and moving a slider on the scenario
planner changes the projected wait. Screenshots go under each test's tmp dir."""

from __future__ import annotations

import re

import pytest
from browser import SLOW_MS, follow_menu, settle, sign_in
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e]

PLANNING = ("Capacity", "Forecast", "Scenario planner", "Launch planner")


@pytest.fixture
def tall_page(open_page):
    """A tall window (Streamlit scrolls inside the page: a screenshot shows what fits in the
    window); the first planning page of a data version makes the forecast, which takes a while."""
    tab = open_page({"width": 1400, "height": 4000})
    tab.set_default_timeout(SLOW_MS)
    return tab


def open_planning_page(page, title):
    """Open a planning page from the menu (within the session) and wait for its figures."""
    follow_menu(page, title, SLOW_MS)
    expect(page.get_by_test_id("stMetric").first).to_be_visible()


def test_each_planning_page_renders(demo_app, tall_page):
    """As an administrator: the manager, who sees the same pages (the same code, for both roles),
    opens the scenario planner below; test_charts renders all four for a manager too."""
    role = "admin"
    logged = len(demo_app.log_text())  # the shared app's log: only what this test makes it write
    sign_in(tall_page, demo_app, role, path="/account", lands_on="My account")  # a page without figures
    for title in PLANNING:
        open_planning_page(tall_page, title)
        expect(tall_page.get_by_test_id("stException")).to_have_count(0)
        expect(tall_page.get_by_text("Traceback")).to_have_count(0)
        tall_page.shots(f"{role} {title}")
    assert "Error" not in demo_app.log_text()[logged:]


def wait_value(page, label):
    return (page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
            .get_by_test_id("stMetricValue"))


def test_moving_a_slider_changes_the_projected_wait(demo_app, tall_page):
    sign_in(tall_page, demo_app, "manager", path="/account", lands_on="My account")
    open_planning_page(tall_page, "Scenario planner")
    wait = wait_value(tall_page, "Wait to a course")
    before = wait.inner_text().strip()
    assert re.fullmatch(r"[\d,.]+", before), before
    tall_page.shots("scenario planner as the service is now")

    sessions = tall_page.get_by_test_id("stSlider").filter(has_text="Sessions per week").get_by_role("slider")
    sessions.focus()
    sessions.press("Home")  # no sessions at all
    expect(wait).to_have_text("No capacity")
    tall_page.shots("no sessions")  # (a screenshot waits for the app to be idle)

    sessions.press("ArrowRight")  # one session a fortnight
    expect(wait).not_to_have_text("No capacity")
    settle(tall_page, SLOW_MS)
    after = wait.inner_text().strip()
    assert re.fullmatch(r"[\d,.]+", after) and float(after.replace(",", "")) >= float(before.replace(",", "")), after
    expect(tall_page.get_by_test_id("stException")).to_have_count(0)
    tall_page.shots("one session a fortnight")
