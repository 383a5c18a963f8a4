"""Course sessions, bookings within a session's seats, and the attendance register."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session

from divert.core import codes
from divert.core.field_rules import Checker, Problem
from divert.core.wording import plural
from divert.records.core import (
    Rejected,
    Saved,
    apply_changes,
    as_dict,
    as_utc,
    audit,
    check,
    editable,
    now,
    save,
    update_row,
    write,
)
from divert.records.referrals import find_referral
from divert.storage.models import Assessment, Booking, CourseSession, Referral


def add_session(values: dict, user: str, *, session=None, engine=None, upsert=False) -> Saved:
    def work(s):
        c = Checker(values)
        ref = c.reference("session_ref")
        fields = session_fields(c)
        seats = fields["seats"]
        existing = (
            s.execute(select(CourseSession).where(CourseSession.session_ref == ref)).scalars().first()
            if ref
            else None
        )
        if existing is not None and not upsert:
            c.fail("session_ref", "is already recorded")
        if existing is not None and seats is not None and seats < seats_taken(s, existing.id):
            c.fail("seats", f"is fewer than the {plural(seats_taken(s, existing.id), 'person')} already booked")
        check(c)
        row = CourseSession(session_ref=ref, **fields)
        return save(s, user, row, {"session_ref": ref}, upsert=upsert)

    return write(work, session=session, engine=engine)


def session_fields(c: Checker) -> dict:
    """A course session's own fields, checked (problems collect in `c`)."""
    return {
        "starts_at": c.moment("starts_at", required=True, future_ok=True),
        "duration_minutes": c.integer("duration_minutes", low=15, high=600) or 150,
        "mode": c.code("mode", codes.DELIVERY_MODES, required=False, upper=False) or "online",
        "seats": c.integer("seats", required=True, low=1, high=100),
        "facilitator": c.text("facilitator", max_length=40),
    }


def edit_session(session_id: int, values: dict, user: str, reason: str, expected_version: int,
                 *, engine=None) -> Saved:
    """Change a session's time, length, delivery, seats or facilitator (not below the seats
    already taken); needs a reason, and refuses if someone saved the session first."""

    def work(s):
        row = editable(s, CourseSession, session_id, expected_version, reason, "session")
        c = Checker(values)
        fields = session_fields(c)
        taken = seats_taken(s, row.id)
        if fields["seats"] is not None and fields["seats"] < taken:
            c.fail("seats", f"is fewer than the {plural(taken, 'person')} already booked")
        check(c)
        return apply_changes(s, user, row, fields, reason)

    return write(work, session=None, engine=engine)


def seats_taken(s: Session, session_id: int) -> int:
    """Seats held on a session (a void referral's booking holds none)."""
    query = select(func.count(Booking.id)).join(Referral, Referral.id == Booking.referral_id).where(
        Booking.session_id == session_id, Booking.status.in_(codes.SEAT_HOLDING), Referral.void_at.is_(None)
    )
    return s.execute(query).scalar_one()


def book(values: dict, user: str, *, session=None, engine=None, upsert=False) -> Saved:
    """Book an allocated referral into a course session, within the session's seats."""

    def work(s):
        c = Checker(values)
        referral = find_referral(s, c)
        ref = c.reference("session_ref")
        booked_at = c.moment("booked_at") or now()
        status = c.code("status", codes.BOOKING_STATUSES, required=False, upper=False) or "booked"
        course = None
        if ref:
            course = s.execute(select(CourseSession).where(CourseSession.session_ref == ref)).scalars().first()
            if course is None:
                c.fail("session_ref", "is not a known session")
            elif course.void_at is not None:
                c.fail("session_ref", "is void (entered by mistake)")
        existing = None
        if referral is not None and course is not None:
            existing = s.execute(
                select(Booking).where(Booking.referral_id == referral.id, Booking.session_id == course.id)
            ).scalars().first()
        if referral is not None and existing is None:
            allocation = s.execute(
                select(Assessment.allocation).where(Assessment.referral_id == referral.id)
            ).scalar()
            if referral.status == "closed":
                c.fail("referral_reference", "is closed")
            elif allocation != "group_course":
                c.fail("referral_reference", "is not allocated to a group course")
        if existing is not None and not upsert:
            c.fail("session_ref", "already has this referral booked")
        elif course is not None and existing is None and status in codes.SEAT_HOLDING:
            if seats_taken(s, course.id) >= course.seats:
                c.fail("session_ref", f"is full ({plural(course.seats, 'seat')})")
        check(c)
        row = Booking(referral_id=referral.id, session_id=course.id, booked_at=booked_at, status=status)
        key = {"referral_id": referral.id, "session_id": course.id}
        return save(s, user, row, key, upsert=upsert, fields=("status",))

    return write(work, session=session, engine=engine)


def mark_attendance(session_id: int, statuses: dict[int, str], user: str, *, engine=None) -> Saved:
    """The attendance register: set many bookings' status in one save."""

    def work(s):
        problems = []
        for booking_id, status in statuses.items():
            if status not in codes.BOOKING_STATUSES:
                problems.append(Problem("status", status, "is not a booking status", row=booking_id))
        bookings = {
            b.id: b for b in s.execute(select(Booking).where(Booking.session_id == session_id)).scalars()
        }
        for booking_id in statuses:
            if booking_id not in bookings:
                problems.append(Problem("booking", booking_id, "is not booked on this session"))
        if problems:
            raise Rejected(problems)
        for booking_id, status in statuses.items():
            booking = bookings[booking_id]
            if booking.status != status:
                before = as_dict(booking)
                booking.status = status
                booking.version += 1
                s.flush()
                audit(s, user, "update", "booking", booking.id, before, as_dict(booking))
        return Saved(True, session_id)

    return write(work, session=None, engine=engine)


