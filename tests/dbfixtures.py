"""Throwaway databases for tests: a SQLite file URL, and a PostgreSQL database with a unique name
when DIVERT_TEST_DATABASE_URL points at a server. A module of its own (not conftest), so that
test modules can import it whichever conftest pytest loaded first."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from divert.db import get_engine, normalise_url

PG_URL = os.environ.get("DIVERT_TEST_DATABASE_URL")


def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'divert.db'}"


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


