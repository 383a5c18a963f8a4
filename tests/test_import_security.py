"""Hostile and awkward files: workbooks that unpack to far more than they weigh, the same key
twice, an offence moved to another person, real Excel dates, huge values and identifiers in
reports - and a long import beside sign-ins and saves on SQLite."""

from __future__ import annotations

import io
import sqlite3
import threading
import tracemalloc
import zipfile
from datetime import datetime

import pytest
from dbfixtures import migrated_sqlite_url, migrated_url
from sqlalchemy import func, select

from divert.auth import accounts, sign_in
from divert.ingest.import_report import HIDDEN
from divert.ingest.kinds import KINDS
from divert.ingest.reading import Unreadable, check_workbook_sizes, read_table
from divert.ingest.run import import_files
from divert.records import stored_settings
from divert.records.offences import add_offence
from divert.records.referrals import add_referral
from divert.records.sessions import add_session
from divert.storage.db import get_engine, session_scope
from divert.storage.models import AuditEvent, CourseSession, Offence, Person, Referral

USER = "test.importer"
HEADER = KINDS["offences"].header


def offences_csv(rows: list[dict]) -> bytes:
    lines = [",".join(HEADER)] + [",".join(str(r.get(c, "")) for c in HEADER) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def offence(n: int, **overrides) -> dict:
    row = {"crime_ref": f"C/{n:06d}", "offence_date": "2021-02-03", "area": "E08000026", "drug": "CAN",
           "source": "stop_search", "person_ref": f"PNC-{n}", "sex": "F", "birth_year": "2001"}
    row.update(overrides)
    return row


def count(engine, model) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


# --- workbooks that unpack to far more than they weigh ---------------------------------------
_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}


def workbook(rows_xml: str) -> bytes:
    """A minimal .xlsx whose one sheet holds `rows_xml` (no <dimension>, as a forger would)."""
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>crime_ref</t></is>'
             f'</c></row>{rows_xml}</sheetData></worksheet>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in _PARTS.items():
            archive.writestr(name, part)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def refused_in_bounded_memory(content: bytes, reason: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(Unreadable, match=reason):
            read_table("crimes.xlsx", content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MB"


def test_two_million_rows_in_a_small_workbook_are_refused_before_reading_them():
    content = workbook("<row><c><v>1</v></c></row>" * 2_000_000)
    assert len(content) < 400_000  # a few hundred kilobytes...
    refused_in_bounded_memory(content, "times larger than it is stored")  # ...that unpack to 52 MB


def test_a_workbook_that_compresses_like_a_real_one_is_refused_at_the_row_limit():
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(2, 600_000))
    refused_in_bounded_memory(workbook(rows), "more than 500,000 rows")


def test_rows_skipped_by_number_and_very_wide_rows_are_refused():
    skipped = workbook('<row r="2000000"><c r="A2000000"><v>1</v></c></row>')
    with pytest.raises(Unreadable, match="more than 500,000 rows"):
        check_workbook_sizes(skipped)  # by its number, as the sheet is scanned: no blank row is read
    refused_in_bounded_memory(skipped, "more than 500,000 rows")
    wide = "".join(f'<row r="{i}"><c r="A{i}"><v>1</v></c><c r="XFD{i}"><v>1</v></c></row>' for i in range(2, 400))
    refused_in_bounded_memory(workbook(wide), "more than 5,000,000 cells")


def test_the_web_preview_refuses_the_same_workbook(sqlite_engine):
    content = workbook("<row><c><v>1</v></c></row>" * 2_000_000)
    report = import_files("offences", [("crimes.xlsx", content)], USER, engine=sqlite_engine, dry_run=True)
    assert not report.ok and "times larger than it is stored" in report.problems[0].reason


def test_real_excel_date_and_datetime_cells_are_accepted(sqlite_engine):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append([offence(1).get(c) for c in HEADER])
    sheet.append([offence(2).get(c) for c in HEADER])
    date_col = HEADER.index("offence_date") + 1
    sheet.cell(row=2, column=date_col, value=datetime(2025, 3, 1))  # a date cell, as Excel stores it
    sheet.cell(row=3, column=date_col, value=datetime(2025, 3, 2, 14, 30))  # a date-time cell
    sheet.cell(row=3, column=HEADER.index("birth_year") + 1, value=2001.0)  # a number cell
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_files("offences", [("crimes.xlsx", buffer.getvalue())], USER, engine=sqlite_engine)
    assert report.ok and report.new == 2, report.problems
    with session_scope(sqlite_engine) as s:
        dates = sorted(str(d) for d in s.execute(select(Offence.offence_date)).scalars())
    assert dates == ["2025-03-01", "2025-03-02"]


# --- the same key twice, a person changed ---------------------------------------------------
def test_the_same_key_twice_in_one_import_is_a_problem(engine):
    rows = [offence(1), offence(2), offence(1, drug="COC")]
    report = import_files("offences", [("a.csv", offences_csv(rows))], USER, engine=engine)
    assert not report.ok and not report.written
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.value) == (4, "crime_ref", "C/000001")
    assert "repeats the record of row 2" in problem.reason
    assert count(engine, Offence) == 0
    # across two files of one import too
    report = import_files("offences", [("a.csv", offences_csv([offence(1)])), ("b.csv", offences_csv([offence(1)]))],
                          USER, engine=engine)
    assert not report.ok and "row 2 of a.csv" in report.problems[0].reason


