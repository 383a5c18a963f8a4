"""The rows behind sign-in throttling and session generations (divert.storage.security_models).

Low-level and dialect-aware (SQLite and PostgreSQL): counting an attempt is one
`UPDATE ... SET failures = failures + 1 ... RETURNING`, so concurrent attempts never lose a
count, and an attempt that finds its key locked changes nothing and gets no row back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlmodel import Session

from divert.auth.usernames import normalise
from divert.storage.security_models import ANY, SessionGeneration, SignInThrottle

T = SignInThrottle
TRUSTED_FOR = timedelta(days=30)  # a client that signed in to an account lately skips its back-off
FORGET_AFTER = timedelta(days=1)  # quiet rows with no lock and no recent success are removed


def name_key(username: str | None) -> str:
    return normalise(username).lower()[:60]


def client_key(address: str | None) -> str:
    return ((address or "").strip() or "local")[:64]


def _insert(s: Session, model):
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def _ensure(s: Session, username: str, client: str) -> None:
    s.execute(_insert(s, T).values(username=username, client=client, failures=0).on_conflict_do_nothing())


def _where(username: str, client: str):
    return and_(T.username == username, T.client == client)


def count_attempt(s: Session, username: str, client: str, moment: datetime, *, quiet: timedelta,
                  gate: bool = True, restart_after_lock: bool = True):
    """Count one attempt against (username, client) before its password is checked.

    Returns (failures now, last success) - or None when the key is locked (with `gate`),
    in which case nothing changes. The count starts again after `quiet` without attempts, and
    (with `restart_after_lock`) once a lock has run out; a back-off keeps counting instead."""
    _ensure(s, username, client)
    restart = and_(T.last_attempt_at.is_not(None), T.last_attempt_at <= moment - quiet)
    if restart_after_lock:
        restart = or_(restart, and_(T.locked_until.is_not(None), T.locked_until <= moment))
    statement = (
        update(T)
        .where(_where(username, client))
        .values(failures=case((restart, 1), else_=T.failures + 1), last_attempt_at=moment,
                locked_until=case((restart, None), else_=T.locked_until))
        .returning(T.failures, T.last_success_at)
    )
    if gate:
        statement = statement.where(or_(T.locked_until.is_(None), T.locked_until <= moment))
    return s.execute(statement).first()


def refused_under(s: Session, username: str, client: str, moment: datetime) -> None:
    """A lock in force has refused an attempt: its end moves on by a microsecond, so that the
    attempt that armed it no longer finds its own lock there and a right password from that
    attempt cannot lift it (succeeded() lifts only the lock it armed, unchanged). Without this,
    a right password counted as the attempt that reached the limit, racing wrong ones, would
    clear the lock that had just refused them."""
    until = _aware(s.execute(select(T.locked_until).where(_where(username, client))).scalar())
    if until is not None and until > moment:
        s.execute(update(T).where(_where(username, client), T.locked_until == until)
                  .values(locked_until=until + timedelta(microseconds=1)))


def standing(s: Session, armed: dict, moment: datetime) -> dict:
    """Of the locks an attempt armed ({(username, client): until}), those still in force."""
    out = {}
    for username, client in armed:
        now_until = _aware(s.execute(select(T.locked_until).where(_where(username, client))).scalar())
        if now_until is not None and now_until > moment:
            out[(username, client)] = now_until
    return out


def lock(s: Session, username: str, client: str, until: datetime) -> None:
    s.execute(update(T).where(_where(username, client)).values(locked_until=until))


def _unless_locked_by_others(moment: datetime, ours: datetime | None):
    free = or_(T.locked_until.is_(None), T.locked_until <= moment)
    return or_(free, T.locked_until == ours) if ours is not None else free


def succeeded(s: Session, username: str, client: str, moment: datetime, armed: dict) -> None:
    """A right password. The counts for this client on the account and for the account start
    again - unless a lock armed by another attempt since this one was counted is in force (a
    right password must never lift a lock it did not see); the client is trusted for the
    account from now on; the client's count across accounts only loses this attempt (signing
    in to one's own account must not wipe out guesses at others)."""
    s.execute(update(T).where(_where(username, client))
              .values(last_success_at=moment))
    s.execute(update(T).where(_where(username, client), _unless_locked_by_others(moment, armed.get((username, client))))
              .values(failures=0, locked_until=None))
    s.execute(update(T).where(_where(username, ANY), _unless_locked_by_others(moment, armed.get((username, ANY))))
              .values(failures=0, locked_until=None))
    ours = armed.get((ANY, client))
    lower = func.max if s.get_bind().dialect.name == "sqlite" else func.greatest
    s.execute(update(T).where(_where(ANY, client))
              .values(failures=lower(T.failures - 1, 0),
                      locked_until=case((T.locked_until == ours, None), else_=T.locked_until)
                      if ours is not None else T.locked_until))
    s.execute(delete(T).where(
        T.last_attempt_at < moment - FORGET_AFTER,
        or_(T.locked_until.is_(None), T.locked_until < moment),
        or_(T.last_success_at.is_(None), T.last_success_at < moment - TRUSTED_FOR),
    ))


@dataclass(frozen=True)
class AccountThrottle:
    failures: int = 0  # wrong passwords in a row, from every client
    locked_until: datetime | None = None  # the latest lock on the account, from any client
    clients_locked: int = 0  # clients locked out of the account now


def states(s: Session, usernames: list[str], moment: datetime) -> dict[str, AccountThrottle]:
    """The throttle state of each account (by lower-case username)."""
    names = [name_key(u) for u in usernames]
    out: dict[str, AccountThrottle] = {}
    if not names:
        return out
    rows = s.execute(select(T).where(T.username.in_(names))).scalars().all()
    for name in names:
        mine = [r for r in rows if r.username == name]
        total = next((r for r in mine if r.client == ANY), None)
        locks = [_aware(r.locked_until) for r in mine if r.locked_until is not None and _aware(r.locked_until) > moment]
        out[name] = AccountThrottle(
            failures=total.failures if total else 0,
            locked_until=max(locks) if locks else None,
            clients_locked=sum(1 for r in mine if r.client != ANY and r.locked_until is not None
                               and _aware(r.locked_until) > moment),
        )
    return out


def clear(s: Session, username: str) -> None:
    """Lift every lock on an account, and on each client locked while trying it."""
    name = name_key(username)
    clients = select(T.client).where(T.username == name, T.client != ANY)
    s.execute(delete(T).where(T.username == ANY, T.client.in_(clients)))
    s.execute(delete(T).where(T.username == name))


def _aware(moment: datetime | None) -> datetime | None:
    from datetime import UTC

    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


# --- session generations --------------------------------------------------------------------
def generation(s: Session, user_id: int) -> int:
    value = s.execute(select(SessionGeneration.generation).where(SessionGeneration.user_id == user_id)).scalar()
    return int(value or 0)


def bump_generation(s: Session, user_id: int) -> int:
    """End every sign-in cookie issued to the user so far; returns the new generation."""
    statement = _insert(s, SessionGeneration).values(user_id=user_id, generation=1)
    statement = statement.on_conflict_do_update(
        index_elements=[SessionGeneration.user_id],
        set_={"generation": SessionGeneration.generation + 1},
    ).returning(SessionGeneration.generation)
    return int(s.execute(statement).scalar_one())
