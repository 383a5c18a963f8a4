"""The `divert` command. Exit 0 on success, 1 on rejected input (nothing written), 2 on usage."""

from __future__ import annotations

import argparse
import getpass
import math
import os
import sys
import time

from divert.core import codes
from divert.records import programme_profile

OK, REJECTED, USAGE = 0, 1, 2
SCALE_RANGE = (0.01, 100.0)  # demo volume: about 136 to 1.4 million referrals


def _engine(args):
    from divert.storage.db import get_engine

    return get_engine(args.db)


def _db_url(args) -> str:
    from divert.core.environment import database_url

    return args.db or database_url()


def cmd_init(args) -> int:
    from divert.records.census_rows import ensure_population
    from divert.records.pseudonym import ensure_key
    from divert.storage.db import current_revision, sqlite_path, tighten_permissions, upgrade

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
    url = _db_url(args)
    upgrade(url)
    started = time.perf_counter()
    try:
        summary = load_demo(_engine(args), seed=args.seed, scale=args.scale, progress=_progress, as_of=as_of)
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

    from divert.auth.accounts import add_user, reset_password, set_user_active, unlock
    from divert.storage.db import session_scope
    from divert.storage.models import User

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


FILTER_OPTIONS = {"area": "--area", "referral_source": "--referral-source", "age_band": "--age-band", "sex": "--sex",
                  "ethnic_group": "--ethnic-group"}
PERIOD_OPTIONS = {"start": "--from", "end": "--to"}
DISPARITY_OPTIONS = {"source": "--source", "force": "--force", "object": "--object", "ethnicity": "--ethnicity",
                     "level": "--level", "census": "--census"}
# the options each metric honours (beyond --as-of and --format); any other is refused, never ignored
METRIC_OPTIONS = {
    "overview": {**PERIOD_OPTIONS, **FILTER_OPTIONS},
    "volume": {**PERIOD_OPTIONS, **FILTER_OPTIONS},
    "volume-change": {**FILTER_OPTIONS, "months": "--months"},
    "pathway": {**PERIOD_OPTIONS, **FILTER_OPTIONS},
    "waits": {**PERIOD_OPTIONS, **FILTER_OPTIONS},
    "outcomes": FILTER_OPTIONS,
    "gaps": FILTER_OPTIONS,
    "reoffending": {**PERIOD_OPTIONS, **FILTER_OPTIONS},
    "capacity": {**PERIOD_OPTIONS, **FILTER_OPTIONS},
    "forecast": FILTER_OPTIONS,
    "disparity": {**PERIOD_OPTIONS, **DISPARITY_OPTIONS},
    "impact": {**FILTER_OPTIONS, "group": "--group"},
    "alerts": {},
}
WHY_NOT = {
    "volume-change": "volume-change compares equal windows either side of the launch (--months, default 12)",
    "outcomes": "outcomes compares the programme's two comparison half-years",
    "gaps": "gaps compares the programme's two comparison half-years",
    "forecast": "the forecast always uses every complete week up to the as-of date",
    "impact": "the impact model uses every complete month from the first record to the as-of date",
    "alerts": "the equity watch covers every month since the launch, force-wide",
    "disparity": "disparity takes --from/--to and its own options, not the dashboard filters",
}


def _refused_options(args) -> str | None:
    honoured = METRIC_OPTIONS.get(args.name, {})
    given = [flag for dest, flag in {**PERIOD_OPTIONS, **FILTER_OPTIONS, **DISPARITY_OPTIONS, "months": "--months",
                                     "group": "--group"}.items()
             if getattr(args, dest, None) is not None and dest not in honoured]
    if not given:
        return None
    reason = WHY_NOT.get(args.name, f"{args.name} does not use them")
    return f"{', '.join(given)} cannot be used with `metrics {args.name}`: {reason}."


