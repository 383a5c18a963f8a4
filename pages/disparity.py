"""Disparity: the diversion pathway and stop and search by ethnic group, against White (the page opens on
the programme's own pathway)."""

import streamlit as st

from divert.analytics.equity import disparity
from divert.charts import build
from divert.readmodels import disparity_view
from divert.reference import forces as forces_catalogue
from divert.web import access, dashboard, tables, ui

CENSUS_CHOICES = {"interpolated": "Each year (interpolated)", "2011": "2011 census", "2021": "2021 census"}
YEARLY = {"interpolated": "interpolated between the 2011 and 2021 censuses, held at 2021 from 2021 on",
          "2011": "the 2011 census for every year", "2021": "the 2021 census for every year"}

user = ui.require_role(*access.ALL_ROLES)
st.title("Disparity")
st.caption("Whether diversion narrows the gap at every step, with honest statistics. How each measure is "
           "worked out, and its caveats, are on the Methods page.")
filters = dashboard.filter_bar("disparity")
data = dashboard.frames(filters)
gate = dashboard.gate(user.role)
dashboard.as_of_line(data)
settings_row = st.columns(3)
census = settings_row[0].radio(
    "Population denominator", list(CENSUS_CHOICES), horizontal=True, key="disparity_census", format_func=CENSUS_CHOICES.get,
    help="Each year: every year's residents interpolated between the 2011 and 2021 censuses, held at 2021 afterwards "
         "(the default). Or one census for every year. Rates are per 1,000 residents a year whatever the period.")
ethnicity = settings_row[1].radio("Ethnicity", ["self", "officer"], horizontal=True, key="disparity_ethnicity",
                                  format_func=lambda e: {"self": "Self-defined", "officer": "Officer-defined"}[e])
level = settings_row[2].radio("Groups", ["broad", "detailed"], horizontal=True, key="disparity_level",
                              format_func=str.capitalize, disabled=ethnicity == "officer")
if ethnicity == "officer":
    level = "broad"


def denominator_line(note: str | None) -> None:
    """The denominator under every rate; a warning when a census was missing."""
    if not note:
        return
    if "no 2021 census figures" in note or "no 2011 census figures" in note:
        st.warning(f"Denominator: {note}.", icon=":material/warning:")
    else:
        st.caption(f"Denominator: {note}.")


pathway_tab, search_tab, outcome_tab = st.tabs(["Diversion pathway", "Stop and search", "Formal outcomes over time"])

with search_tab:
    choice = disparity_view.search_forces(data)
    forces = choice.forces
    if not forces:
        st.info("No stop-and-search data yet. An administrator can import police.uk files on the Imports page.")
    else:
        if choice.lacking:
            st.warning(f"No 2021 census figures for: {', '.join(choice.lacking)}. Their rates use the 2011 census for "
                       "every year, and say so under each rate.", icon=":material/warning:")
        force = st.selectbox("Force", forces, key="disparity_force",
                             format_func=lambda f: forces_catalogue.force_name(f) if f in forces_catalogue.BY_SLUG else f,
                             index=choice.first)
        gaps = disparity_view.search_gaps(data, filters, force=force)
        if gaps:  # police.uk publishes about two months late
            st.info(gaps, icon=":material/calendar_month:")
        drugs_only = st.toggle("Drug searches only", key="disparity_drugs", help="Object of search: Controlled drugs.")
        rates = disparity_view.search_rates(data, filters, gate, force=force, ethnicity=ethnicity, level=level,
                                            census=census, drugs_only=drugs_only)
        if rates.problem:
            st.info(rates.problem)
        else:
            st.caption(f"People searched (vehicle-only searches excluded), {ethnicity}-defined ethnicity, {force}; "
                       f"{rates.missing:.1%} of searches have no stated ethnicity and are shown as their own rows.")
            dashboard.chart_block(
                "How many times as likely to be searched as White people",
                "Searches per 1,000 residents a year of each group divided by the White rate, with 95% intervals (log "
                "scale; the dashed line at 1 means no difference). White is 1 by definition, with no interval (with "
                "the detailed groups the reference is White British). An interval that crosses 1 is not significant.",
                build.forest(rates.ratios, "group", "ratio_vs_white", "ci_low", "ci_high",
                             x_title="Ratio to White (log scale)"),
                rates.table, f"stop_search_rates_{force}", counts=["searches"],
            )
            denominator_line(rates.note)
            finds = disparity_view.find_rates(data, filters, gate, force=force, ethnicity=ethnicity, level=level,
                                              drugs_only=drugs_only)
            dashboard.chart_block(
                "Find rate: searches that found what they looked for",
                "Share of searches whose outcome was linked to the object of the search, with 95% intervals. A "
                "lower find rate for a group suggests officers search its members on weaker grounds.",
                build.bars(finds, "group", "find_rate", y_title="Find rate", x_title="Group", horizontal=True,
                            interval=("find_rate_low", "find_rate_high"), share=True,
                            tooltip_extra=[{"field": "find_rate_low", "type": "quantitative", "format": ".1%", "title": "95% low"},
                                           {"field": "find_rate_high", "type": "quantitative", "format": ".1%", "title": "95% high"}]),
                finds, f"find_rates_{force}", counts=["searches", "finds"],
            )
            over_time = disparity_view.rates_over_time(data, filters, gate, force=force, census=census,
                                                       drugs_only=drugs_only)
            dashboard.chart_block(
                "Search rates over time",
                "Searches per 1,000 residents a year of each group, each calendar year over its own population; a "
                "part-year (the first or the last) is over its part, so it reads as a yearly rate too.",
                build.line(over_time.chart, "period", "rate_per_1000_a_year", y_title="Searches per 1,000 a year",
                           color="group", color_title="Group", tooltip_format=",.2f")
                if over_time.chart is not None else None,
                over_time.table, f"search_rates_over_time_{force}", counts=["searches"],
            )
            if over_time.chart is not None:
                denominator_line(f"per 1,000 residents a year, each calendar year over its own residents: {YEARLY[census]}")
            agree = disparity_view.agreement(data, filters, gate, force=force)
            dashboard.chart_block(
                "Officer-defined against self-defined ethnicity",
                "For searches with both recorded: how often the officer's view matched the person's own broad group. "
                "The two are kept separate; one is never filled in from the other.",
                build.bars(agree, "self_defined", "agreement", y_title="Share where they agree", x_title="Self-defined group",
                            horizontal=True, share=True),
                agree, f"ethnicity_agreement_{force}", counts=["searches", "agree"],
            )
            others = [f for f in forces if f != force]
            if others:
                st.subheader("Beside other forces")
                picked = st.multiselect("Compare with", others, default=others, key="disparity_comparators",
                                        format_func=lambda f: forces_catalogue.force_name(f)
                                        if f in forces_catalogue.BY_SLUG else f,
                                        help="Forces whose police.uk stop-and-search files have been imported.")
                compared = disparity_view.beside_other_forces(data, filters, gate, force=force, others=picked,
                                                              census=census, drugs_only=drugs_only)
                dashboard.chart_block(
                    "Times as likely to be searched as White people, force by force",
                    "The same measure for each force and for the forces together, over the dates every force's "
                    "files cover, with the same denominators and 95% intervals: a gap seen everywhere is not the "
                    "programme's doing.",
                    build.forest(compared.chart, "row", "ratio_vs_white", "ci_low", "ci_high",
                                 x_title="Ratio to White (log scale)") if compared.chart is not None else None,
                    compared.table, "stop_search_comparators", counts=["searches"],
                    empty="No dates that every chosen force's files cover, or too few searches to compare.",
                )

