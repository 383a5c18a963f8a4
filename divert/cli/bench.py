"""`divert bench`: the real paths timed on a national-sized data set (divert.bench)."""

from __future__ import annotations

import sys

from divert.cli.common import OK, REJECTED, USAGE


def cmd_bench(args) -> int:
    from pathlib import Path

    from divert.bench.command import IncompleteBench, run

    if args.referrals <= 0 or args.import_rows < 0 or args.repeat < 1:
        print("--referrals and --repeat must be positive and --import-rows not negative", file=sys.stderr)
        return USAGE
    if args.pg is not None and not args.pg.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        print("--pg takes a PostgreSQL server's URL (postgresql://user@host:port/database)", file=sys.stderr)
        return USAGE
    if args.pg is not None and not args.import_rows:
        print("--pg times an import: give --import-rows more than 0", file=sys.stderr)
        return USAGE
    out = Path(args.out)
    try:  # before the long run, not after it
        out.parent.mkdir(parents=True, exist_ok=True)
        out.touch()
    except OSError as error:
        print(f"Cannot write the results to {out}: {error.strerror}", file=sys.stderr)
        return USAGE
    try:
        run(args.referrals, args.db, args.import_rows, out, browser=not args.no_browser, repeat=args.repeat,
            pg_url=args.pg)
    except IncompleteBench as error:
        print(f"The bench did not measure {', '.join(error.args[0])}: see the lines above.", file=sys.stderr)
        return REJECTED
    return OK


def add_bench_parser(sub) -> None:
    """`divert bench`."""
    bench = sub.add_parser("bench", help="time the real paths on a national-sized data set")
    bench.add_argument("--referrals", type=int, default=1_000_000)
    bench.add_argument("--import-rows", type=int, default=200_000, help="rows in the generated referrals import")
    bench.add_argument("--out", default="bench/results.json", help="where to write the results (default bench/results.json)")
    bench.add_argument("--no-browser", action="store_true", help="skip the browser timing (Chromium)")
    bench.add_argument("--pg", metavar="URL", default=None,
                       help="also time the import on this PostgreSQL server, in a new database of its own "
                            "(made through the URL's database and dropped afterwards)")
    bench.add_argument("--repeat", type=int, default=3,
                       help="timed runs of each page for its warm and floor times, the median kept (default 3)")
    bench.set_defaults(func=cmd_bench)