def cmd_metrics(args) -> int:
    import json as jsonlib
    from datetime import date

    from divert.analytics.calendar.months import default_as_of
    from divert.analytics.data.filters import Filters
    from divert.analytics.data.loading import load_frames
    from divert.analytics.metrics import METRICS
    from divert.core.clock import today

    try:
        start = date.fromisoformat(args.start) if args.start else None
        end = date.fromisoformat(args.end) if args.end else None
        as_of = date.fromisoformat(args.as_of) if args.as_of else default_as_of(today())
    except ValueError:
        print("--from, --to and --as-of take dates as YYYY-MM-DD", file=sys.stderr)
        return USAGE
    if as_of > today():
        print("--as-of cannot be after today", file=sys.stderr)
        return USAGE
    if start and end and start > end:
        print("--from must not be after --to", file=sys.stderr)
        return USAGE
    refused = _refused_options(args)
    if refused:
        print(refused, file=sys.stderr)
        return USAGE
    if args.months is not None and not 1 <= args.months <= 60:
        print("--months must be between 1 and 60", file=sys.stderr)
        return USAGE
    filters = Filters(start=start, end=end, area=args.area, source=args.referral_source, age_band=args.age_band,
                      sex=args.sex, ethnic_group=args.ethnic_group, as_of=as_of)
    frames = load_frames(_engine(args)).at(as_of)
    gate = _gate(args)
    if not gate.exact:
        from divert.core.disclosure import too_narrow

        reason = too_narrow(frames, filters, gate.threshold)
        if reason:
            print(reason, file=sys.stderr)
            return REJECTED
    if args.name == "disparity":
        from divert.analytics.equity.disparity import disparity_table

        table, problem = disparity_table(frames, args.source or "pathway", force=args.force, start=start, end=end,
                                         as_of=as_of, object_of_search=args.object, ethnicity=args.ethnicity or "self",
                                         level=args.level or "broad", census=args.census or "interpolated")
        if problem:
            print(problem, file=sys.stderr)
            return USAGE
        from divert.analytics.equity.disparity import denominator_note

        print(f"Denominator: {denominator_note(table)}", file=sys.stderr)  # the census used, or the one missing
    elif args.name == "overview":
        from divert.analytics.dashboards.overview import overview_table

        hours = frames.programme.officer_hours_per_referral  # the programme profile's figure
        table = overview_table(frames, filters, hours, gate)
        if args.format == "json":
            print(jsonlib.dumps(_overview_json(table), default=str, indent=1))
            return OK
    elif args.name in ("impact", "alerts"):
        from divert.readmodels import equity

        if args.name == "impact":
            table = equity.impact_table(frames, filters, args.group)
        else:
            table = equity.alerts_table(frames, filters, _engine(args))
            if not gate.exact:
                table = gate.table(table.drop(equity.VIEWER_HIDDEN), **equity.ALERT_GATE)
    elif args.name == "volume-change" and args.months:
        from divert.analytics.metrics import volume_change_table

        table = volume_change_table(frames, filters, months=args.months)
    else:
        table = METRICS[args.name](frames, filters)
    if not gate.exact and args.name not in ("overview", "alerts"):
        from divert.analytics.metrics import GATES

        spec = GATES.get(f"disparity:{args.source or 'pathway'}" if args.name == "disparity" else args.name)
        if spec is None:
            print(f"`metrics {args.name}` is not published to the {args.role} role", file=sys.stderr)
            return USAGE
        table = gate.table(table, **spec)
    if args.format == "json":
        print(jsonlib.dumps(table.to_dicts(), default=str, indent=1))
    else:
        from divert.core.safe_csv import neutralised

        sys.stdout.write(neutralised(table).write_csv())
    return OK


def _gate(args):
    from divert.core.disclosure import Gate
    from divert.records import stored_settings

    return Gate(args.role, stored_settings.load(_engine(args)).small_number_threshold)


def _overview_json(table) -> dict:
    first = table.row(0, named=True) if table.height else {}
    return {
        "as_of": first.get("as_of"), "data_up_to": first.get("data_up_to"),
        "period": {"start": first.get("period_start"), "end": first.get("period_end")},
        "previous_period": {"start": first.get("previous_start"), "end": first.get("previous_end")},
        "measures": table.select("measure", "label", "unit", "value", "previous", "change").to_dicts(),
    }


