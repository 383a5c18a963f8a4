"""The demo's parameters: every reported fact the demo shows comes out of these numbers.

Volumes are per month at scale 1 (a West Midlands-like force); `--scale` multiplies them.
Probabilities are per offence, per referral or per search. The figures the calibration aimed
at are noted next to the numbers that drive them (see tests/test_demo.py for the checks).
"""

from __future__ import annotations

from datetime import date

FORCE = "west-midlands"
START = date(2018, 1, 1)
LAUNCH = date(2020, 10, 1)  # the reference programme's launch (the profile sets a demo's own)
REFERENCE_POPULATION = 2_736_460  # West Midlands force area, 2011: the volumes below are for it
REFERENCE_END = date(2025, 9, 30)  # the end the reported figures were calibrated on; a demo ends on its as-of date
SESSIONS_UNTIL_WEEKS_AFTER_END = 8  # the published course schedule runs on past END
TIME_ZONE = "Europe/London"

# --- volume ---------------------------------------------------------------------------------
# recorded possession offences a month before the launch; with the uplift and the share
# referred this gives about 225 referrals a month (over 8,000 in the first three years)
OFFENCES_PER_MONTH = 202.0
LAUNCH_UPLIFT = 0.30  # offences that went unrecorded before: +30% as soon as the policy starts
# month-of-year and day-of-week shape (normalised to mean 1 in the code)
MONTH_SHAPE = (0.94, 0.92, 1.0, 1.0, 1.04, 1.04, 1.08, 1.06, 1.0, 1.0, 0.98, 0.94)
WEEKDAY_SHAPE = (0.85, 0.9, 0.95, 1.0, 1.2, 1.25, 0.85)  # Mon..Sun
SEARCHES_PER_MONTH = 350.0

# --- people -----------------------------------------------------------------------------------
# An offence is by someone already known (a repeat) with this chance; the earlier offence is
# about REPEAT_GAP_DAYS before (exponential, plus a week's minimum). This sets how many later
# offences meet an intelligence log (no second offer: about 10% by 2021) and how many
# referrals are repeats (about 7%), and so, with the outcome shares below, the fall in
# charges and cautions.
REPEAT_SHARE = 0.16
REPEAT_GAP_DAYS = 180.0
REPEAT_MIN_GAP_DAYS = 7
SEX = {"M": 0.90, "F": 0.095, "X": 0.005}
# age band at the first recorded offence (later offences are older)
AGE_BANDS = {"10-17": 0.13, "18-24": 0.42, "25-34": 0.27, "over 34": 0.18}
AGE_RANGES = {"10-17": (13, 17), "18-24": (18, 24), "25-34": (25, 34), "over 34": (35, 62)}

# Self-defined ethnicity of people searched and of offenders: census share of each 18+1 group
# times its broad group's relative rate (what real stop and search shows), then NOT_STATED.
RELATIVE_RATE = {"White": 1.0, "Mixed": 2.0, "Asian": 1.3, "Black": 3.6, "Other": 1.4}
NOT_STATED = 0.04
# Officer-defined ethnicity given the self-defined code: correlated, never copied.
OFFICER_DEFINED = {
    "W": {"IC1": 0.89, "IC2": 0.04, "IC4": 0.01, "IC6": 0.01, "IC9": 0.05},
    "W9": {"IC1": 0.45, "IC2": 0.39, "IC3": 0.02, "IC4": 0.02, "IC6": 0.05, "IC9": 0.07},
    "M1": {"IC1": 0.30, "IC2": 0.03, "IC3": 0.55, "IC6": 0.04, "IC9": 0.08},
    "M2": {"IC1": 0.25, "IC2": 0.04, "IC3": 0.55, "IC6": 0.08, "IC9": 0.08},
    "M3": {"IC1": 0.40, "IC2": 0.07, "IC4": 0.35, "IC6": 0.10, "IC9": 0.08},
    "M9": {"IC1": 0.35, "IC2": 0.05, "IC3": 0.20, "IC4": 0.15, "IC6": 0.15, "IC9": 0.10},
    "A": {"IC1": 0.02, "IC3": 0.01, "IC4": 0.88, "IC6": 0.04, "IC9": 0.05},
    "A4": {"IC1": 0.03, "IC4": 0.05, "IC5": 0.85, "IC9": 0.07},
    "A9": {"IC1": 0.03, "IC3": 0.02, "IC4": 0.65, "IC5": 0.12, "IC6": 0.10, "IC9": 0.08},
    "B": {"IC1": 0.02, "IC3": 0.90, "IC4": 0.01, "IC6": 0.02, "IC9": 0.05},
    "O2": {"IC1": 0.02, "IC2": 0.05, "IC4": 0.06, "IC6": 0.80, "IC9": 0.07},
    "O9": {"IC1": 0.15, "IC2": 0.05, "IC3": 0.10, "IC4": 0.20, "IC6": 0.35, "IC9": 0.15},
    "NS": {"IC1": 0.50, "IC2": 0.02, "IC3": 0.20, "IC4": 0.15, "IC6": 0.03, "IC9": 0.10},
}
# share of people living in each local policing area, relative to its population
AREA_WEIGHT = {"E08000025": 1.2}  # Birmingham (others 1.0)
HOME_AREA_OFFENCE = 0.85  # offences in the person's home area

