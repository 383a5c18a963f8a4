"""Browser timing for `divert bench`: how long each dashboard page takes in a real browser,
from opening its address to every chart on it drawn. Reported, never asserted.

How it works
- A manager account `bench-timer` is made (or, if it exists, re-enabled with a new password)
  through divert.auth.accounts, audited as `bench`. Its password is random, lives only in this
  process and is never printed; the account is disabled again when the timing ends, however it
  ends (accounts cannot be deleted, only disabled).
- The real app (`python -m streamlit run app.py`, headless) is started on a free local port
  against the database, and Debian's Chromium (through Playwright) signs in on the My account
  page, so that no dashboard has been drawn (nor its data loaded) before the first timed visit.
  Playwright's sync API runs in a thread of its own, so the timing also runs where an asyncio
  loop is running (a notebook, or a test run that drives its own browser).
- Each page is then opened by its address `runs` times (round by round over the pages). A visit
  ends when the app has stopped running (no running script, status widget, spinner, skeleton or
  stale element), every chart not hidden in a closed tab or expander is drawn (a vega-embed
  canvas or svg; metric sparklines count), and so is every table grid within the window (a grid
  is drawn only once scrolled into view; the window is VIEWPORT), and that state has held for
  QUIET_MS. Its time is the browser's clock (performance.now(), counted from the start of the
  navigation) at which that state began.
- The first visit of a page may include loading the data (the first page of all does, on a fresh
  app); `warm_s` is the median of the later visits. A visit that does not end within
  `timeout_s` is recorded as a timeout (None), never raised.

Chromium and Playwright are optional here: without either, time_pages reports one line and
returns {} so that the rest of the bench still runs.

The browser tests (tests/e2e) drive the app with the same pieces: `App` (the server), `launch`
(Chromium), `watch` and `wait_idle` (the app has finished every run it will make by itself) and
`sign_in` (the sign-in form).
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from divert.core.environment import PROJECT_DIR

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# the dashboards, and the two planning pages that draw charts (url paths: pages/<name>.py)
DASHBOARDS = ("overview", "volume", "pathway", "outcomes", "disparity", "reoffending", "impact", "watch",
              "capacity", "forecast")
TIMER = "bench-timer"  # the account the browser signs in with (a manager: it sees every page above)
ACTOR = "bench"  # who the account changes are audited as (reserved: never a username)
VIEWPORT = {"width": 1400, "height": 1000}
QUIET_MS = 600  # how long the finished state must hold before a visit counts as ended
START_TIMEOUT_S = 120
SIGN_IN_TIMEOUT_S = 120

# Evaluated by the browser every POLL_MS: false until the page is finished and has stayed so for
# `quiet` ms; then {t: performance.now() when it became finished, charts, tables}.
_FINISHED = """
(quiet) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const signedIn = document.querySelector('[data-testid="stSidebarNav"]');
  const busy = !app || !signedIn
    || app.getAttribute('data-test-script-state') === 'running'
    || document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSpinner"],'
                              + ' [data-testid="stSkeleton"], [data-stale="true"]');
  let state = null;
  if (!busy) {
    const shown = (el) => el.getClientRects().length > 0 && el.offsetWidth > 0;
    const charts = [...document.querySelectorAll(
      '[data-testid="stVegaLiteChart"], [data-testid="stMetricChart"]')].filter(shown);
    // a table grid is drawn only once scrolled into view: those below the window are not waited for
    const inView = (el) => { const r = el.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; };
    const grids = [...document.querySelectorAll('[data-testid="stDataFrame"]')].filter(shown).filter(inView);
    const drawn = charts.every((el) => el.querySelector('canvas, svg.marks'))
      && grids.every((el) => el.querySelector('canvas'));
    const main = document.querySelector('[data-testid="stMain"], section.main');
    const elements = main ? main.querySelectorAll('[data-testid="stElementContainer"]').length : 0;
    if (drawn) state = `${charts.length}/${grids.length}/${elements}`;
  }
  const now = performance.now();
  if (state === null || state !== window.__benchState) {
    window.__benchState = state;
    window.__benchSince = now;
    return false;
  }
  if (now - window.__benchSince < quiet) return false;
  const [charts, tables] = state.split('/').map(Number);
  return {t: window.__benchSince, charts, tables};
}
"""
POLL_MS = 100
POLL_IDLE_MS = 20
IDLE_FRAMES = 3  # drawn frames the idle state must last (see _IDLE)


class BenchProblem(Exception):
    """The timing could not run (the app, the account or the sign-in failed)."""


def unavailable() -> str | None:
    """Why the browser timing cannot run here (None when it can)."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is missing at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    return None


