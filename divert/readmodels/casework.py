"""Read-only queries behind the data-entry pages: finding a referral, what the pages show about it
(its stage, the person without any identifier, their other referrals, the pathway so far), and
the area a new offence's form starts from. Its timeline and audit trail are in
divert.readmodels.referral_history, the work queues in divert.readmodels.work_queues, and course
sessions with their seats and registers in divert.readmodels.course_sessions; the times helpers
here (UK time, shown as the data-entry team reads it) serve them all.

Pure functions: an engine in, dicts or polars frames out; nothing here writes. Times are stored
in UTC and come out in UK time (Europe/London), as the data-entry team reads them. Nothing here
returns a person's identifier or key: a person is described by sex, year of birth and ethnicity
only, and by their other referrals.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import func, or_, select

from divert.core import clock, codes, wording
from divert.core.wording import plural
from divert.reference import census
from divert.storage.db import session_scope
from divert.storage.models import (
    Assessment,
    AuditEvent,
    Booking,
    Closure,
    ContactAttempt,
    CourseSession,
    Offence,
    Person,
    Referral,
)

UK = ZoneInfo("Europe/London")
SEARCH_LIMIT = 50


# --- times --------------------------------------------------------------------------------
def uk_time(moment: datetime | None) -> datetime | None:
    """A stored moment (UTC; SQLite drops the zone) in UK time."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UK)


def uk_today() -> date:
    return clock.today()


def show_moment(moment: datetime | None) -> str:
    local = uk_time(moment)
    return "" if local is None else wording.moment(local)  # "5 Dec 2026 14:03", UK time


def show_day(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = uk_time(day).date()
    return wording.day(day)


# --- stages of a referral -----------------------------------------------------------------
VOID_STAGE = "Void - entered by mistake"


def stage(status: str, assessment_result: str | None, allocation: str | None, booking_statuses,
          closure_result: str | None, void: bool = False) -> str:
    """Where a referral is on the pathway, in the team's words."""
    if void:
        return VOID_STAGE
    if status == "closed":
        return "Closed - " + ("complied" if closure_result == "complied" else "not engaged")
    statuses = set(booking_statuses or ())
    if "completed" in statuses:
        return "Course completed - ready to close"
    if "attended" in statuses:
        return "Attended a session"
    if "booked" in statuses:
        return "Booked on a session"
    if assessment_result is None:
        return "Waiting for an assessment"
    if assessment_result != "completed":
        return f"Assessment: {codes.ASSESSMENT_RESULTS[assessment_result].lower()}"
    if allocation == "group_course":
        return "Waiting for a course place"
    if allocation:
        return f"Allocated: {codes.ALLOCATIONS[allocation].lower()}"
    return "Assessed, not allocated"


def _stages(s, referral_ids: list[int]) -> dict[int, str]:
    if not referral_ids:
        return {}
    rows = s.execute(
        select(Referral.id, Referral.status, Assessment.result, Assessment.allocation, Closure.result,
               Referral.void_at.is_not(None))
        .outerjoin(Assessment, Assessment.referral_id == Referral.id)
        .outerjoin(Closure, Closure.referral_id == Referral.id)
        .where(Referral.id.in_(referral_ids))
    ).all()
    bookings: dict[int, list[str]] = {}
    for referral_id, status in s.execute(
        select(Booking.referral_id, Booking.status).where(Booking.referral_id.in_(referral_ids))
    ):
        bookings.setdefault(referral_id, []).append(status)
    return {
        rid: stage(status, result, allocation, bookings.get(rid), closure, bool(void))
        for rid, status, result, allocation, closure, void in rows
    }


# --- finding a referral -------------------------------------------------------------------
SEARCH_SCHEMA = {
    "referral_id": pl.Int64, "Referral": pl.String, "Crime reference": pl.String, "Referred": pl.String,
    "Area": pl.String, "Drug": pl.String, "Stage": pl.String,
}


DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


def typed_date(text: str) -> date | None:
    """The day a search names when it is a whole date (03/12/2026, 3/12/2026, 2026-12-03,
    03-12-2026 or 03.12.2026), else None."""
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), form).date()
        except ValueError:
            continue
    return None


def _uk_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UK day `day` in UTC: its first moment and the next day's."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UK)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UK)
    return start.astimezone(UTC), end.astimezone(UTC)


