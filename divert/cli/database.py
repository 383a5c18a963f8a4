"""`divert init`, `divert demo` and `divert status`: create the database, fill it with the
synthetic demo programme, and say what it holds."""

from __future__ import annotations

import math
import sys
import time

from divert.cli.common import OK, REJECTED, USAGE, actor, db_engine, db_url, safe_url, show_progress

SCALE_RANGE = (0.01, 100.0)  # demo volume: about 136 to 1.4 million referrals


def cmd_init(args) -> int:
    from divert.records.census_rows import ensure_population
    from divert.records.pseudonym import ensure_key
    from divert.storage import audit_chain
    from divert.storage.app_role import NAME
    from divert.storage.db import current_revision, normalise_url, sqlite_path, tighten_permissions, upgrade

    url = db_url(args)
    path = sqlite_path(url)
    if args.app_role is not None and normalise_url(url).startswith("sqlite"):
        print("--create-app-role is for PostgreSQL: SQLite has no roles (nothing was done)", file=sys.stderr)
        return USAGE
    if args.app_role is not None and not NAME.match(args.app_role):
        print(f"--create-app-role: {args.app_role!r} is not a role name Divert makes (lower-case letters, digits "
              "and _, starting with a letter or _, at most 63)", file=sys.stderr)
        return USAGE
    upgrade(url)
    print(f"Schema at revision {current_revision(url)} on {safe_url(url)}")
    for step in audit_chain.restore_guards(db_engine(args)):
        print(f"Audit trail: {step}")
    if path is not None:
        for file in tighten_permissions(path):
            print(f"Made {file} readable by its owner only (it was readable by others)")
    added = ensure_population(db_engine(args), actor())
    if added:
        print(f"Loaded {added:,} census population rows (ONS Census 2011 and 2021, Open Government Licence v3.0)")
    problem = ensure_key(db_engine(args))
    if problem:
        print(problem, file=sys.stderr)
        return REJECTED
    if args.app_role is not None:
        return _create_app_role(args)
    return OK


def _create_app_role(args) -> int:
    from divert.storage.app_role import RoleProblem, create_app_role

    password = sys.stdin.readline().rstrip("\n") if args.app_role_password_stdin else None
    try:
        done = create_app_role(db_engine(args), args.app_role, password or None)
    except RoleProblem as problem:
        print(f"App role not made: {problem}", file=sys.stderr)
        return REJECTED
    for step in done:
        print(step)
    print(f"Run the app (and `divert status`) as {args.app_role}; keep running `divert init`, restores and "
          "upgrades as the owner.")
    return OK


def cmd_demo(args) -> int:
    from divert.demo import DemoExists, load_demo
    from divert.demo.loader import RealUsers
    from divert.storage.db import upgrade

    low, high = SCALE_RANGE
    if not (math.isfinite(args.scale) and low <= args.scale <= high):
        print(f"--scale must be a number from {low:g} to {high:g} (1 = a West Midlands-sized force)", file=sys.stderr)
        return USAGE
    from datetime import date

    from divert.core.clock import today
    from divert.demo import parameters

    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        print("--as-of takes a date as YYYY-MM-DD", file=sys.stderr)
        return USAGE
    if as_of is not None and not parameters.LAUNCH < as_of <= today():
        print(f"--as-of must be after the launch ({parameters.LAUNCH}) and not after today", file=sys.stderr)
        return USAGE
    url = db_url(args)
    upgrade(url)
    started = time.perf_counter()
    try:
        summary = load_demo(db_engine(args), seed=args.seed, scale=args.scale, progress=show_progress, as_of=as_of)
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


def cmd_status(args) -> int:
    from sqlalchemy import func, select

    from divert.records.pseudonym import key_problem
    from divert.storage import models
    from divert.storage.db import current_revision, data_version, head_revision, session_scope, sqlite_path

    url = db_url(args)
    print(f"Database: {safe_url(url)}")
    path = sqlite_path(url)
    if path is not None and not path.is_file():  # look, never create (not even its folder)
        print(f"There is no database file at {path}. Run `divert init` to create it.")
        return REJECTED
    for warning in private_file_warnings(path):
        print(warning)
    revision = current_revision(url)
    print(f"Schema revision: {revision or 'none'} (newest {head_revision()})")
    if revision is None:
        print("Run `divert init` to create the schema.")
        return OK
    print(f"Data version: {data_version(db_engine(args))}")
    with session_scope(db_engine(args)) as s:
        for model in (models.Offence, models.Referral, models.StopSearch, models.User):
            count = s.execute(select(func.count()).select_from(model)).scalar_one()
            print(f"  {model.__tablename__:<14} {count:>10,}")
    problem = key_problem(db_engine(args))
    print(f"Person key: {problem}" if problem else "Person key: present, and the one this database was built with")
    guarded = _print_audit_guards(args)
    shown = _print_coverage(args)
    return shown if guarded else REJECTED


