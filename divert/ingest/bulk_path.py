"""The bulk path of an import (referrals, offences): the database is read once, every row is
checked in memory with the writers' own rules (divert.ingest.row_checks), and the changes are written
in a few statements (divert.records.import_writes) - audited as one 'import' event whose row_id, the
import id, is set on every row written or updated. divert.ingest.run decides which path a kind
takes.
"""

from __future__ import annotations

import logging

import polars as pl
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from divert.core.field_rules import Problem
from divert.ingest import plain_checks, row_checks, search_checks
from divert.ingest.import_report import ImportReport, repeats
from divert.records import acting, programme_profile, pseudonym
from divert.records.core import Rejected
from divert.records.import_writes import write_plan
from divert.storage.db import bump_data_version

log = logging.getLogger(__name__)
SNAPSHOT_TRIES = 3  # SQLite: tries outside the write lock (or on a copy: divert.ingest.run) first
# an audited write to one of these since the rows were checked means checking them again
BULK_READS = frozenset({"person", "offence", "referral", "closure", "setting", "*", "referrals", "offences",
                        "stop_search", "stop-search"})
KINDS = (*row_checks.KINDS, search_checks.KIND)  # the kinds that take the bulk path


def _bulk_import(engine, tables, first: ImportReport, user: str, progress) -> ImportReport:
    """Check every row against one read of the database (divert.ingest.row_checks), then write the
    plan in one short transaction (divert.records.import_writes). On SQLite the rows are checked outside
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
            people = report.kind in row_checks.KINDS  # referrals, offences; else police.uk rows
            key = secret("person_key") if people else None
            if people:
                files = _bulk_files(tables, report, programme_profile.in_session(s).force)
                ctx = row_checks.read_context(s, report.kind, files, key)
            else:
                existing = search_checks.stored(s, tables)
            if not locked:
                s.rollback()  # the read ends here: nothing is held while the rows are checked
            plan = _check_bulk(files, ctx, report, progress) if people else \
                search_checks.plan_files(tables, existing, report, lambda frame, extra: _nul_rows(frame, _has_nul(extra)),
                                         progress)
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
                same_key = key is None or checked_key(s) == key
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


def _nul_rows(frame: pl.DataFrame, everywhere: bool) -> list[bool]:
    """_has_nul for every row of a file at once (`everywhere`: the values added to each row have one)."""
    if everywhere or not frame.width:
        return [everywhere] * frame.height
    text = [pl.col(name).cast(pl.String).str.contains("\x00", literal=True).fill_null(False) for name in frame.columns]
    return frame.select(pl.any_horizontal(text)).to_series().to_list()


def _files(report: ImportReport) -> str:
    return ", ".join(report.files)[:200]


def _bulk_files(tables, report: ImportReport, force: str) -> list[row_checks.File]:
    """Every file as the bulk path checks it (row_checks.File): the file's field rules run on
    whole columns (row_checks.batch_rules), its rows with a NUL character (checked on their own)
    and the rows whose key was seen before in this import (reported in their place, not checked)."""
    seen: dict[tuple, tuple[str, int]] = {}
    files = []
    for name, frame, extra in tables:
        batch = row_checks.batch_rules(report.kind, frame, extra.get("force") or force)
        files.append(row_checks.File(name, frame, extra, batch, _nul_rows(frame, _has_nul(extra)),
                                     repeats(report.kind, seen, name, frame, extra)))
    return files


def _check_bulk(files: list[row_checks.File], ctx, report: ImportReport, progress):
    """Check every row: the plain ones a column at a time (divert.ingest.plain_checks), the others
    one by one (row_checks.check_row); the problems are reported in the files' row order."""
    plan = row_checks.Plan()
    plain = plain_checks.plain_rows(report.kind, files, ctx)  # before any row is checked: it reads what the database holds
    said: list[tuple[int, int, tuple]] = []  # (file index, row index, problems)
    total = sum(f.frame.height for f in files)
    done = 0
    for fi, f in enumerate(files):
        said += [(fi, index, (problem,)) for index, problem in f.repeated.items()]
        alone = [i for i in f.checked() if i not in plain[fi]]
        rows = f.frame[alone].iter_rows(named=True) if alone else ()
        for index, values in zip(alone, rows, strict=False):
            if f.extra:
                values.update(f.extra)
            try:
                change, problems = row_checks.check_row(report.kind, values, ctx, plan,
                                                        None if f.nul[index] else f.batch, index)
            except Exception as error:  # never a crash: report the row and go on
                log.exception("import %s row %s", f.name, index + 2)
                change, problems = None, [Problem("record", None, f"could not be saved ({type(error).__name__})")]
            if change:
                setattr(report, change, getattr(report, change) + 1)
            if problems:
                said.append((fi, index, problems))
            done += 1
            if progress and done % 10_000 == 0:
                progress(0.9 * done / max(total, 1), f"Checked {done:,} of {total:,} rows")
    new, problems = plain_checks.check_plain(files, plain, ctx, plan)
    report.new += new
    said += problems
    said.sort(key=lambda one: one[:2])
    for fi, index, problems in said:
        for problem in problems:
            report.add(files[fi].name, problem, index + 2)
    if progress:
        progress(0.9, f"Checked {total:,} of {total:,} rows")
    return plan
