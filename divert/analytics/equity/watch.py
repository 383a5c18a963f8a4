"""The equity watch: at each step of the pathway, each broad ethnic group's monthly relative
rate against White on a control chart, and alerts when it moves away from where it stood.

Stages (the denominator is the step before):
- formal: possession offences after the launch ending in a formal outcome (charge or caution)
  rather than the diversion outcome, among offences with either;
- engaged: referrals whose assessment was completed, among referrals;
- completed: referrals whose Community Resolution stands (closure "complied"), among those
  who engaged (this includes one-to-one and treatment allocations, which have no course);
- intelligence_log: referrals that ended in an intelligence log (did not engage), among
  referrals.

An event counts only once it is recorded on or before the as-of date. The chart itself is in
`control_chart.py`; this module turns the frames into monthly counts and the chart into
tables and alerts. Everything is measured from the launch, diversion outcome and as-of date
passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from divert.analytics.calendar.months import add_months, month_grid, provisional_expr
from divert.analytics.data.memo import by_content
from divert.analytics.stats import control_chart as cc
from divert.analytics.stats.intervals import risk_ratio
from divert.core import codes

REFERENCE = "White"
GROUPS = ("Mixed", "Asian", "Black", "Other")
STAGES: dict[str, dict] = {
    "formal": {"label": "Formal outcome rather than diversion", "of": "offences with a formal outcome or diversion",
               "phrase": "a formal outcome rather than diversion", "adverse": 1},
    "engaged": {"label": "Engaged (completed the assessment)", "of": "referrals",
                "phrase": "engagement (completed assessment)", "adverse": -1},
    "completed": {"label": "Completed (Community Resolution stands)", "of": "people who engaged",
                  "phrase": "completion", "adverse": -1},
    "intelligence_log": {"label": "Intelligence log (did not engage)", "of": "referrals",
                         "phrase": "an intelligence log", "adverse": 1},
}
# days after a month ends before its outcomes are taken as recorded (until then: provisional)
FOLLOW_UP_DAYS = {"formal": 60, "engaged": 30, "completed": 60, "intelligence_log": 60}

COUNT_SCHEMA = {"stage": pl.String, "month": pl.Date, "group": pl.String, "events": pl.Int64,
                "denominator": pl.Int64, "provisional": pl.Boolean}


@dataclass(frozen=True)
class EquityWatch:
    chart: pl.DataFrame  # one row per stage x group x month
    alerts: pl.DataFrame  # one row per alert


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the {name} frame has no column(s) {', '.join(missing)}")


def _known(column: str, as_of: date) -> pl.Expr:
    """Recorded by as_of: no date (taken as known) or a date on or before it."""
    col = pl.col(column)
    day = col.dt.date() if column.endswith("_at") else col
    return col.is_null() | (day <= as_of)


def stage_events(offences: pl.DataFrame, referrals: pl.DataFrame, *, launch: date, as_of: date,
                 diversion_outcome: int | tuple[int, ...], formal_outcomes=codes.FORMAL_OUTCOMES,
                 group_col: str = "ethnic_group") -> pl.DataFrame:
    """One row per person-event candidate: stage, day, group, event (bool), from the launch to as_of."""
    diversion = (diversion_outcome,) if isinstance(diversion_outcome, int) else tuple(diversion_outcome)
    _require(offences, ("offence_date", "outcome", "outcome_date", group_col), "offences")
    _require(referrals, ("referred_on", "assessment_result", "assessed_at", "closure_result", "closed_on",
                         "intelligence_log_date", group_col), "referrals")
    offs = offences.filter(pl.col("offence_date").is_between(launch, as_of), _known("outcome_date", as_of),
                           pl.col("outcome").is_in([*formal_outcomes, *diversion]))
    formal = offs.select(pl.lit("formal").alias("stage"), pl.col("offence_date").alias("day"),
                         pl.col(group_col).alias("group"), pl.col("outcome").is_in(formal_outcomes).alias("event"))
    refs = referrals.filter(pl.col("referred_on").is_between(launch, as_of)).with_columns(
        ((pl.col("assessment_result") == "completed") & _known("assessed_at", as_of)).fill_null(False).alias("_engaged"),
        ((pl.col("closure_result") == "complied") & _known("closed_on", as_of)).fill_null(False).alias("_complied"),
        (pl.when(pl.col("intelligence_log_date").is_not_null()).then(pl.col("intelligence_log_date") <= as_of)
         .otherwise((pl.col("closure_result") == "not_engaged") & pl.col("closed_on").is_not_null()
                    & (pl.col("closed_on") <= as_of))).fill_null(False).alias("_logged"),
    )
    base = [pl.col("referred_on").alias("day"), pl.col(group_col).alias("group")]
    parts = [
        formal,
        refs.select(pl.lit("engaged").alias("stage"), *base, pl.col("_engaged").alias("event")),
        refs.filter("_engaged").select(pl.lit("completed").alias("stage"), *base, pl.col("_complied").alias("event")),
        refs.select(pl.lit("intelligence_log").alias("stage"), *base, pl.col("_logged").alias("event")),
    ]
    return pl.concat([p.with_columns(pl.col("group").cast(pl.String)) for p in parts])


def stage_counts(offences: pl.DataFrame, referrals: pl.DataFrame, *, launch: date, as_of: date,
                 diversion_outcome: int | tuple[int, ...], formal_outcomes=codes.FORMAL_OUTCOMES,
                 follow_up_days: dict[str, int] | None = None, groups: tuple[str, ...] = GROUPS,
                 group_col: str = "ethnic_group") -> pl.DataFrame:
    """Monthly events and denominators per stage and group (White and `groups`), every month
    from the launch to as_of (zeros filled). Columns: stage, month, group, events,
    denominator, provisional."""
    if as_of < launch:
        raise ValueError(f"the as-of date {as_of} is before the launch {launch}")
    follow = {**FOLLOW_UP_DAYS, **(follow_up_days or {})}
    events = stage_events(offences, referrals, launch=launch, as_of=as_of, diversion_outcome=diversion_outcome,
                          formal_outcomes=formal_outcomes, group_col=group_col)
    wanted = (REFERENCE, *groups)
    counted = events.filter(pl.col("group").is_in(wanted)).group_by(
        "stage", pl.col("day").dt.truncate("1mo").alias("month"), "group"
    ).agg(pl.col("event").sum().cast(pl.Int64).alias("events"), pl.len().cast(pl.Int64).alias("denominator"))
    grid = pl.DataFrame({"stage": list(STAGES)}).join(
        pl.DataFrame({"month": month_grid(launch, as_of)}, schema={"month": pl.Date}), how="cross"
    ).join(pl.DataFrame({"group": list(wanted)}), how="cross")
    table = grid.join(counted, on=["stage", "month", "group"], how="left").with_columns(
        pl.col("events").fill_null(0), pl.col("denominator").fill_null(0)
    )
    provisional = pl.lit(False)
    for stage, days in follow.items():
        provisional = pl.when(pl.col("stage") == stage).then(provisional_expr(pl.col("month"), as_of, days)).otherwise(provisional)
    return table.with_columns(provisional.alias("provisional")).select(list(COUNT_SCHEMA)).cast(COUNT_SCHEMA)


def _arrays(counts: pl.DataFrame, stage: str, groups: tuple[str, ...], months: list[date]):
    part = counts.filter(pl.col("stage") == stage)
    def grid(column: str, group_list) -> np.ndarray:
        wide = part.pivot(on="group", index="month", values=column).sort("month")
        wide = pl.DataFrame({"month": months}, schema={"month": pl.Date}).join(wide, on="month", how="left")
        return np.vstack([wide[g].fill_null(0).to_numpy() if g in wide.columns else np.zeros(len(months)) for g in group_list])
    return grid("events", groups), grid("denominator", groups), grid("events", (REFERENCE,)), grid("denominator", (REFERENCE,))


@by_content
def settled_statistic(a: np.ndarray, n: np.ndarray, b: np.ndarray, m: np.ndarray) -> dict:
    """The control chart's statistic and open alarms (`open`) for the settled months' counts:
    kept by the counts' content (divert.analytics.data.memo.by_content), so a write in a month
    still provisional finds the chart worked out before it. Shared: read-only arrays."""
    stat = cc.ewma_statistic(a, n, b, m)
    stat["open"] = cc.alarm_episodes(stat["z"])["open"]
    for values in stat.values():
        values.setflags(write=False)
    return stat


def chart_from_counts(counts: pl.DataFrame, groups: tuple[str, ...] = GROUPS) -> pl.DataFrame:
    """The control chart for counts as `stage_counts` returns them: one row per stage, group and
    month with the counts, the monthly relative rate against White (95% interval), the
    baseline and smoothed relative rates, the control limits, the statistic and flags."""
    parts = []
    for stage in STAGES:
        stage_rows = counts.filter(pl.col("stage") == stage)
        if stage_rows.is_empty():
            continue
        months = sorted(set(stage_rows["month"].to_list()))
        provisional = dict(zip(stage_rows["month"], stage_rows["provisional"], strict=False))
        flags = np.array([bool(provisional[mo]) for mo in months])
        settled = int(np.argmax(flags)) if flags.any() else len(months)  # provisional months are the newest
        a, n, b, m = _arrays(stage_rows, stage, groups, months)
        stat = settled_statistic(a[:, :settled], n[:, :settled], b[:, :settled], m[:, :settled])
        pad = len(months) - settled

        def column(key, stat=stat, pad=pad):
            values = stat[key]
            filler = False if values.dtype == bool else np.nan
            return np.concatenate([values, np.full((len(groups), pad), filler, dtype=values.dtype)], axis=1).ravel()

        white_b, white_m = np.broadcast_to(b, a.shape).ravel(), np.broadcast_to(m, a.shape).ravel()
        ratios = [risk_ratio(int(x), int(y), int(u), int(v)) for x, y, u, v in zip(a.ravel(), n.ravel(), white_b, white_m, strict=True)]
        with np.errstate(divide="ignore", invalid="ignore"):
            rate, white_rate = a.ravel() / n.ravel(), white_b / white_m
        frame = pl.DataFrame({
            "stage": stage, "stage_label": STAGES[stage]["label"],
            "group": np.repeat(np.array(groups), len(months)), "month": months * len(groups),
            "events": a.ravel(), "denominator": n.ravel(), "white_events": white_b, "white_denominator": white_m,
            "rate": rate, "white_rate": white_rate,
            "rr": [r[0] for r in ratios], "rr_low": [r[1] for r in ratios], "rr_high": [r[2] for r in ratios],
            "baseline_rr": column("baseline_rr"), "ewma_rr": column("ewma_rr"), "lower_limit": column("lower"),
            "upper_limit": column("upper"), "statistic": column("z"),
            "provisional": np.tile(flags, len(groups)), "charted": column("charted"), "alert_open": column("open"),
        }, schema=CHART_SCHEMA, strict=False)
        parts.append(frame)
    if not parts:
        return pl.DataFrame(schema=CHART_SCHEMA)
    return pl.concat(parts).with_columns(pl.col(pl.Float64).fill_nan(None))


CHART_SCHEMA = {
    "stage": pl.String, "stage_label": pl.String, "group": pl.String, "month": pl.Date, "events": pl.Int64,
    "denominator": pl.Int64, "white_events": pl.Int64, "white_denominator": pl.Int64, "rate": pl.Float64,
    "white_rate": pl.Float64, "rr": pl.Float64, "rr_low": pl.Float64, "rr_high": pl.Float64,
    "baseline_rr": pl.Float64, "ewma_rr": pl.Float64, "lower_limit": pl.Float64, "upper_limit": pl.Float64,
    "statistic": pl.Float64, "provisional": pl.Boolean, "charted": pl.Boolean, "alert_open": pl.Boolean,
}


ALERT_SCHEMA = {
    "alert_id": pl.String, "stage": pl.String, "stage_label": pl.String, "group": pl.String,
    "direction": pl.String, "adverse": pl.Boolean, "since": pl.Date, "raised": pl.Date, "last_month": pl.Date,
    "status": pl.String, "closed": pl.Date, "baseline_rr": pl.Float64, "rr": pl.Float64, "rr_low": pl.Float64,
    "rr_high": pl.Float64, "change": pl.Float64, "statistic": pl.Float64, "events": pl.Int64,
    "denominator": pl.Int64, "white_events": pl.Int64, "white_denominator": pl.Int64, "message": pl.String,
    "counts_text": pl.String,  # the counts in words: kept out of `message` so the disclosure gate can drop them
}


def alerts_from_chart(chart: pl.DataFrame) -> pl.DataFrame:
    """Every alert the chart raised (open or closed), newest first. The alert_id
    (stage/group/since-month, and the month raised when an earlier alarm started in the same
    month) stays the same as months are added. Only settled months raise alerts: they are
    kept by those months' content (a write in a provisional month finds them again)."""
    return _alerts_from_settled(chart.filter(~pl.col("provisional")))


