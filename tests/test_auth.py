"""Accounts, sign-in bookkeeping, lockout, settings and the page table - without a browser."""

from __future__ import annotations

import ast
import json
import os
import stat
from datetime import timedelta

import bcrypt
import pytest
from sqlalchemy import select, update

from divert.auth import accounts, sign_in
from divert.core.environment import PROJECT_DIR, secret
from divert.records import stored_settings
from divert.records.core import now
from divert.storage.db import data_version, session_scope
from divert.storage.models import AuditEvent, Setting, User
from divert.storage.security_models import SignInThrottle
from divert.web import access

pytestmark = pytest.mark.usefixtures("clock")
PASSWORD = "river-lantern-42"


def add(engine, username, role="caseworker", password=PASSWORD, **extra):
    saved = accounts.add_user({"username": username, "role": role, "password": password, **extra}, "test", engine=engine)
    assert saved.ok, saved.problems
    return saved


def audit_rows(engine, action=None):
    with session_scope(engine) as s:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return s.execute(query).scalars().all()


def attempt(engine, username, password="wrong-password-here", client="10.0.0.1"):
    return sign_in.attempt(username, password, client, prefs=stored_settings.load(engine), engine=engine)


# --- the cost of a password hash ----------------------------------------------------------
def test_passwords_are_hashed_at_cost_12_unless_the_operator_says_otherwise(engine, monkeypatch):
    """The production cost, pinned: the rest of the suite runs at cost 4 (conftest)."""
    monkeypatch.delenv("DIVERT_PASSWORD_HASH_ROUNDS")
    add(engine, "kept.at.twelve")
    with session_scope(engine) as s:
        stored = s.execute(select(User.password_hash).where(User.username == "kept.at.twelve")).scalar_one()
    assert stored.startswith("$2b$12$") and bcrypt.checkpw(PASSWORD.encode(), stored.encode())
    assert sign_in._dummy_hash().startswith(b"$2b$12$")  # an unknown name costs the same check
    assert attempt(engine, "kept.at.twelve", PASSWORD).status == "ok"
    monkeypatch.setenv("DIVERT_PASSWORD_HASH_ROUNDS", "10")
    assert accounts._hash(PASSWORD).startswith("$2b$10$") and sign_in._dummy_hash().startswith(b"$2b$10$")
    assert attempt(engine, "kept.at.twelve", PASSWORD).status == "ok"  # a stored hash keeps its own cost
    for wrong in ("3", "17", "twelve"):
        monkeypatch.setenv("DIVERT_PASSWORD_HASH_ROUNDS", wrong)
        with pytest.raises(ValueError, match="password_hash_rounds must be a whole number from 4 to 16"):
            accounts._hash(PASSWORD)


def stored_hash(engine, username):
    with session_scope(engine) as s:
        return s.execute(select(User.password_hash).where(User.username == username)).scalar_one()


# --- creating accounts ----------------------------------------------------------------------
def test_usernames_are_unique_whatever_the_case(engine):
    add(engine, "Alice")
    saved = accounts.add_user({"username": "alice", "role": "viewer", "password": PASSWORD}, "test", engine=engine)
    assert not saved.ok and saved.problems[0].reason == "is already taken"
    assert accounts.get_account("ALICE", engine).username == "Alice"


@pytest.mark.parametrize(
    "password, reason",
    [
        ("short-one", "must be at least 12 characters"),
        ("dora.the.explorer", "must not be the username"),
        ("  padded password  ", "must not start or end with a space"),
        ("x" * 73, "must be at most 72 bytes long"),
    ],
)
def test_password_rules(engine, password, reason):
    saved = accounts.add_user(
        {"username": "dora.the.explorer", "role": "viewer", "password": password}, "test", engine=engine
    )
    assert not saved.ok
    assert reason in [p.reason for p in saved.problems]
    assert all(p.value == "***" for p in saved.problems if p.field == "password")
    assert not accounts.has_users(engine)


