"""The analytics loader: the database -> polars frames, one query per frame, read only.

Records voided as entered by mistake (referral, offence, course session: void_at set) are
left out here, so that no figure counts them; a void referral's bookings hold no seat.

Everything on a dashboard is computed from these frames by the pure functions beside this
module. Dates come back as polars Date/Datetime on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

import polars as pl
from sqlalchemy import Engine, bindparam, text

from divert.analytics.data.memo import per_snapshot
from divert.core import codes
from divert.reference.programme import TIME_ZONE, Programme

OFFENCES_SQL = """
SELECT o.id AS offence_id, o.force, o.offence_date, o.area, o.drug, o.source,
       o.outcome, o.outcome_date, o.age, o.person_id,
       p.sex, p.ethnicity_self, p.ethnicity_officer
FROM offence o LEFT JOIN person p ON p.id = o.person_id
WHERE o.void_at IS NULL
"""

REFERRALS_SQL = """
SELECT r.id AS referral_id, r.reference, r.force, r.offence_id, r.person_id, r.referred_at,
       r.status, r.repeat, r.eligibility,
       o.offence_date, o.area, o.drug, o.source, o.age,
       p.sex, p.ethnicity_self, p.ethnicity_officer,
       a.contact_attempts, a.first_contact_at, a.completed_at AS assessed_at, a.result AS assessment_result,
       a.allocation, a.worker,
       b.first_booked_at, b.first_session_at, b.attended_at, b.course_completed_at, b.no_shows,
       c.closed_on, c.result AS closure_result, c.intelligence_log_date, c.onward_treatment
FROM referral r
JOIN offence o ON o.id = r.offence_id
JOIN person p ON p.id = r.person_id
LEFT JOIN assessment a ON a.referral_id = r.id
LEFT JOIN (
    SELECT bk.referral_id,
           MIN(bk.booked_at) AS first_booked_at,
           MIN(s.starts_at) AS first_session_at,
           MIN(CASE WHEN bk.status IN ('attended', 'completed') THEN s.starts_at END) AS attended_at,
           MIN(CASE WHEN bk.status = 'completed' THEN s.starts_at END) AS course_completed_at,
           SUM(CASE WHEN bk.status = 'no_show' THEN 1 ELSE 0 END) AS no_shows
    FROM booking bk JOIN course_session s ON s.id = bk.session_id
    WHERE bk.status <> 'cancelled' AND s.void_at IS NULL
    GROUP BY bk.referral_id
) b ON b.referral_id = r.id
LEFT JOIN closure c ON c.referral_id = r.id
WHERE r.void_at IS NULL AND o.void_at IS NULL
"""

SESSIONS_SQL = """
SELECT s.id AS session_id, s.session_ref, s.starts_at, s.seats, s.mode, s.facilitator,
       COUNT(CASE WHEN b.status IN ('booked', 'attended', 'completed', 'no_show') THEN 1 END) AS booked,
       COUNT(CASE WHEN b.status IN ('attended', 'completed') THEN 1 END) AS attended
FROM course_session s LEFT JOIN (
    SELECT bk.session_id, bk.status FROM booking bk JOIN referral r ON r.id = bk.referral_id WHERE r.void_at IS NULL
) b ON b.session_id = s.id
WHERE s.void_at IS NULL
GROUP BY s.id, s.session_ref, s.starts_at, s.seats, s.mode, s.facilitator
"""

STOP_SEARCH_SQL = """
SELECT force, searched_at, search_type, ethnicity_self_code, ethnicity_officer, object_of_search, outcome,
       outcome_linked, area
FROM stop_search
"""

POPULATION_SQL = """
SELECT census_year, geography_level, geography_code, geography_name, force, ethnicity, sex, age_band,
       count, source
