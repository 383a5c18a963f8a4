"""The write path: validate, write, audit, bump data_version - one transaction.

Each public function in divert.records takes the values as typed (a form's widgets or an import
row) and returns a Saved: ok with the row's id, or the list of problems and nothing written.
Pass `session` to take part in a caller's transaction (an import writes all its rows or none);
the caller then bumps data_version once and commits. Pass `upsert=True` (imports) to update a
row whose natural key already exists instead of refusing it; Saved.change then says
new / updated / unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, SQLModel

from divert.core import clock
from divert.core.field_rules import Checker, Problem
from divert.records import acting
from divert.storage import audit_chain
from divert.storage.db import BUSY_MESSAGE, bump_data_version, get_engine, is_busy, session_scope
from divert.storage.models import AuditEvent, Setting

RETRY_STATES = ("40P01", "40001")  # PostgreSQL: deadlock detected, serialization failure


@dataclass
class Saved:
    ok: bool
    row_id: int | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "counted as a repeat diversion"
    change: str = "new"  # new | updated | unchanged


class Rejected(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems


def now() -> datetime:
    return clock.now()


# --- the one write path ---------------------------------------------------------------------
def write(work: Callable[[Session], Saved], *, session: Session | None, engine) -> Saved:
    """Run `work` in a transaction of its own (or, given `session`, in a savepoint of the
    caller's, who then checks the actors and commits). Before committing, every acting account
    is checked again (divert.records.acting). A database too busy to take the write (SQLite's
    lock timeout) gives a problem, never an exception."""
    if session is not None:
        try:
            with session.begin_nested():
                return work(session)
        except Rejected as rejected:
            return Saved(False, problems=rejected.problems)
        except IntegrityError as error:
            return Saved(False, problems=[_integrity_problem(error)])
    for attempt in range(3):
        try:
            with session_scope(engine, write=True) as s:
                saved = work(s)
                check_actors(s)
                bump_data_version(s)
            return saved
        except Rejected as rejected:
            return Saved(False, problems=rejected.problems)
        except IntegrityError as error:
            return Saved(False, problems=[_integrity_problem(error)])
        except OperationalError as error:
            if is_busy(error):
                return Saved(False, problems=[Problem("database", None, BUSY_MESSAGE)])
            if getattr(error.orig, "sqlstate", None) in RETRY_STATES and attempt < 2:
                continue  # two transactions locked each other's rows: one was rolled back
            raise
    raise AssertionError("unreachable")


def check_actors(s: Session) -> None:
    """Refuse the transaction (Rejected) if an acting account may not write what it wrote."""
    problems = acting.problems(s)
    if problems:
        raise Rejected(problems)


def check_only(writer: Callable[..., Saved], values: dict, user: str, *, engine=None) -> Saved:
    """What `writer` (add_referral, close_referral, ...) would do with `values`: every check it
    makes, with nothing written (the transaction is rolled back). For asking a user to confirm
    something that would be accepted."""
    engine = (engine or get_engine()).execution_options(write_lock=True)
    with Session(engine, expire_on_commit=False) as s:
        try:
            return writer(values, user, session=s)
        finally:
            s.rollback()


def _integrity_problem(error: IntegrityError) -> Problem:
    # Reached only when a concurrent writer saved a clashing row between check and insert.
    return Problem("record", None, f"conflicts with a record saved at the same time ({error.orig})")


def check(checker: Checker) -> None:
    """Stop the write (nothing saved) if the checker found problems."""
    if checker.problems:
        raise Rejected(checker.problems)


def as_dict(row: SQLModel | None) -> dict | None:
    return None if row is None else row.model_dump()


def audit(s: Session, user: str, action: str, table: str, row_id, before=None, after=None, reason=None):
    def dump(value):
        return None if value is None else json.dumps(value, default=str, sort_keys=True)

    acting.note(s, user, action, table, row_id)
    acting.hold(s, user)  # (PostgreSQL) the account's row first, then the chain: one order for every writer
    audit_chain.seal(
        s,
        AuditEvent(
            at=now(),
            username=user,
            action=action,
            table_name=table,
            row_id=None if row_id is None else str(row_id),
            before=dump(before),
            after=dump(after),
            reason=reason,
        ),
    )


def insert(s: Session, user: str, row: SQLModel, reason: str | None = None) -> int:
    s.add(row)
    s.flush()
    audit(s, user, "create", row.__tablename__, row.id, None, as_dict(row), reason)
    return row.id

def save(s: Session, user: str, row: SQLModel, key: dict, *, upsert: bool, reason=None, fields=None) -> Saved:
    """Insert `row`, or - when upsert and a row with the same natural `key` exists - update
    that row's changed `fields` (default: every field given). Callers refuse duplicates
    themselves when not upserting."""
    model = type(row)
    existing = s.execute(select(model).filter_by(**key)).scalars().first() if upsert else None
    if existing is None:
        return Saved(True, insert(s, user, row, reason))
    skip = {"id", "version", "demo"}
    changes = {
        name: value
        for name, value in row.model_dump().items()
        if name not in skip and (fields is None or name in fields)
        and value is not None and getattr(existing, name) != value
    }
    if not changes:
        return Saved(True, existing.id, change="unchanged")
    update_row(s, user, existing, changes, reason)
    return Saved(True, existing.id, change="updated")


# --- edits with optimistic concurrency ------------------------------------------------------
def update_row(s: Session, user: str, row: SQLModel, changes: dict, reason: str | None = None):
    before = as_dict(row)
    model = type(row)
    values = dict(changes)
    if hasattr(row, "version"):
        values["version"] = row.version + 1
        condition = (model.id == row.id) & (model.version == row.version)
    else:
        condition = model.id == row.id
    result = s.execute(update(model).where(condition).values(**values))
    if result.rowcount != 1:
        raise Rejected(
            [Problem("version", getattr(row, "version", None), "someone else changed this record; reload it")]
        )
    s.refresh(row)
    audit(s, user, "update", row.__tablename__, row.id, before, as_dict(row), reason)


def editable(s: Session, model, row_id: int, expected_version: int, reason: str | None, what: str):
    """The row a user is correcting: refuses (Rejected) without a reason, for an unknown row, or
    when someone saved the row after the user loaded it (its version moved on)."""
    if not (reason or "").strip():
        raise Rejected([Problem("reason", reason, "is required to change a record")])
    row = s.get(model, row_id)
    if row is None:
        raise Rejected([Problem(what, row_id, f"is not a known {what}")])
    if row.version != expected_version:
        raise Rejected([Problem("version", expected_version, "someone else changed this record; reload it")])
    return row


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def differs(stored, new) -> bool:
    """Whether a correction changes a stored value (datetimes compared as UTC)."""
    if isinstance(stored, datetime) and isinstance(new, datetime):
        return as_utc(stored) != as_utc(new)
    return stored != new


def apply_changes(s: Session, user: str, row: SQLModel, fields: dict, reason: str) -> Saved:
    """Update only the fields whose value a correction changes; unchanged when none does."""
    changes = {name: value for name, value in fields.items() if differs(getattr(row, name), value)}
    if not changes:
        return Saved(True, row.id, change="unchanged")
    update_row(s, user, row, changes, reason=reason.strip())
    return Saved(True, row.id, change="updated")


def set_setting(key: str, value: Any, user: str, *, engine=None) -> Saved:
    def work(s):
        row = s.get(Setting, key)
        text = json.dumps(value, default=str)
        if row is None:
            s.add(Setting(key=key, value=text))
            s.flush()
            audit(s, user, "create", "setting", key, None, {"value": value})
        else:
            before = json.loads(row.value)
            row.value = text
            s.flush()
            audit(s, user, "update", "setting", key, {"value": before}, {"value": value})
        return Saved(True)

    return write(work, session=None, engine=engine)


def get_setting(s: Session, key: str, default: Any = None) -> Any:
    row = s.get(Setting, key)
    return default if row is None else json.loads(row.value)
