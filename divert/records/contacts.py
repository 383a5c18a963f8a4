"""Contact attempts: the calls or messages made to reach a referred person, before the
assessment result is recorded. They move a referral along the worklist (awaiting first
contact -> contact attempts due -> assessment due); the assessment keeps the count and the
time of first contact when it is recorded."""

from __future__ import annotations

from sqlalchemy import select

from divert.core import codes
from divert.core.field_rules import Checker
from divert.records.core import Saved, check, insert, write
from divert.records.referrals import find_referral
from divert.storage.models import Assessment, ContactAttempt


def record_contact(values: dict, user: str, *, session=None, engine=None) -> Saved:
    """One attempt: referral_reference, attempted_at, outcome (reached / no_answer /
    message_left), assessment_booked_for (when reached, optional) and the worker's staff code."""

    def work(s):
        c = Checker(values)
        referral = find_referral(s, c)
        floor = referral.referred_at if referral else None
        attempted = c.moment("attempted_at", required=True, not_before=floor)
        outcome = c.code("outcome", codes.CONTACT_OUTCOMES, upper=False)
        booked_for = c.moment("assessment_booked_for", future_ok=True, not_before=attempted or floor)
        worker = c.text("worker", max_length=40)
        if booked_for is not None and outcome not in (None, "reached"):
            c.fail("assessment_booked_for", "can only be given when the person was reached")
        if referral is not None:
            if referral.status == "closed":
                c.fail("referral_reference", "is closed")
            elif s.execute(select(Assessment.id).where(Assessment.referral_id == referral.id)).first():
                c.fail("referral_reference", "already has an assessment recorded")
        check(c)
        row = ContactAttempt(referral_id=referral.id, attempted_at=attempted, outcome=outcome,
                             assessment_booked_for=booked_for, worker=worker)
        return Saved(True, insert(s, user, row))

    return write(work, session=session, engine=engine)


def contact_summary(s, referral_id: int) -> dict:
    """What the contact attempts so far give an assessment: how many, and the first contact."""
    rows = s.execute(select(ContactAttempt).where(ContactAttempt.referral_id == referral_id)
                     .order_by(ContactAttempt.attempted_at)).scalars().all()
    reached = [r for r in rows if r.outcome == "reached"]
    booked = [r.assessment_booked_for for r in reached if r.assessment_booked_for]
    return {"attempts": len(rows), "first_contact_at": reached[0].attempted_at if reached else None,
            "scheduled_at": booked[-1] if booked else None}
