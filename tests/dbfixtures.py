"""Throwaway databases for tests, fast by construction. A module of its own (not conftest), so
that test modules can import it whichever conftest pytest loaded first.

- `main_url(folder)`: an empty database (a SQLite file; a new PostgreSQL database under
  DIVERT_TEST_BACKEND=postgres).
- `migrated_url(folder)`: a database at the newest migration. Alembic runs once per test run
  into a template (shared by the run's worker processes); each test gets a copy (a SQLite file copy, about 0.2 ms, or PostgreSQL's
  `CREATE DATABASE ... TEMPLATE`, about 0.06 s) instead of an upgrade (0.06-0.35 s).
- `demo_url(folder, seed=..., scale=..., as_of=...)`: a database holding the demo built once per
  test run for that configuration (always a fixed as-of date), then copied the same way.

DIVERT_TEST_BACKEND=postgres (with DIVERT_TEST_DATABASE_URL set) runs the whole suite on
PostgreSQL: every helper above then makes PostgreSQL databases. Tests about SQLite files
themselves use `sqlite_url()` / `migrated_sqlite_url()`. Databases made here are dropped by
`drop_made()` (each module's end) and `shared_templates_done()` (the run's end)."""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from divert.storage.db import get_engine, normalise_url, sqlite_path

PG_URL = os.environ.get("DIVERT_TEST_DATABASE_URL")
BACKEND = os.environ.get("DIVERT_TEST_BACKEND", "sqlite").strip().lower() or "sqlite"
ON_POSTGRES = BACKEND == "postgres"
SQLITE_ONLY = "about SQLite files themselves (DIVERT_TEST_BACKEND=postgres)"


def sqlite_url(tmp_path, name: str = "divert.db") -> str:
    return f"sqlite:///{Path(tmp_path) / name}"


def _admin():
    return create_engine(make_url(normalise_url(PG_URL)), isolation_level="AUTOCOMMIT")


def _release(url: str) -> None:
    """Close this process's pooled connections to a database."""
    get_engine(url).dispose()


class PostgresDatabase:
    """A throwaway database on the test server: empty, or a copy of a template database."""

    def __init__(self, template: str | None = None, name: str | None = None):
        _start_dropper()
        base = make_url(normalise_url(PG_URL))
        self.name = name or f"divert_test_{uuid.uuid4().hex[:12]}"
        self.admin = _admin()
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"' + (f' TEMPLATE "{template}"' if template else "")))
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def drop(self):
        """Dropped in the background (each DROP DATABASE waits for a checkpoint, about 0.15 s:
        half of a PostgreSQL run's time when it was done in line); drain_drops() waits for them."""
        _release(self.url)
        self.admin.dispose()
        _drops.put(self.name)


# --- dropping in the background -------------------------------------------------------------------------
_drops: queue.Queue = queue.Queue()
_dropper: list[threading.Thread] = []


def _drop_forever() -> None:
    admin = _admin()
    while True:
        name = _drops.get()
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            _drops.task_done()


def _start_dropper() -> None:
    if not _dropper:
        _dropper.append(threading.Thread(target=_drop_forever, name="drop-test-databases", daemon=True))
        _dropper[0].start()


def drain_drops() -> None:
    """Wait until every database handed to the background has been dropped."""
    if _dropper:
        _drops.join()


# --- templates: built once per test run, copied for each test ---------------------------------------
# The run's processes (the xdist workers) share one folder of templates, named by the root
# conftest in DIVERT_TEST_TEMPLATES before the workers start: the first process to need a template
# builds it (holding a lock on it, so that the other waits instead of building it too) and writes
# down where it is; the run's end (shared_templates_done) drops them.
_templates: dict[str, tuple[str, dict]] = {}  # slot -> (SQLite path or PostgreSQL name, summary)


def share_templates() -> Path:
    """Name this run's template folder (before any worker starts: they inherit it)."""
    folder = tempfile.mkdtemp(prefix="divert-templates-")
    os.environ["DIVERT_TEST_TEMPLATES"] = folder
    return Path(folder)


def _shared() -> Path:
    folder = os.environ.get("DIVERT_TEST_TEMPLATES")
    if folder:
        return Path(folder)
    atexit.register(shared_templates_done)  # outside a pytest run (a script importing this module)
    return share_templates()


def _run_tag() -> str:
    return hashlib.sha256(str(_shared()).encode()).hexdigest()[:8]


@contextmanager
def _locked(path: Path):
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _template(key: str, build, postgres: bool) -> tuple[str, dict]:
    """The template for `key`: build(url) -> summary, run once in the whole run on a new database."""
    slot = ("pg:" if postgres else "sqlite:") + key
    if slot in _templates:
        return _templates[slot]
    digest = hashlib.sha256(slot.encode()).hexdigest()[:12]
    folder = _shared()
    with _locked(folder / f"{digest}.lock"):
        record = folder / f"{digest}.json"
        if not record.exists():
            source, summary = _build_postgres(digest, build) if postgres else _build_sqlite(folder, digest, build)
            record.write_text(json.dumps({"source": source, "summary": summary}))
        built = json.loads(record.read_text())
    _templates[slot] = (built["source"], built["summary"])
    return _templates[slot]


