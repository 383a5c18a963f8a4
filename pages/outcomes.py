"""Outcomes: what happened to possession offences, before and after diversion."""


import altair as alt
import polars as pl
import streamlit as st

from divert.analytics.calendar.maturity import FOLLOW_UP_DAYS, cut_off
from divert.analytics.dashboards import outcomes
from divert.charts import build
from divert.core import codes
from divert.web import access, dashboard, ui

user = ui.require_role(*access.ALL_ROLES)
st.title("Outcomes")
filters = dashboard.filter_bar("outcomes")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
trend_offences = filters.without_period().apply(data.offences, "offence_date")
launch = data.programme.launch
gate = dashboard.gate(user.role)
known = cut_off("outcome", filters.as_of_date)  # later offences may still await their outcome

monthly = outcomes.monthly_outcomes(filters.apply(data.offences, "offence_date"))
monthly = monthly.with_columns(((pl.col("period").dt.offset_by("1mo") - pl.duration(days=1)) > known).alias("provisional"))
monthly = gate.table(monthly, ["offences"], across=[["period"], ["outcome_group"]])
recent_months = monthly.filter(~pl.col("provisional")).sort("period").tail(3 * len(outcomes.OUTCOME_ORDER))
recent_months = recent_months.filter(pl.col("period") >= recent_months["period"].max()) if recent_months.height else recent_months
leader = recent_months.drop_nulls("offences").sort("offences", descending=True).head(1)
dashboard.chart_block(
    f"{leader['outcome_group'][0]} was the most common outcome in {leader['period'][0]:%B %Y}" if leader.height
    else "Outcomes of possession offences per month",
    f"Home Office outcome of each possession offence recorded in the period, by the month of the offence (title: the "
    f"latest complete month). Diversion started in {data.programme.launch_label}. Months within "
    f"{FOLLOW_UP_DAYS['outcome']} days of the as-of date are pale (provisional): some of their outcomes are still "
    "pending.",
    build.bars(monthly, "period", "offences", y_title="Offences", x_title="", color="outcome_group",
                color_title="Outcome", temporal=True, domain=outcomes.OUTCOME_ORDER,
                policy=launch if not filters.start or filters.start <= launch else None),
    monthly, "outcomes_per_month", counts=["offences"],
)

st.subheader("Before and after the launch")
default_before, default_after = outcomes.comparison_periods(launch)
st.caption(f"Two matching half-years, the same on every split: by default the programme's own comparison, "
           f"{default_before[0]:%B}-{default_before[1]:%B %Y} (before the launch) with "
           f"{default_after[0]:%B}-{default_after[1]:%B %Y}. Every outcome is counted, offences still awaiting one "
           "included, so each period's shares add up to 100%. Not limited by the Period filter.")
if gate.exact:
    c1, c2 = st.columns(2)
    before = c1.date_input("Before", value=default_before, format="DD/MM/YYYY", key="outcomes_before")
    after = c2.date_input("After", value=default_after, format="DD/MM/YYYY", max_value=filters.as_of_date,
                          key="outcomes_after")
else:  # viewers compare the fixed, published periods: no differencing of custom windows
    before, after = default_before, default_after
if not (isinstance(before, tuple) and len(before) == 2 and isinstance(after, tuple) and len(after) == 2):
    st.info("Pick a start and an end date for both periods.")
    st.stop()
st.markdown(f"**Before:** {before[0]:%-d %B %Y} to {before[1]:%-d %B %Y}. **After:** {after[0]:%-d %B %Y} to "
            f"{after[1]:%-d %B %Y}.")
if after[1] > known:
    st.warning(f"The after period ends within {FOLLOW_UP_DAYS['outcome']} days of the as-of date: some of its "
               "offences are still awaiting an outcome, so its shares are provisional.", icon=":material/schedule:")
by_choice = st.segmented_control("Split by", ["Overall", "Ethnic group", "Ethnic group and sex"], default="Overall",
                                 key="outcomes_by") or "Overall"
