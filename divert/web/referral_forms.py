"""The forms that work on one referral from its pages: correcting any of its fields, voiding it
(and an administrator undoing the void), correcting its closure, and recording a contact
attempt. Streamlit-facing: each draws its form and saves through divert.records."""

from __future__ import annotations

import streamlit as st

from divert.core import codes
from divert.core.field_rules import Problem
from divert.readmodels import casework
from divert.records.contacts import record_contact
from divert.records.core import Saved
from divert.records.corrections import correct_closure, correct_referral, undo_void_referral, void_referral
from divert.web import forms, ui

CORRECTION_LABELS = {
    "reference": "Referral reference", "referred_at": "Referral date", "referring_team": "Referring team",
    "crime_ref": "Crime reference", "offence_date": "Offence date", "area": "Local policing area",
    "drug": "Main drug", "source": "How it came about", "person_ref": "The right person's identifier",
    "sex": "Sex", "birth_year": "Year of birth", "ethnicity_self": "Self-defined ethnicity",
    "ethnicity_officer": "Officer-defined ethnicity", "override_reason": "Override reason",
    "reason": "Reason for the change", "referral": "Referral",
}
CORRECTION_WIDGETS = {"referred_at": ("day", "time"), "referring_team": ("team",), "override_reason": ("override",),
                      "offence_date": ("offence_day",)}


def _reload(form: forms.Form) -> None:
    form.clear()
    form.renew()


def _select(label, mapping, stored, key, *, show_code=False, required=True, help=None):
    options = list(mapping)
    st.selectbox(label, options, index=forms.index_of(options, stored), key=key,
                 format_func=forms.coded(mapping, show_code=show_code), placeholder="Not recorded", help=help)


def _correction_saver(form: forms.Form, engine, username: str, detail: dict, shown: dict, version: int):
    """The correction form's on_click: only the fields changed from what was shown are saved."""

    def save() -> None:
        v = form.value
        typed = {
            "reference": v("reference"), "referred_at": forms.uk_moment(v("day"), v("time")),
            "referring_team": v("team") or None, "crime_ref": v("crime_ref"), "offence_date": v("offence_day"),
            "area": v("area"), "drug": v("drug"), "source": v("source"), "sex": v("sex"),
            "birth_year": v("birth_year"), "ethnicity_self": v("ethnicity_self"),
            "ethnicity_officer": v("ethnicity_officer"),
        }
        changes = {name: value for name, value in typed.items() if value != shown[name]}
        if v("person_ref"):
            changes["person_ref"] = v("person_ref")
        reason, override = v("reason"), v("override")

        def write():
            if not changes:
                return Saved(True, detail["id"], change="unchanged")
            return correct_referral(detail["id"], changes, shown, username, reason, version,
                                    override_reason=override, engine=engine)

        def success(saved) -> str:
            if saved.change == "unchanged":
                return f"Nothing to change in **{ui.plain(detail['reference'])}**: the values are as stored."
            fields = ", ".join(CORRECTION_LABELS[name].lower() for name in changes if name != "person_ref")
            if "person_ref" in changes:
                fields = ", ".join(filter(None, ["the person", fields]))
            return (f"Referral **{ui.plain(typed['reference'] or detail['reference'])}** corrected ({fields}). "
                    "The reason is in the audit log." + forms.saved_notes(saved))

        saved = form.submit({**typed, "person": bool(v("person_ref")), "reason": reason, "override": override},
                            write, success=success)
        if saved.ok and typed["reference"] and typed["reference"] != detail["reference"]:
            st.query_params[forms.CURRENT_REFERRAL] = typed["reference"]

    return save