def search_referrals(engine, text: str, *, limit: int = SEARCH_LIMIT) -> pl.DataFrame:
    """Referrals whose referral or crime reference contains `text` (any case), newest first. A
    whole date typed (see typed_date) finds the referrals made on that very day (UK time), or
    with that exact reference - not every reference with those characters in it."""
    text = (text or "").strip()
    if not text:
        return pl.DataFrame(schema=SEARCH_SCHEMA)
    day = typed_date(text)
    if day is not None:
        start, end = _uk_day_bounds(day)
        match = or_((Referral.referred_at >= start) & (Referral.referred_at < end),
                    Referral.reference == text, Offence.crime_ref == text)
    else:
        match = or_(Referral.reference.icontains(text, autoescape=True),
                    Offence.crime_ref.icontains(text, autoescape=True))
    with session_scope(engine) as s:
        rows = s.execute(
            select(Referral.id, Referral.reference, Offence.crime_ref, Referral.referred_at, Offence.area, Offence.drug)
            .join(Offence, Offence.id == Referral.offence_id)
            .where(match)
            .order_by(Referral.referred_at.desc(), Referral.id.desc())
            .limit(limit)
        ).all()
        stages = _stages(s, [r[0] for r in rows])
    return pl.DataFrame(
        {
            "referral_id": [r[0] for r in rows],
            "Referral": [r[1] for r in rows],
            "Crime reference": [r[2] for r in rows],
            "Referred": [show_moment(r[3]) for r in rows],
            "Area": [census.area_label(r[4]) for r in rows],
            "Drug": [codes.DRUGS.get(r[5], r[5]) for r in rows],
            "Stage": [stages.get(r[0], "") for r in rows],
        },
        schema=SEARCH_SCHEMA,
    )


def referral_detail(engine, reference: str | None) -> dict | None:
    """Everything the pages show about one referral (by its reference), or None."""
    reference = (reference or "").strip()
    if not reference:
        return None
    with session_scope(engine) as s:
        referral = s.execute(select(Referral).where(Referral.reference == reference)).scalars().first()
        if referral is None:
            return None
        offence = s.get(Offence, referral.offence_id)
        person = s.get(Person, referral.person_id)
        assessment = s.execute(select(Assessment).where(Assessment.referral_id == referral.id)).scalars().first()
        closure = s.execute(select(Closure).where(Closure.referral_id == referral.id)).scalars().first()
        bookings = s.execute(
            select(Booking, CourseSession)
            .join(CourseSession, CourseSession.id == Booking.session_id)
            .where(Booking.referral_id == referral.id)
            .order_by(CourseSession.starts_at)
        ).all()
        others = s.execute(
            select(Referral.reference, Referral.referred_at, Referral.status, Closure.result,
                   Referral.void_at.is_not(None))
            .outerjoin(Closure, Closure.referral_id == Referral.id)
            .where(Referral.person_id == referral.person_id, Referral.id != referral.id)
            .order_by(Referral.referred_at)
        ).all()
        contacts = [
            {"id": c.id, "attempted_at": uk_time(c.attempted_at), "outcome": c.outcome,
             "assessment_booked_for": uk_time(c.assessment_booked_for), "worker": c.worker}
            for c in s.execute(select(ContactAttempt).where(ContactAttempt.referral_id == referral.id)
                               .order_by(ContactAttempt.attempted_at)).scalars()
        ]
        closure_recorded = None if closure is None else s.execute(
            select(func.min(AuditEvent.at)).where(AuditEvent.table_name == "closure", AuditEvent.action == "create",
                                                  AuditEvent.row_id == str(closure.id))).scalar()
        booking_list = [
            {
                "booking_id": b.id, "session_id": c.id, "session_ref": c.session_ref,
                "starts_at": uk_time(c.starts_at), "mode": c.mode, "status": b.status,
                "booked_at": uk_time(b.booked_at),
            }
            for b, c in bookings
        ]
        return {
            "id": referral.id,
            "reference": referral.reference,
            "version": referral.version,
            "referred_at": uk_time(referral.referred_at),
            "referring_team": referral.referring_team,
            "status": referral.status,
            "eligibility": referral.eligibility,
            "override_reason": referral.override_reason,
            "repeat": referral.repeat,
            "stage": stage(referral.status, assessment.result if assessment else None,
                           assessment.allocation if assessment else None,
                           [b["status"] for b in booking_list], closure.result if closure else None,
                           referral.void_at is not None),
            "void": _void_fields(referral, offence),
            "offence": {
                "id": offence.id, "crime_ref": offence.crime_ref, "offence_date": offence.offence_date,
                "area": offence.area, "drug": offence.drug, "source": offence.source,
                "outcome": offence.outcome, "age": offence.age,
            },
            "person": {
                "id": person.id, "sex": person.sex, "birth_year": person.birth_year,
                "ethnicity_self": person.ethnicity_self, "ethnicity_officer": person.ethnicity_officer,
            },
            "assessment": _assessment_fields(assessment),
            "bookings": booking_list,
            "contacts": contacts,
            "closure": _closure_fields(closure, closure_recorded),
            "other_referrals": [
                {"reference": ref, "referred_at": uk_time(at), "status": status, "closure": result, "void": bool(void)}
                for ref, at, status, result, void in others
            ],
        }


