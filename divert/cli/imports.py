"""`divert import`: CSV or Excel files of records, all rows or none."""

from __future__ import annotations

import argparse
import sys

from divert.cli.common import OK, REJECTED, USAGE, actor, db_engine


def cmd_import(args) -> int:
    from pathlib import Path

    from divert.core.safe_csv import to_csv_bytes
    from divert.ingest.run import import_files, template_csv

    if args.template:
        sys.stdout.write(template_csv(args.kind))
        return OK
    if not args.files:
        print("give one or more files to import (or --template)", file=sys.stderr)
        return USAGE
    sources = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            print(f"{name}: no such file", file=sys.stderr)
            return USAGE
        sources.append((path.name, path.read_bytes()))
    report = import_files(
        args.kind, sources, actor(), engine=db_engine(args),
        dry_run=args.dry_run, force=args.force, force_override=args.force_override, progress=_import_progress,
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(report.summary())
    if report.problems:
        for p in report.problems[:50]:
            where = f"{p.file} row {p.row}" if p.row else p.file
            print(f"  {where}, {p.column} = {p.value!r}: {p.reason}")
        if len(report.problems) + report.more_problems > 50:
            print(f"  ... and {len(report.problems) + report.more_problems - 50:,} more")
        if args.report:
            Path(args.report).write_bytes(to_csv_bytes(report.problems_frame()))
            print(f"Full report written to {args.report}")
        return REJECTED
    return OK


def _import_progress(fraction: float, message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{message:<50} {fraction:6.0%}", end="", file=sys.stderr, flush=True)


def add_import_parser(sub) -> None:
    """`divert import`."""
    from divert.ingest.kinds import KINDS

    imp = sub.add_parser("import", help="import CSV or Excel files (all rows or none)")
    imp.add_argument("kind", choices=list(KINDS))
    imp.add_argument("files", nargs="*", metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    imp.add_argument("--template", action="store_true", help="print the expected header and exit")
    imp.add_argument("--force", metavar="SLUG",
                     help="police force, its police.uk identifier (e.g. durham): for stop-search files named without "
                          "it, or the one force to take from a police.uk archive (.zip; default: all forces)")
    imp.add_argument("--force-override", action="store_true",
                     help="record the rows of files named for another force as --force's (refused without it)")
    imp.add_argument("--report", metavar="CSV", help="write every problem to this CSV file")
    imp.add_argument("--user", help=argparse.SUPPRESS)  # refused: imports are recorded as cli:<login>
    imp.set_defaults(func=cmd_import)
