"""What every command shares: the exit codes, the database it works on, progress on a terminal,
and the parser class that takes --db after any command or subcommand."""

from __future__ import annotations

import argparse
import sys

OK, REJECTED, USAGE = 0, 1, 2


def actor() -> str:
    """The audit name of whoever runs the command: `cli:` and the process's operating-system
    account (divert.records.acting.command_line_actor), never LOGNAME or USER."""
    from divert.records.acting import command_line_actor

    return command_line_actor()


def db_engine(args):
    from divert.storage.db import get_engine

    return get_engine(args.db)


def db_url(args) -> str:
    from divert.core.environment import database_url

    return args.db or database_url()


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def show_progress(step: str, fraction: float) -> None:
    if sys.stderr.isatty():
        print(f"\r{step:<40} {fraction:6.0%}", end="", file=sys.stderr, flush=True)


DB_HELP = "database URL (default: DIVERT_DATABASE_URL, secrets, or SQLite under data/)"


class CommandParser(argparse.ArgumentParser):
    """Every command and subcommand takes --db too, so it may come before or after them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)

