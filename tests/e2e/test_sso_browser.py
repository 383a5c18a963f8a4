"""Single sign-on in a real browser against a local OpenID Connect provider (oidc-provider-mock):
the force's identity lets a person in as their Divert account, with the role Divert gives it;
an identity with no Divert account, from another domain, or of a disabled account is refused."""

from __future__ import annotations

import secrets

import oidc_provider_mock
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from divert import accounts, auth, codes
from divert.db import session_scope
from divert.models import AuditEvent

pytestmark = pytest.mark.e2e

IDENTITIES = {
    "u-nia": {"email": "nia@force.example", "name": "Nia at the force"},
    "u-stranger": {"email": "stranger@force.example"},
    "u-elsewhere": {"email": "nia@elsewhere.example"},
}


@pytest.fixture
def provider():
    users = [oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in IDENTITIES.items()]
    with oidc_provider_mock.run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def app(tmp_path_factory, provider, monkeypatch):
    """The app with [auth] pointing at the provider, and Divert accounts for Nia and an admin."""
    from conftest import RunningApp  # tests/e2e/conftest.py

    app = RunningApp(tmp_path_factory.mktemp("sso-app"))
    home = app.folder / "home"
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app.port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "divert"\n'
        'client_secret = "divert-test-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    (app.folder / "no-secrets.toml").write_text('[divert]\nsso_claim = "email"\nsso_domain = "force.example"\n')
    monkeypatch.setenv("HOME", str(home))  # Streamlit reads ~/.streamlit/secrets.toml
    from divert.accounts import add_user
    from divert.db import upgrade

    upgrade(app.db_url)
    for username, role in (("nia", "caseworker"), ("boss", "admin")):
        saved = add_user({"username": username, "role": role, "password": secrets.token_urlsafe(16)}, "test",
                         engine=app.engine())
        assert saved.ok, saved.problems
    app.start()
    yield app
    app.stop()


def sso_sign_in(page, app, sub):
    page.goto(app.url)
    expect(page.get_by_role("button", name=auth.SSO_BUTTON)).to_be_visible()
    page.settle()  # a click while the first runs are still going can be lost
    page.get_by_role("button", name=auth.SSO_BUTTON).click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()  # the provider's page
    page.get_by_role("button", name=sub, exact=True).click()


def test_single_sign_on_lets_a_divert_account_in_with_its_divert_role(app, open_page):
    page = open_page()
    sso_sign_in(page, app, "u-nia")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    page.settle()
    expect(page.get_by_text(f"· {codes.ROLES['caseworker']}").first).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("New referral")  # the caseworker's menu
    expect(page.get_by_test_id("stSidebarNav")).not_to_contain_text("Users")
    page.shots("signed in through the identity provider")
    with session_scope(app.engine()) as s:
        reasons = s.execute(select(AuditEvent.reason).where(AuditEvent.action == "sign_in",
                                                            AuditEvent.username == "nia")).scalars().all()
    assert reasons and reasons[0].startswith("single sign-on")

    # signing out also ends the provider's sign-in, so the next visit is not let straight back in
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="End Session")).to_be_visible()  # the provider's page
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name=auth.SSO_BUTTON)).to_be_visible()
    page.goto(app.url)
    expect(page.get_by_role("button", name=auth.SSO_BUTTON)).to_be_visible()
    page.settle()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)

    # roles are granted in Divert: an administrator's change applies to the next sign-in
    assert accounts.set_role("nia", "viewer", "boss", engine=app.engine()).ok
    again = open_page()
    sso_sign_in(again, app, "u-nia")
    expect(again.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    expect(again.get_by_text(f"· {codes.ROLES['viewer']}").first).to_be_visible()


@pytest.mark.parametrize("sub", ["u-stranger", "u-elsewhere"])
def test_an_identity_without_a_divert_account_is_refused(app, open_page, sub):
    page = open_page()
    sso_sign_in(page, app, sub)
    expect(page.get_by_text(auth.SSO_REFUSED["no_account"])).to_be_visible()
    page.settle()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    page.shots(f"{sub} refused")


def test_a_disabled_account_is_refused_through_single_sign_on_too(app, open_page):
    assert accounts.set_user_active("nia", False, "boss", engine=app.engine()).ok
    page = open_page()
    sso_sign_in(page, app, "u-nia")
    expect(page.get_by_text(auth.SSO_REFUSED["disabled"])).to_be_visible()
    page.settle()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
