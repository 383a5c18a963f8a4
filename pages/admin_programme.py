"""Programme: the profile every page, import and figure follows - the force and its areas, the
launch date, how a diversion is recorded, who is eligible, the provider's course, and the price and
officer time behind the value-for-money figures."""

import streamlit as st

from divert.core import clock, wording
from divert.readmodels import admin_view
from divert.records import programme_profile
from divert.reference import forces, programme
from divert.web import tables, ui

user = ui.require_role("admin")
st.title("Programme")
engine = ui.engine()
current = programme_profile.current(engine)
st.caption("Everything in Divert follows this profile: the areas in the filters and forms, which records an import "
           "accepts, the launch date that splits before from after, how a diversion is recorded, and the demonstration "
           "data. Every change is recorded in the audit log. The same settings: `divert programme show` and "
           "`divert programme set`.")

with st.form("programme"):
    names = {f.slug: f.name for f in forces.FORCES}
    slugs = list(names)
    force = st.selectbox("Police force", slugs, index=slugs.index(current.force), format_func=names.get,
                         help="One of the 43 territorial forces of England and Wales. Its local authorities, from the "
                              "census, become the programme's areas.")
    left, right = st.columns(2)
    launch = left.date_input("Launch date", value=current.launch, min_value=programme.EARLIEST_LAUNCH,
                             max_value=clock.today(), format="DD/MM/YYYY",
                             help="The day the scheme started force-wide: before/after comparisons split here.")
    outcome = right.radio("A diversion is recorded as", list(programme.DIVERSION_OUTCOMES),
                          index=list(programme.DIVERSION_OUTCOMES).index(current.diversion_outcome),
                          format_func=lambda n: f"{programme.DIVERSION_OUTCOMES[n]} (Home Office outcome {n})")
    st.markdown("**Eligibility**")
    e1, e2, e3 = st.columns(3)
    minimum_age = e1.number_input("Minimum age", min_value=10, max_value=25, value=current.minimum_age, step=1)
    classes = e2.multiselect("Drug classes covered", list(programme.DRUG_CLASSES), default=list(current.drug_classes),
                             help="Class A, B and C under the Misuse of Drugs Act 1971.")
    second = e3.toggle("A second offer after engaging once", value=current.second_offer_after_engagement,
                       help="People who did not engage are never offered the course again.")
    st.markdown("**Provider and course**")
    p1, p2 = st.columns(2)
    provider = p1.text_input("Provider", value=current.provider, max_chars=300)
    course_format = p2.text_input("Course format", value=current.course_format, max_chars=300)
    c1, c2 = st.columns(2)
    seats = c1.number_input("Seats per session", min_value=1, max_value=100, value=current.seats_per_session, step=1)
    sessions = c2.number_input("Sessions a week", min_value=0.0, max_value=50.0, value=float(current.sessions_per_week),
                               step=0.5)
    st.markdown("**Value for money**")
    st.caption("Enter each figure as your best (central) estimate and, if you are unsure of it, the lowest and the "
               "highest you think likely; leave low and high blank when there is no range. Every value-for-money "
               "figure (Overview, board pack, `divert metrics value`) is shown with the range these give: the low "
               "figures together give its low end, the high figures its high end.")
    basis = st.radio("The programme's price is", list(programme.COST_BASES), format_func=programme.COST_BASES.get,
                     index=list(programme.COST_BASES).index(current.cost_basis), horizontal=True,
                     help="A contract price a year is prorated over a period's days (days / 365); a price per referral "
                          "is multiplied by the referrals made in the period.")

    def ranged(label, key, limit, step, shown, help_text):
        """Central, low and high number boxes for one figure of programme.RANGES (blank: not entered)."""
        names = programme.RANGES[key]
        boxes = st.columns(3)
        return [box.number_input(f"{label}{suffix}", min_value=0.0, max_value=limit, step=step, format=shown,
                                 value=None if getattr(current, name) is None else float(getattr(current, name)),
                                 placeholder="none", help=help_text if not suffix else "Blank: no range.")
                for box, name, suffix in zip(boxes, names, ("", " - low", " - high"), strict=True)]

    price = ranged("Price (£)", "cost", programme.LIMITS["cost"], 1000.0, "%.0f",
                   "The contract price for a year, or the price of one referral, as chosen above.")
    hours = ranged("Officer hours saved per referral", "officer_hours", programme.LIMITS["officer_hours"], 0.5, "%.1f",
                   "Officer time a charge or caution takes that a Community Resolution with a referral does not.")
    source = st.text_input("Where the officer hours come from", value=current.officer_hours_source, max_chars=300)
    rate = ranged("Cost of an officer hour (£)", "hourly_cost", programme.LIMITS["hourly_cost"], 1.0, "%.2f",
                  "What an hour of an officer's time costs the force (pay and on-costs), to value the hours released.")
    confirm = st.checkbox("I understand that changing the force changes the areas that records and imports accept",
                          help="Needed only when the force changes.")
    if st.form_submit_button("Save the profile", icon=":material/save:"):
        if force != current.force and not confirm:
            st.error("Tick the box to confirm the change of force: records of the old force's areas will no longer "
                     "be accepted.")
        else:
            saved, chosen = programme_profile.save({
                "force": force, "launch": launch, "diversion_outcome": outcome, "minimum_age": minimum_age,
                "drug_classes": classes, "second_offer_after_engagement": str(second), "provider": provider,
                "course_format": course_format, "seats_per_session": seats, "sessions_per_week": sessions,
                "officer_hours_source": source, "cost_basis": basis,
                **dict(zip(programme.RANGES["cost"], price, strict=True)),
                **dict(zip(programme.RANGES["officer_hours"], hours, strict=True)),
                **dict(zip(programme.RANGES["hourly_cost"], rate, strict=True)),
            }, user.username, engine=engine)
            if saved.ok:
                st.success(f"Saved: {chosen.force_name}, launched {wording.day(chosen.launch)}, {len(chosen.areas)} areas.")
                current = chosen
            else:
                ui.show_problems(saved.problems)

st.subheader(f"Areas of {current.force_name}")
st.caption("The local authorities of the force area, as the shipped 2011 census names them (ONS codes). Imports and "
           "forms accept an area's name or its code.")
tables.show(admin_view.areas_table(current.areas), hide_index=True)
