"""Data coverage (administrators): the months each source holds, per force, and the gaps."""

import polars as pl
import streamlit as st

from divert.analytics.data import coverage
from divert.core import clock
from divert.core.safe_csv import to_csv_bytes
from divert.reference import forces
from divert.web import dashboard, ui

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
gaps = table.filter(pl.col("months_missing") > 0)
if gaps.height:
    st.warning(f"{gaps.height} source{'s have' if gaps.height != 1 else ' has'} missing months or a missing census: "
               "import the missing files to fill them. Until then, rates leave those months out.",
               icon=":material/warning:")
else:
    st.success("No gaps: every source holds every month from its first to its last.", icon=":material/check_circle:")
SOURCES = {"stop-search": "Stop and search", "offences": "Offences", "referrals": "Referrals",
           "population": "Census population"}
shown = table.select(
    pl.col("source").replace(SOURCES).alias("Source"),
    pl.col("force").replace({f.slug: f.name for f in forces.FORCES}).alias("Force"),
    pl.col("covered_from").dt.strftime("%-d %b %Y").fill_null("-").alias("From"),
    pl.col("covered_to").dt.strftime("%-d %b %Y").fill_null("-").alias("To"),
    pl.col("months_held").cast(pl.String).fill_null("-").alias("Months held"),
    pl.col("months_missing").alias("Missing"),
    pl.col("missing").alias("Which"),
)
st.dataframe(shown, hide_index=True, width="stretch", column_config={
    "From": st.column_config.TextColumn(help="The first day of the first month held"),
    "To": st.column_config.TextColumn(help="The last day covered: the end of the last month held (or the as-of date)"),
    "Missing": st.column_config.NumberColumn(help="Months inside the range with no records (or a census not held)"),
    "Which": st.column_config.TextColumn(width="large"),
})
st.download_button("Download CSV", to_csv_bytes(table), f"coverage_{as_of:%Y-%m-%d}.csv", "text/csv")
