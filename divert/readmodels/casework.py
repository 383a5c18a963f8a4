"""Read-only queries behind the data-entry pages: finding a referral, its timeline and audit
trail, the work queues (waiting for an assessment, waiting for a course, open), course sessions
with their seats, and a session's register.

Pure functions: an engine in, dicts or polars frames out; nothing here writes. Times are stored
in UTC and come out in UK time (Europe/London), as the data-entry team reads them. Nothing here
returns a person's identifier or key: a person is described by sex, year of birth and ethnicity
only, and by their other referrals.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import and_, func, or_, select

from divert.analytics.planning import waiting as waiting_rule
from divert.core import clock, codes
from divert.core.wording import plural
from divert.records.sessions import refs_on, suggested_ref
from divert.records.sessions import seats_taken as records_seats_taken
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
QUEUE_LIMIT = 500
HOLDING_A_PLACE = ("booked", "attended", "completed")  # no-shows and cancellations wait again


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
    return "" if local is None else local.strftime("%d/%m/%Y %H:%M")


def show_day(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = uk_time(day).date()
    return day.strftime("%d/%m/%Y")


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


def search_referrals(engine, text: str, *, limit: int = SEARCH_LIMIT) -> pl.DataFrame:
    """Referrals whose referral or crime reference contains `text` (any case), newest first."""
    text = (text or "").strip()
    if not text:
        return pl.DataFrame(schema=SEARCH_SCHEMA)
    with session_scope(engine) as s:
        rows = s.execute(
            select(Referral.id, Referral.reference, Offence.crime_ref, Referral.referred_at, Offence.area, Offence.drug)
            .join(Offence, Offence.id == Referral.offence_id)
            .where(or_(Referral.reference.icontains(text, autoescape=True),
                       Offence.crime_ref.icontains(text, autoescape=True)))
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
             "assessment_booked_for": uk_time(c.assessment_booked_for)}
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
            "void": None if referral.void_at is None else {
                "at": uk_time(referral.void_at), "by": referral.void_by, "reason": referral.void_reason,
                "offence": offence.void_at is not None},
            "offence": {
                "id": offence.id, "crime_ref": offence.crime_ref, "offence_date": offence.offence_date,
                "area": offence.area, "drug": offence.drug, "source": offence.source,
                "outcome": offence.outcome, "age": offence.age,
            },
            "person": {
                "id": person.id, "sex": person.sex, "birth_year": person.birth_year,
                "ethnicity_self": person.ethnicity_self, "ethnicity_officer": person.ethnicity_officer,
            },
            "assessment": None if assessment is None else {
                **{name: getattr(assessment, name) for name in (
                    "id", "version", "contact_attempts", "result", "allocation", "worker",
                    "harm_reduction_advice", *codes.RISK_FLAGS)},
                "first_contact_at": uk_time(assessment.first_contact_at),
                "scheduled_at": uk_time(assessment.scheduled_at),
                "completed_at": uk_time(assessment.completed_at),
            },
            "bookings": booking_list,
            "contacts": contacts,
            "closure": None if closure is None else {
                "id": closure.id, "version": closure.version, "recorded_at": uk_time(closure_recorded),
                "closed_on": closure.closed_on, "result": closure.result,
                "intelligence_log_date": closure.intelligence_log_date,
                "onward_treatment": closure.onward_treatment,
            },
            "other_referrals": [
                {"reference": ref, "referred_at": uk_time(at), "status": status, "closure": result, "void": bool(void)}
                for ref, at, status, result, void in others
            ],
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


# --- the timeline and the audit trail -----------------------------------------------------
TIMELINE_SCHEMA = {"When": pl.String, "Event": pl.String, "Details": pl.String}


def timeline(engine, reference: str) -> pl.DataFrame:
    """What happened to a referral, in true order: offence, referral, contact attempts,
    assessment, bookings and sessions, closure (and a void). A day without a time (the offence)
    counts from the start of that day; the closure's day counts from the time it was recorded
    when that was on the day, else from the end of the day - after anything else that day."""
    detail = referral_detail(engine, reference)
    if detail is None:
        return pl.DataFrame(schema=TIMELINE_SCHEMA)
    events: list[tuple[datetime, bool, str, str]] = []  # (moment, shown as a day only, event, details)

    def add(moment, what, details="", *, end_of_day=False):
        if moment is None:
            return
        day_only = not isinstance(moment, datetime)
        if day_only:
            clock = datetime.max.time() if end_of_day else datetime.min.time()
            moment = datetime.combine(moment, clock, tzinfo=UK)
        events.append((moment, day_only, what, details))

    offence = detail["offence"]
    add(offence["offence_date"], "Offence recorded",
        f"{codes.DRUGS.get(offence['drug'], offence['drug'])} possession, "
        f"{codes.REFERRAL_SOURCES.get(offence['source'], offence['source']).lower()}, "
        f"{census.area_label(offence['area'])}")
    referred = ["by " + detail["referring_team"] if detail["referring_team"] else "referring team not recorded"]
    if detail["repeat"]:
        referred.append("repeat diversion (completed one before)")
    if detail["eligibility"] == "override":
        referred.append(f"offered on override: {detail['override_reason']}")
    add(detail["referred_at"], "Referred", "; ".join(referred))
    for contact in detail["contacts"]:
        text = codes.CONTACT_OUTCOMES.get(contact["outcome"], contact["outcome"]).lower()
        if contact["assessment_booked_for"]:
            text += f"; assessment booked for {show_moment(contact['assessment_booked_for'])}"
        add(contact["attempted_at"], "Contact attempt", text)
    assessment = detail["assessment"]
    if assessment:
        if not detail["contacts"]:
            add(assessment["first_contact_at"], "First contact",
                plural(assessment["contact_attempts"], "contact attempt"))
        add(assessment["scheduled_at"], "Assessment booked for", "")
        flags = [label for name, label in codes.RISK_FLAGS.items() if assessment[name]] or ["none"]
        summary = [
            f"result: {codes.ASSESSMENT_RESULTS[assessment['result']].lower()}",
            plural(assessment["contact_attempts"], "contact attempt"),
            "risk flags: " + ", ".join(flags).lower(),
            "harm-reduction advice given" if assessment["harm_reduction_advice"] else "no harm-reduction advice recorded",
        ]
        if assessment["allocation"]:
            summary.append("allocated to " + codes.ALLOCATIONS[assessment["allocation"]].lower())
        when = assessment["completed_at"] or assessment["first_contact_at"] or assessment["scheduled_at"]
        if when is None:  # no contact or declined with no time: after the referral
            when = detail["referred_at"]
        add(when, "Assessment", "; ".join(summary))
    for booking in detail["bookings"]:
        add(booking["booked_at"], "Booked on a course session",
            f"session {booking['session_ref']} on {show_moment(booking['starts_at'])} "
            f"({codes.DELIVERY_MODES.get(booking['mode'], booking['mode']).lower()})")
        add(booking["starts_at"], "Course session",
            f"session {booking['session_ref']}: {codes.BOOKING_STATUSES[booking['status']].lower()}")
    closure = detail["closure"]
    if closure:
        text = codes.CLOSURE_RESULTS[closure["result"]]
        if closure["intelligence_log_date"]:
            text += f" on {show_day(closure['intelligence_log_date'])}"
        if closure["onward_treatment"]:
            text += "; referred on into structured treatment"
        recorded = closure["recorded_at"]
        if recorded is not None and recorded.date() == closure["closed_on"]:
            add(recorded, "Closed", text)
        else:
            add(closure["closed_on"], "Closed", text, end_of_day=True)
    if detail["void"]:
        add(detail["void"]["at"], "Void", f"entered by mistake: {detail['void']['reason']} (by {detail['void']['by']})")
    events.sort(key=lambda e: e[0])
    return pl.DataFrame(
        {
            "When": [show_day(m.date()) if day_only else show_moment(m) for m, day_only, _, _ in events],
            "Event": [e[2] for e in events],
            "Details": [e[3] for e in events],
        },
        schema=TIMELINE_SCHEMA,
    )


CHANGES_SCHEMA = {"When": pl.String, "By": pl.String, "Action": pl.String, "Record": pl.String,
                  "What changed": pl.String, "Reason": pl.String}
_RECORD_NAMES = {"offence": "Offence", "referral": "Referral", "assessment": "Assessment", "person": "Person",
                 "contact_attempt": "Contact attempt",
                 "booking": "Booking", "closure": "Closure"}
ACTIONS = {"create": "Recorded", "update": "Changed", "void": "Voided", "undo void": "Void undone"}
_HIDDEN_FIELDS = {"version", "id", "demo", "force", "person_id", "offence_id", "referral_id", "session_id"}


def audit_trail(engine, reference: str) -> pl.DataFrame:
    """Every audited change to the referral and its offence, assessment, bookings and closure:
    who, when, what changed and why."""
    detail = referral_detail(engine, reference)
    if detail is None:
        return pl.DataFrame(schema=CHANGES_SCHEMA)
    rows = {"referral": [detail["id"]], "offence": [detail["offence"]["id"]], "person": [detail["person"]["id"]],
            "booking": [b["booking_id"] for b in detail["bookings"]],
            "contact_attempt": [c["id"] for c in detail["contacts"]]}
    if detail["assessment"]:
        rows["assessment"] = [detail["assessment"]["id"]]
    if detail["closure"]:
        rows["closure"] = [detail["closure"]["id"]]
    conditions = [
        and_(AuditEvent.table_name == table, AuditEvent.row_id.in_([str(i) for i in ids]))
        for table, ids in rows.items() if ids
    ]
    with session_scope(engine) as s:
        events = s.execute(select(AuditEvent).where(or_(*conditions)).order_by(AuditEvent.at, AuditEvent.id)).scalars().all()
    return pl.DataFrame(
        {
            "When": [show_moment(e.at) for e in events],
            "By": [e.username for e in events],
            "Action": [ACTIONS.get(e.action, e.action) for e in events],
            "Record": [_RECORD_NAMES.get(e.table_name, e.table_name) for e in events],
            "What changed": [_changed(e) for e in events],
            "Reason": [e.reason or "" for e in events],
        },
        schema=CHANGES_SCHEMA,
    )


def _changed(event: AuditEvent) -> str:
    before = json.loads(event.before) if event.before else {}
    after = json.loads(event.after) if event.after else {}
    if not before:
        return ""
    if event.action in ("void", "undo void"):
        return "marked void" if event.action == "void" else "void undone"
    parts = []
    if before.get("person_id") != after.get("person_id"):
        parts.append("moved to another person")
    for name in sorted(set(before) | set(after)):
        if name in _HIDDEN_FIELDS or before.get(name) == after.get(name):
            continue
        parts.append(f"{name.replace('_', ' ')}: {_shown(before.get(name), name)} → {_shown(after.get(name), name)}")
    return "; ".join(parts)


def _shown(value, name: str = "") -> str:
    if value is None or value == "":
        return "(blank)"
    labels = {"area": census.area_label, "drug": codes.DRUGS.get, "source": codes.REFERRAL_SOURCES.get}.get(name)
    return str(labels(value) or value) if labels else str(value)


# --- work queues --------------------------------------------------------------------------
QUEUE_SCHEMA = {"Referral": pl.String, "Referred": pl.String, "Area": pl.String, "Days waiting": pl.Int64}


def _open_pathway(s) -> pl.DataFrame:
    """Every open referral with what the waiting rule needs (divert.analytics.planning.waiting): its
    reference, area, referral time and UK day, assessment result, time and allocation, closure
    day, and whether it holds a place on a session now (a booking booked, attended or
    completed)."""
    holding = (
        select(Booking.id)
        .where(Booking.referral_id == Referral.id, Booking.status.in_(HOLDING_A_PLACE))
        .exists()
    )
    rows = s.execute(
        select(Referral.id, Referral.reference, Referral.referred_at, Offence.area, Assessment.result,
               Assessment.completed_at, Assessment.allocation, Closure.closed_on, holding)
        .join(Offence, Offence.id == Referral.offence_id)
        .outerjoin(Assessment, Assessment.referral_id == Referral.id)
        .outerjoin(Closure, Closure.referral_id == Referral.id)
        .where(Referral.status == "open", Referral.void_at.is_(None))
    ).all()
    return pl.DataFrame(
        {
            "referral_id": [r[0] for r in rows],
            "reference": [r[1] for r in rows],
            "referred_at": [uk_time(r[2]) for r in rows],
            "referred_on": [uk_time(r[2]).date() for r in rows],
            "area": [r[3] for r in rows],
            "assessment_result": [r[4] for r in rows],
            "assessed_at": [uk_time(r[5]) for r in rows],
            "allocation": [r[6] for r in rows],
            "closed_on": [r[7] for r in rows],
            "holds_place_now": [bool(r[8]) for r in rows],
        },
        schema={"referral_id": pl.Int64, "reference": pl.String, "referred_at": pl.Datetime("us", "Europe/London"),
                "referred_on": pl.Date, "area": pl.String, "assessment_result": pl.String,
                "assessed_at": pl.Datetime("us", "Europe/London"), "allocation": pl.String, "closed_on": pl.Date,
                "holds_place_now": pl.Boolean},
    )


def awaiting_assessment(engine, *, limit: int = QUEUE_LIMIT, today: date | None = None) -> pl.DataFrame:
    """Open referrals waiting for an assessment (divert.analytics.planning.waiting: the rule the
    capacity figures use too), longest waiting first, with the wait in calendar days and in
    working days (the unit of the assessment target)."""
    today = today or uk_today()
    with session_scope(engine) as s:
        frame = waiting_rule.awaiting_assessment(_open_pathway(s), today).head(limit)
    rows = list(zip(frame["reference"], frame["referred_at"], frame["area"], strict=True))
    return _queue(rows, today).with_columns(frame["working_days"].alias("Working days"))


def open_referrals(engine, *, limit: int = QUEUE_LIMIT) -> pl.DataFrame:
    """Open referrals (not yet closed) with where they are, longest open first."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(Referral.id, Referral.reference, Referral.referred_at, Offence.area)
            .join(Offence, Offence.id == Referral.offence_id)
            .where(Referral.status == "open", Referral.void_at.is_(None))
            .order_by(Referral.referred_at, Referral.id)
            .limit(limit)
        ).all()
        stages = _stages(s, [r[0] for r in rows])
    frame = _queue([r[1:] for r in rows])
    return frame.with_columns(pl.Series("Stage", [stages.get(r[0], "") for r in rows], dtype=pl.String))