def cmd_programme(args) -> int:
    import json as jsonlib

    from divert.reference import programme
    from divert.storage.db import upgrade

    upgrade(_db_url(args))
    if args.programme_command == "set":
        values = {name: getattr(args, name) for name in programme.STORED if getattr(args, name, None) is not None}
        if not values:
            print("give at least one setting to change (see `divert programme set --help`)", file=sys.stderr)
            return USAGE
        saved, chosen = programme_profile.save(values, f"cli:{getpass.getuser()}", engine=_engine(args))
        if not saved.ok:
            for problem in saved.problems:
                print(f"--{problem.field.replace('_', '-')}: {problem.reason}", file=sys.stderr)
            return REJECTED
        print(f"Programme profile saved: {chosen.force_name}, launched {chosen.launch:%d %B %Y}, "
              f"diversion recorded as outcome {chosen.diversion_outcome}, {len(chosen.areas)} areas")
        return OK
    profile = programme_profile.current(_engine(args))
    if args.format == "json":
        print(jsonlib.dumps(profile.as_json(), indent=1))
        return OK
    for name, value in profile.as_json().items():
        if name == "areas":
            print("areas:")
            for area in value:
                print(f"  {area['code']}  {area['name']}")
        else:
            print(f"{name}: {', '.join(value) if isinstance(value, list) else value}")
    return OK


def cmd_bench(args) -> int:
    from pathlib import Path

    from divert.bench.command import run

    if args.referrals <= 0 or args.import_rows < 0 or args.repeat < 1:
        print("--referrals and --repeat must be positive and --import-rows not negative", file=sys.stderr)
        return USAGE
    out = Path(args.out)
    try:  # before the long run, not after it
        out.parent.mkdir(parents=True, exist_ok=True)
        out.touch()
    except OSError as error:
        print(f"Cannot write the results to {out}: {error.strerror}", file=sys.stderr)
        return USAGE
    run(args.referrals, args.db, args.import_rows, out, browser=not args.no_browser, repeat=args.repeat)
    return OK


def cmd_export(args) -> int:
    from pathlib import Path

    from divert.backup import BackupError, export_backup
    from divert.records.exports import record_export

    user = f"cli:{getpass.getuser()}"
    if args.public:
        return _export_release(args, user)
    if args.as_of:
        print("--as-of applies to a public release (--public) only", file=sys.stderr)
        return USAGE
    engine = _engine(args)
    try:
        manifest = export_backup(engine, Path(args.out), progress=_progress)
    except BackupError as error:
        print(f"Backup refused: {error}", file=sys.stderr)
        return REJECTED
    record_export(user, {"tables": {t["name"]: t["rows"] for t in manifest["tables"]},
                         "data_version": manifest["data_version"]}, action="export_backup", engine=engine)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"Backup written to {args.out}: schema revision {manifest['schema_revision']}, data version "
          f"{manifest['data_version']}, exported at {manifest['exported_at']}")
    for table in manifest["tables"]:
        print(f"  {table['name']:<16} {table['rows']:>10,}  sha256 {table['sha256'][:16]}...")
    print("Keep the key files (person key, cookie key) with the backup: see docs/backup.md.")
    return OK


def _export_release(args, user: str) -> int:
    from datetime import date
    from pathlib import Path

    from divert.analytics.calendar.months import default_as_of
    from divert.core.clock import today as today_in_london
    from divert.records.exports import record_export
    from divert.release import ReleaseError, write_release

    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else default_as_of(today_in_london())
    except ValueError:
        print("--as-of takes a date as YYYY-MM-DD", file=sys.stderr)
        return USAGE
    engine = _engine(args)
    try:
        release = write_release(engine, Path(args.out), as_of)
    except ReleaseError as error:
        print(f"Release refused: {error}", file=sys.stderr)
        return REJECTED
    record_export(user, release.summary(), action="export_release", engine=engine)
    print(f"Public release written to {args.out} (as of {as_of}, months {release.first_month} to "
          f"{release.last_month}):")
    for name in release.files:
        print(f"  {name}")
    print(f"{release.suppressed} counts suppressed ({release.primary} of 1 to 7, {release.secondary} to protect "
          "them); every other count rounded to the nearest 5")
    return OK