FROM population
"""

DATES = ("offence_date", "outcome_date", "closed_on", "intelligence_log_date")
DATETIMES = ("referred_at", "first_contact_at", "assessed_at", "completed_at", "booked_at", "first_booked_at", "first_session_at",
             "attended_at", "course_completed_at", "starts_at", "searched_at")
BOOLEANS = ("repeat", "onward_treatment", "outcome_linked")
INTEGERS = ("id", "offence_id", "referral_id", "person_id", "session_id", "outcome", "age", "contact_attempts", "seats",
            "booked", "attended", "no_shows", "census_year", "count")


LAST_IMPORT_SQL = "SELECT MAX(at) AS last_import FROM audit_event WHERE action = 'import'"


@dataclass(frozen=True)
class Frames:
    offences: pl.DataFrame
    referrals: pl.DataFrame
    sessions: pl.DataFrame
    stop_search: pl.DataFrame
    population: pl.DataFrame
    programme: Programme = field(default_factory=Programme)
    last_import: datetime | None = None
    as_of: date | None = None  # set on a snapshot made by at()

    def at(self, as_of: date) -> Frames:
        """What was known at the end of `as_of` (Europe/London): records dated later are left
        out, and steps taken later (an assessment, a booking, a closure, a court outcome) are
        not yet taken. Course sessions are kept: the schedule ahead is known in advance. Only
        what differs is copied: for today, most frames are the loaded ones themselves."""
        cutoff = pl.lit(end_of_day(as_of)).dt.convert_time_zone("UTC")
        offences = _clear_later(_up_to(self.offences, pl.col("offence_date") <= as_of), [
            (pl.col("outcome_date") > as_of, {"outcome": None, "outcome_date": None})])
        booked_later = pl.col("first_booked_at") > cutoff
        refs = _clear_later(_up_to(self.referrals, pl.col("referred_on") <= as_of), [
            (pl.col("first_contact_at") > cutoff, {"first_contact_at": None}),
            (pl.col("assessed_at") > cutoff, dict.fromkeys(("assessed_at", "assessment_result", "allocation", "worker"))),
            (booked_later, {"first_booked_at": None, "first_session_at": None}),
            (booked_later | (pl.col("first_session_at") > cutoff), {"no_shows": 0}),
            (pl.col("attended_at") > cutoff, {"attended_at": None}),
            (pl.col("course_completed_at") > cutoff, {"course_completed_at": None}),
            (pl.col("closed_on") > as_of, dict.fromkeys(("closed_on", "closure_result", "intelligence_log_date",
                                                         "onward_treatment"))),
        ])
        return replace(self, offences=offences, referrals=refs, stop_search=_searches_up_to(self.stop_search, as_of),
                       as_of=as_of)

    def data_up_to(self) -> dict[str, date | None]:
        """The latest record of each source (not the as-of date: data can lag behind it)."""
        def latest(frame: pl.DataFrame, column: str):
            if frame.is_empty() or column not in frame.columns:
                return None
            value = frame[column].max()
            return value.astimezone(TIME_ZONE).date() if isinstance(value, datetime) else value

        return {"offences": latest(self.offences, "offence_date"), "referrals": latest(self.referrals, "referred_on"),
                "stop_search": latest(self.stop_search, "searched_at")}


def end_of_day(day: date) -> datetime:
    """The last moment of `day` in Europe/London, as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), time(0), TIME_ZONE) - timedelta(microseconds=1)


