"""A person's history, what each referral stores from it, and keeping that in line.

A referral stores what the person's other records said when it was saved (add_referral):
- `repeat`: the person had completed a diversion before (an earlier referral closed as complied);
- `eligibility` / `override_reason`: whether the offer needed an override - after an earlier
  non-engagement, after an earlier completion when the programme makes no second offer, or for
  the offence itself (age, drug class).

A referral's history is the closures of the person's other referrals (not void) referred before
it and closed on or before its day: what a referral saved on its own day sees.

`following` keeps the stored fields in line when a write changes a person's history (a referral
voided or put back, its time or person corrected, a closure corrected), in the same transaction:
- `repeat` is recomputed for each of the person's referrals (not void): it is a fact about the
  history, counted in the figures;
- an eligibility decision is never changed: the offer was made and the person acted on it. When
  the history now gives something else (an override the offer did not have, or no need for the
  one it had), the referral's audit says what the rules now give and that the decision stands.
Each such referral gets its own audit event saying what changed and why; the write bumps
data_version once, as every write does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from divert.records import programme_profile
from divert.records.core import as_dict, as_utc, audit, update_row
from divert.reference import programme
from divert.storage.models import Closure, Referral


@dataclass(frozen=True)
class Entry:
    """One referral of a person, as the history rule reads it."""

    id: int
    referred_at: datetime  # UTC
    void: bool
    closed_on: date | None = None
    result: str | None = None
    intelligence_log_date: date | None = None


@dataclass(frozen=True)
class Past:
    """The closures a referral's history holds."""

    complied: int = 0
    not_engaged: int = 0
    last_intelligence_log: date | None = None


@dataclass(frozen=True)
class Derived:
    """What a referral's history gives: the repeat flag, and why it alone stops an offer."""

    repeat: bool
    barriers: tuple[str, ...]


# --- the rule (pure) --------------------------------------------------------------------------
def past(entries: Iterable[Entry], referral_id: int | None, referred_at: datetime) -> Past:
    """The history of a referral made at `referred_at`: closures of the other referrals (not
    void) referred before it and closed on or before its day."""
    moment = as_utc(referred_at)
    earlier = [e for e in entries if e.id != referral_id and not e.void and e.closed_on is not None
               and as_utc(e.referred_at) < moment and e.closed_on <= moment.date()]
    logs = [e.intelligence_log_date for e in earlier if e.result == "not_engaged"]
    return Past(sum(e.result == "complied" for e in earlier), len(logs), max(logs) if logs else None)


def barriers(profile: programme.Programme, history: Past) -> list[str]:
    """Why the person's history alone stops a new offer without an override (empty: it does not)."""
    reasons = []
    if history.not_engaged:
        reasons.append(f"did not engage before (intelligence log {history.last_intelligence_log})")
    return reasons + programme.ineligible(profile, None, None, bool(history.complied))


def derive(entries: list[Entry], profile: programme.Programme) -> dict[int, Derived]:
    """What each referral's history gives, by referral id."""
    out = {}
    for entry in entries:
        history = past(entries, entry.id, entry.referred_at)
        out[entry.id] = Derived(bool(history.complied), tuple(barriers(profile, history)))
    return out


def decision_note(eligibility: str, was: tuple[str, ...], now: tuple[str, ...]) -> str | None:
    """What to say when the history changed under an eligibility decision (None: nothing)."""
    if was == now:
        return None
    if now and eligibility == "eligible":
        return ("the programme's rules now give no offer without an override reason (" + "; ".join(now)
                + "); the offer made stands as eligible")
    if not now and eligibility == "override":
        return ("the person's history no longer needs an override (" + "; ".join(was)
                + " no longer holds); the offer made on override stands")
    return None


# --- reading and keeping in line ----------------------------------------------------------------
def entries_of(s: Session, person_id: int) -> list[Entry]:
    rows = s.execute(
        select(Referral.id, Referral.referred_at, Referral.void_at, Closure.closed_on, Closure.result,
               Closure.intelligence_log_date)
        .outerjoin(Closure, Closure.referral_id == Referral.id)
        .where(Referral.person_id == person_id)
    ).all()
    return [Entry(r.id, as_utc(r.referred_at), r.void_at is not None, r.closed_on, r.result, r.intelligence_log_date)
            for r in rows]


def person_past(s: Session, person_id: int, referral_id: int | None, referred_at: datetime) -> Past:
    """The history of a referral of `person_id` made at `referred_at` (the check before an offer)."""
    return past(entries_of(s, person_id), referral_id, referred_at)


@contextmanager
def following(s: Session, user: str, cause: str, person_ids: Iterable[int]) -> Iterator[None]:
    """Around a write that changes the history of `person_ids`: afterwards, each of their
    referrals (not void) whose stored flag the new history changes is updated, and each whose
    eligibility decision the new history no longer matches is noted - audited one by one with
    `cause` ("referral DIV-1 was voided")."""
    profile = programme_profile.in_session(s)
    people = sorted(set(person_ids))
    before: dict[int, Derived] = {}
    for person_id in people:
        before.update(derive(entries_of(s, person_id), profile))
    yield
    for person_id in people:
        rows = entries_of(s, person_id)
        for referral_id, now in derive(rows, profile).items():
            referral = s.get(Referral, referral_id)
            if referral.void_at is None:
                _keep(s, user, referral, before.get(referral_id, now), now, cause)


def _keep(s: Session, user: str, referral: Referral, was: Derived, now: Derived, cause: str) -> None:
    said = []
    if referral.repeat != now.repeat:
        said.append("repeat diversion: " + ("yes, the person had completed a diversion before" if now.repeat
                                            else "no, the person had not completed a diversion before"))
    note = decision_note(referral.eligibility, was.barriers, now.barriers)
    if note:
        said.append(note)
    if not said:
        return
    reason = f"recomputed after {cause}: " + "; ".join(said)
    if referral.repeat != now.repeat:
        update_row(s, user, referral, {"repeat": now.repeat}, reason)
    else:  # nothing stored changes: the audit says what the rules now give
        audit(s, user, "update", referral.__tablename__, referral.id, as_dict(referral), as_dict(referral), reason)
