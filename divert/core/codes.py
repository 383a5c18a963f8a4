"""Reference codes of the programme: store the code, show the label.

Sources: Home Office Counting Rules (crime outcomes), the 18+1 self-defined ethnicity
classification (census 2011/2021), the IC officer-defined codes, police.uk open data.
"""

from __future__ import annotations


class Labels(dict):
    """code -> label, with the noun for what the codes are ("drug", "local policing area"), so
    that a refused value can be reported in the programme's words (divert.core.field_rules)."""

    def __init__(self, noun: str, labels: dict):
        super().__init__(labels)
        self.noun = noun


# --- Home Office Counting Rules crime outcomes ------------------------------------------
HOCR_OUTCOMES: dict[int, str] = {
    1: "Charge/summons",
    2: "Caution - youth",
    3: "Caution - adult",
    4: "Taken into consideration",
    6: "Penalty Notice for Disorder",
    7: "Cannabis/khat warning",
    8: "Community Resolution",
    10: "Formal action not in the public interest (police)",
    16: "Evidential difficulties, victim does not support",
    18: "Investigation complete, no suspect identified",
    21: "Further investigation not in the public interest",
    22: "Diversionary, educational or intervention activity",
}
# Home Office outcome groups
OUTCOME_GROUPS: dict[str, tuple[int, ...]] = {
    "charge": (1,),
    "out_of_court_formal": (2, 3, 6),
    "out_of_court_informal": (7, 8),
    "diversionary": (22,),
}
CHARGE = (1,)
CAUTION = (2, 3)
PND = (6,)
CANNABIS_WARNING = (7,)
COMMUNITY_RESOLUTION = (8,)
# "Formal criminal-justice outcome" in the programme's reports: charge or caution.
FORMAL_OUTCOMES = (1, 2, 3)

# --- Self-defined ethnicity (18+1) --------------------------------------------------------
ETHNICITY_SELF: dict[str, str] = {
    "W1": "White British",
    "W2": "White Irish",
    "W3": "Gypsy or Irish Traveller",
    "W9": "Any other White background",
    "M1": "White and Black Caribbean",
    "M2": "White and Black African",
    "M3": "White and Asian",
    "M9": "Any other Mixed background",
    "A1": "Indian",
    "A2": "Pakistani",
    "A3": "Bangladeshi",
    "A4": "Chinese",
    "A9": "Any other Asian background",
    "B1": "Black Caribbean",
    "B2": "Black African",
    "B9": "Any other Black background",
    "O2": "Arab",
    "O9": "Any other ethnic group",
    "NS": "Not stated",
}
BROAD_GROUPS: dict[str, str] = {
    "White": "White",
    "Mixed": "Mixed",
    "Asian": "Asian",
    "Black": "Black",
    "Other": "Other",
    "Not stated": "Not stated",
}
_BROAD_BY_LETTER = {"W": "White", "M": "Mixed", "A": "Asian", "B": "Black", "O": "Other"}


def broad_group(code: str | None) -> str:
    """Broad ethnic group of a self-defined code; blank and NS are 'Not stated'."""
    if not code or code == "NS":
        return "Not stated"
    return _BROAD_BY_LETTER[code[0]]


# Older 16+1 lists used O1 for Chinese; census 2021 "White Roma" maps to W9.
ETHNICITY_SELF_ALIASES = {"O1": "A4", "W4": "W9"}

# police.uk publishes self-defined ethnicity as "<group> - <detail>" labels.
POLICE_UK_SELF_DEFINED: dict[str, str] = {
    "White - English/Welsh/Scottish/Northern Irish/British": "W1",
    "White - Irish": "W2",
    "White - Gypsy or Irish Traveller": "W3",
    "White - Any other White background": "W9",
    "White - Roma": "W9",
    "Mixed/Multiple ethnic groups - White and Black Caribbean": "M1",
    "Mixed/Multiple ethnic groups - White and Black African": "M2",
    "Mixed/Multiple ethnic groups - White and Asian": "M3",
    "Mixed/Multiple ethnic groups - Any other Mixed/Multiple ethnic background": "M9",
    "Asian/Asian British - Indian": "A1",
    "Asian/Asian British - Pakistani": "A2",
    "Asian/Asian British - Bangladeshi": "A3",
    "Asian/Asian British - Chinese": "A4",
    "Asian/Asian British - Any other Asian background": "A9",
    "Black/African/Caribbean/Black British - Caribbean": "B1",
    "Black/African/Caribbean/Black British - African": "B2",
    "Black/African/Caribbean/Black British - Any other Black/African/Caribbean background": "B9",
    "Other ethnic group - Arab": "O2",
    "Other ethnic group - Any other ethnic group": "O9",
    "Other ethnic group - Not stated": "NS",
}

