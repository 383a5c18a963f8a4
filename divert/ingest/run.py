"""Run an import: every row of every file through the records rules, written all or nothing.

If any row fails, nothing is written and the report lists every problem (file, row, column,
value, reason). A dry run does the same work and writes nothing. Rows whose natural key exists
are updated when they differ and counted unchanged when not, so re-importing adds nothing; the
same key twice within one import is a problem. On SQLite the rows are checked on a private copy
and written in one short transaction (divert.ingest.replay), so sign-in and saves are not held
up; on PostgreSQL they run in one transaction, which blocks nobody. The acting user is checked
again in the writing transaction. The report never shows a person identifier, and shortens long
values.

Referrals and offences take the bulk path: the database is read once, every row is checked in
memory with the writers' own rules (divert.ingest.bulk), and the changes are written in a few
statements (divert.records.bulk) - audited as one 'import' event whose row_id, the import id,
is set on every row written or updated. The other kinds go row by row through their writers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session

from divert.core.environment import current_force
from divert.core.field_rules import Problem
from divert.core.wording import plural
from divert.ingest import bulk, replay
from divert.ingest.archive import expand_archives
from divert.ingest.kinds import KINDS
from divert.ingest.reading import (
    Unreadable,
    force_from_filename,
    header_problems,
    police_uk_problems,
    read_table,
)
from divert.records import acting, pseudonym
from divert.records.bulk import new_import_id, write_plan
from divert.records.core import Rejected, audit
from divert.storage.db import (
    BUSY_MESSAGE,
    analyze,
    bump_data_version,
    get_engine,
    is_busy,
    sqlite_path,
    sqlite_snapshot,
)
from divert.storage.models import StopSearch

log = logging.getLogger(__name__)
FLUSH_EVERY = 500
MAX_PROBLEMS = 10_000
MAX_VALUE_CHARS = 200
IDENTIFIER_COLUMNS = ("person_ref",)  # hashed before storage: never shown back
HIDDEN = "(not shown)"
# the columns that name one record: the same key twice in one import is a problem
KEY_COLUMNS = {
    "offences": ("force", "crime_ref"),
    "referrals": ("reference",),
    "assessments": ("referral_reference",),
    "sessions": ("session_ref",),
    "bookings": ("referral_reference", "session_ref"),
    "closures": ("referral_reference",),
    "stop-search": ("source_file", "source_row"),
    "population": ("census_year", "geography_code", "ethnicity", "sex", "age_band"),
}
KEY_DEFAULTS = {"sex": "all", "age_band": "all"}
PERSON_KINDS = ("offences", "referrals")
IMPORT_ID_MODELS = {"stop-search": StopSearch}  # row-by-row kinds whose rows carry the import id
SNAPSHOT_TRIES = 3
ANALYZE_FROM_ROWS = 10_000


def shown_value(column: str, value):
    """A problem's value as a report may show it: never an identifier, never very long."""
    if value is None:
        return None
    if column in IDENTIFIER_COLUMNS:
        return HIDDEN
    if not isinstance(value, int | float | str):
        value = str(value)
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return f"{value[:MAX_VALUE_CHARS]}... ({len(value):,} characters)"
    return value


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
    row_ids: list = field(default_factory=list, repr=False)  # rows written or updated (row-by-row path)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, file: str, problem: Problem, row: int | None = None) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.more_problems += 1
            return
        value = shown_value(problem.field, problem.value)
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
    names = [name for name, _ in sources]
    report = ImportReport(kind, names, dry_run)
    for name, problem in archive_problems:
        report.add(name, problem)
    tables = []
    for name, content in sources:
        try:
            frame = read_table(name, content)
        except Unreadable as error:
            report.add(name, Problem("file", error.value, str(error), row=error.row))
            continue
        for problem in header_problems(frame, spec.header, spec.required):
            report.add(name, problem)
        extra = {}
        if kind == "stop-search":
            file_force = force or force_from_filename(name)
            if file_force is None:
                report.add(name, Problem("file", name, "the force is not in the file name (YYYY-MM-<force>-stop-and-search.csv): give it with --force"))
            extra = {"force": file_force, "source_file": Path(name).name}
            for problem in police_uk_problems(name, content, frame):
                report.add(name, problem)
        elif force:
            extra = {"force": force}
        tables.append((name, frame, extra))
    report.rows = sum(frame.height for _, frame, _ in tables)
    if report.problems:
        return report

    engine = engine or get_engine()
    first = ", ".join(names)[:200]
    try:
        refusal = _refusal(engine, user, kind)
        if refusal:
            for problem in refusal:
                report.add(first, problem)
            return report
        if kind in bulk.KINDS:
            return _done(_bulk_import(engine, tables, report, user, progress), progress, engine)
        if sqlite_path(str(engine.url)) is not None:
            for _ in range(SNAPSHOT_TRIES):
                attempt = ImportReport(kind, names, dry_run, rows=report.rows)
                if _through_a_copy(engine, tables, attempt, user, progress):
                    return _done(attempt, progress, engine)
        attempt = ImportReport(kind, names, dry_run, rows=report.rows)
        _in_one_transaction(engine, tables, attempt, user, progress)
        return _done(attempt, progress, engine)
    except OperationalError as error:
        if not is_busy(error):
            raise
        report.add(first, Problem("database", None, BUSY_MESSAGE))
        return report


