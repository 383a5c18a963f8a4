"""The demo generator: every reported fact it is meant to show, checked by querying a real
database it was loaded into (SQLite file at scale 1; a small scale on SQLite and PostgreSQL).

Tolerances are for one draw at scale 1 (about 210 referrals a month), where a group as small
as Black Caribbean males has sampling noise of about 5 percentage points."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import bcrypt
import polars as pl
import pytest
from clock import TODAY, YESTERDAY
from dbfixtures import SMALL_DEMO, demo_url, migrated_url
from sqlalchemy import text
from sqlmodel import Session, select

from divert.core import codes
from divert.demo import DemoExists, load_demo
from divert.records.offences import add_offence
from divert.reference import census, census2021
from divert.storage.db import data_version, get_engine
from divert.storage.models import Booking, Closure, CourseSession, Offence, Person, Referral, StopSearch

SEED = 2020  # the tolerances below are calibrated on this draw
REFERENCE_END = date(2025, 9, 30)  # a fixed end: the checks below read dates from it
FORMAL = "(1, 2, 3)"


def fresh_engine(folder, name="demo.db"):
    return get_engine(migrated_url(folder, name))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The scale-1 demo (built once per test process) and its load's summary."""
    url, summary = demo_url(tmp_path_factory.mktemp("demo"), seed=SEED, scale=1.0, as_of=REFERENCE_END)
    engine = get_engine(url)
    yield engine, summary
    engine.dispose()


@pytest.fixture(scope="module")
def db(demo):
    engine, _ = demo
    # days as a number: SQLite's julianday(x), PostgreSQL's epoch / 86400
    DAYS = "julianday(" if engine.dialect.name == "sqlite" else "(1 / 86400.0::float8) * extract(epoch FROM "

    def query(sql: str, **params) -> pl.DataFrame:
        with engine.connect() as conn:
            result = conn.execute(text(sql.replace("julianday(", DAYS)), params)
            frame = pl.DataFrame([tuple(r) for r in result], schema=list(result.keys()), orient="row")
        # dates and times as SQLite stores them (ISO text, UTC), whichever database holds them
        return frame.with_columns(
            *(pl.col(c).dt.strftime("%Y-%m-%d") for c, t in frame.schema.items() if t == pl.Date),
            *(pl.col(c).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
              for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone),
        )

    return query


def scalar(db, sql: str, **params):
    return db(sql, **params).item()


# --- volume ---------------------------------------------------------------------------------------
def test_recorded_offences_rise_about_30_percent_at_the_launch(db):
    before = scalar(db, "SELECT count(*) FROM offence WHERE offence_date BETWEEN '2019-10-01' AND '2020-09-30'")
    after = scalar(db, "SELECT count(*) FROM offence WHERE offence_date BETWEEN '2020-10-01' AND '2021-09-30'")
    assert 1.20 <= after / before <= 1.40
    assert scalar(db, "SELECT max(offence_date) FROM offence") <= "2025-09-30"
    assert scalar(db, "SELECT min(offence_date) FROM offence") >= "2018-01-01"


def test_about_200_to_230_referrals_a_month_from_october_2020(db):
    monthly = db(
        "SELECT substr(CAST(referred_at AS TEXT), 1, 7) AS month, count(*) AS n FROM referral GROUP BY month"
    )
    assert monthly["month"].min() == "2020-10" and monthly["month"].max() == "2025-09"
    assert monthly.height == 60
    assert 200 <= monthly["n"].mean() <= 230
    first_three_years = scalar(db, "SELECT count(*) FROM referral WHERE referred_at < '2023-10-01'")
    assert first_three_years > 7_800  # "over 8,000 referrals in its first three years" (scale 1)


