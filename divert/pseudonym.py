"""Pseudonymous person keys: a keyed hash of the police or provider identifier.

The raw identifier is never stored. The key comes from DIVERT_PERSON_KEY, secrets.toml or a
random key generated once under data/ (see divert.settings.secret); keep it with the backups,
or the same person will get a new key after a restore.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache

from divert.settings import data_dir, secret


@lru_cache(maxsize=4)
def _key(_where: tuple) -> bytes:
    return secret("person_key").encode()


def person_key(identifier: str, *, key: str | None = None) -> str:
    normalised = "".join(str(identifier).split()).upper()
    # the key is read once per configuration (environment and data folder), not once per row
    secret_key = key.encode() if key else _key((os.environ.get("DIVERT_PERSON_KEY"), str(data_dir())))
    return hmac.new(secret_key, normalised.encode(), hashlib.sha256).hexdigest()
