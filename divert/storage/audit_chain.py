"""The sealed audit trail: each audit event carries the SHA-256 seal of the one before it.

An event's seal is SHA-256 over a version line, the previous event's seal and a canonical form
of the event's fields (`canonical`): when it happened (UTC, to the microsecond), who, what,
which table and row, before, after and the reason. The id is left out, so a restore that moves
the ids on (after the events `divert init` wrote) keeps every seal. The first event follows
GENESIS. Events are chained in id order.

Every audit event is written through `seal` (the one write path's `records.core.audit`, and the
few writers that add an event themselves): it takes the chain's lock (PostgreSQL: a transaction
advisory lock, so two writers at once cannot both follow the same head; SQLite's writers are one
at a time already), reads the head (one lookup on the primary key) and links the new event to it.
A trigger refuses an event without its seal.

`verify` walks the whole trail and names the first event whose seal does not match its fields
(changed after it was written) or whose link does not match the event before it (an event
removed, inserted or changed before it). A restore into a freshly initialised database is the one
place where the chain is joined to another chain: the restore event records that join
(`RESTORE_KEY`), sealed in its turn, and `verify` accepts exactly that join.

`protection_problems` says what is missing of the database's own guards: the triggers that
refuse changing, deleting or replacing an event, and SQLite's recursive_triggers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select, text
from sqlmodel import Session

from divert.storage.models import AuditEvent

GENESIS = "0" * 64
SEAL_VERSION = b"divert-audit-1\n"
CHAIN_LOCK = 0x6469766572744155  # PostgreSQL advisory lock key ('divertAU')
RESTORE_KEY = "audit_chain"  # in a restore event's `after`: {"joined": seal, "restored_from": link}
FIELDS = ("at", "username", "action", "table_name", "row_id", "before", "after", "reason")

# the database's guards (migrations 0002 and 0005 create them): SQLite, name -> statement
SQLITE_TRIGGERS = {
    "audit_event_no_update": "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events cannot be changed'); END",
    "audit_event_no_delete": "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events cannot be deleted'); END",
    "audit_event_no_replace": "CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event "
    "WHEN EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'audit events cannot be replaced'); END",
    "audit_event_sealed": "CREATE TRIGGER audit_event_sealed BEFORE INSERT ON audit_event "
    "WHEN NEW.hash IS NULL OR NEW.prev_hash IS NULL "
    "BEGIN SELECT RAISE(ABORT, 'an audit event must be sealed (divert.storage.audit_chain)'); END",
}
_IMMUTABLE = ("CREATE OR REPLACE FUNCTION divert_audit_event_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
              "BEGIN RAISE EXCEPTION 'audit events cannot be changed or deleted'; END $$")
_UNSEALED = ("CREATE OR REPLACE FUNCTION divert_audit_event_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$ "
             "BEGIN RAISE EXCEPTION 'an audit event must be sealed (divert.storage.audit_chain)'; END $$")
# PostgreSQL: name -> (its function, the trigger)
POSTGRES_TRIGGERS = {
    "audit_event_no_change": (_IMMUTABLE, "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON "
                              "audit_event FOR EACH ROW EXECUTE FUNCTION divert_audit_event_immutable()"),
    "audit_event_no_truncate": (_IMMUTABLE, "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
                                "FOR EACH STATEMENT EXECUTE FUNCTION divert_audit_event_immutable()"),
    "audit_event_sealed": (_UNSEALED, "CREATE TRIGGER audit_event_sealed BEFORE INSERT ON audit_event FOR EACH ROW "
                           "WHEN (NEW.hash IS NULL OR NEW.prev_hash IS NULL) "
                           "EXECUTE FUNCTION divert_audit_event_unsealed()"),
}


# --- the seal -------------------------------------------------------------------------------
def _moment(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite hands moments back without a zone; they were written in UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(values: dict) -> bytes:
    """The event's fields in one fixed form, whichever database they were read from."""
    fields = [_moment(values["at"]), *(values.get(name) for name in FIELDS[1:])]
    return json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def link(prev_hash: str, values: dict) -> str:
    """The seal of an event with these field `values` that follows the event sealed `prev_hash`."""
    return hashlib.sha256(SEAL_VERSION + prev_hash.encode("ascii") + b"\n" + canonical(values)).hexdigest()