def _void_fields(referral: Referral, offence: Offence) -> dict | None:
    return None if referral.void_at is None else {
        "at": uk_time(referral.void_at), "by": referral.void_by, "reason": referral.void_reason,
        "offence": offence.void_at is not None}


def _assessment_fields(assessment: Assessment | None) -> dict | None:
    return None if assessment is None else {
        **{name: getattr(assessment, name) for name in (
            "id", "version", "contact_attempts", "result", "allocation", "worker",
            "harm_reduction_advice", *codes.RISK_FLAGS)},
        "first_contact_at": uk_time(assessment.first_contact_at),
        "scheduled_at": uk_time(assessment.scheduled_at),
        "completed_at": uk_time(assessment.completed_at),
    }


def _closure_fields(closure: Closure | None, recorded: datetime | None) -> dict | None:
    return None if closure is None else {
        "id": closure.id, "version": closure.version, "recorded_at": uk_time(recorded),
        "closed_on": closure.closed_on, "result": closure.result,
        "intelligence_log_date": closure.intelligence_log_date,
        "onward_treatment": closure.onward_treatment,
    }


def describe_person(detail: dict) -> str:
    """Who the referral is about, without any identifier: sex, year of birth, ethnicity."""
    person = detail["person"]
    sex = person["sex"]
    parts = [codes.SEXES[sex] if sex in ("M", "F", "X") else "sex not known"]
    parts.append(f"born {person['birth_year']}" if person["birth_year"] else "year of birth not recorded")
    self_defined = person["ethnicity_self"]
    parts.append("self-defined ethnicity " + (
        f"{codes.ETHNICITY_SELF[self_defined]} ({self_defined})" if self_defined else "not recorded"))
    officer = person["ethnicity_officer"]
    parts.append("officer-defined " + (f"{codes.ETHNICITY_OFFICER[officer]} ({officer})" if officer else "not recorded"))
    return ", ".join(parts)


def describe_history(detail: dict) -> str:
    """The person's other referrals, as the eligibility check sees them."""
    others = detail["other_referrals"]
    if not others:
        return "No other referrals of this person."
    parts = []
    for other in others:
        if other["void"]:
            outcome = "void"
        elif other["closure"] == "complied":
            outcome = "complied"
        elif other["closure"] == "not_engaged":
            outcome = "not engaged (intelligence log)"
        else:
            outcome = "open"
        parts.append(f"{other['reference']} ({show_day(other['referred_at'])}, {outcome})")
    return f"{plural(len(others), 'other referral')} of this person: " + "; ".join(parts) + "."


def describe_progress(detail: dict) -> str:
    """The pathway so far, for deciding how to close: assessment, allocation, course."""
    assessment = detail["assessment"]
    facts = ["Assessment: " + (codes.ASSESSMENT_RESULTS[assessment["result"]].lower() if assessment else "none recorded")]
    if assessment and assessment["allocation"]:
        facts.append("allocated to " + codes.ALLOCATIONS[assessment["allocation"]].lower())
    attended = sum(b["status"] in ("attended", "completed") for b in detail["bookings"])
    completed = sum(b["status"] == "completed" for b in detail["bookings"])
    facts.append(f"{plural(len(detail['bookings']), 'course booking')}, {attended} attended"
                 + (", course completed" if completed else ""))
    return "; ".join(facts) + "."


# --- defaults -----------------------------------------------------------------------------
def last_area(engine, username: str) -> str | None:
    """The local policing area of the last offence this user recorded (with a referral or
    alone): the area a caseworker most likely works in."""
    with session_scope(engine) as s:
        row_id = s.execute(
            select(AuditEvent.row_id)
            .where(AuditEvent.username == username, AuditEvent.table_name == "offence", AuditEvent.action == "create")
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(1)
        ).scalar()
        if row_id is None:
            return None
        offence = s.get(Offence, int(row_id))
        return offence.area if offence is not None else None