def test_referrals_come_mostly_from_stop_and_search_and_are_mostly_cannabis(db):
    shares = db(
        "SELECT o.source, o.drug, count(*) AS n FROM referral r JOIN offence o ON o.id = r.offence_id "
        "GROUP BY o.source, o.drug"
    )
    total = shares["n"].sum()
    by_source = shares.group_by("source").agg(pl.col("n").sum() / total)
    by_drug = shares.group_by("drug").agg(pl.col("n").sum() / total).sort("n", descending=True)
    source = dict(by_source.rows())
    assert 0.75 <= source["stop_search"] <= 0.85 and source["custody"] > source["other"] > 0
    assert by_drug["drug"][:2].to_list() == ["CAN", "COC"] and 0.70 <= by_drug["n"][0] <= 0.80


# --- people ---------------------------------------------------------------------------------------
def test_sex_and_age_bands_of_offences(db):
    offences = db("SELECT o.age, o.offence_date, p.birth_year, p.sex FROM offence o JOIN person p ON p.id = o.person_id")
    assert (offences["age"] == offences["offence_date"].str.slice(0, 4).cast(int) - offences["birth_year"]).all()
    assert 0.87 <= (offences["sex"] == "M").mean() <= 0.93
    bands = offences["age"].map_elements(codes.age_band, return_dtype=pl.String).value_counts(normalize=True)
    share = dict(bands.rows())
    assert share.get(None, 0) == 0
    for band, target in {"10-17": 0.12, "18-24": 0.40, "25-34": 0.28, "over 34": 0.20}.items():
        assert share[band] == pytest.approx(target, abs=0.03), band


def test_people_have_pseudonymous_keys_and_both_ethnicities_recorded_separately(db):
    people = db("SELECT person_key, ethnicity_self, ethnicity_officer, home_area FROM person")
    assert people["person_key"].str.contains(r"^[0-9a-f]{64}$").all() and people["person_key"].is_unique().all()
    assert 0.03 <= (people["ethnicity_self"] == "NS").mean() <= 0.05
    assert set(people["ethnicity_self"]) == set(codes.ETHNICITY_SELF)
    assert set(people["home_area"]) == set(census.areas_of("west-midlands"))
    self_broad = people["ethnicity_self"].map_elements(codes.broad_group, return_dtype=pl.String)
    officer_broad = people["ethnicity_officer"].replace_strict(codes.OFFICER_BROAD)
    stated = self_broad != "Not stated"
    agree = (self_broad == officer_broad).filter(stated).mean()
    assert 0.6 < agree < 0.95  # correlated, not copied
    assert 0.02 < (people["ethnicity_officer"] == "IC9").mean() < 0.12


def test_offenders_are_skewed_against_the_population_like_stop_and_search(db):
    people = db("SELECT ethnicity_self FROM person WHERE ethnicity_self <> 'NS'")
    population = census_counts(db)
    broad = people["ethnicity_self"].map_elements(codes.broad_group, return_dtype=pl.String).value_counts()
    rate = {g: n / population[g] for g, n in broad.rows()}
    assert 2.8 <= rate["Black"] / rate["White"] <= 4.5
    b1, b2 = (scalar(db, f"SELECT count(*) FROM person WHERE ethnicity_self = '{c}'") for c in ("B1", "B2"))
    assert b1 > b2  # within a broad group the split follows the census detail (Caribbean > African)


# --- outcomes before and after ----------------------------------------------------------------------
def half_year_counts(db, year: int, where: str = "1 = 1") -> dict:
    return db(
        "SELECT count(*) AS offences, "
        "sum(CASE WHEN o.outcome = 1 THEN 1 ELSE 0 END) AS charges, "
        "sum(CASE WHEN o.outcome IN (2, 3) THEN 1 ELSE 0 END) AS cautions, "
        f"sum(CASE WHEN o.outcome IN {FORMAL} THEN 1 ELSE 0 END) AS formal "
        "FROM offence o JOIN person p ON p.id = o.person_id "
        f"WHERE o.offence_date BETWEEN '{year}-07-01' AND '{year}-12-31' AND {where}"
    ).row(0, named=True)


