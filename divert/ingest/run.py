"""Run an import: every row of every file through the records rules in ONE transaction.

If any row fails, nothing is written and the report lists every problem (file, row, column,
value, reason). A dry run does the same work and rolls back. Rows whose natural key exists are
updated when they differ and counted unchanged when not, so re-importing adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from divert.db import bump_data_version, get_engine
from divert.ingest.archive import expand_archives
from divert.ingest.kinds import KINDS
from divert.ingest.reading import Unreadable, force_from_filename, header_problems, read_table
from divert.records import audit
from divert.validation import Problem
from divert.wording import plural

log = logging.getLogger(__name__)
FLUSH_EVERY = 500
MAX_PROBLEMS = 10_000


@dataclass
class FileProblem:
    file: str
    row: int | None
    column: str
    value: object
    reason: str


@dataclass
class ImportReport:
    kind: str
    files: list[str]
    dry_run: bool
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    more_problems: int = 0  # beyond MAX_PROBLEMS, counted but not listed
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, file: str, problem: Problem, row: int | None = None) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.more_problems += 1
            return
        value = problem.value if problem.value is None or isinstance(problem.value, int | float | str) else str(problem.value)
        self.problems.append(FileProblem(file, row if row is not None else problem.row, problem.field, value, problem.reason))

    def summary(self) -> str:
        counts = f"{plural(self.rows, 'row')}: {self.new:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged"
        if self.problems:
            total = len(self.problems) + self.more_problems
            return f"Rejected - nothing was written. {plural(total, 'problem')} in {plural(self.rows, 'row')}."
        if self.dry_run:
            return f"Dry run - nothing was written. Would import {counts}."
        if not (self.new or self.updated):
            return f"Nothing to change - {counts}."
        return f"Imported {counts}."

    def problems_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "file": [p.file for p in self.problems],
                "row": [p.row for p in self.problems],
                "column": [p.column for p in self.problems],
                "value": [None if p.value is None else str(p.value) for p in self.problems],
                "reason": [p.reason for p in self.problems],
            },
            schema={"file": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String},
        )


def import_files(
    kind: str,
    sources: list[tuple[str, bytes]],
    user: str,
    *,
    engine=None,
    dry_run: bool = False,
    force: str | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> ImportReport:
    """Import (name, content) files of one kind. `force` overrides the force for stop-search
    files whose name does not carry it."""
    spec = KINDS[kind]
    sources, archive_problems = expand_archives(kind, sources, force)
    report = ImportReport(kind, [name for name, _ in sources], dry_run)
    for name, problem in archive_problems:
        report.add(name, problem)
    tables = []
    for name, content in sources:
        try:
            frame = read_table(name, content)
        except Unreadable as error:
            report.add(name, Problem("file", None, str(error)))
            continue
        for problem in header_problems(frame, spec.header, spec.required):
            report.add(name, problem)
        extra = {}
        if kind == "stop-search":
            file_force = force or force_from_filename(name)
            if file_force is None:
                report.add(name, Problem("file", name, "the force is not in the file name (YYYY-MM-<force>-stop-and-search.csv): give it with --force"))
            extra = {"force": file_force, "source_file": Path(name).name}
        elif force:
            extra = {"force": force}
        tables.append((name, frame, extra))
    report.rows = sum(frame.height for _, frame, _ in tables)
    if report.problems:
        return report

    engine = engine or get_engine()
    done = 0
    with Session(engine.execution_options(write_lock=True), expire_on_commit=False) as s:
        try:
            for name, frame, extra in tables:
                for index, values in enumerate(frame.iter_rows(named=True)):
                    row_number = index + 2  # the header is row 1, as in a spreadsheet
                    if kind == "stop-search":
                        values["source_row"] = row_number
                    values.update(extra)
                    try:
                        saved = spec.writer(values, user, session=s, upsert=True)
                    except DBAPIError:
                        raise  # the database itself failed: stop, roll back, say so
                    except Exception as error:  # never a crash: report the row and go on
                        log.exception("import %s row %s", name, row_number)
                        report.add(name, Problem("record", None, f"could not be saved ({type(error).__name__})"), row_number)
                        continue
                    if saved.ok:
                        setattr(report, saved.change, getattr(report, saved.change) + 1)
                    else:
                        for problem in saved.problems:
                            report.add(name, problem, row_number)
                    done += 1
                    if done % FLUSH_EVERY == 0:
                        s.flush()
                        s.expunge_all()  # keep memory flat on large files
                        if progress:
                            progress(done / max(report.rows, 1), f"Checked {done:,} of {report.rows:,} rows")
            if report.problems or dry_run or not (report.new or report.updated):
                s.rollback()
                return report
            audit(s, user, "import", kind, None, None,
                  {"files": report.files, "new": report.new, "updated": report.updated, "unchanged": report.unchanged})
            bump_data_version(s)
            s.commit()
            report.written = True
        except BaseException:
            s.rollback()
            raise
    if progress:
        progress(1.0, "Done")
    return report


def template_csv(kind: str) -> str:
    return ",".join(_quote(c) for c in KINDS[kind].header) + "\n"


def data_dictionary(kind: str) -> pl.DataFrame:
    columns = KINDS[kind].columns
    return pl.DataFrame(
        {
            "column": [c.name for c in columns],
            "required": ["yes" if c.required else "no" for c in columns],
            "meaning": [c.meaning for c in columns],
            "type": [c.type for c in columns],
            "allowed values": [c.allowed for c in columns],
            "example": [c.example for c in columns],
        }
    )


def _quote(name: str) -> str:
    return f'"{name}"' if "," in name or '"' in name else name