def waiting_list(engine, *, limit: int = QUEUE_LIMIT, today: date | None = None) -> pl.DataFrame:
    """Open referrals allocated to a group course with no place held on a session (never
    booked, or a no-show or cancellation since), longest waiting first from the assessment:
    divert.analytics.planning.waiting.awaiting_course, the rule the capacity figures use too."""
    today = today or uk_today()
    with session_scope(engine) as s:
        frame = waiting_rule.awaiting_course(_open_pathway(s), today).head(limit)
    rows = list(zip(frame["reference"], frame["assessed_at"], frame["area"], strict=True))
    return _queue(rows, today).rename({"Referred": "Assessed"})


def _queue(rows, today: date | None = None) -> pl.DataFrame:
    today = today or uk_today()
    return pl.DataFrame(
        {
            "Referral": [r[0] for r in rows],
            "Referred": [show_moment(r[1]) for r in rows],
            "Area": [census.area_label(r[2]) for r in rows],
            "Days waiting": [(today - uk_time(r[1]).date()).days if r[1] else None for r in rows],
        },
        schema=QUEUE_SCHEMA,
    )


# --- course sessions ----------------------------------------------------------------------
SESSIONS_SCHEMA = {
    "session_id": pl.Int64, "version": pl.Int64, "Session": pl.String, "Starts": pl.String,
    "Minutes": pl.Int64, "Delivery": pl.String, "Facilitator": pl.String, "Seats": pl.Int64,
    "Taken": pl.Int64, "Free": pl.Int64, "starts_at": pl.Datetime("us", "Europe/London"),
}


