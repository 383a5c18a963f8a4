"""Sign-in under attack: atomic counts with real parallel attempts (threads, SQLite and
PostgreSQL), no user enumeration by timing, throttling that cannot keep an administrator out,
session generations and cookie issue times, the acting user re-checked in every write, and an
audit log the app cannot change."""

from __future__ import annotations

import threading
from datetime import timedelta

import bcrypt
import pytest
from apptesting import field, messages, open_app, press, signed_in, titles
from apptesting import sign_in as sign_in_through_the_form
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from divert.auth import accounts, session_token, sign_in
from divert.records import stored_settings
from divert.records.core import now, set_setting
from divert.records.offences import add_offence
from divert.records.sessions import add_session
from divert.storage.db import session_scope
from divert.storage.models import AuditEvent, CourseSession
from divert.storage.security_models import ANY, SignInThrottle
from divert.web import access

pytestmark = pytest.mark.usefixtures("clock")
PASSWORD = "orchard-lantern-88"
WRONG = "not-the-password-1"


def add(engine, username, role="caseworker", password=PASSWORD):
    saved = accounts.add_user({"username": username, "role": role, "password": password}, "test", engine=engine)
    assert saved.ok, saved.problems


def attempt(engine, username, password=WRONG, client="203.0.113.9"):
    return sign_in.attempt(username, password, client, prefs=stored_settings.load(engine), engine=engine)


def actions(engine, action):
    with session_scope(engine) as s:
        return s.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars().all()


@pytest.fixture
def checks(monkeypatch):
    """Every bcrypt password check made, as the hash it was checked against (thread-safe)."""
    made = []
    real = bcrypt.checkpw

    def spy(password, hashed):
        made.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    return made