def test_charges_fall_71_and_cautions_80_percent(db):
    before, after = half_year_counts(db, 2019), half_year_counts(db, 2021)
    assert after["charges"] / before["charges"] - 1 == pytest.approx(-0.71, abs=0.08)
    assert after["cautions"] / before["cautions"] - 1 == pytest.approx(-0.80, abs=0.08)


def test_black_caribbean_males_formal_share_46_to_12_5_percent(db):
    where = "p.ethnicity_self = 'B1' AND p.sex = 'M'"
    before, after = half_year_counts(db, 2019, where), half_year_counts(db, 2021, where)
    assert before["formal"] / before["offences"] == pytest.approx(0.46, abs=0.08)
    assert after["formal"] / after["offences"] == pytest.approx(0.125, abs=0.08)
    whole = half_year_counts(db, 2019), half_year_counts(db, 2021)
    drop = before["formal"] / before["offences"] - after["formal"] / after["offences"]
    assert drop > whole[0]["formal"] / whole[0]["offences"] - whole[1]["formal"] / whole[1]["offences"]


def test_formal_outcomes_fall_for_every_broad_group(db):
    for group, letter in (("White", "W"), ("Mixed", "M"), ("Asian", "A"), ("Black", "B"), ("Other", "O")):
        where = f"p.ethnicity_self LIKE '{letter}%'"
        before, after = half_year_counts(db, 2019, where), half_year_counts(db, 2021, where)
        assert after["formal"] / after["offences"] < before["formal"] / before["offences"], group


def test_old_outcomes_follow_the_rules_and_diverted_offences_are_community_resolutions(db):
    assert scalar(db, "SELECT count(*) FROM offence o JOIN referral r ON r.offence_id = o.id WHERE o.outcome <> 8") == 0
    after_launch = set(db("SELECT DISTINCT outcome FROM offence WHERE offence_date >= '2020-10-01'")["outcome"])
    assert 6 not in after_launch and 7 not in after_launch  # PND and cannabis warnings replaced
    before = db("SELECT outcome, age, drug, count(*) AS n FROM offence WHERE offence_date < '2020-10-01' "
                "GROUP BY outcome, age, drug")  # fmt: skip
    assert set(before["outcome"]) >= {1, 2, 3, 6, 7, 8, 21}
    assert before.filter((pl.col("outcome") == 7) & (pl.col("drug") != "CAN")).is_empty()
    assert before.filter((pl.col("outcome") == 6) & (pl.col("age") < 18)).is_empty()
    assert before.filter((pl.col("outcome") == 2) & (pl.col("age") >= 18)).is_empty()
    assert before.filter((pl.col("outcome") == 3) & (pl.col("age") < 18)).is_empty()
    assert scalar(db, "SELECT count(*) FROM offence WHERE outcome_date < offence_date OR outcome_date > '2025-09-30'") == 0


# --- the pathway ----------------------------------------------------------------------------------
def test_about_65_percent_complete_the_assessment_and_most_go_to_a_group_course(db):
    known = db(
        "SELECT a.result, a.allocation FROM referral r LEFT JOIN assessment a ON a.referral_id = r.id "
        "WHERE r.referred_at < '2025-06-01'"
    )
    assert known["result"].null_count() == 0  # every assessment result is known three months on
    assert 0.60 <= (known["result"] == "completed").mean() <= 0.70
    completed = known.filter(pl.col("result") == "completed")
    assert (completed["allocation"] == "group_course").mean() > 0.75
    assert set(completed["allocation"]) == set(codes.ALLOCATIONS)
    assert known.filter(pl.col("result") != "completed")["allocation"].null_count() == known.filter(
        pl.col("result") != "completed"
    ).height


