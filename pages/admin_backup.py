"""Backups and the public transparency release (administrators only): the same files as
`divert export OUT` and `divert export OUT --public`, as zip downloads. Both are audited."""

import streamlit as st

from divert.analytics.calendar.months import default_as_of
from divert.backup import BackupError, backup_zip
from divert.core.clock import today as today_in_london
from divert.readmodels.admin_view import disclosure_audit
from divert.release import ReleaseError, release_zip
from divert.web import ui

BACKUP = "divert_backup_download"
RELEASE = "divert_release_download"

me = ui.require_role("admin")
engine = ui.engine()
st.title("Backups and public release")

st.subheader("Backup")
st.caption(
    "Every table of the database as Parquet files, with a manifest of row counts and checksums, in one zip. "
    "Restore it into a new, empty database with `divert restore FILE.zip`. The backup holds every record and "
    "the users' password hashes: keep it as safe as the database itself. It does not hold the person-key and "
    "cookie-key secrets: keep those with it, or restored people get new keys (see docs/backup.md). Its manifest "
    "is signed with this server's backup key: a restore on another server needs that key too (docs/keys.md). For a large "
    "database, run `divert export` on the server instead."
)
if st.button("Prepare a backup", icon=":material/backup:"):
    with st.spinner("Reading every table..."):
        try:
            st.session_state[BACKUP] = backup_zip(engine, me.username)
        except BackupError as error:
            st.error(str(error))
if BACKUP in st.session_state:
    data, name = st.session_state[BACKUP]
    st.download_button(f"Download {name}", data, file_name=name, mime="application/zip",
                       icon=":material/download:", on_click="ignore")

st.subheader("Public transparency release")
st.caption(
    "Aggregate tables for publication - volume by month and area, the pathway funnel, outcomes by ethnic group "
    "and disparity - as CSV and Excel with a README and a data dictionary. Counts from 1 to 7 are shown as *, "
    "other counts are rounded to the nearest 5, and further counts are hidden wherever a hidden one could "
    "otherwise be worked out from totals. Only months complete on the date chosen are included."
)
level, audit_text = disclosure_audit(engine)
getattr(st, level)(audit_text, icon=":material/policy:")
today = today_in_london()
as_of = st.date_input("Figures as known on", value=default_as_of(today), max_value=today, format="YYYY-MM-DD",
                      help="By default the last month end before today, as on every page and in the board pack.")
if st.button("Prepare the public release", icon=":material/public:"):
    with st.spinner("Building and checking the tables..."):
        try:
            st.session_state[RELEASE] = release_zip(engine, as_of, me.username)
        except ReleaseError as error:
            st.error(str(error))
if RELEASE in st.session_state:
    data, name = st.session_state[RELEASE]
    st.download_button(f"Download {name}", data, file_name=name, mime="application/zip",
                       icon=":material/download:", on_click="ignore")
