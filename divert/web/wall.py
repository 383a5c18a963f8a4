"""The Wall view's drawing: large type, no controls, and a fragment that runs again every
`refresh_seconds()` (60 unless DIVERT_WALL_REFRESH_SECONDS says otherwise). Each run asks the
database for its data_version (through the live frames, one small query); when a write has moved
it on, the figures are worked out again, otherwise the ones kept for the snapshot are drawn
again. So a screen left on the wall shows a write within a minute, with nobody touching it; and
a session that has ended (the account disabled, the sign-in expired) is signed out as on a click."""

from __future__ import annotations

import os

import altair as alt
import polars as pl
import streamlit as st

from divert.analytics.calendar.months import default_as_of
from divert.auth import accounts
from divert.charts import build
from divert.charts import spec as chart_spec
from divert.core import clock
from divert.readmodels import wall_view
from divert.web import access, dashboard, ui

REFRESH_ENV = "DIVERT_WALL_REFRESH_SECONDS"
REFRESH_SECONDS = 60.0
FONT_PX = 17  # chart labels and titles (Streamlit's charts use 12)
CHART_HEIGHT = 230
BAR_STEP = FONT_PX + 11  # pixels a bar of the funnel (its label and a gap)

# Large type for a screen read from across a room; the toolbars over charts and cards are hidden
# (nothing on a wall is to be clicked). Only while the wall is on screen: the style is part of it.
_STYLE = """<style>
[data-testid="stMainBlockContainer"] {padding-top: 2.5rem !important; padding-bottom: 1rem !important;}
[data-testid="stMain"] h1 {font-size: 2.3rem !important; padding: 0 !important;}
[data-testid="stMetricLabel"] p {font-size: 1.35rem !important; line-height: 1.3;}
[data-testid="stMetricValue"] {font-size: 3.1rem !important; line-height: 1.1;}
[data-testid="stMetricDelta"] {font-size: 1.15rem !important;}
[data-testid="stMain"] [data-testid="stCaptionContainer"] p {font-size: 1.1rem !important;}
[data-testid="stMain"] h3 {font-size: 1.65rem !important; padding-bottom: 0.2rem;}
.divert-wall-as-of {font-size: 1.2rem; text-align: right;}
[data-testid="stElementToolbar"] {display: none !important;}
</style>"""


def refresh_seconds() -> float:
    """How often the wall looks for new data: DIVERT_WALL_REFRESH_SECONDS, else a minute."""
    try:
        return max(1.0, float(os.environ.get(REFRESH_ENV) or REFRESH_SECONDS))
    except ValueError:
        return REFRESH_SECONDS


def show(title: str, role: str) -> None:
    """The wall for `role` under `title`, drawn again every refresh_seconds()."""
    st.set_page_config(initial_sidebar_state="collapsed")  # the whole width for the figures
    st.html(_STYLE)
    st.fragment(_figures, run_every=refresh_seconds())(title, role)


def _figures(title: str, role: str) -> None:
    """The title with the as-of line beside it, the cards and the three charts, from the data
    as they are now."""
    if _session_ended(role):
        st.rerun()  # the whole app: its sign-in gate ends the session (or goes on with the new role)
    as_of = default_as_of(clock.today())
    data = dashboard.frames(wall_view.filters_at(as_of))
    drawn = clock.now().astimezone(clock.UK)
    heading, as_of_line = st.columns([1, 3], vertical_alignment="bottom")
    heading.title(title, anchor=False)
    if wall_view.nothing_recorded(data):
        st.info("No offences or referrals are recorded yet. Caseworkers add referrals on the Records pages, and an "
                "administrator imports the force's extracts on the Imports page; the wall then fills in by itself.",
                icon=":material/info:")
        st.caption(f"Drawn at {drawn:%H:%M} UK time.")
        return
    shown = wall_view.wall(data, as_of, dashboard.gate(role))
    up_to = f"Data up to {shown.data_up_to:%-d %B %Y}" if shown.data_up_to else "No data yet"
    as_of_line.markdown(f"<div class='divert-wall-as-of'><b>{shown.start:%-d %B %Y} to {shown.as_of:%-d %B %Y}</b> "
                        f"(12 months to the last month end).<br>{up_to}, drawn at {drawn:%H:%M} UK time.</div>",
                        unsafe_allow_html=True)
    for column, one in zip(st.columns(len(shown.cards)), shown.cards, strict=True):
        with column.container(border=True, height="stretch"):
            st.metric(one.label, one.value, one.delta, delta_color=one.delta_color,
                      delta_arrow="off" if one.delta == "no change" else "auto")
            st.caption(one.note)
    charts = (_referrals_chart(shown.referrals), _funnel_chart(shown.funnel), _equity_chart(shown.equity))
    for column, panel, chart in zip(st.columns(3, gap="large"), (shown.referrals, shown.funnel, shown.equity),
                                    charts, strict=True):
        with column:
            st.subheader(panel.title, anchor=False)
            st.caption(panel.sentence)
            if chart is None:
                st.info(panel.empty, icon=":material/info:")
            else:
                st.vega_lite_chart(chart_spec.with_arrow(chart), width="stretch")


