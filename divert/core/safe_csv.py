"""CSV and Excel the app writes: cells that a spreadsheet would run as a formula are
neutralised (a leading apostrophe), while the database keeps the value as typed."""

from __future__ import annotations

import io

import polars as pl

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text_columns
    )


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    return neutralised(frame).write_csv().encode("utf-8")


def to_xlsx_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    neutralised(frame).write_excel(buffer)
    return buffer.getvalue()