def _referral_and_offence_fields(form: forms.Form, detail: dict, referred) -> None:
    """The correction form's referral and offence fields, as stored, each with its problems."""
    key, problems, offence, areas = form.key, form.problems, detail["offence"], forms.areas()
    st.markdown("**Referral**")
    left, middle, right = st.columns(3)
    with left:
        st.text_input("Referral reference", value=detail["reference"], key=key("reference"), max_chars=40)
        problems.at("reference", "referral")
    with middle:
        st.date_input("Referral date", value=referred.date(), key=key("day"), format=forms.DATE_FORMAT,
                      min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST, help=forms.PAST_DAYS)
        problems.at("referred_at")
    with right:
        st.time_input("Time (UK)", value=referred.time(), key=key("time"), step=60)
    st.text_input("Referring team", value=detail["referring_team"] or "", key=key("team"), max_chars=80,
                  help="The officer's team or station - not the officer's name.")
    problems.at("referring_team")
    st.markdown("**Offence**")
    left, middle = st.columns(2)
    with left:
        st.text_input("Crime reference", value=offence["crime_ref"], key=key("crime_ref"), max_chars=40)
        problems.at("crime_ref")
    with middle:
        st.date_input("Offence date", value=offence["offence_date"], key=key("offence_day"),
                      format=forms.DATE_FORMAT, min_value=forms.WIDGET_EARLIEST,
                      max_value=forms.WIDGET_LATEST, help="Not after the referral date.")
        problems.at("offence_date")
    left, middle, right = st.columns(3)
    with left:
        if areas:
            _select("Local policing area", areas, offence["area"], key("area"))
        else:
            st.text_input("Local policing area", value=offence["area"], key=key("area"), max_chars=12)
        problems.at("area")
    with middle:
        _select("Main drug", codes.DRUGS, offence["drug"], key("drug"))
        problems.at("drug")
    with right:
        _select("How it came about", codes.REFERRAL_SOURCES, offence["source"], key("source"))
        problems.at("source")


def _person_fields(form: forms.Form, person: dict) -> None:
    """The correction form's person fields: another person's identifier, or this one's details."""
    key, problems = form.key, form.problems
    st.markdown("**Person**")
    st.text_input("If the referral is about someone else: their police or provider identifier",
                  key=key("person_ref"), max_chars=60, autocomplete="off",
                  help="Moves the referral and its offence to that person (found by the identifier, or "
                       "recorded new with the details below). Never stored or shown: only a keyed hash.")
    problems.at("person_ref")
    left, middle = st.columns(2)
    with left:
        _select("Sex", codes.SEXES, person["sex"], key("sex"))
        problems.at("sex")
    with middle:
        st.number_input("Year of birth", value=person["birth_year"], key=key("birth_year"), step=1,
                        placeholder="Not recorded", help="From 1900; a person referred is at least 10.")
        problems.at("birth_year")
    left, middle = st.columns(2)
    with left:
        _select("Self-defined ethnicity", codes.ETHNICITY_SELF, person["ethnicity_self"],
                key("ethnicity_self"), show_code=True)
        problems.at("ethnicity_self")
    with middle:
        _select("Officer-defined ethnicity", codes.ETHNICITY_OFFICER, person["ethnicity_officer"],
                key("ethnicity_officer"), show_code=True)
        problems.at("ethnicity_officer")


def correction(engine, username: str, detail: dict) -> None:
    """Correct any field of the referral, its offence and its person, with a reason."""
    form = forms.Form(f"correct_referral_{detail['id']}", CORRECTION_LABELS, CORRECTION_WIDGETS)
    key = form.key
    version = form.loaded("version", lambda: detail["version"])
    offence, person = detail["offence"], detail["person"]
    referred = detail["referred_at"].replace(second=0, microsecond=0)
    # what the form shows, as loaded: only what the user changes is saved, and checked against it
    shown = form.loaded("shown", lambda: {
        "reference": detail["reference"], "referred_at": referred, "referring_team": detail["referring_team"] or None,
        **{name: offence[name] for name in ("crime_ref", "offence_date", "area", "drug", "source")},
        **{name: person[name] for name in ("sex", "birth_year", "ethnicity_self", "ethnicity_officer")},
    })

    save = _correction_saver(form, engine, username, detail, shown, version)
    problems = form.problems
    with st.expander("Correct the referral", expanded=bool(problems) or bool(form.notice), icon=":material/edit:"):
        form.show_notice()
        problems.summary()
        if problems.has("version"):
            st.button("Reload the referral (discards what you typed)", on_click=_reload, args=(form,),
                      icon=":material/refresh:")
        st.caption("Change any field and give a reason: the change is kept in the audit log with the old value. "
                   "If someone else saves one of these fields while you are correcting it, you are told, and "
                   "nothing is overwritten. A change that breaks a rule is refused with the reason.")
        with form.form():
            _referral_and_offence_fields(form, detail, referred)
            _person_fields(form, detail["person"])
            if problems.has("override_reason") or form.value("override"):
                st.text_area("Override reason *", key=key("override"), max_chars=2000,
                             help="Why the course is offered although this person did not engage before.")
                problems.at("override_reason")
            st.text_area("Reason for the change *", key=key("reason"), max_chars=500,
                         help="Why the referral is corrected, e.g. 'area typed wrongly'.")
            problems.at("reason")
            form.button("Save correction", icon=":material/save:", on_click=save)


