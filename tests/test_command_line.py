"""The command line says what it is and records who used it (issue 30, parts 5 and 6): it is
administrator access and says so, audits the operating-system account of the process (never
LOGNAME or USER), warns about secret files others can read, and `divert import --force` takes
only a force's police.uk identifier that agrees with the files' names."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from commands import divert
from dbfixtures import ON_POSTGRES, migrated_sqlite_url, migrated_url
from sqlalchemy import func, select

from divert.core.environment import secret
from divert.storage.db import get_engine, session_scope
from divert.storage.models import AuditEvent, StopSearch

PASSPHRASE = "a long enough passphrase\n"
SAMPLES = Path(__file__).parent / "fixtures" / "police-uk-sample"
DURHAM = SAMPLES / "2019-12-durham-stop-and-search.csv"
SOMEONE_ELSE = {"LOGNAME": "alice", "USER": "alice", "LNAME": "alice", "USERNAME": "alice"}


def shell(tmp_path, url=None):
    env = {"DIVERT_DATA_DIR": str(tmp_path), "DIVERT_DATABASE_URL": url or migrated_url(tmp_path, "cli.db")}
    return lambda *args, stdin=None, extra=None: divert(*args, stdin=stdin, env={**env, **(extra or {})})


def actors(url: str) -> list[tuple[str, str]]:
    with session_scope(get_engine(url)) as s:
        return [tuple(r) for r in s.execute(select(AuditEvent.username, AuditEvent.action).order_by(AuditEvent.id))]


# --- part 5: an honest command line ------------------------------------------------------------
def test_the_audit_names_the_process_account_not_the_environment(tmp_path):
    url = migrated_url(tmp_path, "cli.db")
    run = shell(tmp_path, url)
    assert run("user", "add", "demo.admin", "--role", "admin", "--password-stdin", stdin=PASSPHRASE,
               extra=SOMEONE_ELSE).returncode == 0
    reset = run("user", "reset-password", "demo.admin", extra=SOMEONE_ELSE)
    assert reset.returncode == 0 and "One-time password for demo.admin" in reset.stdout
    me = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    written = [row for row in actors(url) if row[1] in ("create", "password_reset")]
    assert written == [(me, "create"), (me, "password_reset")], written
    assert me != "cli:alice"


def test_the_command_says_it_is_administrator_access(tmp_path):
    run = shell(tmp_path)
    for args in (["--help"], ["user", "--help"]):
        text = " ".join(run(*args).stdout.split())
        assert "is an administrator" in text and "cli:<" in text, args


@pytest.mark.skipif(ON_POSTGRES, reason="about the SQLite file and the key files on disk")
def test_status_warns_about_key_database_and_secrets_files_others_can_read(tmp_path, monkeypatch):
    url = migrated_sqlite_url(tmp_path, "cli.db")
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text("[divert]\n")
    secrets_file.chmod(0o600)
    monkeypatch.setenv("DIVERT_SECRETS", str(secrets_file))
    monkeypatch.setenv("DIVERT_DATA_DIR", str(tmp_path))
    secret("cookie_key")  # made owner-only
    key = tmp_path / ".cookie_key.key"
    run = shell(tmp_path, url)
    assert "Warning" not in run("status").stdout
    for file in (key, secrets_file, tmp_path / "cli.db"):
        file.chmod(0o644)
    status = run("status")
    assert status.returncode == 0
    warned = [line for line in status.stdout.splitlines() if line.startswith("Warning:")]
    assert [w.split()[1] for w in warned] == [str(tmp_path / "cli.db"), str(key), str(secrets_file)]
    assert f"run `chmod 600 {key}`" in warned[1] and "`divert init` makes it private" in warned[0]
    for file in (key, secrets_file, tmp_path / "cli.db"):
        file.chmod(0o600)
    assert "Warning" not in run("status").stdout


# --- part 6: --force takes a police.uk identifier that agrees with the file's name ------------
def searches(url: str, *where) -> int:
    with session_scope(get_engine(url)) as s:
        return s.execute(select(func.count()).select_from(StopSearch).where(*where)).scalar_one()


@pytest.mark.parametrize("force, hint", [
    ("Durham ", "give its police.uk identifier, durham"),
    ("Durham Constabulary", "give its police.uk identifier, durham"),
    ("=cmd|' /C calc'!A0", "give one of the 43 police.uk identifiers"),
    ("durhm", "did you mean durham"),
])
def test_force_must_be_a_police_uk_identifier(tmp_path, force, hint):
    url = migrated_url(tmp_path, "cli.db")
    renamed = tmp_path / "searches.csv"
    renamed.write_bytes(DURHAM.read_bytes())
    for file in (renamed, DURHAM):
        result = shell(tmp_path, url)("import", "stop-search", str(file), "--force", force, "--force-override")
        assert result.returncode == 1 and "is not a police.uk force identifier" in result.stdout, result.stdout
        assert hint in result.stdout and "Traceback" not in result.stderr
    assert searches(url) == 0


def test_force_may_not_contradict_the_file_name_without_the_override(tmp_path):
    url = migrated_url(tmp_path, "cli.db")
    run = shell(tmp_path, url)
    refused = run("import", "stop-search", str(DURHAM), "--force", "derbyshire")
    assert refused.returncode == 1 and searches(url) == 0
    assert "contradicts the file's name, which says durham" in refused.stdout
    agreed = run("import", "stop-search", str(DURHAM), "--force", "durham")  # the same force: no override needed
    assert agreed.returncode == 0, agreed.stdout
    rows = searches(url)
    assert rows > 0 and searches(url, StopSearch.force == "durham") == rows
    overridden = run("import", "stop-search", str(DURHAM), "--force", "derbyshire", "--force-override")
    assert overridden.returncode == 0, overridden.stdout
    assert searches(url, StopSearch.force == "derbyshire") == rows  # said out loud, and recorded so
