"""Shared fixtures: a real SQLite file per test, and a real PostgreSQL database per test when
DIVERT_TEST_DATABASE_URL points at a server (CI sets it; the database is created with a unique
name and dropped afterwards).

DIVERT_TEST_BACKEND=postgres runs the whole suite on PostgreSQL: every fixture that makes a
test's main database (`db`, `engine`, `sqlite_engine`, and the modules' own through
dbfixtures.main_url) then makes a throwaway PostgreSQL database instead of a SQLite file."""

from __future__ import annotations

import os

import pytest
from dbfixtures import (  # noqa: F401  (shared with test modules)
    BACKEND,
    ON_POSTGRES,
    PG_URL,
    PostgresDatabase,
    drop_made,
    main_url,
    sqlite_url,
)
from hypothesis import settings as hypothesis_settings

from divert.db import get_engine, upgrade

# CI runs the property tests on a fixed sequence of examples, so a green run stays green
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_configure(config):
    if BACKEND not in ("sqlite", "postgres"):
        raise pytest.UsageError(f"DIVERT_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}")
    if ON_POSTGRES and not PG_URL:
        raise pytest.UsageError("DIVERT_TEST_BACKEND=postgres needs DIVERT_TEST_DATABASE_URL (a PostgreSQL server)")


def pytest_report_header(config):
    return f"divert test backend: {BACKEND}"


@pytest.fixture(scope="module", autouse=True)
def dropped_databases():
    """PostgreSQL databases made through main_url() are dropped when their module is done."""
    yield
    drop_made()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch):
    """Keys and the default database go to a temporary folder, never the repository."""
    data = tmp_path_factory.mktemp("divert-data")
    monkeypatch.setenv("DIVERT_DATA_DIR", str(data))
    monkeypatch.setenv("DIVERT_SECRETS", str(data / "no-secrets.toml"))
    monkeypatch.delenv("DIVERT_DATABASE_URL", raising=False)
    monkeypatch.delenv("DIVERT_FORCE", raising=False)
    from divert import settings

    settings._secrets.cache_clear()
    yield data


# on the PostgreSQL backend the SQLite case would be a second PostgreSQL run of the same test
@pytest.fixture(params=[*([] if ON_POSTGRES else ["sqlite"]), pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """An empty database URL: a SQLite file, and PostgreSQL when the server is configured."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    if not PG_URL:
        pytest.skip("DIVERT_TEST_DATABASE_URL is not set")
    database = PostgresDatabase()
    try:
        yield database.url
    finally:
        database.drop()


def upgraded(url: str):
    """An engine on `url` upgraded to the newest migration; disposed after the test."""
    upgrade(url)
    engine = get_engine(url)
    yield engine
    engine.dispose()
    get_engine.cache_clear()


@pytest.fixture
def engine(db_url):
    yield from upgraded(db_url)


def main_database(tmp_path):
    """The URL of the test's main database (see dbfixtures.main_url), dropped after the test."""
    if not ON_POSTGRES:
        yield sqlite_url(tmp_path)
        return
    database = PostgresDatabase()
    try:
        yield database.url
    finally:
        database.drop()


@pytest.fixture
def sqlite_engine(tmp_path):
    """The test's main database at head: a SQLite file (PostgreSQL under DIVERT_TEST_BACKEND)."""
    for url in main_database(tmp_path):
        yield from upgraded(url)


@pytest.fixture
def sqlite_file_engine(tmp_path):
    """A SQLite file at head on either backend: for tests about SQLite itself."""
    yield from upgraded(sqlite_url(tmp_path))


@pytest.fixture
def spawn_context(monkeypatch):
    """A 'spawn' multiprocessing context whose children do not re-run __main__: after an
    AppTest run, __main__ can be a page script, which a spawned child would execute."""
    import multiprocessing
    import sys
    import types

    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    return multiprocessing.get_context("spawn")


@pytest.fixture
def db(tmp_path, monkeypatch):
    """The app's database for AppTest: a SQLite file at head (PostgreSQL under
    DIVERT_TEST_BACKEND), named by DIVERT_DATABASE_URL."""
    for url in main_database(tmp_path):
        monkeypatch.setenv("DIVERT_DATABASE_URL", url)
        yield from upgraded(url)


@pytest.fixture
def navigation_only(monkeypatch):
    """AppTest turns Streamlit's legacy `pages/` folder mode back on before every run
    (streamlit#9446), where the real server leaves it for good after app.py's first run
    (divert.ui.leave_legacy_pages_mode). Keep it off, as on the server, so that each run goes
    straight through app.py and a submitted form is not dropped by a restart."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
