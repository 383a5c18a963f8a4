"""The bulk write path for imports: many checked rows in a few statements, inside the caller's
one transaction, audited as ONE audit event.

An import's rows are checked first (divert.ingest.row_checks, with the same rules as the forms); what
they would change is a Plan: new people, offences and referrals, and the changed fields of
existing offences and referrals. write_plan writes it with SQLAlchemy Core executemany (ids come
back with RETURNING, in the rows' order), sets import_id on every row it writes or updates, and
audits the whole import as one event: action 'import', row_id = the import id, `after` holding
the files, the counts (new / updated / unchanged, in all and per table) and each updated row's
new values, `before` each updated row's old values. The caller checks the acting user
(divert.records.acting, which reads the noted event), bumps data_version once and commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import CheckConstraint, and_, bindparam, func, select, text, update
from sqlmodel import Session

from divert.core.field_rules import Problem
from divert.records.core import Rejected, audit
from divert.storage.models import Offence, Person, Referral, StopSearch

PERSON = "_person"  # in a planned row: the index of a new person (its id is known once written)
OFFENCE = "_offence"  # the index of a new offence
INSERT_CHUNK = 50_000  # rows handed to the driver at once (memory stays flat on large files)
SQLITE_CACHE_KB = 256_000  # the page cache while an import writes (used only as it fills)
TABLES = {"person": Person, "offence": Offence, "referral": Referral, "stop_search": StopSearch}


@dataclass
class Plan:
    new: dict[str, list[dict]] = field(default_factory=lambda: {name: [] for name in TABLES})
    # table -> [(row id, version or None, before {field: old}, after {field: new})]
    updates: dict[str, list[tuple]] = field(default_factory=lambda: {name: [] for name in TABLES})
    unchanged: dict[str, int] = field(default_factory=lambda: {name: 0 for name in TABLES})
    # table -> new rows planned a column at a time (field -> values), written after those in `new`;
    # PERSON / OFFENCE columns hold the index of a new row (or None where person_id / offence_id is given)
    columns: dict[str, dict[str, list]] = field(default_factory=dict)

    def new_count(self, name: str) -> int:
        block = self.columns.get(name)
        return len(self.new[name]) + (len(next(iter(block.values()))) if block else 0)

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: {"new": self.new_count(name), "updated": len(self.updates[name]), "unchanged": self.unchanged[name]}
                for name in TABLES if self.new_count(name) or self.updates[name] or self.unchanged[name]}

    @property
    def changes(self) -> bool:
        return any(self.new_count(name) for name in TABLES) or any(self.updates.values())


def new_import_id() -> str:
    return uuid.uuid4().hex


def write_plan(s: Session, user: str, plan: Plan, kind: str, detail: dict, import_id: str | None = None) -> str:
    """Write `plan` in the session's transaction and audit it as one 'import' event whose row_id
    is the import id set on every row written or updated (returned)."""
    import_id = import_id or new_import_id()
    conn = s.connection()
    if conn.dialect.name == "sqlite":
        # a large import's indexes outgrow SQLite's default 2 MB page cache many times over;
        # a bigger cache for this connection (restored below) keeps the inserts off the disk
        previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
        try:
            return _write(s, conn, user, plan, kind, detail, import_id)
        finally:
            conn.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")
    return _write(s, conn, user, plan, kind, detail, import_id)


def _write(s: Session, conn, user: str, plan: Plan, kind: str, detail: dict, import_id: str) -> str:
    ids: dict[str, list[int]] = {}
    for name in TABLES:  # people before their offences, offences before their referrals
        columns = _new_columns(TABLES[name].__table__, plan.new[name], plan.columns.get(name), ids)
        if columns:
            columns["import_id"] = [import_id] * len(next(iter(columns.values())))
        ids[name] = _insert(conn, TABLES[name], columns)
    before, after = {}, {}
    for name, changed in plan.updates.items():
        if not changed:
            continue
        _update(conn, TABLES[name], [(row_id, version, _resolved(new, ids)) for row_id, version, _, new in changed],
                import_id)
        before[name] = {str(row_id): old for row_id, _, old, _ in changed}
        after[name] = {str(row_id): _resolved(new, ids) for row_id, _, _, new in changed}
    audit(s, user, "import", kind, import_id, before or None,
          {**detail, "import_id": import_id, "tables": plan.counts(), **({"changes": after} if after else {})})
    s.flush()
    return import_id


def _resolved(row: dict, ids: dict[str, list[int]]) -> dict:
    if PERSON not in row and OFFENCE not in row:
        return row
    row = dict(row)
    if PERSON in row:
        row["person_id"] = ids["person"][row.pop(PERSON)]
    if OFFENCE in row:
        row["offence_id"] = ids["offence"][row.pop(OFFENCE)]
    return row


def _new_columns(table, rows: list[dict], block: dict[str, list] | None, ids: dict[str, list[int]]) -> dict[str, list]:
    """A table's new rows as columns (field -> values): the planned rows, then the planned block,
    with the ids of new people and offences in place of their indices."""
    names = None
    columns: dict[str, list] = {}
    if rows:
        rows = [_resolved(row, ids) for row in rows]
        names = list(rows[0])
        if any(len(row) != len(names) for row in rows):
            raise ValueError(f"bulk rows for {table.name} must all have the same columns")
        columns = {name: [row[name] for row in rows] for name in names}
        del rows
    if block:
        block = dict(block)
        for index, id_name, table_name in ((PERSON, "person_id", "person"), (OFFENCE, "offence_id", "offence")):
            if index in block:
                known, made = block[id_name], ids[table_name]
                block[id_name] = [made[i] if i is not None else k for k, i in zip(known, block.pop(index), strict=True)]
        if names is not None and set(block) != set(names):
            raise ValueError(f"bulk rows for {table.name} must all have the same columns")
        for name, values in block.items():
            columns[name] = columns[name] + values if name in columns else list(values)
    return columns


def _insert(conn, model, columns: dict[str, list]) -> list[int]:
    """Insert the rows of `columns` (field -> values) with ids taken up front; their ids, in order.
    The values go through each column's own bind processing (as SQLAlchemy would store them),
    then straight to the driver, INSERT_CHUNK rows at a time: executemany on SQLite, COPY on
    PostgreSQL."""
    if not columns:
        return []
    table = model.__table__
    names = list(columns)
    n = len(columns[names[0]])
    if any(len(values) != n for values in columns.values()) or any(name not in table.c for name in names):
        raise ValueError(f"bulk rows for {table.name} must all have the same columns")
    if not n:
        return []
    ids = _new_ids(conn, table, n)
    dialect = conn.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in ["id", *names])

    def chunks():
        for start in range(0, n, INSERT_CHUNK):
            end = min(start + INSERT_CHUNK, n)
            part = [columns[name][start:end] for name in names]
            part = [column if processor is None else _processed(column, processor)
                    for column, processor in zip(part, processors, strict=True)]
            yield list(zip(ids[start:end], *part, strict=True))

    if dialect.name == "postgresql":
        import psycopg

        cursor = conn.connection.driver_connection.cursor()
        try:
            with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN WITH (FORMAT csv)") as copy:
                for start in range(0, n, INSERT_CHUNK):
                    copy.write(_csv(ids, columns, names, processors, start, min(start + INSERT_CHUNK, n)))
        except psycopg.errors.CheckViolation as error:  # COPY speaks to the driver: its refusal, in words
            raise Rejected([Problem("record", None, f"a row would break the database's rule "
                                                    f"{error.diag.constraint_name}: nothing was imported")]) from error
        return ids
    marks = ", ".join("?" for _ in range(len(names) + 1))
    checks = [check for check in table.constraints if isinstance(check, CheckConstraint)]
    if checks:  # SQLite checks an IN (...) rule by building its list again for every row: check them once, after
        conn.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
    try:
        for data in chunks():
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({quoted}) VALUES ({marks})", data)
    finally:
        if checks:
            conn.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
    _checked_as_a_set(conn, table, checks, ids[0], ids[-1])
    return ids


def _checked_as_a_set(conn, table, checks: list[CheckConstraint], first: int, last: int) -> None:
    """The table's CHECK rules over the rows just inserted (ids first..last), one query each: a row
    that breaks one refuses the whole import, as the rule itself would have."""
    for check in checks:
        broken = conn.exec_driver_sql(
            f"SELECT COUNT(*) FROM {table.name} WHERE id BETWEEN ? AND ? AND NOT ({check.sqltext})", (first, last)).scalar()
        if broken:
            raise Rejected([Problem("record", None, f"{broken:,} rows would break the database's rule {check.name}: "
                                                    "nothing was imported")])


def _csv(ids: list[int], columns: dict[str, list], names: list[str], processors, start: int, end: int) -> bytes:
    """Rows start..end as COPY's CSV, made a column at a time (polars): an empty field is NULL,
    an empty text "" (quoted); dates and times in ISO form (a time with an offset, in UTC)."""
    import polars as pl

    data = {"id": ids[start:end]}
    for name, processor in zip(names, processors, strict=True):
        values = columns[name][start:end]
        data[name] = values if processor is None else _processed(values, processor)
    frame = pl.DataFrame(data, strict=False, infer_schema_length=None)
    return frame.write_csv(include_header=False, quote_style="non_numeric", null_value="", date_format="%Y-%m-%d").encode()


def _processed(column: list, processor) -> list:
    """The column's values as the driver takes them, each distinct value processed once."""
    done: dict = {None: None}
    try:
        return [done[v] if v in done else done.setdefault(v, processor(v)) for v in column]
    except TypeError:  # a value that cannot be a key
        return [None if v is None else processor(v) for v in column]


