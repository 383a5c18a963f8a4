"""What the Outcomes page shows: the outcomes of possession offences per month, the two
matching half-years before and after the launch (shares and the gaps between groups), and the
share charged or cautioned per half-year, each through the disclosure gate for the user's role
with the finding for its title.

The figures come from divert.analytics.dashboards.outcomes; this module marks what is
provisional (outcomes can take up to FOLLOW_UP_DAYS["outcome"] days to be recorded), shapes the
frames for the charts and reads the headlines from the gated figures, so a title never says
more than the role may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from divert.analytics.calendar.maturity import cut_off
from divert.analytics.dashboards import outcomes
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.partition import gated_table
from divert.analytics.metrics import GATES
from divert.core import codes
from divert.core.disclosure import Gate

Period = tuple[date, date]
SPLITS = {"Overall": (), "Ethnic group": ("ethnic_group",), "Ethnic group and sex": ("ethnic_group", "sex")}
FACETED = list(outcomes.OUTCOME_ORDER[:5])  # split by group: one small chart each for the five most common kinds
SIDES = {"before": "Before", "after": "After"}


@dataclass(frozen=True)
class BeforeAfter:
    """The before/after comparison: the table as shown, the shares long for the chart, the
    title and the two periods in words."""
    shown: pl.DataFrame
    shares: pl.DataFrame
    title: str
    label: str


@dataclass(frozen=True)
class Gaps:
    """Formal outcomes by group against the reference group: the table, the ratios long for the
    chart, a sentence reading the absolute and relative changes together, and the title."""
    table: pl.DataFrame
    ratios: pl.DataFrame
    reading: str
    title: str


@dataclass(frozen=True)
class HalfYears:
    """The share charged or cautioned per half-year and ethnic group, with its title."""
    table: pl.DataFrame
    title: str
    empty: bool


def _trend(data: Frames, filters: Filters) -> pl.DataFrame:
    """The offences the filters pick, whatever the Period filter (the comparisons fix their own
    periods)."""
    return filters.without_period().apply(data.offences, "offence_date")


def monthly(data: Frames, filters: Filters, gate: Gate) -> tuple[pl.DataFrame, str]:
    """Offences per month by outcome, gated, with the months that end within the outcome
    follow-up of the as-of date marked provisional (some outcomes still pending); and the title:
    the most common outcome in the latest complete month shown."""
    known = cut_off("outcome", filters.as_of_date)

    def exact(chosen: Filters) -> pl.DataFrame:
        frame = outcomes.monthly_outcomes(chosen.apply(data.offences, "offence_date"))
        return frame.with_columns(((pl.col("period").dt.offset_by("1mo") - pl.duration(days=1)) > known)
                                  .alias("provisional"))

    frame = gated_table(gate, exact, data, filters, counts=["offences"], across=[["period"], ["outcome_group"]])
    recent = frame.filter(~pl.col("provisional")).sort("period").tail(3 * len(outcomes.OUTCOME_ORDER))
    recent = recent.filter(pl.col("period") >= recent["period"].max()) if recent.height else recent
    leader = recent.drop_nulls("offences").sort("offences", descending=True).head(1)
    if not leader.height:
        return frame, "Outcomes of possession offences per month"
    return frame, f"{leader['outcome_group'][0]} was the most common outcome in {leader['period'][0]:%B %Y}"


def after_provisional(after: Period, as_of: date) -> bool:
    """Whether the after period ends within the outcome follow-up of the as-of date, so that
    some of its offences still await an outcome."""
    return after[1] > cut_off("outcome", as_of)


def _sexes_named(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("sex").replace_strict(codes.SEXES, default=pl.col("sex")))


def _split(cube: pl.DataFrame, filters: Filters, by: tuple[str, ...]) -> pl.DataFrame:
    """The rows of the cross-table for the split `by`: the characteristics not split by are
    summed over ("All"), or are the one value a filter chose."""
    for column in ("ethnic_group", "sex"):
        chosen = getattr(filters, column)
        if column in by:
            cube = cube.filter(pl.col(column) != outcomes.ALL)
        else:
            cube = cube.filter(pl.col(column) == (chosen or outcomes.ALL))
    table = cube.drop([c for c in ("ethnic_group", "sex") if c not in by] + ["level"])
    return _sexes_named(table) if "sex" in by else table


def _long(frame: pl.DataFrame, index: list[str], measure: str, value: str) -> pl.DataFrame:
    """`measure`_before and `measure`_after as rows, with the period named Before or After."""
    long = frame.unpivot(index=index, on=[f"{measure}_{s}" for s in SIDES], variable_name="period", value_name=value)
    return long.with_columns(pl.col("period").replace_strict({f"{measure}_{s}": name for s, name in SIDES.items()}))


def _group(by) -> pl.Expr:
    return pl.concat_str([pl.col(c).cast(pl.String) for c in by], separator=" ").alias("group")


def before_after(data: Frames, filters: Filters, gate: Gate, before: Period, after: Period,
                 by: tuple[str, ...]) -> BeforeAfter:
    """Every outcome's share of possession offences in the two periods (overall, or for each
    group in `by`), gated; the title gives the share charged or cautioned before and after
    (overall only, and only when both are shown)."""
    def exact(chosen: Filters) -> pl.DataFrame:
        return outcomes.before_after_cube(_trend(data, chosen), before, after)

    # every split is cut from one cross-table, gated as a whole, so that a cell is shown or hidden
    # alike in every split and every view of one sex or ethnic group that holds it
    cube = gated_table(gate, exact, data, filters, **GATES["outcomes"])
    table = _split(cube, filters, by)
    label = f"{before[0]:%b %Y}-{before[1]:%b %Y} vs {after[0]:%b %Y}-{after[1]:%b %Y}"
    shown = table.select([*by, "outcome", "count_before", "share_before", "count_after", "share_after", "change_points",
                          "change_points_low", "change_points_high", "offences_before", "offences_after",
                          "share_before_low", "share_before_high", "share_after_low", "share_after_high"])
    shares = _long(table, [*by, "outcome"], "share", "share")
    if by:  # one small chart per outcome, the groups side by side before and after
        shares = shares.with_columns(_group(by)).filter(pl.col("outcome").is_in(FACETED))
    formal = table.filter(pl.col("outcome").is_in(["Charge/summons", "Caution"])) if not by else table.head(0)
    formal_before, formal_after = (
        formal[c].sum() if formal.height and formal[c].null_count() == 0 else None for c in ("share_before", "share_after"))
    title = (f"Charged or cautioned: {formal_before:.0%} of possession offences before, {formal_after:.0%} after"
             if formal_before is not None and formal_after is not None else f"Outcome shares, {label}")
    return BeforeAfter(shown, shares, title, label)


def gaps(data: Frames, filters: Filters, gate: Gate, before: Period, after: Period, by: tuple[str, ...]) -> Gaps:
    """The share charged or cautioned for each ethnic group (and sex, when the split has it)
    before and after, and its ratio to the reference group's, gated; the title names the widest
    gap in the after period, as rounded for the role."""
    gap_by = ("ethnic_group", "sex") if "sex" in by else ("ethnic_group",)
    def exact(chosen: Filters) -> pl.DataFrame:
        frame = outcomes.formal_gaps(_trend(data, chosen), before, after, by=gap_by)
        if "sex" in gap_by:
            frame = _sexes_named(frame).with_columns(pl.col("reference").str.replace(r" (M|F|X|U)$", ""))
        return frame

    frame = gated_table(gate, exact, data, filters, **GATES["gaps"])
    rows = frame.filter(pl.col("ratio_before").is_not_null() | pl.col("is_reference")).with_columns(_group(gap_by))
    ratios = _long(rows, ["group"], "ratio", "ratio")
    widest = rows.filter(~pl.col("is_reference")).drop_nulls("ratio_after").sort("ratio_after", descending=True).head(1)
    if widest.height:
        fixed = after == outcomes.comparison_periods(data.programme.launch)[1]
        ratio = widest["ratio_after"][0]
        title = (f"{after[0]:%b}-{after[1]:%b %Y} ({'the fixed comparison half-year' if fixed else 'the chosen after period'}, "
                 f"not the Period filter): {widest['group'][0]} offences were "
                 + (f"{ratio:.2f}" if gate.exact else f"about {ratio:g}")  # as rounded
                 + " times as likely as White ones to be charged or cautioned")
    else:
        title = "Times as likely to be charged or cautioned as the reference group"
    return Gaps(frame.drop("is_reference"), ratios, outcomes.gap_reading(frame), title)


def _fell_for_every_group(formal: pl.DataFrame, launch: date) -> bool:
    """Whether, for more than one group, the latest complete half-year's share is below the
    group's average over the complete half-years before the launch."""
    if "starts" not in formal.columns or formal.is_empty():
        return False
    complete = formal.filter(~pl.col("provisional"))
    pre = complete.filter(pl.col("starts") < launch).group_by("ethnic_group").agg(pl.col("formal_share").mean().alias("pre"))
    latest = complete.sort("starts").group_by("ethnic_group").agg(pl.col("formal_share").last().alias("latest"))
    moved = pre.join(latest, on="ethnic_group").drop_nulls()
    return moved.height > 1 and bool((moved["latest"] < moved["pre"]).all())