# --- Officer-defined ethnicity ------------------------------------------------------------
ETHNICITY_OFFICER: dict[str, str] = {
    "IC1": "White - North European",
    "IC2": "White - South European",
    "IC3": "Black",
    "IC4": "Asian (Indian subcontinent)",
    "IC5": "Chinese, Japanese or South East Asian",
    "IC6": "Arab or North African",
    "IC9": "Unknown",
}
# police.uk publishes officer-defined ethnicity as these five labels (or blank).
POLICE_UK_OFFICER_DEFINED = ("White", "Black", "Asian", "Other", "Mixed")
REFERENCE_GROUP = "White"  # the group every disparity ratio compares with
OFFICER_BROAD: dict[str, str] = {
    "IC1": "White",
    "IC2": "White",
    "IC3": "Black",
    "IC4": "Asian",
    "IC5": "Asian",
    "IC6": "Other",
    "IC9": "Not stated",
}

# --- People -------------------------------------------------------------------------------
SEXES: dict[str, str] = {"M": "Male", "F": "Female", "X": "Other", "U": "Not known"}
AGE_BANDS: tuple[str, ...] = ("10-17", "18-24", "25-34", "over 34")


def age_band(age: int | None) -> str | None:
    """police.uk age range of an age in years (None when unknown or under 10)."""
    if age is None or age < 10:
        return None
    if age <= 17:
        return "10-17"
    if age <= 24:
        return "18-24"
    if age <= 34:
        return "25-34"
    return "over 34"


# --- Offences and referrals ---------------------------------------------------------------
DRUGS: dict[str, str] = Labels("drug", {
    "CAN": "Cannabis",
    "COC": "Cocaine",
    "CRK": "Crack cocaine",
    "HER": "Heroin",
    "MDMA": "MDMA / ecstasy",
    "KET": "Ketamine",
    "AMP": "Amphetamine",
    "SCRA": "Synthetic cannabinoids (spice)",
    "BEN": "Benzodiazepines",
    "OTH": "Other controlled drug",
})
# Misuse of Drugs Act 1971 class of each drug (OTH: unknown, so never refused on class)
DRUG_CLASS: dict[str, str | None] = {"CAN": "B", "COC": "A", "CRK": "A", "HER": "A", "MDMA": "A", "KET": "B",
                                     "AMP": "B", "SCRA": "B", "BEN": "C", "OTH": None}
REFERRAL_SOURCES: dict[str, str] = Labels("source", {
    "stop_search": "Stop and search",
    "custody": "Custody",
    "other": "Other",
})
REFERRAL_STATUSES: dict[str, str] = {"open": "Open", "closed": "Closed"}
ELIGIBILITY: dict[str, str] = {
    "eligible": "Eligible",
    "override": "Previous non-engagement, offered on override",
}

# --- Assessment, course, closure ----------------------------------------------------------
ASSESSMENT_RESULTS: dict[str, str] = {
    "completed": "Completed",
    "no_contact": "No contact",
    "declined": "Declined",
}
ALLOCATIONS: dict[str, str] = {
    "group_course": "Group course",
    "one_to_one": "One-to-one",
    "structured_treatment": "Structured treatment",
}
RISK_FLAGS: dict[str, str] = {
    "risk_poly_drug": "Poly-drug use",
    "risk_alcohol": "Alcohol",
    "risk_mental_health": "Mental health",
    "risk_injecting": "Injecting",
}
DELIVERY_MODES: dict[str, str] = {"online": "Online", "face_to_face": "Face to face"}
BOOKING_STATUSES: dict[str, str] = {
    "booked": "Booked",
    "attended": "Attended",
    "completed": "Completed",
    "no_show": "No-show",
    "cancelled": "Cancelled",
}
CONTACT_OUTCOMES: dict[str, str] = {
    "reached": "Reached",
    "no_answer": "No answer",
    "message_left": "Message left",
}
# statuses that hold a seat
SEAT_HOLDING = ("booked", "attended", "completed", "no_show")
CLOSURE_RESULTS: dict[str, str] = {
    "complied": "Complied - Community Resolution stands",
    "not_engaged": "Not engaged - intelligence log submitted",
}

# --- Forces and local policing areas ------------------------------------------------------
DEFAULT_FORCE = "west-midlands"
FORCES: dict[str, str] = {
    "west-midlands": "West Midlands Police",
    "derbyshire": "Derbyshire Constabulary",
    "durham": "Durham Constabulary",
}
# --- Users --------------------------------------------------------------------------------
ROLES: dict[str, str] = {
    "viewer": "Viewer (OPCC)",
    "manager": "Service manager",
    "caseworker": "Caseworker",
    "admin": "Administrator",
}


def sql_in(column: str, codes) -> str:
    """A CHECK constraint body: column IN (...) for the given codes."""
    values = ", ".join(repr(c) if isinstance(c, str) else str(c) for c in codes)
    return f"{column} IN ({values})"
