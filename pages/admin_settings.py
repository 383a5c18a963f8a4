"""Settings (administrators only): kept in the database, every change audited."""

import streamlit as st

from divert.records import stored_settings
from divert.web import ui

NOTICE = "divert_settings_notice"

me = ui.require_role("admin")
engine = ui.engine()
st.title("Settings")
st.caption("Stored in the database, so every copy of the app uses the same values. Changes are audited.")

notice = st.session_state.pop(NOTICE, None)
if notice:
    st.success(notice, icon=":material/check_circle:")

current = stored_settings.load(engine)
values = {}
with st.form("settings", enter_to_submit=False):
    group = None
    for spec in stored_settings.SPECS:
        if spec.group != group:
            group = spec.group
            st.subheader(group)
        value = getattr(current, spec.key)
        if spec.kind is int:
            values[spec.key] = st.number_input(
                spec.label, min_value=int(spec.low), max_value=int(spec.high), value=int(value),
                step=int(spec.step), help=spec.help, key=f"setting_{spec.key}",
            )
        else:
            values[spec.key] = st.number_input(
                spec.label, min_value=float(spec.low), max_value=float(spec.high), value=float(value),
                step=float(spec.step), help=spec.help, key=f"setting_{spec.key}", format="%.2f",
            )
    submitted = st.form_submit_button("Save settings", type="primary")

if submitted:
    saved = stored_settings.save(values, me.username, engine=engine)
    if saved.ok:
        changed = [stored_settings.SPEC_BY_KEY[key].label for key in saved.notes]
        st.session_state[NOTICE] = ("Saved: " + "; ".join(changed)) if changed else "Nothing changed."
        st.rerun()
    ui.show_problems(saved.problems)

defaults = stored_settings.DEFAULTS
st.caption(
    "Defaults: " + "; ".join(f"{spec.label.lower()} {getattr(defaults, spec.key):g}" for spec in stored_settings.SPECS)
)
