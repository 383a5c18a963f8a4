"""The app in this process through Streamlit's AppTest: one way to open it, one way to sign in
through the form, and one way to be signed in already.

- `app_test(script)`: an AppTest of app.py (or of one page file, or a function). Streamlit
  scans every installed package for components at the first run of each AppTest (about 0.2 s,
  more than a whole page run); the scan is made once per test process and shared, as one
  server shares it between its sessions.
- `open_app()`: app.py after its first run (the sign-in page, or the first-run setup).
- `sign_in(at, username, password)`: through the sign-in form - for the tests about signing in.
- `signed_in(username, page)`: app.py with a session already signed in as `username`, exactly
  as the sign-in form leaves it (the Gate's session keys: username, session generation, issue
  and expiry times, session id), opened on `page`. For tests about what a page shows or does,
  not about signing in: no form, no password check, no audit row, no data version moved.
- `as_user(at, username, role)`: a page file run on its own as that user (the page's own role
  check reads the user from the session).
Open pages under a frozen clock (the `clock` fixture, or `clock.frozen(AFTER_DEMO)` for the demo):
the pages, and the session times set here, then read the same calendar on any day.

- `AFTER_DEMO`: 10:30 in London on the day after the shared demo's as-of date: pages opened
  then show the demo as `divert demo` leaves it (data up to yesterday)."""

from __future__ import annotations

import functools
import secrets
from datetime import UTC, datetime, time, timedelta

from clock import LONDON
from dbfixtures import DEMO_AS_OF
from streamlit.testing.v1 import AppTest

from divert.auth import accounts
from divert.core.environment import PROJECT_DIR, database_url
from divert.storage.db import get_engine
from divert.web import access

APP = PROJECT_DIR / "app.py"
AFTER_DEMO = datetime.combine(DEMO_AS_OF + timedelta(days=1), time(10, 30), tzinfo=LONDON)
REFUSED = "not available to your role"


@functools.cache
def _components():
    from streamlit.components.v2.component_manager import BidiComponentManager

    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)
    return manager


def app_test(script=APP, timeout: float = 120) -> AppTest:
    """An AppTest of `script` (a path, or a function run as a script), not yet run."""
    at = AppTest.from_function(script, default_timeout=timeout) if callable(script) else \
        AppTest.from_file(str(script), default_timeout=timeout)
    at._bidi_component_manager = _components()  # what its first run would scan again
    return at


def open_app(timeout: float = 120) -> AppTest:
    at = app_test(APP, timeout).run()
    assert not at.exception, at.exception
    return at


def field(at: AppTest, label: str):
    return next(t for t in at.text_input if t.label == label)


def press(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def messages(at: AppTest, kind: str = "error") -> str:
    return " ".join(str(e.value) for e in getattr(at, kind))


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    """Sign in through the form on the sign-in page."""
    field(at, "Username").input(username)
    field(at, "Password").input(password)
    return press(at, "Sign in")


def signed_in(username: str, page: str | None = None, *, timeout: float = 120) -> AppTest:
    """app.py (on the database DIVERT_DATABASE_URL names) signed in as `username`, after a
    run on `page` (default: the landing page)."""
    account = accounts.get_account(username, get_engine(database_url()))
    assert account is not None and account.active, username
    at = app_test(APP, timeout)
    moment = datetime.now(UTC)
    at.session_state[access.USERNAME_KEY] = account.username
    at.session_state[access.GENERATION_KEY] = account.generation
    at.session_state[access.ISSUED_KEY] = moment
    at.session_state[access.EXPIRES_KEY] = moment + timedelta(hours=8)
    at.session_state[access.SID_KEY] = secrets.token_urlsafe(18)
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    assert access.USER_KEY in at.session_state, messages(at, "info")  # the Gate let the session in
    return at


def as_user(at: AppTest, username: str, role: str) -> AppTest:
    """A page run on its own (no app.py around it) as `username` with `role`."""
    at.session_state[access.USER_KEY] = access.SignedIn(username, username.title(), role, False,
                                                    datetime.now(UTC) + timedelta(hours=8))
    return at