def _new_ids(conn, table, n: int) -> list[int]:
    """n ids for new rows: PostgreSQL takes them from the table's sequence; SQLite gives a new
    row max(id) + 1 (no AUTOINCREMENT), and the import holds the write lock, so it does the same."""
    if conn.dialect.name == "postgresql":
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar_one()
        query = text("SELECT array_agg(nextval(CAST(:s AS regclass))) FROM generate_series(1, :n)")  # one row, one array
        return list(conn.execute(query, {"s": sequence, "n": n}).scalar_one())
    start = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(start + 1, start + 1 + n))


def _update(conn, model, changes: list[tuple[int, int | None, dict]], import_id: str) -> None:
    """Update each row's changed fields (grouped by which fields change, one executemany each);
    a row whose version moved on since it was read refuses the whole import."""
    table = model.__table__
    groups: dict[tuple, list[dict]] = {}
    for row_id, version, values in changes:
        groups.setdefault(tuple(sorted(values)), []).append({"b_id": row_id, "b_version": version, **{f"v_{k}": v for k, v in values.items()}})
    for names, params in groups.items():
        condition = table.c.id == bindparam("b_id")
        values = {name: bindparam(f"v_{name}") for name in names}
        if "version" in table.c:
            condition = and_(condition, table.c.version == bindparam("b_version"))
            values["version"] = table.c.version + 1
        statement = update(table).where(condition).values(import_id=import_id, **values)
        result = conn.execute(statement, params)
        if result.rowcount is not None and 0 <= result.rowcount < len(params):
            raise Rejected([Problem("version", None, "someone else changed these records meanwhile; import again")])
