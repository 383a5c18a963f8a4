"""`divert disclosure audit`: try to work out every hidden count of what a role receives
(divert.intruder), report it, keep the result for the administrator's page and the public
release. Exit 0 when nothing can be worked out, 1 on any leak."""

from __future__ import annotations

import getpass
import sys
import time

from divert.cli.common import OK, REJECTED, USAGE, db_engine

BAR = 30


class Bar:
    """A progress bar on standard error (a terminal only), redrawn at most ten times a second."""

    def __init__(self):
        self.shown = 0.0

    def __call__(self, step: str, fraction: float) -> None:
        if not sys.stderr.isatty() or (time.monotonic() - self.shown < 0.1 and fraction < 1):
            return
        self.shown = time.monotonic()
        done = int(BAR * min(1.0, fraction))
        print(f"\r[{'#' * done}{'.' * (BAR - done)}] {fraction:4.0%} {step[:60]:<60}", end="", file=sys.stderr,
              flush=True)

    def close(self) -> None:
        if sys.stderr.isatty():
            print(file=sys.stderr)


def cmd_audit(args) -> int:
    from datetime import date

    from divert.analytics.data.loading import load_frames
    from divert.core.clock import today
    from divert.intruder.run import default_dates, run
    from divert.records import disclosure_audits, stored_settings
    from divert.storage.db import data_version

    try:
        dates = [date.fromisoformat(d) for d in args.as_of] if args.as_of else default_dates(today())
    except ValueError:
        print("--as-of takes dates as YYYY-MM-DD", file=sys.stderr)
        return USAGE
    if any(d > today() for d in dates):
        print("--as-of cannot be after today", file=sys.stderr)
        return USAGE
    engine = db_engine(args)
    version = data_version(engine)
    frames = load_frames(engine)
    if frames.offences.is_empty() and frames.referrals.is_empty():
        print("Nothing is recorded yet: there is nothing published to attack.", file=sys.stderr)
        return REJECTED
    bar = Bar()
    try:
        audit = run(frames, sorted(set(dates)), role=args.role,
                    threshold=stored_settings.load(engine).small_number_threshold, progress=bar)
    finally:
        bar.close()
    summary = audit.summary()
    saved = disclosure_audits.save(summary, version, f"cli:{getpass.getuser()}", engine=engine)
    if args.format == "json":
        import json

        print(json.dumps(summary, indent=1))
    else:
        print(report(summary, audit.skipped))
    if not saved.ok:
        print(f"The result could not be kept: {'; '.join(p.message for p in saved.problems)}", file=sys.stderr)
        return REJECTED
    return OK if audit.passed else REJECTED


def report(summary: dict, skipped: dict[str, str]) -> str:
    from datetime import date

    from divert.core import wording

    days = ", ".join(wording.day(date.fromisoformat(d)) for d in summary["as_of"])
    lines = [
        f"Disclosure audit of everything a {summary['role']} receives, as of {days}",
        f"  views read: {summary['views']:,} (as-of date x named period x no filter or one filter; "
        f"{summary['refused_views']:,} more refused by the gate as too narrow)",
        f"  tables: {summary['tables']:,}; published figures: {summary['figures']:,}; distinct counts: "
        f"{summary['counts']:,}; shares and rates used: {summary['ratios']:,}; public release cells: "
        f"{summary['release_cells']:,}",
        f"  unknowns (kinds of record): {summary['unknowns']:,}; linear programs solved: {summary['programs']:,}; "
        f"time: {summary['seconds']:,.1f} s",
        f"  hidden counts attacked: {summary['hidden_attacked']:,}",
    ]
    narrowest = summary["narrowest"]
    if narrowest:
        lines.append(f"  narrowest range found: {_range(narrowest)}, for {narrowest['cell']} "
                     f"(the promise: a count of 1 to {summary['threshold'] - 1} at least {summary['protection']} "
                     "apart, no hidden count pinned)")
    for what, why in skipped.items():
        lines.append(f"  not modelled: {what} ({why})")
    leaks = summary["leaks"]
    if not leaks:
        lines.append("PASSED: no hidden count can be worked out more closely than the gate promises.")
        return "\n".join(lines)
    lines.append(f"LEAKS: {len(leaks)} hidden count(s) can be worked out more closely than the gate promises")
    for number, leak in enumerate(leaks, start=1):
        lines.append(f"{number}. {leak['cells'][0]}: {_range(leak)}")
        for other in leak["cells"][1:]:
            lines.append(f"     also published as {other}")
        for cell in leak["given_away_by"]:
            lines.append(f"     given away by: {cell}")
    return "\n".join(lines)


def _range(found: dict) -> str:
    high = "any number" if found["high"] is None else f"{found['high']:g}"
    return f"{found['low']:g} to {high} ({found['width']} apart)"


def add_disclosure_parser(sub) -> None:
    """`divert disclosure audit`."""
    disclosure = sub.add_parser("disclosure", help="the disclosure gate: audit what a role receives")
    commands = disclosure.add_subparsers(dest="disclosure_command", required=True,
                                         parser_class=type(disclosure))
    audit = commands.add_parser("audit", help="try to work out every hidden count a role receives "
                                              "(exit 1 if any can be)")
    audit.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD", action="append",
                       help="an as-of date to attack at (repeat for several; default: the three most recent month "
                            "ends before today, UK time)")
    audit.add_argument("--role", choices=("viewer",), default="viewer",
                       help="the role whose figures are attacked (the viewer: the only role given rounded, "
                            "suppressed figures)")
    audit.add_argument("--format", choices=("text", "json"), default="text")
    audit.set_defaults(func=cmd_audit)
