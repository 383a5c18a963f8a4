"""Sessions in a real browser: a password change ends the account's other sessions and voids
their cookies, while the browser that made the change stays signed in under a new cookie."""

from __future__ import annotations

import pytest
from browser import heading, session_cookie, settle, sign_in, signed_out
from playwright.sync_api import expect

from divert.web import access

pytestmark = [pytest.mark.e2e]
NEW_PASSWORD = "birch-lantern-2025"


def test_a_password_change_ends_the_other_sessions_and_their_cookies(demo_app, open_page):
    username, password = demo_app.add_account("caseworker", "nia")  # this test's own account
    office, home = open_page(), open_page()
    sign_in(office, demo_app, username, password, path="/account", lands_on="My account")  # (with its cookie)
    sign_in(home, demo_app, username, password)
    old_cookie = session_cookie(home)

    office.get_by_role("textbox", name="Current password").fill(password)
    office.get_by_role("textbox", name="New password", exact=True).fill(NEW_PASSWORD)
    office.get_by_role("textbox", name="New password again").fill(NEW_PASSWORD)
    office.get_by_role("button", name="Change password").click()
    expect(office.get_by_text("Your password has been changed.")).to_be_visible()
    office.shots("password changed in the office")  # (a screenshot waits for the app: the new cookie is set)
    new_cookie = session_cookie(office)
    assert new_cookie and new_cookie[0]["value"] != old_cookie[0]["value"]

    # the other open session ends on its next click
    home.get_by_role("link", name="Volume").click()
    expect(home.get_by_text(access.ENDED_MESSAGE)).to_be_visible()
    signed_out(home)
    home.shots("the session at home has ended")

    # its cookie, kept by a browser that never deleted it, is void too
    stale = open_page()
    stale.context.add_cookies(old_cookie)
    stale.goto(demo_app.url)
    signed_out(stale)

    # the browser that made the change stays signed in after a reload, with its new cookie
    office.reload()
    expect(heading(office, "My account")).to_be_visible()
    settle(office)
    expect(office.get_by_test_id("stSidebarNav")).to_be_visible()
    office.shots("the office stays signed in")