by = {"Overall": (), "Ethnic group": ("ethnic_group",), "Ethnic group and sex": ("ethnic_group", "sex")}[by_choice]
table = outcomes.before_after(trend_offences, before, after, by=by)
table = table.with_columns(pl.col("sex").replace_strict(codes.SEXES, default=pl.col("sex"))) if "sex" in by else table
table = gate.table(table, ["count_before", "count_after", "offences_before", "offences_after"],
                   {"share_before": ["offences_before", "count_before"], "share_after": ["offences_after", "count_after"],
                    "change_points": ["offences_before", "count_before", "offences_after", "count_after"]},
                   across=[[*by], ["outcome"]])
label = f"{before[0]:%b %Y}-{before[1]:%b %Y} vs {after[0]:%b %Y}-{after[1]:%b %Y}"
shown = table.select([*by, "outcome", "count_before", "share_before", "count_after", "share_after", "change_points",
                      "change_points_low", "change_points_high", "offences_before", "offences_after",
                      "share_before_low", "share_before_high", "share_after_low", "share_after_high"])
long = table.unpivot(index=[*by, "outcome"], on=["share_before", "share_after"], variable_name="period", value_name="share")
long = long.with_columns(pl.col("period").replace_strict({"share_before": "Before", "share_after": "After"}))
if by:  # one small chart per outcome, the groups side by side before and after
    long = long.with_columns(pl.concat_str([pl.col(c).cast(pl.String) for c in by], separator=" ").alias("group"))
    shown_outcomes = [o for o in outcomes.OUTCOME_ORDER[:5]]
    chart = build.bars(long.filter(pl.col("outcome").is_in(shown_outcomes)), "group", "share",
                        y_title="Share of the group's offences", color="period", color_title="Period",
                        domain=["Before", "After"], grouped=True, share=True).properties(width=210).facet(
        facet=alt.Facet("outcome:N", title=None, sort=shown_outcomes), columns=3)
else:
    chart = build.bars(long, "outcome", "share", y_title="Share of possession offences", color="period",
                        color_title="Period", domain=["Before", "After"], grouped=True, share=True, sort=list(outcomes.OUTCOME_ORDER))
formal_now = table.filter(pl.col("outcome").is_in(["Charge/summons", "Caution"])) if not by else table.head(0)
formal_before = formal_now["share_before"].sum() if formal_now.height and formal_now["share_before"].null_count() == 0 else None
formal_after = formal_now["share_after"].sum() if formal_now.height and formal_now["share_after"].null_count() == 0 else None
dashboard.chart_block(
    f"Charged or cautioned: {formal_before:.0%} of possession offences before, {formal_after:.0%} after"
    if formal_before is not None and formal_after is not None else f"Outcome shares, {label}",
    f"Share of possession offences with each outcome, {label} (95% intervals and the change in percentage points, "
    "with its interval, in the table). Changes are in shares, not counts: counts also rose because more offences "
    "were recorded after the launch." + (" One chart per outcome (the five most common kinds); every outcome is in "
                                          "the table." if by else ""),
    chart, shown, "outcomes_before_after", counts=["count_before", "count_after"],
)

st.subheader("Gaps between groups: absolute and relative")
gap_by = ("ethnic_group", "sex") if "sex" in by else ("ethnic_group",)
gaps = outcomes.formal_gaps(trend_offences, before, after, by=gap_by)
if "sex" in gap_by:
    gaps = gaps.with_columns(pl.col("sex").replace_strict(codes.SEXES, default=pl.col("sex")),
                             pl.col("reference").str.replace(r" (M|F|X|U)$", ""))
gaps = gate.table(gaps, ["formal_before", "formal_after", "offences_before", "offences_after"],
                  {"share_before": ["offences_before", "formal_before"], "share_after": ["offences_after", "formal_after"],
                   "change_points": ["offences_before", "formal_before", "offences_after", "formal_after"],
                   "ratio_before": ["offences_before", "formal_before"], "ratio_after": ["offences_after", "formal_after"]},
                  across=[[]])
st.info(outcomes.gap_reading(gaps), icon=":material/balance:")
gap_rows = gaps.filter(pl.col("ratio_before").is_not_null() | pl.col("is_reference")).with_columns(
    pl.concat_str([pl.col(c).cast(pl.String) for c in gap_by], separator=" ").alias("group"))
