"""User accounts: creation, roles, activation, passwords, and sign-in bookkeeping (failed
sign-ins and lockout).

Every write goes through divert.records.write, so each is audited and bumps data_version.
Passwords are hashed with bcrypt here; no password and no hash is ever written to the audit log
or returned to a caller (an Account carries neither).

Usernames are matched without regard to case (the sign-in widget lower-cases what is typed),
so two accounts can never differ only by case; they are NFKC-normalised, ASCII unless the
operator allows more, and a new one that looks like a name already taken (`demo.аdmin` with a
Cyrillic а beside `demo.admin`) is refused (divert.auth.usernames).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import bcrypt
from sqlalchemy import func, select, update

from divert.auth import throttle, usernames
from divert.core import codes
from divert.core.environment import password_hash_rounds
from divert.core.field_rules import Checker, Problem
from divert.records.acting import SERVICE_ACTORS
from divert.records.core import Rejected, Saved, as_dict, audit, check, now, write
from divert.storage.db import session_scope
from divert.storage.models import AuditEvent, Setting, User
from divert.storage.security_models import SessionGeneration

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further
SETUP_MARKER = "setup_completed_at"
# one-time passwords: no look-alike characters (0/O, 1/l/I)
_OTP_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Account:
    """What the app may know about a user: never the password hash."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    must_change_password: bool
    failed_logins: int  # wrong passwords in a row, from every client (divert.auth.sign_in)
    locked_until: datetime | None  # the latest lock in force for some client, if any
    created_at: datetime | None
    demo: bool
    generation: int = 0  # the session generation sign-in cookies must carry
    clients_locked: int = 0  # clients locked out of the account now

    def locked(self, at: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (at or now())

    @property
    def role_label(self) -> str:
        return codes.ROLES.get(self.role, self.role)


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; they were written in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _accounts(s, rows: list[User]) -> list[Account]:
    moment = now()
    states = throttle.states(s, [row.username for row in rows], moment)
    generations = dict(s.execute(select(SessionGeneration.user_id, SessionGeneration.generation)
                                 .where(SessionGeneration.user_id.in_([row.id for row in rows]))).all()) if rows else {}
    out = []
    for row in rows:
        state = states.get(throttle.name_key(row.username), throttle.AccountThrottle())
        out.append(Account(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            role=row.role,
            active=row.active,
            must_change_password=row.must_change_password,
            failed_logins=state.failures,
            locked_until=state.locked_until,
            created_at=_utc(row.created_at),
            demo=row.demo,
            generation=int(generations.get(row.id, 0)),
            clients_locked=state.clients_locked,
        ))
    return out


def _find(s, username: str | None) -> User | None:
    if not username:
        return None
    query = select(User).where(func.lower(User.username) == usernames.normalise(username).lower())
    return s.execute(query).scalars().first()


def _taken(s) -> list[str]:
    return list(s.execute(select(User.username)).scalars())


def _known(s, username: str) -> User:
    row = _find(s, username)
    if row is None:
        raise Rejected([Problem("username", username, "is not a known user")])
    return row


def _public(row: User) -> dict:
    values = as_dict(row)
    values.pop("password_hash", None)
    return values


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(password_hash_rounds())).decode()


def _matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # longer than bcrypt accepts, or not a bcrypt hash
        return False


# --- reading --------------------------------------------------------------------------------
def has_users(engine=None) -> bool:
    with session_scope(engine) as s:
        return s.execute(select(User.id).limit(1)).first() is not None


def has_real_users(engine=None) -> bool:
    """Whether any account is not a demonstration account."""
    with session_scope(engine) as s:
        return s.execute(select(User.id).where(User.demo.is_(False)).limit(1)).first() is not None


def get_account(username: str | None, engine=None) -> Account | None:
    with session_scope(engine) as s:
        row = _find(s, username)
        return None if row is None else _accounts(s, [row])[0]


def list_accounts(engine=None) -> list[Account]:
    with session_scope(engine) as s:
        rows = s.execute(select(User).order_by(func.lower(User.username))).scalars().all()
        return _accounts(s, list(rows))


