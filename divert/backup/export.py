"""`divert export OUT`: every table as Parquet, with a manifest, from one consistent snapshot."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, Table, inspect, select, text

from divert.backup.signing import SIGNATURE, backup_key, sign
from divert.backup.tables import (
    ALEMBIC_VERSION,
    CHECKSUM_METHOD,
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
from divert.core.folders import written_whole, zip_folder
from divert.records.exports import record_export


def export_backup(engine: Engine, out: Path, *, chunk_rows: int = CHUNK_ROWS, progress: Progress | None = None) -> dict:
    """Write every table to `out` (a new or empty folder) and return the manifest, signed with
    the backup key (signature.json; the key is made, 0600 in the data folder, if there is none).
    The folder appears only when complete; on any error nothing is left behind."""
    say = progress or (lambda step, fraction: None)
    key = backup_key(create=True)  # before the copy: a backup is never left unsigned
    with written_whole(out, BackupError) as partial:
        manifest = _write_tables(engine, partial, chunk_rows, say)
        manifest_bytes = (json.dumps(manifest, indent=1) + "\n").encode()
        (partial / MANIFEST).write_bytes(manifest_bytes)
        (partial / SIGNATURE).write_text(json.dumps(sign(manifest_bytes, key), indent=1) + "\n")
    return manifest


def _snapshot(engine: Engine) -> Connection:
    """A connection whose transaction sees one consistent state of every table."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True).connect()
    return engine.connect()  # SQLite in WAL mode: a read transaction is a snapshot


def _write_tables(engine: Engine, folder: Path, chunk_rows: int, say: Progress) -> dict:
    tables = backup_tables()
    with _snapshot(engine) as conn, conn.begin():
        present = set(inspect(conn).get_table_names())
        missing = [t.name for t in tables if t.name not in present]
        if missing:
            raise BackupError(f"the database has no Divert schema (missing {', '.join(missing)}): run `divert init`")
        revision = conn.execute(select(ALEMBIC_VERSION.c.version_num)).scalar()
        version = conn.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar()
        entries = []
        for number, table in enumerate(tables):
            say(f"exporting {table.name}", number / len(tables))
            entries.append(_write_table(conn, table, folder, chunk_rows))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_revision": revision,
        "data_version": int(version or 0),
        "exported_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "source_dialect": engine.dialect.name,
        "checksum_method": CHECKSUM_METHOD,
        "tables": entries,
    }


def _write_table(conn: Connection, table: Table, folder: Path, chunk_rows: int) -> dict:
    """One Parquet file, one row group per chunk, and the table's manifest entry."""
    schema = table_schema(table)
    path = folder / f"{table.name}.parquet"
    check = RowChecksum(schema)
    writer = None
    try:
        for chunk in read_chunks(conn, table, chunk_rows):
            arrow = chunk.to_arrow()
            writer = writer or pq.ParquetWriter(path, arrow.schema, compression="zstd")
            writer.write_table(arrow)
            check.add(chunk)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # no rows: the file still carries the columns
        pl.DataFrame(schema=schema).write_parquet(path, compression="zstd")
    return {
        "name": table.name,
        "file": path.name,
        "rows": check.rows,
        "sha256": check.hexdigest(),
        "file_sha256": file_sha256(path),
        "bytes": path.stat().st_size,
        "primary_key": [c.name for c in table.primary_key.columns],
        "columns": [{"name": name, "type": str(dtype)} for name, dtype in schema.items()],
    }


def backup_zip(engine: Engine, user: str) -> tuple[bytes, str]:
    """A backup as one zip, in memory, for the admin page's download (audited). For a large
    database, `divert export` writes the folder without holding it in memory."""
    with tempfile.TemporaryDirectory(prefix="divert-backup-") as folder:
        manifest = export_backup(engine, Path(folder) / "backup")
        data = zip_folder(Path(folder) / "backup")
    record_export(user, {"tables": {t["name"]: t["rows"] for t in manifest["tables"]},
                         "data_version": manifest["data_version"], "download": True},
                  action="export_backup", engine=engine)
    stamp = manifest["exported_at"][:19].replace("-", "").replace(":", "").replace("T", "-")
    return data, f"divert-backup-{stamp}.zip"
