"""Sessions in a real browser: a password change ends the account's other sessions and voids
their cookies, while the browser that made the change stays signed in under a new cookie."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from divert import auth

pytestmark = pytest.mark.e2e
PASSWORD = "hazel-window-2024"
NEW_PASSWORD = "birch-lantern-2025"


@pytest.fixture
def app(empty_app):
    """The running app with two accounts (added before any browser opens it)."""
    from divert.accounts import add_user
    from divert.db import upgrade

    upgrade(empty_app.db_url)
    for username, role in (("nia", "caseworker"), ("boss", "admin")):
        saved = add_user({"username": username, "role": role, "password": PASSWORD}, "test", engine=empty_app.engine())
        assert saved.ok, saved.problems
    return empty_app


def sign_in(page, url, username, password=PASSWORD):
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    page.settle()


def session_cookie(page):
    return [c for c in page.context.cookies() if c["name"] == auth.COOKIE_NAME]


def wait_until(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_password_change_ends_the_other_sessions_and_their_cookies(app, open_page):
    office, home = open_page(), open_page()
    sign_in(office, app.url, "nia")
    sign_in(home, app.url, "nia")
    wait_until(lambda: session_cookie(office) and session_cookie(home))
    old_cookie = session_cookie(home)

    office.goto(app.url + "/account")
    expect(office.get_by_role("heading", name="My account")).to_be_visible()
    office.get_by_role("textbox", name="Current password").fill(PASSWORD)
    office.get_by_role("textbox", name="New password", exact=True).fill(NEW_PASSWORD)
    office.get_by_role("textbox", name="New password again").fill(NEW_PASSWORD)
    office.get_by_role("button", name="Change password").click()
    expect(office.get_by_text("Your password has been changed.")).to_be_visible()
    office.shots("password changed in the office")

    # the other open session ends on its next click
    home.get_by_role("link", name="Volume").click()
    expect(home.get_by_role("button", name="Sign in")).to_be_visible()
    expect(home.get_by_text(auth.ENDED_MESSAGE)).to_be_visible()
    home.shots("the session at home has ended")

    # its cookie, kept by a browser that never deleted it, is void too
    stale = open_page()
    stale.context.add_cookies(old_cookie)
    stale.goto(app.url)
    expect(stale.get_by_role("button", name="Sign in")).to_be_visible()
    stale.settle()
    expect(stale.get_by_test_id("stSidebarNav")).to_have_count(0)

    # the browser that made the change got a new cookie and stays signed in after a reload
    wait_until(lambda: session_cookie(office) and session_cookie(office)[0]["value"] != old_cookie[0]["value"])
    office.reload()
    expect(office.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    office.shots("the office stays signed in")