def formal_by_half_year(data: Frames, filters: Filters, gate: Gate) -> HalfYears:
    """The share of each ethnic group's possession offences charged or cautioned per half-year
    since the first record (not limited by the Period filter), gated, with each half-year's
    first day (`starts`) and whether it is provisional (not over, or within the outcome
    follow-up of the as-of date)."""
    offences = _trend(data, filters)
    known = cut_off("outcome", filters.as_of_date)
    periods = outcomes.half_years(offences["offence_date"].min() or filters.as_of_date, filters.as_of_date)
    formal = outcomes.formal_share(offences, periods, by=("ethnic_group",))
    if not formal.is_empty():
        order = {name: i for i, name in enumerate(periods)}
        formal = formal.with_columns(
            pl.col("period").replace_strict({n: p[0] for n, p in periods.items()}, return_dtype=pl.Date).alias("starts"),
            pl.col("period").replace_strict({n: p[1] > known for n, p in periods.items()}, return_dtype=pl.Boolean)
            .alias("provisional"),
        ).sort("ethnic_group", pl.col("period").replace_strict(order))
    formal = gate.table(formal, ["formal_outcomes", "offences"], {"formal_share": ["offences", "formal_outcomes"]},
                        across=[["period"], ["ethnic_group"]])
    title = ("The share charged or cautioned fell for every ethnic group after the launch"
             if _fell_for_every_group(formal, data.programme.launch)
             else "Share with a formal outcome (charge or caution), by ethnic group")
    return HalfYears(formal, title, formal.is_empty())