def _build_postgres(digest: str, build) -> tuple[str, dict]:
    name = f"divert_tpl_{_run_tag()}_{digest}"
    admin = _admin()
    with admin.connect() as conn:  # what a build that failed half-way left
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    database = PostgresDatabase(name=name)
    summary = build(database.url) or {}
    _release(database.url)
    with database.admin.connect() as conn:  # no session may stay on a template
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database.name})
        conn.execute(text(f'ALTER DATABASE "{database.name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false'))
    database.admin.dispose()
    return database.name, summary


def _build_sqlite(folder: Path, digest: str, build) -> tuple[str, dict]:
    path = folder / f"{digest}.db"
    url = f"sqlite:///{path}"
    summary = build(url) or {}
    _release(url)
    with sqlite3.connect(path) as conn:  # everything in the main file, no -wal beside it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return str(path), summary


def _copy(key: str, build, folder, name: str, postgres: bool) -> str:
    source, _ = _template(key, build, postgres)
    if postgres:
        database = PostgresDatabase(template=source)
        _made.append(database)
        return database.url
    target = Path(folder) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o600)
    return f"sqlite:///{target}"


def shared_templates_done() -> None:
    """The run's end (its last process): drop its PostgreSQL templates and remove its folder."""
    folder = os.environ.get("DIVERT_TEST_TEMPLATES")
    if not folder:
        return
    drain_drops()
    if PG_URL:
        admin = _admin()
        with admin.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                                 {"prefix": f"divert_tpl_{_run_tag()}_%"}).scalars().all()
            for name in names:
                conn.execute(text(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false'))
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    _templates.clear()


def _migrate(url: str) -> dict:
    from divert.storage.db import upgrade

    upgrade(url)
    return {}


def migrated_url(folder, name: str = "divert.db", *, postgres: bool | None = None) -> str:
    """A database at the newest migration: a SQLite file `name` in `folder` (a PostgreSQL
    database under DIVERT_TEST_BACKEND=postgres, or with postgres=True)."""
    return _copy("migrated", _migrate, folder, name, ON_POSTGRES if postgres is None else postgres)


def migrated_sqlite_url(folder, name: str = "divert.db") -> str:
    """A SQLite file at the newest migration on either backend: for tests about SQLite itself."""
    return migrated_url(folder, name, postgres=False)


# The demo configurations most tests share (each is built once per test run). A module that
# needs something else (another force, a larger scale) passes its own seed, scale and as_of.
DEMO_AS_OF = date(2025, 9, 30)  # a month end: every period up to it is complete
FULL_DEMO = {"seed": 7, "scale": 1.0, "as_of": DEMO_AS_OF}  # a West Midlands-sized force
SMALL_DEMO = {"seed": 5, "scale": 0.2, "as_of": DEMO_AS_OF}  # a fifth of that: quick to load


def demo_url(folder, name: str = "demo.db", *, seed: int, scale: float, as_of: date,
             programme: dict | None = None, postgres: bool | None = None) -> tuple[str, dict]:
    """A database holding the demo for `seed`, `scale` and `as_of` (and the programme profile
    `programme`, saved before the demo is generated), built once per test run; returns its
    URL and load_demo's summary (row counts and the demo logins). `postgres` as in migrated_url."""
    if as_of is None:
        raise ValueError("a demo fixture fixes its as-of date")
    key = json.dumps({"seed": seed, "scale": scale, "as_of": str(as_of), "programme": programme}, sort_keys=True)

    def build(url: str) -> dict:
        from divert.demo import load_demo
        from divert.records import programme_profile as profile

        _migrate(url)
        engine = get_engine(url)
        if programme:
            saved, _ = profile.save(programme, "test", engine=engine)
            assert saved.ok, saved.problems
        return load_demo(engine, seed=seed, scale=scale, as_of=as_of)

    postgres = ON_POSTGRES if postgres is None else postgres
    url = _copy("demo:" + key, build, folder, name, postgres)
    return url, _templates[("pg:" if postgres else "sqlite:") + "demo:" + key][1]


# --- databases made by main_url() and the copies above, dropped at each module's end ----------------
_made: list[PostgresDatabase] = []


def main_url(folder, name: str = "divert.db") -> str:
    """The URL of a test's empty main database: a SQLite file `name` in `folder`, or, under
    DIVERT_TEST_BACKEND=postgres, a new PostgreSQL database (dropped by drop_made(), which the
    root conftest calls at the end of each test module)."""
    if not ON_POSTGRES:
        return sqlite_url(folder, name)
    database = PostgresDatabase()
    _made.append(database)
    return database.url


def drop_made() -> None:
    """Drop the PostgreSQL databases made by main_url() and the copies so far."""
    while _made:
        _made.pop().drop()


def is_sqlite_url(url: str) -> bool:
    return sqlite_path(url) is not None