def test_an_offence_with_a_referral_cannot_be_moved_to_another_person(engine):
    referral = {**offence(1), "reference": "DIV-1", "referred_at": "2021-02-03 10:00"}
    assert add_referral(referral, USER, engine=engine).ok
    report = import_files("offences", [("a.csv", offences_csv([offence(1, person_ref="SOMEONE-ELSE")]))], USER,
                          engine=engine)
    assert not report.ok
    (problem,) = report.problems
    assert problem.column == "person_ref" and problem.value is None and "DIV-1" in problem.reason
    with session_scope(engine) as s:
        people = s.execute(select(Offence.person_id, Referral.person_id).join(Referral)).one()
    assert people[0] == people[1]
    assert count(engine, Person) == 1


@pytest.mark.parametrize("kind", ["offences", "referrals"])
def test_a_nul_character_in_a_key_is_refused_with_its_row_on_either_database(engine, kind):
    """A zero byte in a crime reference is refused by validation, never looked up (PostgreSQL
    cannot even compare such a text: found by the import property test)."""
    header = KINDS[kind].header
    row = {**offence(1, crime_ref="C\x001"), "reference": "DIV-NUL", "referred_at": "2021-03-02 10:00"}
    content = (",".join(header) + "\n" + ",".join(str(row.get(c, "")) for c in header) + "\n").encode()
    report = import_files(kind, [("a.csv", content)], USER, engine=engine)
    assert not report.ok and not report.written
    assert any(p.row == 2 and p.column == "crime_ref" and "NUL" in p.reason for p in report.problems), report.problems
    assert count(engine, Offence) == 0


def test_an_offence_without_a_referral_moves_with_an_audited_update(engine):
    assert import_files("offences", [("a.csv", offences_csv([offence(1)]))], USER, engine=engine).written
    report = import_files("offences", [("a.csv", offences_csv([offence(1, person_ref="CORRECTED-9")]))], USER,
                          engine=engine)
    assert report.ok and report.updated == 1
    with session_scope(engine) as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "import")
                          .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()  # one event per import
    assert '"person_id": 1' in event.before and '"person_id": 2' in event.after
    assert "CORRECTED-9" not in (event.before + event.after)


# --- what a report shows --------------------------------------------------------------------
def test_reports_shorten_huge_values_and_never_show_identifiers(sqlite_engine, tmp_path):
    huge = "X" * 20_000_000
    rows = [offence(1, drug=huge), offence(2, person_ref="PNC-" + "9" * 80)]
    report = import_files("offences", [("a.csv", offences_csv(rows))], USER, engine=sqlite_engine)
    by_column = {p.column: p for p in report.problems}
    assert len(str(by_column["drug"].value)) < 300 and "20,000,000 characters" in by_column["drug"].value
    assert by_column["person_ref"].value == HIDDEN
    frame = report.problems_frame()
    assert "PNC-999" not in frame.write_csv()


def test_cli_output_and_report_file_are_short_and_hide_identifiers(tmp_path, cli):
    url = migrated_url(tmp_path)
    rows = [offence(1, drug="Y" * 5_000_000), offence(2, person_ref="RAW-PNC-" + "7" * 70), offence(3, area="NOWHERE")]
    source = tmp_path / "crimes.csv"
    source.write_bytes(offences_csv(rows))
    out = tmp_path / "problems.csv"
    done = cli("--db", url, "import", "offences", str(source), "--report", str(out))
    assert done.returncode == 1
    printed = done.stdout + done.stderr
    assert len(printed) < 5_000 and "RAW-PNC" not in printed and "5,000,000 characters" in printed
    written = out.read_text()
    assert len(written) < 5_000 and "RAW-PNC" not in written and HIDDEN in written
    assert count(get_engine(url), Offence) == 0


