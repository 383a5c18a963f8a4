"""Browser timing for `divert bench`: how long each dashboard page takes in a real browser,
from choosing it in the menu to every chart on it drawn. Reported, never asserted.

How it works
- A manager account `bench-timer` is made (or, if it exists, re-enabled with a new password)
  through divert.auth.accounts, audited as `bench`. Its password is random, lives only in this
  process and is never printed; the account is disabled again when the timing ends, however it
  ends (accounts cannot be deleted, only disabled).
- The real app (`python -m streamlit run app.py`, headless: divert.bench.served.App) is started on
  a free local port against the database, and Debian's Chromium (through Playwright:
  divert.bench.chromium) signs in on the My account page, so that no dashboard has been drawn (nor
  its data loaded) before the first timed visit. Playwright's sync API runs in a thread of its
  own, so the timing also runs where an asyncio loop is running (a notebook, or a test run that
  drives its own browser).
- Each page is then opened from the menu `runs` times (round by round over the pages): its link
  in the sidebar is clicked, as a user moves between pages, so the frontend stays loaded and only
  the page is drawn. A visit ends when the app has stopped running (no running script, status
  widget, spinner, skeleton or stale element), every chart not hidden in a closed tab or
  expander is drawn (a vega-embed canvas or svg; metric sparklines count), and so is every
  table grid within the window (a grid is drawn only once scrolled into view; the window is
  VIEWPORT), and that state has held for QUIET_MS, after a run of the page has begun. Its time
  is the browser's clock (performance.now()) from the click to when that state began.
- Then each page is opened once by its address (`address_s`: a new page load, as a bookmark or a
  typed address opens it, Streamlit's frontend loaded and a new session opened first: about 1 s
  more on 2 cores at a million referrals), for comparison.
- The first visit of a page may include loading the data (the first page of all does, on a fresh
  app); `warm_s` is the median of the later visits. A visit that does not end within
  `timeout_s` is recorded as a timeout (None), never raised.
- `bytes`: what the server sent the tab over its websocket (frame payloads, as the browser
  received them) from opening the page to the end of the visit, the median over its visits
  from the menu.
- With `after_write` (the bench writes one referral through the write path), each page is opened
  from the menu once more after the write, in turn: `after_write_s`, its time to every chart
  drawn (the first of them also finds the data changed).

Chromium and Playwright are optional here: without either, time_pages reports one line and
returns {} so that the rest of the bench still runs.
"""

from __future__ import annotations

import secrets
import statistics
import threading
import time
from collections.abc import Callable

from divert.bench.chromium import launch, sign_in, unavailable, wait_idle, watch
from divert.bench.served import App, BenchProblem
from divert.core.environment import PROJECT_DIR

APP_PEAK = "app_peak_mb"  # beside the pages in time_pages' answer: the served app's peak memory (MB)

# the dashboards, and the two planning pages that draw charts (url paths: pages/<name>.py)
DASHBOARDS = ("overview", "volume", "pathway", "outcomes", "disparity", "reoffending", "impact", "watch",
              "capacity", "forecast")
TIMER = "bench-timer"  # the account the browser signs in with (a manager: it sees every page above)
ACTOR = "bench"  # who the account changes are audited as (reserved: never a username)
VIEWPORT = {"width": 1400, "height": 1000}
QUIET_MS = 600  # how long the finished state must hold before a visit counts as ended
SIGN_IN_TIMEOUT_S = 120