def test_no_second_offer_after_an_intelligence_log(db):
    logs = db(
        "SELECT r.person_id, min(c.intelligence_log_date) AS log FROM closure c "
        "JOIN referral r ON r.id = c.referral_id WHERE c.result = 'not_engaged' GROUP BY r.person_id"
    )
    assert logs.height > 1000 and logs["log"].null_count() == 0
    offered_again = scalar(
        db,
        "SELECT count(*) FROM referral r2 JOIN (SELECT r.person_id, min(c.intelligence_log_date) AS log "
        "FROM closure c JOIN referral r ON r.id = c.referral_id WHERE c.result = 'not_engaged' "
        "GROUP BY r.person_id) l ON l.person_id = r2.person_id WHERE substr(CAST(r2.referred_at AS TEXT), 1, 10) >= CAST(l.log AS TEXT)",
    )
    assert offered_again == 0
    later = db(
        "SELECT o.outcome FROM offence o JOIN (SELECT r.person_id, min(c.intelligence_log_date) AS log "
        "FROM closure c JOIN referral r ON r.id = c.referral_id WHERE c.result = 'not_engaged' "
        "GROUP BY r.person_id) l ON l.person_id = o.person_id WHERE o.offence_date >= l.log"
    )
    assert later.height > 50 and 8 not in set(later["outcome"])
    assert later["outcome"].is_in([1, 2, 3]).mean() > 0.5  # mostly a formal outcome instead


def test_people_who_complied_are_referred_again_as_repeats(db):
    referrals = db(
        "SELECT r.id, r.repeat, substr(CAST(r.referred_at AS TEXT), 1, 10) AS day, "
        "(SELECT min(c.closed_on) FROM closure c JOIN referral e ON e.id = c.referral_id "
        " WHERE e.person_id = r.person_id AND c.result = 'complied') AS complied FROM referral r"
    )
    repeats = referrals.filter(pl.col("repeat") == 1)
    assert repeats.height > 200
    assert (repeats["complied"] < repeats["day"]).all()
    firsts = referrals.filter(pl.col("repeat") == 0)
    assert not (firsts["complied"].is_not_null() & (firsts["complied"] < firsts["day"])).any()


def test_closures_never_before_their_referral_and_match_the_pathway(db):
    closures = db(
        "SELECT c.result, c.closed_on, c.intelligence_log_date, c.onward_treatment, r.status, "
        "substr(CAST(r.referred_at AS TEXT), 1, 10) AS referred, a.result AS assessment, a.allocation, "
        "(SELECT max(b.status) FROM booking b WHERE b.referral_id = r.id AND b.status <> 'cancelled') AS booking "
        "FROM closure c JOIN referral r ON r.id = c.referral_id LEFT JOIN assessment a ON a.referral_id = r.id"
    )
    assert (closures["closed_on"] >= closures["referred"]).all() and (closures["closed_on"] <= "2025-09-30").all()
    assert set(closures["status"]) == {"closed"}
    not_engaged = closures.filter(pl.col("result") == "not_engaged")
    assert (not_engaged["intelligence_log_date"] == not_engaged["closed_on"]).all()
    assert closures.filter(pl.col("result") == "complied")["intelligence_log_date"].null_count() == closures.filter(
        pl.col("result") == "complied"
    ).height
    complied = closures.filter(pl.col("result") == "complied")
    assert (complied["assessment"] == "completed").all()
    assert complied.filter(pl.col("allocation") == "group_course")["booking"].eq("completed").all()
    assert (complied["onward_treatment"] == (complied["allocation"] == "structured_treatment")).all()
    course_no_shows = not_engaged.filter(pl.col("allocation") == "group_course")
    assert course_no_shows.height > 0 and course_no_shows["booking"].eq("no_show").all()


