"""A backup's seal: `manifest.json` signed with the backup key (HMAC-SHA256), in `signature.json`.

The manifest holds every file's checksum and every table's row checksum, so the signature over
its bytes covers the whole backup; anyone can recompute a SHA-256, nobody without the backup key
can recompute the HMAC. The key is kept apart from the backups (divert.core.environment.secret:
DIVERT_BACKUP_KEY, `backup_key` in secrets.toml, or data/.backup_key.key, made 0600 on the first
export): see docs/keys.md. A restore refuses a backup that is unsigned, signed with another key or
changed since it was signed, unless the operator accepts it explicitly, with a reason that the
restore's audit event records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from divert.backup.tables import MANIFEST, BackupError
from divert.core.environment import secret

SIGNATURE = "signature.json"
KEY_NAME = "backup_key"
METHOD = "HMAC-SHA256 of the bytes of manifest.json under the backup key"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_OVERRIDE = ("If you know where this backup came from and trust it, restore it with --accept-unsigned "
             "\"REASON\": the reason is recorded in the audit log.")


def backup_key(*, create: bool = False) -> str | None:
    """The backup key (made, 0600 in the data folder, only when `create`: an export)."""
    return secret(KEY_NAME, create=create)


def key_fingerprint(key: str) -> str:
    """Names a backup key without revealing it (the same on every server holding that key)."""
    return hmac.new(key.encode(), b"divert backup key fingerprint", hashlib.sha256).hexdigest()[:16]


def sign(manifest_bytes: bytes, key: str) -> dict:
    """The content of signature.json for these manifest bytes."""
    return {"method": METHOD, "key_fingerprint": key_fingerprint(key),
            "hmac": hmac.new(key.encode(), manifest_bytes, hashlib.sha256).hexdigest()}


@dataclass(frozen=True)
class Seal:
    """What the restore knows of the backup it restores: its fingerprint and its signature."""

    manifest_sha256: str
    hmac: str | None = None  # the signature the backup carries
    key_fingerprint: str | None = None  # the key it says it was signed with
    problem: str | None = None  # why the signature was not verified (None: verified)
    accepted_unsigned: str | None = None  # the operator's reason for restoring it all the same

    @property
    def verified(self) -> bool:
        return self.problem is None

    def summary(self) -> dict:
        """For the restore's audit event."""
        return {
            "manifest_sha256": self.manifest_sha256,
            "signature_hmac": self.hmac,
            "signed_with_key": self.key_fingerprint,
            "signature": ("verified with this server's backup key" if self.verified else
                          f"NOT verified ({self.problem}); restored with --accept-unsigned"),
        }


def _read_signature(signature_bytes: bytes | None) -> tuple[dict | None, str | None]:
    if signature_bytes is None:
        return None, (f"the backup is not signed (no {SIGNATURE}): it was made by hand, by an older version of "
                      "Divert, or its signature was removed")
    try:
        signature = json.loads(signature_bytes.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        signature = None
    if (not isinstance(signature, dict) or not isinstance(signature.get("hmac"), str)
            or not _HEX64.match(signature["hmac"]) or not isinstance(signature.get("key_fingerprint"), str)):
        return None, f"{SIGNATURE} is not a Divert backup signature"
    return signature, None


def _problem(manifest_bytes: bytes, signature: dict | None, key: str | None) -> str | None:
    if key is None:
        return ("this server has no backup key, so the backup's signature cannot be checked: put the backup key "
                "of the server that made it in place (DIVERT_BACKUP_KEY, `backup_key` in secrets.toml or "
                "data/.backup_key.key; docs/keys.md)")
    if signature["key_fingerprint"] != key_fingerprint(key):
        return (f"the backup was signed with another backup key (fingerprint {signature['key_fingerprint'][:16]}; "
                f"this server's is {key_fingerprint(key)}): put the key of the server that made it in place "
                "(docs/keys.md)")
    if not hmac.compare_digest(sign(manifest_bytes, key)["hmac"], signature["hmac"]):
        return (f"{MANIFEST} does not match its signature: the backup was changed after it was made "
                "(its files and checksums cannot be trusted)")
    return None


def check_seal(manifest_bytes: bytes, signature_bytes: bytes | None, key: str | None,
               accept_unsigned: str | None = None) -> Seal:
    """The backup's seal; raises BackupError when the signature is missing or wrong, unless the
    operator accepts that with a reason (`accept_unsigned`)."""
    if accept_unsigned is not None and not accept_unsigned.strip():
        raise BackupError("--accept-unsigned needs a reason (why this backup is trusted), recorded in the audit log")
    signature, problem = _read_signature(signature_bytes)
    if problem is None:
        problem = _problem(manifest_bytes, signature, key)
    if problem and accept_unsigned is None:
        raise BackupError(f"{problem}. Nothing was restored. {_OVERRIDE}")
    return Seal(
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        hmac=signature["hmac"] if signature else None,
        key_fingerprint=signature["key_fingerprint"] if signature else None,
        problem=problem,
        accepted_unsigned=accept_unsigned.strip() if accept_unsigned is not None else None,
    )
