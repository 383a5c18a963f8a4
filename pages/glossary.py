"""Glossary: what each technical term on the pages, in the tables and in the board pack means, in
plain words (divert.core.glossary)."""

import streamlit as st

from divert.core import glossary
from divert.web import access, ui

ui.require_role(*access.ALL_ROLES)
st.title("Glossary")
st.caption("What the terms on the dashboards, in their tables and downloads, and in the board pack mean. Each "
           "entry gives the name the pages use, then the technical name.")
search = st.text_input("Find a term", placeholder="e.g. relative rate, 95% range, provisional")
shown = [t for t in glossary.TERMS if not search or any(search.lower() in w.lower() for w in (*t.words(), t.meaning))]
if not shown:
    st.info("No term matches. Clear the box to see them all.", icon=":material/info:")
for term in shown:
    st.markdown(f"**{term.plain}** (technical name: {term.name})  \n{term.meaning}")
