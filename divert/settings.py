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

from divert.codes import DEFAULT_FORCE

PROJECT_DIR = Path(__file__).resolve().parent.parent
REFERENCE_DIR = PROJECT_DIR / "data"


def data_dir() -> Path:
    path = Path(os.environ.get("DIVERT_DATA_DIR", REFERENCE_DIR))
    path.mkdir(parents=True, exist_ok=True)
    return path


@lru_cache(maxsize=1)
def _secrets() -> dict:
    path = Path(os.environ.get("DIVERT_SECRETS", PROJECT_DIR / ".streamlit" / "secrets.toml"))
    if path.is_file():
        with path.open("rb") as fh:
            return tomllib.load(fh)
    return {}


def database_url() -> str:
    url = os.environ.get("DIVERT_DATABASE_URL") or _secrets().get("database", {}).get("url")
    return url or f"sqlite:///{data_dir() / 'divert.db'}"


def current_force() -> str:
    return os.environ.get("DIVERT_FORCE") or _secrets().get("divert", {}).get("force") or DEFAULT_FORCE


def secret(name: str) -> str:
    """A secret key: DIVERT_<NAME> env, else secrets.toml [divert] name, else a random key
    generated once and kept in data/.<name>.key readable by the owner only."""
    value = os.environ.get(f"DIVERT_{name.upper()}") or _secrets().get("divert", {}).get(name)
    if value:
        return value
    path = data_dir() / f".{name}.key"
    if not path.exists():
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
