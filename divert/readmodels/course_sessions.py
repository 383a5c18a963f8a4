"""Course sessions, read-only: the sessions with their seats taken and free, one session's details,
its register (every booking with its status), the reference a new session is given, and the
session the attendance register opens on; and the same frames as the Course sessions page shows
them (labels to choose a session by, the sessions around today, the register's rows and the
changes made in it). Times come out in UK time (divert.readmodels.casework).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import func, select

from divert.analytics.planning import waiting as waiting_rule
from divert.core import codes
from divert.readmodels.casework import UK, show_moment, uk_time
from divert.records.sessions import refs_on, suggested_ref
from divert.records.sessions import seats_taken as records_seats_taken
from divert.storage.db import session_scope
from divert.storage.models import Booking, CourseSession, Referral

SESSIONS_SCHEMA = {
    "session_id": pl.Int64, "version": pl.Int64, "Session": pl.String, "Starts": pl.String,
    "Minutes": pl.Int64, "Delivery": pl.String, "Facilitator": pl.String, "Seats": pl.Int64,
    "Taken": pl.Int64, "Free": pl.Int64, "starts_at": pl.Datetime("us", "Europe/London"),
}


def sessions(engine, *, upcoming: bool | None = None, days_back: int | None = None,
             now: datetime | None = None, newest_first: bool = False) -> pl.DataFrame:
    """Course sessions with seats taken and free, in start order (or newest first). `upcoming=True`
    keeps those not yet started (divert.analytics.planning.waiting.upcoming_sessions, as the
    capacity figures), `False` those started; `days_back` keeps sessions from that many days ago
    onwards."""
    taken = (
        select(Booking.session_id, func.count(Booking.id).label("taken"))
        .join(Referral, Referral.id == Booking.referral_id)
        .where(Booking.status.in_(codes.SEAT_HOLDING), Referral.void_at.is_(None))
        .group_by(Booking.session_id)
        .subquery()
    )
    now = now or datetime.now(UTC)
    query = (
        select(CourseSession, func.coalesce(taken.c.taken, 0))
        .outerjoin(taken, taken.c.session_id == CourseSession.id)
        .where(CourseSession.void_at.is_(None))
        .order_by(CourseSession.starts_at, CourseSession.id)
    )
    if days_back is not None:
        query = query.where(CourseSession.starts_at >= now - timedelta(days=days_back))
    with session_scope(engine) as s:
        rows = s.execute(query).all()
    frame = pl.DataFrame(
        {
            "session_id": [c.id for c, _ in rows],
            "version": [c.version for c, _ in rows],
            "Session": [c.session_ref for c, _ in rows],
            "Starts": [show_moment(c.starts_at) for c, _ in rows],
            "Minutes": [c.duration_minutes for c, _ in rows],
            "Delivery": [codes.DELIVERY_MODES.get(c.mode, c.mode) for c, _ in rows],
            "Facilitator": [c.facilitator or "" for c, _ in rows],
            "seats": [c.seats for c, _ in rows],
            "booked": [int(n) for _, n in rows],
            "starts_at": [uk_time(c.starts_at) for c, _ in rows],
        },
        schema={**{k: v for k, v in SESSIONS_SCHEMA.items() if k not in ("Seats", "Taken", "Free")},
                "seats": pl.Int64, "booked": pl.Int64},
    )
    ahead = waiting_rule.upcoming_sessions(frame, now)
    if upcoming is True:
        frame = ahead
    elif upcoming is False:
        frame = frame.filter(~pl.col("session_id").is_in(ahead["session_id"].implode()))
    frame = frame.with_columns(pl.max_horizontal(pl.col("seats") - pl.col("booked"), pl.lit(0)).alias("free")).select(
        *[c for c in SESSIONS_SCHEMA if c not in ("Seats", "Taken", "Free", "starts_at")],
        pl.col("seats").alias("Seats"), pl.col("booked").alias("Taken"), pl.col("free").alias("Free"), "starts_at",
    ).cast(SESSIONS_SCHEMA)
    return frame.reverse() if newest_first else frame


def listed(frame: pl.DataFrame) -> pl.DataFrame:
    """A sessions frame as the page lists it: without the ids, versions and start times kept
    for sorting."""
    return frame.drop("session_id", "version", "starts_at")


def bookable(frame: pl.DataFrame) -> pl.DataFrame:
    """The sessions of a sessions frame with a seat free."""
    return frame.filter(pl.col("Free") > 0)


def labels(frame: pl.DataFrame) -> dict[int, str]:
    """Each session of a sessions frame, by id, as a line to choose it by: its reference, start,
    delivery and free seats."""
    return {
        row["session_id"]: f"{row['Session']} · {row['Starts']} · {row['Delivery'].lower()} · "
                           f"{row['Free']} of {row['Seats']} seats free"
        for row in frame.iter_rows(named=True)
    }


def session_refs(frame: pl.DataFrame) -> dict[int, str]:
    """The references of a sessions frame's sessions, by id."""
    return dict(zip(frame["session_id"], frame["Session"], strict=True))


