"""New referral: an officer's referral, with its offence and the person (caseworkers, admins)."""

import streamlit as st

from divert.core import codes
from divert.readmodels.casework import show_moment
from divert.records.referrals import add_referral_from_form
from divert.web import forms, ui

user = ui.require_role("caseworker", "admin")
engine = ui.engine()

FORM = "new_referral"
LABELS = {
    "reference": "Referral reference",
    "crime_ref": "Crime reference",
    "referred_at": "Referral date",
    "area": "Local policing area",
    "drug": "Main drug",
    "source": "How it came about",
    "person_ref": "Police or provider identifier",
    "sex": "Sex",
    "birth_year": "Year of birth",
    "ethnicity_self": "Self-defined ethnicity",
    "ethnicity_officer": "Officer-defined ethnicity",
    "referring_team": "Referring team",
    "offence_date": "Offence date",
    "override_reason": "Override reason",
}
LAST_SAVED = "nr_last_saved"
AREAS = forms.areas()
SOURCES, SEXES = list(codes.REFERRAL_SOURCES), list(codes.SEXES)

form = forms.Form(FORM, LABELS, {"referred_at": ("referred_on", "referred_time"), "referring_team": ("team",),
                                 "override_reason": ("override",)})
key = form.key
area = forms.default_area(user.username, engine)


def save(username: str) -> None:
    v = form.value
    referred_at = forms.uk_moment(v("referred_on"), v("referred_time"))
    values = {
        "reference": v("reference"),
        "crime_ref": v("crime_ref"),
        "referred_at": referred_at,
        # days are kept as UTC days throughout Divert (the outcome date too)
        "offence_date": v("offence_date") or (referred_at.date() if referred_at else None),
        "area": v("area"),
        "drug": v("drug"),
        "source": v("source"),
        "person_ref": v("person_ref"),
        "sex": v("sex"),
        "birth_year": v("birth_year"),
        "ethnicity_self": v("ethnicity_self"),
        "ethnicity_officer": v("ethnicity_officer"),
        "referring_team": v("team"),
        "override_reason": v("override"),
    }

    def success(saved) -> str:
        st.session_state[LAST_SAVED] = values["reference"]
        forms.remember_area(values["area"])
        text = (f"Referral **{values['reference']}** saved: referred {show_moment(values['referred_at'])}, "
                f"{AREAS.get(values['area'], values['area'])}, "
                f"{codes.DRUGS.get(values['drug'], values['drug']).lower()}.")
        if "offered on override" in " ".join(saved.notes):
            text += " The override reason is recorded with the referral and in the audit log."
        return text + forms.saved_notes(saved)

    def write():
        saved = add_referral_from_form(values, username, engine=engine)
        if not v("offence_date") and any(p.field == "referred_at" for p in saved.problems):
            # the offence date was taken from the referral date: its problem is the referral date's
            saved.problems = [p for p in saved.problems if p.field != "offence_date"]
        return saved

    form.submit(values, write, success=success)


st.title("New referral")
st.caption(
    "Record a referral from an officer. Fields marked * are needed. If the force's crime extract "
    "already holds the crime reference, the offence and person recorded there are used."
)
if form.show_notice() and st.session_state.get(LAST_SAVED):
    forms.link("pages/assessment.py", f"Record the assessment for {st.session_state[LAST_SAVED]}",
               icon=":material/call:", referral=st.session_state[LAST_SAVED])
problems = form.problems
problems.summary()

