"""The bulk import path (referrals, offences, police.uk stop-search): all or nothing, the same problems as the
row-by-row writers, idempotent re-imports, one audit event whose id every written row carries."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from divert.auth import accounts
from divert.bench.imports import measure_import, rate, referrals_csv
from divert.ingest import import_report, run
from divert.ingest.kinds import KINDS
from divert.ingest.reading import read_table
from divert.ingest.run import import_files
from divert.records.offences import add_offence
from divert.records.referrals import add_referral
from divert.storage.db import data_version, session_scope
from divert.storage.models import AuditEvent, Offence, Person, Referral

USER = "test.importer"
HEADER = KINDS["referrals"].header


def referral(n: int, **overrides) -> dict:
    row = {"reference": f"DIV-{n:05d}", "referred_at": "2021-03-02 10:00", "referring_team": "North NPT",
           "crime_ref": f"C/{n:05d}", "offence_date": "2021-03-01", "area": "E08000025", "drug": "CAN",
           "source": "stop_search", "person_ref": f"PNC-{n // 2}", "sex": "M", "birth_year": "1990",
           "ethnicity_self": "W1"}
    row.update(overrides)
    return row


def csv_of(rows: list[dict], header=HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(str(r.get(c, "")) for c in header) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def count(engine, model, *where) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def import_events(engine) -> list[AuditEvent]:
    with session_scope(engine) as s:
        return s.execute(select(AuditEvent).where(AuditEvent.action == "import").order_by(AuditEvent.id)).scalars().all()


def row_by_row(engine, kind: str, files: list[tuple[str, bytes]], extra: dict | None = None) -> list[tuple]:
    """The problems the row-by-row writers give for the same files (checked, rolled back)."""
    tables = [(name, read_table(name, content), dict(extra or {}, source_file=name) if extra else {})
              for name, content in files]
    report = import_report.ImportReport(kind, [n for n, _ in files], False,
                                        rows=sum(t[1].height for t in tables))
    with Session(engine) as s:
        run._run_rows(s, tables, report, USER, None)
        s.rollback()
    return [(p.file, p.row, p.column, p.value, p.reason) for p in report.problems]


def problems(report) -> list[tuple]:
    return [(p.file, p.row, p.column, p.value, p.reason) for p in report.problems]


def test_a_clean_file_is_written_once_with_one_audit_event_and_its_import_id(engine):
    version = data_version(engine)
    report = import_files("referrals", [("r.csv", csv_of([referral(n) for n in range(40)]))], USER, engine=engine)
    assert report.ok and report.written and (report.new, report.updated, report.unchanged) == (40, 0, 0)
    assert (count(engine, Referral), count(engine, Offence), count(engine, Person)) == (40, 40, 20)
    assert data_version(engine) == version + 1
    (event,) = import_events(engine)
    detail = json.loads(event.after)
    assert event.row_id == detail["import_id"] and len(event.row_id) == 32
    assert detail["tables"] == {"person": {"new": 20, "updated": 0, "unchanged": 0},
                                "offence": {"new": 40, "updated": 0, "unchanged": 0},
                                "referral": {"new": 40, "updated": 0, "unchanged": 0}}
    for model in (Referral, Offence, Person):
        assert count(engine, model, model.import_id == event.row_id) == count(engine, model)
    with session_scope(engine) as s:  # no audit row per record: the import's one event stands for them
        assert s.execute(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.action == "create", AuditEvent.table_name.in_(["referral", "offence"]))
                         ).scalar_one() == 0
        stored = s.execute(select(Referral).where(Referral.reference == "DIV-00003")).scalar_one()
        offence = s.get(Offence, stored.offence_id)
    assert (stored.eligibility, stored.status, stored.person_id) == ("eligible", "open", offence.person_id)
    assert (offence.outcome, str(offence.outcome_date), offence.age) == (8, "2021-03-02", 31)


def test_one_bad_row_among_many_rejects_the_file_with_the_writers_problems(engine):
    rows = [referral(n) for n in range(300)]
    rows[150] = referral(150, drug="GLUE", area="Narnia")
    version = data_version(engine)
    report = import_files("referrals", [("r.csv", csv_of(rows))], USER, engine=engine)
    assert not report.ok and not report.written
    assert {(p.row, p.column) for p in report.problems} == {(152, "drug"), (152, "area")}
    assert problems(report) == row_by_row(engine, "referrals", [("r.csv", csv_of(rows))])
    assert (count(engine, Referral), count(engine, Offence), count(engine, Person)) == (0, 0, 0)
    assert data_version(engine) == version and import_events(engine) == []


def test_problems_of_every_kind_match_the_row_by_row_writers(engine):
    # already recorded: an offence with a referral, and one without
    assert add_referral(referral(900, person_ref="PNC-OLD"), USER, engine=engine).ok
    assert add_offence({k: v for k, v in referral(901).items() if k in KINDS["offences"].header},
                               USER, engine=engine).ok
    rows = [
        referral(1),
        referral(2, reference="bad ref!"),
        referral(3, referred_at="2099-01-01 10:00"),
        referral(4, offence_date="2021-03-05"),  # after the referral
        referral(5, birth_year="2015"),  # an age of 6 at the offence
        referral(6, person_ref=""),
        referral(7, crime_ref="C/00900"),  # the offence already has a referral
        referral(8, crime_ref="C/00901", referred_at="2021-02-01 09:00"),  # before that offence
        referral(9, crime_ref="C/00001"),  # the offence row 2 records, with its referral
        referral(10, sex="Q", ethnicity_self="ZZ", referring_team="x" * 81),
        referral(11, referred_at="31/02/2021"),
        referral(12, person_ref="PNC-OLD", birth_year="2015"),  # a known person: their stored year of birth counts
        referral(1, crime_ref="C/77777"),  # the same reference twice
    ]
    files = [("r.csv", csv_of(rows))]
    expected = row_by_row(engine, "referrals", files)
    report = import_files("referrals", files, USER, engine=engine)
    assert not report.written and problems(report) == expected
    assert {p.row for p in report.problems} == {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14}
    assert all("PNC" not in str(p.value) for p in report.problems)


def test_offences_problems_match_the_row_by_row_writer(engine):
    header = KINDS["offences"].header
    assert add_referral(referral(900, person_ref="PNC-OLD"), USER, engine=engine).ok
    rows = [referral(1, outcome="3", outcome_date="2021-03-04"), referral(2, outcome_date="2021-03-04"),
            referral(3, outcome="99"), referral(4, outcome="8", outcome_date="2021-02-01"),
            referral(900, person_ref="SOMEONE-ELSE"), referral(5, drug="cocaine", area="birmingham")]
    files = [("o.csv", csv_of(rows, header))]
    expected = row_by_row(engine, "offences", files)
    report = import_files("offences", files, USER, engine=engine)
    assert not report.written and problems(report) == expected and len(expected) == 4


def test_reimport_is_unchanged_and_a_changed_row_is_updated_with_the_new_import_id(engine):
    rows = [referral(n) for n in range(30)]
    first = import_files("referrals", [("r.csv", csv_of(rows))], USER, engine=engine)
    assert first.written
    version = data_version(engine)
    again = import_files("referrals", [("r.csv", csv_of(rows))], USER, engine=engine)
    assert (again.new, again.updated, again.unchanged, again.written) == (0, 0, 30, False)
    assert "Nothing to change" in again.summary() and data_version(engine) == version
    rows[7] = referral(7, referring_team="South NPT")
    rows.append(referral(30))
    changed = import_files("referrals", [("r.csv", csv_of(rows))], USER, engine=engine)
    assert (changed.new, changed.updated, changed.unchanged) == (1, 1, 29) and changed.written
    assert data_version(engine) == version + 1
    old, new = import_events(engine)
    assert json.loads(new.before) == {"referral": {str(8): {"referring_team": "North NPT"}}}
    with session_scope(engine) as s:
        row = s.execute(select(Referral).where(Referral.reference == "DIV-00007")).scalar_one()
        assert (row.referring_team, row.version, row.import_id) == ("South NPT", 2, new.row_id)
        ids = dict(s.execute(select(Referral.reference, Referral.import_id)).all())
    assert ids["DIV-00030"] == new.row_id and ids["DIV-00006"] == old.row_id
    assert sum(1 for v in ids.values() if v == new.row_id) == 2


def test_dry_run_writes_nothing(engine):
    version = data_version(engine)
    report = import_files("referrals", [("r.csv", csv_of([referral(n) for n in range(10)]))], USER, engine=engine,
                          dry_run=True)
    assert report.ok and report.new == 10 and not report.written and "Dry run" in report.summary()
    assert count(engine, Referral) == 0 and count(engine, Person) == 0 and data_version(engine) == version
    assert import_events(engine) == []


def test_the_same_key_twice_is_a_problem_across_files(engine):
    report = import_files("referrals", [("a.csv", csv_of([referral(1), referral(2)])),
                                        ("b.csv", csv_of([referral(2, crime_ref="C/5")]))], USER, engine=engine)
    assert not report.written and count(engine, Referral) == 0
    (problem,) = report.problems
    assert (problem.file, problem.row, problem.column) == ("b.csv", 2, "reference")
    assert "repeats the record of row 3 of a.csv" in problem.reason


@pytest.mark.parametrize("role, ok", [("viewer", False), ("caseworker", True)])
def test_the_acting_users_role_is_checked(engine, role, ok):
    assert accounts.add_user({"username": "imp", "role": role, "password": "walnut-harbour-31"}, "test",
                             engine=engine).ok
    report = import_files("referrals", [("r.csv", csv_of([referral(1)]))], "imp", engine=engine)
    assert report.written is ok and count(engine, Referral) == int(ok)
    if not ok:
        assert "cannot change these records" in report.problems[0].reason


def test_the_bench_file_imports_and_measures(engine):
    assert read_table("b.csv", referrals_csv(50, engine)).height == 50
    result = measure_import(engine, 300)
    assert result["rows"] == result["new"] == 300 and result["seconds"] > 0
    assert result["rows_per_s"] > 0 and result["summary"].startswith("Imported 300 rows")
    again = measure_import(engine, 300)  # a second run imports new records: it never times unchanged rows
    assert again["new"] == 300 and again["rows_per_s"] > 0
    assert count(engine, Referral) == 600


def test_a_bench_import_that_writes_nothing_new_gives_no_rate(engine):
    content = referrals_csv(40, engine, run="same")
    assert import_files("referrals", [("r.csv", content)], "bench", engine=engine).new == 40
    again = import_files("referrals", [("r.csv", content)], "bench", engine=engine)
    assert again.unchanged == 40  # what a bench re-run timed before 7 December, at twice the rate of new rows
    assert rate({"rows_per_s": None, "summary": again.summary()}).startswith("no rate")


SEARCH_HEADER = KINDS["stop-search"].header
SEARCH = {"Type": "Person search", "Date": "2020-01-05T10:20:00+00:00", "Part of a policing operation": "False",
          "Latitude": "52.9", "Longitude": "-1.47", "Gender": "Male", "Age range": "18-24",
          "Self-defined ethnicity": "White - English/Welsh/Scottish/Northern Irish/British",
          "Officer-defined ethnicity": "White", "Legislation": "Misuse of Drugs Act 1971 (section 23)",
          "Object of search": "Controlled drugs", "Outcome": "A no further action disposal",
          "Outcome linked to object of search": "False", "Removal of more than just outer clothing": "False"}
SEARCH_FILE = "2020-01-derbyshire-stop-and-search.csv"


def search(**overrides) -> dict:
    return {**SEARCH, **overrides}


def test_stop_search_problems_match_the_row_by_row_writer(engine):
    rows = [
        search(),
        search(Type="Boat search", Date="2020-13-05T10:20:00+00:00"),
        search(Latitude="91", Longitude="east", Gender="Robot"),
        search(Date="", **{"Age range": "over 9000", "Part of a policing operation": "maybe"}),
        search(Date="2020-01-05T10:20:00+01:00", Legislation="x" * 201),
        search(**{"Self-defined ethnicity": "Martian", "Outcome": "Suspect arrested"}),
        search(Type="Person\x00 search"),
        search(Date="2020-01-05T10:20:00Z", Latitude=" 52.9 "),
    ]
    files = [(SEARCH_FILE, csv_of(rows, SEARCH_HEADER))]
    expected = row_by_row(engine, "stop-search", files, {"force": "derbyshire"})
    report = import_files("stop-search", files, USER, engine=engine)
    assert not report.written and problems(report) == expected
    assert {p.row for p in report.problems} == {3, 4, 5, 6, 7, 8}


def test_a_police_uk_file_imported_again_is_unchanged_and_a_corrected_row_updated(engine):
    from divert.storage.models import StopSearch

    rows = [search(Date=f"2020-01-{day:02d}T10:20:00+00:00") for day in range(1, 21)]
    first = import_files("stop-search", [(SEARCH_FILE, csv_of(rows, SEARCH_HEADER))], USER, engine=engine)
    assert first.written and first.new == 20
    again = import_files("stop-search", [(SEARCH_FILE, csv_of(rows, SEARCH_HEADER))], USER, engine=engine)
    assert (again.new, again.updated, again.unchanged, again.written) == (0, 0, 20, False)
    rows[4] = search(Date="2020-01-05T10:20:00+00:00", Outcome="Arrest")
    corrected = import_files("stop-search", [(SEARCH_FILE, csv_of(rows, SEARCH_HEADER))], USER, engine=engine)
    assert (corrected.new, corrected.updated, corrected.unchanged) == (0, 1, 19)
    events = import_events(engine)
    assert len(events) == 2 and json.loads(events[1].before) == {"stop_search": {
        str(next(iter(json.loads(events[1].before)["stop_search"]))): {"outcome": "A no further action disposal"}}}
    assert count(engine, StopSearch) == 20
    assert count(engine, StopSearch, StopSearch.outcome == "Arrest", StopSearch.import_id == events[1].row_id) == 1


def test_stop_search_rows_carry_the_import_id_of_their_import(engine):
    from pathlib import Path

    from divert.storage.models import StopSearch

    sample = sorted((Path(__file__).parent / "fixtures" / "police-uk-sample").glob("*.csv"))[0]
    report = import_files("stop-search", [(sample.name, sample.read_bytes())], USER, engine=engine)
    assert report.written and report.new > 0
    (event,) = import_events(engine)
    assert json.loads(event.after)["import_id"] == event.row_id
    assert count(engine, StopSearch, StopSearch.import_id == event.row_id) == report.new == count(engine, StopSearch)


def test_a_bulk_row_that_breaks_a_database_rule_refuses_the_whole_write(engine):
    # SQLite checks the CHECK rules of bulk rows once, as a set, after the insert; PostgreSQL's COPY as it goes
    from divert.records.core import Rejected
    from divert.records.import_writes import PERSON, Plan, write_plan

    plan = Plan()
    plan.new["person"].append({"person_key": "k" * 64, "sex": "M", "birth_year": 1990, "ethnicity_self": "W1",
                               "ethnicity_officer": None, "demo": False})
    offence = {"force": "west-midlands", "offence_date": date(2021, 3, 1), "age": 31, "area": "E08000025",
               "source": "custody", "outcome": None, "outcome_date": None, PERSON: 0, "demo": False}
    plan.new["offence"] += [{**offence, "crime_ref": "C/1", "drug": "CAN"}, {**offence, "crime_ref": "C/2", "drug": "XXX"}]
    with Session(engine) as s, pytest.raises(Rejected) as refused:
        write_plan(s, USER, plan, "offences", {"files": ["o.csv"]})
    assert "ck_offence_drug" in refused.value.problems[0].reason
    assert count(engine, Offence) == 0 and count(engine, Person) == 0