def _done(report: ImportReport, progress, engine=None) -> ImportReport:
    if engine is not None and report.written and report.new + report.updated >= ANALYZE_FROM_ROWS:
        analyze(engine)  # PostgreSQL's planner statistics, stale after a large import (divert.storage.db.analyze)
    if progress:
        progress(1.0, "Done")
    return report


def _refusal(engine, user: str, kind: str) -> list[Problem]:
    """Problems that stop the whole import before any row: the acting user may not import, or
    (for kinds that hash identifiers) the person key is missing or not the database's."""
    with Session(engine) as s:
        s.info[acting.AUDITED] = [(user, "import", kind, None)]
        problems = acting.problems(s)
        if not problems and kind in PERSON_KINDS:
            reason = pseudonym.problem(s)
            if reason:
                problems = [Problem("person key", None, reason)]
        s.rollback()
    return problems


def _through_a_copy(engine, tables, report: ImportReport, user: str, progress) -> bool:
    """SQLite: check and write the rows on a private copy, then replay the changes on the real
    database in one short transaction. False when the database changed meanwhile (try again)."""
    recording = replay.Recording()
    with sqlite_snapshot(engine) as copy:
        recording.listen(copy)
        with Session(copy.execution_options(write_lock=True), expire_on_commit=False) as s:
            recording.note_start(s)
            _run_rows(s, tables, report, user, progress)
            if report.problems or report.dry_run or not (report.new or report.updated):
                s.rollback()
                return True
            _finish(s, report, user)
            problems = acting.problems(s)
            if problems:
                s.rollback()
                for problem in problems:
                    report.add(", ".join(report.files)[:200], problem)
                return True
            s.flush()
            recording.note_end(s)
            s.rollback()
    if progress:
        progress(0.99, "Saving")
    try:
        replay.replay(engine, recording, user, report.kind)
    except replay.Conflict:
        return False
    except replay.Refused as refused:
        for problem in refused.problems:
            report.add(", ".join(report.files)[:200], problem)
        return True
    report.written = True
    return True


def _in_one_transaction(engine, tables, report: ImportReport, user: str, progress) -> None:
    with Session(engine.execution_options(write_lock=True), expire_on_commit=False) as s:
        try:
            _run_rows(s, tables, report, user, progress)
            if report.problems or report.dry_run or not (report.new or report.updated):
                s.rollback()
                return
            _finish(s, report, user)
            problems = acting.problems(s)  # (on PostgreSQL this also locks the acting account's row)
            if problems:
                s.rollback()
                for problem in problems:
                    report.add(", ".join(report.files)[:200], problem)
                return
            bump_data_version(s)
            s.commit()
            report.written = True
        except BaseException:
            s.rollback()
            raise


