"""Usernames and single sign-on: one spelling for each name, no name that looks like another's,
and only an identity the provider vouches for names an account (issue 30, part 3)."""

from __future__ import annotations

import pytest
from commands import divert
from dbfixtures import migrated_url
from hypothesis import given
from hypothesis import strategies as st

from divert.auth import accounts, sso, usernames

PASSWORD = "river-lantern-42"
CYRILLIC_A = "\u0430"  # а
# letters and digits and what is drawn the same in another script (Cyrillic, Greek) or in ASCII
LOOK_ALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "x": "\u0445",
               "y": "\u0443", "i": "\u0456", "s": "\u0455", "j": "\u0458", "0": "O", "1": "l", "l": "1",
               "m": "rn", "n": "\u0578"}


def add(engine, username, role="caseworker"):
    return accounts.add_user({"username": username, "role": role, "password": PASSWORD}, "test", engine=engine)


def reasons(saved) -> list[str]:
    return [f"{p.field}: {p.reason}" for p in saved.problems]


# --- the finding: a look-alike of demo.admin ----------------------------------------------------
def test_a_look_alike_of_an_existing_username_is_refused(sqlite_engine):
    assert add(sqlite_engine, "demo.admin", "admin").ok
    for twin in (f"demo.{CYRILLIC_A}dmin", "dem0.admin", "demo.adrnin", "Dem0.Admin"):
        saved = add(sqlite_engine, twin)
        assert not saved.ok, twin
    assert reasons(add(sqlite_engine, f"demo.{CYRILLIC_A}dmin")) == [
        "username: may contain only the letters a to z, digits and . _ -"]  # ASCII unless allowed
    assert reasons(add(sqlite_engine, "dem0.admin")) == [
        "username: looks the same as the username demo.admin: choose one that cannot be mistaken for it"]
    assert reasons(add(sqlite_engine, "DEMO.admin")) == ["username: is already taken"]
    assert add(sqlite_engine, "demo.adviser").ok  # a different name is fine
    assert [a.username for a in accounts.list_accounts(sqlite_engine)] == ["demo.admin", "demo.adviser"]


def test_usernames_are_stored_nfkc_normalised(sqlite_engine):
    assert add(sqlite_engine, "\uff4e\uff49\uff41.jones").ok  # full-width letters: the plain ones
    (account,) = accounts.list_accounts(sqlite_engine)
    assert account.username == "nia.jones"
    assert accounts.get_account("\uff4e\uff49\uff41.JONES", sqlite_engine).username == "nia.jones"


def test_letters_beyond_ascii_only_when_allowed_and_never_mixed(sqlite_engine, monkeypatch):
    assert not add(sqlite_engine, "si\u00e2n.jones").ok
    monkeypatch.setenv("DIVERT_UNICODE_USERNAMES", "true")
    assert add(sqlite_engine, "si\u00e2n.jones").ok
    assert add(sqlite_engine, "demo.admin").ok
    assert reasons(add(sqlite_engine, f"demo.{CYRILLIC_A}dmin")) == ["username: mixes letters of different alphabets"]
    whole = "\u0434\u0435\u043c\u043e"  # демо: one script, and not like any name taken
    assert add(sqlite_engine, whole).ok
    assert reasons(add(sqlite_engine, "\u0434\u0435\u043c\u043e".upper())) == ["username: is already taken"]


def test_divert_user_add_refuses_a_look_alike(tmp_path):
    env = {"DIVERT_DATA_DIR": str(tmp_path), "DIVERT_DATABASE_URL": migrated_url(tmp_path, "cli.db")}
    first = divert("user", "add", "demo.admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n", env=env)
    assert first.returncode == 0, first.stderr
    for twin in (f"demo.{CYRILLIC_A}dmin", "dem0.admin"):
        again = divert("user", "add", twin, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n", env=env)
        assert again.returncode == 1 and again.stderr.startswith("username: ") and "Traceback" not in again.stderr
    assert divert("user", "list", env=env).stdout.split()[::3] == ["demo.admin"]


@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=20),
       where=st.lists(st.integers(min_value=0, max_value=19), min_size=1, max_size=4))
def test_swapping_letters_for_look_alikes_never_makes_a_new_name(name, where):
    """Any name with some of its characters swapped for characters drawn the same (in another
    script, or 0 for O, l for 1, rn for m) looks like the original."""
    chars = list(name)
    for index in where:
        if index < len(chars) and chars[index] in LOOK_ALIKES:
            chars[index] = LOOK_ALIKES[chars[index]]
    variant = "".join(chars)
    assert usernames.looks_like(variant, ["someone.else", name]) == name


# --- single sign-on --------------------------------------------------------------------------
@pytest.mark.parametrize("claims", [
    {"email": "demo.admin@force.example", "email_verified": False},  # the finding
    {"email": "demo.admin@force.example"},  # the provider says nothing about it
    {"email": "demo.admin@force.example", "email_verified": "false"},
])
def test_single_sign_on_never_maps_an_unverified_address(claims):
    assert sso.username_from(claims, "email", "force.example") is None
    assert sso.username_from({**claims, "email_verified": True}, "email", "force.example") == "demo.admin"


def test_single_sign_on_maps_only_verified_claims_and_normalised_names():
    verified = {"email_verified": True}
    # a name a person can choose or the provider does not check never names an account
    assert sso.username_from({"preferred_username": "demo.admin", **verified}, "preferred_username", "") is None
    assert sso.username_from({"upn": "demo.admin@force.example", **verified}, "upn", "force.example") is None
    # a look-alike address names nobody (ASCII usernames), a full-width one the plain name
    assert sso.username_from({"email": f"demo.{CYRILLIC_A}dmin@force.example", **verified}, "email",
                             "force.example") is None
    assert sso.username_from({"email": "\uff44emo.admin@force.example", **verified}, "email",
                             "force.example") == "demo.admin"


def test_an_unverified_identity_is_refused_and_nothing_recorded(tmp_path, monkeypatch):
    from divert.core import environment
    from divert.storage.db import get_engine

    engine = get_engine(migrated_url(tmp_path))
    assert add(engine, "demo.admin", "admin").ok
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text('[divert]\nsso_claim = "email"\nsso_domain = "force.example"\n')
    monkeypatch.setenv("DIVERT_SECRETS", str(secrets_file))
    environment._secrets.cache_clear()
    try:
        claims = {"email": "demo.admin@force.example", "email_verified": False, "iss": "https://login.force.example"}
        assert sso.sign_in(claims, engine=engine).status == "unverified"
        assert sso.sign_in({**claims, "email_verified": True}, engine=engine).status == "ok"
    finally:
        environment._secrets.cache_clear()
        engine.dispose()
