"""My account: who I am, and changing my own password (required after a reset)."""

import streamlit as st

from divert.auth import accounts
from divert.core import wording
from divert.web import access, ui

user = ui.require_role(*access.ALL_ROLES, allow_password_change=True)
st.title("My account")

# kept until the next change: the cookie set after a change makes the page run again
notice = st.session_state.get("divert_account_notice")
if notice:
    st.success(notice)
if user.must_change_password:
    st.warning(
        "You signed in with a one-time password. Choose your own password to go on.",
        icon=":material/key:",
    )

st.markdown(
    f"**Username:** {user.username}  \n**Name:** {user.display_name}  \n"
    f"**Role:** {user.role_label}  \n"
    f"**Signed in until:** {wording.moment(user.expires_at)} (UK time)"
)

st.subheader("Change password")
with st.form("change_password", clear_on_submit=True, enter_to_submit=False):
    current = st.text_input("Current password", type="password")
    new = st.text_input(
        "New password", type="password",
        help=f"At least {accounts.MIN_PASSWORD_LENGTH} characters, not your username.",
    )
    again = st.text_input("New password again", type="password")
    submitted = st.form_submit_button("Change password", type="primary")

if submitted:
    st.session_state.pop("divert_account_notice", None)
    saved = accounts.change_password(user.username, current, new, again, engine=ui.engine())
    if saved.ok:
        # every other session of this account has ended; this one goes on under a new cookie
        access.renew_session(accounts.get_account(user.username, ui.engine()).generation)
        st.session_state["divert_account_notice"] = (
            "Your password has been changed. Any other browser signed in as you has been signed out."
        )
        st.rerun()
    ui.show_problems(saved.problems, "The password was not changed:")