# --- offences -----------------------------------------------------------------------------------
DRUGS = {
    "CAN": 0.75, "COC": 0.11, "CRK": 0.025, "HER": 0.02, "MDMA": 0.03, "KET": 0.025,
    "AMP": 0.01, "SCRA": 0.015, "BEN": 0.01, "OTH": 0.005,
}  # fmt: skip
CLASS_A = ("COC", "CRK", "HER", "MDMA")
SOURCES = {"stop_search": 0.80, "custody": 0.12, "other": 0.08}

# Old outcomes (HOCR) of an adult's cannabis possession before the launch, for the reference
# group (self-defined White, male); shares of: charge, caution, PND, cannabis warning,
# community resolution, NFA-like (21).
OLD_OUTCOMES_ADULT_CANNABIS = (0.12, 0.12, 0.13, 0.41, 0.11, 0.11)
OLD_OUTCOMES_ADULT_OTHER = (0.26, 0.24, 0.0, 0.0, 0.26, 0.24)  # no PND / warning for these
OLD_OUTCOMES_YOUTH = (0.05, 0.25, 0.0, 0.0, 0.46, 0.24)  # youth caution (2); no PND
# Odds ratio of a formal outcome (charge or caution) against White, by self-defined group:
# drives African-Caribbean males' 46% before the launch.
FORMAL_ODDS = {"W": 1.0, "M": 1.4, "M1": 1.7, "A": 1.2, "B": 1.8, "B1": 2.1, "O": 1.2, "NS": 1.0}
FORMAL_ODDS_FEMALE = 0.7
OUTCOME_DELAY_DAYS = {1: (7, 90), 2: (1, 30), 3: (1, 30), 6: (0, 0), 7: (0, 0), 8: (0, 0), 21: (1, 60)}

# --- after the launch -----------------------------------------------------------------------------
# The officer refers at the scene, unless an exception applies; by broad self-defined group.
# Black people are referred less often, which keeps Black Caribbean males' formal share at
# about 12.5% in Jul-Dec 2021 while every group's share falls.
REFER_AT_SCENE = {"White": 0.93, "Mixed": 0.91, "Asian": 0.92, "Black": 0.78, "Other": 0.92,
                  "Not stated": 0.92}  # fmt: skip
# Offences not referred: shares of charge, caution, NFA-like (21) for the reference group; the
# FORMAL_ODDS apply on top. Someone with an intelligence log (no second offer) is treated
# more formally. With the referral shares these give charges -71% and cautions -80%
# (Jul-Dec 2019 against Jul-Dec 2021, counts).
NOT_REFERRED_OUTCOMES = (0.15, 0.09, 0.76)
NO_SECOND_OFFER_OUTCOMES = (0.35, 0.24, 0.41)

# --- the pathway ---------------------------------------------------------------------------------
ASSESSED = {"White": 0.66, "Mixed": 0.64, "Asian": 0.66, "Black": 0.60, "Other": 0.65,
            "Not stated": 0.64}  # fmt: skip  # complete at least the assessment (65%)