def book_many(session_ref: str, referral_references: list[str], user: str, *, engine=None) -> Saved:
    """Book several allocated referrals into one session: all of them, or none (each with the
    same rules as `book`, the seats counted as the bookings add up)."""

    def work(s):
        if not referral_references:
            raise Rejected([Problem("referral_reference", None, "choose at least one referral to book")])
        problems = []
        for reference in referral_references:
            saved = book({"referral_reference": reference, "session_ref": session_ref}, user, session=s)
            for p in saved.problems:
                if p.field == "referral_reference":
                    problems.append(Problem(p.field, p.value, f"{reference} {p.reason}"))
                else:
                    problems.append(Problem(p.field, p.value, f"{p.reason} - {reference} was not booked"))
        if problems:
            raise Rejected(problems)
        return Saved(True, notes=[f"booked {reference}" for reference in referral_references])

    return write(work, session=None, engine=engine)


ATTENDANCE = ("attended", "completed", "no_show")


def save_register(session_id: int, statuses: dict[int, str], versions: dict[int, int], user: str,
                  *, engine=None) -> Saved:
    """The attendance register with optimistic concurrency: set the bookings' statuses in one
    save, refusing all of them if any booking changed since it was loaded (`versions`), if
    attendance is marked before the session has started, or if the seats would overflow."""

    def work(s):
        course = s.get(CourseSession, session_id)
        if course is None:
            raise Rejected([Problem("session", session_id, "is not a known session")])
        bookings = {b.id: b for b in s.execute(select(Booking).where(Booking.session_id == session_id)).scalars()}
        problems = []
        started = as_utc(course.starts_at) <= now()
        for booking_id, status in statuses.items():
            booking = bookings.get(booking_id)
            if booking is None:
                problems.append(Problem("booking", booking_id, "is not booked on this session", row=booking_id))
            elif status not in codes.BOOKING_STATUSES:
                problems.append(Problem("status", status, "is not a booking status", row=booking_id))
            elif versions.get(booking_id) != booking.version:
                problems.append(Problem("version", versions.get(booking_id),
                                        "someone else changed this register; reload it", row=booking_id))
            elif status in ATTENDANCE and status != booking.status and not started:
                problems.append(Problem("status", status, "cannot be marked before the session starts", row=booking_id))
        holding = sum(
            (statuses.get(b.id, b.status) in codes.SEAT_HOLDING) for b in bookings.values()
        )
        if holding > course.seats:
            problems.append(Problem("seats", holding, f"would be more than the session's {plural(course.seats, 'seat')}"))
        if problems:
            raise Rejected(problems)
        changed = 0
        for booking_id, status in statuses.items():
            booking = bookings[booking_id]
            if booking.status != status:
                update_row(s, user, booking, {"status": status})
                changed += 1
        return Saved(True, session_id, change="updated" if changed else "unchanged",
                     notes=[f"{plural(changed, 'booking')} changed"])

    return write(work, session=None, engine=engine)



def suggested_ref(taken: set[str], day) -> str:
    """The first free reference S-YYYYMMDD-N for a session on `day` (UK)."""
    n = 1
    while f"S-{day:%Y%m%d}-{n}" in taken:
        n += 1
    return f"S-{day:%Y%m%d}-{n}"


def refs_on(s: Session, days) -> set[str]:
    """The session references already used for these days' suggestions."""
    prefixes = {f"S-{day:%Y%m%d}-" for day in days}
    rows = s.execute(select(CourseSession.session_ref).where(
        func.substr(CourseSession.session_ref, 1, 11).in_(prefixes))).scalars()
    return set(rows)


MAX_TERM_WEEKS = 52
UK = ZoneInfo("Europe/London")


def add_term(values: dict, user: str, *, engine=None) -> Saved:
    """A term of weekly sessions: `weeks` sessions from `starts_at` (the first), one a week at
    the same UK time, each with the same length, delivery, seats and facilitator, and a
    reference made from its date (S-YYYYMMDD-N). All of them, or none."""

    def work(s):
        c = Checker(values)
        fields = session_fields(c)
        weeks = c.integer("weeks", required=True, low=1, high=MAX_TERM_WEEKS)
        check(c)
        first = fields["starts_at"].astimezone(UK)
        days = [first.date() + timedelta(weeks=n) for n in range(weeks)]
        taken = refs_on(s, days)
        made = []
        for day in days:
            ref = suggested_ref(taken, day)
            taken.add(ref)
            starts = datetime.combine(day, first.time(), tzinfo=UK).astimezone(UTC)
            saved = add_session({**values, "session_ref": ref, "starts_at": starts}, user, session=s)
            if not saved.ok:
                raise Rejected([Problem(p.field, p.value, f"{p.reason} ({ref})") for p in saved.problems])
            made.append(ref)
        return Saved(True, notes=made)

    return write(work, session=None, engine=engine)
