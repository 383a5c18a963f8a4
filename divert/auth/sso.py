"""Single sign-on through the force's identity provider (OpenID Connect, Streamlit's st.login),
beside local accounts.

Configured in `.streamlit/secrets.toml` (nothing here when it is not):

    [auth]                       # Streamlit's own settings for st.login
    redirect_uri = "https://divert.example/oauth2callback"
    cookie_secret = "..."        # a long random value
    client_id = "..."
    client_secret = "..."
    server_metadata_url = "https://login.force.example/.well-known/openid-configuration"

    [divert]
    sso_claim = "email"          # the identity claim that names the Divert account: email, sub or oid
    sso_domain = "force.example" # with an e-mail claim: only this domain, the part before @ is the username

The provider says who someone is; Divert says what they may do. A signed-in identity is let in
only when an active Divert account of the same username exists - made by an administrator, with
its role, as for a local account - so roles are still granted in Divert, a disabled account is
refused, and every sign-in is audited. The account's password is not used for it.

Only a verified identity names an account: an e-mail address only when the provider says it
verified it (`email_verified` true), or an identifier the provider never reassigns (`sub`, or
Microsoft Entra ID's `oid`), chosen as `sso_claim`. A claim a person can set or the provider does
not check (`preferred_username`, `upn`, an unverified address) names none. The name is
normalised as a username is (divert.auth.usernames: NFKC, ASCII unless allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

from divert.auth import throttle, usernames
from divert.core import environment
from divert.core.field_rules import Problem
from divert.records.core import Rejected, Saved, audit, write
from divert.storage.models import User

DEFAULT_CLAIM = "email"
# an e-mail address (with email_verified true), or an identifier the provider never reassigns
VERIFIED_CLAIMS = ("email", "sub", "oid")


@dataclass(frozen=True)
class Outcome:
    status: str  # ok | no_account | disabled | unverified
    username: str | None = None
    generation: int = 0


def configured(secrets) -> bool:
    """Whether `secrets` (st.secrets) set up an identity provider for st.login."""
    try:
        if hasattr(secrets, "load_if_toml_exists") and not secrets.load_if_toml_exists():
            return False  # no secrets file (asking for a key would put an error on the page)
        section = secrets.get("auth")
    except Exception:  # an unreadable secrets file: no single sign-on
        return False
    return bool(section) and bool(section.get("server_metadata_url")) and bool(section.get("client_id"))


def _divert_setting(name: str) -> str | None:
    value = environment._secrets().get("divert", {}).get(name) or None
    return str(value) if value else None


def verified(claims: dict, claim: str | None = None) -> bool:
    """Whether the claim that names the account is one the provider vouches for: a verified
    e-mail address, or an identifier it never reassigns."""
    claim = claim or _divert_setting("sso_claim") or DEFAULT_CLAIM
    if claim not in VERIFIED_CLAIMS:
        return False
    return claim != "email" or claims.get("email_verified") is True


def username_from(claims: dict, claim: str | None = None, domain: str | None = None) -> str | None:
    """The Divert username a verified identity names, or None when it names none acceptably."""
    claim = claim or _divert_setting("sso_claim") or DEFAULT_CLAIM
    domain = domain if domain is not None else _divert_setting("sso_domain")
    if not verified(claims, claim):
        return None
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        return None
    value = usernames.normalise(value).lower()
    if "@" in value:
        local, _, host = value.rpartition("@")
        if not domain or host != domain.strip().lower():
            return None  # an address from another domain never names a Divert account
        value = local
    elif domain:
        return None
    return value if value and usernames.problem(value) is None else None


def fresh(claims: dict, hours: float, now: float) -> bool:
    """Whether the provider confirmed the identity within the sign-in lifetime (`now` and the
    ID token's `iat` in seconds). An older one does not sign in by itself: the person signs in
    with the provider again, as a password user would after the same time."""
    issued = claims.get("iat")
    return isinstance(issued, int | float) and 0 <= now - issued <= hours * 3600


def sign_in(claims: dict, *, engine=None) -> Outcome:
    """Let the identity in: its Divert account must exist and be active (audited either way
    for an account; nothing is recorded for an identity that names no account)."""
    from sqlalchemy import func, select

    if not verified(claims):
        return Outcome("unverified")
    username = username_from(claims)
    if username is None:
        return Outcome("no_account")
    issuer = str(claims.get("iss") or "the identity provider")[:120]

    def work(s):
        row = s.execute(select(User).where(func.lower(User.username) == username)).scalars().first()
        if row is None:
            raise Rejected([Problem("account", username, "no_account")])
        if not row.active:
            raise Rejected([Problem("account", username, "disabled")])
        audit(s, row.username, "sign_in", "app_user", row.id, None, None, reason=f"single sign-on ({issuer})")
        return Saved(True, row.id, notes=[row.username, str(throttle.generation(s, row.id))])

    saved = write(work, session=None, engine=engine)
    if not saved.ok:
        return Outcome(saved.problems[0].reason if saved.problems[0].reason in ("no_account", "disabled")
                       else "no_account")
    return Outcome("ok", saved.notes[0], int(saved.notes[1]))
