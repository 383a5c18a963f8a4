"""Reading uploaded files: CSV (UTF-8 with or without BOM, CRLF or LF) and Excel (.xlsx),
every cell as text so that validation, not the reader, decides what a value means.

A workbook is a zip of XML files, and a small one can unpack to gigabytes. It is read with
limits, and refused as soon as one is passed, in bounded memory (the web preview uses this
reader too): first the sizes the zip declares for its members (the unpacked total, and how well
each compresses) - which bound the reading itself, since a member that unpacks to more than it
declared fails its check; then a scan of each worksheet's XML, counting rows and cells as it
unpacks and stopping at a limit (openpyxl itself walks a whole sheet that lacks a <dimension>
before giving the first row); then, streaming the first sheet row by row (openpyxl read-only
mode), rows and cells again. Real Excel date and time cells become ISO text (YYYY-MM-DD, or
YYYY-MM-DDTHH:MM:SS when there is a time of day).

A CSV is checked as a file before any field is read: it must be UTF-8 (a byte that is not is
refused with its row), every row must have the header's number of fields and every quote must
close (check_rows). A police.uk file, named for its month, must also end with a line ending and
hold only that month's searches (police_uk_problems).
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import polars as pl

from divert.core.clock import UK
from divert.core.field_rules import Problem, parse_datetime

POLICE_UK_NAME = re.compile(r"^(\d{4})-(\d{2})-(?P<force>[a-z0-9-]+?)-stop-and-search\.csv$", re.I)
# a row's tag, with its own number (r="...") where it gives one: a sheet may skip rows, which a
# reader then gives as blank ones
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>](?:[^<>]*?\br=\"(\d{1,12})\")?")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")


@dataclass(frozen=True)
class Limits:
    rows: int = 500_000  # data rows in one file (the header not counted)
    cells: int = 5_000_000  # cells read from one workbook
    unpacked_mb: int = 300  # what a workbook's members unpack to, in all
    ratio: int = 250  # how much better than this a member over 1 MB may not compress
    members: int = 2_000  # files inside a workbook


LIMITS = Limits()
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a huge field is a field problem, reported with its size


class Unreadable(Exception):
    """The file cannot be read at all (not CSV/XLSX, not UTF-8, empty, too large, damaged); `row`
    is the row where a damaged file goes wrong (the header is row 1), when there is one, and
    `value` what was found there, when it can be shown."""

    def __init__(self, message: str, row: int | None = None, value: str | None = None):
        super().__init__(message)
        self.row = row
        self.value = value


def read_table(name: str, content: bytes, limits: Limits = LIMITS) -> pl.DataFrame:
    """All columns as strings; blank cells are null; header names stripped."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = _read_workbook(content, limits)
        elif suffix in (".csv", ".txt", ""):
            text = decoded(content)
            if not text.strip():
                raise Unreadable("the file is empty")
            check_rows(text, limits)
            frame = pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=False,
                                n_rows=limits.rows + 1)
            if frame.height > limits.rows:
                raise Unreadable(_too_many_rows(limits))
        else:
            raise Unreadable(f"{suffix} files are not supported: use CSV or Excel (.xlsx)")
    except Unreadable:
        raise
    except Exception as error:  # polars, zipfile and openpyxl raise many kinds for a malformed file
        raise Unreadable(f"the file could not be read as {suffix or 'CSV'}: {str(error).splitlines()[0][:200]}") from error
    frame = frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})
    return frame.with_columns(
        pl.col(c).str.strip_chars().replace("", None) for c in frame.columns
    )


def decoded(content: bytes) -> str:
    """A CSV's text: UTF-8, with or without a byte-order mark; else Unreadable, naming the row and
    the first byte that is not UTF-8."""
    try:
        return content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise _not_utf8(content, error.start) from error


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SAVE_AS_UTF8 = "the file must be saved as CSV UTF-8 (in Excel: Save As, 'CSV UTF-8 (Comma delimited)'"


def _not_utf8(content: bytes, start: int) -> Unreadable:
    if content.startswith(_UTF16_BOMS):
        return Unreadable(f"row 1: the file is UTF-16 text (Excel's 'Unicode Text'), not UTF-8: {SAVE_AS_UTF8}). "
                          "Nothing was imported", row=1)
    row = row_at(content[:start].decode("utf-8").removeprefix("\ufeff"))
    byte = f"0x{content[start]:02X}"
    return Unreadable(f"row {row}: bytes that are not UTF-8 ({byte} at byte {start + 1:,}): {SAVE_AS_UTF8}; plain "
                      "'CSV' is in the computer's own encoding, in which letters such as é and £ are other bytes). "
                      "Nothing was imported", row=row, value=byte)