def _finish(s: Session, report: ImportReport, user: str) -> None:
    import_id = new_import_id()
    audit(s, user, "import", report.kind, import_id, None,
          {"files": report.files, "new": report.new, "updated": report.updated, "unchanged": report.unchanged,
           "import_id": import_id})
    model = IMPORT_ID_MODELS.get(report.kind)
    for start in range(0, len(report.row_ids) if model is not None else 0, bulk.CHUNK):
        chunk = report.row_ids[start:start + bulk.CHUNK]
        s.execute(update(model).where(model.id.in_(chunk)).values(import_id=import_id))
    if s.get_bind().dialect.name == "sqlite":
        bump_data_version(s)  # replayed with the rows (PostgreSQL bumps just before its commit)


# --- the bulk path (referrals, offences) ------------------------------------------------------
# an audited write to one of these since the rows were checked means checking them again
BULK_READS = frozenset({"person", "offence", "referral", "closure", "setting", "*", "referrals", "offences"})


def _bulk_import(engine, tables, first: ImportReport, user: str, progress) -> ImportReport:
    """Check every row against one read of the database (divert.ingest.bulk), then write the
    plan in one short transaction (divert.records.bulk). On SQLite the rows are checked outside
    the write lock and the write is refused if an audited write touched what they read
    meanwhile (then they are checked again; the last try checks them under the lock); on
    PostgreSQL checking and writing are one transaction."""
    sqlite = engine.dialect.name == "sqlite"
    tries = SNAPSHOT_TRIES + 1 if sqlite else 1
    for attempt in range(tries):
        report = ImportReport(first.kind, first.files, first.dry_run, rows=first.rows)
        locked = attempt == tries - 1
        if _bulk_attempt(engine, tables, report, user, progress, locked=locked):
            return report
    raise AssertionError("unreachable: the last try holds the lock")


def _bulk_attempt(engine, tables, report: ImportReport, user: str, progress, *, locked: bool) -> bool:
    """One try; False when the database changed under the check (try again)."""
    from divert.core.environment import secret
    from divert.records.pseudonym import PersonKeyProblem, checked_key
    from divert.storage.models import AuditEvent

    bind = engine.execution_options(write_lock=True) if locked else engine
    with Session(bind, expire_on_commit=False) as s:
        try:
            last_audit = s.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).scalar() or 0
            rows = _bulk_rows(tables, report)
            key = secret("person_key")
            ctx = bulk.read_context(s, report.kind, [row[2] for row in rows if row[3] is None and not _has_nul(row[2])], key)
            if not locked:
                s.rollback()  # the read ends here: nothing is held while the rows are checked
            plan = _check_bulk(rows, ctx, report, progress)
            if report.problems or report.dry_run or not plan.changes:
                s.rollback()
                return True
            if not locked:
                s.close()
                s.bind = engine.execution_options(write_lock=True)
                changed = set(s.execute(select(AuditEvent.table_name).where(AuditEvent.id > last_audit)
                                        .distinct()).scalars())
                if changed & BULK_READS:
                    s.rollback()
                    return False
            try:
                same_key = checked_key(s) == key
            except PersonKeyProblem as problem:
                s.rollback()
                report.add(_files(report), Problem("person key", None, str(problem)))
                return True
            if not same_key:  # the key changed while the rows were checked
                s.rollback()
                if locked:
                    report.add(_files(report), Problem("person key", None, pseudonym.DIFFERENT))
                    return True
                return False
            if progress:
                progress(0.95, "Saving")
            try:
                write_plan(s, user, plan, report.kind,
                           {"files": report.files, "new": report.new, "updated": report.updated,
                            "unchanged": report.unchanged})
            except Rejected as rejected:
                s.rollback()
                for problem in rejected.problems:
                    report.add(_files(report), problem)
                return True
            except IntegrityError as error:
                s.rollback()
                log.warning("import conflicted with a concurrent write: %s", error.orig)
                report.add(_files(report), Problem("record", None, "conflicts with a record saved at the same time: import again"))
                return True
            problems = acting.problems(s)
            if problems:
                s.rollback()
                for problem in problems:
                    report.add(_files(report), problem)
                return True
            bump_data_version(s)
            s.commit()
            report.written = True
            return True
        except BaseException:
            s.rollback()
            raise


