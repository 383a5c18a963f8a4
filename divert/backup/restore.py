"""`divert restore SOURCE`: a backup folder (or its zip) into an empty or freshly initialised
database (whose setup rows it replaces). The manifest's signature is checked first
(divert.backup.signing), then every file against the manifest, before anything is written; the
rows are checked again, from the database, before committing. Every account's session generation
then moves past any a sign-in cookie can carry. A refusal writes nothing and leaves no new
SQLite file behind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, Table, bindparam, func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from divert.backup.archive import opened_backup
from divert.backup.signing import Seal
from divert.backup.tables import (
    ALEMBIC_VERSION,
    CHUNK_ROWS,
    BackupError,
    Progress,
    RowChecksum,
    backup_tables,
    file_sha256,
    read_chunks,
    table_schema,
)
from divert.storage import audit_chain, bulk
from divert.storage.db import sqlite_path
from divert.storage.models import AuditEvent, User
from divert.storage.security_models import SessionGeneration


class NotEmpty(BackupError):
    """The target database already holds data."""


@dataclass
class RestoreReport:
    schema_revision: str
    data_version: int
    exported_at: str
    seal: Seal
    tables: dict[str, int] = field(default_factory=dict)
    audit_event_id: int | None = None


# --- the files ------------------------------------------------------------------------------------
def parquet_chunks(path: Path, schema: dict[str, pl.DataType], chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """A table's Parquet file, chunk by chunk, in the backup's column types."""
    try:
        source = pq.ParquetFile(path)
        if source.schema_arrow.names != list(schema):
            raise BackupError(f"{path.name}: its columns ({', '.join(source.schema_arrow.names)}) are not the "
                              "manifest's")
        for batch in source.iter_batches(batch_size=chunk_rows):
            frame = pl.from_arrow(batch)
            if frame.schema != pl.Schema(schema):
                frame = frame.cast(schema, strict=True)
            yield frame
    except BackupError:
        raise
    except Exception as error:  # pyarrow's and polars' errors on a damaged file
        raise BackupError(f"{path.name} cannot be read as the table's Parquet file ({error})") from error


def check_files(folder: Path, manifest: dict, progress: Progress | None = None) -> None:
    """Every file is there, unchanged, and holds the rows the manifest counts and checksums."""
    say = progress or (lambda step, fraction: None)
    tables = {t.name: t for t in backup_tables()}
    for number, entry in enumerate(manifest["tables"]):
        say(f"checking {entry['file']}", number / len(manifest["tables"]))
        path = Path(folder) / entry["file"]
        if not path.is_file():
            raise BackupError(f"{entry['file']} is missing from the backup")
        if "bytes" in entry and path.stat().st_size != entry["bytes"] or file_sha256(path) != entry["file_sha256"]:
            raise BackupError(f"{entry['file']} does not match its checksum in the manifest: the file is damaged "
                              "or was changed after the backup was made")
        check = RowChecksum(table_schema(tables[entry["name"]]))
        for chunk in parquet_chunks(path, table_schema(tables[entry["name"]])):
            check.add(chunk)
        _compare(entry, check, "in the backup file")


def _compare(entry: dict, check: RowChecksum, where: str) -> None:
    if check.rows != entry["rows"]:
        raise BackupError(f"{entry['name']}: {check.rows:,} rows {where}, the manifest says {entry['rows']:,}")
    if check.hexdigest() != entry["sha256"]:
        raise BackupError(f"{entry['name']}: the rows {where} do not match the manifest's checksum")


# --- the target database ------------------------------------------------------------------------
def _setup_rows(conn: Connection, name: str) -> int:
    """How many of table `name`'s rows are what `divert init` writes into a new database (the
    shipped census rows, the person key's fingerprint, and their two audit events): a restore
    replaces those, so a freshly initialised database counts as empty."""
    from divert.records.pseudonym import FINGERPRINT_SETTING
    from divert.reference.census2021 import reference_frame

    if name == "population":
        shipped = reference_frame()["source"].unique().to_list()
        return conn.execute(text("SELECT COUNT(*) FROM population WHERE source IN :s").bindparams(
            bindparam("s", expanding=True)), {"s": shipped}).scalar()
    if name == "setting":
        return conn.execute(text("SELECT COUNT(*) FROM setting WHERE key = :k"), {"k": FINGERPRINT_SETTING}).scalar()
    if name == "audit_event":
        return conn.execute(text(
            "SELECT COUNT(*) FROM audit_event WHERE (action = 'load_reference' AND table_name = 'population') "
            "OR (action = 'create' AND table_name = 'setting' AND row_id = :k)"), {"k": FINGERPRINT_SETTING}).scalar()
    return 0


def holdings(conn: Connection) -> tuple[list[str], str | None]:
    """What the database holds beyond what `divert init` writes (tables with rows) and its
    schema revision."""
    names = set(inspect(conn).get_table_names())
    held, revision, written = [], None, None
    for name in sorted(names):
        quoted = conn.dialect.identifier_preparer.quote(name)
        if name == ALEMBIC_VERSION.name:
            revision = conn.execute(select(ALEMBIC_VERSION.c.version_num)).scalar()
        elif name == "data_version":
            written = conn.execute(text(f"SELECT MAX(version) FROM {quoted}")).scalar()
        else:
            rows = conn.execute(text(f"SELECT COUNT(*) FROM {quoted}")).scalar()
            if rows and rows > _setup_rows(conn, name):
                held.append(f"{name} ({rows:,} row{'s' if rows != 1 else ''})")
    if held and written:
        held.append(f"data_version (at {written}: data has been written)")
    if names and revision is None and not held:
        held.append("tables without a Divert schema revision: " + ", ".join(sorted(names)))
    return held, revision


def _refuse_if_not_empty(conn: Connection, revision: str) -> bool:
    """Raise NotEmpty unless the database is empty or freshly initialised (`divert init`: its
    setup rows are replaced); True when the schema is already there."""
    held, current = holdings(conn)
    if held:
        raise NotEmpty("the database is not empty, so nothing was restored. It holds: " + "; ".join(held)
                       + ". Restore into a new database (a new SQLite file, or a database made with CREATE "
                       "DATABASE on PostgreSQL), or one that `divert init` has only just set up.")
    if current is not None and current != revision:
        raise NotEmpty(f"the database's schema is at revision {current}, the backup's at {revision}: "
                       "restore into a new, empty database")
    return current is not None


def _create_schema(conn: Connection, revision: str) -> None:
    """Alembic on this connection, inside the restore's transaction."""
    from alembic import command

    from divert.storage.db import alembic_config

    config = alembic_config("sqlite://")  # the URL is unused: the migrations run on `conn`
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


