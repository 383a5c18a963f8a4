"""A referral's history, read-only: its timeline (what happened, in true order) and its audit trail
(every audited change: who, when, what changed and why), from divert.readmodels.casework's
referral_detail. Times come out in UK time; no person identifier is shown.
"""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl
from sqlalchemy import and_, or_, select

from divert.core import codes
from divert.core.wording import plural
from divert.readmodels.casework import UK, referral_detail, show_day, show_moment
from divert.reference import census
from divert.storage.db import session_scope
from divert.storage.models import AuditEvent

# --- the timeline -----------------------------------------------------------------------------
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
    _add_assessment(add, detail)
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


def _add_assessment(add, detail: dict) -> None:
    """The timeline's assessment events: the first contact (when no attempt is listed), the time
    it was booked for, and the assessment itself."""
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


# --- the audit trail --------------------------------------------------------------------------
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
