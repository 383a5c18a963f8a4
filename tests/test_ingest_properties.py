"""Property-based: malformed rows and files never crash an importer and never half-write."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from divert.ingest.kinds import KINDS
from divert.ingest.run import import_files
from divert.storage.db import data_version, session_scope
from divert.storage.models import (
    Assessment,
    Booking,
    Closure,
    CourseSession,
    Offence,
    Person,
    Population,
    Referral,
    StopSearch,
)

TABLES = (Person, Offence, Referral, Assessment, CourseSession, Booking, Closure, StopSearch, Population)

# plausible and implausible cell values: codes, dates in many shapes, numbers, junk, formulas
cells = st.one_of(
    st.none(),
    st.sampled_from(["CAN", "E08000025", "stop_search", "completed", "group_course", "M", "B1", "12", "0", "-3",
                     "2021-03-01", "01/03/2021", "2021-03-01 10:00", "31/02/2021", "2099-01-01", "1999-12-31",
                     "yes", "maybe", "True", "=1+1", "@SUM(A1)", "DIV-1", "S1", "Person search",
                     "2020-01-01T10:00:00+00:00", "White", "2011", "all", "force"]),
    st.text(max_size=12),
)


def rows_for(kind):
    header = KINDS[kind].header
    return st.lists(st.fixed_dictionaries({c: cells for c in header}), min_size=1, max_size=6)


def to_csv(header, rows, drop_column: bool) -> bytes:
    columns = header[1:] if drop_column else header
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    return out.getvalue().encode("utf-8")


def snapshot(engine):
    with session_scope(engine) as s:
        counts = tuple(s.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES)
    return counts, data_version(engine)


@pytest.mark.parametrize("kind", list(KINDS))
def test_any_rows_give_a_clean_import_or_a_full_rejection(sqlite_engine, kind):
    # a stop-search file not named for its month (given with --force): its rows reach the records'
    # rules whatever their dates, not only the month check (test_rules_file_structure)
    name, force = ("searches.csv", "west-midlands") if kind == "stop-search" else (f"{kind}.csv", None)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rows=rows_for(kind), drop_column=st.booleans())
    def check(rows, drop_column):
        before = snapshot(sqlite_engine)
        content = to_csv(KINDS[kind].header, rows, drop_column)
        report = import_files(kind, [(name, content)], "prop", engine=sqlite_engine, force=force)
        after = snapshot(sqlite_engine)
        if report.ok:
            assert report.rows == len(rows)
            assert report.new + report.updated + report.unchanged == len(rows)
        else:
            assert not report.written
            assert after == before, "a rejected import changed the database"
            for problem in report.problems:
                assert problem.reason and problem.column

    check()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".xlsx", ".txt", ".pdf"]))
def test_arbitrary_bytes_never_crash(sqlite_engine, content, suffix):
    before = snapshot(sqlite_engine)
    report = import_files("offences", [("upload" + suffix, content)], "prop", engine=sqlite_engine)
    if report.ok:
        assert report.new + report.updated + report.unchanged == report.rows
    else:
        assert not report.written and report.problems
        assert snapshot(sqlite_engine) == before
