"""What the browser tests do to the app, once each: start a server (divert.bench.served.App, the
bench's own runner), wait until the app is idle, sign in, open a page, read a headline figure,
choose in a select box or a grid, take a screenshot.

Waiting is always for something seen: a heading, a message, the app idle (chromium.wait_idle:
no script running and every cookie-manager report answered by a run). Never a fixed sleep."""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from pathlib import Path

import pytest
from dbfixtures import demo_url
from playwright.sync_api import expect

from divert.auth import accounts
from divert.bench import chromium, served
from divert.records import pseudonym
from divert.storage.db import get_engine
from divert.web import access

TIMEOUT_MS = 30_000  # a busy machine is slower than Playwright's default 5 s
SLOW_MS = 90_000  # the first planning page of a data version makes the forecast; first-run demo load
TALL = {"width": 1400, "height": 3000}  # Streamlit scrolls inside the page: a tall window shows it all


class Served(served.App):
    """The app on `db_url`, with its own data folder (keys, log) under `folder`; `env` adds to
    or removes from its environment. `logins`: role -> the demo's login for that role."""

    def __init__(self, folder: Path, db_url: str, *, env: dict[str, str | None] | None = None):
        folder.mkdir(parents=True, exist_ok=True)
        own = {"DIVERT_DATA_DIR": str(folder), "DIVERT_SECRETS": str(folder / "no-secrets.toml"),
               "DIVERT_COOKIE_KEY": None}  # the app makes and keeps its own cookie key under its folder
        super().__init__(db_url, env={**own, **(env or {})}, log=folder / "streamlit.log")
        self.folder = folder
        self.logins: dict[str, dict] = {}

    def start(self) -> Served:
        try:
            super().start()
        except served.BenchProblem as problem:
            pytest.fail(f"{problem}\n{self.log_text()}")
        return self

    def engine(self):
        return get_engine(self.db_url)

    def add_account(self, role: str, prefix: str = "e2e") -> tuple[str, str]:
        """A new account of `role` with a name no other test uses; returns (username, password)."""
        username, password = f"{prefix}.{secrets.token_hex(3)}", secrets.token_urlsafe(12)
        saved = accounts.add_user({"username": username, "role": role, "password": password}, "test",
                                  engine=self.engine())
        assert saved.ok, saved.problems
        return username, password


def demo_database(folder, person_key: str, as_of) -> tuple[str, dict]:
    """A copy of the browser tests' demo (seed 2020 at 1/20 of a force: quick to load, and enough
    for every page to draw), made under `person_key`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIVERT_PERSON_KEY", person_key)
        url, summary = demo_url(folder, seed=2020, scale=0.05, as_of=as_of)
        # bound to the key now (its fingerprint recorded), not by whichever process writes first
        assert pseudonym.ensure_key(get_engine(url)) is None, "the demo was made under another person key"
    return url, summary


# --- waiting ---------------------------------------------------------------------------------
def settle(page, timeout_ms: float = TIMEOUT_MS) -> None:
    """Wait until the app has finished the runs it makes by itself. Call it once what the last
    action leads to is on the page (a run not begun yet cannot be waited for)."""
    chromium.wait_idle(page, timeout_ms)


def heading(page, title: str):
    return page.get_by_role("heading", name=title, exact=True).first


def visit(page, app, path: str, title: str | None = None) -> None:
    """Open the page at `path` (with any query) by its address: a new app session, signed in again
    from the cookie. Waits for its heading `title` (else for any page heading) and for the app."""
    page.goto(app.url + path)
    expect(heading(page, title) if title else page.get_by_role("heading", level=1).first).to_be_visible()
    settle(page)


def follow_menu(page, title: str, timeout_ms: float = TIMEOUT_MS) -> None:
    """Open the page `title` from the sidebar menu (within the app session: one run, where an
    address opens a new session) and wait for it."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    expect(heading(page, title)).to_be_visible(timeout=timeout_ms)
    settle(page, timeout_ms)