# --- restore ------------------------------------------------------------------------------------
def restore_backup(engine: Engine, source: Path, user: str, progress: Progress | None = None, *,
                   accept_unsigned: str | None = None) -> RestoreReport:
    """Restore the backup at `source` into the empty database of `engine` (all or nothing).

    A backup that is unsigned, signed with another backup key or changed since it was signed is
    refused, unless `accept_unsigned` gives the operator's reason for trusting it (recorded in
    the restore's audit event). On any refusal nothing is written, and a SQLite file that held
    nothing when the restore began is removed again."""
    new_file = _new_sqlite_file(engine)
    try:
        try:
            return _restore(engine, source, user, progress or (lambda step, fraction: None), accept_unsigned)
        except OSError as error:  # a file that cannot be read, a full temporary folder
            raise BackupError(f"the backup cannot be read ({error}); nothing was restored") from error
    except BaseException:
        if new_file is not None:
            _discard(engine, new_file)
        raise


def _restore(engine: Engine, source: Path, user: str, say: Progress, accept_unsigned: str | None) -> RestoreReport:
    with opened_backup(source, accept_unsigned) as backup:
        with engine.connect() as conn:  # fail fast, before reading every file
            _refuse_if_not_empty(conn, backup.manifest["schema_revision"])
        check_files(backup.folder, backup.manifest, lambda step, f: say(step, 0.3 * f))
        return _load(engine, backup.folder, backup.manifest, backup.seal, user, say)


def _new_sqlite_file(engine: Engine) -> Path | None:
    """The engine's SQLite file when it holds nothing yet (made empty by get_engine, or not there)."""
    path = sqlite_path(engine.url.render_as_string(hide_password=False))
    if path is None or (path.exists() and path.stat().st_size > 0):
        return None
    return path