# Evaluated by the browser every POLL_MS: false until the page is finished and has stayed so for
# `quiet` ms; then {t: performance.now() when it became finished, charts, tables}.
_FINISHED = """
(quiet) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const signedIn = document.querySelector('[data-testid="stSidebarNav"]');
  const busy = !app || !signedIn || window.__benchRan === false
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
LANDING = "overview"  # divert.web.access.LANDING: its menu link is the app's own address

# A visit from the menu: click the page's link in the sidebar, as a user moves between pages (the
# frontend stays loaded), and note when (performance.now()) and that no run has begun since. The
# observer marks the first run after the click: until then the old page may still look finished.
_CLICK = """
(path) => {
  const bare = (p) => p.replace(/\\/$/, '');
  const links = [...document.querySelectorAll('[data-testid="stSidebarNav"] a')];
  const link = links.find((a) => bare(new URL(a.href).pathname) === bare(path));
  const app = document.querySelector('[data-testid="stApp"]');
  if (!link || !app) return null;
  if (window.__benchObserver) window.__benchObserver.disconnect();
  window.__benchRan = false;
  window.__benchState = undefined;
  window.__benchObserver = new MutationObserver((records) => {
    if (records.some((r) => r.oldValue === 'running')
        || app.getAttribute('data-test-script-state') === 'running') window.__benchRan = true;
  });
  window.__benchObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state'],
                                       attributeOldValue: true});
  const clicked = performance.now();
  link.click();
  return clicked;
}
"""


def time_pages(db_url: str, pages: list[str] | None = None, *, runs: int = 2,
               report: Callable[[str], None] = print, timeout_s: float = 300.0,
               after_write: Callable[[], object] | None = None) -> dict[str, dict]:
    """Open each page `runs` times in Chromium and time it to every chart drawn.

    Returns {page: {"first_s", "warm_s", "bytes", "charts", "tables", "timeouts"}}: seconds (None
    for a timeout, or warm_s when runs is 1), the median bytes the server sent the page over its
    websocket per finished visit, the charts and table grids drawn on the page (as seen on its
    last finished visit) and how many visits timed out. With `after_write` (a write to the
    database, called once every round is done), each page is then opened once more and its time
    kept as "after_write_s". Beside the pages, APP_PEAK: the served app's peak memory (MB).
    Returns {} (and reports why) when Chromium or Playwright is missing
    or the app cannot be started or signed in to."""
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
        password = open_account(engine)
        app = App(db_url).start()
        visits = _drive(app, password, names, max(1, runs), timeout_s, report, after_write)
        served_mb = app.peak_mb()
    except BenchProblem as problem:
        report(f"Browser timing failed: {problem}")
        return {}
    finally:
        if app is not None:
            app.stop()
        close_account(engine, report)  # also after a half-done open_account
    results = _summarise(visits)
    _report(results, runs, timeout_s, report)
    report(f"  the served app's peak memory {served_mb or 0:,.0f} MB")
    return {**results, APP_PEAK: served_mb}


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
def open_account(engine) -> str:
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


def close_account(engine, report) -> None:
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


# --- the browser ----------------------------------------------------------------------------
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


def _drive(app: App, password: str, names: list[str], runs: int, timeout_s: float, report,
           after_write: Callable[[], object] | None = None) -> dict:
    return _in_own_thread(lambda: _drive_here(app, password, names, runs, timeout_s, report, after_write))


class _Received:
    """The bytes the server has sent the tab over its websockets (frame payloads) since `reset`."""

    def __init__(self, tab):
        self.bytes = 0
        tab.on("websocket", lambda socket: socket.on("framereceived", self._add))

    def _add(self, payload) -> None:
        self.bytes += len(payload.encode() if isinstance(payload, str) else payload)

    def reset(self) -> None:
        self.bytes = 0


def _drive_here(app: App, password: str, names: list[str], runs: int, timeout_s: float, report,
                after_write: Callable[[], object] | None = None) -> dict:
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
                received = _Received(tab)
                _sign_in(tab, app, password)
                signed_in = True
                report(f"Browser timing: {len(names)} pages x {runs} visits in Chromium ...")
                for visit in range(runs):
                    for name in names:
                        if not app.running():
                            raise BenchProblem(f"the app stopped (log: {app.log})")
                        visits[name].append(_visit(tab, app, name, timeout_s, received))
                        if visit == 0:
                            seconds = visits[name][0]["seconds"]
                            report(f"  {name:<14} first visit {_seconds(seconds, timeout_s)}")
                for name in names:  # for comparison: a new page load, as a bookmark or a typed address opens it
                    visits[name].append({**_visit(tab, app, name, timeout_s, received, by_address=True),
                                         "address": True})
                if after_write is not None:
                    try:
                        after_write()
                    except Exception as error:  # noqa: BLE001 - the visits so far still count
                        raise BenchProblem(f"the write before the last visits failed: {error}") from error
                    report("Browser timing: a referral written; each page opened once more ...")
                    for name in names:
                        visit = _visit(tab, app, name, timeout_s, received)
                        visits[name].append({**visit, "after_write": True})
                        report(f"  {name:<14} after the write {_seconds(visit['seconds'], timeout_s)}")
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


def _visit(tab, app: App, name: str, timeout_s: float, received: _Received | None = None, *,
           by_address: bool = False) -> dict:
    """One visit: click the page's link in the menu (or, `by_address`, open its address: a new
    page load, the frontend loaded again), wait until it is finished. `seconds` from the click (the
    navigation's start); `bytes`: what the server sent the tab over its websocket meanwhile (None
    when not counted)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = time.monotonic()
    if received is not None:
        received.reset()
    try:
        if by_address:
            tab.goto(f"{app.url}/{name}", wait_until="commit", timeout=timeout_s * 1000)
            clicked = 0.0
        else:
            clicked = tab.evaluate(_CLICK, "/" + ("" if name == LANDING else name))
            if clicked is None:
                raise BenchProblem(f"the menu has no link to {name}")
        left_ms = max(1.0, timeout_s - (time.monotonic() - started)) * 1000
        finished = tab.wait_for_function(_FINISHED, arg=QUIET_MS, polling=POLL_MS, timeout=left_ms).json_value()
    except PlaywrightTimeout:
        return {"seconds": None, "charts": None, "tables": None, "bytes": None}
    return {"seconds": (finished["t"] - clicked) / 1000, "charts": finished["charts"], "tables": finished["tables"],
            "bytes": None if received is None else received.bytes}


