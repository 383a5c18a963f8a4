"""The `divert` command. Exit 0 on success, 1 on rejected input (nothing written), 2 on usage."""

from __future__ import annotations

import argparse
import getpass
import math
import os
import sys
import time

from divert import codes

OK, REJECTED, USAGE = 0, 1, 2
SCALE_RANGE = (0.01, 100.0)  # demo volume: about 136 to 1.4 million referrals


def _engine(args):
    from divert.db import get_engine

    return get_engine(args.db)


def _db_url(args) -> str:
    from divert.settings import database_url

    return args.db or database_url()


def cmd_init(args) -> int:
    from divert.db import current_revision, sqlite_path, tighten_permissions, upgrade
    from divert.pseudonym import ensure_key
    from divert.reference import ensure_population

    url = _db_url(args)
    path = sqlite_path(url)
    upgrade(url)
    print(f"Schema at revision {current_revision(url)} on {_safe_url(url)}")
    if path is not None:
        for file in tighten_permissions(path):
            print(f"Made {file} readable by its owner only (it was readable by others)")
    added = ensure_population(_engine(args), f"cli:{getpass.getuser()}")
    if added:
        print(f"Loaded {added:,} census population rows (ONS Census 2011 and 2021, Open Government Licence v3.0)")
    problem = ensure_key(_engine(args))
    if problem:
        print(problem, file=sys.stderr)
        return REJECTED
    return OK


def cmd_demo(args) -> int:
    from divert.db import upgrade
    from divert.demo import DemoExists, load_demo
    from divert.demo.loader import RealUsers

    low, high = SCALE_RANGE
    if not (math.isfinite(args.scale) and low <= args.scale <= high):
        print(f"--scale must be a number from {low:g} to {high:g} (1 = a West Midlands-sized force)", file=sys.stderr)
        return USAGE
    url = _db_url(args)
    upgrade(url)
    started = time.perf_counter()
    try:
        summary = load_demo(_engine(args), seed=args.seed, scale=args.scale, progress=_progress)
    except (DemoExists, RealUsers) as refused:
        print(str(refused), file=sys.stderr)
        return REJECTED
    elapsed = time.perf_counter() - started
    print(f"\nDemo data loaded (seed {args.seed}, scale {args.scale:g}) in {elapsed:.1f} s:")
    for table, count in summary["counts"].items():
        print(f"  {table:<16} {count:>10,}")
    print("\nDemo logins (demonstration only - change or disable them before real use):")
    for login in summary["logins"]:
        print(f"  {login['role']:<11} username {login['username']:<18} password {login['password']}")
    return OK


def _progress(step: str, fraction: float) -> None:
    if sys.stderr.isatty():
        print(f"\r{step:<40} {fraction:6.0%}", end="", file=sys.stderr, flush=True)


def cmd_user(args) -> int:
    from sqlalchemy import select

    from divert.accounts import add_user, reset_password, set_user_active, unlock
    from divert.db import session_scope
    from divert.models import User

    actor = f"cli:{getpass.getuser()}"
    if args.user_command == "add":
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password (12+ characters): ")
            if getpass.getpass("Again: ") != password:
                print("The passwords differ; nothing saved.", file=sys.stderr)
                return REJECTED
        saved = add_user(
            {"username": args.name, "role": args.role, "password": password, "display_name": args.display_name},
            actor,
            engine=_engine(args),
        )
        if not saved.ok:
            for problem in saved.problems:
                print(f"{problem.field}: {problem.reason}", file=sys.stderr)
            return REJECTED
        print(f"User {args.name} added with role {args.role}")
        return OK
    if args.user_command == "unlock":
        saved = unlock(args.name, actor, engine=_engine(args))
        if not saved.ok:
            print(saved.problems[0].reason, file=sys.stderr)
            return REJECTED
        print(f"User {args.name} unlocked")
        return OK
    if args.user_command == "reset-password":
        saved, one_time = reset_password(args.name, actor, engine=_engine(args))
        if not saved.ok:
            print(saved.problems[0].reason, file=sys.stderr)
            return REJECTED
        print(f"One-time password for {args.name} (to be changed at the next sign-in): {one_time}")
        return OK
    if args.user_command == "disable":
        saved = set_user_active(args.name, False, actor, engine=_engine(args))
        if not saved.ok:
            print(saved.problems[0].reason, file=sys.stderr)
            return REJECTED
        print(f"User {args.name} disabled")
        return OK
    with session_scope(_engine(args)) as s:
        users = s.execute(select(User).order_by(User.username)).scalars().all()
    if not users:
        print("No users yet: run `divert demo`, `divert user add`, or open the app to set one up.")
    for user in users:
        state = "active" if user.active else "disabled"
        print(f"{user.username:<20} {user.role:<11} {state}")
    return OK


