"""Who may write what: the acting user is checked again inside every write transaction.

A page's form callback runs before the page checks who is signed in, so a user disabled or
demoted a moment ago could otherwise save one more change. Every audited write names its actor;
before the transaction commits, each actor that is an account is read again (on PostgreSQL with
a share lock, so a concurrent disable or role change waits for this write or this write sees
it) and must be active, past any one-time password, and have a role that may write each table
it touched. Actors that are not accounts are the command line (`cli:<login>`) and the system's
own jobs (`system`, `setup`, `demo`); account names can never take those forms.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from divert.core import codes
from divert.core.field_rules import Problem
from divert.storage.models import User

AUDITED = "divert_audited"  # Session.info key: (actor, action, table, row id) of each audit row
HELD = "divert_actors_held"  # Session.info key: (transaction, actors whose rows this transaction share-locked)
SERVICE_ACTORS = frozenset({"system", "setup", "demo", "bench"})  # reserved: never usernames

CASEWORK = ("caseworker", "admin")
SCHEDULING = ("manager", "caseworker", "admin")
PLANNING = ("manager", "admin")
WRITE_ROLES = {
    "person": CASEWORK,
    "offence": CASEWORK,
    "referral": CASEWORK,
    "assessment": CASEWORK,
    "contact_attempt": CASEWORK,
    "closure": CASEWORK,
    "stop_search": CASEWORK,
    "population": CASEWORK,
    "course_session": SCHEDULING,
    "booking": SCHEDULING,
    "app_user": ("admin",),
}
# what an account does to its own row whatever its state (signing in and out is recorded even
# for an account disabled a moment ago)
BOOKKEEPING = frozenset({"sign_in", "sign_out", "sign_in_failed", "lockout", "sign_in_backoff"})


def command_line_actor() -> str:
    """Who the audit log says ran a command: `cli:` and the operating-system account the process
    runs as (its user id), never a name from the environment (LOGNAME or USER, which whoever
    runs the command sets). The command line with the database URL is administrator access:
    this names the account it was used from, it does not check it."""
    import os
    import pwd

    uid = os.getuid()
    try:
        return f"cli:{pwd.getpwuid(uid).pw_name}"
    except KeyError:  # an account with no entry in the password database (a container's user)
        return f"cli:uid-{uid}"


def roles_for(action: str, table: str, row_id: str | None) -> tuple[str, ...]:
    if action == "import":
        return CASEWORK  # the Imports page's roles
    if table == "setting":
        return PLANNING if str(row_id or "").startswith(("scenario:", "alert_ack:")) else ("admin",)
    if table == "*" and action == "export_board_pack":
        return tuple(codes.ROLES)  # a copy of the figures the role already sees, recorded
    return WRITE_ROLES.get(table, ("admin",))


def note(s: Session, actor: str, action: str, table: str, row_id) -> None:
    s.info.setdefault(AUDITED, []).append((actor, action, table, None if row_id is None else str(row_id)))


def hold(s: Session, actor: str) -> None:
    """PostgreSQL: share-lock the acting account's row before the audit event takes the audit
    chain's lock (divert.storage.audit_chain), as `problems` would after it. A sign-in or an
    account change locks that row and then audits, so every writer takes the two locks in the
    same order and neither waits for the other in a circle. Once per actor and transaction."""
    name = (actor or "").strip().lower()
    if s.get_bind().dialect.name != "postgresql" or not name or ":" in name or name in SERVICE_ACTORS:
        return
    transaction = s.get_transaction()
    held = s.info.get(HELD)
    if held is None or held[0] is not transaction:
        held = s.info[HELD] = (transaction, set())
    if name not in held[1]:
        s.execute(select(User.id).where(func.lower(User.username) == name).with_for_update(read=True))
        held[1].add(name)


def problems(s: Session) -> list[Problem]:
    """Why the actors of this transaction's audit rows may not write what they wrote (empty when
    they may). Reads each acting account inside the transaction."""
    by_actor: dict[str, list[tuple[str, str, str | None]]] = {}
    for actor, action, table, row_id in s.info.get(AUDITED, []):
        name = (actor or "").strip().lower()
        if not name or ":" in name or name in SERVICE_ACTORS:
            continue
        by_actor.setdefault(name, []).append((action, table, row_id))
    found = []
    for name, events in sorted(by_actor.items()):
        query = (select(User.id, User.username, User.role, User.active, User.must_change_password)
                 .where(func.lower(User.username) == name).with_for_update(read=True))
        account = s.execute(query).first()
        if account is None:
            continue  # not an account (a test's or a script's own name)
        for action, table, row_id in events:
            own = table == "app_user" and row_id == str(account.id)
            if own and action in BOOKKEEPING:
                continue
            if not account.active:
                found.append(Problem("account", account.username, "your account has been disabled: nothing was saved"))
                break
            if own and action == "password_change":
                continue
            if account.must_change_password:
                found.append(Problem("account", account.username,
                                     "choose a new password on My account first: nothing was saved"))
                break
            if account.role not in roles_for(action, table, row_id):
                label = codes.ROLES.get(account.role, account.role)
                found.append(Problem("account", account.username,
                                     f"your role ({label}) cannot change these records: nothing was saved"))
                break
    return found