def test_first_admin_once_only_and_passwords_must_match(engine):
    mismatch = accounts.create_first_admin(
        {"username": "boss", "password": PASSWORD, "password_again": PASSWORD + "x"}, engine=engine
    )
    assert not mismatch.ok and mismatch.problems[0].field == "password_again"
    assert not accounts.has_users(engine)

    first = accounts.create_first_admin(
        {"username": "boss", "password": PASSWORD, "password_again": PASSWORD}, engine=engine
    )
    assert first.ok
    assert accounts.get_account("boss", engine).role == "admin"
    second = accounts.create_first_admin(
        {"username": "intruder", "password": PASSWORD, "password_again": PASSWORD}, engine=engine
    )
    assert not second.ok and "already complete" in second.problems[0].reason
    assert [a.username for a in accounts.list_accounts(engine)] == ["boss"]
    with session_scope(engine) as s:
        assert s.get(Setting, accounts.SETUP_MARKER) is not None


def test_no_password_or_hash_ever_reaches_the_audit_log(engine):
    add(engine, "carol", password=PASSWORD)
    attempt(engine, "carol", "carol-guessed-this")
    saved, one_time = accounts.reset_password("carol", "admin", engine=engine)
    assert saved.ok
    assert accounts.change_password("carol", one_time, "a-brand-new-secret", "a-brand-new-secret", engine=engine).ok
    text = json.dumps([[r.before, r.after, r.reason] for r in audit_rows(engine)])
    for secret_text in (PASSWORD, one_time, "a-brand-new-secret", "carol-guessed-this", "$2b$", "password_hash"):
        assert secret_text not in text


# --- failed sign-ins and lockout ------------------------------------------------------------
def test_five_wrong_passwords_lock_the_account_and_are_audited(engine):
    add(engine, "dave")
    version = data_version(engine)
    for n in range(1, 5):
        assert attempt(engine, "DAVE").status == "wrong"
        account = accounts.get_account("dave", engine)
        assert account.failed_logins == n and not account.locked()
    assert attempt(engine, "dave").status == "locked"
    account = accounts.get_account("dave", engine)
    assert account.locked()
    assert timedelta(minutes=14) < account.locked_until - now() <= timedelta(minutes=15)
    assert attempt(engine, "dave", PASSWORD).status == "locked"  # the right one too, from this client
    assert len(audit_rows(engine, "sign_in_failed")) == 5  # the refused attempt checked no password
    (lockout,) = audit_rows(engine, "lockout")
    assert lockout.username == "dave" and "5 failed sign-ins" in lockout.reason
    # signing in is not a data change: every kept figure stays (the attempts are audited)
    assert data_version(engine) == version


def test_a_sign_in_is_audited_but_is_not_a_data_change(engine):
    """The figures kept on the data version stay kept when someone signs in or mistypes."""
    add(engine, "erin")
    version = data_version(engine)
    assert attempt(engine, "erin").status == "wrong"
    assert attempt(engine, "erin", PASSWORD).status == "ok"
    assert [e.action for e in audit_rows(engine)][-2:] == ["sign_in_failed", "sign_in"]
    assert data_version(engine) == version


def test_unknown_username_is_not_recorded(engine):
    assert attempt(engine, "nobody").status == "wrong"
    assert audit_rows(engine) == []


def test_an_expired_lock_starts_the_count_again(engine):
    add(engine, "erin")
    for _ in range(5):
        attempt(engine, "erin")
    with session_scope(engine) as s:  # 16 minutes later
        s.execute(update(SignInThrottle).where(SignInThrottle.username == "erin")
                  .values(locked_until=now() - timedelta(minutes=1), last_attempt_at=now() - timedelta(minutes=16)))
    assert attempt(engine, "erin").status == "wrong"
    assert accounts.get_account("erin", engine).failed_logins == 1
    account = accounts.get_account("erin", engine)
    assert not account.locked()
    assert attempt(engine, "erin", PASSWORD).status == "ok"


def test_successful_sign_in_clears_the_count(engine):
    add(engine, "fred")
    attempt(engine, "fred")
    outcome = attempt(engine, "fred", PASSWORD)
    assert (outcome.status, outcome.username) == ("ok", "fred")
    assert accounts.get_account("fred", engine).failed_logins == 0
    assert [r.username for r in audit_rows(engine, "sign_in")] == ["fred"]


def test_disabled_accounts_cannot_sign_in(engine):
    add(engine, "admin.one", role="admin")
    add(engine, "hank")
    assert accounts.set_user_active("hank", False, "admin.one", engine=engine).ok
    assert attempt(engine, "hank", PASSWORD).status == "wrong"
    assert attempt(engine, "admin.one", PASSWORD).status == "ok"


