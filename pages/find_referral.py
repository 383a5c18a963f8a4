"""Find a referral by its referral or crime reference: its timeline, its audit trail, and
corrections (with a reason, refused if someone else saved the referral first)."""

import streamlit as st

from divert.core import codes
from divert.core.wording import plural
from divert.readmodels import casework, referral_history
from divert.web import forms, referral_forms, ui

user = ui.require_role("caseworker", "admin")
engine = ui.engine()

OPEN = forms.CURRENT_REFERRAL  # the query parameter naming the open referral

st.title("Find a referral")
st.caption("Search by referral reference or crime reference (any part of it). Open a referral to see "
           "what happened, who recorded what, and to correct it.")


def open_referral(reference: str | None) -> None:
    if reference:
        st.query_params[OPEN] = reference
    else:
        st.query_params.pop(OPEN, None)


def searched() -> None:
    """A new search: open the referral straight away when exactly one matches."""
    matches = casework.search_referrals(engine, forms.value("fr_query"))
    st.session_state["fr_pick"] = None
    open_referral(matches["Referral"][0] if matches.height == 1 else None)


def picked() -> None:
    open_referral(st.session_state.get("fr_pick"))


query = st.text_input("Referral or crime reference", key="fr_query", on_change=searched, max_chars=40,
                      placeholder="e.g. DIV-000123 or 20WM/0012/21",
                      help="Type the whole reference or part of it, then press Enter.")
if query and query.strip():
    results = casework.search_referrals(engine, query)
    if not results.height:
        st.info(f"No referral or crime reference contains “{ui.plain(query.strip())}”.")
    else:
        more = " (the newest 50 shown - type more of the reference to narrow it)" if results.height >= casework.SEARCH_LIMIT else ""
        st.caption(f"{plural(results.height, 'referral')} found{more}.")
        st.dataframe(results.drop("referral_id"), hide_index=True)
        if results.height > 1:
            st.selectbox("Open a referral", list(results["Referral"]), key="fr_pick", index=None,
                         on_change=picked, placeholder="Choose one of the referrals found")

reference = st.query_params.get(OPEN)
if not reference and forms.value(forms.CURRENT_REFERRAL):
    # a link from a page that works on one referral: Streamlit drops that page's bound address
    # parameter on the way, so the referral worked on comes from the session - kept in the address
    reference = forms.value(forms.CURRENT_REFERRAL)
    st.query_params[OPEN] = reference
if not reference:
    if not (query and query.strip()):
        st.info("Type a referral or crime reference above to find a referral.", icon=":material/search:")
    st.stop()
detail = casework.referral_detail(engine, reference)
if detail is None:
    st.warning("No referral with that reference is recorded.")
    st.text(f"Reference given: {reference}")
    st.stop()

st.divider()
st.subheader(f"Referral {ui.plain(detail['reference'])}")
forms.referral_header(detail)
if detail["void"]:
    void = detail["void"]
    st.warning(f"**Void** since {casework.show_moment(void['at'])} (by {ui.plain(void['by'])}): "
               f"{ui.plain(void['reason'])}. Kept for the record, left out of every figure and work list"
               + (", with its offence." if void["offence"] else "."), icon=":material/block:")
st.markdown(f"Crime reference **{ui.plain(detail['offence']['crime_ref'])}** · "
            f"{codes.REFERRAL_SOURCES.get(detail['offence']['source'], detail['offence']['source'])}")
st.caption("Person: " + casework.describe_person(detail) + ". " + casework.describe_history(detail))
if detail["eligibility"] == "override":
    st.caption(f"Offered on override after a previous non-engagement: {ui.plain(detail['override_reason'])}")

if detail["void"] is None:  # nothing is recorded against a void referral
    left, middle, right = st.columns(3)
    with left:
        forms.link("pages/assessment.py", "Assessment" if detail["assessment"] else "Record the assessment",
                   icon=":material/call:", referral=detail["reference"])
    with middle:
        forms.link("pages/sessions.py", "Course sessions", icon=":material/groups:", referral=detail["reference"])
    with right:
        if detail["status"] == "open":
            forms.link("pages/closure.py", "Close the referral", icon=":material/task_alt:",
                       referral=detail["reference"])

st.subheader("Timeline")
timeline = referral_history.timeline(engine, detail["reference"])
st.table(ui.plain_table(timeline), hide_index=True, border="horizontal")

st.subheader("Changes")
st.caption("Every recording and correction of this referral, its offence, assessment, bookings and closure.")
trail = referral_history.audit_trail(engine, detail["reference"])
if trail.height:
    st.dataframe(trail, hide_index=True, column_config={
        "When": st.column_config.TextColumn(width="medium"), "By": st.column_config.TextColumn(width="medium"),
        "Action": st.column_config.TextColumn(width="small"), "Record": st.column_config.TextColumn(width="small"),
        "What changed": st.column_config.TextColumn(width="large"),
    })
else:
    st.caption("No changes are recorded for this referral (it came with the demonstration data or an older import).")

# --- corrections and voiding -------------------------------------------------------------
if detail["void"] is None:
    referral_forms.correction(engine, user.username, detail)
    if detail["closure"]:
        referral_forms.closure_correction(engine, user.username, detail)
referral_forms.void(engine, user.username, user.role, detail)
