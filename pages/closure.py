"""Closure: how a referral ended - complied, or not engaged with the intelligence-log date."""

import streamlit as st

from divert.core import codes, wording
from divert.readmodels import casework, worklist
from divert.records.core import check_only
from divert.records.referrals import close_referral
from divert.web import forms, ui

user = ui.require_role("caseworker", "admin")
engine = ui.engine()

FORM = "closure"
LABELS = {
    "result": "Result",
    "closed_on": "Closed on",
    "intelligence_log_date": "Intelligence log date",
    "onward_treatment": "Onward referral",
    "referral_reference": "Referral",
}
PENDING, DONE = "cl_pending", "cl_done"

st.title("Closure")
st.caption(
    "Close a referral when the person has complied (the Community Resolution stands) or did not "
    "engage (an intelligence log is submitted, so that the course is not offered again)."
)

reference = forms.referral_chooser(
    worklist.ready_to_close(engine, casework.uk_today()),
    "Or choose one ready to close", empty="No referrals are ready to close (see the Worklist).",
    waiting="ready to close",
)
done = st.session_state.get(DONE)
if done and reference and done.startswith(f"**{reference}**"):
    st.success(done, icon=":material/check_circle:")
detail = forms.referral_to_work_on(engine, reference, "Type a referral reference above, or choose one from the open referrals.")
closure = detail["closure"]
if closure is not None:
    text = f"This referral was closed on {casework.show_day(closure['closed_on'])}: {codes.CLOSURE_RESULTS[closure['result']]}"
    if closure["intelligence_log_date"]:
        text += f" (intelligence log {casework.show_day(closure['intelligence_log_date'])})"
    st.info(text + ".", icon=":material/task_alt:")
    forms.link("pages/find_referral.py", f"See the timeline of {detail['reference']}", icon=":material/search:",
               referral=detail["reference"])
    st.stop()

form = forms.Form(f"{FORM}_{detail['id']}", LABELS, {"intelligence_log_date": ("log_date",),
                                                    "onward_treatment": ("onward",), "referral_reference": ("result",)})
key = form.key
RESULTS = list(codes.CLOSURE_RESULTS)


def values() -> dict:
    v = form.value
    return {
        "referral_reference": detail["reference"],
        "result": v("result"),
        "closed_on": v("closed_on"),
        "intelligence_log_date": v("log_date"),
        "onward_treatment": bool(v("onward")),
    }


def ask(username: str) -> None:
    """Close pressed: check it (nothing written), then ask for confirmation - a closure cannot be
    undone here."""
    form.clear()
    st.session_state.pop(PENDING, None)
    checked = check_only(close_referral, values(), username, engine=engine)
    if checked.ok:
        st.session_state[PENDING] = values()
    else:
        form.refuse(checked.problems)


def cancel() -> None:
    st.session_state.pop(PENDING, None)


def confirm(username: str) -> None:
    pending = st.session_state.pop(PENDING, None)
    if pending is None:
        return

    def success(saved) -> str:
        text = f"**{pending['referral_reference']}** closed on {casework.show_day(pending['closed_on'])}: "
        text += codes.CLOSURE_RESULTS[pending["result"]] + "."
        if pending["result"] == "not_engaged":
            text += (f" Intelligence log {casework.show_day(pending['intelligence_log_date'])}: the course will not "
                     "be offered to this person again without an override reason.")
        return text

    saved = form.submit(pending, lambda: close_referral(pending, username, engine=engine), success=success)
    if saved.ok:
        st.session_state[DONE] = form.notice


problems = form.problems
st.caption(casework.describe_progress(detail))

pending = st.session_state.get(PENDING)
if pending is not None and pending["referral_reference"] == detail["reference"]:
    result = codes.CLOSURE_RESULTS.get(pending["result"], "no result chosen")
    st.warning(
        f"Close **{detail['reference']}** as *{result}* on {casework.show_day(pending['closed_on'])}? "
        "A closed referral cannot be reopened here."
        + (" A closure as not engaged stops the course being offered to this person again unless an "
           "override reason is given." if pending["result"] == "not_engaged" else ""),
        icon=":material/help:",
    )
    left, right, _ = st.columns([1, 1, 3])
    left.button("Yes, close it", type="primary", on_click=confirm, args=(user.username,), icon=":material/check:")
    right.button("Go back", on_click=cancel)

problems.summary()
with form.form():
    st.radio("Result *", RESULTS, key=key("result"), index=None,
             format_func=codes.CLOSURE_RESULTS.get,
             help="Complied: the person engaged as required. Not engaged: they did not, and an "
                  "intelligence log was submitted.")
    problems.at("result", "referral_reference")
    left, right = st.columns(2)
    with left:
        st.date_input("Closed on *", value=forms.now_uk().date(), key=key("closed_on"), format=forms.DATE_FORMAT,
                      min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                      help=f"From the referral day ({wording.day(detail['referred_at'])}) to today: a referral cannot "
                           "close before it was made, nor in the future.")
        problems.at("closed_on")
    with right:
        st.date_input("Intelligence log date", value=None, key=key("log_date"), format=forms.DATE_FORMAT,
                      min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                      help="Only for a closure as not engaged: the day the intelligence log was submitted, from "
                           "the referral day to today.")
        problems.at("intelligence_log_date")
    st.checkbox("Referred on into structured treatment", key=key("onward"),
                help="Tick if the person was referred on to a structured treatment service.")
    problems.at("onward_treatment")
    form.button("Close referral", icon=":material/task_alt:", on_click=ask, args=(user.username,))
