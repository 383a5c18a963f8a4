"""police.uk as published, 2016 to now: real rows of each wording (tests/fixtures/police-uk-history,
OGL v3.0), the monthly archive zip, and unknown wordings reported with file and row."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from dbfixtures import migrated_url
from sqlalchemy import func, select

from divert.ingest import archive
from divert.ingest.run import import_files
from divert.reference import policeuk
from divert.storage.db import data_version, get_engine, session_scope
from divert.storage.models import StopSearch

FIXTURES = Path(__file__).parent / "fixtures"
HISTORY = FIXTURES / "police-uk-history"
SAMPLES = FIXTURES / "police-uk-sample"
USER = "test.policeuk"
ROWS = {  # data rows in each fixture file, as counted when the rows were copied
    "2016-06-metropolitan-stop-and-search.csv": 57,
    "2016-11-city-of-london-stop-and-search.csv": 7,
    "2017-03-durham-stop-and-search.csv": 18,
    "2018-01-durham-stop-and-search.csv": 10,
    "2019-03-durham-stop-and-search.csv": 12,
}
# the older outcome wording and what police.uk calls it now (written out here, independently)
OUTCOME_NOW = {
    "Nothing found - no further action": "A no further action disposal",
    "Suspect arrested": "Arrest",
    "Offender given drugs possession warning": "Khat or Cannabis warning",
    "Local resolution": "Community resolution",
    "Suspect summonsed to court": "Summons / charged by post",
    "Offender given penalty notice": "Penalty Notice for Disorder",
    "Offender cautioned": "Caution (simple or conditional)",
}


def history_files() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(HISTORY.glob("*.csv"))]


def published_rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def count(engine, *where) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(StopSearch).where(*where)).scalar_one()


def stored(engine, name: str) -> dict[int, StopSearch]:
    with session_scope(engine) as s:
        rows = s.execute(select(StopSearch).where(StopSearch.source_file == name)).scalars().all()
        s.expunge_all()
    return {row.source_row: row for row in rows}


# --- the vocabularies, on hand-built values ------------------------------------------------------
@pytest.mark.parametrize("published, code", [
    ("White - White British (W1)", "W1"),
    ("Asian or Asian British - Pakistani (A2)", "A2"),
    ("Black or Black British - Caribbean (B1)", "B1"),
    ("Chinese or other ethnic group - Chinese (O1)", "A4"),
    ("Chinese or other ethnic group - Any other ethnic group (O9)", "O9"),
    ("Not Stated (NS)", "NS"),
    ("Other ethnic group - Not stated", "NS"),
    ("White - English/Welsh/Scottish/Northern Irish/British", "W1"),
    ("asian/asian british - pakistani", "A2"),
])
def test_every_self_defined_wording_gives_its_18_plus_1_code(published, code):
    assert policeuk.SELF_DEFINED.normalise(published) == code


@pytest.mark.parametrize("older, now", list(OUTCOME_NOW.items()))
def test_older_outcome_wording_reads_as_todays(older, now):
    assert policeuk.OUTCOME.normalise(older) == now
    assert policeuk.OUTCOME.normalise(now) == now
    assert policeuk.outcome_code(now) is not None


def test_unknown_wordings_name_the_nearest_known_ones():
    assert policeuk.OUTCOME.normalise("Suspect vanished") is None
    assert policeuk.OUTCOME.unknown("Suspect arested") == (
        "'Suspect arested' is not a outcome police.uk has published; did you mean 'Suspect arrested'?"
    )
    assert "did you mean 'Controlled drugs'" in policeuk.OBJECT_OF_SEARCH.unknown("Controled drugs")
    assert policeuk.AGE_RANGE.normalise("Oct-17") is None  # a spreadsheet's damage, not police.uk's wording


# --- real rows of every wording --------------------------------------------------------------------
def test_history_fixtures_import_with_exact_counts_per_file_and_force_and_twice_adds_nothing(engine):
    files = history_files()
    assert {name: len(published_rows(content)) for name, content in files} == ROWS
    report = import_files("stop-search", files, USER, engine=engine)
    assert report.ok and report.written, report.problems[:5]
    assert report.new == sum(ROWS.values()) == 104 == count(engine)
    for name, rows in ROWS.items():
        assert count(engine, StopSearch.source_file == name) == rows
    assert count(engine, StopSearch.force == "metropolitan") == 57
    assert count(engine, StopSearch.force == "durham") == 40
    assert count(engine, StopSearch.force == "city-of-london") == 7
    version = data_version(engine)
    again = import_files("stop-search", files, USER, engine=engine)
    assert again.ok and (again.new, again.updated, again.unchanged) == (0, 0, 104)
    assert count(engine) == 104 and data_version(engine) == version


def test_history_rows_keep_the_published_ethnicity_and_read_outcomes_in_todays_words(sqlite_engine):
    files = history_files()
    assert import_files("stop-search", files, USER, engine=sqlite_engine).ok
    for name, content in files:
        rows = stored(sqlite_engine, name)
        for number, published in enumerate(published_rows(content), start=2):
            row = rows[number]
            label = published["Self-defined ethnicity"] or None
            assert row.ethnicity_self_label == label  # as published
            assert (row.ethnicity_self_code is None) == (label is None)
            outcome = published["Outcome"] or None
            assert row.outcome == OUTCOME_NOW.get(outcome, outcome), (name, number)
            assert row.search_type == published["Type"] and row.object_of_search == (published["Object of search"] or None)
            assert row.ethnicity_officer == (published["Officer-defined ethnicity"] or None)  # never filled in
    met = stored(sqlite_engine, "2016-06-metropolitan-stop-and-search.csv")
    first = met[2]  # the first data row of the published file
    assert first.ethnicity_self_label == "Black or Black British - African (B2)" and first.ethnicity_self_code == "B2"
    assert first.outcome == "A no further action disposal" and first.age_range == "10-17"
    codes = Counter(r.ethnicity_self_code for r in met.values())
    labels = Counter(r["Self-defined ethnicity"] for r in published_rows((HISTORY / files[0][0]).read_bytes()))
    assert codes["A4"] == labels["Chinese or other ethnic group - Chinese (O1)"] == 2
    assert codes["NS"] == labels["Not Stated (NS)"] == 8 and codes[None] == labels[""] == 2
    durham_2017 = stored(sqlite_engine, "2017-03-durham-stop-and-search.csv")
    assert durham_2017[7].search_type == "Vehicle search" and durham_2017[7].outcome is None
    assert durham_2017[16].outcome == "Summons / charged by post"
    assert durham_2017[10].outcome == durham_2017[11].outcome == "Community resolution"  # published twice, kept twice
    assert stored(sqlite_engine, "2018-01-durham-stop-and-search.csv")[6].outcome == "Caution (simple or conditional)"


def test_the_existing_samples_still_import_unchanged(sqlite_engine):
    files = [(p.name, p.read_bytes()) for p in sorted(SAMPLES.glob("*.csv"))]
    report = import_files("stop-search", files, USER, engine=sqlite_engine)
    assert report.ok and report.new == sum(len(published_rows(c)) for _, c in files)
    for name, content in files:
        rows = stored(sqlite_engine, name)
        for number, published in enumerate(published_rows(content), start=2):
            assert rows[number].outcome == (published["Outcome"] or None)  # today's wording: as published
            assert rows[number].gender == (published["Gender"] or None)
            assert rows[number].age_range == (published["Age range"] or None)


def with_cells(content: bytes, changes: dict[tuple[int, str], str]) -> bytes:
    """The file with some cells changed: (data row index from 0, column) -> value."""
    rows = published_rows(content)
    for (index, column), value in changes.items():
        rows[index][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_unknown_wordings_are_reported_with_file_and_row_and_nothing_is_written(sqlite_engine):
    name = "2017-03-durham-stop-and-search.csv"
    content = with_cells((HISTORY / name).read_bytes(), {
        (0, "Outcome"): "Suspect vanished",
        (3, "Self-defined ethnicity"): "Martian - Any other Martian background (X9)",
        (5, "Object of search"): "Controled drugs",
        (6, "Gender"): "Unknown",
    })
    good = [(n, c) for n, c in history_files() if n != name]
    version = data_version(sqlite_engine)
    report = import_files("stop-search", [*good, (name, content)], USER, engine=sqlite_engine)
    assert not report.ok and not report.written
    found = {(p.file, p.row, p.column, p.value) for p in report.problems}
    assert found == {
        (name, 2, "Outcome", "Suspect vanished"),
        (name, 5, "Self-defined ethnicity", "Martian - Any other Martian background (X9)"),
        (name, 7, "Object of search", "Controled drugs"),
        (name, 8, "Gender", "Unknown"),
    }
    reasons = {p.column: p.reason for p in report.problems}
    assert reasons["Object of search"].endswith("did you mean 'Controlled drugs'?")
    assert count(sqlite_engine) == 0 and data_version(sqlite_engine) == version


# --- the monthly archive -------------------------------------------------------------------------
def archive_of(files: list[tuple[str, bytes]], extra: dict[str, bytes] | None = None) -> bytes:
    """A zip in police.uk's archive layout (one folder per month). Street and outcomes members
    are made up here, and must never be read as stop and search."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files:
            month, force = name[:7], name[8:].removesuffix("-stop-and-search.csv")
            zf.writestr(f"{month}/{name}", content)
            zf.writestr(f"{month}/{month}-{force}-street.csv", b"Crime ID,Month\nnot stop and search,2017-03\n")
            zf.writestr(f"{month}/{month}-{force}-outcomes.csv", b"Crime ID,Month\nnot stop and search,2017-03\n")
        for member, content in (extra or {}).items():
            zf.writestr(member, content)
    return buffer.getvalue()