def cmd_import(args) -> int:
    from pathlib import Path

    from divert.ingest.run import import_files, template_csv
    from divert.safe_csv import to_csv_bytes

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
        args.kind, sources, f"cli:{getpass.getuser()}", engine=_engine(args),
        dry_run=args.dry_run, force=args.force, progress=_import_progress,
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


def cmd_metrics(args) -> int:
    import json as jsonlib
    from datetime import date

    from divert.analytics.filters import Filters
    from divert.analytics.frames import load_frames
    from divert.analytics.metrics import METRICS

    try:
        start = date.fromisoformat(args.start) if args.start else None
        end = date.fromisoformat(args.end) if args.end else None
    except ValueError:
        print("--from and --to take dates as YYYY-MM-DD", file=sys.stderr)
        return USAGE
    filters = Filters(start=start, end=end, area=args.area, source=args.referral_source, age_band=args.age_band,
                      sex=args.sex, ethnic_group=args.ethnic_group)
    frames = load_frames(_engine(args))
    if args.name == "disparity":
        from divert.analytics.disparity import disparity_table

        table, problem = disparity_table(frames, args.source, force=args.force, start=start, end=end,
                                         object_of_search=args.object, ethnicity=args.ethnicity, level=args.level,
                                         census_year=args.census)
        if problem:
            print(problem, file=sys.stderr)
            return USAGE
    else:
        table = METRICS[args.name](frames, filters)
    if args.format == "json":
        print(jsonlib.dumps(table.to_dicts(), default=str, indent=1))
    else:
        from divert.safe_csv import neutralised

        sys.stdout.write(neutralised(table).write_csv())
    return OK


def cmd_bench(args) -> int:
    from divert.bench import run

    if args.referrals <= 0 or args.import_rows < 0:
        print("--referrals must be positive and --import-rows not negative", file=sys.stderr)
        return USAGE
    run(args.referrals, args.db, args.import_rows)
    return OK


def cmd_status(args) -> int:
    from sqlalchemy import func, select

    from divert import models
    from divert.db import current_revision, data_version, head_revision, session_scope, sqlite_path
    from divert.pseudonym import key_problem

    url = _db_url(args)
    print(f"Database: {_safe_url(url)}")
    path = sqlite_path(url)
    if path is not None and not path.is_file():  # look, never create (not even its folder)
        print(f"There is no database file at {path}. Run `divert init` to create it.")
        return REJECTED
    if path is not None and path.stat().st_mode & 0o077:
        print(f"Warning: {path} is readable by other users; `divert init` makes it private.")
    revision = current_revision(url)
    print(f"Schema revision: {revision or 'none'} (newest {head_revision()})")
    if revision is None:
        print("Run `divert init` to create the schema.")
        return OK
    print(f"Data version: {data_version(_engine(args))}")
    with session_scope(_engine(args)) as s:
        for model in (models.Offence, models.Referral, models.StopSearch, models.User):
            count = s.execute(select(func.count()).select_from(model)).scalar_one()
            print(f"  {model.__tablename__:<14} {count:>10,}")
    problem = key_problem(_engine(args))
    print(f"Person key: {problem}" if problem else "Person key: present, and the one this database was built with")
    return OK


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


