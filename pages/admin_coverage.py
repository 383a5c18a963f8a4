"""Data coverage (administrators): the months each source holds, per force, and the gaps."""

import streamlit as st

from divert.analytics.data import coverage
from divert.core import clock
from divert.readmodels import admin_view
from divert.web import dashboard, tables, ui

ui.require_role("admin")
st.title("Data coverage")
st.caption("Which months each source holds, force by force. A rate per year counts only these months: a window "
           "that reaches past them, or over a gap, is worked out over the months with data, and the page says so. "
           "The same list: `divert status`.")
today = clock.today()
as_of = st.date_input("As of", value=today, max_value=today, format="DD/MM/YYYY",
                      help="Months with a record on or before this day.")
table = coverage.table(dashboard.live().at(as_of)[1], as_of)
if table.is_empty():
    st.info("Nothing is recorded yet. Import referrals, offences or police.uk stop-and-search files on the Imports "
            "page; census populations are loaded by `divert init`.")
    st.stop()
gaps = admin_view.sources_with_gaps(table)
if gaps:
    st.warning(f"{gaps} source{'s have' if gaps != 1 else ' has'} missing months or a missing census: "
               "import the missing files to fill them. Until then, rates leave those months out.",
               icon=":material/warning:")
else:
    st.success("No gaps: every source holds every month from its first to its last.", icon=":material/check_circle:")
shown = admin_view.coverage_shown(table)
tables.show(shown, hide_index=True, width="stretch", column_config={
    "From": st.column_config.TextColumn(help="The first day of the first month held"),
    "To": st.column_config.TextColumn(help="The last day covered: the end of the last month held (or the as-of date)"),
    "Missing": st.column_config.NumberColumn(help="Months inside the range with no records (or a census not held)"),
    "Which": st.column_config.TextColumn(width="large"),
})
tables.csv_download("Download CSV", table, f"coverage_{as_of:%Y-%m-%d}.csv")
