"""A file is checked as a file before any field is read (issue 25): the real police.uk fixtures,
one row damaged the ways a file gets damaged, are refused naming that row, with nothing written.

- a row with fewer or more fields than the header;
- the file cut off at any byte of a row (police.uk ends every row with a line ending, so a file
  that stops inside a row is refused even when the cut leaves a valid value, e.g. a last field cut
  to blank);
- a byte that is not UTF-8 (as Excel's plain 'CSV' writes é or £);
- a quote opened at the start of a field and never closed;
- a search dated, on its UK day, outside the month the file is named for.

The unmutated fixtures import (test_policeuk imports every one); so do their rows re-dated anywhere
in their month, the UK day deciding (a search at 23:30 UTC on the last day of the month before, in
British Summer Time, is on the month's first day)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from clock import frozen
from commands import divert
from dbfixtures import migrated_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rule_data import differences, tables

from divert.core.clock import UK
from divert.ingest.reading import month_from_filename
from divert.ingest.run import import_files
from divert.storage.db import data_version, get_engine

FIXTURES = Path(__file__).parent / "fixtures"
REAL_FILES = sorted(FIXTURES.glob("police-uk-*/*.csv"))
DERBYSHIRE = FIXTURES / "police-uk-sample" / "2019-12-derbyshire-stop-and-search.csv"
USER = "rules.structure"
DATE = 1  # the Date field: police.uk's second column
# nothing is written, so one database serves every example of a test
EXAMPLES = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# what the refusal says, by mutation
SAYS = {
    "fewer fields": "where the header has 15",
    "more fields": "where the header has 15",
    "cut off": "cut off",
    "not UTF-8": "not UTF-8",
    "open quote": "a quote that is never closed",
    "other month": "but this search is dated",
}


def test_the_real_fixtures_quote_nothing_and_end_every_row():
    """What the mutations below rely on: fields split at commas, and a line ending after each row."""
    for path in REAL_FILES:
        content = path.read_bytes()
        assert b'"' not in content and content.endswith(b"\n") and month_from_filename(path.name), path.name


def split_ending(line: bytes) -> tuple[bytes, bytes]:
    body = line.rstrip(b"\r\n")
    return body, line[len(body):]


def uk_moment(draw, year: int, month: int) -> datetime:
    """A moment on a UK day of the month, any time of day, in UTC."""
    first = date(year, month, 1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    day = draw(st.dates(first, last))
    local = datetime(day.year, day.month, day.day, draw(st.integers(0, 23)), draw(st.integers(0, 59)), tzinfo=UK)
    return local.astimezone(UTC)


def iso(moment: datetime) -> bytes:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00").encode()


@st.composite
def a_damaged_file(draw, mutation: str) -> tuple[str, bytes, int]:
    """(file name, content, the damaged row): a real police.uk file with one row damaged."""
    path = draw(st.sampled_from(REAL_FILES), label="file")
    lines = path.read_bytes().splitlines(keepends=True)
    index = draw(st.integers(1, len(lines) - 1), label="line")  # a data row; it is row index + 1
    body, ending = split_ending(lines[index])
    fields = body.split(b",")
    if mutation == "fewer fields":
        lines[index] = b",".join(fields[:draw(st.integers(1, len(fields) - 1), label="fields kept")]) + ending
    elif mutation == "more fields":
        extra = draw(st.lists(st.sampled_from([b"", b"x", b"True", b"2019-12-01"]), min_size=1, max_size=3))
        lines[index] = b",".join(fields + extra) + ending
    elif mutation == "cut off":  # at least one byte of the row kept, at most all of it but its line ending
        in_last_field = st.integers(len(body) - len(fields[-1]), len(body))  # the cut a field count misses
        lines = lines[:index] + [body[:draw(st.integers(1, len(body)) | in_last_field, label="bytes kept")]]
    elif mutation == "not UTF-8":
        at = draw(st.integers(0, len(body)), label="at")
        byte = bytes([draw(st.integers(0x80, 0xFF), label="byte")])  # never UTF-8 before ASCII or a line end
        lines[index] = body[:at] + byte + body[at:] + ending
    elif mutation == "open quote":
        opened = draw(st.integers(0, len(fields) - 1), label="field")
        lines[index] = b",".join([*fields[:opened], b'"' + fields[opened], *fields[opened + 1:]]) + ending
    elif mutation == "other month":
        month = month_from_filename(path.name)
        shift = draw(st.integers(-24, 24).filter(bool), label="months away")
        year, month_index = divmod(month.year * 12 + month.month - 1 + shift, 12)
        fields[DATE] = iso(uk_moment(draw, year, month_index + 1))
        lines[index] = b",".join(fields) + ending
    return path.name, b"".join(lines), index + 1


def assert_refused(engine, name: str, content: bytes, row: int, says: str, column: str | None = None):
    """Importing the file is refused, writes nothing (no row, no audit event, the same data
    version), and a problem names the file, the row and, when given, the column."""
    before, version = tables(engine), data_version(engine)
    report = import_files("stop-search", [(name, content)], USER, engine=engine)
    assert not report.ok and not report.written, f"row {row} damaged, yet: {report.summary()}"
    assert differences(before, tables(engine)) == [] and data_version(engine) == version
    named = [(p.file, p.row, p.column, p.reason) for p in report.problems]
    assert any(f == name and r == row and column in (None, c) and says in reason for f, r, c, reason in named), \
        f"no problem names row {row} ({says!r}): {named[:3]}"


@pytest.mark.parametrize("mutation", list(SAYS))
def test_a_real_police_uk_file_with_one_row_damaged_is_refused_naming_the_row(sqlite_engine, mutation):
    @EXAMPLES
    @given(case=a_damaged_file(mutation))
    def check(case):
        name, content, row = case
        with frozen():
            assert_refused(sqlite_engine, name, content, row, SAYS[mutation], "Date" if mutation == "other month" else None)

    check()


@st.composite
def a_redated_file(draw) -> tuple[str, bytes]:
    """A real police.uk file with its rows dated anywhere in its month (on UK days)."""
    path = draw(st.sampled_from(REAL_FILES), label="file")
    month = month_from_filename(path.name)
    lines = path.read_bytes().splitlines(keepends=True)
    for index in range(1, len(lines)):
        body, ending = split_ending(lines[index])
        fields = body.split(b",")
        fields[DATE] = iso(uk_moment(draw, month.year, month.month))
        lines[index] = b",".join(fields) + ending
    return path.name, b"".join(lines)


@settings(EXAMPLES, max_examples=10)
@given(case=a_redated_file())
def test_searches_anywhere_in_the_files_month_are_accepted(sqlite_engine, case):
    name, content = case
    with frozen():
        report = import_files("stop-search", [(name, content)], USER, engine=sqlite_engine, dry_run=True)
    assert not report.problems and report.new == report.rows > 0


# --- the examples, word for word -------------------------------------------------------------------
def with_row(content: bytes, row: int, change) -> bytes:
    lines = content.splitlines(keepends=True)
    lines[row - 1] = change(lines[row - 1])
    return b"".join(lines)


def test_the_refusals_say_where_and_what_was_expected(sqlite_engine):
    name, content = DERBYSHIRE.name, DERBYSHIRE.read_bytes()
    latin = with_row(content, 14, lambda line: line.replace(b"Misuse of", "Misusé of".encode("cp1252")))
    report = import_files("stop-search", [(name, latin)], USER, engine=sqlite_engine)
    [problem] = report.problems
    assert (problem.file, problem.row, problem.value) == (name, 14, "0xE9")
    assert problem.reason.startswith("row 14: bytes that are not UTF-8 (0xE9 at byte ")
    assert "the file must be saved as CSV UTF-8" in problem.reason

    late = with_row(content, 5, lambda line: line.replace(line.split(b",")[DATE], b"2020-01-03T09:00:00+00:00"))
    [problem] = import_files("stop-search", [(name, late)], USER, engine=sqlite_engine).problems
    assert (problem.row, problem.column, problem.value) == (5, "Date", "2020-01-03T09:00:00+00:00")
    assert problem.reason.startswith("the file is for December 2019 but this search is dated 3 January 2020 (UK time)")

    [problem] = import_files("stop-search", [(name, content.rstrip(b"\r\n"))], USER, engine=sqlite_engine).problems
    assert problem.row == 199 and "no line ending" in problem.reason and "cut off" in problem.reason


def test_a_search_is_in_the_month_of_its_uk_day(sqlite_engine):
    """June 2016 (British Summer Time): 23:01 UTC on 31 May is 1 June in the UK (the real file's
    first row); 23:30 UTC on 30 June is 1 July, outside the file."""
    path = FIXTURES / "police-uk-history" / "2016-06-metropolitan-stop-and-search.csv"
    content = path.read_bytes()
    assert content.splitlines()[1].split(b",")[DATE] == b"2016-05-31T23:01:00+00:00"
    engine = sqlite_engine
    with frozen():
        assert import_files("stop-search", [(path.name, content)], USER, engine=engine, dry_run=True).ok
        july = with_row(content, 3, lambda line: line.replace(line.split(b",")[DATE], b"2016-06-30T23:30:00+00:00"))
        [problem] = import_files("stop-search", [(path.name, july)], USER, engine=engine, dry_run=True).problems
    assert problem.row == 3 and "dated 1 July 2016" in problem.reason


@pytest.mark.parametrize("bom, ending", [(b"", b"\n"), (b"\xef\xbb\xbf", b"\r\n"), (b"\xef\xbb\xbf", b"\n"), (b"", b"\r\n")])
def test_utf8_with_or_without_a_byte_order_mark_and_either_line_ending_is_accepted(sqlite_engine, bom, ending):
    content = bom + b"".join(line + ending for line in DERBYSHIRE.read_bytes().splitlines())
    with frozen():
        report = import_files("stop-search", [(DERBYSHIRE.name, content)], USER, engine=sqlite_engine, dry_run=True)
    assert report.ok and report.rows == 198


def test_a_file_without_the_month_in_its_name_is_not_held_to_one(sqlite_engine):
    """Given with --force, any name: its rows may span months, and its end is not checked (a CSV
    saved by Google Sheets, for one, has no line ending after its last row)."""
    lines = DERBYSHIRE.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"2019-12-01T13:10:00", b"2020-03-01T13:10:00")
    content = b"".join(lines).rstrip(b"\r\n")
    with frozen():
        report = import_files("stop-search", [("searches.csv", content)], USER, engine=sqlite_engine, force="derbyshire")
    assert report.ok and report.written and report.new == 198


def test_the_command_exits_non_zero_naming_file_row_and_reason(tmp_path):
    url = migrated_url(tmp_path)
    engine = get_engine(url)
    before, version = tables(engine), data_version(engine)
    damaged = tmp_path / DERBYSHIRE.name
    damaged.write_bytes(with_row(DERBYSHIRE.read_bytes(), 14, lambda line: line.replace(b"Misuse", b"Misus\xe9")))
    durham = FIXTURES / "police-uk-sample" / "2020-01-durham-stop-and-search.csv"
    moved = tmp_path / durham.name
    moved.write_bytes(with_row(durham.read_bytes(), 7, lambda line: line.replace(b"2020-01-", b"2020-02-", 1)))
    with frozen():
        ran = divert("--db", url, "import", "stop-search", str(damaged), str(moved))
    assert ran.returncode == 1 and ran.stdout.startswith("Rejected - nothing was written.")
    assert f"{damaged.name} row 14, file = '0xE9': row 14: bytes that are not UTF-8" in ran.stdout
    assert f"{moved.name} row 7, Date = '2020-02-" in ran.stdout and "the file is for January 2020" in ran.stdout
    assert differences(before, tables(engine)) == [] and data_version(engine) == version
    engine.dispose()
