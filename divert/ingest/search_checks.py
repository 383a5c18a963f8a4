"""Checking a police.uk import (stop-search) all at once, with the rules of one row.

A police.uk row's fields are checked by the rules of divert.records.published.STOP_SEARCH_FIELDS,
the ones add_stop_search applies to a single row, here applied to whole columns at once
(divert.core.column_rules), so the problems are the ones the row writer would give, in the same
order. The rows already stored from the same files are read once (`stored`); a row whose file and
row number are stored is updated where a value differs and counted unchanged where none does,
as add_stop_search(upsert=True) would. What the file would change becomes a
records.import_writes.Plan, written in a few statements (divert.ingest.bulk_path).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import select
from sqlmodel import Session

from divert.core.column_rules import column_rule
from divert.core.field_rules import Checker
from divert.ingest.import_report import ImportReport, _repeated
from divert.records.core import differs
from divert.records.import_writes import Plan
from divert.records.published import STOP_SEARCH_FIELDS, stop_search_row
from divert.storage.models import StopSearch

KIND = "stop-search"
TABLE = "stop_search"
UNREAD = ("demo", "import_id")  # not compared on a re-import (as records.core.save)


def stored(s: Session, tables) -> dict[tuple[str, int], dict]:
    """The rows already stored from these files: (source_file, source_row) -> the stored row."""
    files = sorted({extra["source_file"] for _, _, extra in tables})
    columns = [c for c in StopSearch.__table__.c if c.name not in UNREAD]
    found = {}
    for start in range(0, len(files), 500):
        query = select(*columns).where(StopSearch.source_file.in_(files[start:start + 500]))
        for row in s.execute(query).mappings():
            found[(row["source_file"], row["source_row"])] = dict(row)
    return found


def plan_files(tables, existing: dict, report: ImportReport, nul_rows, progress=None) -> Plan:
    """Check every row of every file (name, frame, extra) and plan what they change; every
    problem goes into `report` with its row. `nul_rows(frame, extra)`: which rows hold a NUL
    character (checked one by one, as the row writer would)."""
    plan = Plan()
    seen: dict[tuple, tuple[str, int]] = {}
    total, done = report.rows or 1, 0
    for name, frame, extra in tables:
        columns = frame.with_columns(source_file=pl.lit(extra["source_file"], pl.String),
                                     source_row=pl.int_range(2, frame.height + 2, dtype=pl.Int64))
        checked = {field: column_rule(column, _column(columns, column), rule)
                   for field, (column, rule) in STOP_SEARCH_FIELDS.items()}
        nul = nul_rows(frame, extra)
        for index in range(frame.height):
            row_number = index + 2
            repeated = _repeated(KIND, seen, name, row_number,
                                 {"source_file": extra["source_file"], "source_row": row_number})
            if repeated is not None:
                report.add(name, repeated, row_number)
                continue
            if nul[index]:  # the row on its own, as add_stop_search checks it
                c = Checker({**frame.row(index, named=True), **extra, "source_row": row_number})
                found = {field: rule(c) for field, (_, rule) in STOP_SEARCH_FIELDS.items()}
                problems = c.problems
            else:
                found, problems = {}, []
                for field, results in checked.items():
                    found[field] = results.values[index]
                    said = results.problems.get(index)
                    if said:
                        problems.extend(said)
            if problems:
                for problem in problems:
                    report.add(name, problem, row_number)
                continue
            _plan_row(plan, report, stop_search_row(found, extra.get("force")), existing)
        done += frame.height
        if progress:
            progress(0.9 * done / total, f"Checked {done:,} of {total:,} rows")
    return plan


def _column(frame: pl.DataFrame, name: str) -> pl.Series:
    return frame.get_column(name) if name in frame.columns else pl.Series(name, [None] * frame.height, pl.String)


def _plan_row(plan: Plan, report: ImportReport, row: dict, existing: dict) -> None:
    old = existing.get((row["source_file"], row["source_row"]))
    if old is None:
        plan.new[TABLE].append({**row, "demo": False})
        report.new += 1
        return
    changed = {name: value for name, value in row.items() if value is not None and differs(old[name], value)}
    if not changed:
        plan.unchanged[TABLE] += 1
        report.unchanged += 1
        return
    plan.updates[TABLE].append((old["id"], None, {name: old[name] for name in changed}, changed))
    report.updated += 1
