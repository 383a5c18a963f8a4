"""The diversion pathway after the launch: referral at the scene, telephone assessment,
allocation, group course (finite seats, FIFO), one-to-one or treatment, closure.

Who is referred depends on earlier closures (an intelligence log blocks any further offer),
and closure dates depend on the course queue, so the referral set is found by fixed-point
iteration over whole arrays; every random draw is made once per offence up front, so the
result is deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from divert.demo import dates as C
from divert.demo import parameters as P
from divert.demo.people import BROAD_NAMES, DRUG_CODES, Offences, People

DAY = C.DAY
RESULTS = ["completed", "no_contact", "declined"]
COMPLETED, NO_CONTACT, DECLINED = range(3)
ALLOCATIONS = list(P.ALLOCATION)
NONE = -1  # a missing moment / index


@dataclass
class Sessions:
    start: np.ndarray  # local moments, sorted
    face_to_face: np.ndarray
    facilitator: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class Pathway:
    """Arrays per referral (ordered by referral time) and per booking / closure."""

    offence: np.ndarray
    referred: np.ndarray
    repeat: np.ndarray
    # assessment (has_assessment False: its outcome is not known by the end date)
    has_assessment: np.ndarray
    result: np.ndarray
    attempts: np.ndarray
    first_contact: np.ndarray
    scheduled: np.ndarray
    completed: np.ndarray
    allocation: np.ndarray
    # bookings
    booking_referral: np.ndarray  # index into the referral arrays
    booking_session: np.ndarray
    booked_at: np.ndarray
    booking_status: np.ndarray  # str
    # closures
    closure_referral: np.ndarray
    closed_day: np.ndarray
    closure_engaged: np.ndarray  # True: complied; False: not engaged
    onward_treatment: np.ndarray


def course_sessions(rng: np.random.Generator, scale: float, scene: C.Scene) -> Sessions:
    """A fixed weekly schedule; the number of sessions a week follows SESSIONS_PER_WEEK."""
    first_monday = scene.launch_day - int(C.weekdays(np.array([scene.launch_day]))[0])
    mondays = np.arange(first_monday, scene.end_day + 7 * P.SESSIONS_UNTIL_WEEKS_AFTER_END, 7)
    rate = np.zeros(len(mondays))
    for months, per_week in P.SESSIONS_PER_WEEK:
        rate[mondays >= C.day_number(scene.months_after_launch(months))] = per_week * scale
    cumulative = np.floor(np.concatenate([[0.0], np.cumsum(rate)]) + 1e-9).astype(np.int64)
    per_week = np.diff(cumulative)
    week = np.repeat(mondays, per_week)
    rank = np.arange(len(week)) - np.repeat(np.cumsum(per_week) - per_week, per_week)
    slots = np.asarray(P.SESSION_SLOTS)[rank % len(P.SESSION_SLOTS)]
    start = (week + slots[:, 0]) * DAY + slots[:, 1] * 3600
    start = np.sort(start[start >= (scene.launch_day + 7) * DAY], kind="stable")
    n = len(start)
    face_from = C.day_number(scene.months_after_launch(P.FACE_TO_FACE_AFTER_MONTHS))
    face = (start >= face_from * DAY) & (rng.random(n) < P.FACE_TO_FACE)
    facilitator = rng.integers(1, max(2, round(P.FACILITATORS * scale)) + 1, n)
    return Sessions(start, face, facilitator)


def first_free_seat(ready: np.ndarray, sessions: Sessions) -> np.ndarray:
    """Session index per person, first come first served: each takes the first seat free on
    a session starting after they are ready (NONE when the schedule runs out).
    With people sorted by ready time and f_i their first possible seat, seat_i = i +
    cummax(f_j - j)."""
    if len(ready) == 0:
        return np.zeros(0, dtype=np.int64)
    seat_starts = np.repeat(sessions.start, P.SEATS)
    order = np.argsort(ready, kind="stable")
    earliest = np.searchsorted(seat_starts, ready[order] + P.BOOKING_NOTICE_DAYS * DAY, side="left")
    rank = np.arange(len(order))
    seat = rank + np.maximum.accumulate(earliest - rank)
    session = np.where(seat < len(seat_starts), seat // P.SEATS, NONE)
    out = np.empty_like(session)
    out[order] = session
    return out


def _starts(sessions: Sessions, session: np.ndarray) -> np.ndarray:
    """Start of each session index (NEVER for NONE)."""
    if len(sessions) == 0:
        return np.full(len(session), C.NEVER, dtype=np.int64)
    return np.where(session == NONE, C.NEVER, sessions.start[np.maximum(session, 0)])


class Draws:
    """Every random number the pathway uses, one per offence, drawn once."""

    def __init__(self, rng: np.random.Generator, n: int, scale: float):
        r = rng.random
        self.refer, self.assess, self.declined, self.allocate = r(n), r(n), r(n), r(n)
        self.no_show, self.cancel, self.one_to_one = r(n), r(n), r(n)
        self.risk = r((n, len(P.RISK_FLAGS)))
        self.contact_days = rng.integers(1, 4, n)
        self.contact_time = rng.integers(9 * 3600, 19 * 3600, n)
        self.schedule_days = rng.integers(1, 11, n)
        self.schedule_hour = rng.integers(9, 20, n)
        self.minutes = rng.integers(40, 76, n)
        self.no_contact_days = rng.integers(14, 29, n)
        self.attempts = rng.integers(0, 3, n)  # added to each result's minimum
        self.close_delay = rng.integers(0, 4, n)
        self.ready_days = rng.integers(0, 3, n)
        self.ready_time = rng.integers(9 * 3600, 17 * 3600, n)
        self.cancel_lead = rng.integers(DAY, 3 * DAY, n)
        self.rebook_gap = rng.integers(3 * DAY, 15 * DAY, n)
        self.course_close = rng.integers(0, 3, n)
        self.no_show_close = rng.integers(1, 6, n)
        self.one_to_one_days = rng.integers(14, 43, n)
        self.treatment_days = rng.integers(7, 22, n)
        self.worker = rng.integers(1, max(2, round(P.WORKERS * scale)) + 1, n)


def run(offences: Offences, people: People, draws: Draws, sessions: Sessions, referred: np.ndarray,
        end_day: int) -> Pathway:
    """The pathway of the offences flagged `referred` (a boolean per offence)."""
    index = np.flatnonzero(referred)
    moment = offences.day[index] * DAY + offences.seconds[index]
    order = np.argsort(moment, kind="stable")
    index, moment = index[order], moment[order]
    n = len(index)
    broad = people.broad[offences.person[index]]
    d = {name: value[index] for name, value in vars(draws).items()}

    # --- assessment -------------------------------------------------------------------------
    assessed_share = np.array([P.ASSESSED[b] for b in BROAD_NAMES])[broad]
    declined = np.where(d["declined"] < P.NOT_ASSESSED_DECLINED, DECLINED, NO_CONTACT)
    result = np.where(d["assess"] < assessed_share, COMPLETED, declined)
    completed_ = result == COMPLETED
    # the provider calls in working hours, from the day after the referral
    contact = (moment // DAY + d["contact_days"]) * DAY + d["contact_time"]
    first_contact = np.where(result != NO_CONTACT, contact, NONE)
    scheduled = np.where(
        completed_, (first_contact // DAY + d["schedule_days"]) * DAY + d["schedule_hour"] * 3600, NONE
    )
    completed = np.where(completed_, scheduled + d["minutes"] * 60, NONE)
    known_at = np.select(
        [completed_, result == DECLINED], [completed, first_contact], moment + d["no_contact_days"] * DAY
    )
    has_assessment = known_at <= C.end_moment(end_day)
    attempts = np.where(result == NO_CONTACT, 3, 1) + d["attempts"]
    hard = np.isin(offences.drug[index], [DRUG_CODES.index(x) for x in P.HARD_DRUGS])
    shares = np.where(hard[:, None], list(P.ALLOCATION_HARD_DRUGS.values()), list(P.ALLOCATION.values()))
    allocation = np.where(completed_ & has_assessment, C.pick_rows(d["allocate"], shares), NONE)

    bookings, (position, closed_day, engaged, onward) = _closures(
        has_assessment & ~completed_, known_at, allocation, completed, d, sessions, end_day)
    booking_referral, booking_session, booked_at, booking_status = bookings
    order = np.argsort(position, kind="stable")
    return Pathway(
        offence=index,
        referred=moment,
        repeat=np.zeros(n, dtype=bool),
        has_assessment=has_assessment,
        result=result,
        attempts=attempts,
        first_contact=first_contact,
        scheduled=scheduled,
        completed=completed,
        allocation=allocation,
        booking_referral=booking_referral,
        booking_session=booking_session,
        booked_at=booked_at,
        booking_status=booking_status,
        closure_referral=position[order],
        closed_day=closed_day[order],
        closure_engaged=engaged[order],
        onward_treatment=onward[order],
    )


def _closures(not_assessed: np.ndarray, known_at: np.ndarray, allocation: np.ndarray, completed: np.ndarray, d: dict,
              sessions: Sessions, end_day: int):
    """The bookings of the group course, and each closure by the end day: (referral positions,
    closed days, engaged, onward treatment), in the order the steps close them."""
    closures = []  # (referral position, closed day, engaged, onward)

    def close(position, day, engaged, onward=False):
        keep = day <= end_day
        closures.append(
            (position[keep], day[keep], np.broadcast_to(engaged, day.shape)[keep],
             np.broadcast_to(onward, day.shape)[keep])
        )  # fmt: skip

    # not assessed: no contact or declined -> intelligence log
    gone = np.flatnonzero(not_assessed)
    close(gone, known_at[gone] // DAY + d["close_delay"][gone], False)

    # --- group course -----------------------------------------------------------------------
    course = np.flatnonzero(allocation == ALLOCATIONS.index("group_course"))
    bookings, (position, day, engaged) = _book_courses(course, completed, d, sessions, end_day)
    close(position, day, engaged)

    # --- one-to-one and structured treatment -------------------------------------------------
    one = np.flatnonzero(allocation == ALLOCATIONS.index("one_to_one"))
    close(
        one,
        (completed[one] + d["one_to_one_days"][one] * DAY) // DAY,
        d["one_to_one"][one] < P.ONE_TO_ONE_COMPLETED,
    )
    treat = np.flatnonzero(allocation == ALLOCATIONS.index("structured_treatment"))
    close(treat, completed[treat] // DAY + d["treatment_days"][treat], True, True)

    position, closed_day, engaged, onward = (np.concatenate(parts) for parts in zip(*closures, strict=True))
    return bookings, (position, closed_day, engaged, onward)

def _book_courses(course: np.ndarray, completed: np.ndarray, d: dict, sessions: Sessions, end_day: int):
    """Bookings of the referrals allocated to a group course (positions `course`): booked in
    office hours after the assessment, first come first served; some cancel and are booked
    on a later session; attendance decides the closure.
    Returns (referral, session, booked_at, status) per booking and (referral, day, engaged)
    per closure."""

    def booking_moment(position):  # office hours, within two working days of the assessment
        at = (completed[position] // DAY + d["ready_days"][position]) * DAY + d["ready_time"][position]
        return np.where(at > completed[position], at, at + DAY)

    end = C.end_moment(end_day)
    course = course[booking_moment(course) <= end]  # not yet booked at the end date
    ready = booking_moment(course)
    first_session = first_free_seat(ready, sessions)
    first_start = _starts(sessions, first_session)
    cancel_at = np.maximum(ready + 3600, first_start - d["cancel_lead"][course])
    cancels = (d["cancel"][course] < P.CANCELLED) & (first_session != NONE) & (cancel_at <= end)
    ready_again = np.where(cancels, first_start + d["rebook_gap"][course], ready)
    session = first_free_seat(ready_again, sessions)
    booked = session != NONE
    start = _starts(sessions, session)
    held = start <= end  # sessions after the end date are booked, not yet held
    no_show = d["no_show"][course] < P.NO_SHOW
    status = np.where(held, np.where(no_show, "no_show", "completed"), "booked")
    bookings = (
        np.concatenate([course[cancels], course[booked]]),
        np.concatenate([first_session[cancels], session[booked]]),
        np.concatenate([ready[cancels], np.where(cancels, cancel_at, ready)[booked]]),
        np.concatenate([np.full(cancels.sum(), "cancelled"), status[booked]]),
    )
    done = booked & held
    start_day = start // DAY
    closed = np.where(no_show, start_day + d["no_show_close"][course], start_day + d["course_close"][course])
    return bookings, (course[done], closed[done], ~no_show[done])


def _first_closure(path: Pathway, person: np.ndarray, n_people: int, engaged: bool) -> np.ndarray:
    """Per person: the day of their first closure of this kind (NEVER if none)."""
    pick = path.closure_engaged == engaged
    first = np.full(n_people, C.NEVER, dtype=np.int64)
    np.minimum.at(first, person[path.offence[path.closure_referral[pick]]], path.closed_day[pick])
    return first


def divert(offences: Offences, people: People, draws: Draws, sessions: Sessions,
           scene: C.Scene) -> tuple[Pathway, np.ndarray]:
    """The pathway, and per offence: True where the person had an intelligence log by then.

    An offence after the launch is referred when the officer refers at the scene and the
    person has no intelligence log dated on or before the offence (no second offer)."""
    scene_share = np.array([P.REFER_AT_SCENE[b] for b in BROAD_NAMES])[people.broad[offences.person]]
    candidate = (offences.day >= scene.launch_day) & (draws.refer < scene_share)
    referred = candidate.copy()
    rounds = 0
    while True:
        path = run(offences, people, draws, sessions, referred, scene.end_day)
        log_day = _first_closure(path, offences.person, len(people), engaged=False)
        allowed = candidate & (offences.day < log_day[offences.person])
        offered_after_log = (referred & ~allowed).any()
        if not offered_after_log and (rounds >= 5 or np.array_equal(allowed, referred)):
            break
        # after a few rounds only withdraw offers, so the loop ends (the set shrinks each
        # round); an offence withdrawn that the final queue would allow counts as the
        # officer's choice not to refer
        referred = allowed if rounds < 5 else referred & allowed
        rounds += 1
    complied_day = _first_closure(path, offences.person, len(people), engaged=True)
    path.repeat = complied_day[offences.person[path.offence]] < offences.day[path.offence]
    no_second_offer = (offences.day >= scene.launch_day) & (offences.day >= log_day[offences.person])
    return path, no_second_offer