def test_referrals_whose_next_step_falls_after_the_end_date_stay_open(db):
    open_ = db(
        "SELECT r.referred_at, r.status, a.result FROM referral r LEFT JOIN assessment a ON a.referral_id = r.id "
        "WHERE NOT EXISTS (SELECT 1 FROM closure c WHERE c.referral_id = r.id)"
    )
    assert open_.height > 0 and set(open_["status"]) == {"open"}
    assert open_.filter(pl.col("referred_at") < "2025-01-01").is_empty()
    assert scalar(db, "SELECT max(completed_at) FROM assessment") < "2025-10-01"
    assert scalar(db, "SELECT max(first_contact_at) FROM assessment") < "2025-10-01"


def test_sessions_have_twelve_seats_that_are_never_over_booked(db):
    assert set(db("SELECT DISTINCT seats FROM course_session")["seats"]) == {12}
    held = db(
        "SELECT s.id, s.seats, s.starts_at, count(b.id) AS taken FROM course_session s "
        "LEFT JOIN booking b ON b.session_id = s.id AND b.status IN ('booked', 'attended', 'completed', 'no_show') "
        "GROUP BY s.id, s.seats, s.starts_at"
    )
    assert (held["taken"] <= held["seats"]).all()
    assert (held["taken"] == held["seats"]).sum() > 100  # full sessions when demand outruns them
    statuses = db("SELECT b.status, s.starts_at FROM booking b JOIN course_session s ON s.id = b.session_id")
    assert set(statuses["status"]) == {"completed", "no_show", "cancelled", "booked"}
    assert (statuses.filter(pl.col("status") == "booked")["starts_at"] > "2025-10-01").all()
    assert (statuses.filter(pl.col("status").is_in(["completed", "no_show"]))["starts_at"] < "2025-10-01").all()
    assert scalar(db, "SELECT count(*) FROM booking b JOIN course_session s ON s.id = b.session_id "
                      "WHERE b.booked_at >= s.starts_at") == 0  # fmt: skip


def test_waits_grow_while_the_schedule_lags_demand_and_fall_when_sessions_are_added(db):
    weekly = db(
        "SELECT substr(CAST(starts_at AS TEXT), 1, 7) AS month, count(*) AS n FROM course_session GROUP BY month"
    )
    per_month = dict(weekly.rows())
    assert per_month["2020-11"] * 1.8 < per_month["2021-03"]  # sessions increased after the launch
    waits = db(
        "SELECT substr(CAST(r.referred_at AS TEXT), 1, 7) AS month, "
        "julianday(s.starts_at) - julianday(r.referred_at) AS wait FROM booking b "
        "JOIN referral r ON r.id = b.referral_id JOIN course_session s ON s.id = b.session_id "
        "WHERE b.status <> 'cancelled'"
    )
    median = waits.group_by("month").agg(pl.col("wait").median()).sort("month")
    launch = median.filter(pl.col("month") <= "2021-03")["wait"]
    settled = median.filter(pl.col("month").is_between(pl.lit("2022-01"), pl.lit("2024-12")))["wait"]
    assert launch.max() > 2.5 * settled.median()
    assert launch[0] < launch.max()  # the queue builds up


