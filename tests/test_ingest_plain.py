"""The referrals an import checks a column at a time (divert.ingest.plain_checks.plain_rows /
check_plain) give what checking every row on its own (row_checks.check_row) gives: the same
problems, row for row, and the same people, offences and referrals written; on a clean file, what
the row-by-row writers give.

(The row-by-row writers are not the reference for files with problems: a row they refuse may
leave its new person behind for the rows after it, which then read that person's year of birth.)"""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import Session

from divert.bench.imports import referrals_csv
from divert.core.environment import secret
from divert.ingest import bulk_path, import_report, plain_checks, row_checks, run
from divert.ingest.kinds import KINDS
from divert.ingest.reading import read_table
from divert.records.import_writes import write_plan
from divert.records.offences import add_offence
from divert.records.referrals import add_referral
from divert.storage.models import Offence, Person, Referral

USER = "test.importer"
HEADER = KINDS["referrals"].header
KNOWN = {"reference": "R-OLD", "referred_at": "2021-03-02 10:00", "referring_team": "North NPT", "crime_ref": "C-OLD",
         "offence_date": "2021-03-01", "area": "E08000025", "drug": "CAN", "source": "stop_search",
         "person_ref": "P-OLD", "sex": "M", "birth_year": "1990", "ethnicity_self": "W1"}

# small pools, so that rows meet: the same person, offence or reference in several rows, a person or
# offence already recorded (C-OLD has a referral, C-FREE has none); mostly good values (each field's
# good ones first, then its bad ones, drawn one time in eight), so that many rows pass
POOLS = {
    "reference": (["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9"], [" R1", "R-OLD", "bad ref!"]),
    "referred_at": (["2021-03-02 10:00", "2021-03-01 09:00"], ["2021-02-01 09:00", "31/02/2021", "2099-01-01 10:00"]),
    "referring_team": (["North NPT", ""], ["x" * 81]),
    "override_reason": (["", "", "agreed by the inspector"], []),
    "crime_ref": (["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"], [" C2", "C-OLD", "C-FREE", "bad ref!"]),
    "offence_date": (["2021-03-01", "01/03/2021"], ["2021-03-05", "2099-01-01", ""]),
    "area": (["E08000025", "birmingham"], ["Narnia"]),
    "drug": (["CAN", "cocaine", "CAN"], ["HER", "GLUE"]),
    "source": (["stop_search", "custody"], ["nowhere"]),
    "person_ref": (["P1", "P2", "p1 ", "P3", "P4", "P-OLD"], [""]),
    "sex": (["M", "F", ""], ["Q"]),
    "birth_year": (["1990", "1985", ""], ["2015", "1900", "abc"]),
    "ethnicity_self": (["W1", "B1", ""], ["ZZ"]),
    "ethnicity_officer": (["IC1", ""], ["IC99"]),
}


def cell(good: list[str], bad: list[str]):
    return st.integers(0, 7).flatmap(lambda n: st.sampled_from(bad if n == 0 and bad else good))


rows = st.lists(st.fixed_dictionaries({c: cell(*POOLS[c]) for c in HEADER}), min_size=1, max_size=14)


def csv_of(records: list[dict]) -> bytes:
    lines = [",".join(HEADER)] + [",".join(r[c] for c in HEADER) for r in records]
    return ("\n".join(lines) + "\n").encode()


def stored(s: Session) -> list[tuple]:
    """Every referral with its offence and person, and the offences and people without one."""
    referrals = s.execute(
        select(Referral.reference, Referral.referred_at, Referral.referring_team, Referral.eligibility,
               Referral.override_reason, Referral.repeat, Referral.status, Referral.version, Offence.crime_ref,
               Offence.offence_date, Offence.area, Offence.drug, Offence.source, Offence.outcome,
               Offence.outcome_date, Offence.age, Person.person_key, Person.sex, Person.birth_year,
               Person.ethnicity_self, Person.ethnicity_officer)
        .join(Offence, Offence.id == Referral.offence_id).join(Person, Person.id == Referral.person_id)).all()
    offences = s.execute(select(Offence.crime_ref, Offence.person_id.is_(None))).all()
    people = s.execute(select(Person.person_key, Person.sex, Person.birth_year)).all()
    return sorted(map(tuple, referrals), key=repr) + sorted(map(tuple, offences)) + sorted(map(tuple, people))


