"""Imports on SQLite without holding the write lock while every row is checked.

SQLite has one writer at a time. An import used to run all its rows inside one write
transaction, so for the length of a large import every sign-in and every save waited, and after
the busy timeout failed. Now:

1. The rows are checked and written on a private copy of the database (SQLite's backup API:
   one consistent read, taken without blocking anyone), recording every statement that changes
   data. Nothing touches the real database; a dry run, or an import with any problem, ends here.
2. The recorded statements are replayed on the real database in one short write transaction -
   all of them or none, as before. The replay is valid only if nothing the import depends on
   changed since the copy was taken: no audited write since then may touch a table the import
   read or wrote (every write is audited under its table's name; sign-ins only touch accounts,
   and the acting account is checked again on the real database), and afterwards each table
   the import added rows to must end exactly as it did on the copy. Otherwise the transaction
   is rolled back and the import is checked again from a fresh copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, event, func, select, text
from sqlmodel import Session

from divert.records import acting
from divert.storage import audit_chain
from divert.storage.models import AuditEvent

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)
_TABLE = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+\"?(\w+)\"?", re.I)
_TOUCHED = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+\"?(\w+)", re.I)
_AUDIT_INSERT = re.compile(r'^\s*INSERT\s+INTO\s+"?audit_event"?\s*\(([^)]*)\)\s*VALUES\b', re.I)
_UNSAFE = re.compile(r"^\s*ROLLBACK\s+TO\b", re.I)
# checked again on the real database (the acting account), or never read by an import
UNRELATED_TABLES = frozenset({"app_user", "audit_event", "data_version", "sign_in_throttle", "session_generation"})


class Conflict(Exception):
    """Something the import read changed since the copy was taken: check it again."""


class Refused(Exception):
    def __init__(self, problems):
        self.problems = problems


@dataclass
class Recording:
    statements: list = field(default_factory=list)  # (sql, parameters, executemany)
    touched: set[str] = field(default_factory=set)  # every table the import read or wrote
    unsafe: bool = False  # a savepoint was rolled back: replaying would not be faithful
    last_audit_id: int = 0  # on the copy, before the import
    end_rowids: dict[str, int] = field(default_factory=dict)  # table -> max rowid after the import

    def listen(self, engine: Engine) -> Callable:
        def capture(_conn, _cursor, statement, parameters, _context, executemany):
            self.touched.update(name.lower() for name in _TOUCHED.findall(statement))
            if _WRITE.match(statement):
                self.statements.append((statement, parameters, executemany))
            elif _UNSAFE.match(statement):
                self.unsafe = True

        event.listen(engine, "before_cursor_execute", capture)
        return capture

    def tables(self) -> set[str]:
        found = {m.group(1) for sql, _, _ in self.statements if (m := _TABLE.match(sql))}
        return found - {AuditEvent.__tablename__}

    def note_start(self, s: Session) -> None:
        self.last_audit_id = s.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one()

    def note_end(self, s: Session) -> None:
        self.end_rowids = {table: _max_rowid(s.connection(), table) for table in self.tables()}


def _relinked(conn, sql: str, parameters, many: bool) -> tuple[str, list, bool]:
    """An insert of audit events with each event linked to the real database's chain
    (divert.storage.audit_chain.relink), as one statement per event."""
    columns = [name.strip().strip('"') for name in _AUDIT_INSERT.match(sql).group(1).split(",")]
    rows = [tuple(row) for row in (parameters if many else [parameters])]
    flat = [value for row in rows for value in row]
    rows = [tuple(flat[i:i + len(columns)]) for i in range(0, len(flat), len(columns))]
    quoted = ", ".join(f'"{name}"' for name in columns)
    one = f"INSERT INTO audit_event ({quoted}) VALUES ({', '.join('?' * len(columns))})"
    return one, audit_chain.relink(conn, columns, rows), True


def _max_rowid(conn, table: str) -> int:
    return conn.execute(text(f'SELECT coalesce(max(rowid), 0) FROM "{table}"')).scalar_one()


def replay(engine: Engine, recording: Recording, user: str, kind: str) -> None:
    """Apply the recorded statements in one write transaction (raises Conflict, or Refused when
    the acting user may no longer import; nothing is written then)."""
    if recording.unsafe:
        raise Conflict
    with engine.execution_options(write_lock=True).connect() as conn, conn.begin():
        changed = set(conn.execute(select(AuditEvent.table_name).where(AuditEvent.id > recording.last_audit_id)
                                   .distinct()).scalars().all())
        if "*" in changed or changed & (recording.touched - UNRELATED_TABLES):
            raise Conflict
        with Session(bind=conn) as s:
            s.info[acting.AUDITED] = [(user, "import", kind, None)]
            problems = acting.problems(s)
        if problems:
            raise Refused(problems)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            for sql, parameters, many in recording.statements:
                if _AUDIT_INSERT.match(sql):  # sealed on the copy: linked again to this database's head
                    sql, parameters, many = _relinked(conn, sql, parameters, many)
                if many:
                    cursor.executemany(sql, parameters)
                else:
                    cursor.execute(sql, parameters or ())
                cursor.fetchall()  # a RETURNING statement finishes only once its rows are read
        finally:
            cursor.close()
        for table, rowid in recording.end_rowids.items():
            if _max_rowid(conn, table) != rowid:
                raise Conflict  # (leaving the block rolls the transaction back)