def test_an_archive_imports_one_force_then_all_and_the_loose_files_add_nothing(engine):
    files = history_files()
    zipped = [("police-uk-archive.zip", archive_of(files))]
    durham = import_files("stop-search", zipped, USER, engine=engine, force="durham")
    assert durham.ok and durham.written, durham.problems
    assert durham.new == 40 == count(engine) == count(engine, StopSearch.force == "durham")
    assert sorted(durham.files) == sorted(n for n in ROWS if "durham" in n)
    everyone = import_files("stop-search", zipped, USER, engine=engine)
    assert everyone.ok and (everyone.new, everyone.unchanged) == (64, 40)
    assert count(engine, StopSearch.force == "metropolitan") == 57 and count(engine) == 104
    loose = import_files("stop-search", files, USER, engine=engine)
    assert loose.ok and (loose.new, loose.updated, loose.unchanged) == (0, 0, 104)


def test_an_archive_without_the_force_names_the_nearest(sqlite_engine):
    zipped = [("archive.zip", archive_of(history_files()))]
    report = import_files("stop-search", zipped, USER, engine=sqlite_engine, force="durhm")
    assert not report.ok and count(sqlite_engine) == 0
    assert report.problems[0].reason == "no stop-and-search file of force 'durhm' in the archive; did you mean durham?"
    report = import_files("stop-search", zipped, USER, engine=sqlite_engine, force="kent")
    assert "'kent' in the archive (kent has no stop-and-search file in it)" in report.problems[0].reason


