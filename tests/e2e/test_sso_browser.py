"""Single sign-on in a real browser against a local OpenID Connect provider (oidc-provider-mock):
the force's identity lets a person in as their Divert account, with the role Divert gives it;
an identity with no Divert account, from another domain, or of a disabled account is refused."""

from __future__ import annotations

import secrets

import oidc_provider_mock
import pytest
from browser import Served, heading, settle, signed_out
from dbfixtures import migrated_url
from playwright.sync_api import expect
from sqlalchemy import select

from divert.auth import accounts
from divert.core import codes
from divert.storage.db import session_scope
from divert.storage.models import AuditEvent
from divert.web import access

pytestmark = [pytest.mark.e2e]

IDENTITIES = {  # the provider verified each address (an unverified one names no account: test_usernames)
    "u-nia": {"email": "nia@force.example", "email_verified": True, "name": "Nia at the force"},
    "u-ray": {"email": "ray@force.example", "email_verified": True},  # disabled by one test (each test has its own account)
    "u-stranger": {"email": "stranger@force.example", "email_verified": True},
    "u-elsewhere": {"email": "nia@elsewhere.example", "email_verified": True},
}


@pytest.fixture(scope="module")
def provider():
    users = [oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in IDENTITIES.items()]
    with oidc_provider_mock.run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def app(tmp_path_factory, provider):
    """The app with [auth] pointing at the provider, and Divert accounts for Nia, Ray and an
    admin (one server for the module: each test signs in in a browser of its own)."""
    folder = tmp_path_factory.mktemp("sso-app")
    home = folder / "home"
    app = Served(folder, migrated_url(folder), env={"HOME": str(home)})  # Streamlit reads ~/.streamlit/secrets.toml
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app.port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "divert"\n'
        'client_secret = "divert-test-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    (folder / "no-secrets.toml").write_text('[divert]\nsso_claim = "email"\nsso_domain = "force.example"\n')
    for username, role in (("nia", "caseworker"), ("ray", "caseworker"), ("boss", "admin")):
        saved = accounts.add_user({"username": username, "role": role, "password": secrets.token_urlsafe(16)},
                                  "test", engine=app.engine())
        assert saved.ok, saved.problems
    app.start()
    yield app
    app.stop()


def sso_sign_in(page, app, sub):
    page.goto(app.url)
    expect(page.get_by_role("button", name=access.SSO_BUTTON)).to_be_visible()
    settle(page)  # a click while the first runs are still going can be lost
    page.get_by_role("button", name=access.SSO_BUTTON).click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()  # the provider's page
    page.get_by_role("button", name=sub, exact=True).click()


def test_single_sign_on_lets_a_divert_account_in_with_its_divert_role(app, open_page):
    page = open_page()
    sso_sign_in(page, app, "u-nia")
    expect(heading(page, "Overview")).to_be_visible()
    settle(page)
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
    expect(page.get_by_role("button", name=access.SSO_BUTTON)).to_be_visible()
    page.goto(app.url)
    expect(page.get_by_role("button", name=access.SSO_BUTTON)).to_be_visible()
    signed_out(page)

    # roles are granted in Divert: an administrator's change applies to the next sign-in
    assert accounts.set_role("nia", "viewer", "boss", engine=app.engine()).ok
    again = open_page()
    sso_sign_in(again, app, "u-nia")
    expect(heading(again, "Overview")).to_be_visible()
    expect(again.get_by_text(f"· {codes.ROLES['viewer']}").first).to_be_visible()


@pytest.mark.parametrize("sub", ["u-stranger", "u-elsewhere"])
def test_an_identity_without_a_divert_account_is_refused(app, open_page, sub):
    page = open_page()
    sso_sign_in(page, app, sub)
    expect(page.get_by_text(access.SSO_REFUSED["no_account"])).to_be_visible()
    signed_out(page)
    page.shots(f"{sub} refused")


def test_a_disabled_account_is_refused_through_single_sign_on_too(app, open_page):
    assert accounts.set_user_active("ray", False, "boss", engine=app.engine()).ok
    page = open_page()
    sso_sign_in(page, app, "u-ray")
    expect(page.get_by_text(access.SSO_REFUSED["disabled"])).to_be_visible()
    signed_out(page)