# --- administration -------------------------------------------------------------------------
def test_reset_gives_a_one_time_password_that_must_be_changed(engine):
    add(engine, "ivy")
    for _ in range(5):
        attempt(engine, "ivy")
    assert accounts.get_account("ivy", engine).locked()
    saved, one_time = accounts.reset_password("ivy", "admin", engine=engine)
    assert saved.ok and len(one_time) == 16
    account = accounts.get_account("ivy", engine)
    assert account.must_change_password and not account.locked() and account.failed_logins == 0
    assert bcrypt.checkpw(one_time.encode(), stored_hash(engine, "ivy").encode())
    assert not bcrypt.checkpw(PASSWORD.encode(), stored_hash(engine, "ivy").encode())
    assert account.generation == 1  # older sign-in cookies are void
    assert accounts.password_changed_since("ivy", now() - timedelta(minutes=1), engine)
    assert not accounts.password_changed_since("ivy", now(), engine)


def test_change_password_checks(engine):
    add(engine, "jack")
    wrong = accounts.change_password("jack", "not-my-password", "another-long-one", "another-long-one", engine=engine)
    assert [p.field for p in wrong.problems] == ["current_password"]
    differ = accounts.change_password("jack", PASSWORD, "another-long-one", "another-long-two", engine=engine)
    assert [p.field for p in differ.problems] == ["new_password_again"]
    same = accounts.change_password("jack", PASSWORD, PASSWORD, PASSWORD, engine=engine)
    assert [p.reason for p in same.problems] == ["must differ from the current password"]
    short = accounts.change_password("jack", PASSWORD, "tiny", "tiny", engine=engine)
    assert "must be at least 12 characters" in [p.reason for p in short.problems]
    ok = accounts.change_password("jack", PASSWORD, "another-long-one", "another-long-one", engine=engine)
    assert ok.ok and bcrypt.checkpw(b"another-long-one", stored_hash(engine, "jack").encode())
    assert audit_rows(engine, "password_change")[0].username == "jack"


def test_the_last_active_administrator_stays(engine):
    add(engine, "kim", role="admin")
    assert not accounts.set_role("kim", "viewer", "kim", engine=engine).ok
    assert not accounts.set_user_active("kim", False, "kim", engine=engine, keep_an_admin=True).ok
    add(engine, "lee", role="admin")
    assert accounts.set_role("kim", "manager", "lee", engine=engine).ok
    assert accounts.get_account("kim", engine).role == "manager"
    assert not accounts.set_user_active("lee", False, "lee", engine=engine, keep_an_admin=True).ok
    assert accounts.set_user_active("lee", False, "cli:root", engine=engine).ok  # an operator may
    (change,) = [r for r in audit_rows(engine, "update") if r.row_id == str(accounts.get_account("kim", engine).id)]
    assert json.loads(change.before) == {"role": "admin"} and json.loads(change.after) == {"role": "manager"}


def test_set_role_refuses_an_unknown_role(engine):
    add(engine, "max")
    saved = accounts.set_role("max", "superuser", "admin", engine=engine)
    assert not saved.ok and saved.problems[0].field == "role"


# --- settings -------------------------------------------------------------------------------
def test_settings_defaults_and_audited_changes(engine):
    prefs = stored_settings.load(engine)
    assert (prefs.small_number_threshold, prefs.officer_hours_per_referral) == (8, 4.0)
    assert (prefs.target_days_to_assessment, prefs.target_days_to_course) == (10, 28)
    assert (prefs.session_expiry_hours, prefs.lockout_attempts, prefs.lockout_minutes) == (8, 5, 15)

    saved = stored_settings.save({"lockout_attempts": 6, "small_number_threshold": 8}, "boss", engine=engine)
    assert saved.ok and saved.notes == ["lockout_attempts"]  # only what changed is written
    assert stored_settings.load(engine).lockout_attempts == 6
    (event,) = audit_rows(engine)
    assert (event.table_name, event.row_id, event.username) == ("setting", "lockout_attempts", "boss")