@by_content
def _alerts_from_settled(settled: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for (stage, group), part in settled.group_by("stage", "group", maintain_order=True):
        part = part.sort("month")
        z = part["statistic"].fill_null(float("nan")).to_numpy()
        episodes = cc.alarm_episodes(z)
        months = part["month"].to_list()
        for t in np.flatnonzero(episodes["onset"]):
            start = cc.onset_start(z, int(t))
            end = int(t)
            while end + 1 < len(months) and episodes["open"][end + 1] and not episodes["onset"][end + 1]:
                end += 1
            still_open = end == len(months) - 1 and bool(episodes["open"][end])
            span = part.slice(start, end - start + 1)
            counts = [int(span[c].sum()) for c in ("events", "denominator", "white_events", "white_denominator")]
            ratio, low, high = risk_ratio(*counts)
            sign = int(np.sign(z[t]))
            baseline = part["baseline_rr"][int(t)]
            rows.append(_alert_row(stage, group, months[start], months[int(t)], months[end], still_open,
                                   add_months(months[end], 1) if not still_open else None, sign, baseline,
                                   (ratio, low, high), float(z[t]), counts))
    taken: set[str] = set()
    for row in rows:  # two alarms can start in the same month (one ends, the next looks back to it)
        if row["alert_id"] in taken:
            row["alert_id"] = f"{row['alert_id']}/{row['raised']:%Y-%m}"
        taken.add(row["alert_id"])
    return pl.DataFrame(rows, schema=ALERT_SCHEMA).sort("raised", "stage", "group", descending=[True, False, False])


def _alert_row(stage, group, since, raised, last, still_open, closed, sign, baseline, ratio, statistic, counts) -> dict:
    rr, low, high = ratio
    spec = STAGES[stage]
    direction = "higher" if sign > 0 else "lower"
    adverse = sign == spec["adverse"]
    def fmt(x):
        return "n/a" if x is None else f"{x:.2f}"

    when = f"since {since:%B %Y}" if still_open else f"from {since:%B %Y} to {last:%B %Y}"
    message = (
        f"{spec['label']}: for {group} people, {spec['phrase']} {'has been' if still_open else 'was'} {direction} "
        f"relative to White than usual {when}{' (against the group)' if adverse else ''}: {fmt(rr)} times the White "
        f"rate (95% interval {fmt(low)} to {fmt(high)}) against {fmt(baseline)} before."
    )
    counts_text = f"{counts[0]} of {counts[1]} {spec['of']}, against {counts[2]} of {counts[3]} for White"
    return {
        "alert_id": f"{stage}/{group}/{since:%Y-%m}", "stage": stage, "stage_label": spec["label"], "group": group,
        "direction": direction, "adverse": adverse, "since": since, "raised": raised, "last_month": last,
        "status": "open" if still_open else "closed", "closed": closed, "baseline_rr": baseline,
        "rr": rr, "rr_low": low, "rr_high": high,
        "change": rr / baseline if rr is not None and baseline else None, "statistic": statistic,
        "events": counts[0], "denominator": counts[1], "white_events": counts[2], "white_denominator": counts[3],
        "message": message, "counts_text": counts_text,
    }


def equity_watch(offences: pl.DataFrame, referrals: pl.DataFrame, *, launch: date, as_of: date,
                 diversion_outcome: int | tuple[int, ...], formal_outcomes=codes.FORMAL_OUTCOMES,
                 follow_up_days: dict[str, int] | None = None, groups: tuple[str, ...] = GROUPS,
                 group_col: str = "ethnic_group") -> EquityWatch:
    """The watch for the programme launched on `launch`, seen at `as_of`: the chart
    (`chart_from_counts` columns) and the alerts (`alerts_from_chart` columns)."""
    counts = stage_counts(offences, referrals, launch=launch, as_of=as_of,
                          diversion_outcome=diversion_outcome, formal_outcomes=formal_outcomes,
                          follow_up_days=follow_up_days, groups=groups, group_col=group_col)
    chart = chart_from_counts(counts, groups)
    return EquityWatch(chart=chart, alerts=alerts_from_chart(chart))


METHODS = f"""\
### Equity watch: will we notice if a gap opens?

**What is watched.** At four steps of the pathway, each broad ethnic group's monthly rate
against White's (the *relative rate*): a formal outcome rather than diversion (among possession
offences with either, after the launch); engagement (completed assessment, among referrals);
completion (Community Resolution stands, among those who engaged); an intelligence log (among
referrals). Not stated and missing ethnicity are not charted.

**The chart.** Each month the group's events are compared with the events expected had its
relative rate stayed where it stood before (the *baseline*: every month from the launch up to
{cc.GUARD_MONTHS} months ago, at least {cc.MIN_BASELINE_MONTHS} of them, so a change under way does not hide in
its own baseline). The differences are smoothed with an exponentially weighted moving average
(each month weighs {cc.LAMBDA:g}, the one before {cc.LAMBDA * (1 - cc.LAMBDA):g}, and so on) and divided by their
standard error, worked out from binomial variances of the counts (the group's and White's) and
the baseline's own uncertainty. The chart shows the smoothed relative rate with its control
limits; a group is charted only while it and White average at least
{cc.MIN_EVENTS_PER_MONTH:g} of each outcome a month (fewer, and single events would raise alarms).

**An alert** is raised when the statistic passes {cc.LIMIT:g} standard errors either way, and
stays open until it has been back inside for {cc.CLOSE_AFTER} months running. It names the step, the
group, the direction (and whether it is against the group), the relative rate since the run of
months that led to it began, against the baseline, and the counts behind it. Its identity is
step/group/first month, so an acknowledgement stays attached to it as months are added.

**How often it cries wolf.** The limit was set by simulation (binomial counts of four groups
against White, at 0.3 to 20 times the demo's volumes, 60 months, nothing changing) to give at
most {cc.FALSE_ALARMS_PER_STAGE_PER_TWO_YEARS:g} false alarm per step per two years; the simulations gave 0.0 to 0.6.
The test suite re-measures it on every run.

**What it can catch.** At the demo's volumes, a relative rate raised by half in the
intelligence-log step is flagged within three months in about 84% of simulated runs for Black
people and 88% for Asian people; completion falling by a third in 97%, engagement falling by a
third in 74%. The formal-outcome step has few events after the launch (a handful a month per
group), so there a rise by half is caught within three months in only 17% of runs (38% within
six) and a doubling in 59% (88% within six): read a quiet chart there as "no large change", not
as "no change".

**Provisional months.** A month counts only once it is complete at the as-of date and the
step's outcomes have had time to be recorded ({", ".join(f"{k.replace('_', ' ')} {v} days" for k, v in FOLLOW_UP_DAYS.items())}
after the month ends); until then it is shown, marked provisional, and left out of the statistic.
"""


def methods_markdown() -> str:
    return METHODS
