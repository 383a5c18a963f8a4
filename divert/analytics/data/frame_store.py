"""The frame store: the last full load's frames kept on disk as Parquet files, so that an app
process starting on a large database reads them in a second or two and then catches up with the
audit events since, instead of reading every table again.

It is a cache, never a source: each folder carries the audit event, data version and schema
revision it was made at, and is used only when that event is still in the database with the same
time (a restored or replaced database has other events), the data version has not gone back and
the schema and the frames' format (FORMAT) are the same. Otherwise the database is read whole.
Deleting it is always safe.

Where: beside a SQLite file (`divert.db.frames/`), or under DIVERT_FRAMES_DIR (or the temporary
folder) for PostgreSQL, one folder per database (by its URL without the password), so replicas
given one shared DIVERT_FRAMES_DIR share one store: a new replica starts from the store another
made, and each checks it against the database as above. It holds what the dashboards hold (no names,
contact details or police identifiers; person keys are numbers), readable by its owner only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from divert.analytics.data.frames import FRAMES
from divert.analytics.data.loading import COMPRESSION

ENV = "DIVERT_FRAMES_DIR"
POINTER = "current"
STALE_S = 600  # an earlier load's folder is removed once written this long (seconds) before the new one
FORMAT = 2  # the frames' columns and types; a store of another format is read again whole (2: Categorical codes)


def location(engine: Engine) -> Path | None:
    url = make_url(engine.url)
    given = os.environ.get(ENV)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        database = Path(url.database).resolve()
        return Path(given) / hashlib.sha256(str(database).encode()).hexdigest()[:16] if given else Path(f"{database}.frames")
    identity = url.set(password=None).render_as_string(hide_password=True)
    root = Path(given) if given else Path(tempfile.gettempdir()) / "divert-frames"
    return root / hashlib.sha256(identity.encode()).hexdigest()[:16]


def stamp(engine: Engine) -> dict:
    """Where the database stands now: its newest audit event (id and time), data version and
    schema revision."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, at FROM audit_event ORDER BY id DESC LIMIT 1")).first()
        version = conn.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar()
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {"event": row[0] if row else 0, "event_at": str(row[1]) if row else None,
            "version": int(version or 0), "revision": revision, "format": FORMAT}


def new_folder(root: Path) -> Path:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = root / f"load-{uuid.uuid4().hex[:12]}"
    folder.mkdir(mode=0o700)
    return folder


def publish(root: Path, folder: Path, made_at: dict) -> None:
    """Make `folder` (its Parquet files written) the current one, and remove the folders left
    by earlier loads. A folder younger than STALE_S is left alone: with replicas sharing one
    store it may be another replica's load still being written, or the one it is reading."""
    (folder / "stamp.json").write_text(json.dumps(made_at))
    pointer = root / f".{POINTER}-{uuid.uuid4().hex[:8]}"
    pointer.write_text(folder.name)
    os.replace(pointer, root / POINTER)
    written = folder.stat().st_mtime
    for other in root.glob("load-*"):
        try:
            stale = written - other.stat().st_mtime > STALE_S
        except OSError:
            continue
        if other != folder and stale:
            shutil.rmtree(other, ignore_errors=True)


def save(root: Path, frames, made_at: dict) -> None:
    """Write the frames held in memory as the current folder."""
    folder = new_folder(root)
    for name in FRAMES:
        getattr(frames, name).write_parquet(folder / f"{name}.parquet", compression=COMPRESSION, statistics=False)
    publish(root, folder, made_at)


def read(root: Path | None, engine: Engine) -> tuple[dict[str, pl.DataFrame], dict] | None:
    """The stored frames and their stamp, or None when there are none or they cannot be trusted."""
    if root is None or not (root / POINTER).exists():
        return None
    try:
        folder = root / (root / POINTER).read_text().strip()
        made_at = json.loads((folder / "stamp.json").read_text())
        now = stamp(engine)
        if (made_at["revision"] != now["revision"] or made_at["version"] > now["version"]
                or made_at.get("format") != FORMAT):
            return None
        if made_at["event"]:
            with engine.connect() as conn:
                at = conn.execute(text("SELECT at FROM audit_event WHERE id = :id"), {"id": made_at["event"]}).scalar()
            if at is None or str(at) != made_at["event_at"]:
                return None
        return {name: pl.read_parquet(folder / f"{name}.parquet") for name in FRAMES}, made_at
    except (OSError, ValueError, KeyError, pl.exceptions.PolarsError):
        return None