def void(engine, username: str, role: str, detail: dict) -> None:
    """Void the referral as entered by mistake, or (an administrator) undo its void."""
    is_void = detail["void"] is not None
    form = forms.Form(f"void_referral_{detail['id']}", {"reason": "Reason", "confirm": "Confirm",
                                                         "user": "Undo", "referral": "Referral"})
    key = form.key
    version = form.loaded("version", lambda: detail["version"])
    if is_void and role != "admin":
        form.show_notice()  # just voided by this user
        return

    def save() -> None:
        v = form.value
        reason = v("reason")
        if not v("confirm"):
            form.refuse([Problem("confirm", None, "tick the box to confirm")])
            return
        if is_void:
            form.submit({"undo": reason}, lambda: undo_void_referral(detail["id"], reason, username, version,
                                                                            engine=engine),
                        success=lambda saved: f"The void of **{ui.plain(detail['reference'])}** is undone: it counts "
                                              "again in every figure and list.")
        else:
            form.submit({"void": reason, "offence": bool(v("offence"))},
                        lambda: void_referral(detail["id"], reason, username, version,
                                                      with_offence=bool(v("offence")), engine=engine),
                        success=lambda saved: f"**{ui.plain(detail['reference'])}** is void: it is kept, and left "
                                              "out of every figure and work list." + forms.saved_notes(saved))

    problems = form.problems
    title = "Undo the void" if is_void else "Void this referral (entered by mistake)"
    with st.expander(title, expanded=bool(problems) or bool(form.notice), icon=":material/block:"):
        form.show_notice()
        problems.summary()
        if form.notice:
            return
        st.caption("An administrator puts the referral back into the figures and lists." if is_void else
                   "For a referral entered by mistake, such as a duplicate. It is not deleted: it is kept, marked "
                   "void with your reason, and left out of every figure and work list. An administrator can undo it.")
        with form.form():
            st.text_area("Reason *", key=key("reason"), max_chars=500,
                         placeholder="e.g. entered twice: the same referral as DIV-000123")
            problems.at("reason", "referral", "user")
            if not is_void:
                st.checkbox("Its offence was entered by mistake too", value=True, key=key("offence"),
                            help="Untick if the offence is real (e.g. from the force's crime extract) and only the "
                                 "referral was a mistake.")
            st.checkbox("Undo the void" if is_void else "Confirm: void this referral", key=key("confirm"))
            problems.at("confirm")
            form.button("Undo the void" if is_void else "Void referral", icon=":material/block:", on_click=save,
                        primary=False)


