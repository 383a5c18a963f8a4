"""Imports: real police.uk files, CSV/Excel quirks, all-or-nothing, re-imports, reports."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from divert.core.safe_csv import to_csv_bytes
from divert.ingest.kinds import KINDS
from divert.ingest.run import data_dictionary, import_files, template_csv
from divert.storage.db import data_version, session_scope
from divert.storage.models import AuditEvent, Offence, Referral, StopSearch

SAMPLES = Path(__file__).parent / "fixtures" / "police-uk-sample"
USER = "test.importer"


def sample_files():
    return [(p.name, p.read_bytes()) for p in sorted(SAMPLES.glob("*.csv"))]


def count(engine, model, *where) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def data_rows(content: bytes) -> int:
    return len(content.decode("utf-8-sig").splitlines()) - 1


def test_police_uk_samples_import_with_exact_counts_and_twice_adds_nothing(engine):
    files = sample_files()
    report = import_files("stop-search", files, USER, engine=engine)
    assert report.ok and report.written, report.problems[:5]
    expected = sum(data_rows(content) for _, content in files)
    assert report.new == expected == count(engine, StopSearch)
    for name, content in files:
        assert count(engine, StopSearch, StopSearch.source_file == name) == data_rows(content)
    force_of = {"derbyshire": "derbyshire", "durham": "durham"}
    for force in force_of:
        in_files = sum(data_rows(c) for n, c in files if f"-{force}-" in n)
        assert count(engine, StopSearch, StopSearch.force == force) == in_files
    version = data_version(engine)
    again = import_files("stop-search", files, USER, engine=engine)
    assert again.ok and again.new == 0 and again.unchanged == expected
    assert count(engine, StopSearch) == expected
    assert data_version(engine) == version  # nothing changed, nothing bumped


def test_police_uk_values_are_kept_as_published(engine):
    import_files("stop-search", sample_files(), USER, engine=engine)
    with session_scope(engine) as s:
        row = s.execute(
            select(StopSearch).where(
                StopSearch.source_file == "2019-12-durham-stop-and-search.csv", StopSearch.source_row == 2
            )
        ).scalar_one()
    # the first data row of the real file
    assert row.search_type == "Person and Vehicle search"
    assert row.age_range == "18-24" and row.gender is None
    assert row.ethnicity_self_code == "W1" and row.ethnicity_officer == "White"
    assert row.outcome == "Arrest" and row.outcome_linked is True and row.removal_of_clothing is False
    assert row.searched_at.isoformat().startswith("2019-12-01T13:38:10")


def offences_csv(rows: list[dict], *, bom=False, crlf=False) -> bytes:
    header = KINDS["offences"].header
    lines = [",".join(header)] + [",".join(str(r.get(c, "")) for c in header) for r in rows]
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def offence_row(n: int, **overrides) -> dict:
    row = {"crime_ref": f"20WM/{n:05d}/21", "offence_date": "03/02/2021", "area": "E08000026", "drug": "CAN",
           "source": "stop_search", "person_ref": f"P{n}", "sex": "F", "birth_year": "2001", "ethnicity_self": "A2"}
    row.update(overrides)
    return row


@pytest.mark.parametrize("bom, crlf", [(False, False), (True, True), (True, False), (False, True)])
def test_csv_with_or_without_bom_and_crlf(sqlite_engine, bom, crlf):
    content = offences_csv([offence_row(1), offence_row(2, offence_date="2021-02-04")], bom=bom, crlf=crlf)
    report = import_files("offences", [("crimes.csv", content)], USER, engine=sqlite_engine)
    assert report.ok and report.new == 2
    with session_scope(sqlite_engine) as s:
        dates = sorted(str(d) for d in s.execute(select(Offence.offence_date)).scalars())
    assert dates == ["2021-02-03", "2021-02-04"]  # UK and ISO dates


def test_excel_files_import(sqlite_engine):
    frame = pl.DataFrame([offence_row(1), offence_row(2)]).with_columns(pl.col("birth_year").cast(pl.Int64))
    buffer = io.BytesIO()
    frame.write_excel(buffer)
    report = import_files("offences", [("crimes.xlsx", buffer.getvalue())], USER, engine=sqlite_engine)
    assert report.ok and report.new == 2, report.problems


def test_one_bad_row_rejects_the_file_and_reports_every_problem(engine):
    rows = [offence_row(1), offence_row(2, drug="GLUE", area="Narnia"), offence_row(3, offence_date="2099-01-01")]
    version = data_version(engine)
    report = import_files("offences", [("crimes.csv", offences_csv(rows))], USER, engine=engine)
    assert not report.ok and not report.written
    found = {(p.row, p.column, p.value) for p in report.problems}
    assert found == {(3, "drug", "GLUE"), (3, "area", "Narnia"), (4, "offence_date", "2099-01-01")}
    assert count(engine, Offence) == 0 and data_version(engine) == version
    assert "Rejected - nothing was written" in report.summary()


def test_dry_run_writes_nothing(engine):
    report = import_files("offences", [("c.csv", offences_csv([offence_row(1)]))], USER, engine=engine, dry_run=True)
    assert report.ok and report.new == 1 and not report.written
    assert count(engine, Offence) == 0


def test_reimport_counts_new_updated_unchanged_and_audits_the_update(engine):
    import_files("offences", [("a.csv", offences_csv([offence_row(1), offence_row(2)]))], USER, engine=engine)
    rows = [offence_row(1), offence_row(2, outcome="8", outcome_date="2021-02-05"), offence_row(3)]
    report = import_files("offences", [("b.csv", offences_csv(rows))], USER, engine=engine)
    assert (report.new, report.updated, report.unchanged) == (1, 1, 1)
    assert count(engine, Offence) == 3
    with session_scope(engine) as s:
        assert s.execute(select(Offence.outcome).where(Offence.crime_ref == "20WM/00002/21")).scalar() == 8
        imports = s.execute(select(AuditEvent).where(AuditEvent.action == "import").order_by(AuditEvent.id)).scalars().all()
    # an import is audited as one event, holding the old and new values of each updated row
    assert len(imports) == 2 and '"outcome": null' in imports[1].before and '"outcome": 8' in imports[1].after


def test_missing_and_unknown_columns_are_reported(sqlite_engine):
    content = b"crime_ref,offence_dat\n20WM/1/21,2021-01-01\n"
    report = import_files("offences", [("c.csv", content)], USER, engine=sqlite_engine)
    columns = {p.column for p in report.problems}
    assert {"offence_date", "area", "drug", "source", "person_ref", "offence_dat"} <= columns
    assert all(p.row == 1 for p in report.problems)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"PK\x03\x04 not really a spreadsheet", "could not be read"),
])
def test_unreadable_files_are_reported_not_raised(sqlite_engine, content, reason):
    name = "c.xlsx" if content.startswith(b"PK") else "c.csv"
    report = import_files("offences", [(name, content)], USER, engine=sqlite_engine)
    assert not report.ok and reason in report.problems[0].reason


def test_stop_search_force_comes_from_the_name_or_the_option(sqlite_engine):
    name, content = sample_files()[0]
    report = import_files("stop-search", [("searches.csv", content)], USER, engine=sqlite_engine)
    assert not report.ok and "force is not in the file name" in report.problems[0].reason
    report = import_files("stop-search", [("searches.csv", content)], USER, engine=sqlite_engine, force="derbyshire")
    assert report.ok and count(sqlite_engine, StopSearch, StopSearch.force == "derbyshire") == data_rows(content)


def test_pathway_kinds_import_in_order(engine):
    files = {
        "referrals": "reference,referred_at,crime_ref,offence_date,area,drug,source,person_ref\n"
                     "DIV-1,2021-03-01 10:00,C1,2021-03-01,E08000025,CAN,stop_search,P1\n",
        "assessments": "referral_reference,completed_at,result,allocation,risk_alcohol\n"
                       "DIV-1,02/03/2021 10:00,completed,group_course,yes\n",
        "sessions": "session_ref,starts_at,seats\nS1,2021-03-10 18:00,12\n",
        "bookings": "referral_reference,session_ref,status\nDIV-1,S1,completed\n",
        "closures": "referral_reference,closed_on,result\nDIV-1,2021-03-11,complied\n",
    }
    for kind, text in files.items():
        report = import_files(kind, [(f"{kind}.csv", text.encode())], USER, engine=engine)
        assert report.ok and report.new == 1, (kind, report.problems)
    with session_scope(engine) as s:
        assert s.execute(select(Referral.status)).scalar() == "closed"
    again = import_files("bookings", [("b.csv", files["bookings"].encode())], USER, engine=engine)
    assert again.unchanged == 1 and again.new == 0


def test_template_and_data_dictionary_cover_every_column():
    for kind, spec in KINDS.items():
        assert template_csv(kind).strip().split(",")[0].strip('"') == spec.header[0]
        dictionary = data_dictionary(kind)
        assert dictionary["column"].to_list() == spec.header
        assert dictionary["meaning"].str.len_chars().min() > 0


def test_formula_cells_are_neutralised_in_reports(sqlite_engine):
    report = import_files("offences", [("c.csv", offences_csv([offence_row(1, drug="=cmd|' /C calc'!A0")]))], USER, engine=sqlite_engine)
    csv_text = to_csv_bytes(report.problems_frame()).decode()
    assert "'=cmd" in csv_text and ",=cmd" not in csv_text