@pytest.mark.parametrize(
    "values, field",
    [
        ({"small_number_threshold": 1}, "small_number_threshold"),
        ({"lockout_attempts": 2.5}, "lockout_attempts"),
        ({"session_expiry_hours": "lots"}, "session_expiry_hours"),
        ({"target_days_to_course": None}, "target_days_to_course"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_written(engine, values, field):
    saved = stored_settings.save({"lockout_minutes": 30, **values}, "boss", engine=engine)
    assert not saved.ok and [p.field for p in saved.problems] == [field]
    assert stored_settings.load(engine).lockout_minutes == 15
    assert audit_rows(engine) == []


def test_an_unreadable_stored_setting_reads_as_its_default(engine):
    with session_scope(engine) as s:
        s.add(Setting(key="lockout_minutes", value="not json"))
        s.add(Setting(key="lockout_attempts", value="999"))
    prefs = stored_settings.load(engine)
    assert (prefs.lockout_minutes, prefs.lockout_attempts) == (15, 5)


# --- cookie key -----------------------------------------------------------------------------
def test_cookie_key_is_generated_once_owner_only(isolated_settings, monkeypatch):
    monkeypatch.delenv("DIVERT_COOKIE_KEY", raising=False)
    key = secret("cookie_key")
    path = isolated_settings / ".cookie_key.key"
    assert len(key) >= 32 and path.read_text().strip() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret("cookie_key") == key
    monkeypatch.setenv("DIVERT_COOKIE_KEY", "from-the-environment")
    assert secret("cookie_key") == "from-the-environment"


def test_no_key_or_password_constant_in_the_shell_code():
    """The cookie key comes from divert.core.environment.secret; nothing secret is written in the code."""
    source = (PROJECT_DIR / "divert" / "web" / "access.py").read_text()
    assert 'secret("cookie_key")' in source
    for name in ("app.py", "divert/web/access.py", "divert/web/ui.py", "divert/auth/accounts.py"):
        text = (PROJECT_DIR / name).read_text()
        assert "some_key" not in text and "cookie_key=" not in text


# --- the page table -------------------------------------------------------------------------
def test_every_page_file_is_in_the_table():
    files = {f"pages/{p.name}" for p in (PROJECT_DIR / "pages").glob("*.py")}
    listed = {spec.file for spec in access.PAGES} | {access.SETUP}
    assert files <= listed, f"pages missing from divert.web.access.PAGES: {sorted(files - listed)}"
    assert {spec.section for spec in access.PAGES} <= set(access.SECTIONS)
    assert all(set(spec.roles) <= set(access.ALL_ROLES) for spec in access.PAGES)


def _declared_roles(path) -> tuple[str, ...] | None:
    """The roles a page passes to ui.require_role (None if it never calls it)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "require_role":
            roles = []
            for arg in node.args:
                if isinstance(arg, ast.Starred):  # *access.ALL_ROLES
                    assert ast.unparse(arg.value) == "access.ALL_ROLES", ast.unparse(arg)
                    roles.extend(access.ALL_ROLES)
                else:
                    roles.append(arg.value)
            return tuple(roles)
    return None


def test_each_page_checks_the_same_roles_as_the_menu():
    """A page's own role check and the navigation table agree, so a page is neither offered to a
    role it refuses nor open (by its address) to a role that should not see it."""
    for spec in access.existing_pages():
        declared = _declared_roles(PROJECT_DIR / spec.file)
        assert declared is not None, f"{spec.file} does not call ui.require_role"
        assert sorted(declared) == sorted(spec.roles), spec.file


def test_menus_by_role():
    def titles(role, **kw):
        return {section: [spec.title for spec in specs] for section, specs in access.menu(role, **kw).items()}

    admin = titles("admin")
    assert admin["Admin"] == ["Users", "Audit log", "Programme", "Data coverage", "Settings", "Backups and release"]
    assert admin["Dashboards"][0] == "Overview" and admin["Account"] == ["My account"]
    for role in ("viewer", "manager", "caseworker"):
        menu = titles(role)
        assert "Admin" not in menu and menu["Dashboards"][0] == "Overview"
    assert "Records" not in titles("viewer") and "Planning" not in titles("viewer")
    assert titles("caseworker", must_change_password=True) == {"Account": ["My account"]}


def test_menu_lists_only_existing_files(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "overview.py").write_text("")
    assert access.menu("admin", root=tmp_path) == {"Dashboards": [access.page_spec("pages/overview.py")]}
