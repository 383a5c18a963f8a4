"""Browser tests: the real app (`streamlit run app.py`) on a free port, driven by Debian's
Chromium through Playwright. A missing Chromium fails the tests; it never skips them."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dbfixtures import main_url

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROLES = ("viewer", "manager", "caseworker", "admin")
TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningApp:
    """`streamlit run app.py` against its own database and data folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.db_url = main_url(folder)  # a SQLite file, or PostgreSQL under DIVERT_TEST_BACKEND
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "streamlit.log"
        self.process: subprocess.Popen | None = None

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            DIVERT_DATABASE_URL=self.db_url,
            DIVERT_DATA_DIR=str(self.folder),
            DIVERT_SECRETS=str(self.folder / "no-secrets.toml"),
            PYTHONUNBUFFERED="1",
        )
        env.pop("DIVERT_COOKIE_KEY", None)  # the app makes and keeps its own under data/
        return env

    def start(self) -> RunningApp:
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.port", str(self.port),
            "--server.address", "127.0.0.1",
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT, env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the app exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        return self
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        pytest.fail(f"the app did not become healthy in 60 s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def engine(self):
        from divert.db import get_engine

        return get_engine(self.db_url)

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def _demo_logins(app: RunningApp) -> list[dict]:
    """One account per role: the demo generator's when it is available, else made here."""
    with pytest.MonkeyPatch.context() as patch:
        # keys and the data folder are the app's, never the repository's
        for name, value in app.env().items():
            if name.startswith("DIVERT_"):
                patch.setenv(name, value)
        from divert import settings

        settings._secrets.cache_clear()
        return _make_logins(app)


def _make_logins(app: RunningApp) -> list[dict]:
    from divert.db import upgrade

    upgrade(app.db_url)
    try:
        from divert.demo import load_demo
    except ImportError:
        load_demo = None
    if load_demo is not None:
        summary = load_demo(app.engine(), seed=2020, scale=0.05)
        return list(summary["logins"])
    from divert.accounts import add_user

    logins = []
    for role in ROLES:
        password = secrets.token_urlsafe(12)
        saved = add_user(
            {"username": f"demo.{role}", "display_name": f"Demo {role}", "role": role, "password": password},
            "test", engine=app.engine(), demo=True,
        )
        assert saved.ok, saved.problems
        logins.append({"role": role, "username": f"demo.{role}", "password": password})
    return logins


@pytest.fixture(scope="session")
def chromium_browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # a busy machine is slower than the default 5 s
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The app on a database with one account per role (and a spare to lock out)."""
    app = RunningApp(tmp_path_factory.mktemp("demo-app"))
    app.logins = {login["role"]: login for login in _demo_logins(app)}
    from divert.accounts import add_user

    app.spare_password = secrets.token_urlsafe(12)
    saved = add_user({"username": "spare.caseworker", "role": "caseworker", "password": app.spare_password},
                     "test", engine=app.engine())
    assert saved.ok, saved.problems
    app.start()
    yield app
    app.stop()


@pytest.fixture
def empty_app(tmp_path_factory):
    """The app on an empty database: first run."""
    app = RunningApp(tmp_path_factory.mktemp("empty-app")).start()
    yield app
    app.stop()


@pytest.fixture
def open_page(chromium_browser, tmp_path):
    """A factory of fresh browser contexts (separate cookies), each page with .shots(step)
    for screenshots under the test's tmp dir and .settle() to wait for the app to be idle."""
    contexts = []
    shots = Screenshots(tmp_path)

    def new_page():
        context = chromium_browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        tab = context.new_page()
        tab.shots = lambda step: shots(tab, step)
        tab.settle = lambda: settle(tab)
        return tab

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()


def settle(tab, quiet: float = 0.4, timeout: float = 20.0) -> None:
    """Wait until the app has stopped running its script for `quiet` seconds (widgets such as
    the cookie manager trigger a rerun or two after a page appears)."""
    app = tab.get_by_test_id("stApp")
    deadline = time.monotonic() + timeout
    idle_since = None
    while time.monotonic() < deadline:
        if app.get_attribute("data-test-script-state") == "running":
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= quiet:
            return
        time.sleep(0.05)
    raise AssertionError("the app kept running")


class Screenshots:
    """Numbered screenshots of each step, under the test's tmp dir (screenshots/)."""

    def __init__(self, folder: Path):
        self.folder, self.count = folder / "screenshots", 0
        self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, tab, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower())}.png"
        settle(tab)
        tab.screenshot(path=str(path), full_page=True)
        return path
