"""Imports: the provider's and the force's extracts (CSV or Excel). All rows or none; a preview
(dry run) first; every problem listed on screen and as a CSV report."""

import hashlib

import streamlit as st

from divert.core import codes
from divert.ingest.kinds import KINDS
from divert.ingest.run import data_dictionary, import_files, template_frame
from divert.web import forms, tables, ui

user = ui.require_role("caseworker", "admin")
engine = ui.engine()

PREVIEW, DONE = "im_preview", "im_done"

st.title("Imports")
st.caption(
    "Import an extract: choose its kind, add the files (CSV or Excel .xlsx), preview what would "
    "happen, then import. If any row has a problem nothing is written, and the report lists every "
    "problem by file, row and column. Importing the same rows again changes nothing."
)

ORDER = ["referrals", "assessments", "sessions", "bookings", "closures", "offences", "stop-search", "population"]
kinds = [k for k in ORDER if k in KINDS] + [k for k in KINDS if k not in ORDER]
kind = st.selectbox("Kind of file", kinds, key="im_kind", format_func=lambda k: f"{k} - {KINDS[k].description}",
                    help="Each kind has its own columns: see the template and the data dictionary below.")
spec = KINDS[kind]

with st.expander(f"Template and data dictionary for {kind}", icon=":material/table_chart:"):
    st.caption(f"Rows are matched on {spec.natural_key}: a row already imported is updated when it differs "
               "and left alone when not. Columns marked required must be present and filled.")
    tables.csv_download("Download the template (CSV)", template_frame(kind), f"divert-{kind}-template.csv",
                        icon=":material/download:", on_click="ignore")
    tables.show(data_dictionary(kind), hide_index=True, column_config={
        "meaning": st.column_config.TextColumn(width="large"),
        "allowed values": st.column_config.TextColumn(width="large"),
    })

files = st.file_uploader("Files", type=["csv", "xlsx"], accept_multiple_files=True, key=f"im_files_{kind}",
                         help="One or more files of the chosen kind. police.uk stop-and-search files keep "
                              "their published names (YYYY-MM-<force>-stop-and-search.csv).")
force = None
if kind == "stop-search":
    force = st.selectbox("Force, if the file names do not say", list(codes.FORCES), index=None,
                         format_func=codes.FORCES.get, key="im_force", placeholder="Taken from each file's name",
                         help="Needed only for files renamed from the police.uk pattern.")

sources = [(f.name, f.getvalue()) for f in files or []]
fingerprint = hashlib.sha256(
    repr((kind, force, [(name, hashlib.sha256(content).hexdigest()) for name, content in sources])).encode()
).hexdigest()


def show(report, title: str) -> None:
    """A report: the summary, the counts, and every problem (table and CSV download)."""
    st.subheader(title)
    if report.ok:
        (st.success if report.written or report.dry_run else st.info)(report.summary(), icon=":material/check_circle:")
    else:
        st.error(report.summary(), icon=":material/error:")
    if report.ok:  # the counts of a refused file would only be those of the rows before the problems
        rows, new, updated, unchanged = st.columns(4)
        rows.metric("Rows read", f"{report.rows:,}")
        new.metric("New", f"{report.new:,}")
        updated.metric("Updated", f"{report.updated:,}")
        unchanged.metric("Unchanged", f"{report.unchanged:,}")
    if report.problems:
        frame = forms.hide_identifiers(report.problems_frame())
        more = f" (the first {len(report.problems):,}; {report.more_problems:,} more not listed)" if report.more_problems else ""
        st.markdown(f"**Problems{more}** - row numbers count the header as row 1, as in a spreadsheet.")
        tables.show(frame.rename({"file": "File", "row": "Row", "column": "Column", "value": "Value",
                                  "reason": "Reason"}), hide_index=True)
        tables.csv_download("Download the problem report (CSV)", frame, f"divert-{kind}-problems.csv",
                            icon=":material/download:", on_click="ignore", key=f"report_{title}")


def run(dry_run: bool):
    bar = st.progress(0.0, text="Reading the files...")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    report = import_files(kind, sources, user.username, engine=engine, dry_run=dry_run, force=force, progress=progress)
    bar.empty()
    return report


preview = st.session_state.get(PREVIEW)
previewed = preview is not None and preview[0] == fingerprint and preview[1].ok
left, right, _ = st.columns([1, 1, 3])
preview_pressed = left.button("Preview (dry run)", icon=":material/preview:", disabled=not sources, key="im_preview_button")
import_pressed = right.button("Import", type="primary", icon=":material/upload:", disabled=not previewed,
                              key="im_import_button",
                              help="Available after a preview of these files shows no problems.")

if not sources:
    st.info("Add one or more files to preview them. Nothing is written until you press Import.", icon=":material/upload_file:")
elif preview_pressed:
    st.session_state[PREVIEW] = (fingerprint, run(dry_run=True))
    st.session_state.pop(DONE, None)
    st.rerun()  # draw the buttons again: Import is available after a clean preview
elif import_pressed:
    done = st.session_state.get(DONE)
    if done is None or done[0] != fingerprint:  # a second click on Import does not import again
        st.session_state[DONE] = (fingerprint, run(dry_run=False))
    st.session_state.pop(PREVIEW, None)
    st.rerun()

done = st.session_state.get(DONE)
if done is not None and done[0] == fingerprint:
    show(done[1], "Import")
elif preview is not None and preview[0] == fingerprint:
    show(preview[1], "Preview")
    if preview[1].ok:
        st.caption("Nothing has been written yet. Press Import to write these rows.")
elif sources:
    st.caption("Press Preview to check the files: nothing is written by a preview.")
