"""`divert metrics` and `divert report`: the numbers behind a dashboard, and the board pack."""

from __future__ import annotations

import sys

from divert.cli.common import OK, REJECTED, USAGE, db_engine
from divert.core import codes

FILTER_OPTIONS = {"area": "--area", "referral_source": "--referral-source", "age_band": "--age-band", "sex": "--sex",
                  "ethnic_group": "--ethnic-group"}
PERIOD_OPTIONS = {"start": "--from", "end": "--to"}
BY_PERIOD_OPTIONS = {"by": "--by", "ahead": "--ahead"}  # forecast and capacity by week, month or quarter
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
    "value": {**PERIOD_OPTIONS, **FILTER_OPTIONS},
    "capacity": {**PERIOD_OPTIONS, **FILTER_OPTIONS, **BY_PERIOD_OPTIONS},
    "forecast": {**FILTER_OPTIONS, **BY_PERIOD_OPTIONS},
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
    given = [flag for dest, flag in {**PERIOD_OPTIONS, **FILTER_OPTIONS, **DISPARITY_OPTIONS, **BY_PERIOD_OPTIONS,
                                     "months": "--months", "group": "--group"}.items()
             if getattr(args, dest, None) is not None and dest not in honoured]
    if not given:
        return None
    reason = WHY_NOT.get(args.name, f"{args.name} does not use them")
    return f"{', '.join(given)} cannot be used with `metrics {args.name}`: {reason}."


def _usage_problem(args, start, end, as_of) -> str | None:
    """Why the options given cannot be used together, checked in this order; None if they can."""
    from divert.core.clock import today

    if as_of > today():
        return "--as-of cannot be after today"
    if start and end and start > end:
        return "--from must not be after --to"
    refused = _refused_options(args)
    if refused:
        return refused
    if args.months is not None and not 1 <= args.months <= 60:
        return "--months must be between 1 and 60"
    return None


def _disparity(args, frames, start, end, as_of):
    """The disparity table and its problem (None if there is none); without a problem, the
    denominator used (or the one missing) goes to standard error."""
    from divert.analytics.equity.disparity import disparity_table

    table, problem = disparity_table(frames, args.source or "pathway", force=args.force, start=start, end=end,
                                     as_of=as_of, object_of_search=args.object, ethnicity=args.ethnicity or "self",
                                     level=args.level or "broad", census=args.census or "interpolated")
    if problem:
        return table, problem
    from divert.analytics.equity.disparity import denominator_note

    print(f"Denominator: {denominator_note(table)}", file=sys.stderr)  # the census used, or the one missing
    return table, None


def _gated(args, gate, table, frames, filters):
    """The table as the role sees it, or None (on standard error: not published to the role)."""
    from divert.analytics.data.partition import gated_table
    from divert.analytics.metrics import GATES, METRICS

    spec = GATES.get(f"disparity:{args.source or 'pathway'}" if args.name == "disparity" else args.name)
    if spec is None:
        print(f"`metrics {args.name}` is not published to the {args.role} role", file=sys.stderr)
        return None
    exact = table  # the table asked for; the other values of a filter chosen are made as the page makes them
    return gated_table(gate, lambda f: exact if f == filters else METRICS[args.name](frames, f), frames, filters, **spec)


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
    problem = _usage_problem(args, start, end, as_of)
    if problem:
        print(problem, file=sys.stderr)
        return USAGE
    filters = Filters(start=start, end=end, area=args.area, source=args.referral_source, age_band=args.age_band,
                      sex=args.sex, ethnic_group=args.ethnic_group, as_of=as_of)
    frames = load_frames(db_engine(args)).at(as_of)
    gate = _gate(args)
    if not gate.exact:
        from divert.core.disclosure import too_narrow

        reason = too_narrow(frames, filters, gate.threshold)
        if reason:
            print(reason, file=sys.stderr)
            return REJECTED
    if args.name == "disparity":
        table, problem = _disparity(args, frames, start, end, as_of)
        if problem:
            print(problem, file=sys.stderr)
            return USAGE
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
            table = equity.alerts_for(frames, filters, gate, db_engine(args))
    elif args.name == "value":
        from divert.analytics.metrics import value_table

        table = value_table(frames, filters, gate)  # worked out from the counts as the role sees them
    elif args.name in ("forecast", "capacity") and (getattr(args, "by", None) or getattr(args, "ahead", None)):
        if (table := _by_period(args, frames, filters)) is None:  # the problem is on standard error
            return USAGE
    elif args.name == "volume-change" and args.months:
        from divert.analytics.metrics import volume_change_table

        table = volume_change_table(frames, filters, months=args.months)
    else:
        table = METRICS[args.name](frames, filters)
        if gate.exact and args.name == "outcomes":  # cut from the one cross-table, as every role's view is
            from divert.analytics.data.partition import gated_table
            from divert.analytics.metrics import GATES

            table = gated_table(gate, lambda f: METRICS[args.name](frames, f), frames, filters, **GATES[args.name])
    if not gate.exact and args.name not in ("overview", "alerts", "value"):
        if (table := _gated(args, gate, table, frames, filters)) is None:
            return USAGE
    if args.format == "json":
        print(jsonlib.dumps(table.to_dicts(), default=str, indent=1))
    else:
        from divert.core.safe_csv import neutralised

        sys.stdout.write(neutralised(table).write_csv())
    return OK


