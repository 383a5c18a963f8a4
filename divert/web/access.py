"""Sign-in, sign-out, session expiry and lockout, and the page table from which each role's
navigation is built.

`Gate` decides once per run who is signed in; app.py builds one Gate per run.

How it works
- The sign-in form sends the username and password to divert.auth.sign_in.attempt, which checks
  the password against the database at that moment, counting the attempt atomically first and
  throttling per account and per client (see that module). streamlit-authenticator's own
  sign-in widget is not used: it checks passwords against a copy of every hash and of the lock
  state taken when the page run starts, so parallel attempts were all checked and a lock set
  meanwhile was missed. Its cookie component (extra_streamlit_components' cookie manager) still
  sets and deletes the cookie.
- The cookie is read from the request that opened the page (st.context.cookies), never through
  the component: the component is drawn only while a cookie is to be set or deleted, and stays
  drawn, run after run, until the browser reports it done (its report makes the app run once
  more). So opening a page with a valid cookie is one run of the page, not two (the component's
  first report used to run every newly opened page again), and a set or delete is never lost to
  the component being taken off the page before the browser carried it out.
- A signed-in browser keeps a signed cookie (divert.auth.session_token) for `session_expiry_hours`,
  so a reload or a new tab stays signed in. The cookie carries the account's session
  generation and its own issue time; it is refused once the password is changed or reset, the
  role changes or the account is disabled (the generation moves on), once its browser session
  signs out, and after the sign-in lifetime counted from its issue time.
- An open session ends on its next click when the account is disabled or its password is
  changed or reset elsewhere; after a role change it goes on with the new role under a new
  cookie. The session also ends after `session_expiry_hours` even if the tab stays open.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import extra_streamlit_components as stx
import streamlit as st
import streamlit.components.v1 as components

from divert.auth import accounts, session_token, sign_in, sso
from divert.core import codes
from divert.core.environment import PROJECT_DIR, client_address_header, secret
from divert.records import stored_settings
from divert.storage.db import BUSY_MESSAGE

COOKIE_NAME = "divert_session"
USER_KEY = "divert_user"
USERNAME_KEY = "divert_username"
GENERATION_KEY = "divert_generation"
ISSUED_KEY = "divert_issued_at"
SID_KEY = "divert_session_id"
EXPIRES_KEY = "divert_expires_at"
NOTICE_KEY = "divert_notice"
SIGN_OUT_KEY = "divert_sign_out"
COOKIE_PENDING_KEY = "divert_cookie_pending"
COOKIE_WRITE_KEY = "divert_cookie_write"  # the set or delete the browser has not yet reported done
COOKIE_WRITES_KEY = "divert_cookie_writes"  # how many were started (each draws a component of its own)
COOKIE_REFUSED_KEY = "divert_cookie_refused"
SSO_REFUSED_KEY = "divert_sso_refused"
SETUP_DONE_KEY = "divert_setup_done"
MENU_KEY = "divert_menu"
_SESSION_KEYS = (USER_KEY, USERNAME_KEY, GENERATION_KEY, ISSUED_KEY, SID_KEY, EXPIRES_KEY, COOKIE_PENDING_KEY,
                 MENU_KEY)

LOCKED_MESSAGE = (
    "This account is locked after too many wrong passwords. Try again later, or ask an "
    "administrator to unlock it or reset the password."
)
WRONG_MESSAGE = "The username or password is incorrect."
ENDED_MESSAGE = "Your password was changed or reset: please sign in again."
SSO_BUTTON = "Sign in with your force account"
SSO_REFUSED = {
    "no_account": "Your force account is not set up in Divert. Ask a Divert administrator to add you "
                  "(with the same username); then sign in again.",
    "disabled": "Your Divert account has been disabled. Ask an administrator.",
    "unverified": "Your force account's identity provider has not verified the address or identifier that "
                  "names your Divert account, so it cannot sign you in. Ask a Divert administrator.",
}

ALL_ROLES = tuple(codes.ROLES)

# extra_streamlit_components' cookie manager (the same build), declared here so that it is drawn
# only for a set or a delete: its own CookieManager also asks for every cookie each time it is made
_COOKIE_COMPONENT = components.declare_component(
    "cookie_manager", path=str(Path(stx.__file__).parent / "CookieManager" / "frontend" / "build"))
_HIDE_COOKIE_FRAME = "<style>.element-container:has(iframe[height=\"0\"]) { display: none; }</style>"
SECTIONS = ("Dashboards", "Planning", "Records", "Admin", "Account")


# --- the page table -------------------------------------------------------------------------
@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to the project folder
    section: str
    title: str
    icon: str
    roles: tuple[str, ...]

    @property
    def url_path(self) -> str:
        return Path(self.file).stem


# One line per page. A page appears once its file exists, so later pages only add a line.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Dashboards", "Overview", ":material/dashboard:", ALL_ROLES),
    PageSpec("pages/volume.py", "Dashboards", "Volume", ":material/bar_chart:", ALL_ROLES),
    PageSpec("pages/pathway.py", "Dashboards", "Pathway", ":material/route:", ALL_ROLES),
    PageSpec("pages/outcomes.py", "Dashboards", "Outcomes", ":material/gavel:", ALL_ROLES),
    PageSpec("pages/disparity.py", "Dashboards", "Disparity", ":material/balance:", ALL_ROLES),
    PageSpec("pages/reoffending.py", "Dashboards", "Reoffending", ":material/replay:", ALL_ROLES),
    PageSpec("pages/impact.py", "Dashboards", "Impact", ":material/query_stats:", ALL_ROLES),
    PageSpec("pages/watch.py", "Dashboards", "Equity watch", ":material/monitor_heart:", ALL_ROLES),
    PageSpec("pages/methods.py", "Dashboards", "Methods", ":material/menu_book:", ALL_ROLES),
    PageSpec("pages/glossary.py", "Dashboards", "Glossary", ":material/local_library:", ALL_ROLES),
    PageSpec("pages/wall.py", "Dashboards", "Wall view", ":material/tv:", ALL_ROLES),
    PageSpec("pages/board_pack.py", "Dashboards", "Board pack", ":material/picture_as_pdf:", ("viewer", "manager", "admin")),
    PageSpec("pages/capacity.py", "Planning", "Capacity", ":material/event_seat:", ("manager", "admin")),
    PageSpec("pages/forecast.py", "Planning", "Forecast", ":material/trending_up:", ("manager", "admin")),
    PageSpec("pages/scenarios.py", "Planning", "Scenario planner", ":material/tune:", ("manager", "admin")),
    PageSpec("pages/launch_planner.py", "Planning", "Launch planner", ":material/rocket_launch:", ("manager", "admin")),
    PageSpec("pages/worklist.py", "Records", "Worklist", ":material/checklist:", ("caseworker", "manager", "admin")),
    PageSpec("pages/new_referral.py", "Records", "New referral", ":material/person_add:", ("caseworker", "admin")),
    PageSpec("pages/assessment.py", "Records", "Assessment", ":material/call:", ("caseworker", "admin")),
    PageSpec("pages/sessions.py", "Records", "Course sessions", ":material/groups:", ("manager", "caseworker", "admin")),
    PageSpec("pages/closure.py", "Records", "Closure", ":material/task_alt:", ("caseworker", "admin")),
    PageSpec("pages/find_referral.py", "Records", "Find a referral", ":material/search:", ("manager", "caseworker", "admin")),
    PageSpec("pages/imports.py", "Records", "Imports", ":material/upload_file:", ("caseworker", "admin")),
    PageSpec("pages/admin_users.py", "Admin", "Users", ":material/manage_accounts:", ("admin",)),
    PageSpec("pages/admin_audit.py", "Admin", "Audit log", ":material/history:", ("admin",)),
    PageSpec("pages/admin_programme.py", "Admin", "Programme", ":material/tune:", ("admin",)),
    PageSpec("pages/admin_coverage.py", "Admin", "Data coverage", ":material/calendar_month:", ("admin",)),
    PageSpec("pages/admin_settings.py", "Admin", "Settings", ":material/settings:", ("admin",)),
    PageSpec("pages/admin_backup.py", "Admin", "Backups and release", ":material/backup:", ("admin",)),
    PageSpec("pages/account.py", "Account", "My account", ":material/person:", ALL_ROLES),
)
LANDING = "pages/overview.py"
ACCOUNT = "pages/account.py"
SETUP = "pages/setup.py"


def existing_pages(root: Path = PROJECT_DIR) -> list[PageSpec]:
    return [spec for spec in PAGES if (root / spec.file).is_file()]


def page_spec(file: str) -> PageSpec | None:
    return next((spec for spec in PAGES if spec.file == file), None)


def menu(role: str, must_change_password: bool = False, root: Path = PROJECT_DIR) -> dict[str, list[PageSpec]]:
    """The pages a role sees in the navigation, by section (only the account page while a
    one-time password must be changed)."""
    out: dict[str, list[PageSpec]] = {}
    for spec in existing_pages(root):
        if role not in spec.roles or (must_change_password and spec.file != ACCOUNT):
            continue
        out.setdefault(spec.section, []).append(spec)
    return {section: out[section] for section in SECTIONS if section in out}


# --- who is signed in -----------------------------------------------------------------------
@dataclass(frozen=True)
class SignedIn:
    username: str
    display_name: str
    role: str
    must_change_password: bool
    expires_at: datetime

    @property
    def role_label(self) -> str:
        return codes.ROLES.get(self.role, self.role)


def _now() -> datetime:
    return datetime.now(UTC)


def request_sign_out() -> None:
    """The sign-out button's callback: the next run signs out before anything is drawn."""
    st.session_state[SIGN_OUT_KEY] = True


