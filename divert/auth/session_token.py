"""The sign-in cookie's token: a signed JWT (HS256, key from divert.core.environment.secret("cookie_key")).

It carries the username, the browser session's id, the account's session generation when it
was issued, its issue time and its expiry. The issue time is stored in the token, never worked
out again from the expiry (so shortening the sign-in lifetime ends old cookies instead of
reviving them). A token is accepted only while the account is active, its session generation
is unchanged (no password change or reset, no role change, not disabled since), its browser
session was not signed out, and it is within both its own expiry and the current sign-in
lifetime counted from its issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from divert.auth import accounts

ALGORITHM = "HS256"
PURPOSE = "divert-sign-in"


@dataclass(frozen=True)
class Session:
    username: str
    generation: int
    issued_at: datetime
    expires_at: datetime
    sid: str  # the browser session (a random id made at sign-in)


def issue(session: Session, key: str) -> str:
    claims = {
        "sub": session.username,
        "gen": session.generation,
        "sid": session.sid,
        "iat": session.issued_at.timestamp(),
        "exp": session.expires_at.timestamp(),
        "purpose": PURPOSE,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def _claims(token: str, key: str) -> dict | None:
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["sub", "iat", "exp"]})
    except jwt.PyJWTError:
        return None
    if (claims.get("purpose") != PURPOSE or not isinstance(claims.get("gen"), int)
            or not isinstance(claims.get("sid"), str)):
        return None
    return claims


def resume(token: str | None, *, key: str, hours: float, engine, at: datetime | None = None) -> Session | None:
    """The session a browser's cookie stands for, or None if it must not be honoured."""
    if not token:
        return None
    claims = _claims(token, key)
    if claims is None:
        return None
    moment = at or datetime.now(UTC)
    account = accounts.get_account(str(claims["sub"]), engine)
    if account is None or not account.active or account.generation != claims["gen"]:
        return None
    issued_at = datetime.fromtimestamp(float(claims["iat"]), UTC)
    if issued_at > moment + timedelta(minutes=1):
        return None
    expires_at = min(datetime.fromtimestamp(float(claims["exp"]), UTC), issued_at + timedelta(hours=hours))
    if expires_at <= moment or accounts.session_signed_out(account.username, claims["sid"], engine):
        return None
    return Session(account.username, account.generation, issued_at, expires_at, claims["sid"])
