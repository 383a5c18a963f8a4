"""Reading the audit log for the administrator's page: filters, choices, CSV export."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import polars as pl
from sqlalchemy import select

from divert.db import session_scope
from divert.models import AuditEvent
from divert.safe_csv import to_csv_bytes

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


def choices(engine=None) -> dict[str, list[str]]:
    """The users, actions and tables that occur in the log, for the filter boxes."""
    out = {}
    with session_scope(engine) as s:
        for name, column in (("username", AuditEvent.username), ("action", AuditEvent.action),
                             ("table_name", AuditEvent.table_name)):
            out[name] = sorted(v for v in s.execute(select(column).distinct()).scalars() if v)
    return out


def _midnight(day: date, end: bool) -> datetime:
    return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=UTC)


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
    """CSV for download; cells a spreadsheet would run as a formula are neutralised."""
    return to_csv_bytes(for_display(frame))
