"""Backups: every table as Parquet with a manifest, and a restore into an empty database.

`export_backup` (divert.backup.export) reads every table in one read transaction (a consistent
snapshot: REPEATABLE READ on PostgreSQL, a WAL read snapshot on SQLite), in primary-key order and
in chunks, and writes one Parquet file per table and `manifest.json`: schema revision, data
version, export time, and per table the row count, a checksum of the rows and one of the file.
The folder appears only when complete. `signature.json` signs the manifest's bytes with the backup
key (HMAC-SHA256, divert.backup.signing), kept apart from the backups (docs/keys.md).

`restore_backup` (divert.backup.restore) opens the backup (divert.backup.archive: a zip's sizes
and compression ratio are checked from its central directory, and its manifest and signature
read, before anything is unpacked), refuses a manifest whose signature is missing or wrong unless
the operator accepts it with a reason, checks every file against the manifest before touching
the database and refuses a database that holds any data. Then, in ONE transaction, it creates
the schema with Alembic at the backup's revision, loads the rows in foreign-key order, resets
PostgreSQL's id sequences, reads every table back and compares its row count and checksum with
the manifest, moves every account's session generation past any a sign-in cookie can carry, and appends one
audit event (action `restore`, naming the backup by its manifest's SHA-256 and signature) after
the restored rows. Anything wrong rolls the whole restore back, and a refusal leaves no new SQLite
file behind. The data_version counter is restored as it was.

The row checksum (divert.backup.tables.CHECKSUM_METHOD) is SHA-256 over one canonical line per
row, rows in primary-key order, so SQLite and PostgreSQL give the same checksum for the same
contents. See docs/backup.md.
"""

from divert.backup.export import backup_zip, export_backup
from divert.backup.manifest import read_manifest
from divert.backup.restore import NotEmpty, RestoreReport, check_files, restore_backup
from divert.backup.tables import BackupError, backup_tables, table_checksums

__all__ = [
    "BackupError", "NotEmpty", "backup_zip", "RestoreReport", "backup_tables", "check_files", "export_backup", "read_manifest",
    "restore_backup", "table_checksums",
]
