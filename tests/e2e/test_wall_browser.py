"""The Wall view in the browser: left alone, it shows a referral written meanwhile (through
divert.records, as any write) within its refresh period, with nobody clicking, and signs itself
out when its account is disabled, as a click would. The server here
looks every 2 seconds (DIVERT_WALL_REFRESH_SECONDS) instead of every minute. Screenshots under the
test's tmp dir (screenshots/, with DIVERT_TEST_SHOTS=1), the viewer's at the size of a meeting-room screen (1400 x 900)."""

from __future__ import annotations

import re
import secrets

import pytest
from browser import Served, demo_database, sign_in
from playwright.sync_api import expect

from divert.analytics.calendar.months import default_as_of
from divert.auth import accounts
from divert.core import clock
from divert.records.referrals import add_referral
from divert.web import wall

pytestmark = [pytest.mark.e2e]

REFRESH_SECONDS = 2
SCREEN = {"width": 1400, "height": 900}


@pytest.fixture(scope="module")
def wall_app(tmp_path_factory, demo_day, person_key):
    """The app on a copy of the browser tests' demo, its wall looking for new data every 2 s."""
    folder = tmp_path_factory.mktemp("wall-app")
    url, summary = demo_database(folder, person_key, demo_day)
    app = Served(folder, url, env={"DIVERT_PERSON_KEY": person_key, wall.REFRESH_ENV: str(REFRESH_SECONDS)})
    app.logins = {login["role"]: login for login in summary["logins"]}
    app.start()
    yield app
    app.stop()


def referrals_card(page):
    """The number on the wall's Referrals card."""
    label = page.get_by_test_id("stMetricLabel").filter(has_text=re.compile(r"^\s*Referrals\s*$"))
    card = page.get_by_test_id("stMetric").filter(has=label)
    expect(card).to_have_count(1)
    return card.get_by_test_id("stMetricValue")


def one_referral(app) -> None:
    """A referral made on the wall's as-of date (the last month end), so it counts in its 12 months."""
    day = default_as_of(clock.today())
    tag = secrets.token_hex(3).upper()
    values = {"reference": f"WALL-{tag}", "crime_ref": f"WALL/{tag}/26", "offence_date": day.isoformat(),
              "referred_at": f"{day:%Y-%m-%d} 10:30", "area": "E08000025", "drug": "CAN", "source": "stop_search",
              "person_ref": f"WALL PERSON {tag}", "sex": "F", "birth_year": "1990", "ethnicity_self": "W1",
              "ethnicity_officer": "IC1"}
    saved = add_referral(values, "test", engine=app.engine())
    assert saved.ok, saved.problems


def test_the_wall_redraws_itself_after_a_write_without_a_click(wall_app, open_page):
    viewer = open_page(SCREEN)
    sign_in(viewer, wall_app, "viewer", path="/wall", lands_on="Wall view")
    expect(viewer.get_by_test_id("stVegaLiteChart")).to_have_count(3)
    viewer.shots("wall viewer 1400x900")

    manager = open_page(SCREEN)
    sign_in(manager, wall_app, "manager", path="/wall", lands_on="Wall view")
    card = referrals_card(manager)
    before = int(card.inner_text().replace(",", ""))
    expect(manager.get_by_text(re.compile(r"drawn at \d\d:\d\d UK time"))).to_be_visible()

    one_referral(wall_app)
    # nothing is clicked or pressed: the wall looks again by itself (a margin for a busy machine)
    expect(card).to_have_text(f"{before + 1:,}", timeout=(REFRESH_SECONDS + 15) * 1000)
    manager.shots("wall manager after the write")


def test_a_wall_left_open_is_signed_out_when_its_account_is_disabled(wall_app, page):
    """A wall runs without clicks, so it checks the session itself as a click would."""
    username, password = wall_app.add_account("viewer", "wall")
    sign_in(page, wall_app, username, password, path="/wall", lands_on="Wall view")
    assert accounts.set_user_active(username, False, "test", engine=wall_app.engine()).ok
    expect(page.get_by_text("This account has been disabled.")).to_be_visible(timeout=(REFRESH_SECONDS + 15) * 1000)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
