"""Throwaway databases for tests: a SQLite file URL, and a PostgreSQL database with a unique name
when DIVERT_TEST_DATABASE_URL points at a server. A module of its own (not conftest), so that
test modules can import it whichever conftest pytest loaded first.

DIVERT_TEST_BACKEND=postgres (with DIVERT_TEST_DATABASE_URL set) runs the whole suite on
PostgreSQL: `main_url()`, which every fixture that makes a test's main database goes through,
then makes a throwaway PostgreSQL database in place of the SQLite file. Tests about SQLite
files themselves keep using `sqlite_url()`."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from divert.db import get_engine, normalise_url

PG_URL = os.environ.get("DIVERT_TEST_DATABASE_URL")
BACKEND = os.environ.get("DIVERT_TEST_BACKEND", "sqlite").strip().lower() or "sqlite"
ON_POSTGRES = BACKEND == "postgres"
SQLITE_ONLY = "about SQLite files themselves (DIVERT_TEST_BACKEND=postgres)"


def sqlite_url(tmp_path, name: str = "divert.db") -> str:
    return f"sqlite:///{Path(tmp_path) / name}"


class PostgresDatabase:
    """A throwaway database on the test server."""

    def __init__(self):
        base = make_url(normalise_url(PG_URL))
        self.name = f"divert_test_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def drop(self):
        get_engine(self.url).dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


_made: list[PostgresDatabase] = []


def main_url(folder, name: str = "divert.db") -> str:
    """The URL of a test's main database: a SQLite file `name` in `folder`, or, under
    DIVERT_TEST_BACKEND=postgres, a new PostgreSQL database (dropped by drop_made(), which the
    root conftest calls at the end of each test module)."""
    if not ON_POSTGRES:
        return sqlite_url(folder, name)
    database = PostgresDatabase()
    _made.append(database)
    return database.url


def drop_made() -> None:
    """Drop the PostgreSQL databases made by main_url() so far."""
    while _made:
        _made.pop().drop()
