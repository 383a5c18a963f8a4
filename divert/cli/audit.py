"""`divert audit verify`: check the sealed audit trail (divert.storage.audit_chain) event by event."""

from __future__ import annotations

import sys

from divert.cli.common import OK, REJECTED, CommandParser, db_engine, db_url, safe_url


def _when(moment) -> str:
    from divert.records.core import as_utc

    return f"{as_utc(moment):%Y-%m-%d %H:%M:%S} UTC"


def cmd_verify(args) -> int:
    from sqlalchemy import inspect

    from divert.storage import audit_chain
    from divert.storage.db import sqlite_path

    url = db_url(args)
    path = sqlite_path(url)
    if path is not None and not path.is_file():  # look, never create
        print(f"There is no database file at {path}. Run `divert init` to create it.", file=sys.stderr)
        return REJECTED
    engine = db_engine(args)
    columns = {c["name"] for c in inspect(engine).get_columns("audit_event")} if inspect(engine).has_table(
        "audit_event") else set()
    if "hash" not in columns:
        print(f"{safe_url(url)} has no sealed audit trail yet: run `divert init` to bring its schema up to date "
              "(it seals the events already there).", file=sys.stderr)
        return REJECTED
    verdict = audit_chain.verify(engine)
    if verdict.broken is not None:
        broken = verdict.broken
        print(f"Audit trail BROKEN at event {broken.event_id} (written {_when(broken.at)}): {broken.reason}.",
              file=sys.stderr)
        print(f"{verdict.checked:,} event{'s' if verdict.checked != 1 else ''} before it verified.", file=sys.stderr)
        return REJECTED
    if not verdict.checked:
        print("No audit events yet: nothing to verify.")
        return OK
    print(f"Audit trail verified: {verdict.checked:,} event{'s' if verdict.checked != 1 else ''}, each matching "
          "its seal and linked to the one before it.")
    print(f"Last event: {verdict.last_id} ({_when(verdict.last_at)}), seal {verdict.last_hash}")
    problems = audit_chain.protection_problems(engine)
    for problem in problems:
        print(f"Warning: the audit trail is not protected: {problem}. Run `divert init` to restore it.",
              file=sys.stderr)
    return OK


def add_audit_parser(sub) -> None:
    """`divert audit verify`."""
    audit = sub.add_parser("audit", help="the audit trail: verify its seals")
    commands = audit.add_subparsers(dest="audit_command", required=True, parser_class=CommandParser)
    verify = commands.add_parser(
        "verify", help="check every audit event against its seal and its link to the one before "
        "(exit 1 naming the first broken one)")
    verify.set_defaults(func=cmd_verify)
