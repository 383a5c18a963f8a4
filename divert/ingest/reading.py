"""Reading uploaded files: CSV (UTF-8 with or without BOM, CRLF or LF) and Excel (.xlsx),
every cell as text so that validation, not the reader, decides what a value means."""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

from divert.validation import Problem

POLICE_UK_NAME = re.compile(r"^(\d{4})-(\d{2})-(?P<force>[a-z0-9-]+?)-stop-and-search\.csv$", re.I)


class Unreadable(Exception):
    """The file cannot be read at all (not CSV/XLSX, not UTF-8, empty)."""


def read_table(name: str, content: bytes) -> pl.DataFrame:
    """All columns as strings; blank cells are null; header names stripped."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = pl.read_excel(io.BytesIO(content), engine="openpyxl", infer_schema_length=0)
            frame = frame.select(pl.all().cast(pl.String))
        elif suffix in (".csv", ".txt", ""):
            text = content.decode("utf-8-sig")
            if not text.strip():
                raise Unreadable("the file is empty")
            frame = pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=False)
        else:
            raise Unreadable(f"{suffix} files are not supported: use CSV or Excel (.xlsx)")
    except UnicodeDecodeError as error:
        raise Unreadable("the file is not UTF-8 text: save it as CSV UTF-8 and try again") from error
    except Unreadable:
        raise
    except Exception as error:  # polars and openpyxl raise many kinds for a malformed file
        raise Unreadable(f"the file could not be read as {suffix or 'CSV'}: {str(error).splitlines()[0][:200]}") from error
    frame = frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})
    return frame.with_columns(
        pl.col(c).str.strip_chars().replace("", None) for c in frame.columns
    )


def header_problems(frame: pl.DataFrame, header: list[str], required: list[str]) -> list[Problem]:
    present = set(frame.columns)
    problems = [Problem(col, None, "column is missing from the header", row=1) for col in required if col not in present]
    unknown = [c for c in frame.columns if c not in header]
    problems += [Problem(col, None, "is not a column of this kind (see the template)", row=1) for col in unknown]
    return problems


def force_from_filename(name: str) -> str | None:
    match = POLICE_UK_NAME.match(Path(name).name)
    return match.group("force").lower() if match else None