def _values(event) -> dict:
    return {name: getattr(event, name) for name in FIELDS}


def lock(conn: Connection) -> None:
    """PostgreSQL: hold the chain until this transaction ends (a second writer waits here, then
    reads the head the first one committed). SQLite: BEGIN IMMEDIATE already holds every writer."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def head(conn: Connection) -> str:
    """The seal of the last event (GENESIS before the first)."""
    found = conn.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    return GENESIS if found is None or found[0] is None else found[0]


def seal(s: Session, event: AuditEvent) -> AuditEvent:
    """Add `event` to the session's transaction, linked to the chain's head."""
    s.flush()  # an event added before this one is then the head
    conn = s.connection()
    lock(conn)
    event.prev_hash = head(conn)
    event.hash = link(event.prev_hash, _values(event))
    s.add(event)
    return event


def relink(conn: Connection, columns: list[str], rows: list[tuple]) -> list[tuple]:
    """Recorded inserts of audit events (their column names and each event's values, in order)
    linked anew to this database's head: an import checked on a copy of a SQLite database writes
    its events on the real one, where other events may have been written since the copy was taken."""
    prev, linked = head(conn), []
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        fields = {name: values.get(name) for name in FIELDS}
        if isinstance(fields["at"], str):  # as bound for SQLite: UTC without an offset
            fields["at"] = datetime.fromisoformat(fields["at"])
        values["prev_hash"], values["hash"] = prev, link(prev, fields)
        prev = values["hash"]
        linked.append(tuple(values[name] for name in columns))
    return linked


def join(conn: Connection, joined: str | None, kept: int) -> dict | None:
    """What a restore records when it put a backup's events after events already there (ids up
    to `kept`, the last sealed `joined`): the join that `verify` then accepts. None when there is
    no join (nothing was there before, or the backup held no event)."""
    if joined is None:
        return None
    first = conn.execute(select(AuditEvent.prev_hash).where(AuditEvent.id > kept)
                         .order_by(AuditEvent.id).limit(1)).first()
    return None if first is None else {"joined": joined, "restored_from": first[0]}


# --- checking the chain ---------------------------------------------------------------------
@dataclass
class Break:
    event_id: int
    at: datetime
    reason: str


@dataclass
class Verdict:
    checked: int = 0  # events whose seal and link were verified
    last_id: int | None = None
    last_at: datetime | None = None
    last_hash: str | None = None
    broken: Break | None = None


def _joins(conn: Connection) -> dict[tuple[str, str], int]:
    """The joins restores recorded: (seal of the event before, link of the event after) -> the id
    of the restore event that recorded it."""
    joins = {}
    rows = conn.execute(select(AuditEvent.id, AuditEvent.after).where(
        AuditEvent.action == "restore", AuditEvent.table_name == "*"))
    for event_id, after in rows:
        try:
            join = json.loads(after or "{}").get(RESTORE_KEY) or {}
        except (ValueError, AttributeError):
            continue
        if isinstance(join, dict) and isinstance(join.get("joined"), str) and isinstance(join.get("restored_from"), str):
            joins[(join["joined"], join["restored_from"])] = event_id
    return joins


def verify(engine: Engine, batch: int = 5_000) -> Verdict:
    """Check every event's seal and its link to the event before it, in id order; stop at the
    first that fails."""
    verdict = Verdict()
    columns = [getattr(AuditEvent, name) for name in ("id", *FIELDS, "prev_hash", "hash")]
    with engine.connect() as conn:
        joins = _joins(conn)
        expected = GENESIS
        rows = conn.execution_options(stream_results=True, yield_per=batch).execute(
            select(*columns).order_by(AuditEvent.id))
        for row in rows:
            values = row._asdict()
            reason = _fault(values, expected, joins)
            if reason:
                verdict.broken = Break(values["id"], values["at"], reason)
                return verdict
            expected = values["hash"]
            verdict.checked += 1
            verdict.last_id, verdict.last_at, verdict.last_hash = values["id"], values["at"], values["hash"]
    return verdict


def _fault(values: dict, expected: str, joins: dict) -> str | None:
    if values["hash"] is None or values["prev_hash"] is None:
        return "it has no seal (written without one, or the trail's guards were removed)"
    if link(values["prev_hash"], values) != values["hash"]:
        return "its fields do not match its seal: it was changed after it was written"
    if values["prev_hash"] != expected:
        restore = joins.get((expected, values["prev_hash"]))
        if restore is None or restore <= values["id"]:
            return ("it is not linked to the event before it: an event before it was removed, inserted or "
                    "changed")
    return None


# --- the database's guards ------------------------------------------------------------------
def _normal(sql: str | None) -> str:
    return " ".join((sql or "").split())


def protection_problems(engine: Engine) -> list[str]:
    """What is missing of the guards that refuse changing, deleting or replacing audit events
    (empty: all in place)."""
    problems = []
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = dict(conn.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")).all())
            for name, sql in SQLITE_TRIGGERS.items():
                if name not in found:
                    problems.append(f"the trigger {name} is missing")
                elif _normal(found[name]) != _normal(sql):
                    problems.append(f"the trigger {name} is not Divert's")
            if conn.exec_driver_sql("PRAGMA recursive_triggers").scalar() != 1:
                problems.append("recursive_triggers is off on this connection (INSERT OR REPLACE would delete "
                                "without the delete trigger)")
        elif conn.dialect.name == "postgresql":
            found = dict(conn.execute(text(
                "SELECT tgname, tgenabled FROM pg_trigger "
                "WHERE tgrelid = to_regclass('audit_event') AND NOT tgisinternal")).all())
            for name in POSTGRES_TRIGGERS:
                if name not in found:
                    problems.append(f"the trigger {name} is missing")
                elif found[name] == "D":
                    problems.append(f"the trigger {name} is disabled")
    return problems


def restore_guards(engine: Engine) -> list[str]:
    """`divert init`: put back any of the guards that is missing (PostgreSQL: switch a disabled
    one back on; that needs the owner of audit_event). Returns what it did."""
    done = []
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            found = set(conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")).scalars())
            for name, sql in SQLITE_TRIGGERS.items():
                if name not in found:
                    conn.exec_driver_sql(sql)
                    done.append(f"put back the missing trigger {name}")
        elif conn.dialect.name == "postgresql":
            found = dict(conn.execute(text(
                "SELECT tgname, tgenabled FROM pg_trigger "
                "WHERE tgrelid = to_regclass('audit_event') AND NOT tgisinternal")).all())
            for name, (function, trigger) in POSTGRES_TRIGGERS.items():
                if name not in found:
                    conn.exec_driver_sql(function)
                    conn.exec_driver_sql(trigger)
                    done.append(f"put back the missing trigger {name}")
                elif found[name] == "D":
                    conn.exec_driver_sql(f"ALTER TABLE audit_event ENABLE TRIGGER {name}")
                    done.append(f"switched the disabled trigger {name} back on")
    return done


def owner_warning(engine: Engine) -> str | None:
    """PostgreSQL: why this connection's role could switch the guards off (it is a superuser or
    owns audit_event); None when it cannot, and on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        role, superuser, owns = conn.execute(text(
            "SELECT current_user, r.rolsuper, pg_has_role(current_user, c.relowner, 'USAGE') "
            "FROM pg_roles r, pg_class c WHERE r.rolname = current_user AND c.oid = to_regclass('audit_event')")).one()
    if superuser:
        return f"this connection's role {role} is a superuser: it could switch off the audit trail's triggers"
    if owns:
        return f"this connection's role {role} owns audit_event: it could switch off the audit trail's triggers"
    return None
