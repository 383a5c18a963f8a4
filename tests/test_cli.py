"""The `divert` command as operators script it: a real process on a real SQLite file (a
throwaway PostgreSQL database under DIVERT_TEST_BACKEND=postgres, except where the test is about
the SQLite file itself)."""

from __future__ import annotations

import os
import subprocess
import sys

from dbfixtures import ON_POSTGRES, main_url, sqlite_url

from divert.db import head_revision

_urls: dict = {}  # one database per test folder


def cli_url(tmp_path, sqlite=False) -> str:
    if sqlite:
        return sqlite_url(tmp_path, "cli.db")
    return _urls.setdefault(tmp_path, main_url(tmp_path, "cli.db"))


def run(args, tmp_path, stdin=None, sqlite=False):
    env = {**os.environ, "DIVERT_DATA_DIR": str(tmp_path), "DIVERT_DATABASE_URL": cli_url(tmp_path, sqlite)}
    return subprocess.run(
        [sys.executable, "-m", "divert.cli", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_init_creates_the_schema_and_status_reports_it(tmp_path):
    result = run(["init"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert ON_POSTGRES or (tmp_path / "cli.db").exists()
    status = run(["status"], tmp_path)
    assert status.returncode == 0
    assert f"Schema revision: {head_revision()}" in status.stdout
    assert "census population rows" in result.stdout and "Data version: 1" in status.stdout  # the census load


def test_user_add_list_disable(tmp_path):
    run(["init"], tmp_path)
    added = run(["user", "add", "jo.admin", "--role", "admin", "--password-stdin"], tmp_path, "a long enough passphrase\n")
    assert added.returncode == 0, added.stderr
    listed = run(["user", "list"], tmp_path)
    assert "jo.admin" in listed.stdout and "active" in listed.stdout
    assert run(["user", "disable", "jo.admin"], tmp_path).returncode == 0
    assert "disabled" in run(["user", "list"], tmp_path).stdout


def test_rejected_input_exits_1_and_writes_nothing(tmp_path):
    run(["init"], tmp_path)
    short = run(["user", "add", "sam", "--role", "viewer", "--password-stdin"], tmp_path, "short\n")
    assert short.returncode == 1
    assert "password: must be at least 12 characters" in short.stderr
    assert "No users yet" in run(["user", "list"], tmp_path).stdout
    assert "Traceback" not in short.stderr


def test_usage_errors_exit_2(tmp_path):
    assert run(["user", "add", "sam", "--role", "superuser"], tmp_path).returncode == 2
    assert run(["no-such-command"], tmp_path).returncode == 2
    assert run([], tmp_path).returncode == 2


def test_no_account_exists_until_created(tmp_path):
    run(["init"], tmp_path)
    assert "No users yet" in run(["user", "list"], tmp_path).stdout


def test_unlock_and_reset_password(tmp_path):
    run(["init"], tmp_path)
    run(["user", "add", "kim", "--role", "manager", "--password-stdin"], tmp_path, "a long enough passphrase\n")
    assert run(["user", "unlock", "kim"], tmp_path).returncode == 0
    reset = run(["user", "reset-password", "kim"], tmp_path)
    assert reset.returncode == 0 and "One-time password for kim" in reset.stdout
    assert run(["user", "unlock", "nobody"], tmp_path).returncode == 1


# --- security findings ----------------------------------------------------------------------
def bare(args, tmp_path, stdin=None):
    """The command without DIVERT_DATABASE_URL: the database comes from --db alone."""
    env = {**os.environ, "DIVERT_DATA_DIR": str(tmp_path / "data")}
    env.pop("DIVERT_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "divert.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=300)


def test_db_is_taken_before_and_after_the_subcommand(tmp_path):
    url = f"sqlite:///{tmp_path / 'chosen.db'}"
    assert bare(["init", "--db", url], tmp_path).returncode == 0
    assert bare(["--db", url, "user", "add", "ana", "--role", "viewer", "--password-stdin"], tmp_path,
                "a long enough passphrase\n").returncode == 0
    assert bare(["user", "add", "bea", "--role", "viewer", "--password-stdin", "--db", url], tmp_path,
                "a long enough passphrase\n").returncode == 0
    assert bare(["user", "--db", url, "list"], tmp_path).stdout.split()[::3] == ["ana", "bea"]
    assert "chosen.db" in bare(["status", "--db", url], tmp_path).stdout
    assert not (tmp_path / "data" / "divert.db").exists()  # the default database was never touched


def test_status_never_creates_a_folder_or_a_database(tmp_path):
    missing = tmp_path / "x" / "y.db"
    result = bare(["status", "--db", f"sqlite:///{missing}"], tmp_path)
    assert result.returncode == 1 and "no database file" in result.stdout
    assert not (tmp_path / "x").exists()


def test_demo_scale_must_be_a_sensible_number(tmp_path):
    for scale in ("nan", "inf", "1e-9", "0", "-1", "1e6"):
        result = run(["demo", "--scale", scale], tmp_path)
        assert result.returncode == 2, (scale, result.stderr[-300:])
        assert "--scale must be a number from 0.01 to 100" in result.stderr and "Traceback" not in result.stderr


def test_demo_refuses_a_database_with_real_users(tmp_path):
    run(["init"], tmp_path)
    run(["user", "add", "real.admin", "--role", "admin", "--password-stdin"], tmp_path, "a long enough passphrase\n")
    result = run(["demo", "--scale", "0.01"], tmp_path)
    assert result.returncode == 1 and "real user account" in result.stderr
    assert "Traceback" not in result.stderr
    listed = run(["user", "list"], tmp_path).stdout
    assert "demo." not in listed
    assert "offence                 0" in run(["status"], tmp_path).stdout


def test_an_import_cannot_be_recorded_under_another_name(tmp_path):
    run(["init"], tmp_path)
    rows = tmp_path / "offences.csv"
    rows.write_text("crime_ref,offence_date,area,drug,source,person_ref\nC1,2021-03-01,E08000025,CAN,stop_search,P1\n")
    result = run(["import", "offences", str(rows), "--user", "the.chief"], tmp_path)
    assert result.returncode == 2 and "--user is not accepted" in result.stderr
    assert run(["import", "offences", str(rows)], tmp_path).returncode == 0
    from sqlalchemy import create_engine, text

    engine = create_engine(cli_url(tmp_path))
    with engine.connect() as conn:
        actors = set(conn.execute(text("SELECT username FROM audit_event WHERE action = 'import'")).scalars())
    engine.dispose()
    assert len(actors) == 1 and next(iter(actors)).startswith("cli:")


def test_init_makes_an_existing_database_private(tmp_path):
    import stat

    run(["init"], tmp_path, sqlite=True)  # about the SQLite file itself, on either backend
    (tmp_path / "cli.db").chmod(0o644)
    result = run(["init"], tmp_path, sqlite=True)
    assert result.returncode == 0 and "readable by its owner only" in result.stdout
    assert stat.S_IMODE((tmp_path / "cli.db").stat().st_mode) == 0o600