def _has_nul(values: dict) -> bool:
    """A row with a NUL character is refused by validation (divert.core.field_rules), and never looked
    up: PostgreSQL cannot even compare such a text."""
    return any(isinstance(v, str) and "\x00" in v for v in values.values())


def _files(report: ImportReport) -> str:
    return ", ".join(report.files)[:200]


def _bulk_rows(tables, report: ImportReport) -> list[tuple[str, int, dict, Problem | None]]:
    """Every row as (file, row number, values, problem): the problem of a key seen before in
    this import (that row is reported in its place, not checked)."""
    seen: dict[tuple, tuple[str, int]] = {}
    rows = []
    for name, frame, extra in tables:
        for index, values in enumerate(frame.iter_rows(named=True)):
            row_number = index + 2
            if extra:
                values.update(extra)
            rows.append((name, row_number, values, _repeated(report.kind, seen, name, row_number, values)))
    return rows


def _check_bulk(rows, ctx, report: ImportReport, progress):
    plan = bulk.Plan()
    total = len(rows)
    for done, (name, row_number, values, repeated) in enumerate(rows, 1):
        if repeated is not None:
            report.add(name, repeated, row_number)
            continue
        try:
            change, problems = bulk.check_row(report.kind, values, ctx, plan)
        except Exception as error:  # never a crash: report the row and go on
            log.exception("import %s row %s", name, row_number)
            change, problems = None, [Problem("record", None, f"could not be saved ({type(error).__name__})")]
        if change:
            setattr(report, change, getattr(report, change) + 1)
        for problem in problems:
            report.add(name, problem, row_number)
        if progress and (done % 10_000 == 0 or done == total):
            progress(0.9 * done / max(total, 1), f"Checked {done:,} of {total:,} rows")
    return plan


def _repeated(kind: str, seen: dict, name: str, row_number: int, values: dict) -> Problem | None:
    """The problem of a row whose key was already seen in this import (None: first time)."""
    key = _key(kind, values)
    if key is None:
        return None
    if key in seen:
        first_file, first_row = seen[key]
        where = f"row {first_row}" + (f" of {first_file}" if first_file != name else "")
        column = next(c for c in KEY_COLUMNS[kind] if c != "force")
        return Problem(column, values.get(column), f"repeats the record of {where}: each record may appear once in an import")
    seen[key] = (name, row_number)
    return None


def _key(kind: str, values: dict) -> tuple | None:
    parts = []
    for column in KEY_COLUMNS.get(kind, ()):
        value = values.get(column)
        if value is None:
            value = current_force() if column == "force" else KEY_DEFAULTS.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None  # the record's own rules report the missing value
        parts.append(value.strip() if isinstance(value, str) else value)
    return tuple(parts) or None


def _run_rows(s: Session, tables, report: ImportReport, user: str, progress) -> None:
    spec = KINDS[report.kind]
    seen: dict[tuple, tuple[str, int]] = {}
    done = 0
    for name, frame, extra in tables:
        for index, values in enumerate(frame.iter_rows(named=True)):
            row_number = index + 2  # the header is row 1, as in a spreadsheet
            if report.kind == "stop-search":
                values["source_row"] = row_number
            values.update(extra)
            done += 1
            repeated = _repeated(report.kind, seen, name, row_number, values)
            if repeated is not None:
                report.add(name, repeated, row_number)
                continue
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
                if saved.change != "unchanged" and saved.row_id is not None:
                    report.row_ids.append(saved.row_id)
            else:
                for problem in saved.problems:
                    report.add(name, problem, row_number)
            if done % FLUSH_EVERY == 0:
                s.flush()
                s.expunge_all()  # keep memory flat on large files
                if progress:
                    progress(done / max(report.rows, 1), f"Checked {done:,} of {report.rows:,} rows")


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
