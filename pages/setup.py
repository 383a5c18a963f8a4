"""First-run setup: the first administrator, and optionally the demonstration data.

Reachable only while the database has no accounts; once one exists this page refuses.
"""

import streamlit as st

from divert.auth import accounts
from divert.core import clock
from divert.records import programme_profile
from divert.reference import forces, programme
from divert.web import access, ui

ui.leave_legacy_pages_mode()
st.title("Set up Divert")
engine = ui.engine()
if accounts.has_users(engine):
    st.info("Setup is already complete. Open the app's address again to sign in.")
    st.stop()

st.write(
    "There are no accounts yet. Create the first **administrator**: this account adds the other "
    "users, sees the audit log and changes the settings."
)
try:
    from divert.demo import load_demo
except ImportError:  # the demonstration generator is not part of this installation
    load_demo = None
demo_available = load_demo is not None

with st.form("setup", enter_to_submit=False):
    username = st.text_input("Username", max_chars=60, help="Letters, digits and . _ - only.")
    display_name = st.text_input("Your name as shown in the app (optional)", max_chars=120)
    password = st.text_input(
        "Password", type="password",
        help=f"At least {accounts.MIN_PASSWORD_LENGTH} characters, and not the username.",
    )
    password_again = st.text_input("Password again", type="password")
    st.divider()
    st.markdown("**The programme** (an administrator can change it later on the Programme page)")
    profile = programme_profile.current(engine)
    names = {f.slug: f.name for f in forces.FORCES}
    force = st.selectbox("Police force", list(names), index=list(names).index(profile.force), format_func=names.get,
                         help="Its local authorities, from the census, become the programme's areas.")
    left, right = st.columns(2)
    launch = left.date_input("Launch date", value=profile.launch, min_value=programme.EARLIEST_LAUNCH,
                             max_value=clock.today(), format="DD/MM/YYYY",
                             help="The day the scheme started force-wide: before/after comparisons split here.")
    outcome = right.radio("A diversion is recorded as", list(programme.DIVERSION_OUTCOMES),
                          format_func=lambda n: f"{programme.DIVERSION_OUTCOMES[n]} (outcome {n})")
    st.divider()
    with_demo = st.checkbox(
        "Also load the demonstration data",
        disabled=not demo_available,
        help="Synthetic referrals, people and sessions, plus one demonstration account per role, "
        "to try Divert out. A banner on every page says the data is synthetic."
        + ("" if demo_available else " (The demonstration generator is not installed.)"),
    )
    submitted = st.form_submit_button("Create administrator", type="primary")

if submitted:
    saved = accounts.create_first_admin(
        {"username": username, "display_name": display_name, "password": password,
         "password_again": password_again},
        engine=engine,
    )
    if not saved.ok:
        ui.show_problems(saved.problems)
        st.stop()
    done = {"admin": username.strip(), "logins": []}
    profile_saved, _ = programme_profile.save({"force": force, "launch": launch, "diversion_outcome": outcome},
                                      username.strip(), engine=engine)
    if not profile_saved.ok:
        done["demo_error"] = "the programme profile was not saved: " + "; ".join(
            p.reason for p in profile_saved.problems) + ". Set it on the Programme page."
    if with_demo and load_demo is not None:
        bar = st.progress(0.0, text="Loading the demonstration data...")

        def progress(step: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"Demonstration data: {step}")

        try:
            summary = load_demo(engine, seed=2020, scale=1.0, progress=progress, allow_users=(username.strip(),))
            done["logins"] = summary.get("logins", [])
        except Exception as error:  # the administrator exists either way; say what went wrong
            done["demo_error"] = f"{type(error).__name__}: {error}"
    st.session_state[access.SETUP_DONE_KEY] = done
    st.rerun()