def _by_period(args, frames, filters):
    """`metrics forecast|capacity --by week|month|quarter [--ahead N]`: the forecast (with the
    work it means) or the course seats by week, calendar month or quarter over the N whole
    periods after the as-of date, the total over them last (as the Forecast and Capacity pages
    and the board pack show them), with the horizon in words on standard error; or None, with
    the problem on standard error."""
    from divert.analytics.calendar.weeks import snapshot
    from divert.analytics.planning import by_period, forecast, periods
    from divert.analytics.planning.assumptions import plan_from_rates
    from divert.analytics.planning.rates import rates_for

    if not args.by:
        return _refuse("--ahead needs --by (week, month or quarter)")
    most = max(periods.CHOICES[args.by])
    count = args.ahead if args.ahead is not None else periods.DEFAULT_PERIODS[args.by]
    if not 1 <= count <= most:
        return _refuse(f"--ahead must be between 1 and {most} with --by {args.by}")
    if filters.start or filters.end:
        return _refuse("--from and --to cannot be used with --by: the periods are counted from the as-of date")
    data, as_of = snapshot(frames, filters)
    result = forecast.referrals_forecast(data, filters, with_backtest=False)  # the pages' forecast, without its test
    plan = plan_from_rates(rates_for(data, filters))
    if args.name == "forecast":
        planned = by_period.planned(result, plan, args.by, count)
        if planned is None:
            return _refuse(result.note or "There is not enough history to forecast referrals.")
        print(planned.horizon.words() + "." + (f" {planned.note}" if planned.note else ""), file=sys.stderr)
        return planned.table
    seats = by_period.seats_by_period(data.sessions, result, plan, as_of, args.by, count)
    print(seats.note, file=sys.stderr)
    return seats.table


def _refuse(problem: str) -> None:
    print(problem, file=sys.stderr)


def _gate(args):
    from divert.core.disclosure import Gate
    from divert.records import stored_settings

    return Gate(args.role, stored_settings.load(db_engine(args)).small_number_threshold)


def _overview_json(table) -> dict:
    first = table.row(0, named=True) if table.height else {}
    return {
        "as_of": first.get("as_of"), "data_up_to": first.get("data_up_to"),
        "period": {"start": first.get("period_start"), "end": first.get("period_end")},
        "previous_period": {"start": first.get("previous_start"), "end": first.get("previous_end")},
        "measures": table.select("measure", "label", "unit", "value", "previous", "change").to_dicts(),
    }


def cmd_report(args) -> int:
    from divert.report.command import run

    return run(args, db_engine)


def add_metrics_parser(sub) -> None:
    """`divert metrics`."""
    from divert.analytics.metrics import METRICS

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
    metrics.add_argument("--by", choices=["week", "month", "quarter"],
                         help="forecast, capacity: by week, calendar month or calendar quarter, counted from after "
                              "the as-of date, with the total last")
    metrics.add_argument("--ahead", type=int, help="forecast, capacity with --by: how many whole periods after the "
                                                   "as-of date (default 13 weeks, 3 months or 1 quarter)")
    disparity.add_argument("--source", choices=["stop-search", "pathway"], help="default: pathway")
    disparity.add_argument("--force", help="police force (default: the configured force)")
    disparity.add_argument("--object", help='object of search, e.g. "Controlled drugs"')
    disparity.add_argument("--ethnicity", choices=["self", "officer"], help="default: self")
    disparity.add_argument("--level", choices=["broad", "detailed"], help="default: broad")
    disparity.add_argument("--census", choices=["interpolated", "2011", "2021"],
                           help="population denominator: each year interpolated between the censuses (default), or one census")
    metrics.set_defaults(func=cmd_metrics)


def add_report_parser(sub) -> None:
    """`divert report`."""
    report = sub.add_parser("report", help="the board pack for a period: a PDF and an HTML version beside it")
    report.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    report.add_argument("--out", required=True, metavar="FILE.pdf", help="the PDF to write; FILE.html is written too")
    report.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                        help="default: the last month end before today, UK time")
    report.add_argument("--role", default="viewer", help="viewer (the published pack, default), manager or admin")
    report.set_defaults(func=cmd_report)