def in_parallel(calls):
    """Run the calls at the same moment on real threads; their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = []

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except BaseException as error:  # reported below, never swallowed
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results


# --- lockout races --------------------------------------------------------------------------
@pytest.mark.threads
def test_parallel_wrong_passwords_from_one_client_check_no_more_than_the_limit(engine, checks):
    add(engine, "pat")
    outcomes = in_parallel([lambda: attempt(engine, "pat") for _ in range(20)])
    assert len(checks) == 5  # five passwords were checked, fifteen refused before bcrypt
    assert sorted(o.status for o in outcomes).count("locked") == 16
    account = accounts.get_account("pat", engine)
    assert account.failed_logins == 5 and account.locked()
    assert len(actions(engine, "sign_in_failed")) == 5 and len(actions(engine, "lockout")) == 1


@pytest.mark.threads
def test_twenty_concurrent_failures_count_twenty(engine, checks):
    """Twenty clients that signed in before (so no back-off holds them up) fail at once."""
    add(engine, "quinn")
    with session_scope(engine) as s:
        for i in range(20):
            s.add(SignInThrottle(username="quinn", client=f"198.51.100.{i}", last_success_at=now()))
    in_parallel([lambda i=i: attempt(engine, "quinn", client=f"198.51.100.{i}") for i in range(20)])
    assert len(checks) == 20
    assert accounts.get_account("quinn", engine).failed_logins == 20
    assert len(actions(engine, "sign_in_failed")) == 20


def test_a_right_password_after_the_lock_is_refused_and_lifts_nothing(engine):
    add(engine, "rory")
    for _ in range(5):
        attempt(engine, "rory")
    assert attempt(engine, "rory", PASSWORD).status == "locked"
    account = accounts.get_account("rory", engine)
    assert account.locked() and account.failed_logins == 5
    assert actions(engine, "sign_in") == []


class HeldChecks:
    """Every bcrypt password check made (as the hash it was checked against), each held until
    released: so that attempts racing each other are all counted before any password check ends,
    as at the production cost (a check takes 0.3 s, counting an attempt a few milliseconds)."""

    def __init__(self, monkeypatch):
        self.made, self.reached = [], 0
        self.changed = threading.Condition()
        self.released = threading.Event()
        real = bcrypt.checkpw

        def held(password, hashed):
            with self.changed:
                self.reached += 1
                self.changed.notify_all()
            # released once every racer has been counted: the whole race may take minutes on a busy
            # machine, so the wait is not one racer's allowance
            assert self.released.wait(600), "the checks were never released"
            self.made.append(hashed)
            return real(password, hashed)

        monkeypatch.setattr(bcrypt, "checkpw", held)

    def race(self, calls) -> list:
        """Start the calls on threads one after another, each once the one before has been counted
        (it waits at its password check, or was refused before it); then release the checks."""
        results, errors, threads = [None] * len(calls), [], []

        def run(i, call):
            try:
                results[i] = call()
            except BaseException as error:  # reported below, never swallowed
                errors.append(error)
            finally:
                with self.changed:
                    self.changed.notify_all()

        for i, call in enumerate(calls):
            before = self.reached
            thread = threading.Thread(target=run, args=(i, call))
            threads.append(thread)
            thread.start()
            with self.changed:
                assert self.changed.wait_for(lambda t=thread, b=before: self.reached > b or not t.is_alive(), 60)
        self.released.set()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        return results


@pytest.mark.parametrize("position", [1, 4, 5, 6, 13])
@pytest.mark.threads
def test_a_right_password_racing_wrong_ones_never_lifts_their_lock(engine, monkeypatch, position):
    """Twelve wrong passwords and the right one from one client, all counted before any check
    ends; the right one is counted `position`th."""
    add(engine, "sage")
    held = HeldChecks(monkeypatch)
    calls = [lambda: attempt(engine, "sage") for _ in range(12)]
    calls.insert(position - 1, lambda: attempt(engine, "sage", PASSWORD))
    outcomes = held.race(calls)
    assert len(held.made) == 5  # the limit: every later attempt was refused before bcrypt
    assert outcomes[position - 1].status == ("ok" if position <= 5 else "locked")
    assert actions(engine, "lockout"), "twelve wrong passwords from one client always lock it"
    account = accounts.get_account("sage", engine)
    assert account.locked()  # the right password, whenever it ran, did not lift the lock


# --- enumeration ----------------------------------------------------------------------------
def test_unknown_and_disabled_users_cost_one_bcrypt_check_of_the_same_cost(engine, checks):
    add(engine, "tess")
    add(engine, "boss", role="admin")
    assert accounts.set_user_active("tess", False, "boss", engine=engine).ok
    with session_scope(engine) as s:
        stored = s.execute(text("SELECT password_hash FROM app_user WHERE username = 'boss'")).scalar_one()
    cost = stored[:7]  # "$2b$12$": algorithm and cost
    for username in ("boss", "nobody.here", "tess"):
        before = len(checks)
        assert attempt(engine, username, client=f"192.0.2.{len(checks)}").status == "wrong"
        assert len(checks) == before + 1
        assert checks[-1][:7].decode() == cost
    # an unknown name is throttled exactly like an account: the same refusal at the same count
    for _ in range(4):
        attempt(engine, "nobody.here", client="192.0.2.200")
    assert attempt(engine, "nobody.here", client="192.0.2.200").status == "locked"


# --- throttling cannot be turned against an administrator -----------------------------------
def test_an_attacker_cannot_keep_an_administrator_out(engine):
    add(engine, "chief", role="admin")
    assert attempt(engine, "chief", PASSWORD, client="10.1.1.1").status == "ok"  # the chief's own PC
    for _ in range(5):
        attempt(engine, "chief", client="66.66.66.66")
    assert attempt(engine, "chief", client="66.66.66.66").status == "locked"  # the attacker is out
    # the chief's usual client is not held up by the attacker's failures
    assert attempt(engine, "chief", PASSWORD, client="10.1.1.1").status == "ok"
    # a new client waits out a back-off of seconds, not a lock of minutes
    for _ in range(5):
        attempt(engine, "chief", client="66.66.66.66")
    with session_scope(engine) as s:
        backoff = s.execute(select(SignInThrottle.locked_until)
                            .where(SignInThrottle.username == "chief", SignInThrottle.client == ANY)).scalar()
    assert backoff is None or backoff - now() <= timedelta(seconds=2)
    with session_scope(engine) as s:  # the back-off runs out
        s.execute(update(SignInThrottle).where(SignInThrottle.client == ANY).values(locked_until=now()))
    assert attempt(engine, "chief", PASSWORD, client="10.2.2.2").status == "ok"


def test_an_unlock_always_works_while_the_attack_goes_on(engine):
    add(engine, "chief", role="admin")
    for client in ("66.0.0.1", "66.0.0.2", "66.0.0.3"):
        for _ in range(5):
            attempt(engine, "chief", client=client)
    assert accounts.get_account("chief", engine).locked()
    assert accounts.unlock("chief", "cli:operator", engine=engine).ok
    account = accounts.get_account("chief", engine)
    assert not account.locked() and account.failed_logins == 0
    assert attempt(engine, "chief", PASSWORD, client="10.9.9.9").status == "ok"


def test_one_client_guessing_across_accounts_is_locked_out(engine):
    for n in range(5):
        add(engine, f"user{n}")
    outcomes = [attempt(engine, f"user{n % 5}", client="77.7.7.7").status for n in range(20)]
    assert outcomes[:19] == ["wrong"] * 19 and outcomes[19] == "locked"  # 4 per account, 20 in all
    assert attempt(engine, "user0", PASSWORD, client="77.7.7.7").status == "locked"
    assert attempt(engine, "user0", PASSWORD, client="10.0.0.8").status == "ok"


# --- sessions -------------------------------------------------------------------------------
@pytest.mark.parametrize("change", ["password_change", "password_reset", "role", "disable"])
def test_a_cookie_issued_before_a_change_is_refused(engine, change):
    add(engine, "uma")
    add(engine, "boss", role="admin")
    outcome = attempt(engine, "uma", PASSWORD)
    issued = now()
    session = session_token.Session("uma", outcome.generation, issued, issued + timedelta(hours=8), "sid-uma")
    token = session_token.issue(session, "k" * 32)
    assert session_token.resume(token, key="k" * 32, hours=8, engine=engine) == session
    if change == "password_change":
        assert accounts.change_password("uma", PASSWORD, "uma-new-secret-77", "uma-new-secret-77", engine=engine).ok
    elif change == "password_reset":
        assert accounts.reset_password("uma", "boss", engine=engine)[0].ok
    elif change == "role":
        assert accounts.set_role("uma", "viewer", "boss", engine=engine).ok
    else:
        assert accounts.set_user_active("uma", False, "boss", engine=engine).ok
    assert accounts.get_account("uma", engine).generation == outcome.generation + 1
    assert session_token.resume(token, key="k" * 32, hours=8, engine=engine) is None


def test_shortening_the_sign_in_lifetime_never_revives_a_signed_out_cookie(engine):
    add(engine, "vera")
    outcome = attempt(engine, "vera", PASSWORD)
    issued = now() - timedelta(hours=3)
    token = session_token.issue(session_token.Session("vera", outcome.generation, issued, issued + timedelta(hours=8),
                                                      "sid-vera"), "k" * 32)
    assert session_token.resume(token, key="k" * 32, hours=8, engine=engine) is not None
    # a shorter lifetime counts from the stored issue time: 2 hours from 3 hours ago is over
    assert session_token.resume(token, key="k" * 32, hours=2, engine=engine) is None
    accounts.record_sign_out("vera", "expired in another tab", engine=engine)  # not this browser session
    assert session_token.resume(token, key="k" * 32, hours=8, engine=engine) is not None
    accounts.record_sign_out("vera", session="sid-vera", engine=engine)  # this browser signed out
    assert session_token.resume(token, key="k" * 32, hours=8, engine=engine) is None
    # the administrator shortens the lifetime to 4 hours: the old code put the issue time at
    # expiry - 4 h (after the sign-out) and took the signed-out cookie again
    assert session_token.resume(token, key="k" * 32, hours=4, engine=engine) is None


def test_a_forged_or_foreign_token_is_refused(engine):
    add(engine, "wes")
    session = session_token.Session("wes", 0, now(), now() + timedelta(hours=1), "sid-wes")
    assert session_token.resume(session_token.issue(session, "other-key" * 4), key="k" * 32, hours=8, engine=engine) is None
    assert session_token.resume("not.a.token", key="k" * 32, hours=8, engine=engine) is None


# --- the acting user is checked inside each write ------------------------------------------
def session_values(ref="S-20250301-1"):
    return {"session_ref": ref, "starts_at": "2025-03-01 18:00", "seats": "12"}


def sessions(engine):
    with session_scope(engine) as s:
        return s.execute(select(CourseSession.session_ref)).scalars().all()


@pytest.mark.parametrize("change", ["disable", "demote", "one-time password"])
def test_a_write_by_a_user_disabled_or_demoted_a_moment_ago_is_refused(engine, change):
    add(engine, "boss", role="admin")
    add(engine, "xena", role="manager")
    assert add_session(session_values("S-1"), "xena", engine=engine).ok
    if change == "disable":
        accounts.set_user_active("xena", False, "boss", engine=engine)
    elif change == "demote":
        accounts.set_role("xena", "viewer", "boss", engine=engine)
    else:
        accounts.reset_password("xena", "boss", engine=engine)
    saved = add_session(session_values("S-2"), "xena", engine=engine)
    assert not saved.ok and saved.problems[0].field == "account"
    assert sessions(engine) == ["S-1"]


def test_a_manager_cannot_write_casework_or_settings_but_may_save_scenarios(engine):
    add(engine, "mo", role="manager")
    saved = add_offence({"crime_ref": "X/1", "offence_date": "2024-01-02", "area": "E08000025",
                                 "drug": "CAN", "source": "stop_search", "person_ref": "P1"}, "mo", engine=engine)
    assert not saved.ok and "role" in saved.problems[0].reason
    assert not stored_settings.save({"lockout_attempts": 9}, "mo", engine=engine).ok
    assert set_setting("scenario:plan", {"a": 1}, "mo", engine=engine).ok


def test_service_names_cannot_be_taken_by_accounts(engine):
    for name in ("system", "Setup", "demo"):
        saved = accounts.add_user({"username": name, "role": "admin", "password": PASSWORD}, "test", engine=engine)
        assert not saved.ok and "reserved" in saved.problems[0].reason


# --- the audit log --------------------------------------------------------------------------
def test_the_app_cannot_change_or_delete_audit_rows(engine):
    add(engine, "yann")
    with session_scope(engine) as s:
        before = s.execute(select(AuditEvent.id, AuditEvent.action)).all()
    assert before
    for statement in (update(AuditEvent).values(action="tampered"), delete(AuditEvent)):
        with pytest.raises(DBAPIError), session_scope(engine) as s:
            s.execute(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError), session_scope(engine) as s:
            s.execute(text("TRUNCATE audit_event"))
    with session_scope(engine) as s:
        assert s.execute(select(AuditEvent.id, AuditEvent.action)).all() == before
    add(engine, "zoe")  # adding audit rows still works


# --- a form's callback runs before the page checks who is signed in -------------------------
@pytest.mark.usefixtures("navigation_only")
@pytest.mark.parametrize("change", ["disable", "demote"])
def test_a_form_callback_after_a_disable_or_demotion_saves_nothing(db, change):
    add(db, "boss", role="admin")
    add(db, "mel", role="manager")
    at = signed_in("mel", "pages/sessions.py")
    field(at, "Session reference *").input(f"S-LATE-{change}")
    if change == "disable":
        assert accounts.set_user_active("mel", False, "boss", engine=db).ok
    else:
        assert accounts.set_role("mel", "viewer", "boss", engine=db).ok
    press(at, "Schedule session")  # the callback runs first
    assert sessions(db) == []


@pytest.mark.usefixtures("navigation_only")
def test_a_password_change_or_reset_ends_the_other_open_sessions(db):
    add(db, "boss", role="admin")
    add(db, "nell", role="viewer")
    office, home = signed_in("nell"), signed_in("nell")  # two browsers
    office.switch_page("pages/account.py").run()
    for label, value in (("Current password", PASSWORD), ("New password", "nell-new-phrase-1"),
                         ("New password again", "nell-new-phrase-1")):
        field(office, label).input(value)
    press(office, "Change password")
    assert "Your password has been changed" in messages(office, "success")
    office.switch_page("pages/overview.py").run()
    assert titles(office) == ["Overview"]  # the session that changed it goes on
    home.run()  # the other one ends on its next click
    assert titles(home) == ["Divert"] and access.ENDED_MESSAGE in messages(home, "info")

    again = sign_in_through_the_form(open_app(), "nell", "nell-new-phrase-1")  # the new password signs in
    assert titles(again) == ["Overview"], messages(again)
    assert accounts.reset_password("nell", "boss", engine=db)[0].ok
    again.run()
    assert titles(again) == ["Divert"] and access.ENDED_MESSAGE in messages(again, "info")


# --- single sign-on: which Divert account an identity names ----------------------------------
VERIFIED = {"email_verified": True}


@pytest.mark.parametrize("claims, claim, domain, expected", [
    ({"email": "Nia.Jones@Force.Example", **VERIFIED}, "email", "force.example", "nia.jones"),
    ({"email": "nia.jones@elsewhere.example", **VERIFIED}, "email", "force.example", None),  # another domain
    ({"email": "nia.jones@force.example", **VERIFIED}, "email", "", None),  # an address, but no domain allowed
    ({"sub": "nia.jones"}, "sub", "", "nia.jones"),  # an identifier the provider never reassigns
    ({"oid": "5f1c2b9e-0d7a-4c1e-9f3b-2a6d8e4c7b10"}, "oid", "", "5f1c2b9e-0d7a-4c1e-9f3b-2a6d8e4c7b10"),
    ({"sub": "nia jones"}, "sub", "", None),  # not a Divert username
    ({"sub": "nia", **VERIFIED}, "email", "force.example", None),  # the claim is missing
])
def test_an_identity_names_a_divert_account_only_exactly(claims, claim, domain, expected):
    from divert.auth import sso

    assert sso.username_from(claims, claim, domain) == expected


def test_single_sign_on_needs_an_active_divert_account(engine):
    from divert.auth import sso

    add(engine, "boss", role="admin")
    add(engine, "nia")
    claims = {"email": "nia@force.example", "email_verified": True, "iss": "https://login.force.example"}
    from divert.core import environment

    environment._secrets.cache_clear()
    import os

    secrets_file = os.environ["DIVERT_SECRETS"]
    with open(secrets_file, "w") as fh:
        fh.write('[divert]\nsso_claim = "email"\nsso_domain = "force.example"\n')
    environment._secrets.cache_clear()
    try:
        outcome = sso.sign_in(claims, engine=engine)
        assert (outcome.status, outcome.username) == ("ok", "nia")
        assert sso.sign_in({"email": "ghost@force.example", **VERIFIED}, engine=engine).status == "no_account"
        accounts.set_user_active("nia", False, "boss", engine=engine)
        assert sso.sign_in(claims, engine=engine).status == "disabled"
        (event,) = actions(engine, "sign_in")
        assert event.username == "nia" and event.reason == "single sign-on (https://login.force.example)"
    finally:
        os.remove(secrets_file)
        environment._secrets.cache_clear()


def test_an_old_identity_does_not_sign_in_by_itself():
    from divert.auth import sso

    now = 1_800_000_000
    assert sso.fresh({"iat": now - 3600}, 8, now)
    assert not sso.fresh({"iat": now - 9 * 3600}, 8, now)  # older than the sign-in lifetime
    assert not sso.fresh({}, 8, now) and not sso.fresh({"iat": "yesterday"}, 8, now)
