"""Reading the audit log for the administrator's page: filters, choices, plain labels for the
actions and records, a readable summary of each change, CSV export."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import select

from divert.core import wording
from divert.core.safe_csv import to_csv_bytes
from divert.storage.db import session_scope
from divert.storage.models import AuditEvent

COLUMNS = {
    "at": "When (UTC)",
    "username": "User",
    "action": "Action",
    "table_name": "Table",
    "row_id": "Row",
    "before": "Before",
    "after": "After",
    "reason": "Reason",
}
SCHEMA = {
    "at": pl.Datetime("us"),
    "username": pl.Utf8,
    "action": pl.Utf8,
    "table_name": pl.Utf8,
    "row_id": pl.Utf8,
    "before": pl.Utf8,
    "after": pl.Utf8,
    "reason": pl.Utf8,
}


ACTIONS = {
    "create": "Added",
    "update": "Changed",
    "import": "Imported a file",
    "demo_load": "Loaded demonstration data",
    "load_reference": "Loaded reference data",
    "sign_in": "Signed in",
    "sign_out": "Signed out",
    "sign_in_failed": "Wrong password",
    "lockout": "Account locked",
    "unlock": "Account unlocked",
    "password_reset": "Password reset",
    "password_change": "Password changed",
    "export_backup": "Took a backup",
    "export_release": "Made a public release",
    "restore": "Restored a backup",
}
TABLES = {
    "app_user": "User account",
    "person": "Person",
    "offence": "Offence",
    "referral": "Referral",
    "assessment": "Assessment",
    "course_session": "Course session",
    "booking": "Booking",
    "closure": "Closure",
    "stop_search": "Stop and search",
    "population": "Population figures",
    "setting": "Setting",
    "*": "Whole database",
}
SUMMARY_CHARS = 240
SHOWN = {"at": "When (UTC)", "username": "User", "action_label": "Action", "record": "Record",
         "summary": "What changed", "reason": "Reason"}


def action_label(action: str | None) -> str:
    return ACTIONS.get(action or "", (action or "").replace("_", " ").capitalize())


def table_label(table: str | None) -> str:
    return TABLES.get(table or "", (table or "").replace("_", " ").capitalize())


def _value(value) -> str:
    if value is None or value == "":
        return "blank"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "), default=str)
    return str(value)


def _load(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}


def change_summary(action: str | None, before: str | None, after: str | None) -> str:
    """The change in words: for a change, each field that changed ("seats: 12 -> 14"); for a new
    record or an event, its details ("failed logins: 3")."""
    old, new = _load(before), _load(after)
    if old and new:
        parts = [f"{k.replace('_', ' ')}: {_value(old.get(k))} -> {_value(new.get(k))}"
                 for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]
        text = "; ".join(parts) or "no field changed"
    elif new or old:
        parts = [f"{k.replace('_', ' ')}: {_value(v)}" for k, v in (new or old).items() if v not in (None, "")]
        text = ("removed " if old and not new else "") + "; ".join(parts)
    else:
        text = ""
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 3] + "..."


def readable(frame: pl.DataFrame) -> pl.DataFrame:
    """The events with the action and the record in words and the change summarised, as the
    page shows them."""
    if frame.is_empty():
        return pl.DataFrame(schema={name: pl.Utf8 for name in SHOWN} | {"at": pl.Datetime("us")}).rename(SHOWN)
    rows = frame.to_dicts()
    return pl.DataFrame({
        "at": [r["at"] for r in rows],
        "username": [r["username"] for r in rows],
        "action_label": [action_label(r["action"]) for r in rows],
        "record": [" ".join(p for p in (table_label(r["table_name"]), r["row_id"] and f"#{r['row_id']}") if p)
                   if r["table_name"] else "" for r in rows],
        "summary": [change_summary(r["action"], r["before"], r["after"]) for r in rows],
        "reason": [r["reason"] for r in rows],
    }, schema_overrides={"at": pl.Datetime("us")}).rename(SHOWN)


def choices(engine=None) -> dict[str, list[str]]:
    """The users, actions and tables that occur in the log, for the filter boxes."""
    out = {}
    with session_scope(engine) as s:
        for name, column in (("username", AuditEvent.username), ("action", AuditEvent.action),
                             ("table_name", AuditEvent.table_name)):
            out[name] = sorted(v for v in s.execute(select(column).distinct()).scalars() if v)
    return out


def _midnight(day: date, end: bool) -> datetime:
    """The start of `day` (or of the day after, for an `end`) in UK time, as a UTC moment: the
    filter's days are the days people see on the page."""
    uk = datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=ZoneInfo(wording.UK_ZONE))
    return uk.astimezone(UTC)


def events(
    engine=None,
    *,
    username: str | None = None,
    action: str | None = None,
    table: str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = 5000,
) -> tuple[pl.DataFrame, bool]:
    """The newest events matching every given filter (dates inclusive, UTC), newest first,
    and whether there were more than `limit`."""
    query = select(*(getattr(AuditEvent, name) for name in SCHEMA))
    if username:
        query = query.where(AuditEvent.username == username)
    if action:
        query = query.where(AuditEvent.action == action)
    if table:
        query = query.where(AuditEvent.table_name == table)
    if start:
        query = query.where(AuditEvent.at >= _midnight(start, end=False))
    if end:
        query = query.where(AuditEvent.at < _midnight(end, end=True))
    query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit + 1)
    with session_scope(engine) as s:
        rows = [tuple(row) for row in s.execute(query)]
    more = len(rows) > limit
    rows = [(_plain(row[0]), *row[1:]) for row in rows[:limit]]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row"), more


def _plain(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def for_display(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename(COLUMNS)


def to_csv(frame: pl.DataFrame) -> bytes:
    """CSV for download: the readable columns and the full record (action code, table, row,
    before and after as JSON); cells a spreadsheet would run as a formula are neutralised."""
    if frame.is_empty():
        return to_csv_bytes(for_display(frame))
    summary = pl.Series("What changed", [change_summary(a, b, c) for a, b, c in
                                         zip(frame["action"], frame["before"], frame["after"], strict=True)])
    labels = pl.Series("Action (in words)", [action_label(a) for a in frame["action"]])
    return to_csv_bytes(for_display(frame).with_columns(labels, summary))
