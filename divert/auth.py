"""Sign-in, sign-out, session expiry and lockout around streamlit-authenticator, and the page
table from which each role's navigation is built.

`Gate` is the one construction point of the authenticator: app.py builds one Gate per run
(constructing the authenticator twice in one run raises DuplicateWidgetID).

How it works
- Users live in the database (divert.accounts); each run the authenticator gets the active
  accounts with their bcrypt hashes (auto_hash=False: nothing is hashed at sign-in).
- A signed-in browser keeps a signed cookie (JWT, key from divert.settings.secret("cookie_key"))
  for `session_expiry_hours`, so a reload or a new tab stays signed in. A cookie is refused if
  the account is disabled, or signed out or had its password changed or reset after the cookie
  was issued (so a cookie the browser failed to delete at sign-out is void). The session itself
  also ends after `session_expiry_hours` even if the tab stays open.
- A wrong password for a known account is counted in the database; at `lockout_attempts` in a
  row the account is locked for `lockout_minutes` (both audited). A locked account cannot sign
  in with a password, right or wrong, until the lock runs out or an administrator lifts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import streamlit as st
from streamlit_authenticator import Authenticate
from streamlit_authenticator.utilities import LoginError, LogoutError

from divert import accounts, app_settings, codes
from divert.settings import PROJECT_DIR, secret

COOKIE_NAME = "divert_session"
USER_KEY = "divert_user"
EXPIRES_KEY = "divert_expires_at"
NOTICE_KEY = "divert_notice"
SIGN_OUT_KEY = "divert_sign_out"
COOKIE_PENDING_KEY = "divert_cookie_pending"
SETUP_DONE_KEY = "divert_setup_done"
MENU_KEY = "divert_menu"
_AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles")

LOCKED_MESSAGE = (
    "This account is locked after too many wrong passwords. Try again later, or ask an "
    "administrator to unlock it or reset the password."
)
WRONG_MESSAGE = "The username or password is incorrect."
SIGN_IN_FIELDS = {"Form name": "Sign in", "Username": "Username", "Password": "Password", "Login": "Sign in"}

ALL_ROLES = tuple(codes.ROLES)
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
    PageSpec("pages/find_referral.py", "Records", "Find a referral", ":material/search:", ("caseworker", "admin")),
    PageSpec("pages/imports.py", "Records", "Imports", ":material/upload_file:", ("caseworker", "admin")),
    PageSpec("pages/admin_users.py", "Admin", "Users", ":material/manage_accounts:", ("admin",)),
    PageSpec("pages/admin_audit.py", "Admin", "Audit log", ":material/history:", ("admin",)),
    PageSpec("pages/admin_programme.py", "Admin", "Programme", ":material/tune:", ("admin",)),
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


def _credentials(candidates, prefs: app_settings.AppSettings) -> dict:
    """Pre-hashed credentials for the widget. A locked account starts at the attempt limit,
    so the widget refuses it before looking at the password."""
    usernames = {}
    for account, password_hash in candidates:
        usernames[account.username.lower()] = {
            "name": account.display_name,
            "password": password_hash,
            "roles": [account.role],
            "email": None,
            "failed_login_attempts": prefs.lockout_attempts if account.locked() else 0,
        }
    return {"usernames": usernames}


class Gate:
    """Decides, once per run, who is signed in; draws the sign-in page when nobody is."""

    def __init__(self, engine):
        self.engine = engine
        self.prefs = app_settings.load(engine)
        self.credentials = _credentials(accounts.sign_in_candidates(engine), self.prefs)
        self.counts = {name: entry["failed_login_attempts"] for name, entry in self.credentials["usernames"].items()}
        self.authenticator = Authenticate(
            self.credentials,
            COOKIE_NAME,
            secret("cookie_key"),
            self.prefs.session_expiry_hours / 24,
            auto_hash=False,
            login_sleep_time=0,
        )

    @property
    def hours(self) -> float:
        return self.prefs.session_expiry_hours

    # -- each run ----------------------------------------------------------------------------
    def user(self) -> SignedIn | None:
        state = st.session_state
        if state.pop(SIGN_OUT_KEY, False) and state.get("authentication_status"):
            self._end(None, "You have signed out.")
        if not state.get("authentication_status"):
            self._resume_from_cookie()
        if not state.get("authentication_status"):
            state.pop(USER_KEY, None)
            return None
        account = accounts.get_account(state.get("username"), self.engine)
        if account is None or not account.active:
            self._end("account disabled", "This account has been disabled. Ask an administrator.")
            return None
        expires_at = state.get(EXPIRES_KEY)
        if expires_at is None or _now() >= expires_at:
            self._end("session expired", "Your sign-in has expired: please sign in again.")
            return None
        if state.pop(COOKIE_PENDING_KEY, False):
            # set again after the rerun that follows sign-in, so the browser surely gets it
            self.authenticator.cookie_controller.set_cookie()
        user = SignedIn(account.username, account.display_name, account.role,
                        account.must_change_password, expires_at)
        state[USER_KEY] = user
        return user

    def _resume_from_cookie(self) -> None:
        state = st.session_state
        try:
            self.authenticator.login(location="unrendered")
        except LoginError:  # the cookie names an account that is gone or disabled
            self._forget()
            return
        if not state.get("authentication_status"):
            return
        token = self.authenticator.cookie_controller.cookie_model.token or {}
        expires = token.get("exp_date") if isinstance(token, dict) else None
        if not expires:
            self._forget()
            return
        expires_at = datetime.fromtimestamp(expires, UTC)
        issued_at = expires_at - timedelta(hours=self.hours)
        if accounts.signed_out_since(state.get("username"), issued_at, self.engine):
            self._forget()
            return
        state[EXPIRES_KEY] = min(expires_at, _now() + timedelta(hours=self.hours))

    def _forget(self) -> None:
        """Refuse the browser's cookie for the rest of this session and delete it."""
        state = st.session_state
        for key in _AUTH_KEYS:
            state[key] = None
        state["logout"] = True  # the widget ignores cookies while this is set
        self.authenticator.cookie_controller.delete_cookie()

    def _end(self, reason: str | None, notice: str) -> None:
        state = st.session_state
        username = state.get("username")
        try:
            self.authenticator.logout(location="unrendered")
        except LogoutError:
            self._forget()
        for key in (USER_KEY, EXPIRES_KEY, COOKIE_PENDING_KEY, MENU_KEY):
            state.pop(key, None)
        if username and accounts.get_account(username, self.engine):
            accounts.record_sign_out(username, reason, engine=self.engine)
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
        state["authentication_status"] = None  # False after the call = this run's attempt failed
        try:
            self.authenticator.login(
                location="main",
                max_login_attempts=self.prefs.lockout_attempts,
                fields=SIGN_IN_FIELDS,
                key="sign_in",
                clear_on_submit=True,
            )
        except LoginError as error:
            if "attempts" in str(error):
                st.error(LOCKED_MESSAGE, icon=":material/lock:")
            else:
                st.error(f"Sign-in refused: {error}")
            return
        status = state.get("authentication_status")
        if status is not None:
            state.pop(NOTICE_KEY, None)
        if status is True:
            self._signed_in()
        elif status is False:
            self._failed()

    def _failed(self) -> None:
        users = self.credentials["usernames"]
        tried = [name for name, entry in users.items()
                 if entry.get("failed_login_attempts", 0) > self.counts.get(name, 0)]
        for name in tried:
            account = accounts.record_failed_sign_in(
                name, attempts=self.prefs.lockout_attempts, minutes=self.prefs.lockout_minutes,
                engine=self.engine,
            )
            if account is not None and account.locked():
                st.error(LOCKED_MESSAGE, icon=":material/lock:")
                return
        st.error(WRONG_MESSAGE)

    def _signed_in(self) -> None:
        state = st.session_state
        account = accounts.get_account(state.get("username"), self.engine)
        if account is None or not account.active or account.locked():
            # locked or disabled by another session since this run began: refuse, and void the
            # cookie the widget has just set
            self._forget()
            if account is not None:
                accounts.record_sign_out(account.username, "refused at sign-in", engine=self.engine)
            st.error(LOCKED_MESSAGE if account is not None and account.locked() else WRONG_MESSAGE)
            return
        accounts.record_sign_in(account.username, engine=self.engine)
        state[EXPIRES_KEY] = _now() + timedelta(hours=self.hours)
        state[COOKIE_PENDING_KEY] = True
        state.pop(SETUP_DONE_KEY, None)
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
