"""The `divert` command. Exit 0 on success, 1 on rejected input (nothing written), 2 on usage.

Anyone who can run it with the database's URL is an administrator: it asks for no password, adds
accounts and resets their passwords. Each change is audited as cli:<the operating-system account
that ran it>."""

from __future__ import annotations

import argparse
import os
import sys

from divert.cli import admin, audit, backups, bench, database, disclosure, imports, metrics
from divert.cli.common import DB_HELP, REJECTED, USAGE, CommandParser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="divert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help=DB_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    database.add_init_parser(sub)
    database.add_demo_parser(sub)
    admin.add_user_parser(sub)
    imports.add_import_parser(sub)
    admin.add_programme_parser(sub)
    metrics.add_metrics_parser(sub)
    bench.add_bench_parser(sub)
    backups.add_export_parser(sub)
    metrics.add_report_parser(sub)
    backups.add_restore_parser(sub)
    disclosure.add_disclosure_parser(sub)
    database.add_status_parser(sub)
    audit.add_audit_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "user", None) is not None and args.command == "import":
        print("--user is not accepted: an import is recorded under your login as cli:<login>", file=sys.stderr)
        return USAGE
    if args.db:
        os.environ.setdefault("DIVERT_DATABASE_URL", args.db)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return REJECTED
    except Exception as error:  # a clear message, never a traceback
        from sqlalchemy.exc import OperationalError

        from divert.storage.db import BUSY_MESSAGE, is_busy

        if is_busy(error):
            print(BUSY_MESSAGE, file=sys.stderr)
            return REJECTED
        if isinstance(error, OperationalError):
            print(f"Database error: {str(error.orig)[:500]}", file=sys.stderr)
            print("Is the database reachable, and has `divert init` been run?", file=sys.stderr)
            return REJECTED
        raise


if __name__ == "__main__":
    sys.exit(main())