ratios = gap_rows.unpivot(index=["group"], on=["ratio_before", "ratio_after"], variable_name="period", value_name="ratio")
ratios = ratios.with_columns(pl.col("period").replace_strict({"ratio_before": "Before", "ratio_after": "After"}))
widest = gap_rows.filter(~pl.col("is_reference")).drop_nulls("ratio_after").sort("ratio_after", descending=True).head(1)
dashboard.chart_block(
    f"{after[0]:%b}-{after[1]:%b %Y} ({'the fixed comparison half-year' if after == default_after else 'the chosen after period'}, "
    f"not the Period filter): {widest['group'][0]} offences were "
    + (f"{widest['ratio_after'][0]:.2f}" if gate.exact else f"about {widest['ratio_after'][0]:g}")  # as rounded
    + " times as likely as White ones to be charged or cautioned" if widest.height else
    "Times as likely to be charged or cautioned as the reference group",
    "For each group, the share of its possession offences charged or cautioned divided by the reference group's "
    "share (White; White of the same sex when split by sex), before and after. 1 (dashed) means the same. Read it "
    "beside the shares: a share can fall for everyone while the ratio between groups widens. The reference row is 1 "
    "by definition and has no interval. The two half-years are fixed (above), whatever the Period filter: the "
    "Overview's widest gap is over the chosen period, and the Disparity page's decision points are rates at each "
    "step, so their ratios differ from these.",
    build.bars(ratios, "group", "ratio", y_title="Times as likely as the reference group", color="period",
                color_title="Period", domain=["Before", "After"], grouped=True)
    + build.target_rule(1.0, "Same as the reference group", horizontal=False),
    gaps.drop("is_reference"), "formal_outcome_gaps", counts=["formal_before", "formal_after"],
)

first = trend_offences["offence_date"].min() or filters.as_of_date
periods = outcomes.half_years(first, filters.as_of_date)
formal = outcomes.formal_share(trend_offences, periods, by=("ethnic_group",))
if not formal.is_empty():
    order = {name: i for i, name in enumerate(periods)}
    formal = formal.with_columns(
        pl.col("period").replace_strict({n: p[0] for n, p in periods.items()}, return_dtype=pl.Date).alias("starts"),
        pl.col("period").replace_strict({n: p[1] > known for n, p in periods.items()}, return_dtype=pl.Boolean)
        .alias("provisional"),
    ).sort("ethnic_group", pl.col("period").replace_strict(order))
formal = gate.table(formal, ["formal_outcomes", "offences"], {"formal_share": ["offences", "formal_outcomes"]},
                    across=[["period"], ["ethnic_group"]])
fell_for_all = False
if "starts" in formal.columns and not formal.is_empty():
    complete = formal.filter(~pl.col("provisional"))
    pre = complete.filter(pl.col("starts") < launch).group_by("ethnic_group").agg(pl.col("formal_share").mean().alias("pre"))
    latest = complete.sort("starts").group_by("ethnic_group").agg(pl.col("formal_share").last().alias("latest"))
    moved = pre.join(latest, on="ethnic_group").drop_nulls()
    fell_for_all = moved.height > 1 and bool((moved["latest"] < moved["pre"]).all())
dashboard.chart_block(
    "The share charged or cautioned fell for every ethnic group after the launch" if fell_for_all
    else "Share with a formal outcome (charge or caution), by ethnic group",
    "Per half-year since the first record (the whole series, not limited by the Period filter), the share of each "
    "group's possession offences that ended in a charge or caution, with its 95% interval (shaded); the other "
    "groups are drawn in grey behind it for comparison. A half-year not over, or with outcomes still pending, is "
    "hollow (provisional).",
    build.compare_groups(formal, "starts", "formal_share", "ethnic_group", y_title="Charged or cautioned",
                          order=list(codes.BROAD_GROUPS) + ["Missing"], band=("formal_share_low", "formal_share_high"),
                          share=True, policy=launch, every="6mo") if not formal.is_empty() else None,
    formal, "formal_outcome_share", counts=["formal_outcomes", "offences"],
)
