"""Assessment: the telephone assessment and harm-reduction session, and the allocation."""

import streamlit as st

from divert.core import codes, wording
from divert.readmodels import work_queues
from divert.records.referrals import edit_assessment, record_assessment
from divert.web import forms, referral_forms, ui

user = ui.require_role("caseworker", "admin")
engine = ui.engine()

FORM = "assessment"
LABELS = {
    "result": "Result",
    "contact_attempts": "Contact attempts",
    "completed_at": "Completed on",
    "allocation": "Allocation",
    "worker": "Drug worker's staff code",
    "reason": "Reason for the change",
    **{name: label for name, label in codes.RISK_FLAGS.items()},
    "harm_reduction_advice": "Harm-reduction advice",
}
NEXT = "as_last_saved"

st.title("Assessment")
st.caption(
    "The telephone assessment and harm-reduction session: contact attempts, the result, risk "
    "flags, the advice given and the intervention the person is allocated to."
)

reference = forms.referral_chooser(
    work_queues.awaiting_assessment(engine), "Or choose one waiting for an assessment",
    empty="No referrals are waiting for an assessment.",
)
detail = forms.referral_to_work_on(
    engine, reference, "Type a referral reference above, or choose one from the list of referrals waiting for an assessment.",
)
existing = detail["assessment"]
if existing is None and detail["status"] == "closed":
    st.info("This referral is closed without an assessment, so none can be recorded now.")
    st.stop()

contacts = detail["contacts"]
reached = [c for c in contacts if c["outcome"] == "reached"]
booked_for = [c["assessment_booked_for"] for c in reached if c["assessment_booked_for"]]
if existing is None:
    referral_forms.contact_attempt(engine, user.username, detail)
    st.subheader("Assessment")

# the fields that start from the contact attempts start again when one is recorded (widgets named by their count)
ATTEMPTS, WORKER = f"attempts_{len(contacts)}", f"worker_{len(contacts)}"
form = forms.Form(f"{FORM}_{detail['id']}", LABELS, {"contact_attempts": (ATTEMPTS,), "worker": (WORKER,),
                                                    "completed_at": ("completed_on", "completed_time"),
                                                    "harm_reduction_advice": ("advice",)})
key = form.key
RESULTS, ALLOCATIONS = list(codes.ASSESSMENT_RESULTS), list(codes.ALLOCATIONS)
# the starting values: the stored assessment, or a new one (completed now)
# (a new one counts the contact attempts recorded - none is none - and its worker is the last to make contact)
workers = [c["worker"] for c in contacts if c["worker"]]
stored = existing or {"result": None, "contact_attempts": len(contacts), "completed_at": None, "allocation": None,
                      "harm_reduction_advice": False, "worker": workers[-1] if workers else None,
                      **{name: False for name in codes.RISK_FLAGS}}
completed = stored["completed_at"]
version = form.loaded("version", lambda: existing["version"] if existing else None)


def save(username: str) -> None:
    v = form.value
    result = v("result")
    values = {
        "referral_reference": detail["reference"],
        "result": result,
        "contact_attempts": v(ATTEMPTS),
        "completed_at": forms.uk_moment(v("completed_on"), v("completed_time")) if result == "completed" else None,
        "allocation": v("allocation"),
        "harm_reduction_advice": bool(v("advice")),
        "worker": v(WORKER),
        **{name: bool(v(name)) for name in codes.RISK_FLAGS},
    }
    reason = v("reason")
    if existing is None:
        # the contact attempts recorded before: the first time the person was reached, the time booked
        values["first_contact_at"] = reached[0]["attempted_at"] if reached else None
        values["scheduled_at"] = booked_for[-1] if booked_for else None

        def write():
            return record_assessment(values, username, engine=engine)
    else:
        values["first_contact_at"] = existing["first_contact_at"]  # not on this form: kept as stored
        values["scheduled_at"] = existing["scheduled_at"]

        def write():
            return edit_assessment(existing["id"], values, username, reason, version, engine=engine)

    def success(saved) -> str:
        st.session_state[NEXT] = {"reference": detail["reference"], "allocation": values["allocation"]}
        if saved.change == "unchanged":
            return f"Nothing changed in the assessment of **{detail['reference']}**."
        what = codes.ASSESSMENT_RESULTS[values["result"]].lower()
        if values["allocation"]:
            what += ", allocated to " + codes.ALLOCATIONS[values["allocation"]].lower()
        verb = "saved" if existing is None else "changed (the reason is in the audit log)"
        return f"Assessment of **{detail['reference']}** {verb}: {what}." + forms.saved_notes(saved)

    form.submit({**values, "reason": reason}, write, success=success)


