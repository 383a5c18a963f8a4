"""Tables for sign-in throttling and session generations (migration 0002).

Kept apart from divert.storage.models so that the user table itself is unchanged; divert.storage.db imports
this module, so the tables are registered wherever the database is used.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

ANY = "*"  # the username or client of a row that counts every account or every client


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins in a row, and the lock they lead to, for one key:
    (account, client) - one browser's address trying one account;
    (account, '*')    - every client trying one account (the back-off);
    ('*', client)     - one client trying any account (spraying).
    Unknown usernames get rows too, so that they behave exactly like known ones."""

    __tablename__ = "sign_in_throttle"
    username: str = Field(primary_key=True, max_length=60)  # lower case, or '*'
    client: str = Field(primary_key=True, max_length=64)  # network address, or '*'
    failures: int = 0
    locked_until: datetime | None = None
    last_attempt_at: datetime | None = Field(default=None, index=True)
    last_success_at: datetime | None = None  # a client that signed in to this account before


class SessionGeneration(SQLModel, table=True):
    """Goes up when a user's password is changed or reset, the account is disabled or its role
    changes: sign-in cookies carry the generation they were issued under and are refused once
    it has moved on."""

    __tablename__ = "session_generation"
    user_id: int = Field(primary_key=True, foreign_key="app_user.id")
    generation: int = 0
