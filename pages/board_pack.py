"""Board pack: the dashboards' figures for a chosen period as a PDF and an HTML file, through the
disclosure gate for the role (the same pack as `divert report`). Each pack made is audited."""

from datetime import date, timedelta

import streamlit as st

from divert import report
from divert.core import clock, wording
from divert.records.exports import record_export
from divert.web import dashboard, ui

PACK = "divert_board_pack"

user = ui.require_role("viewer", "manager", "admin")
engine = ui.engine()
st.title("Board pack")
exact = user.role in ("manager", "admin")
st.caption(
    "For a chosen period: the headline figures, the key charts, the disparity tables with their intervals, "
    + ("capacity and the referral forecast, " if exact else "")
    + "and the method notes, as a PDF and as one HTML file. The numbers are the dashboards' numbers. "
    + ("Your role sees exact figures: the pack is marked restricted, not for publication." if exact else
       "It is the published pack: small numbers are suppressed as on the dashboards, and periods are whole months "
       "ending at a month end."))

today = clock.today()
data = dashboard.all_frames()
launch = data.programme.launch
first = data.offences["offence_date"].min() or launch


def bounds(period: str, as_of: date) -> tuple[date, date]:
    start, end = dashboard.period_bounds(period, as_of, launch)
    return start or first, end


left, right = st.columns(2)
if exact:
    picked = left.date_input("As of", value=today, max_value=today, min_value=date(2000, 1, 1), format="DD/MM/YYYY",
                             key="board_pack_as_of", help="Every figure is measured as it stood at the end of this day.")
    as_of = picked if isinstance(picked, date) else today
    choices = list(dashboard.PERIODS)
else:
    ends = dashboard.month_ends(today - timedelta(days=1))
    as_of = left.selectbox("As of (month end)", ends, format_func=wording.day, key="board_pack_as_of_month",
                           help="Published figures are measured at a month end, over fixed periods.")
    choices = [p for p in dashboard.PERIODS[:-1] if not report.check_request("viewer", *bounds(p, as_of), as_of, today)]
period = right.selectbox("Period", choices, key="board_pack_period", help=dashboard.PERIOD_HELP)
if period == "Custom":
    picked = st.date_input("From - to", value=(max(first, as_of - timedelta(days=364)), as_of), min_value=date(2000, 1, 1),
                           max_value=as_of, format="DD/MM/YYYY", key="board_pack_dates")
    if not (isinstance(picked, tuple) and len(picked) == 2):
        st.info("Choose the first and the last day of the period.", icon=":material/date_range:")
        st.stop()
    start, end = picked
else:
    start, end = bounds(period, as_of)

st.caption(f"**Period:** {wording.day(start)} to {wording.day(end)}. **As of:** {wording.day(as_of)}. **Figures for:** the "
           f"{user.role} role.")
problems = report.check_request(user.role, start, end, as_of, today)
for problem in problems:
    st.warning(problem, icon=":material/warning:")
if st.button("Build the board pack", type="primary", icon=":material/picture_as_pdf:", disabled=bool(problems)):
    bar = st.progress(0.0, text="Starting")
    try:
        files = report.make(engine, start=start, end=end, as_of=as_of, role=user.role,
                            progress=lambda text, fraction: bar.progress(fraction, text=text))
    except report.ReportError as error:
        bar.empty()
        st.session_state.pop(PACK, None)
        st.error(str(error), icon=":material/error:")
    else:
        stem = report.file_stem(files.pack)
        record_export(user.username, report.audit_details(files.pack, {"pdf": f"{stem}.pdf", "html": f"{stem}.html"}),
                      engine=engine)
        bar.empty()
        st.session_state[PACK] = {"role": user.role, "stem": stem, "pdf": files.pdf, "html": files.html,
                                  "summary": f"{files.pack.period_text}, as of {wording.day(files.pack.as_of)}, data "
                                             f"version {files.pack.data_version}"}

made = st.session_state.get(PACK)
if made and made["role"] == user.role:
    st.success(f"Board pack ready: {made['summary']}.", icon=":material/check_circle:")
    one, two = st.columns(2)
    one.download_button("Download the PDF", made["pdf"], file_name=f"{made['stem']}.pdf", mime="application/pdf",
                        icon=":material/download:", on_click="ignore", key="board_pack_pdf")
    two.download_button("Download the HTML version", made["html"], file_name=f"{made['stem']}.html", mime="text/html",
                        icon=":material/download:", on_click="ignore", key="board_pack_html")