DB_HELP = "database URL (default: DIVERT_DATABASE_URL, secrets, or SQLite under data/)"


class _Parser(argparse.ArgumentParser):
    """Every command and subcommand takes --db too, so it may come before or after them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="divert", description=__doc__)
    parser.add_argument("--db", help=DB_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    init = sub.add_parser("init", help="create or upgrade the schema")
    init.set_defaults(func=cmd_init)

    demo = sub.add_parser("demo", help="load synthetic demo data and demo users (prints logins)")
    demo.add_argument("--seed", type=int, default=2020)
    demo.add_argument("--scale", type=float, default=1.0, help="volume multiplier (1 = a West Midlands-like force)")
    demo.set_defaults(func=cmd_demo)

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    add = user_sub.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=list(codes.ROLES))
    add.add_argument("--display-name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user_sub.add_parser("list", help="list users")
    disable = user_sub.add_parser("disable", help="disable a user")
    disable.add_argument("name")
    unlock_cmd = user_sub.add_parser("unlock", help="unlock an account locked after wrong passwords")
    unlock_cmd.add_argument("name")
    reset = user_sub.add_parser("reset-password", help="give a user a one-time password")
    reset.add_argument("name")
    user.set_defaults(func=cmd_user)

    from divert.ingest.kinds import KINDS

    imp = sub.add_parser("import", help="import CSV or Excel files (all rows or none)")
    imp.add_argument("kind", choices=list(KINDS))
    imp.add_argument("files", nargs="*", metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    imp.add_argument("--template", action="store_true", help="print the expected header and exit")
    imp.add_argument("--force", help="police force code (stop-search files named without it)")
    imp.add_argument("--report", metavar="CSV", help="write every problem to this CSV file")
    imp.add_argument("--user", help=argparse.SUPPRESS)  # refused: imports are recorded as cli:<login>
    imp.set_defaults(func=cmd_import)

    from divert.analytics.metrics import METRICS

    metrics = sub.add_parser("metrics", help="print the numbers behind a dashboard")
    metrics.add_argument("name", choices=[*METRICS, "disparity"])
    metrics.add_argument("--from", dest="start", metavar="YYYY-MM-DD")
    metrics.add_argument("--to", dest="end", metavar="YYYY-MM-DD")
    metrics.add_argument("--area", help="local policing area code, e.g. E08000025")
    metrics.add_argument("--referral-source", dest="referral_source", choices=list(codes.REFERRAL_SOURCES))
    metrics.add_argument("--age-band", choices=list(codes.AGE_BANDS))
    metrics.add_argument("--sex", choices=list(codes.SEXES))
    metrics.add_argument("--ethnic-group", choices=list(codes.BROAD_GROUPS) + ["Missing"])
    metrics.add_argument("--format", choices=["csv", "json"], default="csv")
    disparity = metrics.add_argument_group("disparity options")
    disparity.add_argument("--source", choices=["stop-search", "pathway"], default="pathway")
    disparity.add_argument("--force", help="police force (default: the configured force)")
    disparity.add_argument("--object", help='object of search, e.g. "Controlled drugs"')
    disparity.add_argument("--ethnicity", choices=["self", "officer"], default="self")
    disparity.add_argument("--level", choices=["broad", "detailed"], default="broad")
    disparity.add_argument("--census", type=int, choices=[2011, 2021], default=2011)
    metrics.set_defaults(func=cmd_metrics)

    bench = sub.add_parser("bench", help="time the real paths on a national-sized data set")
    bench.add_argument("--referrals", type=int, default=1_000_000)
    bench.add_argument("--import-rows", type=int, default=200_000, help="rows in the generated offences import")
    bench.set_defaults(func=cmd_bench)

    status = sub.add_parser("status", help="schema revision, data version and row counts")
    status.set_defaults(func=cmd_status)
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

        from divert.db import BUSY_MESSAGE, is_busy

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