# --- SQLite: a long import beside sign-ins and saves ----------------------------------------
def write_lock_is_free(path) -> bool:
    """Whether another connection could take SQLite's write lock this moment, without waiting."""
    other = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


@pytest.mark.threads
def test_sign_ins_and_saves_go_on_during_a_long_import_on_sqlite(tmp_path, monkeypatch):
    """The import is held after checking its rows and before writing them (as a long check
    would hold it) while people sign in and save: it holds no lock meanwhile, so they go on at
    once; then it writes every row."""
    monkeypatch.setenv("DIVERT_SQLITE_BUSY_MS", "1500")  # fail fast if anything holds the lock long
    url = migrated_sqlite_url(tmp_path)
    get_engine.cache_clear()
    engine = get_engine(url)
    assert accounts.add_user({"username": "cas", "role": "caseworker", "password": "walnut-harbour-31"},
                             "test", engine=engine).ok
    rows = 2000
    content = offences_csv([offence(n) for n in range(rows)])
    result = {}
    checked, carry_on = threading.Event(), threading.Event()

    def held_after_checking(_fraction, message):
        if message.startswith("Checked") and not checked.is_set():
            checked.set()
            carry_on.wait(timeout=120)

    importing = threading.Thread(target=lambda: result.update(
        report=import_files("offences", [("big.csv", content)], "cas", engine=engine, progress=held_after_checking)))
    importing.start()
    try:
        assert checked.wait(timeout=120), "the import never finished checking its rows"
        assert importing.is_alive() and count(engine, Offence) == 0  # in the middle of the import
        assert write_lock_is_free(tmp_path / "divert.db")
        outcomes = [sign_in.attempt("cas", "walnut-harbour-31", None, prefs=stored_settings.load(engine),
                                    engine=engine).status for _ in range(3)]
        saves = [add_session({"session_ref": f"S-{n}", "starts_at": "2025-03-01 18:00", "seats": "12"},
                                     "cas", engine=engine) for n in range(3)]
        assert importing.is_alive() and count(engine, Offence) == 0  # they went on while it waited
    finally:
        carry_on.set()
        importing.join(timeout=120)
    report = result["report"]
    assert report.written and report.new == rows and count(engine, Offence) == rows
    assert outcomes == ["ok"] * 3
    assert all(s.ok for s in saves), [p.reason for s in saves for p in s.problems][:3]
    assert count(engine, CourseSession) == len(saves)
    get_engine.cache_clear()


def test_a_lock_held_too_long_gives_a_clear_message_not_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVERT_SQLITE_BUSY_MS", "200")
    url = migrated_sqlite_url(tmp_path)
    get_engine.cache_clear()
    engine = get_engine(url)
    assert accounts.add_user({"username": "cas", "role": "caseworker", "password": "walnut-harbour-31"},
                             "test", engine=engine).ok
    holder = sqlite3.connect(str(tmp_path / "divert.db"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        assert not write_lock_is_free(tmp_path / "divert.db")
        outcome = sign_in.attempt("cas", "walnut-harbour-31", None, prefs=stored_settings.load(engine), engine=engine)
        assert outcome.status == "busy"
        saved = add_session({"session_ref": "S-1", "starts_at": "2025-03-01 18:00", "seats": "12"},
                                    "cas", engine=engine)
        assert not saved.ok and "busy" in saved.problems[0].reason
        report = import_files("offences", [("a.csv", offences_csv([offence(1)]))], "cas", engine=engine)
        assert not report.written and "busy" in report.problems[0].reason
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert count(engine, CourseSession) == count(engine, Offence) == 0
    get_engine.cache_clear()


def test_a_write_while_the_import_is_checked_makes_it_check_again(sqlite_file_engine):
    """Someone saves a record while an import is being checked on its copy: the copy is stale,
    so the import is checked again and both end up in the database, ids consistent."""
    calls = []

    def progress(fraction, message):
        if not calls:
            calls.append(add_offence(offence(999_999, person_ref="PNC-1"), USER, engine=sqlite_file_engine))

    content = offences_csv([offence(n) for n in range(600)])
    report = import_files("offences", [("a.csv", content)], USER, engine=sqlite_file_engine, progress=progress)
    assert calls and calls[0].ok
    assert report.written and report.new == 600
    with session_scope(sqlite_file_engine) as s:
        assert s.execute(select(func.count()).select_from(Offence)).scalar_one() == 601
        pairs = s.execute(select(Offence.crime_ref, Person.person_key).join(Person)).all()
    by_ref = dict(pairs)
    assert by_ref["C/999999"] == by_ref["C/000001"]  # the same person (PNC-1), not a copy