def reload() -> None:
    form.clear()
    form.renew()


if form.show_notice() and st.session_state.get(NEXT):
    last = st.session_state[NEXT]
    if last["allocation"] == "group_course":
        forms.link("pages/sessions.py", f"Book {last['reference']} on a course session",
                   icon=":material/groups:", referral=last["reference"])
    forms.link("pages/find_referral.py", f"See the timeline of {last['reference']}",
               icon=":material/search:", referral=last["reference"])
problems = form.problems
problems.summary()
if problems.has("version"):
    st.button("Reload the assessment (discards what you typed)", on_click=reload, icon=":material/refresh:")
if existing is not None:
    st.info(
        "This referral already has an assessment. Correct it below and give a reason: the change is "
        "kept in the audit log, with what it was before.", icon=":material/edit_note:",
    )

today = forms.now_uk().date()
with form.form():
    st.radio("Result *", RESULTS, index=forms.index_of(RESULTS, stored["result"]), key=key("result"),
             horizontal=True, format_func=codes.ASSESSMENT_RESULTS.get,
             help="Completed: the assessment and harm-reduction session took place. No contact: the "
                  "person could not be reached. Declined: reached, but would not take part.")
    problems.at("result")
    left, middle, right = st.columns(3)
    with left:
        st.number_input("Contact attempts", value=stored["contact_attempts"], key=key(ATTEMPTS), step=1,
                        help="Calls or messages made to reach the person, including the successful one (0 to 50). "
                             "It starts from the contact attempts recorded above.")
        problems.at("contact_attempts")
    with middle:
        st.date_input("Completed on", value=completed.date() if completed else today, key=key("completed_on"),
                      format=forms.DATE_FORMAT, min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                      help="For a completed assessment only. From the referral day "
                           f"({wording.day(detail['referred_at'])}) to today: it cannot come before the referral.")
        problems.at("completed_at")
    with right:
        st.time_input("Time completed (UK)", key=key("completed_time"), step=60,
                      value=completed.time().replace(second=0, microsecond=0) if completed else forms.time_now())

    st.markdown("**Risk flags**")
    columns = st.columns(len(codes.RISK_FLAGS))
    for column, (name, label) in zip(columns, codes.RISK_FLAGS.items(), strict=True):
        with column:
            st.checkbox(label, value=bool(stored[name]), key=key(name))
            problems.at(name)
    st.checkbox("Harm-reduction advice given", value=bool(stored["harm_reduction_advice"]), key=key("advice"),
                help="Personalised advice on the risks of the person's drug use (for example mixing substances).")
    problems.at("harm_reduction_advice")

    st.radio("Allocation", ALLOCATIONS, index=forms.index_of(ALLOCATIONS, stored["allocation"]),
             key=key("allocation"), horizontal=True, format_func=codes.ALLOCATIONS.get,
             help="The intervention that suits the person best. Only after a completed assessment; "
                  "a group course allocation puts them on the waiting list for a session.")
    problems.at("allocation")
    st.text_input("Drug worker's staff code", value=stored["worker"] or "", key=key(WORKER), max_chars=40,
                  placeholder="e.g. DW07", help="The staff code of the drug worker who assessed the person - not "
                                                "their name. It starts from the last contact attempt's.")
    problems.at("worker")
    if existing is not None:
        st.text_area("Reason for the change *", key=key("reason"), max_chars=500,
                     help="Why the assessment is corrected, e.g. 'allocation typed wrongly'.")
        problems.at("reason")
    label = "Save assessment" if existing is None else "Save changes"
    form.button(label, icon=":material/save:", on_click=save, args=(user.username,))