with pathway_tab:
    pathway = disparity_view.pathway(data, filters, gate, census=census)
    if pathway.problem:
        st.info(pathway.problem)
    else:
        dashboard.chart_block(
            "Relative rate index at each decision point",
            f"A chain of events after the launch ({data.programme.launch_label}): each cell is the group's rate at that "
            "step, with the step before as the denominator, divided by the White rate. Orange above 1, blue below; "
            "White is 1 by definition. Read 0.5 as 'White people are twice as likely'. Steps that need follow-up "
            "time count only referrals old enough (28 days to engage, 90 days for the later steps), in the "
            "numerator and the denominator alike. Groups under 1% of the residents are flagged in the table.",
            build.matrix(pathway.cells, "stage_label", "group", "rri", label="Relative rate",
                         row_sort=[label for _, label, _, _ in disparity.STAGES]),
            pathway.table, "pathway_rri", counts=["events"],
        )
        denominator_line(pathway.denominator)
        with st.expander("What each step is measured against"):
            tables.show(pathway.bases, hide_index=True, width="stretch")
        stage = st.selectbox("Decision point", [s for s, _, _, _ in disparity.STAGES], key="disparity_stage",
                             format_func=lambda s: disparity.STAGE_LABELS[s])
        one = disparity_view.pathway_stage(pathway, stage)
        dashboard.chart_block(
            "Relative rate with 95% intervals",
            "The same ratios for one decision point, with their intervals; an interval crossing 1 is not significant.",
            build.forest(one.chart, "group", "rri", "ci_low", "ci_high", x_title="Relative rate index (log scale)"),
            one.table, f"pathway_rri_{stage}", counts=["events"],
        )
        denominator_line(one.denominator)

with outcome_tab:
    formal = disparity_view.formal_outcomes(data, filters, gate)
    dashboard.chart_block(
        "Share of possession offences charged or cautioned, males, per half-year",
        f"Before and after the policy ({data.programme.launch_label}): for each broad group, the share of possession "
        "offences ending in a charge or caution, with 95% intervals. The table has every group, both sexes and the "
        "ratio to White (White is 1, with no interval).",
        build.compare_groups(formal.chart, "starts", "formal_share", "group", y_title="Share charged or cautioned",
                              band=("formal_share_low", "formal_share_high"), share=True, every="6mo",
                              policy=data.programme.launch) if formal.chart is not None else None,
        formal.table, "formal_outcomes_by_half_year", counts=["formal_outcomes", "offences"],
    )
