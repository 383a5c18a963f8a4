"""The work queues behind the data-entry pages, read-only: open referrals waiting for an assessment,
waiting for a course place, and every open referral with its stage, longest waiting first. Who
waits is divert.analytics.planning.waiting's rule, the one the capacity figures use too.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import select

from divert.analytics.planning import waiting as waiting_rule
from divert.readmodels.casework import _stages, show_moment, uk_time, uk_today
from divert.reference import census
from divert.storage.db import session_scope
from divert.storage.models import Assessment, Booking, Closure, Offence, Referral

QUEUE_LIMIT = 500
HOLDING_A_PLACE = ("booked", "attended", "completed")  # no-shows and cancellations wait again
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