def test_an_archive_is_bounded_before_anything_is_read(sqlite_engine, monkeypatch):
    files = history_files()
    bomb = archive_of(files[:1], {"2019-04/2019-04-durham-stop-and-search.csv": b"\0" * (4 * 1024 * 1024)})
    report = import_files("stop-search", [("bomb.zip", bomb)], USER, engine=sqlite_engine)
    assert not report.ok and "zip bomb" in report.problems[0].reason
    monkeypatch.setattr(archive, "MAX_MEMBERS", 5)
    report = import_files("stop-search", [("big.zip", archive_of(files))], USER, engine=sqlite_engine)
    assert not report.ok and "has 15 members; at most 5" in report.problems[0].reason
    monkeypatch.setattr(archive, "MAX_MEMBERS", 50_000)
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 1000)
    report = import_files("stop-search", [("big.zip", archive_of(files))], USER, engine=sqlite_engine)
    assert not report.ok and all("declares" in p.reason for p in report.problems)
    report = import_files("stop-search", [("broken.zip", b"PK\x03\x04 not a zip")], USER, engine=sqlite_engine)
    assert not report.ok and "is not a readable zip archive" in report.problems[0].reason
    empty = archive_of([], {"2019-04/2019-04-durham-street.csv": b"Crime ID\n"})
    report = import_files("stop-search", [("street.zip", empty)], USER, engine=sqlite_engine)
    assert not report.ok and "has no police.uk stop-and-search files" in report.problems[0].reason
    assert count(sqlite_engine) == 0


def test_the_command_imports_an_archive_for_one_force(tmp_path, cli):
    path = tmp_path / "police-uk-archive.zip"
    path.write_bytes(archive_of(history_files()))
    url = migrated_url(tmp_path, "cli.db")
    result = cli("--db", url, "import", "stop-search", str(path), "--force", "durham")
    assert result.returncode == 0, result.stderr
    assert "Imported 40 rows: 40 new, 0 updated, 0 unchanged." in result.stdout
    wrong = cli("--db", url, "import", "stop-search", str(path), "--force", "durhm")
    assert wrong.returncode == 1 and "did you mean durham?" in wrong.stdout
    assert count(get_engine(url)) == 40 == count(get_engine(url), StopSearch.force == "durham")
