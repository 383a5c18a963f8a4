"""The file kinds Divert imports: their columns (the data dictionary and templates) and the
records function that validates and writes each row - the same rules as the forms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from divert.core import codes
from divert.records.offences import add_offence
from divert.records.published import add_population, add_stop_search
from divert.records.referrals import add_referral, close_referral, record_assessment
from divert.records.sessions import add_session, book
from divert.reference import policeuk


@dataclass(frozen=True)
class Column:
    name: str
    meaning: str
    type: str
    example: str
    allowed: str = ""
    required: bool = False


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    columns: tuple[Column, ...]
    writer: Callable
    natural_key: str

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _codes(mapping) -> str:
    return ", ".join(f"{k} ({v})" for k, v in mapping.items())


DATE = "date (YYYY-MM-DD or DD/MM/YYYY)"
DATETIME = "date and time (YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM; ISO 8601 offsets accepted)"
YES_NO = "yes/no (true/false, 1/0)"
NAME_OR_CODE = "name or code (an unknown one is reported with the nearest valid ones)"

PERSON = (
    Column("person_ref", "Police or provider identifier of the person; stored only as a keyed hash", "text", "PNC 21/0012345A", required=True),
    Column("sex", "Sex", "code", "M", _codes(codes.SEXES)),
    Column("birth_year", "Year of birth", "whole number", "1999"),
    Column("ethnicity_self", "Self-defined ethnicity (18+1)", "code", "B1", _codes(codes.ETHNICITY_SELF)),
    Column("ethnicity_officer", "Officer-defined ethnicity", "code", "IC3", _codes(codes.ETHNICITY_OFFICER)),
)
OFFENCE = (
    Column("crime_ref", "Crime reference of the possession offence (unique in the force)", "text", "20WM/0012/21", required=True),
    Column("offence_date", "Date the offence was recorded", DATE, "2021-03-01", required=True),
    Column("area", "Local policing area: its name or ONS local authority code, in any case", NAME_OR_CODE, "Birmingham",
           "a local authority of the programme's force area (see the Programme page or `divert programme show`)", True),
    Column("drug", "Main drug found: its name or code, in any case", NAME_OR_CODE, "cannabis", _codes(codes.DRUGS), True),
    Column("source", "How the offence came about: its name or code", NAME_OR_CODE, "stop_search", _codes(codes.REFERRAL_SOURCES),
           True),
)
OUTCOME = (
    Column("outcome", "Home Office Counting Rules outcome code", "whole number", "8", _codes(codes.HOCR_OUTCOMES)),
    Column("outcome_date", "Date the outcome was assigned", DATE, "2021-03-01"),
)

KINDS: dict[str, Kind] = {
    "offences": Kind(
        "offences",
        "The force's crime extract: recorded possession offences with outcomes and suspect demographics.",
        OFFENCE + OUTCOME + PERSON,
        add_offence,
        "crime_ref",
    ),
    "referrals": Kind(
        "referrals",
        "Referrals from officers; the offence is matched on crime_ref, or recorded with the referral.",
        (
            Column("reference", "Referral reference (unique)", "text", "DIV-000123", required=True),
            Column("referred_at", "When the officer referred the person", DATETIME, "2021-03-01 14:20", required=True),
            Column("referring_team", "Referring officer's team or station (not a name)", "text", "Birmingham East NPT"),
            Column("override_reason", "Why a person who did not engage before is offered again", "text", ""),
        )
        + OFFENCE
        + PERSON,
        add_referral,
        "reference",
    ),
    "assessments": Kind(
        "assessments",
        "Telephone assessments and harm-reduction sessions (one per referral).",
        (
            Column("referral_reference", "Referral reference", "text", "DIV-000123", required=True),
            Column("contact_attempts", "Contact attempts made", "whole number", "2"),
            Column("first_contact_at", "First successful contact", DATETIME, "2021-03-03 10:00"),
            Column("scheduled_at", "When the assessment was booked for", DATETIME, "2021-03-04 10:00"),
            Column("completed_at", "When the assessment was completed", DATETIME, "2021-03-04 10:45"),
            Column("result", "Result", "code", "completed", _codes(codes.ASSESSMENT_RESULTS), True),
        )
        + tuple(Column(name, f"Risk flag: {label}", YES_NO, "no") for name, label in codes.RISK_FLAGS.items())
        + (
            Column("harm_reduction_advice", "Harm-reduction advice given", YES_NO, "yes"),
            Column("allocation", "Intervention allocated", "code", "group_course", _codes(codes.ALLOCATIONS)),
            Column("worker", "Drug worker's staff code (not a name)", "text", "DW07"),
        ),
        record_assessment,
        "referral_reference",
    ),
    "sessions": Kind(
        "sessions",
        "Group course sessions.",
        (
            Column("session_ref", "Session reference (unique)", "text", "S-20210320-1", required=True),
            Column("starts_at", "Start", DATETIME, "2021-03-20 18:00", required=True),
            Column("duration_minutes", "Length in minutes", "whole number", "150"),
            Column("mode", "Delivery", "code", "online", _codes(codes.DELIVERY_MODES)),
            Column("seats", "Seats", "whole number 1-100", "12", required=True),
            Column("facilitator", "Facilitator's staff code (not a name)", "text", "F03"),
        ),
        add_session,
        "session_ref",
    ),
    "bookings": Kind(
        "bookings",
        "Bookings of allocated referrals onto sessions, with attendance.",
        (
            Column("referral_reference", "Referral reference", "text", "DIV-000123", required=True),
            Column("session_ref", "Session reference", "text", "S-20210320-1", required=True),
            Column("booked_at", "When the booking was made", DATETIME, "2021-03-05 09:00"),
            Column("status", "Booking status", "code", "booked", _codes(codes.BOOKING_STATUSES)),
        ),
        book,
        "referral_reference + session_ref",
    ),
    "closures": Kind(
        "closures",
        "How referrals ended: complied, or not engaged with the intelligence-log date.",
        (
            Column("referral_reference", "Referral reference", "text", "DIV-000123", required=True),
            Column("closed_on", "Closure date", DATE, "2021-03-21", required=True),
            Column("result", "Result", "code", "complied", _codes(codes.CLOSURE_RESULTS), True),
            Column("intelligence_log_date", "Date the intelligence log was submitted (not engaged only)", DATE, ""),
            Column("onward_treatment", "Referred on into structured treatment", YES_NO, "no"),
        ),
        close_referral,
        "referral_reference",
    ),
    "stop-search": Kind(
        "stop-search",
        "police.uk stop-and-search files exactly as published (YYYY-MM-<force>-stop-and-search.csv), any month "
        "since 2014, or the police.uk monthly archive (.zip) with --force for one force.",
        (
            Column("Type", "Type of search", "text", "Person search", "Person search, Person and Vehicle search, Vehicle search", True),
            Column("Date", "When the search happened", "ISO 8601 date and time", "2020-01-01T12:30:00+00:00", required=True),
            Column("Part of a policing operation", "Part of a policing operation", "True/False/blank", "False"),
            Column("Policing operation", "Operation name", "text", ""),
            Column("Latitude", "Approximate latitude", "number", "52.48"),
            Column("Longitude", "Approximate longitude", "number", "-1.89"),
            Column("Gender", "Gender", "text", "Male"),
            Column("Age range", "Age range", "text", "18-24", "under 10, " + ", ".join(codes.AGE_BANDS)),
            Column("Self-defined ethnicity", "Self-defined ethnicity label (kept as published, with its 18+1 code)", "text",
                   "Black/African/Caribbean/Black British - Caribbean",
                   "police.uk 18+1 labels, or the older ones with the code in brackets, e.g. Black or Black British - Caribbean (B1)"),
            Column("Officer-defined ethnicity", "Officer-defined ethnicity", "text", "Black", ", ".join(codes.POLICE_UK_OFFICER_DEFINED)),
            Column("Legislation", "Power used", "text", "Misuse of Drugs Act 1971 (section 23)"),
            Column("Object of search", "What was searched for", "text", "Controlled drugs"),
            Column("Outcome", "Outcome (older wording is stored in today's: Suspect arrested -> Arrest)", "text",
                   "A no further action disposal", ", ".join(policeuk.OUTCOME.labels)),
            Column("Outcome linked to object of search", "Whether the outcome was for the object searched for", "True/False/blank", "True"),
            Column("Removal of more than just outer clothing", "More than outer clothing removed", "True/False/blank", "False"),
        ),
        add_stop_search,
        "file name + row number",
    ),
    "population": Kind(
        "population",
        "Census population denominators by geography and ethnic group.",
        (
            Column("census_year", "Census year", "whole number", "2011", required=True),
            Column("geography_level", "Level", "code", "local_authority", "force, local_authority, area", True),
            Column("geography_code", "ONS code of the geography", "text", "E08000025", required=True),
            Column("geography_name", "Name of the geography", "text", "Birmingham", required=True),
            Column("force", "Police force the geography belongs to", "text", "west-midlands"),
            Column("ethnicity", "18+1 code, broad group (White, Mixed, Asian, Black, Other) or All", "text", "B1", required=True),
            Column("sex", "Sex", "code", "all", "all, M, F"),
            Column("age_band", "Age band", "text", "all"),
            Column("count", "Usual residents", "whole number", "47641", required=True),
            Column("source", "Source and licence", "text", "ONS Census 2011 QS201EW, OGL v3.0", required=True),
        ),
        add_population,
        "census_year + geography_code + ethnicity + sex + age_band",
    ),
}
