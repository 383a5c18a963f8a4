"""Disparity: stop and search and the diversion pathway by ethnic group, against White."""

import polars as pl
import streamlit as st

from divert import auth, charts, dashboard, ui
from divert.analytics import disparity

user = ui.require_role(*auth.ALL_ROLES)
st.title("Disparity")
st.caption("Whether diversion narrows the gap at every step, with honest statistics. How each measure is "
           "worked out, and its caveats, are on the Methods page.")
filters = dashboard.filter_bar("disparity")
data = dashboard.frames(filters)
dashboard.as_of_line(data)
settings_row = st.columns(3)
census_year = settings_row[0].radio("Population denominator", [2011, 2021], horizontal=True, key="disparity_census",
                                    help="2011: all 18 groups by force area. 2021: West Midlands broad groups only (Mixed within Other).")
ethnicity = settings_row[1].radio("Ethnicity", ["self", "officer"], horizontal=True, key="disparity_ethnicity",
                                  format_func=lambda e: {"self": "Self-defined", "officer": "Officer-defined"}[e])
level = settings_row[2].radio("Groups", ["broad", "detailed"], horizontal=True, key="disparity_level",
                              format_func=str.capitalize, disabled=ethnicity == "officer" or census_year == 2021)
if ethnicity == "officer" or census_year == 2021:
    level = "broad"

search_tab, pathway_tab, outcome_tab = st.tabs(["Stop and search", "Diversion pathway", "Formal outcomes over time"])

with search_tab:
    forces = sorted(f for f in data.stop_search["force"].unique().to_list() if f)
    if not forces:
        st.info("No stop-and-search data yet. An administrator can import police.uk files on the Imports page.")
    else:
        force = st.selectbox("Force", forces, key="disparity_force")
        drugs_only = st.toggle("Drug searches only", key="disparity_drugs", help="Object of search: Controlled drugs.")
        object_of_search = "Controlled drugs" if drugs_only else None
        table, problem = disparity.disparity_table(data, "stop-search", force=force, start=filters.start, end=filters.end,
                                                   object_of_search=object_of_search, ethnicity=ethnicity, level=level,
                                                   census_year=census_year)
        if problem:
            st.info(problem)
        else:
            table = dashboard.protect(table, user.role, ["searches"], {"rate_per_1000": "searches"})
            missing = table.filter(pl.col("group").is_in(disparity.UNCOUNTED))["share_of_events"].sum()
            st.caption(f"People searched (vehicle-only searches excluded), {ethnicity}-defined ethnicity; "
                       f"{missing:.1%} of searches have no stated ethnicity and are shown as their own rows. "
                       f"Denominator: census {census_year}, {force} force area.")
            ratios = table.filter(pl.col("ratio_vs_white").is_not_null() & (pl.col("group") != "White"))
            dashboard.chart_block(
                "How many times as likely to be searched as White people",
                "Searches per 1,000 residents of each group divided by the White rate, with 95% intervals (log "
                "scale; the dashed line at 1 means no difference). An interval that crosses 1 is not significant.",
                charts.forest(ratios, "group", "ratio_vs_white", "ci_low", "ci_high", x_title="Ratio to White (log scale)"),
                table, f"stop_search_rates_{force}", counts=["searches"],
            )
            finds = disparity.find_rates(data.stop_search, force=force, start=filters.start, end=filters.end,
                                         ethnicity=ethnicity, level=level, object_of_search=object_of_search)
            finds = dashboard.protect(finds, user.role, ["searches", "finds"], {"find_rate": "searches"})
            dashboard.chart_block(
                "Find rate: searches that found what they looked for",
                "Share of searches whose outcome was linked to the object of the search, with 95% intervals. A "
                "lower find rate for a group suggests officers search its members on weaker grounds.",
                charts.bars(finds, "group", "find_rate", y_title="Find rate", x_title="Group", horizontal=True,
                            interval=("find_rate_low", "find_rate_high"),
                            tooltip_extra=[{"field": "find_rate_low", "type": "quantitative", "format": ".1%", "title": "95% low"},
                                           {"field": "find_rate_high", "type": "quantitative", "format": ".1%", "title": "95% high"}]),
                finds, f"find_rates_{force}", counts=["searches", "finds"],
            )
            over_time = disparity.rates_over_time(data.stop_search, data.population, force=force, census_year=census_year,
                                                  object_of_search=object_of_search)
            if not over_time.is_empty():
                over_time = over_time.filter(~pl.col("group").is_in(disparity.UNCOUNTED))
            over_time = dashboard.protect(over_time, user.role, ["searches"], {"rate_per_1000": "searches"})
            dashboard.chart_block(
                "Search rates over time",
                "Searches per 1,000 residents of each group per calendar year (the last year may be part of a year).",
                charts.line(over_time, "period", "rate_per_1000", y_title="Searches per 1,000", color="group",
                            color_title="Group", tooltip_format=",.2f") if not over_time.is_empty() else None,
                over_time, f"search_rates_over_time_{force}", counts=["searches"],
            )
            agree = disparity.agreement(data.stop_search, force=force, start=filters.start, end=filters.end)
            agree = dashboard.protect(agree, user.role, ["searches", "agree"], {"agreement": "searches"})
            dashboard.chart_block(
                "Officer-defined against self-defined ethnicity",
                "For searches with both recorded: how often the officer's view matched the person's own broad group. "
                "The two are kept separate; one is never filled in from the other.",
                charts.bars(agree, "self_defined", "agreement", y_title="Share where they agree", x_title="Self-defined group",
                            horizontal=True),
                agree, f"ethnicity_agreement_{force}", counts=["searches", "agree"],
            )

