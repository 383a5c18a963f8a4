"""The caseworkers' worklist: every open referral (not void) with its next action, how long it
has waited for it, and whether it is overdue against the service targets.

The stages come from divert.analytics.planning.waiting.next_actions (the rule the work queues and the
capacity figures use); this module only reads what that rule needs from the database and
words the result. Read-only; times in UK time; no person identifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import case, func, select

from divert.analytics.planning import waiting as waiting_rule
from divert.core import codes, wording
from divert.core.wording import plural
from divert.readmodels.casework import show_day, show_moment, uk_time
from divert.readmodels.work_queues import _open_pathway
from divert.records import stored_settings
from divert.reference import census
from divert.storage.db import session_scope
from divert.storage.models import Booking, ContactAttempt, CourseSession, Offence, Referral

ACTIONS = waiting_rule.NEXT_ACTIONS
OVERDUE = "Overdue against the targets"
SCHEMA = {
    "Referral": pl.String, "Next action": pl.String, "Days waiting": pl.Int64, "Working days": pl.Int64,
    "Overdue": pl.Boolean, "Details": pl.String, "Waiting since": pl.Date, "Target": pl.String, "Area": pl.String,
    "Drug": pl.String, "Referred": pl.String,
}


@dataclass(frozen=True)
class Worklist:
    rows: pl.DataFrame  # SCHEMA, in action order, longest waiting first within each
    counts: dict[str, int]  # per action, and OVERDUE
    as_of: date
    assessment_target: int
    course_target: int


def _pathway(s) -> pl.DataFrame:
    """casework's open referrals plus what the next action needs: the drug, contact attempts
    (how many, the first that reached the person, the assessment booked), no-shows, the first
    session attended and the place held (booked when, on which session)."""
    frame = _open_pathway(s)
    ids = frame["referral_id"].to_list()
    if not ids:
        return frame.with_columns(
            pl.lit(None, pl.String).alias("drug"), pl.lit(0).alias("contact_attempts"),
            *[pl.lit(None, pl.Datetime("us", "Europe/London")).alias(c)
              for c in ("reached_at", "scheduled_at", "last_attempt_at", "attended_at", "place_booked_at", "place_at")],
            pl.lit(0).alias("no_shows"), pl.lit(None, pl.String).alias("place_session"))
    drugs = dict(s.execute(select(Referral.id, Offence.drug).join(Offence, Offence.id == Referral.offence_id)
                           .where(Referral.id.in_(ids))).all())
    contacts = {r[0]: r[1:] for r in s.execute(
        select(ContactAttempt.referral_id, func.count(ContactAttempt.id),
               func.min(case((ContactAttempt.outcome == "reached", ContactAttempt.attempted_at))),
               func.max(ContactAttempt.assessment_booked_for), func.max(ContactAttempt.attempted_at))
        .where(ContactAttempt.referral_id.in_(ids)).group_by(ContactAttempt.referral_id))}
    bookings: dict[int, dict] = {}
    for rid, status, booked_at, starts_at, ref in s.execute(
            select(Booking.referral_id, Booking.status, Booking.booked_at, CourseSession.starts_at,
                   CourseSession.session_ref)
            .join(CourseSession, CourseSession.id == Booking.session_id)
            .where(Booking.referral_id.in_(ids), CourseSession.void_at.is_(None))
            .order_by(CourseSession.starts_at)):
        entry = bookings.setdefault(rid, {"no_shows": 0, "attended_at": None, "place": None})
        if status == "no_show":
            entry["no_shows"] += 1
        if status in ("attended", "completed") and entry["attended_at"] is None:
            entry["attended_at"] = starts_at
        if status == "booked":
            entry["place"] = (booked_at, starts_at, ref)
    moment = pl.Datetime("us", "Europe/London")

    def pick(rid, index, default=None):
        found = contacts.get(rid)
        return default if found is None else found[index]

    places = [bookings.get(rid, {}).get("place") or (None, None, None) for rid in ids]
    return frame.with_columns(
        pl.Series("drug", [drugs.get(rid) for rid in ids], dtype=pl.String),
        pl.Series("contact_attempts", [pick(rid, 0, 0) for rid in ids], dtype=pl.Int64),
        pl.Series("reached_at", [uk_time(pick(rid, 1)) for rid in ids], dtype=moment),
        pl.Series("scheduled_at", [uk_time(pick(rid, 2)) for rid in ids], dtype=moment),
        pl.Series("last_attempt_at", [uk_time(pick(rid, 3)) for rid in ids], dtype=moment),
        pl.Series("no_shows", [bookings.get(rid, {}).get("no_shows", 0) for rid in ids], dtype=pl.Int64),
        pl.Series("attended_at", [uk_time(bookings.get(rid, {}).get("attended_at")) for rid in ids], dtype=moment),
        pl.Series("place_booked_at", [uk_time(p[0]) for p in places], dtype=moment),
        pl.Series("place_at", [uk_time(p[1]) for p in places], dtype=moment),
        pl.Series("place_session", [p[2] for p in places], dtype=pl.String),
    )


def _details(row: dict, now_day: date) -> str:
    """What the caseworker needs to know about the next action, in a few words."""
    action = row["action"]
    if action in (waiting_rule.FIRST_CONTACT, waiting_rule.CONTACT_DUE, waiting_rule.ASSESSMENT_DUE):
        parts = [plural(row["contact_attempts"] or 0, "contact attempt")]
        if row["last_attempt_at"] is not None:
            parts.append(f"last {show_moment(row['last_attempt_at'])}")
        if row["reached_at"] is not None:
            parts.append(f"reached {show_moment(row['reached_at'])}")
        if row["scheduled_at"] is not None:
            parts.append(f"assessment booked for {show_moment(row['scheduled_at'])}")
        return ", ".join(parts)
    if action in (waiting_rule.TO_BOOK, waiting_rule.REBOOK):
        text = f"assessed {show_day(row['assessed_at'])}, allocated to the group course"
        return text + (f"; {plural(row['no_shows'], 'no-show')}" if row["no_shows"] else "")
    if action == waiting_rule.BOOKED:
        when = row["place_at"]
        text = f"session {row['place_session']} on {show_moment(when)}" if when is not None else "booked"
        if when is not None and when.date() < now_day:
            text += ": the session has passed - mark the attendance"
        return text
    if row["attended_at"] is not None:
        return f"attended the session of {show_day(row['attended_at'])}"
    result = row["assessment_result"]
    if result in ("no_contact", "declined"):
        return f"assessment: {codes.ASSESSMENT_RESULTS[result].lower()} - close as not engaged"
    if row["allocation"]:
        return f"allocated to {codes.ALLOCATIONS[row['allocation']].lower()} - close when it is done"
    return "assessed, not allocated"


def build(engine, as_of: date, *, targets: stored_settings.AppSettings | None = None) -> Worklist:
    """The worklist at the end of `as_of` (today by default on the page)."""
    targets = targets or stored_settings.load(engine)
    with session_scope(engine) as s:
        pathway = _pathway(s)
    frame = waiting_rule.next_actions(pathway, as_of, targets.target_days_to_assessment, targets.target_days_to_course)
    assessment_unit = plural(targets.target_days_to_assessment, "working day")
    course_unit = plural(targets.target_days_to_course, "day")
    waiting_assessment = (waiting_rule.FIRST_CONTACT, waiting_rule.CONTACT_DUE, waiting_rule.ASSESSMENT_DUE)
    rows = [
        {
            "Referral": row["reference"],
            "Next action": row["action"],
            "Overdue": bool(row["overdue"]),
            "Waiting since": row["since"],
            "Days waiting": row["days"],
            "Working days": row["working_days"],
            "Target": (assessment_unit if row["action"] in waiting_assessment
                       else course_unit if row["action"] in (waiting_rule.TO_BOOK, waiting_rule.REBOOK) else ""),
            "Area": census.area_label(row["area"]),
            "Drug": codes.DRUGS.get(row["drug"], row["drug"] or ""),
            "Details": _details(row, as_of),
            "Referred": show_moment(row["referred_at"]),
        }
        for row in frame.iter_rows(named=True)
    ]
    table = pl.DataFrame(rows, schema=SCHEMA) if rows else pl.DataFrame(schema=SCHEMA)
    counts = {action: int((table["Next action"] == action).sum()) for action in ACTIONS}
    counts[OVERDUE] = int(table["Overdue"].sum())
    return Worklist(table, counts, as_of, targets.target_days_to_assessment, targets.target_days_to_course)


def filtered(rows: pl.DataFrame, *, actions=None, areas=None, overdue_only=False, text: str = "",
             sort: str = "longest") -> pl.DataFrame:
    """The worklist as the page shows it: chosen actions and areas, overdue only, a reference
    containing `text`; sorted longest waiting first (within the action order), newest first,
    or by reference."""
    if actions:
        rows = rows.filter(pl.col("Next action").is_in(list(actions)))
    if areas:
        rows = rows.filter(pl.col("Area").is_in(list(areas)))
    if overdue_only:
        rows = rows.filter(pl.col("Overdue"))
    if text.strip():
        rows = rows.filter(pl.col("Referral").str.to_lowercase().str.contains(text.strip().lower(), literal=True))
    if sort == "newest":
        return rows.sort("Waiting since", descending=True, nulls_last=True)
    if sort == "reference":
        return rows.sort("Referral")
    if sort == "longest_overall":
        return rows.sort("Days waiting", descending=True, nulls_last=True)
    return rows


def ready_to_close(engine, as_of: date) -> pl.DataFrame:
    """The referrals ready to close on `as_of`: their reference, since when, and for how many days."""
    rows = build(engine, as_of).rows.filter(pl.col("Next action") == waiting_rule.READY_TO_CLOSE)
    return rows.select("Referral", pl.col("Waiting since").dt.strftime(wording.DAY_FORMAT), "Days waiting")
