"""The `divert` command as operators script it, on a real SQLite file (a throwaway PostgreSQL
database under DIVERT_TEST_BACKEND=postgres, except where the test is about the SQLite file
itself). The command runs in this process (tests/commands.py: the same `divert.cli.main.main` the
installed script calls); two smoke tests start it as a real process, for its exit codes and its
standard input."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from commands import Ran, divert, divert_process
from dbfixtures import ON_POSTGRES, main_url, migrated_sqlite_url, migrated_url
from sqlalchemy import text

from divert.cli.main import main
from divert.storage.db import get_engine, head_revision

PASSPHRASE = "a long enough passphrase\n"


@dataclass
class Shell:
    """`divert ARGS` as an operator's shell runs it: DIVERT_DATABASE_URL names the database and
    DIVERT_DATA_DIR the folder of its keys."""

    url: str
    folder: Path

    @property
    def env(self) -> dict[str, str]:
        return {"DIVERT_DATA_DIR": str(self.folder), "DIVERT_DATABASE_URL": self.url}

    def __call__(self, *args: str, stdin: str | None = None) -> Ran:
        return divert(*args, stdin=stdin, env=self.env)

    def process(self, *args: str, stdin: str | None = None):
        """The same command as a real process."""
        return divert_process(*args, stdin=stdin, env=self.env)


@pytest.fixture
def empty(tmp_path) -> Shell:
    """The command on an empty database (for `divert init` itself)."""
    return Shell(main_url(tmp_path, "cli.db"), tmp_path)


@pytest.fixture
def run(tmp_path) -> Shell:
    """The command on a database at the newest migration, as `divert init` leaves it."""
    return Shell(migrated_url(tmp_path, "cli.db"), tmp_path)


def test_the_installed_command_is_the_main_tested_here():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "divert"]
    assert script.value == "divert.cli.main:main" and script.load() is main


def test_init_creates_the_schema_and_status_reports_it(empty, tmp_path):
    result = empty.process("init")  # smoke test: the real process starts, works and exits 0
    assert result.returncode == 0, result.stderr
    assert ON_POSTGRES or (tmp_path / "cli.db").exists()
    assert "census population rows" in result.stdout and "Traceback" not in result.stderr
    status = empty("status")
    assert status.returncode == 0
    assert f"Schema revision: {head_revision()}" in status.stdout
    assert "Data version: 1" in status.stdout  # the census load
    # no account exists until created
    assert "No users yet" in empty("user", "list").stdout


def test_user_add_list_disable(run):
    added = run("user", "add", "jo.admin", "--role", "admin", "--password-stdin", stdin=PASSPHRASE)
    assert added.returncode == 0, added.stderr
    listed = run("user", "list")
    assert "jo.admin" in listed.stdout and "active" in listed.stdout
    assert run("user", "disable", "jo.admin").returncode == 0
    assert "disabled" in run("user", "list").stdout


def test_rejected_input_exits_1_and_writes_nothing(run):
    short = run.process("user", "add", "sam", "--role", "viewer", "--password-stdin", stdin="short\n")  # smoke test
    assert short.returncode == 1
    assert "password: must be at least 12 characters" in short.stderr
    assert "No users yet" in run("user", "list").stdout
    assert "Traceback" not in short.stderr


def test_usage_errors_exit_2(run):
    for args in (["user", "add", "sam", "--role", "superuser"], ["no-such-command"], []):
        result = run(*args)
        assert result.returncode == 2, args
        assert "usage: divert" in result.stderr and "Traceback" not in result.stderr, args


def test_unlock_and_reset_password(run):
    run("user", "add", "kim", "--role", "manager", "--password-stdin", stdin=PASSPHRASE)
    assert run("user", "unlock", "kim").returncode == 0
    reset = run("user", "reset-password", "kim")
    assert reset.returncode == 0 and "One-time password for kim" in reset.stdout
    assert run("user", "unlock", "nobody").returncode == 1


# --- security findings ----------------------------------------------------------------------
def bare(tmp_path, *args, stdin=None) -> Ran:
    """The command without DIVERT_DATABASE_URL: the database comes from --db alone."""
    return divert(*args, stdin=stdin, env={"DIVERT_DATA_DIR": str(tmp_path / "data"), "DIVERT_DATABASE_URL": None})


def test_db_is_taken_before_and_after_the_subcommand(tmp_path):
    url = f"sqlite:///{tmp_path / 'chosen.db'}"
    assert bare(tmp_path, "init", "--db", url).returncode == 0
    assert bare(tmp_path, "--db", url, "user", "add", "ana", "--role", "viewer", "--password-stdin",
                stdin=PASSPHRASE).returncode == 0
    assert bare(tmp_path, "user", "add", "bea", "--role", "viewer", "--password-stdin", "--db", url,
                stdin=PASSPHRASE).returncode == 0
    assert bare(tmp_path, "user", "--db", url, "list").stdout.split()[::3] == ["ana", "bea"]
    assert "chosen.db" in bare(tmp_path, "status", "--db", url).stdout
    assert not (tmp_path / "data" / "divert.db").exists()  # the default database was never touched


def test_status_never_creates_a_folder_or_a_database(tmp_path):
    missing = tmp_path / "x" / "y.db"
    result = bare(tmp_path, "status", "--db", f"sqlite:///{missing}")
    assert result.returncode == 1 and "no database file" in result.stdout
    assert not (tmp_path / "x").exists()


def test_demo_scale_must_be_a_sensible_number(empty):
    for scale in ("nan", "inf", "1e-9", "0", "-1", "1e6"):
        result = empty("demo", "--scale", scale)
        assert result.returncode == 2, (scale, result.stderr[-300:])
        assert "--scale must be a number from 0.01 to 100" in result.stderr and "Traceback" not in result.stderr


def test_demo_refuses_a_database_with_real_users(run):
    run("user", "add", "real.admin", "--role", "admin", "--password-stdin", stdin=PASSPHRASE)
    result = run("demo", "--scale", "0.01")  # refused before it reads the clock
    assert result.returncode == 1 and "real user account" in result.stderr
    assert "Traceback" not in result.stderr
    listed = run("user", "list").stdout
    assert "demo." not in listed
    assert "offence                 0" in run("status").stdout


def test_an_import_cannot_be_recorded_under_another_name(run, tmp_path):
    rows = tmp_path / "offences.csv"
    rows.write_text("crime_ref,offence_date,area,drug,source,person_ref\nC1,2021-03-01,E08000025,CAN,stop_search,P1\n")
    result = run("import", "offences", str(rows), "--user", "the.chief")
    assert result.returncode == 2 and "--user is not accepted" in result.stderr
    assert run("import", "offences", str(rows)).returncode == 0
    with get_engine(run.url).connect() as conn:
        actors = set(conn.execute(text("SELECT username FROM audit_event WHERE action = 'import'")).scalars())
    assert len(actors) == 1 and next(iter(actors)).startswith("cli:")


def test_init_makes_an_existing_database_private(tmp_path):
    shell = Shell(migrated_sqlite_url(tmp_path, "cli.db"), tmp_path)  # about the SQLite file itself, on either backend
    (tmp_path / "cli.db").chmod(0o644)
    result = shell("init")
    assert result.returncode == 0 and "readable by its owner only" in result.stdout
    assert stat.S_IMODE((tmp_path / "cli.db").stat().st_mode) == 0o600