def _print_audit_guards(args) -> bool:
    """Whether the audit trail's guards are in place (said loudly on standard error when not)."""
    from divert.storage import audit_chain

    problems = audit_chain.protection_problems(db_engine(args))
    for problem in problems:
        print(f"AUDIT TRAIL NOT PROTECTED: {problem}. Events could be changed, deleted or replaced; run "
              "`divert init` to put the guards back, then `divert audit verify`.", file=sys.stderr)
    if not problems:
        print("Audit trail: guarded (triggers refuse changing, deleting or replacing an event, or one without its "
              "seal); `divert audit verify` checks every seal")
    warning = audit_chain.owner_warning(db_engine(args))
    if warning:
        print(f"Warning: {warning}. Run the app as a role that owns nothing, made with "
              "`divert init --create-app-role NAME` (docs/deploy.md).", file=sys.stderr)
    return not problems


def private_file_warnings(database) -> list[str]:
    """A warning for each file that holds a secret or the records and that other users of the
    machine may read or write: the SQLite database (with its -wal and -shm companions), the key
    files in the data folder and the secrets file. Each should be its owner's alone (0600)."""
    from pathlib import Path

    from divert.core.environment import key_files, secrets_file

    files = [Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm")] if database is not None else []
    warnings = []
    for file in [*files, *key_files(), secrets_file()]:
        try:
            mode = file.stat().st_mode
        except OSError:
            continue  # not there (a database never opened in WAL mode, no secrets file)
        if mode & 0o077:
            fix = "`divert init` makes it private" if file in files else f"run `chmod 600 {file}`"
            warnings.append(f"Warning: {file} can be read or changed by other users of this machine "
                            f"(mode {mode & 0o777:o}); {fix}.")
    return warnings


def _print_coverage(args) -> int:
    """The months each source holds, per force, with the gaps (divert.analytics.data.coverage)."""
    from datetime import date

    from divert.analytics.data import coverage
    from divert.analytics.data.loading import load_frames
    from divert.core.clock import today

    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else today()
    except ValueError:
        print("--as-of takes a date as YYYY-MM-DD", file=sys.stderr)
        return USAGE
    table = coverage.table(load_frames(db_engine(args)), as_of)
    print(f"Coverage at {as_of:%-d %B %Y} (months with records; rates count only these):")
    if table.is_empty():
        print("  nothing recorded yet")
    for row in table.iter_rows(named=True):
        if row["covered_from"] is None:
            held = row["missing"]
            gaps = ""
        else:
            held = (f"{row['covered_from']:%b %Y} to {row['covered_to']:%-d %b %Y}, "
                    f"{row['months_held']:,} month{'s' if row['months_held'] != 1 else ''}")
            gaps = f"; missing: {row['missing']}"
        print(f"  {row['source']:<11} {row['force']:<20} {held}{gaps}")
    return OK


def add_init_parser(sub) -> None:
    """`divert init`."""
    init = sub.add_parser("init", help="create or upgrade the schema")
    init.add_argument("--create-app-role", dest="app_role", metavar="NAME",
                      help="PostgreSQL: also make the login role NAME the app runs as, which owns nothing (only "
                      "SELECT and INSERT on the audit trail); run init as the schema's owner")
    init.add_argument("--app-role-password-stdin", action="store_true",
                      help="with --create-app-role: set the role's password from the first line of standard input")
    init.set_defaults(func=cmd_init)


def add_demo_parser(sub) -> None:
    """`divert demo`."""
    demo = sub.add_parser("demo", help="load synthetic demo data and demo users (prints logins)")
    demo.add_argument("--seed", type=int, default=2020)
    demo.add_argument("--scale", type=float, default=1.0, help="volume multiplier (1 = a West Midlands-like force)")
    demo.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                      help="the last day with records (default: yesterday); fix it for a reproducible demo")
    demo.set_defaults(func=cmd_demo)


def add_status_parser(sub) -> None:
    """`divert status`."""
    status = sub.add_parser("status", help="schema revision, data version, row counts and the months each source covers")
    status.add_argument("--as-of", help="coverage up to this date, YYYY-MM-DD (default: today)")
    status.set_defaults(func=cmd_status)
