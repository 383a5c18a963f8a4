"""The tables. Codes live in divert.core.codes; the schema holds them with CHECK constraints.

No names, contact details or raw police identifiers: a person is a keyed hash.
Schema changes go through Alembic migrations in divert/migrations.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from divert.core import codes
from divert.core.codes import sql_in


def _force() -> str:
    from divert.core.environment import current_force

    return current_force()


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint(sql_in("sex", codes.SEXES), name="ck_person_sex"),
        CheckConstraint(
            "ethnicity_self IS NULL OR " + sql_in("ethnicity_self", codes.ETHNICITY_SELF),
            name="ck_person_ethnicity_self",
        ),
        CheckConstraint(
            "ethnicity_officer IS NULL OR "
            + sql_in("ethnicity_officer", codes.ETHNICITY_OFFICER),
            name="ck_person_ethnicity_officer",
        ),
        CheckConstraint(
            "birth_year IS NULL OR (birth_year BETWEEN 1900 AND 2100)", name="ck_person_birth_year"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    # keyed hash (HMAC-SHA256) of the police or provider identifier; never the raw identifier
    person_key: str = Field(max_length=64, unique=True)
    birth_year: int | None = None
    sex: str = Field(default="U", max_length=1)
    ethnicity_self: str | None = Field(default=None, max_length=2)
    ethnicity_officer: str | None = Field(default=None, max_length=3)
    home_area: str | None = Field(default=None, max_length=12)
    demo: bool = False
    import_id: str | None = Field(default=None, max_length=32)  # the import that wrote it last (audit row_id)


class Offence(SQLModel, table=True):
    __tablename__ = "offence"
    __table_args__ = (
        UniqueConstraint("force", "crime_ref", name="uq_offence_crime_ref"),
        CheckConstraint(sql_in("drug", codes.DRUGS), name="ck_offence_drug"),
        CheckConstraint(sql_in("source", codes.REFERRAL_SOURCES), name="ck_offence_source"),
        CheckConstraint(
            "outcome IS NULL OR " + sql_in("outcome", codes.HOCR_OUTCOMES),
            name="ck_offence_outcome",
        ),
        CheckConstraint(
            "outcome_date IS NULL OR outcome_date >= offence_date", name="ck_offence_outcome_date"
        ),
        CheckConstraint("age IS NULL OR age BETWEEN 10 AND 110", name="ck_offence_age"),
        Index("ix_offence_force_date", "force", "offence_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    force: str = Field(default_factory=_force, max_length=40)
    crime_ref: str = Field(max_length=40)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    offence_date: date
    age: int | None = None  # age at the offence, from the person's year of birth
    area: str = Field(max_length=12)
    drug: str = Field(max_length=4)
    source: str = Field(max_length=12)
    outcome: int | None = None
    outcome_date: date | None = None
    demo: bool = False
    import_id: str | None = Field(default=None, max_length=32)  # the import that wrote it last (audit row_id)
    # entered by mistake: kept, left out of every figure (divert.records.corrections)
    void_at: datetime | None = None
    void_by: str | None = Field(default=None, max_length=60)
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Referral(SQLModel, table=True):
    __tablename__ = "referral"
    __table_args__ = (
        CheckConstraint(sql_in("status", codes.REFERRAL_STATUSES), name="ck_referral_status"),
        CheckConstraint(sql_in("eligibility", codes.ELIGIBILITY), name="ck_referral_eligibility"),
        CheckConstraint(
            "eligibility <> 'override' OR override_reason IS NOT NULL",
            name="ck_referral_override_reason",
        ),
        Index("ix_referral_force_referred_at", "force", "referred_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    force: str = Field(default_factory=_force, max_length=40)
    reference: str = Field(max_length=40, unique=True)
    offence_id: int = Field(foreign_key="offence.id", unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    referred_at: datetime
    referring_team: str | None = Field(default=None, max_length=80)
    eligibility: str = Field(default="eligible", max_length=12)
    override_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    repeat: bool = False  # the person had completed a diversion before
    status: str = Field(default="open", max_length=8)
    version: int = 1
    demo: bool = False
    import_id: str | None = Field(default=None, max_length=32)  # the import that wrote it last (audit row_id)
    # entered by mistake: kept, left out of every figure (divert.records.corrections)
    void_at: datetime | None = None
    void_by: str | None = Field(default=None, max_length=60)
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Assessment(SQLModel, table=True):
    __tablename__ = "assessment"
    __table_args__ = (
        CheckConstraint(sql_in("result", codes.ASSESSMENT_RESULTS), name="ck_assessment_result"),
        CheckConstraint(
            "allocation IS NULL OR " + sql_in("allocation", codes.ALLOCATIONS),
            name="ck_assessment_allocation",
        ),
        CheckConstraint("contact_attempts >= 0", name="ck_assessment_attempts"),
        CheckConstraint(
            "result = 'completed' OR allocation IS NULL", name="ck_assessment_allocation_needs_result"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referral.id", unique=True)
    contact_attempts: int = 0
    first_contact_at: datetime | None = None
    scheduled_at: datetime | None = None
    completed_at: datetime | None = None
    result: str = Field(max_length=12)
    risk_poly_drug: bool = False
    risk_alcohol: bool = False
    risk_mental_health: bool = False
    risk_injecting: bool = False
    harm_reduction_advice: bool = False
    allocation: str | None = Field(default=None, max_length=24)
    worker: str | None = Field(default=None, max_length=40)  # staff code, not a name
    version: int = 1


class ContactAttempt(SQLModel, table=True):
    """One call or message to reach a referred person before the assessment is recorded."""

    __tablename__ = "contact_attempt"
    __table_args__ = (CheckConstraint(sql_in("outcome", codes.CONTACT_OUTCOMES), name="ck_contact_outcome"),)
    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    attempted_at: datetime
    outcome: str = Field(max_length=12)
    assessment_booked_for: datetime | None = None  # when reached: the time agreed for the assessment
    worker: str | None = Field(default=None, max_length=40)  # staff code, not a name
    version: int = 1


class CourseSession(SQLModel, table=True):
    __tablename__ = "course_session"
    __table_args__ = (
        CheckConstraint(sql_in("mode", codes.DELIVERY_MODES), name="ck_session_mode"),
        CheckConstraint("seats > 0 AND seats <= 100", name="ck_session_seats"),
        CheckConstraint("duration_minutes > 0", name="ck_session_duration"),
    )
    id: int | None = Field(default=None, primary_key=True)
    session_ref: str = Field(max_length=40, unique=True)
    starts_at: datetime = Field(index=True)
    duration_minutes: int = 150
    mode: str = Field(default="online", max_length=12)
    seats: int = 12
    facilitator: str | None = Field(default=None, max_length=40)  # staff code
    version: int = 1
    demo: bool = False
    # entered by mistake: kept, left out of every figure (divert.records.corrections)
    void_at: datetime | None = None
    void_by: str | None = Field(default=None, max_length=60)
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Booking(SQLModel, table=True):
    __tablename__ = "booking"
    __table_args__ = (
        UniqueConstraint("referral_id", "session_id", name="uq_booking_referral_session"),
        CheckConstraint(sql_in("status", codes.BOOKING_STATUSES), name="ck_booking_status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    session_id: int = Field(foreign_key="course_session.id", index=True)
    booked_at: datetime
    status: str = Field(default="booked", max_length=12)
    version: int = 1


class Closure(SQLModel, table=True):
    __tablename__ = "closure"
    __table_args__ = (
        CheckConstraint(sql_in("result", codes.CLOSURE_RESULTS), name="ck_closure_result"),
        CheckConstraint(
            "result <> 'not_engaged' OR intelligence_log_date IS NOT NULL",
            name="ck_closure_intelligence_log",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referral.id", unique=True)
    closed_on: date
    result: str = Field(max_length=12)
    intelligence_log_date: date | None = None
    onward_treatment: bool = False  # referred on into structured treatment
    version: int = 1


class StopSearch(SQLModel, table=True):
    """A police.uk stop-and-search row, kept as published (labels, not codes)."""

    __tablename__ = "stop_search"
    __table_args__ = (
        UniqueConstraint("source_file", "source_row", name="uq_stop_search_source"),
        CheckConstraint(
            "ethnicity_self_code IS NULL OR "
            + sql_in("ethnicity_self_code", codes.ETHNICITY_SELF),
            name="ck_stop_search_ethnicity_self",
        ),
        Index("ix_stop_search_force_searched_at", "force", "searched_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    force: str = Field(default_factory=_force, max_length=40)
    search_type: str = Field(max_length=40)
    searched_at: datetime
    part_of_operation: bool | None = None
    operation_name: str | None = Field(default=None, max_length=200)
    latitude: float | None = None
    longitude: float | None = None
    gender: str | None = Field(default=None, max_length=20)
    age_range: str | None = Field(default=None, max_length=20)
    ethnicity_self_label: str | None = Field(default=None, max_length=120)
    ethnicity_self_code: str | None = Field(default=None, max_length=2)
    ethnicity_officer: str | None = Field(default=None, max_length=20)
    legislation: str | None = Field(default=None, max_length=200)
    object_of_search: str | None = Field(default=None, max_length=100)
    outcome: str | None = Field(default=None, max_length=100)
    outcome_linked: bool | None = None
    removal_of_clothing: bool | None = None
    area: str | None = Field(default=None, max_length=12)
    source_file: str = Field(max_length=120)
    source_row: int
    demo: bool = False
    import_id: str | None = Field(default=None, max_length=32)  # the import that wrote it last (audit row_id)


class Population(SQLModel, table=True):
    """Census denominators. 'all' stands for every sex / every age band."""

    __tablename__ = "population"
    __table_args__ = (
        UniqueConstraint(
            "census_year", "geography_code", "ethnicity", "sex", "age_band", name="uq_population"
        ),
        CheckConstraint("count >= 0", name="ck_population_count"),
    )
    id: int | None = Field(default=None, primary_key=True)
    census_year: int
    geography_level: str = Field(max_length=20)  # force | local_authority
    geography_code: str = Field(max_length=40)
    geography_name: str = Field(max_length=120)
    force: str | None = Field(default=None, max_length=40)
    ethnicity: str = Field(max_length=20)  # 18+1 code, or a broad group name, or 'All'
    sex: str = Field(default="all", max_length=3)
    age_band: str = Field(default="all", max_length=12)
    count: int
    source: str = Field(max_length=200)


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(sql_in("role", codes.ROLES), name="ck_user_role"),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, unique=True)
    display_name: str = Field(max_length=120)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=12)
    active: bool = True
    must_change_password: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime
    demo: bool = False


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    username: str = Field(max_length=60, index=True)
    action: str = Field(max_length=40)
    table_name: str = Field(max_length=40)
    row_id: str | None = Field(default=None, max_length=40)
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # the seal chain (divert.storage.audit_chain): the seal of the event before, and this one's
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


class Setting(SQLModel, table=True):
    """Settings kept in the database (JSON values), and markers such as the demo load."""

    __tablename__ = "setting"
    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(sa_column=Column(Text, nullable=False))


class DataVersion(SQLModel, table=True):
    """One row; every write bumps it so cached analytics know the data changed."""

    __tablename__ = "data_version"
    id: int = Field(default=1, primary_key=True)
    version: int = 0