today = forms.now_uk().date()
with form.form():
    st.subheader("Referral")
    left, right = st.columns(2)
    with left:
        st.text_input("Referral reference *", key=key("reference"), max_chars=40, placeholder="e.g. DIV-000123",
                      help="The reference the officer's referral app gave. Letters, digits and / _ . - only.")
        problems.at("reference")
    with right:
        st.text_input("Crime reference *", key=key("crime_ref"), max_chars=40, placeholder="e.g. 20WM/0012/21",
                      help="The crime reference of the possession offence. Letters, digits and / _ . - only.")
        problems.at("crime_ref")
    left, middle, right = st.columns(3)
    with left:
        st.date_input("Referral date *", value=today, key=key("referred_on"), format=forms.DATE_FORMAT,
                      min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                      help=f"The day the officer referred the person (usually the day of the offence). {forms.PAST_DAYS}")
        problems.at("referred_at")
    with middle:
        st.time_input("Time (UK) *", value=forms.time_now(), key=key("referred_time"), step=60,
                      help="The time of the referral, UK time, 24-hour clock.")
    with right:
        if AREAS:
            st.selectbox("Local policing area *", list(AREAS), index=forms.index_of(list(AREAS), area),
                         key=key("area"), format_func=AREAS.get, placeholder="Choose the area",
                         help="Where the offence happened. Starts at the area of your last referral.")
        else:
            st.text_input("Local policing area *", key=key("area"), max_chars=12, help="The area code.")
        problems.at("area")
    left, right = st.columns(2)
    with left:
        st.selectbox("Main drug *", list(codes.DRUGS), index=None, key=key("drug"), format_func=codes.DRUGS.get,
                     placeholder="Choose the drug", help="The main drug found.")
        problems.at("drug")
    with right:
        st.selectbox("How it came about *", SOURCES, index=SOURCES.index("stop_search"), key=key("source"),
                     format_func=codes.REFERRAL_SOURCES.get, help="Most referrals come from a stop and search.")
        problems.at("source")

    st.subheader("Person")
    st.text_input(
        "Police or provider identifier (stored only as a pseudonymous key) *", key=key("person_ref"),
        max_chars=60, autocomplete="off",
        help="For example the PNC number. It is never stored or shown: Divert keeps only a keyed hash, "
             "so that the same person is recognised next time. Not needed if the crime reference is "
             "already recorded.",
    )
    problems.at("person_ref")
    left, right = st.columns(2)
    with left:
        st.selectbox("Sex", SEXES, index=SEXES.index("U"), key=key("sex"), format_func=codes.SEXES.get)
        problems.at("sex")
    with right:
        st.number_input("Year of birth", value=None, key=key("birth_year"), step=1, placeholder="e.g. 1999",
                        help=f"Leave empty if not known. From 1900 to {today.year - 10}: a person referred is at "
                             "least 10 (the age of criminal responsibility).")
        problems.at("birth_year")
    left, right = st.columns(2)
    with left:
        st.selectbox("Self-defined ethnicity", list(codes.ETHNICITY_SELF), index=None, key=key("ethnicity_self"),
                     format_func=forms.coded(codes.ETHNICITY_SELF, show_code=True), placeholder="Not recorded",
                     help="As the person described it (18+1 categories). Leave empty if not asked; "
                          "choose 'Not stated' if they declined to say.")
        problems.at("ethnicity_self")
    with right:
        st.selectbox("Officer-defined ethnicity", list(codes.ETHNICITY_OFFICER), index=None,
                     key=key("ethnicity_officer"), format_func=forms.coded(codes.ETHNICITY_OFFICER, show_code=True),
                     placeholder="Not recorded",
                     help="The officer's own view (IC codes). Kept apart from the self-defined one.")
        problems.at("ethnicity_officer")

    with st.expander("More details (optional)", expanded=problems.has("referring_team", "offence_date")):
        left, right = st.columns(2)
        with left:
            st.text_input("Referring team", key=key("team"), max_chars=80, placeholder="e.g. Birmingham East NPT",
                          help="The officer's team or station - not the officer's name.")
            problems.at("referring_team")
        with right:
            st.date_input("Offence date, if before the referral date", value=None, key=key("offence_date"),
                          format=forms.DATE_FORMAT, min_value=forms.WIDGET_EARLIEST, max_value=forms.WIDGET_LATEST,
                          help=f"Leave empty when the offence was on the referral date. {forms.PAST_DAYS}")
            problems.at("offence_date")

    if problems.has("override_reason") or form.value("override"):
        st.subheader("Previous non-engagement")
        st.text_area(
            "Override reason *", key=key("override"), max_chars=2000,
            help="Why this person is offered the course again although they did not engage last time "
                 "(for example, who agreed it). It is recorded with the referral and in the audit log.",
        )
        problems.at("override_reason")

    form.button("Save referral", icon=":material/save:", on_click=save, args=(user.username,))

st.caption(
    "Before saving, Divert checks the person's history: after a closure as not engaged (an "
    "intelligence log), no new offer is made without an override reason; after a completed "
    "diversion the referral is allowed and counted as a repeat."
)