# --- stop and search ------------------------------------------------------------------------------
def test_stop_and_search_rows_look_like_police_uk(db):
    rows = db("SELECT * FROM stop_search")
    assert set(rows["search_type"]) == {"Person search", "Person and Vehicle search", "Vehicle search"}
    assert set(rows["age_range"].drop_nulls()) <= {"under 10", "10-17", "18-24", "25-34", "over 34"}
    assert set(rows["gender"].drop_nulls()) <= {"Male", "Female", "Other"}
    labelled = rows.filter(pl.col("ethnicity_self_label").is_not_null())
    assert (labelled["ethnicity_self_label"].replace_strict(codes.POLICE_UK_SELF_DEFINED) == labelled["ethnicity_self_code"]).all()
    assert rows["ethnicity_self_code"].is_null().equals(rows["ethnicity_self_label"].is_null())
    assert set(rows["ethnicity_officer"].drop_nulls()) == {"White", "Black", "Asian", "Other"}
    assert rows["ethnicity_officer"].null_count() > 0 and rows["ethnicity_self_label"].null_count() > 0
    assert rows["object_of_search"].mode().to_list() == ["Controlled drugs"]
    assert (rows["object_of_search"] == "Controlled drugs").mean() > 0.75
    vehicle = rows.filter(pl.col("search_type") == "Vehicle search")
    assert 0 < vehicle.height < 0.05 * rows.height and vehicle["gender"].null_count() == vehicle.height
    assert set(rows["demo"]) == {1}
    for column in ("part_of_operation", "outcome_linked", "removal_of_clothing"):
        assert set(rows[column]) == {0, 1, None}, column
    files = rows.group_by("source_file").agg(
        pl.col("source_row").min().alias("first"), pl.col("source_row").max().alias("last"), pl.len()
    )
    assert files["source_file"].str.contains(r"^demo-\d{4}-\d{2}-west-midlands-stop-and-search\.csv$").all()
    assert files["first"].eq(1).all() and files["last"].eq(files["len"]).all()  # rows numbered 1..n per file
    assert files.height == 93 and 320 <= files["len"].mean() <= 380
    after = rows.filter(pl.col("searched_at") >= "2020-10-01")
    assert "Khat or Cannabis warning" not in set(after["outcome"])
    assert (after["outcome"] == "Community resolution").mean() > 2 * (
        rows.filter(pl.col("searched_at") < "2020-10-01")["outcome"] == "Community resolution"
    ).mean()


def census_counts(db) -> dict[str, int]:
    rows = db(
        "SELECT ethnicity, count FROM population WHERE census_year = 2011 AND geography_level = 'force' "
        "AND force = 'west-midlands'"
    )
    return dict(rows.rows())


def test_black_people_are_searched_several_times_the_white_rate_per_1000(db):
    population = census_counts(db)
    assert population["All"] == 2_736_460
    searched = db(
        "SELECT substr(ethnicity_self_code, 1, 1) AS letter, count(*) AS n FROM stop_search "
        "WHERE search_type <> 'Vehicle search' AND ethnicity_self_code <> 'NS' GROUP BY letter"
    )
    rate = {codes.broad_group(letter + "1"): n / population[codes.broad_group(letter + "1")] * 1000
            for letter, n in searched.rows()}  # fmt: skip
    assert 3.0 <= rate["Black"] / rate["White"] <= 4.5
    assert 1.6 <= rate["Mixed"] / rate["White"] <= 2.5
    assert 1.1 <= rate["Asian"] / rate["White"] <= 1.6


# --- marking, users, determinism -------------------------------------------------------------------
def test_demo_rows_and_load_are_marked(demo, db):
    engine, summary = demo
    for table in ("person", "offence", "referral", "course_session", "stop_search"):
        assert set(db(f"SELECT DISTINCT demo FROM {table}")["demo"]) == {1}, table
    counts = summary["counts"]
    for table in ("person", "offence", "referral", "assessment", "course_session", "booking", "closure", "stop_search"):
        assert scalar(db, f"SELECT count(*) FROM {table}") == counts[table] > 0, table
    marker = json.loads(scalar(db, "SELECT value FROM setting WHERE key = 'demo'"))
    assert marker["seed"] == SEED and marker["scale"] == 1.0 and marker["end_date"] == "2025-09-30"
    assert marker["counts"] == counts and datetime.fromisoformat(marker["loaded_at"]).tzinfo is not None
    audit = db("SELECT username, table_name, after FROM audit_event WHERE action = 'demo_load'")
    assert audit.height == 1 and audit["table_name"][0] == "*"
    assert json.loads(audit["after"][0])["counts"] == counts
    assert scalar(db, "SELECT count(*) FROM population") == counts["population"] > 0
    shipped = census2021.reference_frame()  # what `divert init` loads: the demo loads the same census rows
    for year in (2011, 2021):
        held = scalar(db, f"SELECT count(*) FROM population WHERE census_year = {year}")
        assert held == shipped.filter(pl.col("census_year") == year).height > 0, year
    assert scalar(db, "SELECT count(*) FROM population WHERE geography_level = 'force' AND census_year = 2021") == \
        scalar(db, "SELECT count(*) FROM population WHERE geography_level = 'force' AND census_year = 2011") > 0
    assert data_version(engine) >= 1


