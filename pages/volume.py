"""Volume: recorded possession offences and referrals over time, and who they are."""

import polars as pl
import streamlit as st

from divert import auth, charts, codes, dashboard, ui
from divert.analytics import volume
from divert.analytics.maturity import with_provisional
from divert.analytics.metrics import volume_change_table

user = ui.require_role(*auth.ALL_ROLES)
st.title("Volume")
filters = dashboard.filter_bar("volume")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
offences = filters.apply(data.offences, "offence_date")
referrals = filters.apply(data.referrals, "referred_on")
launch = data.programme.launch
st.caption(f"Showing {filters.describe()}.")

change = volume_change_table(data, filters).row(0, named=True)
if change["change_pct"] is not None:
    c1, c2, c3 = st.columns(3)
    c1.metric("Offences a month before the launch", f"{change['mean_before']:,.0f}",
              help=f"Mean of the {change['months_before']} complete months before {data.programme.launch_label}")
    c2.metric("Offences a month since", f"{change['mean_after']:,.0f}",
              help=f"Mean of the {change['months_after']} complete months from {data.programme.launch_label} to the as-of date")
    c3.metric("Change in level", f"{change['change_pct']:+.0f}%", help="Ratio of the two monthly means (Poisson rate ratio).")
    c3.caption(f"95% interval {change['ci_low_pct']:+.0f}% to {change['ci_high_pct']:+.0f}%")
    st.caption(
        "Recorded possession offences usually rise when diversion starts: offences that used to go "
        "unrecorded are now recorded so that they can be referred. The interval says how sure the "
        "change is given month-to-month variation; it does not adjust for trends already under way."
    )

monthly = volume.per_period(offences, "offence_date", start=filters.start, end=filters.end)
monthly = dashboard.protect(with_provisional(monthly, filters.as_of_date), user.role, ["count"])
dashboard.chart_block(
    "Recorded possession offences per month",
    f"Every possession offence the force recorded in the period, by month, with the start of diversion marked "
    f"({data.programme.launch_label}). The current month is not over yet: its point is hollow (provisional).",
    charts.line(monthly, "period", "count", y_title="Offences", policy=launch if filters.start is None or filters.start <= launch else None),
    monthly, "offences_per_month", counts=["count"],
)

weekly = volume.per_period(referrals, "referred_on", "1w", start=filters.start, end=filters.end)
weekly = dashboard.protect(with_provisional(weekly, filters.as_of_date, "1w"), user.role, ["count"])
dashboard.chart_block(
    "Referrals per week",
    "Referrals to the drug-intervention provider each week (weeks start on Monday). The week that is not over "
    "at the as-of date is hollow (provisional).",
    charts.line(weekly, "period", "count", y_title="Referrals", x_title="Week"),
    weekly, "referrals_per_week", counts=["count"],
    empty="No referrals for these filters. Referrals start when diversion starts (October 2020).",
)

labels = {"area": ("Local policing area", codes.area_label), "source": ("Source", codes.REFERRAL_SOURCES.get),
          "drug": ("Drug", codes.DRUGS.get), "age_band": ("Age band", None), "sex": ("Sex", codes.SEXES.get),
          "ethnic_group": ("Ethnic group (self-defined)", None)}
by = st.segmented_control("Break offences down by", list(labels), format_func=lambda k: labels[k][0], default="area",
                          key="volume_breakdown") or "area"
title, label_of = labels[by]
table = volume.breakdown(offences, by)
if label_of is not None:
    table = table.with_columns(pl.col(by).map_elements(lambda v: label_of(v) or v, return_dtype=pl.String))
table = dashboard.protect(table, user.role, ["count"], {"share": "count"}, group_by=[])
dashboard.chart_block(
    f"Offences by {title.lower()}",
    f"Recorded possession offences in the period by {title.lower()}; 'Missing' and 'Not stated' are shown, not dropped.",
    charts.bars(table, by, "count", y_title="Offences", x_title=title, horizontal=True, sort="-x",
                tooltip_extra=[{"field": "share", "type": "quantitative", "format": ".1%", "title": "Share"}]),
    table, f"offences_by_{by}", counts=["count"],
)

areas = volume.per_period_by(offences, "offence_date", "area")
areas = areas.with_columns(pl.col("area").map_elements(codes.area_label, return_dtype=pl.String))
areas = dashboard.protect(areas, user.role, ["count"])
dashboard.chart_block(
    "Offences per month in each area",
    "One small chart per local policing area (each on its own scale) to compare the shape of the change.",
    charts.small_multiples(areas, "period", "count", "area", y_title="Offences",
                           policy=launch if filters.start is None or filters.start <= launch else None),
    areas, "offences_per_month_by_area", counts=["count"],
)
