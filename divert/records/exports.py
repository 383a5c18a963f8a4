"""Audit events for copies of the figures that leave the app (the board pack): one event per
copy, through the one write path."""

from __future__ import annotations

from divert.records.core import Saved, audit, write

EXPORT_ACTION = "export_board_pack"


def record_export(user: str, details: dict, *, action: str = EXPORT_ACTION, engine=None) -> Saved:
    """Record that `user` took a copy of the figures (what, for which role, period and as-of date)."""

    def work(s):
        audit(s, user, action, "*", None, None, details)
        return Saved(True)

    return write(work, session=None, engine=engine)