def session_signed_out(username: str, session_id: str, engine=None) -> bool:
    """Whether the browser session `session_id` was signed out: its cookie is void even if the
    browser never deleted it."""
    with session_scope(engine) as s:
        row = _find(s, username)
        if row is None:
            return True
        query = select(AuditEvent.id).where(
            AuditEvent.table_name == "app_user",
            AuditEvent.row_id == str(row.id),
            AuditEvent.action == "sign_out",
            AuditEvent.after == json.dumps({"session": session_id}, sort_keys=True),
        )
        return s.execute(query.limit(1)).first() is not None


def password_changed_since(username: str, since: datetime, engine=None) -> bool:
    """Whether the account's password was changed or reset after `since`."""
    with session_scope(engine) as s:
        row = _find(s, username)
        if row is None:
            return True
        query = select(AuditEvent.id).where(
            AuditEvent.at > since,
            AuditEvent.table_name == "app_user",
            AuditEvent.row_id == str(row.id),
            AuditEvent.action.in_(("password_change", "password_reset")),
        )
        return s.execute(query.limit(1)).first() is not None


# --- rules ----------------------------------------------------------------------------------
def password_problems(username: str | None, password: str | None) -> list[str]:
    """Why a new password is not acceptable (empty when it is)."""
    password = password or ""
    reasons = []
    if len(password) < MIN_PASSWORD_LENGTH:
        reasons.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    elif len(password.encode()) > MAX_PASSWORD_BYTES:
        reasons.append(f"must be at most {MAX_PASSWORD_BYTES} bytes long")
    if password != password.strip():
        reasons.append("must not start or end with a space")
    if username and password.strip().lower() == username.strip().lower():
        reasons.append("must not be the username")
    return reasons


def one_time_password() -> str:
    """A random password for a new or reset account, to be changed at the next sign-in."""
    return "".join(secrets.choice(_OTP_ALPHABET) for _ in range(16))


# --- creating accounts ----------------------------------------------------------------------
def _add(s, values: dict, actor: str, demo: bool) -> Saved:
    c = Checker(values)
    username = usernames.normalise(c.text("username", required=True, max_length=usernames.MAX_LENGTH)) or None
    display = c.text("display_name", max_length=120) or username
    role = c.code("role", codes.ROLES, upper=False)
    password = values.get("password") or ""
    name_ok = username and not any(problem.field == "username" for problem in c.problems)
    if name_ok and (reason := usernames.problem(username)):
        c.fail("username", reason)
        name_ok = False
    elif name_ok and username.lower() in SERVICE_ACTORS:
        c.fail("username", "is reserved for the system: choose another")
        name_ok = False
    for reason in password_problems(username, password):
        c.fail("password", reason, value="***")
    if "password_again" in values and values.get("password_again") != password:
        c.fail("password_again", "does not match the password", value="***")
    if name_ok and _find(s, username) is not None:
        c.fail("username", "is already taken")
    elif name_ok and (twin := usernames.looks_like(username, _taken(s))):
        c.fail("username", f"looks the same as the username {twin}: choose one that cannot be mistaken for it")
    check(c)
    row = User(
        username=username,
        display_name=display,
        password_hash=_hash(password),
        role=role,
        must_change_password=bool(values.get("must_change_password")),
        created_at=now(),
        demo=demo,
    )
    s.add(row)
    s.flush()
    audit(s, actor, "create", "app_user", row.id, None, _public(row))
    return Saved(True, row.id)


def add_user(values: dict, user: str, *, engine=None, demo: bool = False) -> Saved:
    """A new account. The password is hashed with bcrypt here and never stored or logged."""
    return write(lambda s: _add(s, values, user, demo), session=None, engine=engine)


def create_first_admin(values: dict, *, engine=None) -> Saved:
    """The first administrator, from the first-run setup page. Refused once any account
    exists; two people submitting at once cannot both succeed (the setup marker is a primary
    key written in the same transaction)."""

    def work(s):
        if s.execute(select(User.id).limit(1)).first() is not None or s.get(Setting, SETUP_MARKER):
            raise Rejected([Problem("setup", None, "is already complete: sign in instead")])
        saved = _add(s, {**values, "role": "admin"}, "setup", False)
        s.add(Setting(key=SETUP_MARKER, value=json.dumps(now().isoformat())))
        s.flush()
        return saved

    return write(work, session=None, engine=engine)


# --- administration -------------------------------------------------------------------------
def _other_active_admins(s, row: User) -> int:
    query = select(func.count(User.id)).where(
        User.role == "admin", User.active.is_(True), User.id != row.id
    )
    return s.execute(query).scalar_one()


