"""CSV and Excel the app writes, and every table it shows: cells that a spreadsheet would run as
a formula are neutralised (a leading apostrophe), while the database keeps the value as typed.

The rule is one for every text a table carries: a value that starts with = + - @, a tab or a
carriage return gets a leading apostrophe, unless it is a number and nothing else (`-2`, `+31%`,
`-1,234.5`: a spreadsheet reads it as that number, and a figure keeps its sign on screen) or a
lone `-` (a table's "none"). It
applies to text columns, to categorical and enum columns (their values are made text), and to
the column names (a scenario's name can head a column)."""

from __future__ import annotations

import io
import re

import polars as pl

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PATTERN = r"^[=+\-@\t\r]"
# a signed figure, or a lone dash for "none": nothing a formula could call
_NUMBER = r"^(?:[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?|[+-])$"
_IS_NUMBER = re.compile(_NUMBER)


def neutralise(value):
    if isinstance(value, str) and value.startswith(_TRIGGERS) and not _IS_NUMBER.match(value):
        return "'" + value
    return value


def _safe(column: pl.Expr) -> pl.Expr:
    runs = column.str.contains(_PATTERN) & ~column.str.contains(_NUMBER)
    return pl.when(runs).then(pl.lit("'") + column).otherwise(column)


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text cell and column name a spreadsheet would run made plain text."""
    columns = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            columns.append(_safe(pl.col(name)).alias(name))
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            text = frame.get_column(name).cast(pl.String)
            if (text.str.contains(_PATTERN) & ~text.str.contains(_NUMBER)).any():  # the apostrophe is no category: the column becomes text
                columns.append(_safe(pl.col(name).cast(pl.String)).alias(name))
    safe = frame.with_columns(columns) if columns else frame
    renamed = {name: neutralise(name) for name in safe.columns if neutralise(name) != name}
    return safe.rename(renamed) if renamed else safe


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    return neutralised(frame).write_csv().encode("utf-8")


def to_xlsx_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    neutralised(frame).write_excel(buffer)
    return buffer.getvalue()