def referral_refs(frame: pl.DataFrame) -> list[str]:
    """The referral references of a list with a "Referral" column (the waiting list), in order."""
    return list(frame["Referral"])


def session_detail(engine, session_id: int) -> dict | None:
    with session_scope(engine) as s:
        row = s.get(CourseSession, session_id)
        if row is None:
            return None
        taken = records_seats_taken(s, session_id)
    starts = uk_time(row.starts_at)
    return {
        "id": row.id, "session_ref": row.session_ref, "starts_at": starts, "duration_minutes": row.duration_minutes,
        "mode": row.mode, "seats": row.seats, "facilitator": row.facilitator, "version": row.version,
        "taken": taken, "free": max(row.seats - taken, 0), "started": starts <= datetime.now(UK),
    }


REGISTER_SCHEMA = {"booking_id": pl.Int64, "version": pl.Int64, "Referral": pl.String, "Booked": pl.String,
                   "Status": pl.String}


def session_bookings(engine, session_id: int) -> pl.DataFrame:
    """A session's register: every booking with its status (a code), in booking order."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(Booking.id, Booking.version, Referral.reference, Booking.booked_at, Booking.status)
            .join(Referral, Referral.id == Booking.referral_id)
            .where(Booking.session_id == session_id, Referral.void_at.is_(None))
            .order_by(Booking.booked_at, Booking.id)
        ).all()
    return pl.DataFrame(
        {
            "booking_id": [r[0] for r in rows],
            "version": [r[1] for r in rows],
            "Referral": [r[2] for r in rows],
            "Booked": [show_moment(r[3]) for r in rows],
            "Status": [r[4] for r in rows],
        },
        schema=REGISTER_SCHEMA,
    )


def register_rows(register: pl.DataFrame) -> list[dict]:
    """Each booking of a register as the page asks about it: its id, its referral, when it was
    booked and its status (a code), in booking order."""
    return register.select("booking_id", "Referral", "Booked", "Status").to_dicts()


def register_referrals(register: pl.DataFrame) -> dict[int, str]:
    """The referral of each booking in a register, by booking id."""
    return dict(zip(register["booking_id"], register["Referral"], strict=True))


def register_changes(register: pl.DataFrame, chosen: dict[int, str | None]) -> tuple[dict[int, str], dict[int, int]]:
    """The statuses changed in the register (`chosen`: the status code picked for each booking
    id) by booking id, and each of those bookings' version as the register was loaded. A
    booking left as it was, or with nothing picked, is not a change."""
    statuses, versions = {}, {}
    for row in register.iter_rows(named=True):
        status = chosen.get(row["booking_id"])
        if status and status != row["Status"]:
            statuses[row["booking_id"]] = status
            versions[row["booking_id"]] = row["version"]
    return statuses, versions


def next_session_ref(engine, day: date) -> str:
    """The reference a new session on `day` is given unless the user types another."""
    with session_scope(engine) as s:
        return suggested_ref(refs_on(s, [day]), day)


def around(frame: pl.DataFrame, now: datetime, *, weeks_back: int = 4, weeks_ahead: int = 8) -> pl.DataFrame:
    """The sessions of a sessions frame centred on `now`: those that started in the last
    `weeks_back` weeks and those starting in the next `weeks_ahead`, in start order - the
    recent and upcoming sessions a caseworker works on, not the whole history."""
    now = now.astimezone(UK)  # as the frame's start times (a moment in any zone)
    start, end = now - timedelta(weeks=weeks_back), now + timedelta(weeks=weeks_ahead)
    return frame.filter(pl.col("starts_at").is_between(start, end)).sort("starts_at", "session_id")


def register_default(frame: pl.DataFrame, now: datetime) -> int | None:
    """The session the attendance register opens on (a sessions frame): the latest session that
    has started with anyone booked (attendance is marked after the session starts); else the next
    with anyone booked; else the latest started; else the first."""
    if not frame.height:
        return None
    ordered = frame.sort("starts_at", "session_id")
    started = ordered.filter(pl.col("starts_at") <= now.astimezone(UK))
    booked = pl.col("Taken") > 0
    for candidates, last in ((started.filter(booked), True), (ordered.filter(booked), False), (started, True)):
        if candidates.height:
            return candidates["session_id"][-1 if last else 0]
    return ordered["session_id"][0]