def cmd_report(args) -> int:
    from divert.report.command import run

    return run(args, _engine)


def cmd_restore(args) -> int:
    from pathlib import Path

    from divert.backup import BackupError, restore_backup

    try:
        report = restore_backup(_engine(args), Path(args.source), f"cli:{getpass.getuser()}", progress=_progress)
    except BackupError as error:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        print(f"Restore refused: {error}", file=sys.stderr)
        return REJECTED
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"Restored the backup exported at {report.exported_at} into {_safe_url(_db_url(args))}: schema revision "
          f"{report.schema_revision}, data version {report.data_version}")
    for table, rows in report.tables.items():
        print(f"  {table:<16} {rows:>10,}")
    print(f"Row counts and checksums of every table match the manifest; audit event {report.audit_event_id} "
          "records the restore.")
    from divert.records.pseudonym import key_problem

    problem = key_problem(_engine(args))
    if problem:  # the restore stands; nothing can be written until the backup's key is in place
        print(f"Next: {problem.removesuffix(' Nothing was written.')}")
    return OK


def cmd_status(args) -> int:
    from sqlalchemy import func, select

    from divert.records.pseudonym import key_problem
    from divert.storage import models
    from divert.storage.db import current_revision, data_version, head_revision, session_scope, sqlite_path

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
    return _print_coverage(args)


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
    table = coverage.table(load_frames(_engine(args)), as_of)
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
    demo.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                      help="the last day with records (default: yesterday); fix it for a reproducible demo")
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
    imp.add_argument("--force", help="police force (police.uk slug): for stop-search files named without it, "
                                      "or the one force to take from a police.uk archive (.zip; default: all forces)")
    imp.add_argument("--report", metavar="CSV", help="write every problem to this CSV file")
    imp.add_argument("--user", help=argparse.SUPPRESS)  # refused: imports are recorded as cli:<login>
    imp.set_defaults(func=cmd_import)

    from divert.analytics.metrics import METRICS

    prog = sub.add_parser("programme", help="show or set the programme profile (force, launch, diversion outcome ...)")
    prog_sub = prog.add_subparsers(dest="programme_command", required=True)
    show = prog_sub.add_parser("show", help="print the profile")
    show.add_argument("--format", choices=["text", "json"], default="text")
    put = prog_sub.add_parser("set", help="change the profile (audited); only the options given change")
    put.add_argument("--force", help="police.uk identifier of the force, e.g. durham")
    put.add_argument("--launch", metavar="YYYY-MM-DD", help="the date the scheme started")
    put.add_argument("--diversion-outcome", dest="diversion_outcome", type=int, choices=[8, 22],
                     help="8 Community Resolution, 22 diversionary activity")
    put.add_argument("--minimum-age", dest="minimum_age", type=int)
    put.add_argument("--drug-classes", dest="drug_classes", help="e.g. A,B,C")
    put.add_argument("--second-offer", dest="second_offer_after_engagement", choices=["yes", "no"],
                     help="a second offer after engaging once")
    put.add_argument("--provider", help="the provider's name")
    put.add_argument("--course-format", dest="course_format")
    put.add_argument("--seats-per-session", dest="seats_per_session", type=int)
    put.add_argument("--sessions-per-week", dest="sessions_per_week", type=float)
    put.add_argument("--officer-hours", dest="officer_hours_per_referral", type=float,
                     help="officer hours saved per referral")
    put.add_argument("--officer-hours-source", dest="officer_hours_source", help="where that figure comes from")
    prog.set_defaults(func=cmd_programme)

    metrics = sub.add_parser("metrics", help="print the numbers behind a dashboard")
    metrics.add_argument("name", choices=[*METRICS, "disparity", "impact", "alerts"])
    metrics.add_argument("--from", dest="start", metavar="YYYY-MM-DD")
    metrics.add_argument("--to", dest="end", metavar="YYYY-MM-DD")
    metrics.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                         help="measure as things stood at the end of this day (default: the last month end "
                              "before today, UK time; today's date gives the live records)")
    metrics.add_argument("--area", help="local policing area code, e.g. E08000025")
    metrics.add_argument("--referral-source", dest="referral_source", choices=list(codes.REFERRAL_SOURCES))
    metrics.add_argument("--age-band", choices=list(codes.AGE_BANDS))
    metrics.add_argument("--sex", choices=list(codes.SEXES))
    metrics.add_argument("--ethnic-group", choices=list(codes.BROAD_GROUPS) + ["Missing"])
    metrics.add_argument("--format", choices=["csv", "json"], default="csv")
    metrics.add_argument("--role", choices=list(codes.ROLES), default="admin",
                         help="figures as this role sees them (viewer: through the disclosure gate)")
    disparity = metrics.add_argument_group("disparity options")
    metrics.add_argument("--group", choices=["All", "White", "Mixed", "Asian", "Black", "Other"],
                         help="impact: one broad group (default: overall and every group)")
    metrics.add_argument("--months", type=int, help="volume-change: months either side of the launch (default 12)")
    disparity.add_argument("--source", choices=["stop-search", "pathway"], help="default: pathway")
    disparity.add_argument("--force", help="police force (default: the configured force)")
    disparity.add_argument("--object", help='object of search, e.g. "Controlled drugs"')
    disparity.add_argument("--ethnicity", choices=["self", "officer"], help="default: self")
    disparity.add_argument("--level", choices=["broad", "detailed"], help="default: broad")
    disparity.add_argument("--census", choices=["interpolated", "2011", "2021"],
                           help="population denominator: each year interpolated between the censuses (default), or one census")
    metrics.set_defaults(func=cmd_metrics)

    bench = sub.add_parser("bench", help="time the real paths on a national-sized data set")
    bench.add_argument("--referrals", type=int, default=1_000_000)
    bench.add_argument("--import-rows", type=int, default=200_000, help="rows in the generated referrals import")
    bench.add_argument("--out", default="bench/results.json", help="where to write the results (default bench/results.json)")
    bench.add_argument("--no-browser", action="store_true", help="skip the browser timing (Chromium)")
    bench.add_argument("--repeat", type=int, default=3,
                       help="timed runs of each page for its warm and floor times, the median kept (default 3)")
    bench.set_defaults(func=cmd_bench)

    export = sub.add_parser("export", help="back up every table (Parquet + manifest), or a public release")
    export.add_argument("out", metavar="OUT", help="a new folder to write")
    export.add_argument("--public", action="store_true",
                        help="write the public transparency release (suppressed, rounded aggregates) instead")
    export.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                        help="public release: figures as known on this date (default: the last month end "
                             "before today, UK time)")
    export.set_defaults(func=cmd_export)

    report = sub.add_parser("report", help="the board pack for a period: a PDF and an HTML version beside it")
    report.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    report.add_argument("--out", required=True, metavar="FILE.pdf", help="the PDF to write; FILE.html is written too")
    report.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                        help="default: the last month end before today, UK time")
    report.add_argument("--role", default="viewer", help="viewer (the published pack, default), manager or admin")
    report.set_defaults(func=cmd_report)

    restore = sub.add_parser("restore", help="restore a backup folder (or its zip) into an empty database")
    restore.add_argument("source", metavar="OUT", help="the folder `divert export` wrote, or the zip")
    restore.set_defaults(func=cmd_restore)

    status = sub.add_parser("status", help="schema revision, data version, row counts and the months each source covers")
    status.add_argument("--as-of", help="coverage up to this date, YYYY-MM-DD (default: today)")
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
