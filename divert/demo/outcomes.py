"""Home Office (HOCR) outcomes of possession offences that were not diverted.

Before the launch every offence gets an old outcome; after it, offences not referred get a
charge, caution or NFA-like outcome, and someone with an intelligence log (no second offer)
more formally. The reference group's shares come from parameters; FORMAL_ODDS shift the
formal share (charge + caution) by self-defined group, keeping the splits within formal and
within informal outcomes.
"""

from __future__ import annotations

import numpy as np

from divert.demo import dates as C
from divert.demo import parameters as P
from divert.demo.people import DRUG_CODES, SELF_CODES

CHARGE, CAUTION = 1, 3  # caution becomes 2 (youth) for under-18s
OLD_CODES = np.array([CHARGE, CAUTION, 6, 7, 8, 21])
NOT_REFERRED_CODES = np.array([CHARGE, CAUTION, 21])


def formal_odds(ethnicity_self: np.ndarray, sex: np.ndarray) -> np.ndarray:
    by_code = np.array(
        [P.FORMAL_ODDS.get(c, P.FORMAL_ODDS.get(c[0], 1.0)) if c != "NS" else P.FORMAL_ODDS["NS"] for c in SELF_CODES]
    )
    return by_code[ethnicity_self] * np.where(sex == "F", P.FORMAL_ODDS_FEMALE, 1.0)


def _shift_formal(shares: np.ndarray, odds: np.ndarray, formal_columns: int = 2) -> np.ndarray:
    """Multiply the odds of a formal outcome (the first columns) by `odds`, row by row."""
    formal = shares[:, :formal_columns].sum(axis=1)
    shifted = formal * odds / (1.0 - formal + formal * odds)
    out = shares.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, :formal_columns] *= np.where(formal > 0, shifted / formal, 0.0)[:, None]
        out[:, formal_columns:] *= np.where(formal < 1, (1 - shifted) / (1 - formal), 0.0)[:, None]
    return out


def old_outcomes(u: np.ndarray, age: np.ndarray, drug: np.ndarray, odds: np.ndarray) -> np.ndarray:
    """Outcome codes before the launch: charge, caution, PND (adults, cannabis), cannabis
    warning (cannabis only), Community Resolution, NFA-like."""
    youth = age < 18
    cannabis = drug == DRUG_CODES.index("CAN")
    shares = np.where(
        youth[:, None],
        np.asarray(P.OLD_OUTCOMES_YOUTH),
        np.where(cannabis[:, None], np.asarray(P.OLD_OUTCOMES_ADULT_CANNABIS), np.asarray(P.OLD_OUTCOMES_ADULT_OTHER)),
    )
    outcome = OLD_CODES[C.pick_rows(u, _shift_formal(shares, odds))]
    return np.where(youth & (outcome == CAUTION), 2, outcome)


def not_referred_outcomes(u: np.ndarray, age: np.ndarray, odds: np.ndarray, no_second_offer: np.ndarray) -> np.ndarray:
    """After the launch, for offences not referred: charge, caution or NFA-like."""
    shares = np.where(
        no_second_offer[:, None], np.asarray(P.NO_SECOND_OFFER_OUTCOMES), np.asarray(P.NOT_REFERRED_OUTCOMES)
    )
    youth = age < 18
    # children are rarely charged for possession: most of that share becomes a youth caution
    shares = np.where(
        youth[:, None], shares * [0.3, 1.0, 1.0] + shares[:, :1] * [0.0, 0.7, 0.0], shares
    )
    outcome = NOT_REFERRED_CODES[C.pick_rows(u, _shift_formal(shares, odds))]
    return np.where(youth & (outcome == CAUTION), 2, outcome)


def outcome_days(rng: np.random.Generator, outcome: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The outcome's date: same day for on-the-spot disposals, later for charges and NFA."""
    low = np.zeros(len(outcome), dtype=np.int64)
    high = np.zeros(len(outcome), dtype=np.int64)
    for code, (a, b) in P.OUTCOME_DELAY_DAYS.items():
        low[outcome == code], high[outcome == code] = a, b
    return day + C.between(rng, low, high, len(outcome))