def row_at(before: str) -> int:
    """The row (the header is row 1, as in check_rows) in which the text after `before` falls."""
    try:
        return sum(1 for _ in csv.reader(io.StringIO(before + "x", newline="")))
    except csv.Error:  # not reachable for text (the reader is not strict): count lines
        return before.count("\n") + 1


def check_rows(text: str, limits: Limits = LIMITS) -> None:
    """A CSV's structure, before any field is read: every row has the header's number of fields
    and every quote is closed. A row cut short (a file cut off mid-row, a field lost in editing)
    would otherwise be read with its last fields empty, and a damaged file imported as data.
    Rows are numbered as in a spreadsheet (the header is row 1); blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 1  # the row being read
    try:
        header = next(reader, [])
        for number, row in enumerate(reader, start=2):
            if row and len(row) != len(header):
                what = ("a row cut short, or the file cut off" if len(row) < len(header)
                        else "a row with extra fields, or two rows run together")
                raise Unreadable(f"row {number} has {len(row)} field{'s' if len(row) != 1 else ''} where the header "
                                 f"has {len(header)}: the file is damaged ({what}). Nothing was imported: export "
                                 "the file again and import it whole", row=number)
            if number > limits.rows + 1:
                raise Unreadable(_too_many_rows(limits))
    except csv.Error as error:
        raise Unreadable(f"row {number + 1}: the file is damaged ({error}: a quote that is never closed, or the "
                         "file cut off inside a quoted field). Nothing was imported: export the file again",
                         row=number + 1) from error


def _too_many_rows(limits: Limits) -> str:
    return (f"the file has more than {limits.rows:,} rows, the most one import takes: split it into "
            "smaller files and import them together")


def check_workbook_sizes(content: bytes, limits: Limits = LIMITS) -> None:
    """Refuse a workbook whose zip declares too much to unpack (raises Unreadable)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as error:
        raise Unreadable("the file could not be read as .xlsx: it is not an Excel workbook") from error
    with archive:
        members = archive.infolist()
        if len(members) > limits.members:
            raise Unreadable(f"the workbook holds {len(members):,} files, more than a workbook should")
        total = sum(member.file_size for member in members)
        if total > limits.unpacked_mb * 1_000_000:
            raise Unreadable(f"the workbook unpacks to {total / 1e6:,.0f} MB, more than the "
                             f"{limits.unpacked_mb} MB limit: save it as CSV, or split it")
        for member in members:
            if member.file_size > 1_000_000 and member.file_size > limits.ratio * max(member.compress_size, 1):
                raise Unreadable(f"the workbook part {member.filename[:60]} unpacks {member.file_size // max(member.compress_size, 1):,} "
                                 "times larger than it is stored, which no real worksheet does")
        for member in members:
            if _SHEET_PART.match(member.filename):
                _scan_sheet(archive, member, limits)


def _matches(pattern: re.Pattern, data: bytes) -> int:
    return sum(1 for _ in pattern.finditer(data))