def test_demo_logins_work_and_passwords_are_random(demo, db):
    _, summary = demo
    logins = summary["logins"]
    assert [login["role"] for login in logins] == list(codes.ROLES)
    for login in logins:
        assert login["username"] == f"demo.{login['role']}" and len(login["password"]) >= 12
        user = db("SELECT role, demo, active, password_hash FROM app_user WHERE username = :u", u=login["username"])
        assert user["role"][0] == login["role"] and user["demo"][0] == 1 and user["active"][0] == 1
        assert bcrypt.checkpw(login["password"].encode(), user["password_hash"][0].encode())
    assert not bcrypt.checkpw(b"not-the-password", user["password_hash"][0].encode())
    assert len({login["password"] for login in logins}) == len(logins)
    assert scalar(db, "SELECT count(*) FROM app_user") == len(codes.ROLES)  # no other account


def test_a_second_load_is_refused_and_writes_nothing(demo, db):
    engine, summary = demo
    before = scalar(db, "SELECT count(*) FROM offence"), data_version(engine)
    with pytest.raises(DemoExists, match="already loaded.*new, empty database"):
        load_demo(engine, seed=SEED + 1, scale=0.01, as_of=REFERENCE_END)
    assert (scalar(db, "SELECT count(*) FROM offence"), data_version(engine)) == before


def table_rows(engine, table: str) -> pl.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))
        return pl.DataFrame([tuple(r) for r in result], schema=list(result.keys()), orient="row", infer_schema_length=None)


TABLES = ("offence", "referral", "person", "closure", "booking", "stop_search")


def same_rows(engine, other, table: str) -> bool:
    return table_rows(engine, table).equals(table_rows(other, table))


@pytest.fixture
def small_demo(tmp_path):
    """The small demo (dbfixtures.SMALL_DEMO, built once per test process) and its load's summary."""
    url, summary = demo_url(tmp_path, **SMALL_DEMO)
    engine = get_engine(url)
    yield engine, summary
    engine.dispose()


def test_same_seed_same_rows_loaded_with_progress(small_demo, tmp_path):
    engine, summary = small_demo
    again = fresh_engine(tmp_path, "again.db")
    steps = []
    second = load_demo(again, **SMALL_DEMO, progress=lambda step, fraction: steps.append(fraction))
    for table in TABLES:
        assert same_rows(again, engine, table), table
    assert second["counts"] == summary["counts"]
    assert {x["password"] for x in second["logins"]}.isdisjoint({x["password"] for x in summary["logins"]})
    assert len(steps) > 10 and steps == sorted(steps) and steps[-1] == 1.0
    again.dispose()


def test_other_seed_other_rows(small_demo, tmp_path):
    engine, _ = small_demo
    other = fresh_engine(tmp_path, "other.db")
    load_demo(other, **{**SMALL_DEMO, "seed": SMALL_DEMO["seed"] + 1})
    for table in TABLES:
        assert table_rows(other, table).height > 0, table
        assert not same_rows(other, engine, table), table
    other.dispose()