# --- the figures ----------------------------------------------------------------------------
def _summarise(visits: dict[str, list[dict]]) -> dict[str, dict]:
    results = {}
    for name, every in visits.items():
        done = [v for v in every if not v.get("after_write") and not v.get("address")]
        if not done:
            continue
        later = [v["seconds"] for v in done[1:] if v["seconds"] is not None]
        drawn = [v for v in done if v["seconds"] is not None]
        sent = [v["bytes"] for v in drawn if v.get("bytes")]
        results[name] = {
            "first_s": None if done[0]["seconds"] is None else round(done[0]["seconds"], 3),
            "warm_s": round(statistics.median(later), 3) if later else None,
            "bytes": round(statistics.median(sent)) if sent else None,
            "charts": drawn[-1]["charts"] if drawn else None,
            "tables": drawn[-1]["tables"] if drawn else None,
            "timeouts": sum(v["seconds"] is None for v in every),
        }
        address = [v["seconds"] for v in every if v.get("address") and v["seconds"] is not None]
        results[name]["address_s"] = round(statistics.median(address), 3) if address else None
        after = [v for v in every if v.get("after_write")]
        if after:
            results[name]["after_write_s"] = None if after[0]["seconds"] is None else round(after[0]["seconds"], 3)
    return results


def _seconds(value: float | None, timeout_s: float) -> str:
    return f"timeout (> {timeout_s:.0f} s)" if value is None else f"{value:.2f} s"


def _report(results: dict[str, dict], runs: int, timeout_s: float, report) -> None:
    report(f"Browser timing (Chromium, from the menu to every chart drawn; warm = median of {max(0, runs - 1)} "
           "later visits; address = the page opened by its address, a new page load)")
    report(f"  {'page':<14} {'first s':>9} {'warm s':>9} {'address s':>10} {'KB sent':>9} {'charts':>7} {'tables':>7}")
    for name, row in results.items():
        first = "timeout" if row["first_s"] is None else f"{row['first_s']:.2f}"
        warm = "-" if row["warm_s"] is None else f"{row['warm_s']:.2f}"
        address = "-" if row.get("address_s") is None else f"{row['address_s']:.2f}"
        sent = "-" if row.get("bytes") is None else f"{row['bytes'] / 1024:,.0f}"
        charts = "-" if row["charts"] is None else str(row["charts"])
        tables = "-" if row["tables"] is None else str(row["tables"])
        report(f"  {name:<14} {first:>9} {warm:>9} {address:>10} {sent:>9} {charts:>7} {tables:>7}")
    timeouts = sum(row["timeouts"] for row in results.values())
    if timeouts:
        report(f"  {timeouts} visit(s) timed out after {timeout_s:.0f} s")
