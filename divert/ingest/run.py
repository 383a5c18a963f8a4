"""Run an import: every row of every file through the records rules, written all or nothing.

If any row fails, nothing is written and the report lists every problem (file, row, column,
value, reason). A dry run does the same work and writes nothing. Rows whose natural key exists
are updated when they differ and counted unchanged when not, so re-importing adds nothing; the
same key twice within one import is a problem. On SQLite the rows are checked on a private copy
and written in one short transaction (divert.ingest.replay), so sign-in and saves are not held
up; on PostgreSQL they run in one transaction, which blocks nobody. The acting user is checked
again in the writing transaction. The report never shows a person identifier, and shortens long
values.

Referrals, offences and police.uk stop-search files take the bulk path: the database is read once,
every row is checked in memory with the writers' own rules, each field's rule on whole columns at
once (divert.core.column_rules; divert.ingest.row_checks, divert.ingest.search_checks; new referrals
whose fields all pass, their cross-field rules once per distinct input: divert.ingest.plain_checks), and the
changes are written in a few statements, COPY on PostgreSQL (divert.records.import_writes), audited
as one 'import' event whose row_id, the import id, is set on every row written or updated
(divert.ingest.bulk_path). The other kinds go row by row
through their writers. The report and the one-record-once rule are in divert.ingest.import_report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from divert.core.field_rules import Problem
from divert.ingest import replay
from divert.ingest.archive import expand_archives, is_archive
from divert.ingest.bulk_path import KINDS as BULK_KINDS
from divert.ingest.bulk_path import SNAPSHOT_TRIES, _bulk_import
from divert.ingest.import_report import ImportReport, _repeated
from divert.ingest.kinds import KINDS
from divert.ingest.reading import (
    Unreadable,
    force_from_filename,
    header_problems,
    police_uk_problems,
    read_table,
)
from divert.records import acting, pseudonym
from divert.records.core import audit
from divert.records.import_writes import new_import_id
from divert.reference import forces
from divert.storage.db import (
    BUSY_MESSAGE,
    analyze,
    bump_data_version,
    get_engine,
    is_busy,
    sqlite_path,
    sqlite_snapshot,
)

log = logging.getLogger(__name__)
FLUSH_EVERY = 500
PERSON_KINDS = ("offences", "referrals")
ANALYZE_FROM_ROWS = 10_000
# the tables an import of a kind writes: their statistics are refreshed after it (others: every table's)
ANALYZED = {"referrals": ("person", "offence", "referral"), "offences": ("person", "offence"),
            "stop-search": ("stop_search",)}


def import_files(
    kind: str,
    sources: list[tuple[str, bytes]],
    user: str,
    *,
    engine=None,
    dry_run: bool = False,
    force: str | None = None,
    force_override: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> ImportReport:
    """Import (name, content) files of one kind. `force` (a police.uk slug, one of the 43) is the
    force of stop-search files whose name does not carry it, or the one force to take from a
    police.uk archive; it is refused for a file named for another force unless `force_override`."""
    spec = KINDS[kind]
    refused = _unknown_force(kind, sources, force)
    if refused is not None:
        report = ImportReport(kind, [name for name, _ in sources], dry_run)
        report.add(", ".join(name for name, _ in sources)[:200] or "--force", refused)
        return report
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
            named = force_from_filename(name)
            file_force = force or named
            if file_force is None:
                report.add(name, Problem("file", name, "the force is not in the file name (YYYY-MM-<force>-stop-and-search.csv): give it with --force"))
            elif named is not None and named != file_force and not force_override:
                report.add(name, Problem("force", force, f"contradicts the file's name, which says {named}: import "
                                                          f"it as {named} (no --force), or give --force-override to "
                                                          f"record its rows as {force}"))
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
        if kind in BULK_KINDS:
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


def _unknown_force(kind: str, sources: list[tuple[str, bytes]], force: str | None) -> Problem | None:
    """Why `force` cannot be stored as a force: it must be a police.uk slug of one of the 43
    forces exactly (`durham`, not `Durham `). Choosing from police.uk archives alone, it only
    picks their members by name, so a force beyond the 43 in them (btp) may be named too."""
    if force is None or force in forces.BY_SLUG:
        return None
    if kind == "stop-search" and sources and all(is_archive(name) for name, _ in sources):
        return None  # the archive says which forces it holds (divert.ingest.archive)
    try:
        hint = f"give its police.uk identifier, {forces.force(force).slug}"
    except forces.UnknownForce as unknown:
        near = unknown.suggestions
        hint = ("did you mean " + " or ".join(f.slug for f in near)) if near else \
            "give one of the 43 police.uk identifiers (e.g. durham, west-midlands)"
    return Problem("force", force, f"is not a police.uk force identifier: {hint}")


def _done(report: ImportReport, progress, engine=None) -> ImportReport:
    if engine is not None and report.written and report.new + report.updated >= ANALYZE_FROM_ROWS:
        # PostgreSQL's planner statistics, stale after a large import (divert.storage.db.analyze)
        analyze(engine, ANALYZED.get(report.kind, ()))
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
    if s.get_bind().dialect.name == "sqlite":
        bump_data_version(s)  # replayed with the rows (PostgreSQL bumps just before its commit)


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


def template_frame(kind: str) -> pl.DataFrame:
    """The template as an empty frame with the kind's columns (its CSV is `template_csv`)."""
    return pl.DataFrame(schema=dict.fromkeys(KINDS[kind].header, pl.String))


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
