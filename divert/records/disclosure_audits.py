"""The last disclosure audit's result (`divert disclosure audit`), kept as the audited setting
`disclosure_audit`, and whether it clears a public release.

The result is kept with the data version it was made at: any write after it (a record, a setting
such as the small-number threshold, an import) changes the figures a release would publish, so
the audit no longer vouches for them.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from divert.core import clock, wording
from divert.records.core import Saved, audit, get_setting, write
from divert.storage.db import data_version, session_scope
from divert.storage.models import DataVersion, Setting

KEY = "disclosure_audit"


def save(summary: dict, read_at_version: int, user: str, *, engine=None) -> Saved:
    """Keep `summary` as the last audit (audited). `read_at_version` is the data version the
    audit read; the result stands for the data only if nothing was written since then."""

    def work(s):
        now = int(s.execute(select(DataVersion.version).where(DataVersion.id == 1)).scalar() or 0)
        value = {**summary, "audited_at": clock.now().isoformat(timespec="seconds"), "by": user,
                 "read_at_version": read_at_version, "data_version": now + 1}  # this write bumps it once
        row = s.get(Setting, KEY)
        before = None if row is None else get_setting(s, KEY)
        if row is None:
            s.add(Setting(key=KEY, value=json.dumps(value, default=str)))
        else:
            row.value = json.dumps(value, default=str)
        s.flush()
        audit(s, user, "disclosure_audit", "setting", KEY, None if before is None else _brief(before), _brief(value))
        return Saved(True)

    return write(work, session=None, engine=engine)


def _brief(value: dict) -> dict:
    """What the audit trail records of a result: the verdict, not every leak."""
    return {k: value.get(k) for k in ("passed", "role", "as_of", "hidden_attacked", "audited_at")} | {
        "leaks": len(value.get("leaks") or [])}


def last(engine=None) -> dict | None:
    with session_scope(engine) as s:
        value = get_setting(s, KEY)
    return value if isinstance(value, dict) else None


def current(result: dict, engine=None) -> bool:
    """Whether nothing has been written since the audit read the data."""
    return (result.get("read_at_version", -1) + 1 == result.get("data_version")
            and data_version(engine) == result.get("data_version"))


def release_problem(as_of: date, engine=None) -> str | None:
    """Why the last audit does not clear a public release as of `as_of`; None if it does."""
    result = last(engine)
    run = f"Run `divert disclosure audit --as-of {as_of}` first"
    if result is None:
        return f"no disclosure audit has been run. {run}."
    when = result.get("audited_at", "")[:16].replace("T", " ")
    if not result.get("passed"):
        return (f"the last disclosure audit ({when} UTC) found {len(result.get('leaks') or [])} hidden count(s) that "
                f"could be worked out. Fix them, then {run[0].lower()}{run[1:]}.")
    if result.get("role") != "viewer":
        return f"the last disclosure audit attacked the {result.get('role')} role's figures, not the viewer's. {run}."
    if as_of.isoformat() not in (result.get("as_of") or []):
        covered = ", ".join(wording.day(date.fromisoformat(d)) for d in result.get("as_of") or [])
        return f"the last disclosure audit covered {covered}, not {wording.day(as_of)}. {run}."
    if not current(result, engine):
        return f"records or settings have changed since the last disclosure audit ({when} UTC). {run}."
    return None
