"""Course sessions, bookings within a session's seats, and the attendance register."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from divert import codes
from divert.models import Assessment, Booking, CourseSession
from divert.records.core import Rejected, Saved, as_dict, audit, check, now, save, write
from divert.records.pathway import find_referral
from divert.validation import Checker, Problem


def add_session(values: dict, user: str, *, session=None, engine=None, upsert=False) -> Saved:
    def work(s):
        c = Checker(values)
        ref = c.reference("session_ref")
        starts_at = c.moment("starts_at", required=True, future_ok=True)
        duration = c.integer("duration_minutes", low=15, high=600) or 150
        mode = c.code("mode", codes.DELIVERY_MODES, required=False, upper=False) or "online"
        seats = c.integer("seats", required=True, low=1, high=100)
        facilitator = c.text("facilitator", max_length=40)
        existing = (
            s.execute(select(CourseSession).where(CourseSession.session_ref == ref)).scalars().first()
            if ref
            else None
        )
        if existing is not None and not upsert:
            c.fail("session_ref", "is already recorded")
        if existing is not None and seats is not None and seats < seats_taken(s, existing.id):
            c.fail("seats", f"is fewer than the {seats_taken(s, existing.id)} people already booked")
        check(c)
        row = CourseSession(
            session_ref=ref,
            starts_at=starts_at,
            duration_minutes=duration,
            mode=mode,
            seats=seats,
            facilitator=facilitator,
        )
        return save(s, user, row, {"session_ref": ref}, upsert=upsert)

    return write(work, session=session, engine=engine)


def seats_taken(s: Session, session_id: int) -> int:
    query = select(func.count(Booking.id)).where(
        Booking.session_id == session_id, Booking.status.in_(codes.SEAT_HOLDING)
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
                c.fail("session_ref", f"is full ({course.seats} seats)")
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
