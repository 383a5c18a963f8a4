"""Shared fixtures: a real SQLite file per test, and a real PostgreSQL database per test when
DIVERT_TEST_DATABASE_URL points at a server (CI sets it; the database is created with a unique
name and dropped afterwards). Databases at head and demo databases are copies of templates built
once per test run and shared by its worker processes (see dbfixtures).

DIVERT_TEST_BACKEND=postgres runs the whole suite on PostgreSQL: every fixture that makes a
test's main database (`db`, `engine`, `sqlite_engine`, and the modules' own through
dbfixtures.main_url / migrated_url / demo_url) then makes a throwaway PostgreSQL database instead
of a SQLite file.

The whole run, and every process it starts (the app servers of the browser tests), hashes new
passwords at bcrypt's lowest cost (DIVERT_PASSWORD_HASH_ROUNDS=4: about 1 ms a check instead of
0.3 s); test_auth pins the production cost. Keys and default databases live in a temporary
folder, never the repository."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest
from clock import frozen
from commands import divert
from dbfixtures import (  # noqa: F401  (shared with test modules)
    BACKEND,
    ON_POSTGRES,
    PG_URL,
    PostgresDatabase,
    drain_drops,
    drop_made,
    main_url,
    migrated_sqlite_url,
    migrated_url,
    share_templates,
    shared_templates_done,
    sqlite_url,
)
from hypothesis import settings as hypothesis_settings

from divert.storage.db import get_engine

# CI runs the property tests on a fixed sequence of examples, so a green run stays green
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the run's first process (xdist's workers inherit it)
        share_templates()
    os.environ.setdefault("DIVERT_PASSWORD_HASH_ROUNDS", "4")
    os.environ["DIVERT_DATA_DIR"] = tempfile.mkdtemp(prefix="divert-test-data-")  # never the repository's data/
    atexit.register(shutil.rmtree, os.environ["DIVERT_DATA_DIR"], True)
    if BACKEND not in ("sqlite", "postgres"):
        raise pytest.UsageError(f"DIVERT_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}")
    if ON_POSTGRES and not PG_URL:
        raise pytest.UsageError("DIVERT_TEST_BACKEND=postgres needs DIVERT_TEST_DATABASE_URL (a PostgreSQL server)")
    config.pluginmanager.register(_LongestFirst(), "divert-longest-first")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(config, items):
    """A module with a module-scoped fixture of its own (a demo, a board pack, a release) runs
    on one worker as a unit, so that the fixture is built once, not once on every worker its
    tests are spread over. Other tests are still spread one by one."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        module = item.nodeid.split("::")[0]
        info = getattr(item, "_fixtureinfo", None)
        shared = info is not None and any(
            d.scope in ("module", "class") and d.baseid == module
            for defs in info.name2fixturedefs.values() for d in defs)
        if shared:
            item.add_marker(pytest.mark.xdist_group(module))


class _LongestFirst:
    """The longest work is handed out first: the browser tests (marker `e2e`: a server and a
    browser each, 5 to 75 s), then the modules kept on one worker as a unit (a fixture of their
    own), then the rest one by one; so that the run does not end waiting for a long test that
    started last while the other workers sit idle (the order is kept as it is: xdist's
    --no-loadscope-reorder in pyproject.toml). pytest-randomly's shuffle is kept within each kind
    (a stable sort on its order), so the order still changes from run to run."""

    @pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle and the groups made above
    def pytest_collection_modifyitems(self, items):
        items.sort(key=lambda item: 0 if item.get_closest_marker("e2e") else
                   1 if item.get_closest_marker("xdist_group") else 2)


def pytest_report_header(config):
    return f"divert test backend: {BACKEND}"


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):  # the run's end: every worker is done with the templates
        shared_templates_done()


@pytest.fixture(scope="session", autouse=True)
def dropped_databases_at_the_end():
    """This process's throwaway PostgreSQL databases are all dropped before it ends."""
    yield
    drain_drops()


@pytest.fixture(scope="module", autouse=True)
def dropped_databases():
    """PostgreSQL databases made through main_url() are dropped when their module is done."""
    yield
    drop_made()


@pytest.fixture
def clock():
    """The wall clock at clock.MOMENT (Wednesday 17 June 2026, 10:30 in London), ticking on."""
    with frozen() as traveller:
        yield traveller


@pytest.fixture
def cli():
    """The `divert` command in process (tests/commands.py)."""
    return divert


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch):
    """Keys and the default database go to a temporary folder, never the repository."""
    data = tmp_path_factory.mktemp("divert-data")
    monkeypatch.setenv("DIVERT_DATA_DIR", str(data))
    monkeypatch.setenv("DIVERT_SECRETS", str(data / "no-secrets.toml"))
    monkeypatch.delenv("DIVERT_DATABASE_URL", raising=False)
    monkeypatch.delenv("DIVERT_FORCE", raising=False)
    from divert.core import environment

    environment._secrets.cache_clear()
    yield data


# on the PostgreSQL backend the SQLite case would be a second PostgreSQL run of the same test
BACKENDS = [*([] if ON_POSTGRES else ["sqlite"]), pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """sqlite, and postgres when the server is configured."""
    if request.param == "postgres" and not PG_URL:
        pytest.skip("DIVERT_TEST_DATABASE_URL is not set")
    return request.param


@pytest.fixture
def db_url(backend, tmp_path):
    """An empty database URL: a SQLite file, and PostgreSQL when the server is configured."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path)
        return
    database = PostgresDatabase()
    try:
        yield database.url
    finally:
        database.drop()


def engine_on(url: str):
    """An engine on `url`; disposed after the test."""
    engine = get_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(backend, tmp_path):
    """A database at head on each backend (a copy of the migrated template)."""
    yield from engine_on(migrated_url(tmp_path, postgres=backend == "postgres"))


@pytest.fixture
def sqlite_engine(tmp_path):
    """The test's main database at head: a SQLite file (PostgreSQL under DIVERT_TEST_BACKEND)."""
    yield from engine_on(migrated_url(tmp_path))


@pytest.fixture
def sqlite_file_engine(tmp_path):
    """A SQLite file at head on either backend: for tests about SQLite itself."""
    yield from engine_on(migrated_sqlite_url(tmp_path))


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
    url = migrated_url(tmp_path)
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)
    yield from engine_on(url)


@pytest.fixture
def navigation_only(monkeypatch):
    """AppTest turns Streamlit's legacy `pages/` folder mode back on before every run
    (streamlit#9446), where the real server leaves it for good after app.py's first run
    (divert.web.ui.leave_legacy_pages_mode). Keep it off, as on the server, so that each run goes
    straight through app.py and a submitted form is not dropped by a restart."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
