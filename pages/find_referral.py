"""Find a referral by its referral or crime reference: its timeline, its audit trail, and
corrections (with a reason, refused if someone else saved the referral first)."""

import polars as pl
import streamlit as st

from divert import casework, codes, forms, records, ui
from divert.validation import EARLIEST
from divert.wording import plural

user = ui.require_role("caseworker", "admin")
engine = ui.engine()

FORM = "edit_referral"
LABELS = {"referred_at": "Referral date", "referring_team": "Referring team", "reason": "Reason for the change"}
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
st.markdown(f"Crime reference **{ui.plain(detail['offence']['crime_ref'])}** · "
            f"{codes.REFERRAL_SOURCES.get(detail['offence']['source'], detail['offence']['source'])}")
st.caption("Person: " + casework.describe_person(detail) + ". " + casework.describe_history(detail))
if detail["eligibility"] == "override":
    st.caption(f"Offered on override after a previous non-engagement: {ui.plain(detail['override_reason'])}")

left, middle, right = st.columns(3)
with left:
    forms.link("pages/assessment.py", "Assessment" if detail["assessment"] else "Record the assessment",
               icon=":material/call:", referral=detail["reference"])
with middle:
    forms.link("pages/sessions.py", "Course sessions", icon=":material/groups:", referral=detail["reference"])
with right:
    if detail["status"] == "open":
        forms.link("pages/closure.py", "Close the referral", icon=":material/task_alt:", referral=detail["reference"])

st.subheader("Timeline")
timeline = casework.timeline(engine, detail["reference"])
st.table(timeline.with_columns(pl.col(c).map_elements(ui.plain, return_dtype=pl.String)
                               for c, t in timeline.schema.items() if t == pl.String), hide_index=True, border="horizontal")

st.subheader("Changes")
st.caption("Every recording and correction of this referral, its offence, assessment, bookings and closure.")
trail = casework.audit_trail(engine, detail["reference"])
if trail.height:
    st.dataframe(trail, hide_index=True, column_config={
        "When": st.column_config.TextColumn(width="medium"), "By": st.column_config.TextColumn(width="medium"),
        "Action": st.column_config.TextColumn(width="small"), "Record": st.column_config.TextColumn(width="small"),
        "What changed": st.column_config.TextColumn(width="large"),
    })
else:
    st.caption("No changes are recorded for this referral (it came with the demonstration data or an older import).")

# --- corrections --------------------------------------------------------------------------
form = forms.Form(f"{FORM}_{detail['id']}", LABELS)
key = form.key
version = form.loaded("version", lambda: detail["version"])
# as the form shows them (to the minute): only what the user changed is saved
stored = {"referred_at": detail["referred_at"].replace(second=0, microsecond=0),
          "referring_team": detail["referring_team"] or None}


def save(username: str) -> None:
    v = form.value
    typed = {"referred_at": forms.uk_moment(v("day"), v("time")), "referring_team": v("team") or None}
    changes = {name: value for name, value in typed.items() if value != stored[name]}
    reason = v("reason")

    def write():
        if not changes:
            return records.Saved(True, detail["id"], change="unchanged")
        return records.edit_referral(detail["id"], changes, username, reason, version, engine=engine)

    def success(saved) -> str:
        if saved.change == "unchanged":
            return f"Nothing to change in **{detail['reference']}**: the values are as stored."
        fields = ", ".join(LABELS[name].lower() for name in changes)
        return f"Referral **{detail['reference']}** corrected ({fields}). The reason is in the audit log."

    form.submit({**typed, "reason": reason}, write, success=success)


def reload() -> None:
    form.clear()
    form.renew()


problems = form.problems
with st.expander("Correct the referral", expanded=bool(problems) or bool(form.notice), icon=":material/edit:"):
    form.show_notice()
    problems.summary()
    if problems.has("version"):
        st.button("Reload the referral (discards what you typed)", on_click=reload, icon=":material/refresh:")
    st.caption("Corrections need a reason; they are kept in the audit log with the old values. If someone "
               "else saves this referral while you are correcting it, you are told, and nothing is overwritten.")
    with form.form():
        left, middle = st.columns(2)
        with left:
            st.date_input("Referral date", value=detail["referred_at"].date(), key=key("day"),
                          format=forms.DATE_FORMAT, min_value=EARLIEST, max_value=forms.now_uk().date())
            problems.at("referred_at")
        with middle:
            st.time_input("Time (UK)", value=detail["referred_at"].time().replace(second=0, microsecond=0),
                          key=key("time"), step=60)
        st.text_input("Referring team", value=detail["referring_team"] or "", key=key("team"), max_chars=80,
                      help="The officer's team or station - not the officer's name.")
        problems.at("referring_team")
        st.text_area("Reason for the change *", key=key("reason"), max_chars=500,
                     help="Why the referral is corrected, e.g. 'date typed wrongly'.")
        problems.at("reason")
        st.form_submit_button("Save correction", type="primary", icon=":material/save:",
                              on_click=save, args=(user.username,))
