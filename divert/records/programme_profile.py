"""The programme profile in force: read from and saved to the database (the `programme`
setting, audited), on the write path. The rules themselves are pure, in divert.reference.programme."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from divert.core.environment import current_force
from divert.records.core import Saved, get_setting, set_setting
from divert.reference.programme import SETTING_KEY, Programme, check, from_stored
from divert.storage.db import session_scope


def current(engine=None) -> Programme:
    """The profile in force: the stored one, else the reference programme for the configured
    force (DIVERT_FORCE or secrets, default West Midlands)."""
    stored = None
    if engine is not None:
        try:
            with session_scope(engine) as s:
                stored = get_setting(s, SETTING_KEY)
        except SQLAlchemyError:  # no schema yet
            stored = None
    return from_stored(stored, current_force())


def in_session(s) -> Programme:
    """The profile in force, read inside a write's own session (transaction)."""
    return from_stored(get_setting(s, SETTING_KEY), current_force())


def force_in(s) -> str:
    return in_session(s).force


def save(values: dict, user: str, *, engine=None):
    """Validate and store the profile (audited); returns (Saved, Programme | None)."""
    chosen, problems = check(values, current(engine))
    if problems:
        return Saved(False, problems=problems), None
    stored = {k: v for k, v in chosen.as_json().items() if k != "areas"}
    return set_setting(SETTING_KEY, stored, user, engine=engine), chosen
