"""Concurrent sessions for `divert bench`: SESSIONS people on the dashboards at the same moment,
each through Streamlit's own websocket protocol (no browser), against the real app. Run as
`python -m divert.bench.concurrent` (an order in JSON on stdin, the figures in JSON on the last
line of stdout), so that Streamlit (whose protocol messages this reads) stays out of the bench's
own process.

How it works
- The `bench-timer` manager account is opened as for the browser timing (divert.bench.drawing:
  a new random password, disabled again however the run ends), and a sign-in cookie is made for
  it the way the app makes one (divert.auth.session_token, signed with the app's cookie key):
  each session sends it on its websocket's handshake, as a signed-in browser does, and the app
  resumes the sign-in from it. No password is sent.
- The real app (`python -m streamlit run app.py`, headless: divert.bench.served.App) is started
  on a free local port against the database. Each session connects to /_stcore/stream (the
  "streamlit" subprotocol) and opens a page the way the browser does when the page is chosen in
  the menu: a BackMsg `rerun_script` naming the page by its script hash. A page request lasts from sending that message to
  the ForwardMsg `script_finished` that ends its last run (a run that ends early for a rerun,
  such as the app's own st.rerun, is followed by the next). The session checks that the run
  was the page asked for, shown to a signed-in user, and that it raised no exception.
- First, untimed: every session opens its My account page (the sign-in is resumed; no dashboard
  data is loaded), then one session opens the overview, so that the app has its frames loaded,
  as after its first user (the first load as the app starts is the bench's load.first_s).
- Then, for each page in turn, every session sends its request at the same moment, and the next
  page starts when all have finished. `p95_s` is the 95th percentile over every request of every
  page; per page, the median and the worst are reported beside it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from divert.bench.drawing import TIMER, close_account, open_account
from divert.bench.served import App, BenchProblem

SESSIONS = 10
COOKIE_NAME = "divert_session"  # divert.web.access.COOKIE_NAME (not imported: it would load the app's web layer)
REQUEST_TIMEOUT_S = 600.0
TIME_ZONE = "Europe/London"


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile of `values` (the nearest rank, as the bench's other percentiles)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def sign_in_cookie(engine, username: str = TIMER, hours: float = 1.0) -> str:
    """The `divert_session` cookie the app would set for `username` on signing in now."""
    from divert.auth import accounts, session_token
    from divert.core.environment import secret

    account = accounts.get_account(username, engine)
    if account is None or not account.active:
        raise BenchProblem(f"the account {username} is not open")
    now = datetime.now(UTC)
    session = session_token.Session(username, account.generation, now, now + timedelta(hours=hours),
                                    secrets.token_urlsafe(18))
    return session_token.issue(session, secret("cookie_key"))


# --- one session ----------------------------------------------------------------------------
class Session:
    """One signed-in person's connection to the app (a browser tab, without the browser)."""

    def __init__(self, app_url: str, cookie: str):
        self.app_url = app_url
        self.cookie = cookie
        self.socket = None

    async def connect(self) -> Session:
        from websockets.asyncio.client import connect

        address = self.app_url.replace("http://", "ws://", 1) + "/_stcore/stream"
        # no keepalive pings of its own: a browser sends none (the server's own are answered)
        self.socket = await connect(address, subprotocols=["streamlit"], max_size=None, open_timeout=60,
                                    ping_interval=None, additional_headers={"Cookie": f"{COOKIE_NAME}={self.cookie}"})
        return self

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()

    def _rerun(self, page: str) -> bytes:
        from zoneinfo import ZoneInfo

        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = ""
        state.page_script_hash = page_hash(page)  # as when the page is chosen in the menu
        offset = datetime.now(ZoneInfo(TIME_ZONE)).utcoffset() or timedelta(0)
        state.context_info.timezone = TIME_ZONE
        state.context_info.timezone_offset = -int(offset.total_seconds() // 60)  # as JavaScript gives it
        state.context_info.locale = "en-GB"
        state.context_info.url = f"{self.app_url}/{page}"
        return message.SerializeToString()

    async def open(self, page: str, timeout_s: float = REQUEST_TIMEOUT_S) -> dict:
        """Open `page` and wait for its script to finish: {"seconds", "bytes"}. Raises
        BenchProblem when the run is not that page signed in, or raised an exception."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from websockets.exceptions import ConnectionClosed

        started = time.perf_counter()
        await self.socket.send(self._rerun(page))
        received, shown, problems = 0, None, []
        while True:
            left = timeout_s - (time.perf_counter() - started)
            try:
                data = await asyncio.wait_for(self.socket.recv(), timeout=max(0.001, left))
            except TimeoutError as error:
                raise BenchProblem(f"{page} did not finish within {timeout_s:.0f} s") from error
            except ConnectionClosed as error:
                raise BenchProblem(f"{page}: the app closed the connection after {time.perf_counter() - started:.1f} s "
                                   f"({error})") from error
            received += len(data)
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "navigation":
                shown = _page_shown(message.navigation, page)
            elif kind == "page_not_found":
                problems.append("page not found")
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                if element.WhichOneof("type") == "exception" and not element.exception.is_warning:
                    problems.append(f"{element.exception.type}: {element.exception.message}")
            elif kind == "script_finished":
                if message.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # another run follows (the app's own st.rerun)
                seconds = time.perf_counter() - started
                if message.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    problems.append("the script did not compile")
                if shown != page:
                    problems.append(f"the app showed {shown or 'no page'} (not signed in?)")
                if problems:
                    raise BenchProblem(f"{page}: {'; '.join(problems)}")
                return {"seconds": seconds, "bytes": received}


def page_hash(page: str) -> str:
    """How Streamlit names the page at address `page` (st.Page's script hash, made from its
    url_path; the landing page's own address is empty, but its hash is still made from its name)."""
    from streamlit.util import calc_hash

    return calc_hash(page)


def _page_shown(navigation, page: str) -> str | None:
    """`page` if the run shows it in a signed-in user's menu, else what it shows (the signed-out
    navigation also registers every page's address, hidden, all leading to the sign-in form)."""
    from streamlit.proto.Navigation_pb2 import Navigation

    chosen = next((p for p in navigation.app_pages if p.page_script_hash == navigation.page_script_hash), None)
    if chosen is None:
        return None
    if navigation.position == Navigation.HIDDEN or chosen.is_hidden:
        return f"{chosen.page_name} (not in a signed-in menu)"
    return page if chosen.page_script_hash == page_hash(page) else chosen.page_name


# --- the sessions together ------------------------------------------------------------------
async def _drive(app_url: str, cookie: str, pages: list[str], sessions: int, report) -> dict[str, list[dict]]:
    people = []
    try:
        for _ in range(sessions):
            people.append(await Session(app_url, cookie).connect())
        await asyncio.gather(*(person.open("account") for person in people))  # signed in, no dashboard yet
        await people[0].open("overview")  # the app's frames loaded, as after its first user
        report(f"  concurrent sessions: {sessions} signed in; {len(pages)} pages, each opened by all at once ...")
        requests: dict[str, list[dict]] = {}
        for page in pages:
            requests[page] = await asyncio.gather(*(person.open(page) for person in people))
            seconds = [r["seconds"] for r in requests[page]]
            report(f"  {page:<14} median {statistics.median(seconds):6.2f} s   worst {max(seconds):6.2f} s")
        return requests
    finally:
        for person in people:
            await person.close()


def time_sessions(db_url: str, pages: list[str], *, sessions: int = SESSIONS,
                  report: Callable[[str], None] = print) -> dict:
    """`sessions` signed-in sessions opening `pages` together (see the module's docstring).

    Returns {"sessions", "p95_s", "app_peak_mb" (the served app's peak memory), "p50_s", "max_s",
    "requests", "pages": {page: {"p50_s", "max_s", "bytes"}}}; raises BenchProblem when the app
    cannot be started, a session is not signed in, or a page fails."""
    from divert.storage.db import get_engine, upgrade

    upgrade(db_url)
    engine = get_engine(db_url)
    app = None
    try:
        open_account(engine)  # its password is not needed: the sessions carry a sign-in cookie
        cookie = sign_in_cookie(engine)
        app = App(db_url).start()
        try:
            # a loop of its own in a thread of its own: the caller may already run one (Playwright's sync API)
            with ThreadPoolExecutor(1) as own:
                requests = own.submit(asyncio.run, _drive(app.url, cookie, pages, sessions, report)).result()
            served_mb = app.peak_mb()
        except BenchProblem:
            tail = [line for line in app.log_text().splitlines() if line.strip()][-15:]
            report("  the app's last lines:\n" + "\n".join(f"    {line}" for line in tail))
            raise
    finally:
        if app is not None:
            app.stop()
        close_account(engine, report)
        engine.dispose()
    every = [r["seconds"] for done in requests.values() for r in done]
    return {
        "sessions": sessions, "p95_s": round(percentile(every, 0.95), 3), "app_peak_mb": served_mb,
        "p50_s": round(percentile(every, 0.5), 3), "max_s": round(max(every), 3), "requests": len(every),
        "pages": {page: {"p50_s": round(statistics.median(r["seconds"] for r in done), 3),
                         "max_s": round(max(r["seconds"] for r in done), 3),
                         "bytes": round(statistics.median(r["bytes"] for r in done))}
                  for page, done in requests.items()},
    }


def main() -> None:
    order = json.loads(sys.stdin.read())
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        out = time_sessions(order["url"], order["pages"], sessions=order.get("sessions", SESSIONS), report=say)
    except BenchProblem as problem:
        say(f"  concurrent sessions failed: {problem}")
        sys.exit(1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
