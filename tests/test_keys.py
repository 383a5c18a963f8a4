"""The person key: recorded by fingerprint, never silently replaced, shared by replicas through
the environment or secrets; private files for keys and SQLite databases."""

from __future__ import annotations

import json
import os
import stat

import pytest
from dbfixtures import main_url
from sqlalchemy import func, select

from divert.core.environment import PROJECT_DIR, key_file
from divert.records import pseudonym
from divert.records.referrals import add_referral, close_referral
from divert.storage.db import get_engine, session_scope
from divert.storage.models import Person, Referral, Setting

USER = "test.caseworker"


def referral(reference, crime_ref, person_ref="PNC 21/0000009A", on="2021-03-01", **extra):
    return {"reference": reference, "referred_at": f"{on} 10:30", "crime_ref": crime_ref, "offence_date": on,
            "area": "E08000025", "drug": "CAN", "source": "stop_search", "person_ref": person_ref, **extra}


def did_not_engage(engine, reference):
    closed = close_referral({"referral_reference": reference, "closed_on": "2021-04-01",
                                     "result": "not_engaged", "intelligence_log_date": "2021-04-02"}, USER, engine=engine)
    assert closed.ok, closed.problems


def people(engine) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(Person)).scalar_one()


def test_a_lost_key_is_not_replaced_and_the_second_offer_stays_refused(engine, isolated_settings):
    assert add_referral(referral("DIV-1", "C1"), USER, engine=engine).ok
    did_not_engage(engine, "DIV-1")
    with session_scope(engine) as s:
        stored = json.loads(s.get(Setting, pseudonym.FINGERPRINT_SETTING).value)
    assert stored == pseudonym.fingerprint(key_file("person_key").read_text().strip())

    key_file("person_key").unlink()  # lost
    second = add_referral(referral("DIV-2", "C2", on="2021-06-01"), USER, engine=engine)
    assert not second.ok
    assert "person key is missing" in second.problems[0].reason and "docs/keys.md" in second.problems[0].reason
    assert not key_file("person_key").exists()  # no new key was made
    assert people(engine) == 1
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(Referral)).scalar_one() == 1


def test_a_different_key_is_refused(engine, monkeypatch):
    assert add_referral(referral("DIV-1", "C1"), USER, engine=engine).ok
    monkeypatch.setenv("DIVERT_PERSON_KEY", "a-key-from-another-deployment-0123456789")
    saved = add_referral(referral("DIV-2", "C2"), USER, engine=engine)
    assert not saved.ok and "fingerprint differs" in saved.problems[0].reason
    assert pseudonym.key_problem(engine) == pseudonym.DIFFERENT
    monkeypatch.delenv("DIVERT_PERSON_KEY")
    assert pseudonym.key_problem(engine) is None
    assert add_referral(referral("DIV-2", "C2"), USER, engine=engine).ok


def test_replicas_with_their_own_data_folders_must_share_the_key(engine, tmp_path, monkeypatch):
    first, second = tmp_path / "replica-1", tmp_path / "replica-2"
    monkeypatch.setenv("DIVERT_DATA_DIR", str(first))
    assert add_referral(referral("DIV-1", "C1"), USER, engine=engine).ok
    monkeypatch.setenv("DIVERT_DATA_DIR", str(second))  # a second replica, its own empty folder
    refused = add_referral(referral("DIV-2", "C2", person_ref="P2"), USER, engine=engine)
    assert not refused.ok and "missing" in refused.problems[0].reason
    assert not (second / ".person_key.key").exists()
    # the operator gives both replicas the key through the environment (or secrets)
    monkeypatch.setenv("DIVERT_PERSON_KEY", (first / ".person_key.key").read_text().strip())
    assert add_referral(referral("DIV-2", "C2"), USER, engine=engine).ok
    assert people(engine) == 1  # the same person, recognised by the second replica


def test_the_key_can_come_from_secrets(engine, isolated_settings, monkeypatch):
    from divert.core import environment

    secrets_file = isolated_settings / "secrets.toml"
    secrets_file.write_text('[divert]\nperson_key = "kept-in-the-secrets-file-0123456789abcdef"\n')
    monkeypatch.setenv("DIVERT_SECRETS", str(secrets_file))
    environment._secrets.cache_clear()
    assert add_referral(referral("DIV-1", "C1"), USER, engine=engine).ok
    assert not key_file("person_key").exists()
    with session_scope(engine) as s:
        stored = json.loads(s.get(Setting, pseudonym.FINGERPRINT_SETTING).value)
    assert stored == pseudonym.fingerprint("kept-in-the-secrets-file-0123456789abcdef")
    environment._secrets.cache_clear()


def test_a_demo_only_database_gets_its_key_on_the_first_real_write(sqlite_engine):
    with session_scope(sqlite_engine) as s:
        s.add(Person(person_key="d" * 64, demo=True))
    assert pseudonym.key_problem(sqlite_engine) is None
    assert add_referral(referral("DIV-1", "C1"), USER, engine=sqlite_engine).ok


# --- private files --------------------------------------------------------------------------
def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_sqlite_files_and_key_files_are_owner_only(tmp_path):
    old = os.umask(0o022)  # the usual umask: files would otherwise be 0644
    try:
        url = f"sqlite:///{tmp_path / 'fresh' / 'divert.db'}"
        from divert.storage.db import upgrade

        upgrade(url)
        engine = get_engine(url)
        assert add_referral(referral("DIV-1", "C1"), USER, engine=engine).ok
        with engine.connect():  # WAL and shared-memory files exist while connected
            files = [tmp_path / "fresh" / name for name in ("divert.db", "divert.db-wal", "divert.db-shm")]
            assert all(f.exists() for f in files)
            assert [mode(f) for f in files] == [0o600] * 3
        assert mode(key_file("person_key")) == 0o600
        engine.dispose()
        get_engine.cache_clear()
    finally:
        os.umask(old)


def test_cli_refuses_an_import_and_says_how_to_restore_the_key(tmp_path, cli):
    url = main_url(tmp_path, "divert.db")

    def run(*args):
        return cli(*args, "--db", url)

    assert run("init").returncode == 0
    assert key_file("person_key").exists()  # made with the database, its fingerprint recorded
    rows = tmp_path / "offences.csv"
    rows.write_text("crime_ref,offence_date,area,drug,source,person_ref\nC1,2021-03-01,E08000025,CAN,stop_search,P1\n")
    assert run("import", "offences", str(rows)).returncode == 0
    key_file("person_key").unlink()
    rows.write_text("crime_ref,offence_date,area,drug,source,person_ref\nC2,2021-03-01,E08000025,CAN,stop_search,P1\n")
    refused = run("import", "offences", str(rows))
    assert refused.returncode == 1 and "person key is missing" in refused.stdout + refused.stderr
    assert "docs/keys.md" in refused.stdout + refused.stderr
    status = run("status")
    assert status.returncode == 0 and "person key is missing" in status.stdout
    assert not key_file("person_key").exists()


@pytest.mark.parametrize("name", ["person_key", "cookie_key"])
def test_the_guide_says_how_to_back_up_each_key(name):
    guide = (PROJECT_DIR / "docs" / "keys.md").read_text()
    assert f".{name}.key" in guide and f"DIVERT_{name.upper()}" in guide and "backup" in guide.lower()
