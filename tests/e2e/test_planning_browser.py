"""The planning pages in a real browser: capacity, forecast, scenario planner and launch
planner render for a manager and an administrator, and moving a slider on the scenario
planner changes the projected wait. Full-page screenshots go under each test's tmp dir."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PLANNING = ("Capacity", "Forecast", "Scenario planner", "Launch planner")
TIMEOUT_MS = 90_000  # the first planning page of a data version makes the forecast; CI machines are slow


class Shots:
    """Numbered full-page screenshots of each step, under the test's tmp dir."""

    def __init__(self, tab, folder: Path):
        self.tab, self.folder, self.count = tab, folder / "screenshots", 0
        self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower())}.png"
        self.tab.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def tall_page(chromium_browser, tmp_path):
    """A tall window: Streamlit scrolls inside the page, so a full-page screenshot shows only
    what fits in the window."""
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 4000})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.shots = Shots(tab, tmp_path)
    yield tab
    context.close()


def sign_in(page, app, role):
    login = app.logins[role]
    page.goto(app.url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    settle(page)  # typing into the form while the first run is still going can be lost
    page.get_by_role("textbox", name="Username").fill(login["username"])
    page.get_by_role("textbox", name="Password").fill(login["password"])
    page.get_by_role("button", name="Sign in").click()
    try:
        expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    except AssertionError:
        page.shots(f"{role} sign-in failed")
        raise
    settle(page)  # the run after sign-in stores the sign-in cookie


def settle(page):
    """Wait until the script run has finished (no 'Running' status, no spinner)."""
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("stSpinner")).to_have_count(0)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)


def open_page(page, title):
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    try:
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
        settle(page)
        expect(page.get_by_test_id("stMetric").first).to_be_visible()
        settle(page)
    except AssertionError:
        page.shots(f"failed to open {title}")  # what the page showed instead
        raise


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_each_planning_page_renders(demo_app, tall_page, role):
    sign_in(tall_page, demo_app, role)
    for title in PLANNING:
        open_page(tall_page, title)
        expect(tall_page.get_by_test_id("stException")).to_have_count(0)
        expect(tall_page.get_by_text("Traceback")).to_have_count(0)
        tall_page.shots(f"{role} {title}")
    assert "Error" not in demo_app.log_text()


def wait_value(page, label):
    return (page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
            .get_by_test_id("stMetricValue"))


def test_moving_a_slider_changes_the_projected_wait(demo_app, tall_page):
    sign_in(tall_page, demo_app, "manager")
    open_page(tall_page, "Scenario planner")
    wait = wait_value(tall_page, "Wait to a course")
    before = wait.inner_text().strip()
    assert re.fullmatch(r"[\d,.]+", before), before
    tall_page.shots("scenario planner as the service is now")

    sessions = tall_page.get_by_test_id("stSlider").filter(has_text="Sessions per week").get_by_role("slider")
    sessions.focus()
    sessions.press("Home")  # no sessions at all
    expect(wait).to_have_text("No capacity")
    settle(tall_page)
    tall_page.shots("no sessions")

    sessions.press("ArrowRight")  # one session a fortnight
    expect(wait).not_to_have_text("No capacity")
    settle(tall_page)
    after = wait.inner_text().strip()
    assert re.fullmatch(r"[\d,.]+", after) and float(after.replace(",", "")) >= float(before.replace(",", "")), after
    expect(tall_page.get_by_test_id("stException")).to_have_count(0)
    tall_page.shots("one session a fortnight")
