"""Divert: `streamlit run app.py`.

Every run: schema ready -> first-run setup if there are no users -> sign-in gate -> the
signed-in user's navigation (by role) -> the chosen page.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import OperationalError

from divert.auth import accounts
from divert.core.environment import database_url
from divert.records import pseudonym
from divert.storage.db import BUSY_MESSAGE, is_busy
from divert.web import access, ui, warm

st.set_page_config(page_title="Divert", page_icon=":material/alt_route:", layout="wide")


def main() -> None:
    warm.start()  # the dashboards' modules imported while the first user signs in
    ui.leave_legacy_pages_mode()
    ui.style()
    try:
        ui.ensure_schema(database_url())
        engine = ui.engine()
        first_run = not accounts.has_users(engine)
    except OperationalError:
        st.error(
            "Divert cannot reach its database. Check `DIVERT_DATABASE_URL` (or `[database] url` "
            "in `.streamlit/secrets.toml`) and that the database server is running."
        )
        st.stop()

    if first_run:
        st.navigation(access.setup_pages(), position="hidden").run()
        return

    gate = access.Gate(engine)  # the one construction of the authenticator in this run
    user = gate.user()
    if user is None:
        gate.signed_out_navigation().run()
        return

    page = access.navigation(user)
    ui.sidebar(user)
    ui.header(user)
    if user.role in ("caseworker", "admin"):
        problem = pseudonym.key_problem(engine)
        if problem:  # every write that hashes an identifier refuses until the key is restored
            st.error(problem, icon=":material/key_off:")
    try:
        page.run()
    except OperationalError as error:
        if not is_busy(error):
            raise
        st.error(BUSY_MESSAGE, icon=":material/hourglass:")  # never a raw "database is locked"


main()