def _scan_sheet(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> None:
    """Count a worksheet's rows and cells while unpacking it, a megabyte at a time; refuse as
    soon as either passes its limit, or a row is numbered past the row limit (the rows skipped
    before it would be read as blank ones)."""
    rows = cells = 0
    tail = b""
    with archive.open(member) as stream:
        while chunk := stream.read(1 << 20):
            data = tail + chunk
            found = _ROW_TAG.findall(data)
            rows += len(found) - _matches(_ROW_TAG, tail)
            cells += _matches(_CELL_TAG, data) - _matches(_CELL_TAG, tail)
            if rows > limits.rows + 1 or max(map(int, filter(None, found)), default=0) > limits.rows + 1:
                raise Unreadable(_too_many_rows(limits))
            if cells > limits.cells:
                raise Unreadable(f"the workbook has more than {limits.cells:,} cells: save it as CSV, or split it")
            tail = data[-64:]


def _read_workbook(content: bytes, limits: Limits) -> pl.DataFrame:
    from openpyxl import load_workbook

    check_workbook_sizes(content, limits)
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise Unreadable("the workbook has no worksheet")
        declared = _declared_rows(sheet)
        if declared is not None and declared > limits.rows + 1:
            raise Unreadable(_too_many_rows(limits))
        rows = sheet.iter_rows(values_only=True)
        header = [_cell_text(value) for value in next(rows, ())]
        data: list[list[str | None]] = []
        cells = len(header)
        width = _width(header)
        for values in rows:
            if len(data) >= limits.rows:
                raise Unreadable(_too_many_rows(limits))
            cells += len(values)
            if cells > limits.cells:
                raise Unreadable(f"the workbook has more than {limits.cells:,} cells: save it as CSV, or split it")
            row = [_cell_text(value) for value in values]
            used = _width(row)
            width = max(width, used)
            data.append(row[:used] if used else _EMPTY)  # trailing blanks are not kept
    finally:
        book.close()
    while data and not any(data[-1]):  # trailing blank rows a spreadsheet keeps
        data.pop()
    if not width:
        raise Unreadable("the file is empty")
    names = [(header[i] if i < len(header) and header[i] else f"(column {i + 1})") for i in range(width)]
    if len(set(names)) < len(names):
        raise Unreadable("two columns have the same name in the header")
    columns = {name: [row[i] if i < len(row) else None for row in data] for i, name in enumerate(names)}
    return pl.DataFrame(columns, schema={name: pl.String for name in names})


_EMPTY: list = []  # one shared object for every blank row


def _declared_rows(sheet) -> int | None:
    try:
        return sheet.max_row if sheet.max_row and sheet.max_row > 0 else None
    except Exception:  # no or a malformed <dimension>: the stream is counted instead
        return None


def _width(row: list) -> int:
    for i in range(len(row) - 1, -1, -1):
        if row[i] not in (None, ""):
            return i + 1
    return 0


def _cell_text(value) -> str | None:
    """A cell's value as the text a CSV would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds" if not value.microsecond else "auto")  # T: a date field takes the day
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def header_problems(frame: pl.DataFrame, header: list[str], required: list[str]) -> list[Problem]:
    present = set(frame.columns)
    problems = [Problem(col, None, "column is missing from the header", row=1) for col in required if col not in present]
    unknown = [c for c in frame.columns if c not in header]
    problems += [Problem(col, None, "is not a column of this kind (see the template)", row=1) for col in unknown]
    return problems


def force_from_filename(name: str) -> str | None:
    match = POLICE_UK_NAME.match(Path(name).name)
    return match.group("force").lower() if match else None


def month_from_filename(name: str) -> date | None:
    """The first day of the month a police.uk file is named for (2019-12-...: 1 December 2019)."""
    match = POLICE_UK_NAME.match(Path(name).name)
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)


def police_uk_problems(name: str, content: bytes, frame: pl.DataFrame) -> list[Problem]:
    """A police.uk stop-and-search CSV named for its month (YYYY-MM-<force>-stop-and-search.csv),
    as published: it ends with a line ending, and every search is dated in that month. Files
    without the month in their name are not checked so."""
    month = month_from_filename(name)
    if month is None:
        return []
    problems = [cut_off] if (cut_off := _cut_off(content, last_row=frame.height + 1)) else []
    return problems + _outside_month(month, frame)


def _cut_off(content: bytes, last_row: int) -> Problem | None:
    """police.uk ends every row, the last too, with a line ending (so do Excel and LibreOffice when
    they save a CSV): a file that stops inside its last row may have been cut off in a field whose
    cut value is still valid (a last field cut to blank)."""
    if content.endswith((b"\n", b"\r")) or not content.strip():
        return None
    return Problem("file", None, f"row {last_row}: the file ends inside its last row, with no line ending: police.uk "
                                 "ends every row with one, so the file may have been cut off. Nothing was imported: "
                                 "download it from police.uk again and import it whole", row=last_row)


def _outside_month(month: date, frame: pl.DataFrame) -> list[Problem]:
    """Searches dated (on their UK day, as every figure counts them) outside the file's month. A
    date that is not a date is left to the row's own rules."""
    if "Date" not in frame.columns:
        return []
    problems = []
    for index, value in enumerate(frame.get_column("Date")):
        moment = parse_datetime(value) if value is not None else None
        if moment is None:
            continue
        day = moment.astimezone(UK).date()
        if (day.year, day.month) != (month.year, month.month):
            problems.append(Problem(
                "Date", value, f"the file is for {month:%B %Y} but this search is dated {day.day} {day:%B %Y} (UK "
                f"time): a police.uk file holds its month's searches only. Nothing was imported: check the file is "
                "the one its name says", row=index + 2))
    return problems
