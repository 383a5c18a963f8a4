"""`divert restore SOURCE`: a backup folder (or its zip) into an empty or freshly initialised
database (whose setup rows it replaces), checked against
its manifest before anything is written and again, from the database, before committing."""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, Table, bindparam, func, inspect, select, text
from sqlmodel import Session

from divert.backup.tables import (
    ALEMBIC_VERSION,
    CHUNK_ROWS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    BackupError,
    Progress,
    RowChecksum,
    backup_tables,
    file_sha256,
    read_chunks,
    table_schema,
)
from divert.storage import audit_chain, bulk
from divert.storage.models import AuditEvent

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FILE = re.compile(r"^[A-Za-z0-9_]+\.parquet$")


class NotEmpty(BackupError):
    """The target database already holds data."""


@dataclass
class RestoreReport:
    schema_revision: str
    data_version: int
    exported_at: str
    tables: dict[str, int] = field(default_factory=dict)
    audit_event_id: int | None = None


# --- the manifest and the files -----------------------------------------------------------------
def read_manifest(folder: Path) -> dict:
    """The manifest, checked for shape and for the tables of this version's schema."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder}: no {MANIFEST} here (is this a Divert backup folder?)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"{MANIFEST} is not valid JSON ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} is not a Divert backup manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{MANIFEST}: backup format version {manifest.get('format_version')!r} is not "
                          f"{FORMAT_VERSION}, the one this version of Divert reads")
    if not isinstance(manifest.get("schema_revision"), str) or not isinstance(manifest.get("data_version"), int):
        raise BackupError(f"{MANIFEST}: schema_revision or data_version is missing")
    entries = manifest.get("tables")
    if not isinstance(entries, list) or not all(_entry_ok(e) for e in entries):
        raise BackupError(f"{MANIFEST}: the table list is missing or malformed")
    _check_revision(manifest["schema_revision"])
    expected = {t.name: t for t in backup_tables()}
    names = [e["name"] for e in entries]
    if sorted(names) != sorted(expected):
        raise BackupError(f"{MANIFEST}: the tables ({', '.join(sorted(names))}) are not this schema's "
                          f"({', '.join(sorted(expected))})")
    for entry in entries:
        columns = [(c["name"], c["type"]) for c in entry["columns"]]
        wanted = [(name, str(dtype)) for name, dtype in table_schema(expected[entry["name"]]).items()]
        if columns != wanted:
            raise BackupError(f"{MANIFEST}: the columns of {entry['name']} are not this schema's")
    return manifest


def _entry_ok(entry) -> bool:
    return (
        isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("file"), str)
        and bool(_FILE.match(entry["file"])) and isinstance(entry.get("rows"), int) and entry["rows"] >= 0
        and all(isinstance(entry.get(k), str) and _HEX64.match(entry[k]) for k in ("sha256", "file_sha256"))
        and isinstance(entry.get("columns"), list)
        and all(isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("type"), str)
                for c in entry["columns"])
    )


def _check_revision(revision: str) -> None:
    from divert.storage.db import head_revision

    head = head_revision()
    if revision != head:
        raise BackupError(
            f"the backup is at schema revision {revision} and this version of Divert at {head}: restore it "
            "with the version of Divert that made it, then run `divert init` to upgrade"
        )


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
        if file_sha256(path) != entry["file_sha256"]:
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


@contextmanager
def backup_folder(source: Path):
    """The folder of a backup given as a folder or as the zip the admin page downloads."""
    source = Path(source)
    if source.is_dir():
        yield source
        return
    if not source.is_file() or not zipfile.is_zipfile(source):
        raise BackupError(f"{source}: not a backup folder or zip file")
    with tempfile.TemporaryDirectory(prefix="divert-restore-") as folder, zipfile.ZipFile(source) as archive:
        for name in archive.namelist():
            if name != MANIFEST and not _FILE.match(name):
                raise BackupError(f"{source}: unexpected entry {name!r} in the zip")
            archive.extract(name, folder)
        yield Path(folder)


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
def restore_backup(engine: Engine, source: Path, user: str, progress: Progress | None = None) -> RestoreReport:
    """Restore the backup at `source` into the empty database of `engine` (all or nothing)."""
    say = progress or (lambda step, fraction: None)
    with backup_folder(source) as folder:
        manifest = read_manifest(folder)
        with engine.connect() as conn:  # fail fast, before reading every file
            _refuse_if_not_empty(conn, manifest["schema_revision"])
        check_files(folder, manifest, lambda step, f: say(step, 0.3 * f))
        return _load(engine, folder, manifest, user, say)


def _load(engine: Engine, folder: Path, manifest: dict, user: str, say: Progress) -> RestoreReport:
    entries = {e["name"]: e for e in manifest["tables"]}
    tables = [t for t in backup_tables() if t is not ALEMBIC_VERSION]
    report = RestoreReport(manifest["schema_revision"], manifest["data_version"], manifest.get("exported_at", ""))
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
                say(f"restoring {table.name}", 0.3 + 0.4 * number / len(tables))
                for chunk in parquet_chunks(folder / entries[table.name]["file"], table_schema(table)):
                    if table.name == AuditEvent.__tablename__ and kept:
                        chunk = chunk.with_columns(pl.col("id") + kept)
                    bulk.insert_frame(conn, table.name, chunk)
                report.tables[table.name] = entries[table.name]["rows"]
        for table in tables:
            if "id" in table.c and table.c.id.autoincrement in (True, "auto"):
                bulk.reset_sequence(conn, table.name)
        for number, table in enumerate([*tables, ALEMBIC_VERSION]):
            say(f"checking {table.name}", 0.7 + 0.3 * number / (len(tables) + 1))
            if table.name == AuditEvent.__tablename__ and kept:
                _verify(conn, table, entries[table.name], moved=kept)
            else:
                _verify(conn, table, entries[table.name])
        report.audit_event_id = _audit(conn, user, manifest, audit_chain.join(conn, joined, kept))
    return report


def _verify(conn: Connection, table: Table, entry: dict, moved: int = 0) -> None:
    """The restored rows read back match the manifest (rows whose ids were moved on by `moved`
    are read from after it and moved back)."""
    check = RowChecksum(table_schema(table))
    for chunk in read_chunks(conn, table, where=table.c.id > moved if moved else None):
        check.add(chunk.with_columns(pl.col("id") - moved) if moved else chunk)
    _compare(entry, check, "read back from the database")


def _audit(conn: Connection, user: str, manifest: dict, join: dict | None = None) -> int:
    """One event after the restored rows: what was restored, and that it was checked (and where
    the backup's sealed audit events were joined to those already there: audit_chain.join)."""
    from divert.records.core import audit

    summary = {
        "exported_at": manifest.get("exported_at"),
        "source_dialect": manifest.get("source_dialect"),
        "schema_revision": manifest["schema_revision"],
        "data_version": manifest["data_version"],
        "rows": {e["name"]: e["rows"] for e in manifest["tables"]},
        "checked": "row counts and checksums of every table match the manifest",
        **({audit_chain.RESTORE_KEY: join} if join else {}),
    }
    with Session(bind=conn) as s:
        audit(s, user, "restore", "*", None, None, summary)
        s.flush()
    return int(conn.execute(select(func.max(AuditEvent.id))).scalar_one())