def _session_ended(role: str) -> bool:
    """In a run of the wall's fragment alone, app.py's sign-in gate does not run: whether this
    session must end or change as the gate would decide on a click (the account disabled, its
    password changed or reset, its role changed, the sign-in expired). A full run has just
    passed the gate."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx(suppress_warning=True)
    if context is None or not context.fragment_ids_this_run:
        return False
    user = ui.current_user()
    if user is None or user.role != role or clock.now() >= user.expires_at:
        return True
    account = accounts.get_account(user.username, ui.engine())
    return (account is None or not account.active or account.role != role
            or account.generation != st.session_state.get(access.GENERATION_KEY))


def _referrals_chart(panel: wall_view.Panel):
    if panel.table.is_empty():
        return None
    return large(build.line(panel.table, "period", "referrals", y_title="Referrals a month", every="1mo",
                            height=CHART_HEIGHT))


def _funnel_chart(panel: wall_view.Panel):
    if panel.table.is_empty():
        return None
    return large(build.bars(panel.table, "step", "people", y_title="People", horizontal=True, sort=None,
                            tooltip_extra=[{"field": "share_of_referred", "type": "quantitative", "format": ".0%",
                                            "title": "Share of referrals"}]))


def _equity_chart(panel: wall_view.Panel):
    if panel.table.is_empty():
        return None
    spec = large(build.forest(panel.table, "group", "rri", "ci_low", "ci_high",
                              x_title="Times the White chance (log scale)", height_per_row=48))
    values = panel.table.select(pl.concat_list("rri", "ci_low", "ci_high").explode().drop_nulls())[:, 0]
    domain = [min(values.min(), 1.0) / 1.15, max(values.max(), 1.0) * 1.15]  # the groups and 1, not powers of 10
    _log_domain(spec, domain)
    return spec


def _log_domain(node, domain: list[float]) -> None:
    """Every log scale in the specification over `domain` exactly (Vega would widen it to the
    powers of ten around it, squeezing ratios near 1 into a corner)."""
    if isinstance(node, dict):
        if node.get("type") == "log":
            node.update(domain=domain, nice=False)
        for value in node.values():
            _log_domain(value, domain)
    elif isinstance(node, list):
        for item in node:
            _log_domain(item, domain)


def large(chart: alt.TopLevelMixin) -> dict:
    """The chart's specification in large type (one image with its text description, as on
    every page: dashboard.chart_block): every font at FONT_PX, every label width the
    builders worked out for 12-pixel labels grown in proportion (so that no label is cut short),
    and bars at least BAR_STEP apart."""
    spec = chart_spec.vega_lite(chart)  # not validated: the builders' output is checked in tests
    _grow(spec, FONT_PX / 12)
    text = {"labelFontSize": FONT_PX, "titleFontSize": FONT_PX}
    spec["config"] = {**spec.get("config", {}), "aria": False, "axis": text, "legend": text,
                      "axisDiscrete": {"labelFlush": False},  # each category's label level with its row
                      "text": {"fontSize": FONT_PX}, "mark": {"fontSize": FONT_PX, "aria": False}}
    return spec


def _grow(node, factor: float) -> None:
    """Label limits, bar steps and font sizes, in place, wherever they are in the specification."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "labelLimit" and isinstance(value, int | float):
                node[key] = round(value * factor)
            elif key == "height" and isinstance(value, dict) and isinstance(value.get("step"), int | float):
                value["step"] = max(value["step"], BAR_STEP)
            elif key == "fontSize" and isinstance(value, int | float):
                node[key] = FONT_PX
            else:
                _grow(value, factor)
    elif isinstance(node, list):
        for item in node:
            _grow(item, factor)