def runs(page) -> int:
    """How many runs of the app's script the page has seen begin (chromium.watch counts them)."""
    return page.evaluate("window.__divertWatch.started")


def ran_since(page, before: int) -> None:
    """Wait for a run begun after `before` (runs(page) then) and for the app to be idle."""
    page.wait_for_function("(before) => window.__divertWatch.started > before", arg=before)
    settle(page)


def recorded(check, what: str, timeout_ms: float = TIMEOUT_MS) -> None:
    """Wait until `check()` (a look at the database) is true: for what the app writes when a run
    ends, which the page may not show (the same message for every wrong password)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not check():
        assert time.monotonic() < deadline, f"not recorded within {timeout_ms / 1000:.0f} s: {what}"
        threading.Event().wait(0.05)  # the database is polled: there is no event to wait on


# --- signing in ------------------------------------------------------------------------------
def sign_in(page, app, who: str, password: str | None = None, *, path: str = "/",
            lands_on: str | None = "Overview") -> None:
    """Sign in as `who` (a role: the demo's login for it; else a username with `password`) on the
    page at `path`. With `lands_on`, wait for that page and for the sign-in cookie to be stored."""
    if password is None:
        login = app.logins[who]
        who, password = login["username"], login["password"]
    chromium.sign_in(page, app.url + path, who, password, TIMEOUT_MS)
    if lands_on is None:
        return
    expect(heading(page, lands_on)).to_be_visible()
    settle(page)  # the run after sign-in has had the cookie manager store the cookie
    assert session_cookie(page), "no sign-in cookie after signing in"


def send_sign_in(page, username: str, password: str) -> None:
    """Send the sign-in form already on the page (no page opened first)."""
    chromium.send_sign_in(page, username, password, TIMEOUT_MS)


def session_cookie(page) -> list[dict]:
    return [cookie for cookie in page.context.cookies() if cookie["name"] == access.COOKIE_NAME]


def signed_out(page) -> None:
    """The sign-in form, and no menu."""
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    settle(page)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)


# --- reading and choosing --------------------------------------------------------------------
def metric(page, label: str) -> str:
    """The value shown on the headline card `label`."""
    box = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True)).first
    return box.get_by_test_id("stMetricValue").inner_text().strip()


def count(page, label: str) -> int:
    text = metric(page, label)
    assert re.fullmatch(r"[\d,]+", text), f"the {label} card shows {text!r}, not a count"
    return int(text.replace(",", ""))


def choose(page, label: str, option, *, exact: bool = True, typed: str | None = None) -> None:
    """Pick `option` (text, or a pattern) in the select box `label` and wait for the run it makes.
    `typed`: text typed into the box first, to narrow a long list (it draws only the options that
    fit) to the wanted one."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    if typed:
        box.fill(typed)
    page.get_by_role("option", name=option, exact=exact if isinstance(option, str) else None).click()
    expect(box).to_have_value(option)
    settle(page)


def expand(page, label: str) -> None:
    """Open the expander `label` and wait for its opening animation to end (a click on a select
    box while the expander still grows focuses the box without opening its list)."""
    expander = page.get_by_test_id("stExpander").filter(has=page.get_by_text(label, exact=True))
    expander.get_by_text(label, exact=True).click()
    expect(expander.locator("details")).to_have_attribute("open", "")
    page.wait_for_function("(e) => e.getAnimations({subtree: true}).length === 0", arg=expander.element_handle())


def choose_first_row(page, grid) -> None:
    """Tick the first row's selection box in a table grid (drawn on a canvas: aimed at)."""
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)


# --- by keyboard only ---------------------------------------------------------------------
# What a keyboard user does: focus a control (Tab would reach it; Playwright focuses it directly),
# then type, or press Enter, Space or an arrow key. No mouse click anywhere.
def key_sign_in(page, app, role: str, *, path: str = "/", lands_on: str = "Overview") -> None:
    """Sign in as the demo's `role` by keyboard: type the username and password, press Enter."""
    login = app.logins[role]
    page.goto(app.url + path)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    settle(page)  # typing while a run goes on can be lost
    page.get_by_role("textbox", name="Username").fill(login["username"])
    password = page.get_by_role("textbox", name="Password")
    password.fill(login["password"])
    password.press("Enter")
    expect(heading(page, lands_on)).to_be_visible()
    settle(page)  # the run after sign-in has had the cookie manager store the cookie
    assert session_cookie(page), "no sign-in cookie after signing in"


