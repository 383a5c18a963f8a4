"""Find a referral by its referral or crime reference, or the date it was made: its timeline,
its audit trail, and corrections (with a reason, refused if someone else saved the referral
first). Service managers see the same referral read-only: no correction, void or contact forms,
and no links to pages they cannot open."""

import streamlit as st

from divert.core import codes
from divert.core.wording import plural
from divert.readmodels import casework, referral_history
from divert.web import forms, referral_forms, tables, ui

user = ui.require_role("manager", "caseworker", "admin")
writes = user.role in ("caseworker", "admin")  # a manager reads the referral, and changes nothing
engine = ui.engine()

OPEN = forms.CURRENT_REFERRAL  # the query parameter naming the open referral

st.title("Find a referral")
st.caption("Search by referral reference or crime reference (any part of it), or by the date the referral was "
           "made. Open a referral to see what happened and who recorded what"
           + (", and to correct it." if writes else " (read-only for your role)."))


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


query = st.text_input("Referral or crime reference, or referral date", key="fr_query", on_change=searched,
                      max_chars=40, placeholder="e.g. DIV-000123, 20WM/0012/21 or 03/12/2026",
                      help="Type the whole reference or part of it, or a whole date (dd/mm/yyyy) to find the "
                           "referrals made that day, then press Enter.")
if query and query.strip():
    results = casework.search_referrals(engine, query)
    if not results.height:
        day = casework.typed_date(query)
        st.info(f"No referral was made on {casework.show_day(day)}." if day else
                f"No referral or crime reference contains “{ui.plain(query.strip())}”.")
    else:
        more = " (the newest 50 shown - type more of the reference to narrow it)" if results.height >= casework.SEARCH_LIMIT else ""
        st.caption(f"{plural(results.height, 'referral')} found{more}.")
        tables.show(results.drop("referral_id"), hide_index=True)
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
        st.info("Type a referral or crime reference, or the date a referral was made, above to find a referral.",
                icon=":material/search:")
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
    if writes:  # a manager cannot open the assessment or closure pages
        with left:
            forms.link("pages/assessment.py", "Assessment" if detail["assessment"] else "Record the assessment",
                       icon=":material/call:", referral=detail["reference"])
        with right:
            if detail["status"] == "open":
                forms.link("pages/closure.py", "Close the referral", icon=":material/task_alt:",
                           referral=detail["reference"])
    with middle if writes else left:
        forms.link("pages/sessions.py", "Course sessions", icon=":material/groups:", referral=detail["reference"])

st.subheader("Timeline")
timeline = referral_history.timeline(engine, detail["reference"])
st.table(ui.plain_table(timeline), hide_index=True, border="horizontal")

st.subheader("Changes")
st.caption("Every recording and correction of this referral, its offence, assessment, bookings and closure.")
trail = referral_history.audit_trail(engine, detail["reference"])
if trail.height:
    tables.show(trail, hide_index=True, column_config={
        "When": st.column_config.TextColumn(width="medium"), "By": st.column_config.TextColumn(width="medium"),
        "Action": st.column_config.TextColumn(width="small"), "Record": st.column_config.TextColumn(width="small"),
        "What changed": st.column_config.TextColumn(width="large"),
    })
else:
    st.caption("No changes are recorded for this referral (it came with the demonstration data or an older import).")

# --- corrections and voiding -------------------------------------------------------------
if not writes:
    st.caption("Read-only: corrections and voiding are made by caseworkers and administrators.")
    st.stop()
if detail["void"] is None:
    referral_forms.correction(engine, user.username, detail)
    if detail["closure"]:
        referral_forms.closure_correction(engine, user.username, detail)
referral_forms.void(engine, user.username, user.role, detail)
