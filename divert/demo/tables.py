"""The demo as polars frames, one per table, with ids from 1 in parent-to-child order."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from divert.demo import dates as C
from divert.demo import journeys, outcomes, people, stop_search
from divert.demo import parameters as P

TABLE_ORDER = ("person", "offence", "referral", "assessment", "course_session", "booking", "closure", "stop_search")
# foreign keys among the demo tables: (table, column) -> parent table
FOREIGN_KEYS = {
    ("offence", "person_id"): "person",
    ("referral", "offence_id"): "offence",
    ("referral", "person_id"): "person",
    ("assessment", "referral_id"): "referral",
    ("booking", "referral_id"): "referral",
    ("booking", "session_id"): "course_session",
    ("closure", "referral_id"): "referral",
}
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def instants(moments: np.ndarray) -> pl.Series:
    """Local moments (NONE for missing) -> aware UTC datetimes."""
    moments = np.asarray(moments, dtype=np.int64)
    missing = moments == journeys.NONE
    seconds = C.utc_seconds(np.where(missing, 0, moments))
    series = pl.Series(seconds * 1_000_000).cast(pl.Datetime("us", "UTC"))
    return series.scatter(np.flatnonzero(missing), None) if missing.any() else series


def dates(days: np.ndarray, missing: np.ndarray | None = None) -> pl.Series:
    series = pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)
    return series.scatter(np.flatnonzero(missing), None) if missing is not None and missing.any() else series


def masked(values, missing: np.ndarray) -> pl.Series:
    series = pl.Series(values)
    return series.scatter(np.flatnonzero(missing), None) if missing.any() else series


def ids(n: int) -> pl.Series:
    return pl.Series("id", np.arange(1, n + 1, dtype=np.int64))


def padded(prefix: str, numbers, width: int) -> pl.Series:
    digits = pl.Series(np.asarray(numbers)).cast(pl.String).str.zfill(width)
    return pl.select(pl.concat_str(pl.lit(prefix), digits)).to_series()


def hex_keys(rng: np.random.Generator, n: int) -> pl.Series:
    """64-hex pseudonymous keys (random 256-bit values, like a keyed hash; no identifier)."""
    raw = np.frombuffer(rng.bytes(32 * n), dtype=np.uint8).reshape(n, 32)
    chars = np.empty((n, 64), dtype=np.uint8)
    chars[:, 0::2], chars[:, 1::2] = HEX[raw >> 4], HEX[raw & 15]
    return pl.Series(chars.view("S64").ravel()).cast(pl.String)


def build(seed: int, scale: float, progress: Callable[[str, float], None] | None = None,
          *, scene: C.Scene) -> dict[str, pl.DataFrame]:
    """Every demo table for `seed` and `scale`, for the scene's force and launch, with records
    up to its end (same seed, scale and scene: same rows)."""
    say = progress or (lambda step, fraction: None)
    rng = np.random.default_rng(seed)
    say("people and offences", 0.0)
    offences, persons = people.generate(rng, scale, scene)
    n = len(offences)
    odds = outcomes.formal_odds(persons.ethnicity_self[offences.person], persons.sex[offences.person])
    u_outcome = rng.random(n)
    say("referrals and course places", 0.3)
    draws = journeys.Draws(rng, n, scale)
    sessions = journeys.course_sessions(rng, scale * scene.population_factor, scene)
    path, no_second_offer = journeys.divert(offences, persons, draws, sessions, scene)

    # offence outcomes: old ones before the launch, the programme's diversion outcome when
    # diverted (8 or 22), else not-referred ones
    referred = np.zeros(n, dtype=bool)
    referred[path.offence] = True
    outcome = np.where(
        offences.day < scene.launch_day,
        outcomes.old_outcomes(u_outcome, offences.age, offences.drug, odds),
        outcomes.not_referred_outcomes(u_outcome, offences.age, odds, no_second_offer),
    )
    outcome = np.where(referred, scene.diversion_outcome, outcome)
    outcome_day = outcomes.outcome_days(rng, outcome, offences.day)
    say("tables", 0.6)
    frames = {
        "person": _person(rng, persons, scene),
        "offence": _offence(offences, outcome, outcome_day, scene),
        "referral": _referral(rng, offences, path, scene),
        "assessment": _assessment(offences, draws, path),
        "course_session": _course_session(sessions),
        "booking": _booking(path),
        "closure": _closure(path),
    }
    del draws, path, offences, persons  # free the pathway's arrays before the searches
    say("stop and search", 0.8)
    by_code, area_population = people.census_counts(scene.force)
    searches = stop_search.generate(rng, scale, by_code, area_population, scene)
    frames["stop_search"] = searches.with_columns(ids(len(searches))).select("id", pl.exclude("id"))
    return frames


def _person(rng: np.random.Generator, persons: people.People, scene: C.Scene) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ids(len(persons)),
            "person_key": hex_keys(rng, len(persons)),
            "birth_year": persons.birth_year,
            "sex": persons.sex,
            "ethnicity_self": pl.Series(people.SELF_CODES).gather(persons.ethnicity_self),
            "ethnicity_officer": pl.Series(people.OFFICER_CODES).gather(persons.ethnicity_officer),
            "home_area": pl.Series(scene.areas).gather(persons.home_area),
            "demo": True,
        }
    )


def _offence(offences: people.Offences, outcome: np.ndarray, outcome_day: np.ndarray, scene: C.Scene) -> pl.DataFrame:
    pending = outcome_day > scene.end_day  # not decided by the end date
    year = pl.col("offence_date").dt.year() % 100
    return pl.DataFrame(
        {
            "id": ids(len(offences)),
            "force": scene.force,
            "person_id": offences.person + 1,
            "offence_date": dates(offences.day),
            "age": offences.age,
            "area": pl.Series(scene.areas).gather(offences.area),
            "drug": pl.Series(people.DRUG_CODES).gather(offences.drug),
            "source": pl.Series(people.SOURCE_CODES).gather(offences.source),
            "outcome": masked(outcome, pending),
            "outcome_date": dates(outcome_day, pending),
            "demo": True,
        }
    ).with_columns(
        pl.concat_str(
            pl.lit("DEMO/"), year.cast(pl.String).str.zfill(2), pl.lit("/"), pl.col("id").cast(pl.String).str.zfill(8)
        ).alias("crime_ref")
    )


def _referral(rng: np.random.Generator, offences: people.Offences, path: journeys.Pathway, scene: C.Scene) -> pl.DataFrame:
    r = len(path.offence)
    referral_id = np.arange(1, r + 1)
    area_names = pl.Series(scene.area_names)
    team_kind = pl.Series(["neighbourhood team", "response team", "proactive team"]).gather(rng.integers(0, 3, r))
    closed = np.zeros(r, dtype=bool)
    closed[path.closure_referral] = True
    custody = offences.source[path.offence] == people.SOURCE_CODES.index("custody")
    return pl.DataFrame(
        {
            "id": referral_id,
            "force": scene.force,
            "reference": padded("DEMO-R", referral_id, 7),
            "offence_id": path.offence + 1,
            "person_id": offences.person[path.offence] + 1,
            "referred_at": instants(path.referred),
            "referring_team": pl.select(
                pl.when(pl.Series(custody))
                .then(pl.lit("Custody"))
                .otherwise(area_names.gather(offences.area[path.offence]) + " " + team_kind)
            ).to_series(),
            "eligibility": "eligible",
            "override_reason": pl.Series([None] * r, dtype=pl.String),
            "repeat": path.repeat,
            "status": np.where(closed, "closed", "open"),
            "version": 1,
            "demo": True,
        }
    )


def _assessment(offences: people.Offences, draws: journeys.Draws, path: journeys.Pathway) -> pl.DataFrame:
    a = np.flatnonzero(path.has_assessment)
    completed = path.result[a] == journeys.COMPLETED
    hard = np.isin(offences.drug[path.offence[a]], [people.DRUG_CODES.index(x) for x in P.HARD_DRUGS])
    risk_u = draws.risk[path.offence[a]]
    flags = {}
    for column, (name, share) in enumerate(P.RISK_FLAGS.items()):
        share = np.where(hard, P.RISK_INJECTING_HARD_DRUGS, share) if name == "risk_injecting" else share
        flags[name] = completed & (risk_u[:, column] < share)
    allocation = np.where(path.allocation[a] == journeys.NONE, len(journeys.ALLOCATIONS), path.allocation[a])
    # a worker is recorded when someone was spoken to
    worker = masked(padded("W", draws.worker[path.offence[a]], 2), path.first_contact[a] == journeys.NONE)
    return pl.DataFrame(
        {
            "id": ids(len(a)),
            "referral_id": a + 1,
            "contact_attempts": path.attempts[a],
            "first_contact_at": instants(path.first_contact[a]),
            "scheduled_at": instants(path.scheduled[a]),
            "completed_at": instants(path.completed[a]),
            "result": pl.Series(journeys.RESULTS).gather(path.result[a]),
            **flags,
            "harm_reduction_advice": completed,
            "allocation": pl.Series(journeys.ALLOCATIONS + [None]).gather(allocation),
            "worker": worker,
            "version": 1,
        }
    )


def _course_session(sessions: journeys.Sessions) -> pl.DataFrame:
    s = len(sessions)
    return pl.DataFrame(
        {
            "id": ids(s),
            "session_ref": padded("DEMO-S", np.arange(1, s + 1), 6),
            "starts_at": instants(sessions.start),
            "duration_minutes": P.SESSION_MINUTES,
            "mode": np.where(sessions.face_to_face, "face_to_face", "online"),
            "seats": P.SEATS,
            "facilitator": padded("F", sessions.facilitator, 2),
            "version": 1,
            "demo": True,
        }
    )


def _booking(path: journeys.Pathway) -> pl.DataFrame:
    order = np.lexsort((path.booking_session, path.booked_at))
    return pl.DataFrame(
        {
            "id": ids(len(order)),
            "referral_id": path.booking_referral[order] + 1,
            "session_id": path.booking_session[order] + 1,
            "booked_at": instants(path.booked_at[order]),
            "status": path.booking_status[order],
            "version": 1,
        }
    )


def _closure(path: journeys.Pathway) -> pl.DataFrame:
    not_engaged = ~path.closure_engaged
    return pl.DataFrame(
        {
            "id": ids(len(path.closure_referral)),
            "referral_id": path.closure_referral + 1,
            "closed_on": dates(path.closed_day),
            "result": np.where(not_engaged, "not_engaged", "complied"),
            "intelligence_log_date": dates(path.closed_day, ~not_engaged),
            "onward_treatment": path.onward_treatment,
            "version": 1,
        }
    )