def key_menu(page, title: str, timeout_ms: float = TIMEOUT_MS) -> None:
    """Open the page `title` from the sidebar menu by keyboard (its link focused, Enter)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).press("Enter")
    expect(heading(page, title)).to_be_visible(timeout=timeout_ms)
    settle(page, timeout_ms)


def key_press(control, key: str = "Enter") -> None:
    """Focus `control` (a button, link, tab, radio button or tick box) and press `key`: Enter for
    a button, link or tab, Space for a radio button or a tick box."""
    control.press(key)


def key_choose(page, label: str, typed: str, option=None) -> None:
    """Choose in the select box `label` by keyboard: type `typed` into it (narrowing the list to
    a few options), wait for `option` (exact text or a pattern; `typed` unless given) among them,
    move down with the arrow key until it is the highlighted one, press Enter, and wait for the
    run it makes. A run that ends meanwhile can redraw the box (its list closed or its typing
    undone): then it is done again, up to three times."""
    wanted = typed if option is None else option
    exact = isinstance(wanted, str)
    box = page.get_by_role("combobox", name=label, exact=True)
    listed = page.get_by_role("option", name=wanted, exact=True if exact else None)

    def is_wanted(text: str) -> bool:
        return text.strip() == wanted if exact else bool(wanted.search(text.strip()))

    for _ in range(3):
        settle(page)  # the run the last field's change makes, which redraws the form
        box.focus()
        settle(page)  # leaving a text box for this one sends what was typed there: another run
        box.fill("")
        box.fill(typed)
        try:
            expect(listed).to_be_visible(timeout=10_000)
        except AssertionError:
            continue
        for _ in range(page.get_by_role("option").count()):
            if is_wanted(_highlighted(page, box)):
                break
            box.press("ArrowDown")
        box.press("Enter")
        settle(page)
        # read at once, never waited for: a choice that opens another page takes the box away,
        # maybe between a look for it and a read of it
        held = box.evaluate_all("(boxes) => boxes.map((box) => box.value)")
        if not held or is_wanted(held[0]):
            return
    expect(box).to_have_value(wanted)  # says what it holds instead


def _highlighted(page, box) -> str:
    """The text of the option the select box's list highlights (its active descendant)."""
    return page.evaluate("(input) => document.getElementById(input.getAttribute('aria-activedescendant'))?.innerText || ''",
                         box.element_handle())


def key_expand(page, label: str) -> None:
    """Open the expander `label` by keyboard (its summary focused, Enter) and wait for its
    opening animation to end."""
    expander = page.get_by_test_id("stExpander").filter(has=page.get_by_text(label, exact=True))
    expander.locator("summary").press("Enter")
    expect(expander.locator("details")).to_have_attribute("open", "")
    page.wait_for_function("(e) => e.getAnimations({subtree: true}).length === 0", arg=expander.element_handle())


# --- screenshots -----------------------------------------------------------------------------
SHOTS = os.environ.get("DIVERT_TEST_SHOTS") == "1"  # screenshots are taken only when asked for


class Screenshots:
    """Numbered screenshots of each step, under the test's tmp dir (screenshots/), when the run
    is asked for them (DIVERT_TEST_SHOTS=1: a person looking at the pages; each costs the browser
    an image encoding, so other runs only wait for the app to be idle, as a screenshot does). A
    screenshot is of the window (Streamlit scrolls inside the page: the window is all there is)."""

    def __init__(self, folder: Path):
        self.folder, self.count = folder / "screenshots", 0

    def __call__(self, page, step: str) -> Path | None:
        settle(page)
        if not SHOTS:
            return None
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower())}.png"
        page.screenshot(path=str(path))
        return path