def tables_of(content: bytes):
    return [("r.csv", read_table("r.csv", content), {})]


def by_the_writers(engine, content: bytes):
    """What the row-by-row writers report and write (rolled back)."""
    report = import_report.ImportReport("referrals", ["r.csv"], False)
    with Session(engine) as s:
        run._run_rows(s, tables_of(content), report, USER, None)
        written = stored(s) if not report.problems else None
        s.rollback()
    return report, written


def in_bulk(engine, content: bytes, plain: bool = True):
    """What the bulk path reports and writes (rolled back), and how many rows it checked a column
    at a time (`plain`: as it does; else every row on its own)."""
    if not plain:
        with patch.object(plain_checks, "plain_rows", lambda kind, files, ctx: [set() for _ in files]):
            return in_bulk(engine, content)
    report = import_report.ImportReport("referrals", ["r.csv"], False)
    with Session(engine) as s:
        files = bulk_path._bulk_files(tables_of(content), report, row_checks.programme_profile.in_session(s).force)
        ctx = row_checks.read_context(s, "referrals", files, secret("person_key"))
        plain = sum(map(len, plain_checks.plain_rows("referrals", files, ctx)))
        plan = bulk_path._check_bulk(files, ctx, report, None)
        written = None
        if not report.problems:
            write_plan(s, USER, plan, "referrals", {})
            written = stored(s)
        s.rollback()
    return report, written, plain


def problems(report) -> list[tuple]:
    return [(p.file, p.row, p.column, p.value, p.reason) for p in report.problems]


def known(engine) -> None:
    with Session(engine) as s:
        if s.execute(select(Referral.id).where(Referral.reference == "R-OLD")).first():
            return
    assert add_referral(KNOWN, USER, engine=engine).ok
    assert add_offence({k: v for k, v in KNOWN.items() if k in KINDS["offences"].header} | {"crime_ref": "C-FREE"},
                       USER, engine=engine).ok


GOOD = {name: good[0] for name, (good, _) in POOLS.items()}
# found by the property below: P1 is new in row 2 (refused: aged 6) and in row 5, a row checked on
# its own (its offence C1 is named by row 4 too); checked column-wise, row 2 had found the P1 that
# row 5 had made (born in 1990) and was refused for its offence date instead
NEW_PERSON_IN_A_ROW_NOT_PLAIN = [
    GOOD | {"reference": "R1", "crime_ref": "C2", "referred_at": "2021-02-01 09:00", "offence_date": "2021-01-05",
            "birth_year": "2015"},
    GOOD | {"reference": "R-OLD", "crime_ref": "C1", "person_ref": ""},
    GOOD | {"reference": "R2", "crime_ref": "C1"},
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=rows)
@example(records=NEW_PERSON_IN_A_ROW_NOT_PLAIN)
def test_rows_checked_a_column_at_a_time_match_the_writers(sqlite_engine, records):
    known(sqlite_engine)
    content = csv_of(records)
    expected, expected_written, alone = in_bulk(sqlite_engine, content, plain=False)
    report, written, _ = in_bulk(sqlite_engine, content)
    assert alone == 0
    assert problems(report) == problems(expected)
    assert (report.new, report.updated, report.unchanged) == (expected.new, expected.updated, expected.unchanged)
    assert written == expected_written


def test_the_bench_file_is_checked_a_column_at_a_time(sqlite_engine):
    content = referrals_csv(300, sqlite_engine)
    report, written, plain = in_bulk(sqlite_engine, content)
    assert report.ok and report.new == 300 and plain == 300
    assert len([row for row in written if len(row) > 3]) == 300
    expected, expected_written = by_the_writers(sqlite_engine, content)
    assert written == expected_written
