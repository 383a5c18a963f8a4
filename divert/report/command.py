"""`divert report --from D --to D --out FILE.pdf [--as-of D] [--role R]`: writes FILE.pdf and
FILE.html. Exit 0 on success, 1 on rejected input (with the reason), 2 on usage errors."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from divert.core import wording

OK, REJECTED, USAGE = 0, 1, 2


def run(args, engine_of) -> int:
    from divert.analytics.calendar.months import default_as_of
    from divert.core.clock import today

    try:
        start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
        # by default the last month end that is over, as on every role's pages
        as_of = date.fromisoformat(args.as_of) if args.as_of else default_as_of(today())
    except ValueError:
        print("--from, --to and --as-of take dates as YYYY-MM-DD", file=sys.stderr)
        return USAGE
    out = Path(args.out)
    if out.suffix.lower() != ".pdf":
        print("--out names the PDF to write, ending in .pdf (the HTML version is written beside it)", file=sys.stderr)
        return USAGE
    from divert.report import check_request, file_stem, make
    from divert.report.blocks import ReportError

    problems = check_request(args.role, start, end, as_of)
    if not out.parent.is_dir():
        problems.append(f"There is no folder {out.parent} to write the pack in.")
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return REJECTED
    engine = engine_of(args)
    try:
        files = make(engine, start=start, end=end, as_of=as_of, role=args.role, progress=_progress)
    except ReportError as error:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        print(str(error), file=sys.stderr)
        return REJECTED
    html = out.with_suffix(".html")
    out.write_bytes(files.pdf)
    html.write_bytes(files.html)
    from divert.records.acting import command_line_actor
    from divert.records.exports import record_export
    from divert.report import audit_details

    record_export(command_line_actor(), audit_details(files.pack, {"pdf": out.name, "html": html.name,
                                                                         "suggested_name": file_stem(files.pack)}),
                  engine=engine)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    pack = files.pack
    chosen = "" if args.as_of else " (the last month end: give --as-of for another date)"
    print(f"Board pack for {pack.period_text}, as of {wording.day(pack.as_of)}{chosen}, for the {pack.role} role "
          f"(data version {pack.data_version}):")
    print(f"  {out}  ({len(files.pdf):,} bytes)")
    print(f"  {html}  ({len(files.html):,} bytes)")
    return OK


def _progress(step: str, fraction: float) -> None:
    if sys.stderr.isatty():
        print(f"\r{step:<40} {fraction:6.0%}", end="", file=sys.stderr, flush=True)
