"""Engine, sessions, schema upgrades and the data_version counter.

A new SQLite database file is created readable by its owner only (0600); SQLite gives its WAL
and shared-memory files the same permissions.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select, text, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

import divert.storage.security_models  # noqa: F401  (registers the sign-in tables)
from divert.core.environment import database_url, sqlite_busy_ms
from divert.storage.models import DataVersion

BUSY_MESSAGE = (
    "The database is busy saving other work (for example a large import). Nothing was saved: "
    "please try again in a moment."
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def create_private_file(path: Path) -> None:
    """Create an empty file readable and writable by its owner only, if it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def tighten_permissions(path: Path) -> list[Path]:
    """Make an existing SQLite database (and its WAL and shared-memory files) owner-only;
    returns the files whose permissions were looser."""
    changed = []
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)
            changed.append(file)
    return changed


_GUARDED_PRAGMAS = frozenset({"recursive_triggers", "writable_schema"})


def _audit_guard(action, arg1, arg2, _database, _trigger) -> int:
    """SQLite authorizer on the app's connections: they cannot drop the audit trail's triggers or
    table, turn recursive_triggers off, or write the schema table directly."""
    if action in (sqlite3.SQLITE_DROP_TRIGGER, sqlite3.SQLITE_DROP_TEMP_TRIGGER) and (arg2 or "").lower() == "audit_event":
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_DROP_TABLE and (arg1 or "").lower() == "audit_event":
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _GUARDED_PRAGMAS and arg2 is not None:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _sqlite_engine(url: str, *, scratch: bool = False) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        create_private_file(path)
    engine = create_engine(url, connect_args={"timeout": sqlite_busy_ms() / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, manage transactions so BEGIN takes the write lock
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if scratch:  # a private copy for checking an import: no other connection, no durability
            cur.execute("PRAGMA journal_mode=MEMORY")
            cur.execute("PRAGMA synchronous=OFF")
        else:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(sqlite_busy_ms())}")
        # INSERT OR REPLACE then fires the delete trigger on the row it would replace
        cur.execute("PRAGMA recursive_triggers=ON")
        cur.close()
        dbapi_conn.set_authorizer(_audit_guard)

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        # Writers take the write lock up front (BEGIN IMMEDIATE), so concurrent writers
        # queue on the busy timeout instead of failing when a read upgrades to a write.
        # Readers stay deferred and never block anyone (WAL).
        immediate = conn.get_execution_options().get("write_lock")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def get_engine(url: str | None = None) -> Engine:
    """The engine of `url` (default: the configured database, read now: a change of
    DIVERT_DATABASE_URL is followed), one per URL."""
    return _engine_for(normalise_url(url or database_url()))


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


get_engine.cache_clear = _engine_for.cache_clear


@contextmanager
def sqlite_snapshot(engine: Engine):
    """A private copy of a SQLite database taken in one consistent read (SQLite's backup API),
    as an engine of its own; the copy (0600, beside the database) is deleted afterwards."""
    folder = Path(engine.url.database).resolve().parent
    fd, name = tempfile.mkstemp(prefix=".divert-check-", suffix=".db", dir=folder)
    os.close(fd)
    copy_path = Path(name)
    copy = None
    try:
        raw = engine.raw_connection()
        try:
            target = sqlite3.connect(copy_path)
            try:
                raw.driver_connection.backup(target)
            finally:
                target.close()
        finally:
            raw.close()
        copy = _sqlite_engine(f"sqlite:///{copy_path}", scratch=True)
        yield copy
    finally:
        if copy is not None:
            copy.dispose()
        for suffix in ("", "-journal", "-wal", "-shm"):
            copy_path.with_name(copy_path.name + suffix).unlink(missing_ok=True)


def is_busy(error: BaseException) -> bool:
    """Whether a database error is SQLite's lock timeout ("database is locked")."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def session_scope(engine: Engine | None = None, write: bool = False):
    """A session that commits on success and rolls back on any error.

    write=True takes SQLite's write lock at the start of the transaction."""
    engine = engine or get_engine()
    if write:
        engine = engine.execution_options(write_lock=True)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    url = url or database_url()
    path = sqlite_path(url)
    if path is not None:
        create_private_file(path)  # before Alembic's own engine would create it world-readable
    command.upgrade(alembic_config(url), "head")


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def data_version(engine: Engine | None = None) -> int:
    with (engine or get_engine()).connect() as conn:
        value = conn.execute(select(DataVersion.version).where(DataVersion.id == 1)).scalar()
    return int(value or 0)


def bump_data_version(session: Session) -> None:
    """Inside the writer's transaction, so the bump commits or rolls back with the write."""
    session.execute(update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1))


def analyze(engine: Engine, tables: tuple[str, ...] = ()) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load (demo, restore, a large import).
    Until autovacuum gets to it, the planner takes the loaded tables for nearly empty and runs
    the dashboards' joins as nested loops: measured at demo scale 1, the referrals query took
    38 s before ANALYZE and 0.4 s after. SQLite needs nothing."""
    if engine.dialect.name == "postgresql":  # `tables`: only these (else every table)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE " + ", ".join(conn.dialect.identifier_preparer.quote(t) for t in tables)))


def ping(engine: Engine | None = None) -> bool:
    with (engine or get_engine()).connect() as conn:
        return conn.execute(text("SELECT 1")).scalar() == 1