def client_address() -> str | None:
    """The browser's network address, for throttling sign-in attempts per client: the last
    address in the header a trusted reverse proxy sets (DIVERT_CLIENT_ADDRESS_HEADER), else the
    connection's own (None on localhost)."""
    header = client_address_header()
    if header:
        value = st.context.headers.get(header)
        if isinstance(value, str) and value.strip():
            return value.split(",")[-1].strip()
    address = st.context.ip_address
    return address if isinstance(address, str) else None  # (a test harness may give a stand-in)


def renew_session(generation: int) -> None:
    """After the signed-in user's own password change: this session goes on under the new
    session generation with a new cookie (every other session of the account has ended)."""
    state = st.session_state
    state[GENERATION_KEY] = generation
    state[ISSUED_KEY] = _now()
    state[COOKIE_PENDING_KEY] = True


class Gate:
    """Decides, once per run, who is signed in; draws the sign-in page when nobody is."""

    def __init__(self, engine):
        self.engine = engine
        self.prefs = stored_settings.load(engine)
        # setting or deleting the cookie draws a component: inside this container, so that the
        # page below keeps the same shape whether or not a run touches the cookie (a shape that
        # changed between runs briefly showed the old sign-in form beside the new one)
        self._cookie_slot = st.container()

    @property
    def hours(self) -> float:
        return self.prefs.session_expiry_hours

    # -- each run ----------------------------------------------------------------------------
    def user(self) -> SignedIn | None:
        user = self._user()
        self._write_cookie()  # after the checks above, which may start a set or a delete
        return user

    def _user(self) -> SignedIn | None:
        state = st.session_state
        if state.pop(SIGN_OUT_KEY, False) and state.get(USERNAME_KEY):
            self._end(None, "You have signed out.")
            if self._sso_identity():
                st.logout()  # also end the identity provider's sign-in, or it would let them in again
        if not state.get(USERNAME_KEY):
            self._resume_from_cookie()
        if not state.get(USERNAME_KEY) and self._sso_identity() and not state.get(SSO_REFUSED_KEY):
            self._sso_sign_in()
        username = state.get(USERNAME_KEY)
        if not username:
            state.pop(USER_KEY, None)
            return None
        account = accounts.get_account(username, self.engine)
        if account is None or not account.active:
            self._end("account disabled", "This account has been disabled. Ask an administrator.")
            return None
        if account.generation != state.get(GENERATION_KEY):
            if accounts.password_changed_since(username, state.get(ISSUED_KEY) or _now(), self.engine):
                self._end("password changed elsewhere", ENDED_MESSAGE)
                return None
            renew_session(account.generation)  # a role change: go on with the new role
        expires_at = state.get(EXPIRES_KEY)
        if expires_at is None or _now() >= expires_at:
            self._end("session expired", "Your sign-in has expired: please sign in again.")
            return None
        if state.pop(COOKIE_PENDING_KEY, False):
            # set in the run after sign-in (a run that ends in st.rerun may not deliver it)
            self._set_cookie()
        user = SignedIn(account.username, account.display_name, account.role,
                        account.must_change_password, expires_at)
        state[USER_KEY] = user
        return user

    def _sso_identity(self) -> bool:
        return sso.configured(st.secrets) and bool(st.user.is_logged_in)

    def _sso_sign_in(self) -> None:
        """The identity provider signed this browser in: let it in as its Divert account (if the
        provider confirmed it within the sign-in lifetime; else the button signs in again)."""
        claims = st.user.to_dict()
        if not sso.fresh(claims, self.hours, _now().timestamp()):
            return
        outcome = sso.sign_in(claims, engine=self.engine)
        if outcome.status != "ok":
            st.session_state[SSO_REFUSED_KEY] = SSO_REFUSED[outcome.status]
            return
        self._start(outcome.username, outcome.generation)

    def _start(self, username: str, generation: int) -> None:
        state = st.session_state
        moment = _now()
        state[USERNAME_KEY] = username
        state[GENERATION_KEY] = generation
        state[ISSUED_KEY] = moment
        state[SID_KEY] = secrets.token_urlsafe(18)
        state[EXPIRES_KEY] = moment + timedelta(hours=self.hours)
        state[COOKIE_PENDING_KEY] = True
        state.pop(SETUP_DONE_KEY, None)

    def _set_cookie(self) -> None:
        state = st.session_state
        session = session_token.Session(state[USERNAME_KEY], state[GENERATION_KEY], state[ISSUED_KEY],
                                        state[EXPIRES_KEY], state.setdefault(SID_KEY, secrets.token_urlsafe(18)))
        self._start_write("set", value=session_token.issue(session, secret("cookie_key")),
                          options={"path": "/", "expires": session.expires_at.isoformat(), "sameSite": "strict"})

    def _start_write(self, method: str, **args) -> None:
        """Start setting or deleting the cookie; it replaces a write not yet done (the last word
        counts: a set after a sign-out's delete, or a delete after a sign-in's set)."""
        state = st.session_state
        number = state.get(COOKIE_WRITES_KEY, 0) + 1
        state[COOKIE_WRITES_KEY] = number
        state[COOKIE_WRITE_KEY] = {"method": method, "args": args, "key": f"divert_cookie_{method}_{number}"}

    def _write_cookie(self) -> None:
        """Draw the component for the set or delete under way, every run until the browser
        reports it done (a component taken off the page before that may never carry it out).
        Its own key each time, so that an earlier write's report never counts for a later one."""
        state = st.session_state
        write = state.get(COOKIE_WRITE_KEY)
        if not write:
            return
        with self._cookie_slot:
            st.html(_HIDE_COOKIE_FRAME)
            done = _COOKIE_COMPONENT(method=write["method"], cookie=COOKIE_NAME, key=write["key"], default=False,
                                     **write["args"])
        if done is True and state.get(COOKIE_WRITE_KEY) is write:
            state.pop(COOKIE_WRITE_KEY, None)

    def _resume_from_cookie(self) -> None:
        state = st.session_state
        if state.get(COOKIE_REFUSED_KEY):
            return
        token = st.context.cookies.get(COOKIE_NAME)
        if not token:
            return
        session = session_token.resume(token, key=secret("cookie_key"), hours=self.hours, engine=self.engine)
        if session is None:
            self._forget()
            return
        state[USERNAME_KEY] = session.username
        state[GENERATION_KEY] = session.generation
        state[ISSUED_KEY] = session.issued_at
        state[EXPIRES_KEY] = session.expires_at
        state[SID_KEY] = session.sid

    def _forget(self) -> None:
        """Ignore the browser's cookie for the rest of this session and delete it."""
        st.session_state[COOKIE_REFUSED_KEY] = True
        self._start_write("delete")

    def _end(self, reason: str | None, notice: str) -> None:
        """End this session. Signing out (no `reason`) also voids its cookie wherever a copy of
        it is kept; the other ends void it anyway (expiry, or a new session generation)."""
        state = st.session_state
        username, sid = state.get(USERNAME_KEY), state.get(SID_KEY)
        for key in _SESSION_KEYS:
            state.pop(key, None)
        self._forget()
        if username and accounts.get_account(username, self.engine):
            accounts.record_sign_out(username, reason, session=sid if reason is None else None, engine=self.engine)
        state[NOTICE_KEY] = notice

    # -- the sign-in page --------------------------------------------------------------------
    def sign_in_page(self) -> None:
        state = st.session_state
        st.title("Divert")
        st.caption("Police drug-diversion programme: referrals, pathway and dashboards")
        notice = state.get(NOTICE_KEY)  # kept until the next attempt: the cookie widget reruns
        if notice:
            st.info(notice)
        setup = state.get(SETUP_DONE_KEY)
        if setup:
            _show_setup_done(setup)
        if sso.configured(st.secrets):
            refused = state.get(SSO_REFUSED_KEY)
            if refused:
                st.error(refused, icon=":material/badge:")
                if st.button("Sign out of the force account"):
                    st.logout()
            elif st.button(SSO_BUTTON, type="primary", icon=":material/badge:"):
                st.login()
            st.caption("Or sign in with a Divert password:")
        with st.form("sign_in", clear_on_submit=True):
            st.subheader("Sign in")
            username = st.text_input("Username", max_chars=200, autocomplete="username")
            password = st.text_input("Password", type="password", max_chars=200, autocomplete="current-password")
            submitted = st.form_submit_button("Sign in")
        if not submitted:
            return
        state.pop(NOTICE_KEY, None)
        outcome = sign_in.attempt(username, password, client_address(), prefs=self.prefs, engine=self.engine)
        if outcome.status == "ok":
            self._signed_in(outcome)
        elif outcome.status == "locked":
            st.error(LOCKED_MESSAGE, icon=":material/lock:")
        elif outcome.status == "busy":
            st.error(BUSY_MESSAGE.replace("Nothing was saved", "You are not signed in yet"))
        else:
            st.error(WRONG_MESSAGE)

    def _signed_in(self, outcome: sign_in.Outcome) -> None:
        self._start(outcome.username, outcome.generation)
        st.rerun()  # otherwise the sign-in form stays on screen after a successful sign-in

    # -- navigation --------------------------------------------------------------------------
    def signed_out_navigation(self):
        """Only the sign-in page; every other page's address also leads to it, so that after
        signing in the user lands on the page they asked for (if their role allows it)."""
        pages = [st.Page(self.sign_in_page, title="Sign in", icon=":material/login:",
                         url_path="sign_in", default=True)]
        for spec in existing_pages():
            pages.append(st.Page(self.sign_in_page, title=spec.title, url_path=spec.url_path,
                                 visibility="hidden"))
        return st.navigation(pages, position="hidden")


