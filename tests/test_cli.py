"""The `divert` command as operators script it: a real process on a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys

from divert.db import head_revision


def run(args, tmp_path, stdin=None):
    env = {**os.environ, "DIVERT_DATA_DIR": str(tmp_path), "DIVERT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "divert.cli", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_init_creates_the_schema_and_status_reports_it(tmp_path):
    result = run(["init"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cli.db").exists()
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
