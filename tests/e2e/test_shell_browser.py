"""The app shell in a real browser: sign in as each role and see its menu, sign out (the cookie
then void), a forbidden page opened by its address, lockout after five wrong passwords,
first-run setup.

Screenshots of every step are saved under each test's tmp dir (screenshots/, with DIVERT_TEST_SHOTS=1)."""

from __future__ import annotations

import re

import pytest
from browser import (
    SLOW_MS,
    heading,
    ran_since,
    recorded,
    runs,
    send_sign_in,
    session_cookie,
    settle,
    sign_in,
    signed_out,
)
from playwright.sync_api import expect
from sqlalchemy import select

from divert.auth import accounts
from divert.core import codes
from divert.storage.db import session_scope
from divert.storage.models import AuditEvent
from divert.web import access

pytestmark = [pytest.mark.e2e]


def menu(page) -> dict[str, list[str]]:
    """The sidebar navigation as shown: section -> page titles."""
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_be_visible()
    out: dict[str, list[str]] = {}
    section = ""
    for item in nav.locator("[data-testid=stNavSectionHeader], [data-testid=stSidebarNavLink]").all():
        lines = [line.strip() for line in item.inner_text().splitlines() if line.strip()]
        if item.get_attribute("data-testid") == "stNavSectionHeader":
            section = lines[0]  # before the expand/collapse icon's name
        else:
            out.setdefault(section, []).append(lines[-1])  # after the page icon's name
    return out


def expected_menu(role):
    return {section: [spec.title for spec in specs] for section, specs in access.menu(role).items()}


def wait_for_page(page, title):
    expect(heading(page, title)).to_be_visible()
    settle(page)


@pytest.mark.parametrize("role", ("viewer", "manager", "caseworker", "admin"))
def test_each_role_signs_in_and_sees_its_menu(demo_app, page, role):
    login = demo_app.logins[role]
    page.goto(demo_app.url)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    page.shots(f"{role} sign-in page")  # (a screenshot waits for the app to be idle)

    send_sign_in(page, login["username"], login["password"])
    wait_for_page(page, "Overview")  # and the cookie manager has stored the cookie
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_have_count(0)  # the form is gone
    expect(page.get_by_text(f"· {codes.ROLES[role]}").first).to_be_visible()
    expect(page.get_by_test_id("stMetric").first).to_be_visible()  # the headline figures
    assert menu(page) == expected_menu(role)
    page.shots(f"{role} signed in")
    cookies = session_cookie(page)
    assert cookies and cookies[0]["sameSite"] == "Strict"


def test_the_cookie_signs_in_again_until_signing_out_voids_it(demo_app, page):
    """Role by role the same code: once is enough (the menu above is what differs by role)."""
    sign_in(page, demo_app, "caseworker")
    cookies = session_cookie(page)
    page.reload()  # a new session, signed in again from the cookie
    wait_for_page(page, "Overview")
    assert menu(page) == expected_menu("caseworker")
    assert runs(page) == 1  # read from the request: no cookie component, and no second run for it
    assert page.locator('iframe[src*="cookie_manager"]').count() == 0

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.").first).to_be_visible()
    signed_out(page)
    page.shots("caseworker signed out")

    page.context.add_cookies(cookies)  # even if the browser had kept the old cookie...
    page.reload()
    signed_out(page)  # ...it is void


def test_a_forbidden_page_opened_by_address_shows_no_data(demo_app, page):
    sign_in(page, demo_app, "viewer")
    page.shots("viewer landing page")

    others = [login["username"] for role, login in demo_app.logins.items() if role != "viewer"]
    for path in ("/admin_users", "/admin_audit", "/admin_settings"):
        page.goto(demo_app.url + path)  # a new session: signed in again from the cookie
        expect(page.get_by_text("This page is not available to your role: Viewer (OPCC).")).to_be_visible()
        page.shots(f"viewer opens {path}")
        body = page.locator("body").inner_text()
        for username in others:
            assert username not in body
        assert page.get_by_test_id("stDataFrame").count() == 0
        assert page.get_by_test_id("stNumberInput").count() == 0
        assert "Users" not in menu(page).get("Admin", [])


def test_a_deep_link_signs_in_then_opens_the_page(demo_app, page):
    sign_in(page, demo_app, "admin", path="/admin_audit", lands_on="Audit log")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    page.shots("admin audit log after deep link")


def test_five_wrong_passwords_lock_the_account(demo_app, page, open_page):
    engine = demo_app.engine()
    username, password = demo_app.add_account("caseworker", "locked")  # this test's own account
    page.goto(demo_app.url)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    settle(page)
    for attempt in range(1, 6):
        before = runs(page)
        send_sign_in(page, username, f"wrong-password-{attempt}")
        ran_since(page, before)
        recorded(lambda n=attempt: accounts.get_account(username, engine).failed_logins >= n, f"wrong password {attempt}")
        assert accounts.get_account(username, engine).failed_logins == attempt
        message = access.LOCKED_MESSAGE if attempt == 5 else access.WRONG_MESSAGE
        expect(page.get_by_text(message)).to_be_visible()
        page.shots(f"wrong password {attempt}")
    # the right password, while locked, from a fresh browser (no message on screen before)
    fresh = open_page()
    sign_in(fresh, demo_app, username, password, lands_on=None)
    expect(fresh.get_by_text(access.LOCKED_MESSAGE)).to_be_visible()
    signed_out(fresh)
    fresh.shots("right password while locked")

    account = accounts.get_account(username, engine)
    assert account.locked() and account.failed_logins == 5
    with session_scope(engine) as s:
        query = select(AuditEvent.action).where(AuditEvent.username == username)
        actions = list(s.execute(query).scalars())
    assert actions.count("sign_in_failed") == 5 and actions.count("lockout") == 1
    assert "sign_in" not in actions


def test_first_run_setup_on_an_empty_database(empty_app, page):
    page.goto(empty_app.url)
    expect(page.get_by_role("heading", name="Set up Divert")).to_be_visible()
    page.shots("setup page")

    page.get_by_role("textbox", name="Username").fill("chief")
    page.get_by_role("textbox", name="Password", exact=True).fill("chief")
    page.get_by_role("textbox", name="Password again").fill("chief")
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text("must be at least 12 characters")).to_be_visible()
    page.shots("setup refuses a short password")

    password = "first-admin-secret-9"
    page.get_by_role("textbox", name="Password", exact=True).fill(password)
    page.get_by_role("textbox", name="Password again").fill(password)
    # the demonstration data's loading through this form: test_app_shell (the same page, in process)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text(re.compile("Setup is complete"))).to_be_visible(timeout=SLOW_MS)
    page.shots("setup complete, sign in")

    send_sign_in(page, "chief", password)
    wait_for_page(page, "Overview")
    assert menu(page) == expected_menu("admin")
    expect(page.get_by_text("No offences or referrals are recorded yet")).to_be_visible()  # the empty state
    page.shots("first administrator signed in")

    page.goto(empty_app.url + "/setup")  # the setup page is gone for good
    expect(heading(page, "Overview")).to_be_visible()
    expect(page.get_by_role("heading", name="Set up Divert")).to_have_count(0)
    page.shots("setup address after setup")
