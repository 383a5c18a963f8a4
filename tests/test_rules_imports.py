"""The rules of imports, for any files (Hypothesis), not only the examples of test_ingest:

- importing a file twice equals importing it once: the same rows in every table and the same
  figures, for every kind, whether the file comes again at once or after the later kinds;
- a file with one row damaged is rejected whole: nothing is written and a problem names the
  damaged row (a bad code, a row cut short, a row with more fields than the header).

test_rules_file_structure damages the real police.uk files the ways a file gets damaged (cut off,
not UTF-8, a quote never closed, a search outside the file's month, ...).

test_ingest_properties checks that arbitrary cells never half-write; these start from files that
are valid together (tests/rule_data.programme_files) and change one thing."""

from __future__ import annotations

import csv
import io
from datetime import date

from clock import frozen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rule_data import (
    IMPORT_ORDER,
    differences,
    file_rows,
    fresh_database,
    import_kind,
    programme_files,
    tables,
)

from divert.analytics.data.loading import load_frames
from divert.ingest.kinds import KINDS
from divert.storage.db import data_version

LAST_DAY = date(2025, 9, 30)  # the files' last day (the clock stands later: nothing is in the future)
# a database and several imports per example: a few examples each
FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def frames_of(engine) -> dict:
    frames = load_frames(engine)
    return {name: getattr(frames, name) for name in ("offences", "referrals", "sessions", "stop_search", "population")}


def same_frames(before: dict, after: dict) -> list[str]:
    return [name for name in before if not before[name].equals(after[name])]


def import_all(engine, files: dict, kinds=IMPORT_ORDER) -> None:
    for kind in kinds:
        report = import_kind(engine, kind, files)
        assert report.ok, (kind, report.problems[:5])


# --- importing a file twice equals importing it once -------------------------------------------------
@settings(FEW, max_examples=6)
@given(files=programme_files(LAST_DAY))
def test_importing_a_file_twice_equals_importing_it_once(tmp_path, files):
    with frozen(), fresh_database(tmp_path) as engine:
        for kind in IMPORT_ORDER:  # each file again at once
            first = import_kind(engine, kind, files)
            assert first.ok and first.new == len(file_rows(kind, files)), (kind, first.problems[:5])
            once, version = tables(engine), data_version(engine)
            again = import_kind(engine, kind, files)
            assert again.ok and (again.new, again.updated, again.unchanged) == (0, 0, len(file_rows(kind, files))), kind
            assert not again.written and data_version(engine) == version, kind
            assert differences(once, tables(engine)) == [], kind
        once, figures = tables(engine), frames_of(engine)  # the frames every figure is worked out from
        for kind in IMPORT_ORDER:  # and again after the later kinds moved the records on (closed, booked ...)
            again = import_kind(engine, kind, files)
            assert again.ok and (again.new, again.updated) == (0, 0), (kind, again.problems[:5])
        assert differences(once, tables(engine)) == []
        assert same_frames(figures, frames_of(engine)) == []


# --- a file with one row damaged is rejected whole -----------------------------------------------------
# a value each coded column refuses, by kind
BAD_CODES = {
    "offences": {"area": "Narnia", "drug": "GLUE", "source": "telepathy", "outcome": "99", "sex": "Q",
                 "ethnicity_self": "Z9", "ethnicity_officer": "IC7"},
    "referrals": {"area": "Narnia", "drug": "GLUE", "source": "telepathy", "sex": "Q", "ethnicity_self": "Z9",
                  "ethnicity_officer": "IC7"},
    "assessments": {"result": "maybe", "allocation": "circus"},
    "sessions": {"mode": "hologram"},
    "bookings": {"status": "lost"},
    "closures": {"result": "vanished"},
    "population": {"geography_level": "planet", "ethnicity": "Purple", "sex": "Q"},
    "stop-search": {"Type": "Bicycle search", "Gender": "Dragon", "Age range": "11-12", "Officer-defined ethnicity": "Green",
                    "Object of search": "Unicorns", "Outcome": "Knighted"},
}


def damaged_file(kind: str, rows: list[dict], row: int, cells) -> bytes:
    """The kind's file with data row `row` (0 = the first) written as `cells(values)`: the
    header's values in order, changed as the damage wants (fewer, more, or other values)."""
    header = KINDS[kind].header
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for number, values in enumerate(rows):
        line = ["" if values.get(column) is None else str(values[column]) for column in header]
        writer.writerow(cells(line) if number == row else line)
    return out.getvalue().encode("utf-8")


def assert_rejected_whole(engine, kind: str, files: dict, content: bytes, row: int, column: str | None = None):
    """Importing `content` as the kind's file is refused, writes nothing, and names the file row
    (the header is row 1, the first data row 2) and, when given, the column."""
    before, version = tables(engine), data_version(engine)
    report = import_kind(engine, kind, files, content)
    assert not report.ok and not report.written, f"the damaged row {row + 2} was imported: {report.summary()}"
    assert differences(before, tables(engine)) == [] and data_version(engine) == version
    named = [(p.row, p.column) for p in report.problems]
    assert any(r == row + 2 and column in (None, c) for r, c in named), \
        f"no problem names row {row + 2}{f' ({column})' if column else ''}: {named[:5]}"


@st.composite
def a_damaged_file(draw, damage: str):
    """(files, kind, row, column or None, file content): valid files and one kind's file with
    one row damaged ("code": a coded column gets a value it refuses; "short": the row stops
    before the header's last field; "long": the row has more fields than the header)."""
    files = draw(programme_files(LAST_DAY))
    kind = draw(st.sampled_from([k for k in IMPORT_ORDER if file_rows(k, files)]))
    rows = file_rows(kind, files)
    row = draw(st.integers(0, len(rows) - 1))
    header = KINDS[kind].header
    column, bad = draw(st.sampled_from(sorted(BAD_CODES[kind].items()))) if damage == "code" else (None, None)
    kept = draw(st.integers(1, len(header) - 1)) if damage == "short" else len(header)
    extra = draw(st.lists(st.sampled_from(["", "x", "2021-03-01"]), min_size=1, max_size=3)) if damage == "long" else []

    def cells(line: list[str]) -> list[str]:
        return [bad if name == column else value for name, value in zip(header, line, strict=True)][:kept] + extra

    return files, kind, row, column, damaged_file(kind, rows, row, cells)


@FEW
@given(case=a_damaged_file("code"))
def test_a_row_with_a_bad_code_rejects_the_whole_file(tmp_path, case):
    files, kind, row, column, content = case
    with frozen(), fresh_database(tmp_path) as engine:
        import_all(engine, files, IMPORT_ORDER[:IMPORT_ORDER.index(kind)])
        assert_rejected_whole(engine, kind, files, content, row, column)


@FEW
@given(case=a_damaged_file("short"))
def test_a_row_cut_short_rejects_the_whole_file(tmp_path, case):
    files, kind, row, _, content = case
    with frozen(), fresh_database(tmp_path) as engine:
        import_all(engine, files, IMPORT_ORDER[:IMPORT_ORDER.index(kind)])
        assert_rejected_whole(engine, kind, files, content, row)


@FEW
@given(case=a_damaged_file("long"))
def test_a_row_with_more_fields_than_the_header_rejects_the_whole_file_and_names_the_row(tmp_path, case):
    files, kind, row, _, content = case
    with frozen(), fresh_database(tmp_path) as engine:
        import_all(engine, files, IMPORT_ORDER[:IMPORT_ORDER.index(kind)])
        assert_rejected_whole(engine, kind, files, content, row)