def setup_pages() -> list:
    """First run (no users yet): the setup page, at every page's address."""
    pages = [st.Page(SETUP, title="First-run setup", icon=":material/rocket_launch:",
                     url_path="setup", default=True)]
    for url_path in ("sign_in", *(spec.url_path for spec in existing_pages())):
        pages.append(st.Page(SETUP, title="First-run setup", url_path=url_path, visibility="hidden"))
    return pages


def navigation(user: SignedIn):
    """The signed-in user's menu. Pages outside the role are registered hidden, so that opening
    one by its address runs the page, whose own role check then shows a plain refusal."""
    shown = menu(user.role, user.must_change_password)
    shown_files = [spec.file for specs in shown.values() for spec in specs]
    landing = ACCOUNT if user.must_change_password else LANDING
    if landing not in shown_files:
        landing = shown_files[0] if shown_files else ACCOUNT
    sections: dict[str, list] = {}
    for spec in existing_pages():
        visible = spec.file in shown_files
        page = st.Page(
            spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path,
            default=spec.file == landing, visibility="visible" if visible else "hidden",
        )
        sections.setdefault(spec.section if visible else "", []).append(page)
    st.session_state[MENU_KEY] = {section: [spec.title for spec in specs] for section, specs in shown.items()}
    ordered = {section: sections[section] for section in (*SECTIONS, "") if section in sections}
    return st.navigation(ordered, position="sidebar", expanded=True)


def _show_setup_done(setup: dict) -> None:
    st.success(f"Setup is complete. Sign in as **{setup['admin']}** with the password you chose.")
    if setup.get("demo_error"):
        st.error(f"The demonstration data could not be loaded ({setup['demo_error']}). "
                 "Run `divert demo` from a terminal to try again.")
    logins = setup.get("logins") or []
    if logins:
        st.warning(
            "Demonstration accounts were created. Note these passwords now: they are not shown "
            "again. Disable or reset these accounts before real use."
        )
        st.table([{"Role": codes.ROLES.get(x["role"], x["role"]), "Username": x["username"],
                   "Password": x["password"]} for x in logins])