def closure_correction(engine, username: str, detail: dict) -> None:
    """Correct the closure's day, result, intelligence-log day and onward referral."""
    closure = detail["closure"]
    labels = {"closed_on": "Closed on", "result": "Result", "intelligence_log_date": "Intelligence log date",
              "onward_treatment": "Onward referral", "reason": "Reason for the change"}
    form = forms.Form(f"correct_closure_{closure['id']}", labels,
                      {"intelligence_log_date": ("log_date",), "onward_treatment": ("onward",)})
    key = form.key
    version = form.loaded("version", lambda: closure["version"])
    results = list(codes.CLOSURE_RESULTS)

    def save() -> None:
        v = form.value
        values = {"closed_on": v("closed_on"), "result": v("result"), "intelligence_log_date": v("log_date"),
                  "onward_treatment": bool(v("onward"))}
        reason = v("reason")
        form.submit({**values, "reason": reason},
                    lambda: correct_closure(closure["id"], values, username, reason, version, engine=engine),
                    success=lambda saved: "Nothing changed in the closure." if saved.change == "unchanged"
                    else "Closure corrected (the reason is in the audit log).")

    problems = form.problems
    with st.expander("Correct the closure", expanded=bool(problems) or bool(form.notice), icon=":material/edit:"):
        form.show_notice()
        problems.summary()
        if problems.has("version"):
            st.button("Reload the closure (discards what you typed)", on_click=_reload, args=(form,))
        with form.form():
            st.radio("Result", results, index=forms.index_of(results, closure["result"]), key=key("result"),
                     format_func=codes.CLOSURE_RESULTS.get)
            problems.at("result")
            left, right = st.columns(2)
            with left:
                st.date_input("Closed on", value=closure["closed_on"], key=key("closed_on"), format=forms.DATE_FORMAT,
                              min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                              help="From the referral day to today.")
                problems.at("closed_on")
            with right:
                st.date_input("Intelligence log date", value=closure["intelligence_log_date"], key=key("log_date"),
                              format=forms.DATE_FORMAT, min_value=forms.WIDGET_EARLIEST,
                              max_value=forms.WIDGET_LATEST, help="Only for a closure as not engaged.")
                problems.at("intelligence_log_date")
            st.checkbox("Referred on into structured treatment", value=closure["onward_treatment"], key=key("onward"))
            st.text_area("Reason for the change *", key=key("reason"), max_chars=500)
            problems.at("reason")
            form.button("Save closure correction", icon=":material/save:", on_click=save)


def contact_attempt(engine, username: str, detail: dict) -> None:
    """Record a call or message to reach the person, before the assessment is recorded."""
    labels = {"attempted_at": "When", "outcome": "Outcome", "assessment_booked_for": "Assessment booked for",
              "worker": "Staff code of who made the contact", "referral_reference": "Referral"}
    form = forms.Form(f"contact_{detail['id']}", labels,
                      {"attempted_at": ("day", "time"), "assessment_booked_for": ("booked_day", "booked_time")})
    key = form.key
    outcomes = list(codes.CONTACT_OUTCOMES)

    def save() -> None:
        v = form.value
        values = {"referral_reference": detail["reference"], "attempted_at": forms.uk_moment(v("day"), v("time")),
                  "outcome": v("outcome"), "worker": v("worker"),
                  "assessment_booked_for": forms.uk_moment(v("booked_day"), v("booked_time"))}
        form.submit(values, lambda: record_contact(values, username, engine=engine),
                    success=lambda saved: f"Contact attempt recorded for **{ui.plain(detail['reference'])}**: "
                                          f"{codes.CONTACT_OUTCOMES[values['outcome']].lower()}.")

    st.subheader("Contact attempts")
    contacts = detail["contacts"]
    st.caption(("Attempts so far: " + "; ".join(
        f"{casework.show_moment(c['attempted_at'])} {codes.CONTACT_OUTCOMES[c['outcome']].lower()}" for c in contacts)
        + ".") if contacts else "No contact attempt recorded yet.")
    form.show_notice()
    problems = form.problems
    problems.summary()
    with form.form():
        st.radio("Outcome *", outcomes, index=None, key=key("outcome"), horizontal=True,
                 format_func=codes.CONTACT_OUTCOMES.get)
        problems.at("outcome", "referral_reference")
        left, middle, right = st.columns(3)
        with left:
            st.date_input("When *", value=forms.now_uk().date(), key=key("day"), format=forms.DATE_FORMAT,
                          min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                          help="From the referral to now.")
            problems.at("attempted_at")
        with middle:
            st.time_input("Time (UK) *", value=forms.time_now(), key=key("time"), step=60)
        with right:
            st.text_input("Staff code of who made the contact", key=key("worker"), max_chars=40, placeholder="e.g. DW07",
                          help="The staff code of who called or messaged - not their name. The assessment below "
                               "starts from the last one given.")
            problems.at("worker")
        left, right = st.columns(2)
        with left:
            st.date_input("Assessment booked for (if reached)", value=None, key=key("booked_day"),
                          format=forms.DATE_FORMAT, min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST)
            problems.at("assessment_booked_for")
        with right:
            st.time_input("At (UK)", value=None, key=key("booked_time"), step=900)
        form.button("Record contact attempt", icon=":material/call:", on_click=save, primary=False)