# --- both backends ----------------------------------------------------------------------------------
def test_small_demo_round_trips_through_the_orm(engine):
    """On SQLite and PostgreSQL: rows written in bulk read back through the ORM as aware UTC
    datetimes, dates and booleans; ids continue after rows already there."""
    saved = add_offence(
        {"crime_ref": "20WM/0001/21", "offence_date": "2021-03-01", "area": "E08000025", "drug": "CAN",
         "source": "stop_search", "person_ref": "PNC 21/0000001A", "sex": "M", "birth_year": "1999"},
        "test",
        engine=engine,
    )  # fmt: skip
    assert saved.ok, saved.problems
    summary = load_demo(engine, seed=5, scale=0.05, as_of=REFERENCE_END)
    assert summary["counts"]["referral"] > 300
    with Session(engine) as s:
        referral = s.exec(select(Referral).order_by(Referral.id).limit(1)).one()
        assert referral.referred_at.tzinfo is not None and referral.referred_at.utcoffset().total_seconds() == 0
        assert datetime(2020, 10, 1, tzinfo=UTC) <= referral.referred_at < datetime(2025, 10, 1, tzinfo=UTC)
        assert referral.demo is True and referral.repeat in (True, False) and referral.reference.startswith("DEMO-R")
        offence = s.get(Offence, referral.offence_id)
        assert offence.person_id == referral.person_id and offence.outcome == 8
        assert isinstance(offence.offence_date, date) and offence.offence_date == offence.outcome_date
        assert offence.demo is True and s.get(Person, offence.person_id).demo is True
        assert offence.id > saved.row_id  # after the row already there
        closure = s.exec(select(Closure).where(Closure.result == "not_engaged").limit(1)).one()
        assert isinstance(closure.intelligence_log_date, date) and closure.onward_treatment is False
        booking = s.exec(select(Booking).limit(1)).one()
        session = s.get(CourseSession, booking.session_id)
        assert booking.booked_at < session.starts_at and session.starts_at.tzinfo is not None
        search = s.exec(select(StopSearch).where(StopSearch.part_of_operation.is_not(None)).limit(1)).one()
        assert isinstance(search.part_of_operation, bool) and search.searched_at.tzinfo is not None
        # timestamps compare correctly against values the ORM binds
        launched = s.exec(
            select(Referral).where(Referral.referred_at < datetime(2020, 10, 1, tzinfo=UTC))
        ).all()
        assert launched == []
    # the id sequences continue after the bulk insert (PostgreSQL setval)
    again = add_offence(
        {"crime_ref": "20WM/0002/21", "offence_date": "2021-03-02", "area": "E08000025", "drug": "CAN",
         "source": "stop_search", "person_ref": "PNC 21/0000002B", "sex": "F", "birth_year": "1990"},
        "test",
        engine=engine,
    )  # fmt: skip
    assert again.ok, again.problems
    with Session(engine) as s:
        assert again.row_id > s.exec(select(Offence.id).where(Offence.demo).order_by(Offence.id.desc())).first()


def test_the_default_demo_reaches_yesterday_with_sessions_booked_ahead(tmp_path, clock):
    engine = fresh_engine(tmp_path)
    summary = load_demo(engine, seed=SEED, scale=0.2)  # no as_of: up to yesterday (the clock at clock.MOMENT)
    with engine.connect() as conn:
        marker = json.loads(conn.execute(text("SELECT value FROM setting WHERE key = 'demo'")).scalar_one())
        last_offence = conn.execute(text("SELECT max(offence_date) FROM offence")).scalar_one()
        ahead = conn.execute(text(
            "SELECT count(*) FROM booking b JOIN course_session s ON s.id = b.session_id "
            "WHERE b.status = 'booked' AND s.starts_at > :now"), {"now": f"{TODAY} 23:59:59"}).scalar_one()
        later = conn.execute(text("SELECT count(*) FROM offence WHERE offence_date > :y"), {"y": str(YESTERDAY)}).scalar_one()
    assert marker["end_date"] == YESTERDAY.isoformat()
    assert str(last_offence)[:10] >= (YESTERDAY - timedelta(days=7)).isoformat()
    assert later == 0 and ahead > 0 and summary["counts"]["referral"] > 0
