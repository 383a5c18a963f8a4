"""The app shell through Streamlit's AppTest: first-run setup, sign-in, lockout, expiry,
role menus and role checks on every page, and the administration pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apptesting import REFUSED, app_test, field, messages, open_app, press, signed_in, titles
from apptesting import sign_in as sign_in_with
from sqlalchemy import select

from divert.auth import accounts
from divert.core import codes
from divert.core.environment import PROJECT_DIR
from divert.records import audit_log, stored_settings
from divert.records.core import now
from divert.storage.db import session_scope
from divert.storage.models import AuditEvent
from divert.web import access

PASSWORD = "willow-harbour-77"
pytestmark = pytest.mark.usefixtures("navigation_only", "clock")


def user(engine, username, role, password=PASSWORD):
    saved = accounts.add_user(
        {"username": username, "display_name": username.title(), "role": role, "password": password},
        "test", engine=engine,
    )
    assert saved.ok, saved.problems


def app():
    return open_app(timeout=30)


def sign_in(at, username, password=PASSWORD):
    return sign_in_with(at, username, password)


def events(engine, action):
    with session_scope(engine) as s:
        return s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


# --- first run ------------------------------------------------------------------------------
def test_first_run_setup_creates_the_administrator_then_is_gone(db):
    at = app()
    assert titles(at) == ["Set up Divert"]
    assert not any(t.label == "Username" and t.form_id == "sign_in" for t in at.text_input)

    field(at, "Username").input("boss")
    field(at, "Password").input("short")
    field(at, "Password again").input("short")
    press(at, "Create administrator")
    assert "must be at least 12 characters" in messages(at)
    field(at, "Password").input("boss-boss-boss")
    field(at, "Password again").input("boss-boss-bosx")
    press(at, "Create administrator")
    assert "does not match" in messages(at)
    assert not accounts.has_users(db)

    field(at, "Password").input(PASSWORD)
    field(at, "Password again").input(PASSWORD)
    press(at, "Create administrator")
    assert titles(at) == ["Divert"]  # the sign-in page
    assert "Setup is complete" in messages(at, "success")
    assert accounts.get_account("boss", db).role == "admin"
    created = {(e.table_name, e.row_id, e.username) for e in events(db, "create")}
    assert ("setting", "programme", "boss") in created  # the programme step of the setup
    assert [e.username for e in events(db, "create") if e.table_name == "app_user"] == ["setup"]

    sign_in(at, "boss")
    assert titles(at) == ["Overview"]
    assert at.session_state[access.MENU_KEY]["Admin"] == ["Users", "Audit log", "Programme", "Data coverage", "Settings", "Backups and release"]

    # with an account in the database the setup page refuses, even run on its own
    again = app_test(PROJECT_DIR / "pages" / "setup.py", timeout=30).run()
    assert "Setup is already complete" in messages(again, "info")
    assert not again.text_input
    assert titles(app()) == ["Divert"]  # a new visitor gets the sign-in page, not setup


def test_first_run_setup_can_load_the_demonstration_data(db):
    pytest.importorskip("divert.demo", reason="the demonstration generator is not installed")
    at = app()
    field(at, "Username").input("boss")
    field(at, "Password").input(PASSWORD)
    field(at, "Password again").input(PASSWORD)
    next(c for c in at.checkbox if c.label == "Also load the demonstration data").check()
    press(at, "Create administrator")
    assert "Setup is complete" in messages(at, "success")
    (logins,) = at.table
    shown = logins.value
    assert sorted(shown["Role"]) == sorted(codes.ROLES.values())
    demo_admin = shown[shown["Role"] == "Administrator"].iloc[0]
    assert accounts.get_account(demo_admin["Username"], db).demo

    sign_in(at, demo_admin["Username"], demo_admin["Password"])
    assert titles(at) == ["Overview"]
    assert "Demonstration data" in messages(at, "warning")  # the banner
    assert not at.table  # the demo passwords are not shown again


# --- signing in -----------------------------------------------------------------------------
def test_sign_in_success_shows_the_landing_page_with_user_and_role(db):
    user(db, "mia.manager", "manager")
    at = sign_in(app(), "Mia.Manager")  # any case
    assert titles(at) == ["Overview"]
    assert not any(t.label == "Password" for t in at.text_input)  # the form is gone
    header = " ".join(m.value for m in at.markdown)
    assert "Signed in as <b>Mia.Manager</b> · Service manager" in header
    assert "No offences or referrals are recorded yet" in messages(at, "info")  # empty database
    session_user = at.session_state[access.USER_KEY]
    assert (session_user.username, session_user.role) == ("mia.manager", "manager")
    assert timedelta(hours=7.9) < session_user.expires_at - now() <= timedelta(hours=8)
    assert [e.username for e in events(db, "sign_in")] == ["mia.manager"]


def test_wrong_password_is_refused_counted_and_audited(db):
    user(db, "vic", "viewer")
    at = sign_in(app(), "vic", "not-the-password")
    assert access.WRONG_MESSAGE in messages(at)
    assert titles(at) == ["Divert"] and access.USER_KEY not in at.session_state
    assert accounts.get_account("vic", db).failed_logins == 1
    assert [e.username for e in events(db, "sign_in_failed")] == ["vic"]
    at.run()  # a rerun is not another attempt
    assert accounts.get_account("vic", db).failed_logins == 1


def test_unknown_username_is_refused_without_saying_so(db):
    user(db, "vic", "viewer")
    at = sign_in(app(), "nobody", PASSWORD)
    assert access.WRONG_MESSAGE in messages(at)
    assert events(db, "sign_in_failed") == []


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(db):
    user(db, "cas", "caseworker")
    at = app()
    for _ in range(4):
        sign_in(at, "cas", "wrong-password-here")
        assert access.WRONG_MESSAGE in messages(at)
    sign_in(at, "cas", "wrong-password-here")
    assert access.LOCKED_MESSAGE in messages(at)
    assert accounts.get_account("cas", db).locked()
    assert len(events(db, "lockout")) == 1

    sign_in(at, "cas", PASSWORD)  # right password, still locked
    assert access.LOCKED_MESSAGE in messages(at)
    assert access.USER_KEY not in at.session_state and titles(at) == ["Divert"]
    fresh = sign_in(app(), "cas", PASSWORD)  # another browser too
    assert access.LOCKED_MESSAGE in messages(fresh)

    accounts.unlock("cas", "admin", engine=db)
    assert titles(sign_in(app(), "cas", PASSWORD)) == ["Overview"]


def test_lockout_follows_the_settings(db):
    user(db, "cas", "caseworker")
    assert stored_settings.save({"lockout_attempts": 3}, "admin", engine=db).ok
    at = app()
    for _ in range(3):
        sign_in(at, "cas", "wrong-password-here")
    assert access.LOCKED_MESSAGE in messages(at)


def test_sign_out(db):
    user(db, "vic", "viewer")
    at = sign_in(app(), "vic")
    press(at, "Sign out")
    assert titles(at) == ["Divert"]
    assert "You have signed out." in messages(at, "info")
    assert access.USER_KEY not in at.session_state
    assert [e.username for e in events(db, "sign_out")] == ["vic"]


def test_session_expiry_signs_out(db):
    user(db, "vic", "viewer")
    at = signed_in("vic")
    at.session_state[access.EXPIRES_KEY] = now() - timedelta(seconds=1)
    at.run()
    assert titles(at) == ["Divert"]
    assert "expired" in messages(at, "info")
    (event,) = events(db, "sign_out")
    assert event.reason == "session expired"


def test_session_length_follows_the_settings(db):
    user(db, "vic", "viewer")
    assert stored_settings.save({"session_expiry_hours": 1}, "admin", engine=db).ok
    at = sign_in(app(), "vic")
    assert timedelta(minutes=59) < at.session_state[access.EXPIRES_KEY] - now() <= timedelta(hours=1)


def test_a_disabled_account_is_signed_out_on_its_next_click(db):
    user(db, "boss", "admin")
    user(db, "vic", "viewer")
    at = signed_in("vic")
    accounts.set_user_active("vic", False, "boss", engine=db)
    at.run()
    assert titles(at) == ["Divert"] and "disabled" in messages(at, "info")


def test_a_role_change_applies_on_the_next_click(db):
    user(db, "boss", "admin")
    user(db, "vic", "viewer")
    at = signed_in("vic")
    assert "Admin" not in at.session_state[access.MENU_KEY]
    accounts.set_role("vic", "admin", "boss", engine=db)
    at.run()
    assert "Admin" in at.session_state[access.MENU_KEY]


# --- menus and role checks ------------------------------------------------------------------
@pytest.mark.parametrize("role", access.ALL_ROLES)
def test_each_role_sees_its_menu_and_is_refused_elsewhere(db, role):
    user(db, f"the.{role}", role)
    at = signed_in(f"the.{role}")
    expected = {section: [spec.title for spec in specs] for section, specs in access.menu(role).items()}
    assert at.session_state[access.MENU_KEY] == expected
    assert ("Admin" in expected) == (role == "admin")
    for spec in access.existing_pages():
        if role in spec.roles:
            continue
        at.switch_page(spec.file).run()  # as if opened by its address
        assert not at.exception, (spec.file, at.exception)
        assert REFUSED in messages(at, "warning"), spec.file
        assert not at.dataframe and not at.table and not at.text_input, spec.file


def test_forbidden_admin_pages_show_no_data(db):
    user(db, "boss", "admin")
    user(db, "vic", "viewer")
    at = signed_in("vic")
    for page in ("pages/admin_users.py", "pages/admin_audit.py", "pages/admin_settings.py"):
        at.switch_page(page).run()
        text = " ".join(str(e.value) for e in (*at.markdown, *at.warning, *at.caption))
        assert REFUSED in text and "boss" not in text
        assert not at.dataframe and not at.number_input and not at.get("download_button")


def test_one_time_password_must_be_changed_first(db):
    user(db, "boss", "admin")
    user(db, "cas", "caseworker")
    _, one_time = accounts.reset_password("cas", "boss", engine=db)
    at = sign_in(app(), "cas", one_time)
    assert at.session_state[access.MENU_KEY] == {"Account": ["My account"]}
    assert titles(at) == ["My account"]
    at.switch_page("pages/overview.py").run()
    assert "Choose a new password" in messages(at, "warning")

    at.switch_page("pages/account.py").run()
    field(at, "Current password").input(one_time)
    field(at, "New password").input("my-own-secret-phrase")
    field(at, "New password again").input("my-own-secret-phrase")
    press(at, "Change password")
    assert "Your password has been changed." in messages(at, "success")
    assert "Dashboards" in at.session_state[access.MENU_KEY]
    assert not accounts.get_account("cas", db).must_change_password


# --- administration -------------------------------------------------------------------------
def admin_on(db, page):
    user(db, "boss", "admin")
    return signed_in("boss", page)


def test_admin_adds_a_user_with_a_one_time_password(db):
    at = admin_on(db, "pages/admin_users.py")
    field(at, "Username").input("new.worker")
    next(s for s in at.selectbox if s.label == "Role").select("caseworker")
    press(at, "Add user")
    assert "User new.worker added as Caseworker." in messages(at, "success")
    (code,) = at.code
    account = accounts.get_account("new.worker", db)
    assert account.role == "caseworker" and account.must_change_password
    assert titles(sign_in(app(), "new.worker", code.value)) == ["My account"]


def test_admin_changes_role_disables_and_resets(db):
    user(db, "vic", "viewer")
    at = admin_on(db, "pages/admin_users.py")
    next(s for s in at.selectbox if s.label == "User").select("vic")
    at.run()
    next(s for s in at.selectbox if s.key == "role_vic").select("manager")
    at.run()
    press(at, "Save role")
    assert accounts.get_account("vic", db).role == "manager"
    press(at, "Disable account")
    assert not accounts.get_account("vic", db).active
    press(at, "Enable account")
    press(at, "Reset password")
    assert "one-time password" in messages(at, "success") and at.code
    assert accounts.get_account("vic", db).must_change_password


def test_admin_cannot_lock_themselves_out(db):
    at = admin_on(db, "pages/admin_users.py")
    buttons = {b.label: b for b in at.button}
    assert buttons["Disable account"].disabled and buttons["Reset password"].disabled
    assert buttons["Save role"].disabled


def test_audit_log_filters_and_download(db):
    user(db, "vic", "viewer")
    sign_in(app(), "vic", "wrong-password-here")
    at = admin_on(db, "pages/admin_audit.py")
    assert at.dataframe
    next(s for s in at.selectbox if s.label == "Action").select("sign_in_failed")
    at.run()
    frame = at.dataframe[0].value
    assert list(frame["Who"]) == ["vic"] and list(frame["What they did"])[0].startswith("Wrong password user account #")
    assert list(frame["What changed"]) == ["Details: failed logins 1."] and list(frame["Why"]) == [""]
    assert list(frame.columns)[0] == "When (UK time)" and ":" in frame["When (UK time)"][0]  # to the minute
    csv = at.get("download_button")[0].proto.url
    assert csv  # the page offers the same entries as a CSV
    _, more = audit_log.events(db, action="sign_in_failed")
    assert not more


def test_admin_changes_settings(db):
    at = admin_on(db, "pages/admin_settings.py")
    number = next(n for n in at.number_input if n.label == "Small-number threshold")
    assert number.value == 8
    number.set_value(5)
    press(at, "Save settings")
    assert "Saved: Small-number threshold" in messages(at, "success")
    assert stored_settings.load(db).small_number_threshold == 5
    (event,) = [e for e in events(db, "create") if e.table_name == "setting" and e.row_id != "programme"]
    assert event.username == "boss"
