"""Signing in with a password, throttled per account and per client.

One attempt is three steps:
1. One short write transaction counts the attempt *before* the password is looked at, under
   three keys: this client on this account, every client on this account, and this client on
   any account (`UPDATE ... SET failures = failures + 1 ... RETURNING`). A key that is locked
   refuses the attempt there and then, and the attempt that reaches a limit arms the lock at
   once - so however many attempts run in parallel, no more passwords are checked than the
   limits allow. (The lock is checked at the moment of the password check, never from a copy
   read when the page started.)
2. bcrypt checks the password outside any transaction: against a dummy hash of the same cost
   when the username is unknown or the account disabled, so every attempt costs the same time
   and says nothing about which accounts exist.
3. A second short transaction records the result: a right password resets the counts (not a
   lock someone else armed meanwhile) and returns the account's session generation; a wrong one
   is audited for a known account, with any lock it armed.

Limits (from the settings): one client gets `lockout_attempts` wrong passwords in a row on an
account, then it is locked out of that account for `lockout_minutes`; all clients together get
`lockout_attempts`, after which the account backs off 1, 2, 4... seconds (at most
`lockout_minutes`) - except for clients that signed in to it in the last 30 days; one client gets
4 x `lockout_attempts` wrong passwords in a row across all accounts. So an attacker can slow an
account down but cannot keep its owner, an administrator included, out; an administrator's
unlock (the Users page, or `divert user unlock` at the command line) lifts every lock at once.
Unknown usernames are throttled exactly like known ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

import bcrypt
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from divert.auth import throttle
from divert.core.environment import password_hash_rounds
from divert.records.core import audit, now
from divert.storage.db import is_busy, session_scope
from divert.storage.models import User
from divert.storage.security_models import ANY

CLIENT_FACTOR = 4
MAX_PASSWORD_BYTES = 72


@dataclass(frozen=True)
class Outcome:
    status: str  # ok | wrong | locked | busy
    username: str | None = None  # the account's own spelling, when ok
    generation: int = 0  # the account's session generation, when ok


@dataclass
class _Reserved:
    user_id: int | None
    username: str | None
    password_hash: str | None
    active: bool
    failures: int  # the account's wrong passwords in a row, this attempt included
    client_failures: int
    armed: dict = field(default_factory=dict)  # (username key, client key) -> lock end


class _Refused(Exception):
    """A locked key: the attempt is refused and its counts are rolled back; the lock is marked
    as having refused someone (throttle.refused_under)."""

    def __init__(self, username: str, client: str):
        super().__init__(username, client)
        self.key = (username, client)


def _dummy_hash() -> bytes:
    """A hash of a random password at the configured cost - the cost of every new stored hash."""
    return _dummy_hash_at(password_hash_rounds())


@lru_cache(maxsize=4)
def _dummy_hash_at(rounds: int) -> bytes:
    return bcrypt.hashpw(secrets.token_bytes(18), bcrypt.gensalt(rounds))


def password_matches(password: str, stored: str | None) -> bool:
    """Exactly one bcrypt check whatever the input: against `stored`, or the dummy hash."""
    candidate = (password or "").encode()
    hashed = stored.encode() if stored and stored.startswith("$2") else None
    try:
        matched = bcrypt.checkpw(candidate[:MAX_PASSWORD_BYTES], hashed or _dummy_hash())
    except ValueError:  # a malformed stored hash
        bcrypt.checkpw(candidate[:MAX_PASSWORD_BYTES], _dummy_hash())
        return False
    return matched and hashed is not None and len(candidate) <= MAX_PASSWORD_BYTES


def _reserve(engine, name: str, client: str, prefs, moment: datetime) -> _Reserved:
    limit = prefs.lockout_attempts
    lock_for = timedelta(minutes=prefs.lockout_minutes)
    with session_scope(engine, write=True) as s:
        armed = {}
        pair = throttle.count_attempt(s, name, client, moment, quiet=lock_for)
        if pair is None:
            raise _Refused(name, client)
        if pair.failures >= limit:
            armed[(name, client)] = moment + lock_for
        last_success = throttle._aware(pair.last_success_at)
        trusted = last_success is not None and last_success > moment - throttle.TRUSTED_FOR
        account = throttle.count_attempt(s, name, ANY, moment, quiet=lock_for, gate=not trusted,
                                         restart_after_lock=False)
        if account is None:
            raise _Refused(name, ANY)
        if account.failures >= limit:
            backoff = timedelta(seconds=2 ** min(account.failures - limit, 20))
            armed[(name, ANY)] = moment + min(backoff, lock_for)
        spray = throttle.count_attempt(s, ANY, client, moment, quiet=lock_for)
        if spray is None:
            raise _Refused(ANY, client)
        if spray.failures >= limit * CLIENT_FACTOR:
            armed[(ANY, client)] = moment + lock_for
        for (username, address), until in armed.items():
            throttle.lock(s, username, address, until)
        user = s.execute(select(User.id, User.username, User.password_hash, User.active)
                         .where(func.lower(User.username) == name)).first()
        return _Reserved(
            user_id=user.id if user else None, username=user.username if user else None,
            password_hash=user.password_hash if user else None, active=bool(user and user.active),
            failures=account.failures, client_failures=pair.failures, armed=armed,
        )


def attempt(username: str, password: str, client: str | None, *, prefs, engine) -> Outcome:
    """One sign-in attempt from `client` (the browser's address). Never raises for a busy
    database: the outcome is then 'busy' and nothing was counted."""
    name, address = throttle.name_key(username), throttle.client_key(client)
    try:
        try:
            reserved = _reserve(engine, name, address, prefs, now())
        except _Refused as refused:
            with session_scope(engine, write=True) as s:
                throttle.refused_under(s, *refused.key, now())
            return Outcome("locked")
        right = password_matches(password, reserved.password_hash) and reserved.active
        with session_scope(engine, write=True) as s:
            if right:
                outcome = _succeed(s, name, address, reserved)
                if outcome is not None:
                    return outcome
            _fail(s, name, address, reserved)
    except OperationalError as error:
        if is_busy(error):
            return Outcome("busy")
        raise
    return Outcome("locked" if reserved.armed else "wrong")


def _succeed(s, name: str, address: str, reserved: _Reserved) -> Outcome | None:
    row = s.execute(select(User.id, User.username).where(User.id == reserved.user_id, User.active.is_(True))).first()
    if row is None:  # disabled since the attempt began
        return None
    moment = now()
    throttle.succeeded(s, name, address, moment, reserved.armed)
    s.execute(update(User).where(User.id == row.id).values(failed_logins=0, locked_until=None))
    before = {"failed_logins": reserved.failures - 1} if reserved.failures > 1 else None
    audit(s, row.username, "sign_in", "app_user", row.id, before, None)
    _audit_locks(s, row.username, row.id, reserved, throttle.standing(s, reserved.armed, moment))
    return Outcome("ok", row.username, throttle.generation(s, row.id))


def _fail(s, name: str, address: str, reserved: _Reserved) -> None:
    if reserved.user_id is None:
        # the same small write as for an account, so an unknown name answers no faster
        s.execute(update(throttle.T).where(throttle.T.username == name, throttle.T.client == address)
                  .values(last_attempt_at=now()))
        return
    user, row_id = reserved.username, reserved.user_id
    audit(s, user, "sign_in_failed", "app_user", row_id, None, {"failed_logins": reserved.failures})
    _audit_locks(s, user, row_id, reserved, reserved.armed)


def _audit_locks(s, user: str, row_id: int, reserved: _Reserved, locks: dict) -> None:
    """The locks this attempt armed: after a wrong password all of them; after a right one those
    that stand because they refused other attempts meanwhile."""
    name = throttle.name_key(user)
    for (username, client), until in locks.items():
        if client == ANY:
            audit(s, user, "sign_in_backoff", "app_user", row_id, None,
                  {"locked_until": until, "failed_logins": reserved.failures},
                  reason=f"{reserved.failures} failed sign-ins in a row from any client")
        else:
            count = reserved.client_failures if username == name else None
            audit(s, user, "lockout", "app_user", row_id, None,
                  {"locked_until": until, "failed_logins": reserved.failures},
                  reason=(f"{count} failed sign-ins in a row from one client" if count
                          else "too many failed sign-ins from one client across accounts"))
