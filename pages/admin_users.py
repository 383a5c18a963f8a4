"""Users (administrators only): add, change role, disable or enable, reset password, unlock."""

import streamlit as st

from divert.auth import accounts
from divert.core import codes, wording
from divert.web import tables, ui

NOTICE = "divert_users_notice"

me = ui.require_role("admin")
engine = ui.engine()
st.title("Users")


def done(text: str, password: str | None = None) -> None:
    st.session_state[NOTICE] = {"text": text, "password": password}
    st.rerun()


notice = st.session_state.pop(NOTICE, None)
if notice:
    st.success(notice["text"], icon=":material/check_circle:")
    if notice.get("password"):
        st.code(notice["password"], language=None)
        st.caption(
            "Give this one-time password to the person directly (not by email). They must choose "
            "their own password when they sign in. It is not shown again."
        )

people = accounts.list_accounts(engine)


def status(account) -> str:
    if not account.active:
        return "Disabled"
    if account.locked():
        who = f" for {wording.plural(account.clients_locked, 'client')}" if account.clients_locked else ""
        return f"Locked{who} until {wording.moment(account.locked_until)} (UK time)"
    if account.must_change_password:
        return "Active, one-time password"
    return "Active"


tables.show(
    [
        {
            "Username": a.username,
            "Name": a.display_name,
            "Role": a.role_label,
            "Status": status(a),
            "Wrong passwords": a.failed_logins,
            "Created": wording.day(a.created_at),
            "Demo account": "Yes" if a.demo else "No",
        }
        for a in people
    ],
    hide_index=True,
)

add_tab, change_tab = st.tabs(["Add a user", "Change a user"])

with add_tab:
    with st.form("add_user", clear_on_submit=True, enter_to_submit=False):
        username = st.text_input("Username", max_chars=60, help="Letters, digits and . _ - only.")
        display_name = st.text_input("Name as shown in the app (optional)", max_chars=120)
        role = st.selectbox("Role", list(codes.ROLES), format_func=codes.ROLES.get)
        add = st.form_submit_button("Add user", type="primary")
    st.caption("A one-time password is created; the new user changes it at the first sign-in.")
    if add:
        password = accounts.one_time_password()
        saved = accounts.add_user(
            {"username": username, "display_name": display_name, "role": role,
             "password": password, "must_change_password": True},
            me.username, engine=engine,
        )
        if saved.ok:
            done(f"User {username.strip()} added as {codes.ROLES[role]}.", password)
        ui.show_problems(saved.problems)

with change_tab:
    by_name = {a.username: a for a in people}
    chosen = st.selectbox(
        "User", list(by_name), key="users_chosen",
        format_func=lambda name: f"{name} - {by_name[name].display_name}",
    )
    target = by_name.get(chosen)
    if target is not None:
        myself = target.username == me.username
        st.markdown(f"**Role:** {target.role_label} · **Status:** {status(target)}")
        left, right = st.columns(2)
        with left:
            new_role = st.selectbox(
                "Role", list(codes.ROLES), index=list(codes.ROLES).index(target.role),
                format_func=codes.ROLES.get, key=f"role_{target.username}", disabled=myself,
            )
            if st.button("Save role", disabled=myself or new_role == target.role):
                saved = accounts.set_role(target.username, new_role, me.username, engine=engine)
                if saved.ok:
                    done(f"{target.username} is now {codes.ROLES[new_role]}.")
                ui.show_problems(saved.problems)
        with right:
            if target.active:
                if st.button("Disable account", disabled=myself):
                    saved = accounts.set_user_active(
                        target.username, False, me.username, engine=engine, keep_an_admin=True
                    )
                    if saved.ok:
                        done(f"{target.username} is disabled and can no longer sign in.")
                    ui.show_problems(saved.problems)
            elif st.button("Enable account"):
                saved = accounts.set_user_active(target.username, True, me.username, engine=engine)
                if saved.ok:
                    done(f"{target.username} can sign in again.")
                ui.show_problems(saved.problems)
            if st.button("Reset password", disabled=myself):
                saved, password = accounts.reset_password(target.username, me.username, engine=engine)
                if saved.ok:
                    done(f"{target.username} has a one-time password.", password)
                ui.show_problems(saved.problems)
            if (target.locked() or target.failed_logins) and st.button(
                "Unlock", help="Lift every sign-in lock and count on this account, from every client."
            ):
                saved = accounts.unlock(target.username, me.username, engine=engine)
                if saved.ok:
                    done(f"{target.username} is unlocked.")
                ui.show_problems(saved.problems)
        if myself:
            st.caption("You cannot change your own role, disable or reset your own account here: "
                       "change your password on My account.")
