"""CSV and Excel the app writes, and every table it shows: cells that a spreadsheet would run as
a formula are neutralised (a leading apostrophe), while the database keeps the value as typed.

The rule is one for every text a table carries: a value that starts with = + - @, a tab or a
carriage return gets a leading apostrophe. It applies to text columns, to categorical and enum
columns (their values are made text), and to the column names (a scenario's name can head a
column)."""

from __future__ import annotations

import io

import polars as pl

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PATTERN = r"^[=+\-@\t\r]"


def neutralise(value):
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def _safe(column: pl.Expr) -> pl.Expr:
    return pl.when(column.str.contains(_PATTERN)).then(pl.lit("'") + column).otherwise(column)


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text cell and column name a spreadsheet would run made plain text."""
    columns = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            columns.append(_safe(pl.col(name)).alias(name))
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            text = frame.get_column(name).cast(pl.String)
            if text.str.contains(_PATTERN).any():  # the apostrophe is no category: the column becomes text
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
