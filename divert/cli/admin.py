"""`divert user` and `divert programme`: the accounts, and the programme's profile."""

from __future__ import annotations

import getpass
import sys

from divert.cli.common import OK, REJECTED, USAGE, CommandParser, actor, db_engine, db_url
from divert.core import codes
from divert.records import programme_profile


def cmd_user(args) -> int:
    from sqlalchemy import select

    from divert.auth.accounts import add_user, reset_password, set_user_active, unlock
    from divert.storage.db import session_scope
    from divert.storage.models import User

    by = actor()
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
            by,
            engine=db_engine(args),
        )
        if not saved.ok:
            for problem in saved.problems:
                print(f"{problem.field}: {problem.reason}", file=sys.stderr)
            return REJECTED
        print(f"User {args.name} added with role {args.role}")
        return OK
    if args.user_command == "unlock":
        saved = unlock(args.name, by, engine=db_engine(args))
        if not saved.ok:
            print(saved.problems[0].reason, file=sys.stderr)
            return REJECTED
        print(f"User {args.name} unlocked")
        return OK
    if args.user_command == "reset-password":
        saved, one_time = reset_password(args.name, by, engine=db_engine(args))
        if not saved.ok:
            print(saved.problems[0].reason, file=sys.stderr)
            return REJECTED
        print(f"One-time password for {args.name} (to be changed at the next sign-in): {one_time}")
        return OK
    if args.user_command == "disable":
        saved = set_user_active(args.name, False, by, engine=db_engine(args))
        if not saved.ok:
            print(saved.problems[0].reason, file=sys.stderr)
            return REJECTED
        print(f"User {args.name} disabled")
        return OK
    with session_scope(db_engine(args)) as s:
        users = s.execute(select(User).order_by(User.username)).scalars().all()
    if not users:
        print("No users yet: run `divert demo`, `divert user add`, or open the app to set one up.")
    for user in users:
        state = "active" if user.active else "disabled"
        print(f"{user.username:<20} {user.role:<11} {state}")
    return OK


def cmd_programme(args) -> int:
    import json as jsonlib

    from divert.reference import programme
    from divert.storage.db import upgrade

    upgrade(db_url(args))
    if args.programme_command == "set":
        values = {name: getattr(args, name) for name in programme.STORED if getattr(args, name, None) is not None}
        if not values:
            print("give at least one setting to change (see `divert programme set --help`)", file=sys.stderr)
            return USAGE
        saved, chosen = programme_profile.save(values, actor(), engine=db_engine(args))
        if not saved.ok:
            for problem in saved.problems:
                print(f"--{problem.field.replace('_', '-')}: {problem.reason}", file=sys.stderr)
            return REJECTED
        print(f"Programme profile saved: {chosen.force_name}, launched {chosen.launch:%d %B %Y}, "
              f"diversion recorded as outcome {chosen.diversion_outcome}, {len(chosen.areas)} areas")
        return OK
    profile = programme_profile.current(db_engine(args))
    if args.format == "json":
        print(jsonlib.dumps(profile.as_json(), indent=1))
        return OK
    for name, value in profile.as_json().items():
        if name == "areas":
            print("areas:")
            for area in value:
                print(f"  {area['code']}  {area['name']}")
        else:
            shown = ", ".join(value) if isinstance(value, list) else "(not entered)" if value is None else value
            print(f"{name}: {shown}")
    return OK


def add_user_parser(sub) -> None:
    """`divert user` and its subcommands."""
    user = sub.add_parser("user", help="manage users (administrator access: see `divert --help`)",
                          description="Manage the app's accounts. Whoever can run this with the database URL is an "
                                      "administrator: no password is asked, and reset-password prints a one-time "
                                      "password for any account. Each change is audited as cli:<operating-system "
                                      "account>; give command-line access only to the app's administrators.")
    user_sub = user.add_subparsers(dest="user_command", required=True, parser_class=CommandParser)
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


def add_programme_parser(sub) -> None:
    """`divert programme show` and `divert programme set`."""
    from divert.reference import programme

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
    put.add_argument("--cost-basis", dest="cost_basis", choices=list(programme.COST_BASES),
                     help="what --cost is: contract_year (a contract price a year, prorated over a period's days) or "
                          "per_referral (a price per referral); none: no cost entered")
    blank = ' (give "" to clear it: no range)'
    for flag, dest, what in (("--cost", "cost", "the programme's price in pounds (central figure)"),
                             ("--cost-low", "cost_low", "the lowest likely price" + blank),
                             ("--cost-high", "cost_high", "the highest likely price" + blank),
                             ("--officer-hours-low", "officer_hours_low", "the lowest likely officer hours" + blank),
                             ("--officer-hours-high", "officer_hours_high", "the highest likely officer hours" + blank),
                             ("--hourly-cost", "hourly_cost", "what an officer hour costs, in pounds"),
                             ("--hourly-cost-low", "hourly_cost_low", "its lowest likely figure" + blank),
                             ("--hourly-cost-high", "hourly_cost_high", "its highest likely figure" + blank)):
        put.add_argument(flag, dest=dest, metavar="NUMBER", help=what)
    prog.set_defaults(func=cmd_programme)