def time_pages(db_url: str, pages: list[str] | None = None, *, runs: int = 2,
               report: Callable[[str], None] = print, timeout_s: float = 300.0) -> dict[str, dict]:
    """Open each page `runs` times in Chromium and time it to every chart drawn.

    Returns {page: {"first_s", "warm_s", "charts", "tables", "timeouts"}}: seconds (None for a
    timeout, or warm_s when runs is 1), the charts and table grids drawn on the page (as seen on
    its last finished visit) and how many visits timed out. Returns {} (and reports why) when
    Chromium or Playwright is missing or the app cannot be started or signed in to."""
    names = _known_pages(pages, report)
    why = unavailable()
    if why:
        report(f"Browser timing skipped: {why}.")
        return {}
    if not names:
        return {}
    from divert.storage.db import get_engine, upgrade

    upgrade(db_url)
    engine = get_engine(db_url)
    app = None
    try:
        password = _open_account(engine)
        app = App(db_url).start()
        visits = _drive(app, password, names, max(1, runs), timeout_s, report)
    except BenchProblem as problem:
        report(f"Browser timing failed: {problem}")
        return {}
    finally:
        if app is not None:
            app.stop()
        _close_account(engine, report)  # also after a half-done _open_account
    results = _summarise(visits)
    _report(results, runs, timeout_s, report)
    return results


# --- pages ----------------------------------------------------------------------------------
def _known_pages(pages: list[str] | None, report) -> list[str]:
    wanted = list(DASHBOARDS if pages is None else pages)
    exists = [name for name in wanted if (PROJECT_DIR / "pages" / f"{name}.py").is_file()]
    unknown = [name for name in wanted if name not in exists]
    if unknown:
        report(f"Browser timing: no such page {', '.join(unknown)} (pages are the file names in pages/, "
               f"for example {', '.join(DASHBOARDS[:3])}).")
    return exists


# --- the account ----------------------------------------------------------------------------
def _open_account(engine) -> str:
    """Make `bench-timer` a usable manager account with a new random password (returned)."""
    from divert.auth import accounts

    password = secrets.token_urlsafe(24)
    if accounts.get_account(TIMER, engine) is None:
        saved = accounts.add_user({"username": TIMER, "role": "manager", "password": password,
                                   "display_name": "Bench timer (divert bench; disabled after each run)"},
                                  ACTOR, engine=engine)
        _check(saved, "make the bench-timer account")
        return password
    # it is left disabled by the last run: enable it, then replace its password (a reset gives a
    # one-time password, which the account's own change replaces with one only we know)
    _check(accounts.set_role(TIMER, "manager", ACTOR, engine=engine), "give bench-timer the manager role")
    _check(accounts.set_user_active(TIMER, True, ACTOR, engine=engine), "enable bench-timer")
    saved, one_time = accounts.reset_password(TIMER, ACTOR, engine=engine)
    _check(saved, "reset bench-timer's password")
    _check(accounts.change_password(TIMER, one_time, password, password, engine=engine),
           "set bench-timer's password")
    return password


def _close_account(engine, report) -> None:
    from divert.auth import accounts

    try:
        account = accounts.get_account(TIMER, engine)
        if account is None or not account.active:
            return
        saved = accounts.set_user_active(TIMER, False, ACTOR, engine=engine)
        ok = saved.ok
    except Exception as error:  # noqa: BLE001 - said plainly below, never left unsaid
        ok, saved = False, error
    if not ok:
        report(f"Browser timing: could not disable the {TIMER} account ({saved}); its password was "
               f"random and never shown, but disable it with `divert user disable {TIMER}`.")


