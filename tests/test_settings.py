"""Secrets: never constants; generated once, owner-only, the same for every process."""

from __future__ import annotations

import os
import stat

from divert.core.environment import database_url, secret


def _read_key(data_dir, results):
    os.environ["DIVERT_DATA_DIR"] = data_dir
    from divert.core.environment import secret as read

    results.put(read("person_key"))


def test_generated_key_is_private_and_stable(isolated_settings):
    first = secret("cookie_key")
    assert len(first) == 64 and secret("cookie_key") == first
    mode = stat.S_IMODE(os.stat(isolated_settings / ".cookie_key.key").st_mode)
    assert mode == 0o600


def test_environment_wins(monkeypatch):
    monkeypatch.setenv("DIVERT_COOKIE_KEY", "from-the-environment")
    assert secret("cookie_key") == "from-the-environment"


def test_concurrent_first_starts_agree_on_one_key(isolated_settings, spawn_context):
    context = spawn_context
    results = context.Queue()
    processes = [context.Process(target=_read_key, args=(str(isolated_settings), results)) for _ in range(4)]
    for p in processes:
        p.start()
    keys = {results.get(timeout=60) for _ in processes}
    for p in processes:
        p.join()
    assert len(keys) == 1


def test_default_database_is_sqlite_under_the_data_dir(isolated_settings):
    assert database_url() == f"sqlite:///{isolated_settings / 'divert.db'}"
