"""Browser tests: the real app (`streamlit run app.py`, through divert.bench.served.App) driven by
Debian's Chromium through Playwright. A missing Chromium fails the tests; it never skips them.

Servers (fewer is faster):
- `demo_app` (session): ONE server on the demo database, shared by every test that only reads
  and by the tests that write only records or accounts of their own (unique references and
  usernames), so that no other test's expectations depend on whether they ran first. A test
  that writes computes its own "before" figures.
- `empty_app` (per test): an empty database, for the first-run setup.
- the single sign-on and replica modules start their own (other settings, PostgreSQL), and
  `divert bench` starts its own.

Dates: the server runs on the real clock (the browser's cookie store does too, so neither can be
moved to a fixed date), so its demo ends on the UK's yesterday, taken once per run, and no test
assumes a particular day: each works out the dates it needs from that day.

Every module is marked e2e. Its tests are spread over the workers one by one like the rest of the
suite (a module with a server of its own runs on one worker as a unit: tests/conftest.py), so
each worker starts Chromium and the demo server once, when its first browser test needs them: a
browser test mostly waits (on the server and on drawing), and packed onto one or two workers
they were the whole run's critical path."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import timedelta

import pytest
from browser import TIMEOUT_MS, Screenshots, Served, demo_database, settle
from dbfixtures import ON_POSTGRES, main_url

from divert.bench import chromium
from divert.core import clock


@pytest.fixture(scope="session")
def chromium_browser():
    why = chromium.unavailable()
    if why:
        pytest.fail(f"browser tests cannot run: {why}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def demo_day():
    """The last day of the demo data: yesterday in the UK, when this run began."""
    return clock.today() - timedelta(days=1)


@pytest.fixture(scope="session")
def person_key():
    """The person key of this run's demo databases (the servers are given it too): the same in
    every worker of the run, as they copy one demo template, made under the first one's key."""
    run = os.environ.get("DIVERT_TEST_TEMPLATES") or secrets.token_hex(16)  # named once per run (tests/conftest.py)
    return hashlib.sha256(f"browser tests' person key {run}".encode()).hexdigest()


@pytest.fixture(autouse=True)
def same_person_key(monkeypatch, person_key):
    """Records a test writes itself (not through the app) are keyed as the app keys them."""
    monkeypatch.setenv("DIVERT_PERSON_KEY", person_key)


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory, demo_day, person_key):
    """The app on the demo (one account per role, `logins`), shared by the whole run."""
    folder = tmp_path_factory.mktemp("demo-app")
    url, summary = demo_database(folder, person_key, demo_day)
    kept = _kept_for_the_session(url)
    app = Served(folder, url, env={"DIVERT_PERSON_KEY": person_key})
    app.logins = {login["role"]: login for login in summary["logins"]}
    app.start()
    yield app
    app.stop()
    if kept is not None:
        kept.drop()


def _kept_for_the_session(url: str):
    """Under DIVERT_TEST_BACKEND=postgres the demo copy is a PostgreSQL database that the root
    conftest drops at the end of each module: keep this one until the session ends."""
    if not ON_POSTGRES:
        return None
    import dbfixtures

    database = next(made for made in dbfixtures._made if made.url == url)
    dbfixtures._made.remove(database)
    return database


@pytest.fixture
def empty_app(tmp_path_factory):
    """The app on an empty database: first run."""
    folder = tmp_path_factory.mktemp("empty-app")
    app = Served(folder, main_url(folder)).start()
    yield app
    app.stop()


@pytest.fixture(scope="session")
def spare_contexts(chromium_browser):
    """Browser contexts kept between tests, emptied after each (pages closed, cookies and stored
    data cleared): a new context would load Streamlit's whole frontend again (about 0.7 s)."""
    spare: list = []
    yield spare
    for context in spare:
        context.close()


@pytest.fixture
def open_page(chromium_browser, spare_contexts, tmp_path):
    """A factory of browser tabs, each in a context of its own (separate cookies), each tab with
    .shots(step) for screenshots under the test's tmp dir (DIVERT_TEST_SHOTS=1) and .settle() to wait for the app to
    be idle. `viewport`: the window size (1280 x 860 unless given)."""
    used = []
    shots = Screenshots(tmp_path)

    def new_page(viewport: dict | None = None):
        if spare_contexts:
            context = spare_contexts.pop()
        else:
            context = chromium_browser.new_context(viewport={"width": 1280, "height": 860})
            context.set_default_timeout(TIMEOUT_MS)
            chromium.watch(context)
        used.append(context)
        tab = context.new_page()
        if viewport:
            tab.set_viewport_size(viewport)
        tab.shots = lambda step: shots(tab, step)
        tab.settle = lambda: settle(tab)
        return tab

    yield new_page
    from playwright.sync_api import Error as PlaywrightError

    for context in used:
        try:
            for tab in context.pages:
                if tab.url.startswith("http"):
                    tab.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
                tab.close()
            context.clear_cookies()
        except PlaywrightError:  # a context in a state of its own (a test failed in it): not kept
            context.close()
        else:
            spare_contexts.append(context)


@pytest.fixture
def page(open_page):
    return open_page()