def _discard(engine: Engine, path: Path) -> None:
    engine.dispose()
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _load(engine: Engine, folder: Path, manifest: dict, seal: Seal, user: str, say: Progress) -> RestoreReport:
    entries = {e["name"]: e for e in manifest["tables"]}
    tables = [t for t in backup_tables() if t is not ALEMBIC_VERSION]
    report = RestoreReport(manifest["schema_revision"], manifest["data_version"], manifest.get("exported_at", ""), seal)
    step = "creating the schema"
    try:
        with engine.execution_options(write_lock=True).connect() as conn, conn.begin():
            if not _refuse_if_not_empty(conn, manifest["schema_revision"]):
                _create_schema(conn, manifest["schema_revision"])
            # the audit trail is never deleted: the events `divert init` wrote stay first, and the
            # backup's events follow them, their ids moved on by `kept` (the last id already there)
            kept = int(conn.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one())
            joined = audit_chain.head(conn) if kept else None  # the backup's sealed events follow this one
            for table in reversed(tables):  # rows a migration or `divert init` wrote give way
                if table.name != AuditEvent.__tablename__:
                    conn.execute(table.delete())
            with bulk.bulk_cache(conn):
                for number, table in enumerate(tables):
                    step = f"loading {table.name}"
                    say(f"restoring {table.name}", 0.3 + 0.4 * number / len(tables))
                    for chunk in parquet_chunks(folder / entries[table.name]["file"], table_schema(table)):
                        if table.name == AuditEvent.__tablename__ and kept:
                            chunk = chunk.with_columns(pl.col("id") + kept)
                        bulk.insert_frame(conn, table.name, chunk)
                    report.tables[table.name] = entries[table.name]["rows"]
            step = "checking the restored rows"
            for table in tables:
                if "id" in table.c and table.c.id.autoincrement in (True, "auto"):
                    bulk.reset_sequence(conn, table.name)
            for number, table in enumerate([*tables, ALEMBIC_VERSION]):
                say(f"checking {table.name}", 0.7 + 0.3 * number / (len(tables) + 1))
                if table.name == AuditEvent.__tablename__ and kept:
                    _verify(conn, table, entries[table.name], moved=kept)
                else:
                    _verify(conn, table, entries[table.name])
            step = "ending the sign-in sessions"
            sessions = _end_sessions(conn)
            report.audit_event_id = _audit(conn, user, manifest, seal, sessions, audit_chain.join(conn, joined, kept))
    except (DBAPIError, engine.dialect.loaded_dbapi.Error) as error:  # the bulk load speaks to the driver itself
        from divert.storage.db import is_busy

        if is_busy(error):
            raise
        reason = (str(getattr(error, "orig", error)).strip().splitlines() or [type(error).__name__])[0][:300]
        raise BackupError(f"the database refused the backup's rows while {step} ({reason}); the restore was "
                          "rolled back") from error
    return report


def _verify(conn: Connection, table: Table, entry: dict, moved: int = 0) -> None:
    """The restored rows read back match the manifest (rows whose ids were moved on by `moved`
    are read from after it and moved back)."""
    check = RowChecksum(table_schema(table))
    for chunk in read_chunks(conn, table, where=table.c.id > moved if moved else None):
        check.add(chunk.with_columns(pl.col("id") - moved) if moved else chunk)
    _compare(entry, check, "read back from the database")


GENERATION_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def restored_generation(backed_up: int, at: datetime) -> int:
    """An account's session generation after a restore at `at`: one past the backup's and at
    least the seconds from GENERATION_EPOCH to `at`. A cookie carries the generation it was issued
    under; between restores a generation moves on by one for each password change or reset, role
    change or disabling, far less than once a second, so no cookie issued before this restore (on
    this server or on the one the backup came from, revoked or not) carries the new one."""
    return max(backed_up + 1, int((at - GENERATION_EPOCH).total_seconds()))


def _end_sessions(conn: Connection) -> dict:
    """Every account's session generation moves on (restored_generation): every sign-in cookie
    issued before the restore is refused, and everyone signs in again."""
    from divert.records.core import now

    at = now()
    users = conn.execute(select(User.id)).scalars().all()
    held = dict(conn.execute(select(SessionGeneration.user_id, SessionGeneration.generation)).all())
    table = SessionGeneration.__table__
    for user_id in users:
        generation = restored_generation(int(held.get(user_id, 0)), at)
        if user_id in held:
            conn.execute(table.update().where(table.c.user_id == user_id).values(generation=generation))
        else:
            conn.execute(table.insert().values(user_id=user_id, generation=generation))
    return {"accounts": len(users), "generation_at_least": restored_generation(-1, at),
            "why": "every sign-in cookie issued before the restore is refused: everyone signs in again"}


def _audit(conn: Connection, user: str, manifest: dict, seal: Seal, sessions: dict, join: dict | None = None) -> int:
    """One event after the restored rows: which backup was restored, that it was checked, the
    operator's reason when its signature was not verified, and where the backup's sealed audit
    events were joined to those already there (audit_chain.join)."""
    from divert.records.core import audit

    summary = {
        "backup": {"exported_at": manifest.get("exported_at"), **seal.summary()},
        "source_dialect": manifest.get("source_dialect"),
        "schema_revision": manifest["schema_revision"],
        "data_version": manifest["data_version"],
        "rows": {e["name"]: e["rows"] for e in manifest["tables"]},
        "checked": "row counts and checksums of every table match the manifest",
        "sessions": sessions,
        **({audit_chain.RESTORE_KEY: join} if join else {}),
    }
    reason = None if seal.accepted_unsigned is None else f"--accept-unsigned: {seal.accepted_unsigned}"
    with Session(bind=conn) as s:
        audit(s, user, "restore", "*", None, None, summary, reason)
        s.flush()
    return int(conn.execute(select(func.max(AuditEvent.id))).scalar_one())
