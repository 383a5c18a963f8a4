"""User accounts: creation, activation. Sign-in bookkeeping belongs here too.

Writes go through divert.records.write, so each is audited and bumps data_version.
"""

from __future__ import annotations

import bcrypt
from sqlalchemy import select, update

from divert import codes
from divert.models import User
from divert.records import Rejected, Saved, as_dict, audit, check, now, write
from divert.validation import Checker, Problem


def add_user(values: dict, user: str, *, engine=None, demo: bool = False) -> Saved:
    """A new account. The password is hashed with bcrypt here and never stored or logged."""
    def work(s):
        c = Checker(values)
        username = c.text("username", required=True, max_length=60)
        display = c.text("display_name", max_length=120) or username
        role = c.code("role", codes.ROLES, upper=False)
        password = values.get("password") or ""
        if username and not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
            c.fail("username", "may contain only letters, digits and . _ -")
        if len(password) < 12:
            c.fail("password", "must be at least 12 characters", value="***")
        elif username and password.lower() == username.lower():
            c.fail("password", "must not be the username", value="***")
        if username and s.execute(select(User.id).where(User.username == username)).first():
            c.fail("username", "is already taken")
        check(c)
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        row = User(
            username=username,
            display_name=display,
            password_hash=hashed,
            role=role,
            must_change_password=bool(values.get("must_change_password")),
            created_at=now(),
            demo=demo,
        )
        s.add(row)
        s.flush()
        after = as_dict(row)
        after.pop("password_hash")
        audit(s, user, "create", "app_user", row.id, None, after)
        return Saved(True, row.id)

    return write(work, session=None, engine=engine)


def set_user_active(username: str, active: bool, user: str, *, engine=None) -> Saved:
    def work(s):
        row = s.execute(select(User).where(User.username == username)).scalars().first()
        if row is None:
            raise Rejected([Problem("username", username, "is not a known user")])
        s.execute(update(User).where(User.id == row.id).values(active=active))
        audit(s, user, "update", "app_user", row.id, {"active": row.active}, {"active": active})
        return Saved(True, row.id)

    return write(work, session=None, engine=engine)
