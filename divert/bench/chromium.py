"""Debian's Chromium, through Playwright, for `divert bench`'s browser timing (divert.bench.drawing)
and the browser tests (tests/e2e, through tests/e2e/browser.py): `launch` (Chromium, headless),
`watch` and `wait_idle` (the app has finished every run it will make by itself) and `sign_in`
(the sign-in form).

Chromium and Playwright are optional: `unavailable` says why the browser cannot run here.
"""

from __future__ import annotations

import os

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IDLE_FRAMES = 3  # drawn frames the idle state must last (see _IDLE)


def unavailable() -> str | None:
    """Why the browser timing cannot run here (None when it can)."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is missing at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    return None


# --- the browser ----------------------------------------------------------------------------
# Installed in every page and frame before Streamlit loads (watch), to tell when the app is idle.
# - Runs: every run of the app's script begins with a `new_session` message on the websocket, and
#   a `session_status_changed` one says whether a script is running (ForwardMsg fields 4 and 9;
#   only what is needed of each message is read). A `rerun_script` the page sends (BackMsg field
#   11: a widget changed, such as a text box left for the next field) means a run will begin:
#   it is awaited from the moment it is sent, before the server has begun it. The page's own
#   "script state" attribute is not enough: a short run can begin and end within one drawing of
#   the page, and never show.
# - The cookie manager: a component in an iframe, drawn only while the app sets or deletes the
#   sign-in cookie (divert.web.access), that reports when it has done so; the report makes the
#   app run again. The frame counts the render messages it is sent and posts a marker after
#   handling each (a report is posted while handling, so it arrives first). Its box (keyed
#   divert_cookie_...) is on the page a moment before its frame is (Streamlit loads the code that
#   draws a component's frame only when one is first drawn): a box without its frame is not idle.
# Idle: no run under way, a run begun since the last report or rerun request, every cookie-manager
# box has its frame, every such frame has reported once and handled every render message, and all
# that for IDLE_FRAMES drawn frames (the page sends its render messages in an effect a moment after
# a run ends). Frames are counted by the check itself, run once a frame while it is waited for (polling
# "raf"): no animation loop of its own keeps an idle tab drawing.
_WATCH = """
(() => {
  if (window.top === window) {
    if (window.__divertWatch) return;
    window.__divertWatch = {started: 0, running: true, awaited: 0, reported: new WeakSet(), rendering: new WeakMap(),
                            frames: 0, idleSince: null};
    const watch = window.__divertWatch;
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
      send(data) {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
        if (bytes && fields(bytes).has(11)) watch.awaited = watch.started + 1;  // rerun_script: a run will begin
        return super.send(data);
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
  if (watch) watch.frames += 1;  // called once a drawn frame (polling "raf"): frames are counted only while waited for
  const app = document.querySelector('[data-testid="stApp"]');
  const idle = watch && app && app.getAttribute('data-test-script-state') === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && !watch.running && watch.started >= watch.awaited
    && [...document.querySelectorAll('[class*="st-key-divert_cookie_"]')].every((box) => box.querySelector('iframe'))
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
    tab.wait_for_function(_IDLE, arg=IDLE_FRAMES, polling="raf", timeout=timeout_ms)


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