def _check(saved, what: str) -> None:
    if not saved.ok:
        problems = "; ".join(str(p) for p in getattr(saved, "problems", []) or []) or "refused"
        raise BenchProblem(f"could not {what}: {problems}")


# --- the app --------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class App:
    """`python -m streamlit run app.py`, headless on a free local port, on `db_url`.

    `env`: environment entries for the app on top of this process's (None removes one).
    `log`: where its output goes; by default a temporary file, kept only if the app failed."""

    def __init__(self, db_url: str, *, env: dict[str, str | None] | None = None, log: Path | None = None):
        self.db_url = db_url
        self.extra_env = dict(env or {})
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.keep_log = log is not None
        self.log = log if log is not None else Path(tempfile.mkstemp(prefix="divert-bench-app-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ, DIVERT_DATABASE_URL=self.db_url, PYTHONUNBUFFERED="1")
        for name, value in self.extra_env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def start(self) -> App:
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.port", str(self.port),
            "--server.address", "127.0.0.1",
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, cwd=PROJECT_DIR, env=self.env(), stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchProblem(f"the app exited with {self.process.returncode} (log: {self.log})")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200 and response.read().strip() == b"ok":
                        return self
            except OSError:
                pass
            time.sleep(0.25)  # polling a process that is starting: there is nothing to wait on
        self.stop()
        raise BenchProblem(f"the app did not start in {START_TIMEOUT_S} s (log: {self.log})")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.keep_log and self.process is not None and self.process.returncode in (0, -15):
            self.log.unlink(missing_ok=True)  # kept only when the app failed, for its traceback


# --- the browser ----------------------------------------------------------------------------
# Installed in every page and frame before Streamlit loads (watch), to tell when the app is idle.
# - Runs: every run of the app's script begins with a `new_session` message on the websocket, and
#   a `session_status_changed` one says whether a script is running (ForwardMsg fields 4 and 9;
#   only what is needed of each message is read). The page's own "script state" attribute is not
#   enough: a short run can begin and end within one drawing of the page, and never show.
# - The cookie manager: a component in an iframe that, each time the page sends it a render
#   message, may report the browser's cookies (or that it set or deleted one); each report makes
#   the app run again. The frame counts the render messages it is sent and posts a marker after
#   handling each (a report is posted while handling, so it arrives first).
# Idle: no run under way, a run begun since the last report, every cookie-manager frame has
# reported once and handled every render message, and all that for IDLE_FRAMES drawn frames
# (the page sends its render messages in an effect a moment after a run ends).
_WATCH = """
(() => {
  if (window.top === window) {
    if (window.__divertWatch) return;
    const watch = window.__divertWatch = {started: 0, running: true, awaited: 0, reported: new WeakSet(),
                                          rendering: new WeakMap(), frames: 0, idleSince: null};
    const count = () => { watch.frames += 1; requestAnimationFrame(count); };
    requestAnimationFrame(count);
    const fields = (bytes) => {  // the top-level fields of a protobuf message: number -> value or bytes
      const found = new Map();
      let at = 0;
      const varint = () => {
        let value = 0, shift = 0, byte;
        do { byte = bytes[at++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80 && at < bytes.length);
        return value;
      };
      while (at < bytes.length) {
        const tag = varint(), wire = tag % 8, number = Math.floor(tag / 8);
        if (wire === 0) found.set(number, varint());
        else if (wire === 1) at += 8;
        else if (wire === 2) { const length = varint(); found.set(number, bytes.subarray(at, at + length)); at += length; }
        else if (wire === 5) at += 4;
        else break;
      }
      return found;
    };
    const Socket = window.WebSocket;
    window.WebSocket = class extends Socket {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', (event) => {
          if (!(event.data instanceof ArrayBuffer)) return;
          const message = fields(new Uint8Array(event.data));  // a ForwardMsg
          if (message.has(4)) watch.started += 1;  // new_session: a run begins
          if (message.has(9)) watch.running = fields(message.get(9)).get(2) === 1;  // session_status_changed
        });
      }
    };
    window.addEventListener('message', (event) => {
      const data = event.data;
      if (!data) return;
      if (data.divertRendered === true) {
        watch.rendering.set(event.source, (watch.rendering.get(event.source) || 1) - 1);
      } else if (data.isStreamlitMessage === true && data.type === 'streamlit:setComponentValue') {
        watch.reported.add(event.source);
        watch.awaited = watch.started + 1;  // the report makes the app begin another run
      }
    }, true);
    return;
  }
  // a component's frame: count each render message the page sends, and mark it handled
  const watch = () => window.parent.__divertWatch;
  const post = window.postMessage;
  window.postMessage = function (message, ...rest) {
    if (message && message.type === 'streamlit:render' && watch()) {
      watch().rendering.set(window, (watch().rendering.get(window) || 0) + 1);
    }
    return post.call(window, message, ...rest);
  };
  window.addEventListener('message', (event) => {
    if (event.data && event.data.type === 'streamlit:render') {
      setTimeout(() => window.parent.postMessage({divertRendered: true}, '*'), 0);
    }
  }, true);
})();
"""
_IDLE = """
(frames) => {
  const watch = window.__divertWatch;
  const app = document.querySelector('[data-testid="stApp"]');
  const idle = watch && app && app.getAttribute('data-test-script-state') === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && !watch.running && watch.started >= watch.awaited
    && [...document.querySelectorAll('iframe[src*="cookie_manager"]')].every(
      (frame) => watch.reported.has(frame.contentWindow) && !watch.rendering.get(frame.contentWindow));
  if (!idle) {
    if (watch) watch.idleSince = null;
    return false;
  }
  if (watch.idleSince === null) watch.idleSince = watch.frames;
  return watch.frames - watch.idleSince >= frames;
}
"""


def launch(playwright):
    """Debian's Chromium, headless."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def watch(context) -> None:
    """Let wait_idle follow the app in every page of this browser context."""
    context.add_init_script(_WATCH)


def wait_idle(tab, timeout_ms: float) -> None:
    """Wait until the app has finished every run it makes by itself (the page's first run, the
    runs the cookie manager asks for). Call it once what the last action leads to is on the page:
    a run that has not begun yet cannot be waited for."""
    tab.wait_for_function(_IDLE, arg=IDLE_FRAMES, polling=POLL_IDLE_MS, timeout=timeout_ms)


def sign_in(tab, url: str, username: str, password: str, timeout_ms: float) -> None:
    """Open `url` signed out and send the sign-in form, once the app is idle (typing while a run
    goes on can be lost). What follows (a page, a refusal) is for the caller to wait for."""
    tab.goto(url, timeout=timeout_ms)
    tab.get_by_role("button", name="Sign in", exact=True).wait_for(timeout=timeout_ms)
    wait_idle(tab, timeout_ms)
    send_sign_in(tab, username, password, timeout_ms)


def send_sign_in(tab, username: str, password: str, timeout_ms: float) -> None:
    """Fill in and send the sign-in form on the page."""
    tab.get_by_role("textbox", name="Username").fill(username, timeout=timeout_ms)
    tab.get_by_role("textbox", name="Password").fill(password, timeout=timeout_ms)
    tab.get_by_role("button", name="Sign in", exact=True).click(timeout=timeout_ms)


def _in_own_thread(work: Callable[[], dict]) -> dict:
    """work() in a thread of its own: Playwright's sync API refuses to start in a thread where
    an asyncio loop runs (a notebook; a test run whose own browser is open)."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - raised again below, in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name="divert-bench-browser")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _drive(app: App, password: str, names: list[str], runs: int, timeout_s: float, report) -> dict:
    return _in_own_thread(lambda: _drive_here(app, password, names, runs, timeout_s, report))


def _drive_here(app: App, password: str, names: list[str], runs: int, timeout_s: float, report) -> dict:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    visits: dict[str, list[dict]] = {name: [] for name in names}
    signed_in = False
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                context = browser.new_context(viewport=VIEWPORT)
                watch(context)
                tab = context.new_page()
                _sign_in(tab, app, password)
                signed_in = True
                report(f"Browser timing: {len(names)} pages x {runs} visits in Chromium ...")
                for visit in range(runs):
                    for name in names:
                        if not app.running():
                            raise BenchProblem(f"the app stopped (log: {app.log})")
                        visits[name].append(_visit(tab, app, name, timeout_s))
                        if visit == 0:
                            seconds = visits[name][0]["seconds"]
                            report(f"  {name:<14} first visit {_seconds(seconds, timeout_s)}")
            finally:
                browser.close()
    except (PlaywrightError, BenchProblem) as error:
        problem = error if isinstance(error, BenchProblem) else f"the browser failed: {str(error).splitlines()[0]}"
        if not signed_in:
            raise BenchProblem(str(problem)) from error
        report(f"Browser timing stopped early: {problem}")  # the visits made so far are still reported
    return visits


def _sign_in(tab, app: App, password: str) -> None:
    """Sign in on the My account page, which loads no dashboard data."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    timeout_ms = SIGN_IN_TIMEOUT_S * 1000
    try:
        sign_in(tab, f"{app.url}/account", TIMER, password, timeout_ms)
        tab.get_by_test_id("stSidebarNav").wait_for(timeout=timeout_ms)
        wait_idle(tab, timeout_ms)  # the cookie manager has stored the sign-in cookie
    except PlaywrightTimeout as error:
        raise BenchProblem(f"could not sign in as {TIMER} within {SIGN_IN_TIMEOUT_S} s") from error
    if not any(cookie["name"] == "divert_session" for cookie in tab.context.cookies()):
        raise BenchProblem("the app did not set its sign-in cookie")  # every later visit opens a new session


def _visit(tab, app: App, name: str, timeout_s: float) -> dict:
    """One visit: open the page's address, wait until it is finished."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = time.monotonic()
    try:
        tab.goto(f"{app.url}/{name}", wait_until="commit", timeout=timeout_s * 1000)
        left_ms = max(1.0, timeout_s - (time.monotonic() - started)) * 1000
        finished = tab.wait_for_function(_FINISHED, arg=QUIET_MS, polling=POLL_MS, timeout=left_ms).json_value()
    except PlaywrightTimeout:
        return {"seconds": None, "charts": None, "tables": None}
    return {"seconds": finished["t"] / 1000, "charts": finished["charts"], "tables": finished["tables"]}


# --- the figures ----------------------------------------------------------------------------
def _summarise(visits: dict[str, list[dict]]) -> dict[str, dict]:
    results = {}
    for name, done in visits.items():
        if not done:
            continue
        later = [v["seconds"] for v in done[1:] if v["seconds"] is not None]
        drawn = [v for v in done if v["seconds"] is not None]
        results[name] = {
            "first_s": None if done[0]["seconds"] is None else round(done[0]["seconds"], 3),
            "warm_s": round(statistics.median(later), 3) if later else None,
            "charts": drawn[-1]["charts"] if drawn else None,
            "tables": drawn[-1]["tables"] if drawn else None,
            "timeouts": sum(v["seconds"] is None for v in done),
        }
    return results


def _seconds(value: float | None, timeout_s: float) -> str:
    return f"timeout (> {timeout_s:.0f} s)" if value is None else f"{value:.2f} s"


def _report(results: dict[str, dict], runs: int, timeout_s: float, report) -> None:
    report(f"Browser timing (Chromium, open page to every chart drawn; warm = median of {max(0, runs - 1)} "
           "later visits)")
    report(f"  {'page':<14} {'first s':>9} {'warm s':>9} {'charts':>7} {'tables':>7}")
    for name, row in results.items():
        first = "timeout" if row["first_s"] is None else f"{row['first_s']:.2f}"
        warm = "-" if row["warm_s"] is None else f"{row['warm_s']:.2f}"
        charts = "-" if row["charts"] is None else str(row["charts"])
        tables = "-" if row["tables"] is None else str(row["tables"])
        report(f"  {name:<14} {first:>9} {warm:>9} {charts:>7} {tables:>7}")
    timeouts = sum(row["timeouts"] for row in results.values())
    if timeouts:
        report(f"  {timeouts} visit(s) timed out after {timeout_s:.0f} s")
