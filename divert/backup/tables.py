"""What a backup holds and how its rows are checked: the tables in restore order, the Parquet
type of each column, the canonical row checksum, and reading a table in primary-key order."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, TypeDecorator, inspect, select
from sqlmodel import SQLModel

import divert.storage.models  # noqa: F401  (registers the tables)

FORMAT = "divert-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK_ROWS = 20_000  # rows held in memory at a time (about 1-2 kB each while read)
CHECKSUM_METHOD = (
    "sha256 over the column list (name:type, joined by |, then a newline) and then one line per row in "
    "primary-key order (text keys in byte order): values joined by |, null as ~, text as "
    "<utf-8 length>:<text>, integers and floats in their shortest decimal form, booleans as t/f, dates as "
    "YYYY-MM-DD, datetimes in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ; every line ends with a newline"
)
ALEMBIC_VERSION = Table("alembic_version", MetaData(), Column("version_num", String(32), primary_key=True))
Progress = Callable[[str, float], None]


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why (nothing was written)."""


def backup_tables() -> list[Table]:
    """Every table, parents before children (the order of a restore), then alembic_version."""
    return [*SQLModel.metadata.sorted_tables, ALEMBIC_VERSION]


def column_dtype(column: Column) -> pl.DataType:
    """The Parquet (polars) type a column is kept as."""
    kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    try:
        python_type = kind.python_type
    except NotImplementedError:
        python_type = None
    simple = {bool: pl.Boolean(), int: pl.Int64(), float: pl.Float64(), str: pl.String(), date: pl.Date()}
    if python_type in simple:
        return simple[python_type]
    if python_type is datetime:
        return pl.Datetime("us", "UTC" if getattr(kind, "timezone", False) else None)
    raise BackupError(f"{column.table.name}.{column.name}: no backup format for the type {column.type}")


def table_schema(table: Table) -> dict[str, pl.DataType]:
    return {column.name: column_dtype(column) for column in table.columns}


# --- the canonical checksum ---------------------------------------------------------------------
def canonical_lines(frame: pl.DataFrame) -> pl.Series:
    """One canonical text line per row (CHECKSUM_METHOD): equal values give equal lines whichever
    database they were read from."""
    parts = []
    for name, dtype in frame.schema.items():
        value = pl.col(name)
        if dtype == pl.String:
            shown = value.str.len_bytes().cast(pl.String) + pl.lit(":") + value
        elif isinstance(dtype, pl.Datetime):
            utc = value.dt.convert_time_zone("UTC") if dtype.time_zone else value
            shown = utc.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f") + pl.lit("Z" if dtype.time_zone else "")
        elif dtype == pl.Date:
            shown = value.dt.strftime("%Y-%m-%d")
        elif dtype == pl.Boolean:
            shown = pl.when(value).then(pl.lit("t")).otherwise(pl.lit("f"))
        elif dtype.is_numeric():
            shown = value.cast(pl.String)
        else:
            raise BackupError(f"column {name}: no canonical form for {dtype}")
        parts.append(pl.when(value.is_null()).then(pl.lit("~")).otherwise(shown))
    if not parts:
        return pl.Series("line", [], pl.String)
    return frame.select(pl.concat_str(parts, separator="|").alias("line")).to_series()


class RowChecksum:
    """The running checksum of a table's rows, fed chunk by chunk in primary-key order."""

    def __init__(self, schema: dict[str, pl.DataType]):
        self.hasher = hashlib.sha256()
        self.rows = 0
        header = "|".join(f"{name}:{dtype}" for name, dtype in schema.items())
        self.hasher.update((header + "\n").encode())

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self.hasher.update((canonical_lines(frame).str.join("\n").item() + "\n").encode())
            self.rows += frame.height

    def hexdigest(self) -> str:
        return self.hasher.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- reading a table ----------------------------------------------------------------------------
def _order(table: Table, dialect: str) -> list:
    """Primary-key order; text keys in byte order on both databases (SQLite's default BINARY
    collation, PostgreSQL's "C")."""
    keys = []
    for column in table.primary_key.columns:
        is_text = column_dtype(column) == pl.String()
        keys.append(column.collate("C") if is_text and dialect == "postgresql" else column)
    return keys


def read_chunks(conn: Connection, table: Table, chunk_rows: int = CHUNK_ROWS, where=None) -> Iterator[pl.DataFrame]:
    """The table's rows (those matching `where`, if given) in primary-key order, `chunk_rows` at a
    time, typed as in the backup (through the models' column types, so datetimes come back aware,
    in UTC, on both databases)."""
    schema = table_schema(table)
    statement = select(*table.columns)
    if where is not None:
        statement = statement.where(where)
    statement = statement.order_by(*_order(table, conn.dialect.name)).execution_options(yield_per=chunk_rows)
    result = conn.execute(statement)
    for rows in result.partitions():
        yield pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row")


def table_checksums(engine: Engine) -> dict[str, dict]:
    """{table: {"rows", "sha256"}} of a database, as a manifest records them."""
    out = {}
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for table in backup_tables():
            if table.name in present:
                check = RowChecksum(table_schema(table))
                for chunk in read_chunks(conn, table):
                    check.add(chunk)
                out[table.name] = {"rows": check.rows, "sha256": check.hexdigest()}
    return out