with pathway_tab:
    table, problem = disparity.disparity_table(data, "pathway", census_year=census_year, start=filters.start, end=filters.end)
    if problem:
        st.info(problem)
    else:
        full = disparity.pathway_rri(data.offences, data.referrals, data.population, force=dashboard.current_force(),
                                     census_year=census_year, start=filters.start, end=filters.end)
        full = dashboard.protect(full, user.role, ["events"], {"rate": "denominator"})
        stage_order = [label for _, label, _ in disparity.STAGES]
        shown = full.filter(~pl.col("group").is_in(disparity.UNCOUNTED))
        dashboard.chart_block(
            "Relative rate index at each decision point",
            "Each cell: the group's rate at that step (with the step before as the denominator) divided by the "
            "White rate. Orange above 1, blue below; White is 1 by definition. Read 0.5 as 'White people are "
            "twice as likely'. Groups under 1% of the population are flagged in the table.",
            charts.matrix(shown, "stage_label", "group", "rri", label="Relative rate", row_sort=stage_order),
            full.drop("stage"), "pathway_rri", counts=["events"],
        )
        stage = st.selectbox("Decision point", [s for s, _, _ in disparity.STAGES], key="disparity_stage",
                             format_func=lambda s: dict((k, v) for k, v, _ in disparity.STAGES)[s])
        one = full.filter((pl.col("stage") == stage) & pl.col("rri").is_not_null() & (pl.col("group") != "White"))
        dashboard.chart_block(
            "Relative rate with 95% intervals",
            "The same ratios for one decision point, with their intervals; an interval crossing 1 is not significant.",
            charts.forest(one, "group", "rri", "ci_low", "ci_high", x_title="Relative rate index (log scale)"),
            one.drop("stage"), f"pathway_rri_{stage}", counts=["events"],
        )

with outcome_tab:
    formal = disparity.formal_by_half_year(filters.without_period().apply(data.offences, "offence_date"))
    formal = dashboard.protect(formal, user.role, ["formal_outcomes", "offences"], {"formal_share": "offences"})
    males = formal.filter((pl.col("sex") == "M") & ~pl.col("group").is_in(disparity.UNCOUNTED)) if not formal.is_empty() else formal
    dashboard.chart_block(
        "Share of possession offences charged or cautioned, males, per half-year",
        "Before and after the policy (October 2020): for each broad group, the share of possession offences "
        "ending in a charge or caution, with 95% intervals. The table has every group, both sexes and the ratio to White.",
        charts.line(males, "starts", "formal_share", y_title="Share charged or cautioned", color="group",
                    color_title="Group", band=("formal_share_low", "formal_share_high"), tooltip_format=".1%",
                    policy=disparity.POLICY_START) if not males.is_empty() else None,
        formal, "formal_outcomes_by_half_year", counts=["formal_outcomes", "offences"],
    )