# a change to any of these ends the user's sign-in cookies (their session generation moves on)
ENDS_SESSIONS = ("password_hash", "role", "active")


def _change(s, actor: str, row: User, action: str, changes: dict, reason: str | None = None) -> Saved:
    before = {name: getattr(row, name) for name in changes}
    s.execute(update(User).where(User.id == row.id).values(**changes))
    if any(name in changes for name in ENDS_SESSIONS):
        throttle.bump_generation(s, row.id)
    after = {name: value for name, value in changes.items() if name != "password_hash"}
    before.pop("password_hash", None)
    audit(s, actor, action, "app_user", row.id, before or None, after or None, reason)
    return Saved(True, row.id)


def set_user_active(username: str, active: bool, user: str, *, engine=None, keep_an_admin: bool = False) -> Saved:
    """Enable or disable an account. With keep_an_admin (the app's administration page) the
    last active administrator cannot be disabled; an operator at the command line may."""

    def work(s):
        row = _known(s, username)
        if (keep_an_admin and not active and row.role == "admin" and row.active
                and not _other_active_admins(s, row)):
            raise Rejected([Problem("username", username, "is the last active administrator")])
        if row.active == active:
            return Saved(True, row.id, change="unchanged")
        return _change(s, user, row, "update", {"active": active})

    return write(work, session=None, engine=engine)


def set_role(username: str, role: str, user: str, *, engine=None) -> Saved:
    def work(s):
        row = _known(s, username)
        c = Checker({"role": role})
        new_role = c.code("role", codes.ROLES, upper=False)
        check(c)
        if row.role == "admin" and new_role != "admin" and row.active and not _other_active_admins(s, row):
            raise Rejected([Problem("role", role, "would leave no active administrator")])
        if row.role == new_role:
            return Saved(True, row.id, change="unchanged")
        return _change(s, user, row, "update", {"role": new_role})

    return write(work, session=None, engine=engine)


def reset_password(username: str, user: str, *, engine=None) -> tuple[Saved, str | None]:
    """Give the account a one-time password (returned once, never stored in clear) that must be
    changed at the next sign-in; this also lifts a lockout."""
    password = one_time_password()

    def work(s):
        row = _known(s, username)
        changes = {
            "password_hash": _hash(password),
            "must_change_password": True,
            "failed_logins": 0,
            "locked_until": None,
        }
        throttle.clear(s, row.username)
        return _change(s, user, row, "password_reset", changes)

    saved = write(work, session=None, engine=engine)
    return saved, (password if saved.ok else None)


def unlock(username: str, user: str, *, engine=None) -> Saved:
    """Lift every sign-in lock on the account (and on the clients locked while trying it),
    whatever state it is in: this always works, even while an attack goes on."""

    def work(s):
        row = _known(s, username)
        throttle.clear(s, row.username)
        return _change(s, user, row, "unlock", {"failed_logins": 0, "locked_until": None})

    return write(work, session=None, engine=engine)


def change_password(username: str, current: str, new: str, new_again: str, *, engine=None) -> Saved:
    """The signed-in user's own change; also the way out of a one-time password."""

    def work(s):
        row = _known(s, username)
        c = Checker({"current_password": "***", "new_password": "***"})
        if not _matches(current or "", row.password_hash):
            c.fail("current_password", "is not your current password")
        for reason in password_problems(row.username, new):
            c.fail("new_password", reason)
        if new != new_again:
            c.fail("new_password_again", "does not match the new password", value="***")
        if not c.problems and _matches(new, row.password_hash):
            c.fail("new_password", "must differ from the current password")
        check(c)
        changes = {"password_hash": _hash(new), "must_change_password": False}
        return _change(s, row.username, row, "password_change", changes)

    return write(work, session=None, engine=engine)


# --- sign-in bookkeeping (the attempts themselves: divert.auth.sign_in) ---------------------------
def record_sign_out(username: str, reason: str | None = None, *, session: str | None = None, engine=None) -> Saved:
    """A session ended; with `session` (the browser session's id) its cookie is void from now on."""

    def work(s):
        row = _known(s, username)
        audit(s, row.username, "sign_out", "app_user", row.id, after={"session": session} if session else None,
              reason=reason)
        return Saved(True, row.id)

    return write(work, session=None, engine=engine)