def sessions(engine, *, upcoming: bool | None = None, days_back: int | None = None,
             now: datetime | None = None) -> pl.DataFrame:
    """Course sessions with seats taken and free, in start order. `upcoming=True` keeps those
    not yet started (divert.analytics.planning.waiting.upcoming_sessions, as the capacity figures),
    `False` those started; `days_back` keeps sessions from that many days ago onwards."""
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
    return frame.with_columns(pl.max_horizontal(pl.col("seats") - pl.col("booked"), pl.lit(0)).alias("free")).select(
        *[c for c in SESSIONS_SCHEMA if c not in ("Seats", "Taken", "Free", "starts_at")],
        pl.col("seats").alias("Seats"), pl.col("booked").alias("Taken"), pl.col("free").alias("Free"), "starts_at",
    ).cast(SESSIONS_SCHEMA)


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


def next_session_ref(engine, day: date) -> str:
    """The reference a new session on `day` is given unless the user types another."""
    with session_scope(engine) as s:
        return suggested_ref(refs_on(s, [day]), day)


def register_default(frame: pl.DataFrame, today: date) -> int | None:
    """The session the attendance register opens on (a casework.sessions frame): today's or
    the next session with anyone booked; else the last one with anyone booked; else the newest."""
    if not frame.height:
        return None
    booked = frame.filter(pl.col("Taken") > 0)
    ahead = booked.filter(pl.col("starts_at").dt.date() >= today).sort("starts_at")
    if ahead.height:
        return ahead["session_id"][0]
    if booked.height:
        return booked.sort("starts_at")["session_id"][-1]
    return frame.sort("starts_at")["session_id"][-1]
