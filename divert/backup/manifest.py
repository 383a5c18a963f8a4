"""A backup's `manifest.json`, read and checked for shape and for this version's schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

from divert.backup.tables import FORMAT, FORMAT_VERSION, MANIFEST, BackupError, backup_tables, table_schema

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
FILE_NAME = re.compile(r"^[A-Za-z0-9_]+\.parquet$")
MAX_MANIFEST_BYTES = 16 << 20  # a manifest lists a few dozen tables: a few kB


def read_manifest(folder: Path) -> dict:
    """The manifest of a backup folder, checked (parse_manifest)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder}: no {MANIFEST} here (is this a Divert backup folder?)")
    return parse_manifest(read_small(path))


def read_small(path: Path, limit: int = MAX_MANIFEST_BYTES) -> bytes:
    """A small file's bytes (a manifest, a signature), refused when it is larger than `limit`."""
    with Path(path).open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BackupError(f"{Path(path).name} is larger than {limit:,} bytes: not a Divert backup's")
    return data


def parse_manifest(data: bytes) -> dict:
    """The manifest, checked for shape and for the tables of this version's schema."""
    try:
        manifest = json.loads(data.decode("utf-8"))
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
    if len({e["file"] for e in entries}) != len(entries):
        raise BackupError(f"{MANIFEST}: two tables name the same file")
    for entry in entries:
        columns = [(c["name"], c["type"]) for c in entry["columns"]]
        wanted = [(name, str(dtype)) for name, dtype in table_schema(expected[entry["name"]]).items()]
        if columns != wanted:
            raise BackupError(f"{MANIFEST}: the columns of {entry['name']} are not this schema's")
    return manifest


def _entry_ok(entry) -> bool:
    return (
        isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("file"), str)
        and bool(FILE_NAME.match(entry["file"])) and _count(entry.get("rows"))
        and ("bytes" not in entry or _count(entry["bytes"]))  # the file's size (backups made since signing)
        and all(isinstance(entry.get(k), str) and _HEX64.match(entry[k]) for k in ("sha256", "file_sha256"))
        and isinstance(entry.get("columns"), list)
        and all(isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("type"), str)
                for c in entry["columns"])
    )


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_revision(revision: str) -> None:
    from divert.storage.db import head_revision

    head = head_revision()
    if revision != head:
        raise BackupError(
            f"the backup is at schema revision {revision} and this version of Divert at {head}: restore it "
            "with the version of Divert that made it, then run `divert init` to upgrade"
        )
