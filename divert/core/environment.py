"""Where things are and how they are configured: environment, secrets, data directory.

Order of precedence for each setting: environment variable, then `.streamlit/secrets.toml`,
then the embedded default (SQLite under data/).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path

from divert.core.codes import DEFAULT_FORCE

PROJECT_DIR = Path(__file__).resolve().parents[2]
REFERENCE_DIR = PROJECT_DIR / "data"


def data_dir(*, create: bool = True) -> Path:
    path = Path(os.environ.get("DIVERT_DATA_DIR", REFERENCE_DIR))
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def sqlite_busy_ms() -> int:
    """How long a SQLite writer waits for the write lock before giving up (milliseconds)."""
    try:
        return max(100, int(os.environ.get("DIVERT_SQLITE_BUSY_MS", "30000")))
    except ValueError:
        return 30000


PASSWORD_HASH_ROUNDS = 12  # bcrypt's cost factor: 2**12 rounds, about 0.3 s a check on one core
HASH_ROUNDS_RANGE = (4, 16)


def password_hash_rounds() -> int:
    """The bcrypt cost of new password hashes: DIVERT_PASSWORD_HASH_ROUNDS, else
    `password_hash_rounds` in the [divert] table of secrets.toml, else 12. The test suite lowers
    it (a check at cost 4 takes about 1 ms); a stored hash keeps the cost it was made with."""
    value = os.environ.get("DIVERT_PASSWORD_HASH_ROUNDS") or _secrets().get("divert", {}).get("password_hash_rounds")
    if value in (None, ""):
        return PASSWORD_HASH_ROUNDS
    low, high = HASH_ROUNDS_RANGE
    try:
        rounds = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"password_hash_rounds must be a whole number from {low} to {high}, not {value!r}") from None
    if not low <= rounds <= high:
        raise ValueError(f"password_hash_rounds must be a whole number from {low} to {high}, not {rounds}")
    return rounds


def client_address_header() -> str | None:
    """The request header that carries the browser's address when the app runs behind a
    reverse proxy that sets it (for example X-Forwarded-For); None: the connection's address."""
    return os.environ.get("DIVERT_CLIENT_ADDRESS_HEADER") or _secrets().get("divert", {}).get("client_address_header")


def secrets_file() -> Path:
    """The secrets file: DIVERT_SECRETS, else .streamlit/secrets.toml (it may not exist)."""
    return Path(os.environ.get("DIVERT_SECRETS", PROJECT_DIR / ".streamlit" / "secrets.toml"))


@lru_cache(maxsize=1)
def _secrets() -> dict:
    path = secrets_file()
    if path.is_file():
        with path.open("rb") as fh:
            return tomllib.load(fh)
    return {}


def database_url() -> str:
    url = os.environ.get("DIVERT_DATABASE_URL") or _secrets().get("database", {}).get("url")
    return url or f"sqlite:///{data_dir() / 'divert.db'}"


def current_force() -> str:
    return os.environ.get("DIVERT_FORCE") or _secrets().get("divert", {}).get("force") or DEFAULT_FORCE


def configured_secret(name: str) -> str | None:
    """A secret given by the operator: DIVERT_<NAME> in the environment, else `name` in the
    [divert] table of secrets.toml (what app replicas share)."""
    value = os.environ.get(f"DIVERT_{name.upper()}") or _secrets().get("divert", {}).get(name)
    return str(value) if value else None


def key_file(name: str) -> Path:
    return data_dir() / f".{name}.key"


def key_files() -> list[Path]:
    """The key files in the data folder (looked for, never created)."""
    folder = data_dir(create=False)
    return sorted(path for path in folder.glob(".*.key") if path.is_file()) if folder.is_dir() else []


def secret(name: str, *, create: bool = True) -> str | None:
    """A secret key: DIVERT_<NAME> env, else secrets.toml [divert] name, else a random key
    kept in data/.<name>.key readable by the owner only - generated once when `create`,
    otherwise None when there is none."""
    value = configured_secret(name)
    if value:
        return value
    path = key_file(name)
    if not path.exists():
        if not create:
            return None
        # write a private temporary file, then link it into place: atomic, and the first
        # process to link wins, so concurrent first starts agree on one key
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
