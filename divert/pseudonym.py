"""Pseudonymous person keys: a keyed hash of the police or provider identifier.

The raw identifier is never stored. The key comes from DIVERT_PERSON_KEY, secrets.toml or a
random key generated once under data/ (see divert.settings.secret); keep it with the backups,
or the same person will get a new key after a restore.
"""

from __future__ import annotations

import hashlib
import hmac

from divert.settings import secret


def person_key(identifier: str, *, key: str | None = None) -> str:
    normalised = "".join(str(identifier).split()).upper()
    digest = hmac.new((key or secret("person_key")).encode(), normalised.encode(), hashlib.sha256)
    return digest.hexdigest()