NOT_ASSESSED_DECLINED = 0.30  # of those not assessed: declined; the rest no contact
ALLOCATION = {"group_course": 0.86, "one_to_one": 0.10, "structured_treatment": 0.04}
ALLOCATION_HARD_DRUGS = {"group_course": 0.45, "one_to_one": 0.25, "structured_treatment": 0.30}
HARD_DRUGS = ("CRK", "HER")
RISK_FLAGS = {"risk_poly_drug": 0.22, "risk_alcohol": 0.25, "risk_mental_health": 0.18,
              "risk_injecting": 0.01}  # fmt: skip
RISK_INJECTING_HARD_DRUGS = 0.25
NO_SHOW = 0.12  # booked on a course, did not attend: not engaged
CANCELLED = 0.08  # cancelled a booking and was booked on a later session
ONE_TO_ONE_COMPLETED = 0.85
WORKERS = 10  # assessment workers at scale 1
FACILITATORS = 4

# --- course sessions ----------------------------------------------------------------------------
SEATS = 12
SESSION_MINUTES = 150
# weekly number of sessions at scale 1 from each date: below demand at the launch (the
# projection from crime data was too low), raised later.
SESSIONS_PER_WEEK = ((0, 1.5), (4, 3.6), (15, 3.0))  # (months after the launch, sessions a week at scale 1)
SESSION_SLOTS = ((1, 18), (3, 10), (5, 10), (0, 18), (2, 13), (4, 10), (6, 11))  # (weekday, hour)
FACE_TO_FACE_AFTER_MONTHS = 21  # face-to-face sessions from 21 months after the launch
FACE_TO_FACE = 0.2
BOOKING_NOTICE_DAYS = 2

# --- stop and search (police.uk labels) -------------------------------------------------------
SEARCH_TYPES = {"Person search": 0.86, "Person and Vehicle search": 0.11, "Vehicle search": 0.03}
SEARCH_GENDER = {"Male": 0.885, "Female": 0.10, "Other": 0.002, None: 0.013}
SEARCH_AGE = {"under 10": 0.001, "10-17": 0.13, "18-24": 0.40, "25-34": 0.27, "over 34": 0.18, None: 0.019}
SEARCH_SELF_BLANK = 0.05
SEARCH_LEGISLATION = {
    "Misuse of Drugs Act 1971 (section 23)": 0.82,
    "Police and Criminal Evidence Act 1984 (section 1)": 0.15,
    "Criminal Justice and Public Order Act 1994 (section 60)": 0.02,
    None: 0.01,
}
PACE_OBJECTS = {"Offensive weapons": 0.4, "Stolen goods": 0.35, "Article for use in theft": 0.15,
                "Articles for use in criminal damage": 0.1}  # fmt: skip
SEARCH_OUTCOMES = (
    "A no further action disposal", "Arrest", "Community resolution", "Khat or Cannabis warning",
    "Summons / charged by post", "Caution (simple or conditional)", "Penalty Notice for Disorder",
)  # fmt: skip
SEARCH_OUTCOMES_BEFORE = (0.66, 0.13, 0.05, 0.09, 0.03, 0.01, 0.03)
SEARCH_OUTCOMES_AFTER = (0.64, 0.11, 0.20, 0.0, 0.025, 0.005, 0.02)
# odds of finding something (any outcome but NFA) by broad group: a lower find rate suggests a
# lower threshold for searching that group
SEARCH_FIND_ODDS = {"White": 1.0, "Mixed": 0.9, "Asian": 0.95, "Black": 0.8, "Other": 1.0,
                    "Not stated": 1.0}  # fmt: skip
AREA_CENTRES = {
    "E08000025": (52.4862, -1.8904), "E08000026": (52.4068, -1.5197),
    "E08000027": (52.5087, -2.0877), "E08000028": (52.5190, -1.9945),
    "E08000029": (52.4118, -1.7776), "E08000030": (52.5862, -1.9829),
    "E08000031": (52.5862, -2.1288),
}  # fmt: skip
