"""Pseudonymous person keys: a keyed hash of the police or provider identifier.

The raw identifier is never stored. The key comes from DIVERT_PERSON_KEY, `[divert] person_key`
in secrets.toml, or the file .person_key.key in the data folder (see divert.core.environment.secret).

The database records a fingerprint of the key (an HMAC of a fixed text under the key, which
does not reveal it). Every write that hashes an identifier first checks the key in use against
that fingerprint: with a missing or different key nothing is written and the message says how
to restore it. A new key is generated only for a database that has no real person yet - never
to replace a lost one, which would give the same person a second identity (and so a second
offer after not engaging). See docs/keys.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy import select
from sqlmodel import Session

from divert.core.environment import secret
from divert.storage import audit_chain
from divert.storage.models import AuditEvent, DataVersion, Person, Setting

FINGERPRINT_SETTING = "person_key_fingerprint"
_SESSION_KEY = "divert_person_key"
WHERE = (
    "the file .person_key.key in the data folder, or DIVERT_PERSON_KEY in the environment, or "
    "person_key in the [divert] table of .streamlit/secrets.toml"
)
MISSING = (
    "The person key is missing, but this database already holds people pseudonymised with it. "
    "Divert will not make a new key: the same person would get a second identity. Restore the "
    f"key from your backup ({WHERE}) as described in docs/keys.md. Nothing was written."
)
DIFFERENT = (
    "The person key in use is not the one this database was built with (its fingerprint "
    "differs): the same person would get a second identity. Restore the database's own key from "
    f"your backup ({WHERE}) as described in docs/keys.md. Nothing was written."
)


class PersonKeyProblem(Exception):
    """The person key is missing or is not the database's key: nothing may be written."""


def fingerprint(key: str) -> str:
    return hmac.new(key.encode(), b"divert person-key fingerprint v1", hashlib.sha256).hexdigest()


def person_key(identifier: str, *, key: str) -> str:
    normalised = "".join(str(identifier).split()).upper()
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()


def _stored(s: Session) -> str | None:
    row = s.get(Setting, FINGERPRINT_SETTING)
    if row is None:
        return None
    try:
        return json.loads(row.value)
    except ValueError:
        return row.value


def _has_real_people(s: Session) -> bool:
    return s.execute(select(Person.id).where(Person.demo.is_(False)).limit(1)).first() is not None


def problem(s: Session) -> str | None:
    """Why the person key cannot be used with this database (None when it can); reads only."""
    stored = _stored(s)
    key = secret("person_key", create=False)
    if key is None:
        return MISSING if stored is not None or _has_real_people(s) else None
    if stored is not None and stored != fingerprint(key):
        return DIFFERENT
    return None


def checked_key(s: Session) -> str:
    """The person key, checked against the database's fingerprint within the caller's write
    transaction. The first key a database uses is recorded there (audited). Raises
    PersonKeyProblem when the key is missing or different."""
    cached = s.info.get(_SESSION_KEY)
    if cached:
        return cached
    if _stored(s) is None and s.get_bind().dialect.name == "postgresql":
        # the first writes on a new PostgreSQL database (several replicas, several workers) queue
        # on the data_version row that every write locks, so that one records the fingerprint and
        # the others then read it (SQLite writers already queue, on BEGIN IMMEDIATE)
        s.execute(select(DataVersion.id).where(DataVersion.id == 1).with_for_update())
    reason = problem(s)
    if reason:
        raise PersonKeyProblem(reason)
    key = secret("person_key")  # generated here only for a database without real people
    if _stored(s) is None:
        from divert.records.core import now

        value = fingerprint(key)
        s.add(Setting(key=FINGERPRINT_SETTING, value=json.dumps(value)))
        audit_chain.seal(s, AuditEvent(at=now(), username="system", action="create", table_name="setting",
                                       row_id=FINGERPRINT_SETTING, after=json.dumps({"value": value})))
        s.flush()
    s.info[_SESSION_KEY] = key
    return key


def key_problem(engine) -> str | None:
    """Why nothing that hashes an identifier can be written to this database now (None: fine)."""
    from divert.storage.db import session_scope

    with session_scope(engine) as s:
        return problem(s)


def ensure_key(engine) -> str | None:
    """`divert init`: make the key of a new database and record its fingerprint, so that a
    second app replica with a different key refuses before anything is written. Returns the
    problem instead when the key is missing or different."""
    from divert.storage.db import session_scope

    try:
        with session_scope(engine, write=True) as s:
            checked_key(s)
    except PersonKeyProblem as error:
        return str(error)
    return None
