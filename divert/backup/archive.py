"""Opening a backup for a restore: a folder, or the zip the admin page downloads.

The manifest and its signature are read and checked first. A zip's central directory is checked
before anything is unpacked: only a manifest, a signature and Parquet files, stored or deflated
(no other compression, no encryption), unpacking to no more than MAX_UNPACKED_BYTES in all and no
file more than MAX_RATIO times its packed size, with room for it on disk; then every entry must
be a file the signed manifest lists, of the size it gives, and is unpacked no further than that.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from divert.backup.manifest import FILE_NAME, MAX_MANIFEST_BYTES, parse_manifest, read_small
from divert.backup.signing import SIGNATURE, Seal, backup_key, check_seal
from divert.backup.tables import MANIFEST, BackupError

MAX_UNPACKED_BYTES = 64 << 30  # 64 GiB: far beyond any programme's backup (1M audit rows: 13 MB)
MAX_RATIO = 100  # Parquet files are compressed already: a backup's zip packs them about 1:1
RATIO_FROM_BYTES = 1 << 20  # files smaller than this (the manifest, empty tables) may pack better
_BLOCK = 1 << 20


@dataclass(frozen=True)
class Opened:
    """A backup ready to restore: its files in `folder`, its checked manifest, its seal."""

    folder: Path
    manifest: dict
    seal: Seal


@contextmanager
def opened_backup(source: Path, accept_unsigned: str | None = None) -> Iterator[Opened]:
    """The backup at `source` (a folder or a zip), its manifest's signature checked (refused when
    missing or wrong, unless `accept_unsigned` gives the operator's reason) before its files."""
    source = Path(source)
    if source.is_dir():
        yield _folder(source, accept_unsigned)
        return
    if not source.is_file() or not zipfile.is_zipfile(source):
        raise BackupError(f"{source}: not a backup folder or zip file")
    with _zip_errors(source):
        archive = zipfile.ZipFile(source)
    with archive, tempfile.TemporaryDirectory(prefix="divert-restore-") as folder:
        with _zip_errors(source):
            opened = _unpacked(source, archive, Path(folder), accept_unsigned)
        yield opened


def _folder(folder: Path, accept_unsigned: str | None) -> Opened:
    if not (folder / MANIFEST).is_file():
        raise BackupError(f"{folder}: no {MANIFEST} here (is this a Divert backup folder?)")
    manifest_bytes = read_small(folder / MANIFEST)
    signature = folder / SIGNATURE
    seal = check_seal(manifest_bytes, read_small(signature) if signature.is_file() else None, backup_key(),
                      accept_unsigned)
    return Opened(folder, parse_manifest(manifest_bytes), seal)


@contextmanager
def _zip_errors(source: Path):
    """A damaged zip is a refusal with a message, never a traceback."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as error:
        raise BackupError(f"{source.name} cannot be read as a backup zip ({error})") from error


def _unpacked(source: Path, archive: zipfile.ZipFile, folder: Path, accept_unsigned: str | None) -> Opened:
    entries = _directory(source, archive)
    if MANIFEST not in entries:
        raise BackupError(f"{source.name}: no {MANIFEST} in the zip (is this a Divert backup?)")
    manifest_bytes = _read(archive, entries[MANIFEST], MAX_MANIFEST_BYTES)
    signature = _read(archive, entries[SIGNATURE], MAX_MANIFEST_BYTES) if SIGNATURE in entries else None
    seal = check_seal(manifest_bytes, signature, backup_key(), accept_unsigned)
    manifest = parse_manifest(manifest_bytes)
    files = {entry["file"]: entry for entry in manifest["tables"]}
    for name, info in entries.items():
        if name not in (MANIFEST, SIGNATURE) and name not in files:
            raise BackupError(f"{source.name}: {name} is in the zip but not in the manifest")
        if name in files and info.file_size != files[name].get("bytes", info.file_size):
            raise BackupError(f"{source.name}: {name} would unpack to {info.file_size:,} bytes, the manifest "
                              f"says {files[name]['bytes']:,}")
    for name in files:
        if name in entries:  # a missing file is reported by the file checks, with the others
            _unpack(archive, entries[name], folder / name)
    return Opened(folder, manifest, seal)


def _directory(source: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The zip's entries by name, checked from its central directory alone."""
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename
        if name not in (MANIFEST, SIGNATURE) and not FILE_NAME.match(name):
            raise BackupError(f"{source.name}: unexpected entry {name!r} in the zip")
        if name in entries:
            raise BackupError(f"{source.name}: {name} is in the zip twice")
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BackupError(f"{source.name}: {name} is encrypted or compressed in a way a Divert backup "
                              "never is")
        if info.file_size > RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise BackupError(f"{source.name}: {name} would unpack to {info.file_size:,} bytes, more than "
                              f"{MAX_RATIO} times its {info.compress_size:,} packed bytes: not a Divert backup "
                              "(nothing was unpacked)")
        entries[name] = info
    total = sum(info.file_size for info in entries.values())
    if total > MAX_UNPACKED_BYTES:
        raise BackupError(f"{source.name} would unpack to {total:,} bytes, more than the {MAX_UNPACKED_BYTES:,} "
                          "a restore unpacks (nothing was unpacked): restore from the backup folder instead")
    room = shutil.disk_usage(tempfile.gettempdir()).free
    if total > room:
        raise BackupError(f"{source.name} would unpack to {total:,} bytes and the temporary folder "
                          f"({tempfile.gettempdir()}) has {room:,} free: restore from the backup folder instead")
    return entries


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise BackupError(f"{info.filename} in the zip is larger than {limit:,} bytes: not a Divert backup's")
    with archive.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BackupError(f"{info.filename} in the zip is larger than {limit:,} bytes: not a Divert backup's")
    return data


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> None:
    """One entry, written no further than the size its (checked) directory entry gives."""
    written = 0
    with archive.open(info) as fh, path.open("wb") as out:
        while block := fh.read(_BLOCK):
            written += len(block)
            if written > info.file_size:
                raise BackupError(f"{info.filename} unpacks beyond the size its zip entry gives")
            out.write(block)