@per_snapshot  # one object for the same searches and date: what is worked out from it is kept across writes
def _searches_up_to(searches: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The searches made by the end of `as_of` (Europe/London). Kept on the loaded frame, which a
    write to the programme's records leaves as it is, so that every snapshot of the same day
    hands on the same frame, and the stop-search figures kept on it (a pass over millions of
    searches) are not worked out again after a referral is saved."""
    if not searches.height:
        return searches
    return _up_to(searches, pl.col("searched_at") <= pl.lit(end_of_day(as_of)).dt.convert_time_zone("UTC"))


def _up_to(frame: pl.DataFrame, kept: pl.Expr) -> pl.DataFrame:
    """The rows where `kept` holds; the frame itself when that is every row, and a slice of it
    (no copy) when they are its first rows, as they are in a frame kept in date order (finish)."""
    if frame.is_empty():
        return frame
    held = frame.select(kept.fill_null(False).alias("kept")).to_series()
    count = held.sum()
    if count == frame.height:
        return frame
    if held.head(count).all():
        return frame.head(count)
    return frame.filter(kept)


def _clear_later(frame: pl.DataFrame, rules: list[tuple[pl.Expr, dict]]) -> pl.DataFrame:
    """For each (later, {column: value}) rule, the columns set to the value where `later`
    holds; rules that hold nowhere copy nothing."""
    if frame.is_empty():
        return frame
    holds = frame.select([later.fill_null(False).any().alias(str(n)) for n, (later, _) in enumerate(rules)]).row(0)
    changes = [pl.when(later).then(pl.lit(value, dtype=frame.schema[column])).otherwise(pl.col(column)).alias(column)
               for (later, columns), held in zip(rules, holds, strict=True) if held
               for column, value in columns.items()]
    return frame.with_columns(changes) if changes else frame


def read(engine: Engine, sql: str, texts: tuple[str, ...] = (), ids: list[int] | None = None) -> pl.DataFrame:
    """One query's rows as a typed frame; `ids` fills the query's `IN :ids` list."""
    statement = text(sql) if ids is None else text(sql).bindparams(bindparam("ids", expanding=True))
    with engine.connect() as conn:
        result = conn.execute(statement, {} if ids is None else {"ids": ids})
        columns = list(result.keys())
        rows = result.fetchall()
    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None) if rows else pl.DataFrame(
        {c: [] for c in columns}
    )
    return _types(frame, texts)


def _types(frame: pl.DataFrame, texts: tuple[str, ...] = ()) -> pl.DataFrame:
    """SQLite returns dates as text; PostgreSQL as dates. Make them polars dates either way.
    Columns named in `texts` stay text (a stop-search outcome is words, an offence's a code)."""
    fixes = []
    for name in frame.columns:
        dtype = frame.schema[name]
        if name in texts:
            fixes.append(pl.col(name).cast(pl.String).alias(name))
        elif name in DATES:
            fixes.append(_as_date(pl.col(name), dtype).alias(name))
        elif name in DATETIMES:
            fixes.append(_as_datetime(pl.col(name), dtype).alias(name))
        elif name in BOOLEANS:
            fixes.append(pl.col(name).cast(pl.Boolean, strict=False).alias(name))
        elif name in INTEGERS:
            fixes.append(pl.col(name).cast(pl.Int64, strict=False).alias(name))
        elif dtype == pl.Null:  # an empty table or an all-blank column: text
            fixes.append(pl.col(name).cast(pl.String).alias(name))
    return frame.with_columns(fixes) if fixes else frame


def _as_date(col: pl.Expr, dtype) -> pl.Expr:
    if dtype == pl.Null:
        return col.cast(pl.Date)
    if dtype == pl.String:
        return col.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return col.cast(pl.Date)


def _as_datetime(col: pl.Expr, dtype) -> pl.Expr:
    if dtype == pl.Null:
        return col.cast(pl.Datetime("us", "UTC"))
    if dtype == pl.String:
        return col.str.slice(0, 19).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.replace_time_zone("UTC")
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return col.dt.replace_time_zone("UTC")
    return col.cast(pl.Datetime("us", "UTC"))


def people_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add age band and ethnic group columns. Blank ethnicity is 'Missing', NS is 'Not stated':
    both stay in the data as their own groups, never dropped."""
    broad = {code: codes.broad_group(code) for code in codes.ETHNICITY_SELF}
    return frame.with_columns(
        pl.col("ethnicity_self").fill_null("Missing").alias("ethnicity"),
        pl.col("ethnicity_self").replace_strict(broad, default="Missing").alias("ethnic_group"),
        pl.col("sex").fill_null("U"),
        age_band_expr(pl.col("age")).alias("age_band"),
    )


def age_band_expr(age: pl.Expr) -> pl.Expr:
    return (
        pl.when(age.is_null() | (age < 10)).then(pl.lit("Missing"))
        .when(age <= 17).then(pl.lit("10-17"))
        .when(age <= 24).then(pl.lit("18-24"))
        .when(age <= 34).then(pl.lit("25-34"))
        .otherwise(pl.lit("over 34"))
    )


FRAMES = ("offences", "referrals", "sessions", "stop_search", "population")

# Text columns with few distinct values (codes and labels), held as polars Categorical: four bytes
# a row instead of a sixteen-byte string view (and the text itself), which is most of the frames'
# memory at a million referrals. They compare with text as text columns do (== "x", is_in);
# a join or concat with a text column needs the text cast first (`.cast(pl.String)`).
CATEGORICAL = ("force", "area", "drug", "source", "sex", "ethnicity_self", "ethnicity_officer", "ethnicity",
               "ethnic_group", "age_band", "status", "eligibility", "assessment_result", "allocation", "worker",
               "closure_result")
CATEGORICAL_BY_FRAME = {
    "offences": CATEGORICAL,
    "referrals": CATEGORICAL,
    "stop_search": ("force", "area", "search_type", "ethnicity_self_code", "ethnicity_officer", "object_of_search",
                    "outcome"),
}


# Frames kept in date order, so that what was known at an earlier date (Frames.at) is their first
# rows, taken without a copy. Rows added later by a refresh go at the end (most are the latest).
IN_DATE_ORDER = {"offences": "offence_date", "referrals": "referred_at", "stop_search": "searched_at"}


def finish(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The columns every figure uses beside the stored ones (age band, ethnic group, and a
    referral's UK day), the code columns as Categorical (CATEGORICAL_BY_FRAME), in date order
    (IN_DATE_ORDER)."""
    if name in ("offences", "referrals"):
        frame = people_columns(frame)
    if name == "referrals":
        frame = frame.with_columns(
            pl.col("referred_at").dt.convert_time_zone(TIME_ZONE.key).dt.date().alias("referred_on"))
    if name in IN_DATE_ORDER and frame.height > 1:
        frame = frame.sort(IN_DATE_ORDER[name], nulls_last=True)
    return compact(name, frame)


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with its Categorical columns as text: what a figure's table hands on (a chart, a
    join with a table made from text) has text columns, whichever frame it was counted from."""
    codes = [column for column, dtype in frame.schema.items() if isinstance(dtype, pl.Categorical | pl.Enum)]
    return frame.with_columns(pl.col(codes).cast(pl.String)) if codes else frame


def compact(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """`name`'s code columns as Categorical (see CATEGORICAL_BY_FRAME)."""
    codes = [column for column in CATEGORICAL_BY_FRAME.get(name, ()) if column in frame.columns
             and frame.schema[column] in (pl.String, pl.Null)]
    return frame.with_columns([pl.col(column).cast(pl.String).cast(pl.Categorical) for column in codes]) if codes \
        else frame


def last_import(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        value = conn.execute(text(LAST_IMPORT_SQL)).scalar()
    return datetime.fromisoformat(value) if isinstance(value, str) else value
