"""What every dashboard page shares: the frames cached on data_version, the one set of filters
(kept in the session and the URL), and the chart block (title, caption, chart, table, CSV,
empty state, small-number suppression for the viewer role)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import streamlit as st

from divert import app_settings, codes
from divert.analytics.filters import Filters
from divert.analytics.frames import Frames, load_frames
from divert.analytics.metrics import end_of_data
from divert.db import data_version, get_engine
from divert.disclosure import for_display, suppress
from divert.safe_csv import to_csv_bytes
from divert.settings import current_force, database_url  # noqa: F401  (current_force for pages)

FILTERS_KEY = "dashboard_filters"
ALL = "All"
PERIODS = ("All time", "Last 12 months", "Last 6 months", "Since the policy started", "Custom")


@st.cache_resource(max_entries=2, show_spinner="Loading the latest figures...")
def _frames(url: str, version: int) -> Frames:
    return load_frames(get_engine(url))


def frames() -> Frames:
    """The analytics frames for the current data version: a write anywhere (any replica)
    bumps the version, so the next rerun loads fresh data; between writes it is cached."""
    url = database_url()
    return _frames(url, data_version(get_engine(url)))


@st.cache_data(ttl=60, show_spinner=False)
def _settings(url: str, version: int) -> app_settings.AppSettings:
    return app_settings.load(get_engine(url))


def settings() -> app_settings.AppSettings:
    url = database_url()
    return _settings(url, data_version(get_engine(url)))


def _choice(label: str, options: dict[str, str], current: str | None, key: str, help: str) -> str | None:
    keys = [ALL, *options]
    picked = st.selectbox(label, keys, index=keys.index(current) if current in keys else 0,
                          format_func=lambda k: k if k == ALL else options[k], key=key, help=help)
    return None if picked == ALL else picked


def filter_bar(data: Frames, page: str) -> Filters:
    """The filters in the sidebar. They start from the link (query string) or the last page,
    and are written back to the query string so a view can be shared as a link."""
    if FILTERS_KEY not in st.session_state:
        st.session_state[FILTERS_KEY] = Filters.from_query(st.query_params)
    current: Filters = st.session_state[FILTERS_KEY]
    last = end_of_data(data) or date.today()
    first = data.offences["offence_date"].min() or last
    with st.sidebar:
        st.markdown("**Filters** (all dashboards)")
        preset = _period_name(current, last)
        period = st.selectbox("Period", PERIODS, index=PERIODS.index(preset), key=f"{page}_period",
                              help="Which dates count. Trend charts show the whole series within the other filters.")
        start, end = _period_dates(period, current, first, last, page)
        areas = codes.AREAS.get(codes.DEFAULT_FORCE, {})
        area = _choice("Local policing area", areas, current.area, f"{page}_area", "Where the offence was recorded.")
        source = _choice("Source", codes.REFERRAL_SOURCES, current.source, f"{page}_source", "How the person came to the police.")
        age = _choice("Age band", {b: b for b in (*codes.AGE_BANDS, "Missing")}, current.age_band, f"{page}_age", "Age at the offence.")
        sex = _choice("Sex", codes.SEXES, current.sex, f"{page}_sex", "Sex as recorded.")
        groups = {g: g for g in (*codes.BROAD_GROUPS, "Missing")}
        group = _choice("Ethnic group (self-defined)", groups, current.ethnic_group, f"{page}_group",
                        "Broad self-defined group. 'Not stated' and 'Missing' are kept as groups of their own.")
    chosen = Filters(start=start, end=end, area=area, source=source, age_band=age, sex=sex, ethnic_group=group)
    st.session_state[FILTERS_KEY] = chosen
    if dict(st.query_params) != chosen.to_query():
        st.query_params.from_dict(chosen.to_query())
    return chosen


def _period_name(current: Filters, last: date) -> str:
    if not current.start and not current.end:
        return "All time"
    if current.end in (None, last):
        for name, days in (("Last 12 months", 365), ("Last 6 months", 182)):
            if current.start == last - timedelta(days=days):
                return name
        if current.start == date(2020, 10, 1):
            return "Since the policy started"
    return "Custom"


def _period_dates(period: str, current: Filters, first: date, last: date, page: str):
    if period == "All time":
        return None, None
    if period == "Last 12 months":
        return last - timedelta(days=365), last
    if period == "Last 6 months":
        return last - timedelta(days=182), last
    if period == "Since the policy started":
        return date(2020, 10, 1), last
    picked = st.date_input("From - to", value=(current.start or first, current.end or last), min_value=date(2000, 1, 1),
                           max_value=max(last, date.today()), format="DD/MM/YYYY", key=f"{page}_dates")
    if isinstance(picked, tuple) and len(picked) == 2:
        return picked
    return current.start, current.end


def protect(table: pl.DataFrame, role: str, counts: list[str], rates: dict[str, str] | None = None,
            group_by: list[str] | None = None) -> pl.DataFrame:
    """For the viewer role, suppress small counts (and rates on tiny denominators)."""
    if role != "viewer" or table.is_empty():
        return table
    return suppress(table, counts, rates, threshold=settings().small_number_threshold, group_by=group_by)


def chart_block(title: str, caption: str, chart, table: pl.DataFrame, filename: str, *,
                empty: str = "Nothing recorded for these filters. Widen the period or clear a filter.",
                counts: list[str] | None = None, key: str | None = None) -> None:
    """Title, 'what this shows', chart and table view, CSV download, or a clear empty state."""
    st.subheader(title)
    st.caption(caption)
    if table.is_empty():
        st.info(empty, icon=":material/info:")
        return
    shown = for_display(table, counts or [])
    chart_tab, table_tab = st.tabs(["Chart", "Table"])
    with chart_tab:
        st.altair_chart(chart, width="stretch")
    with table_tab:
        st.dataframe(shown, width="stretch", hide_index=True)
    st.download_button("Download CSV", to_csv_bytes(shown), file_name=f"{filename}.csv", mime="text/csv",
                       key=key or f"download_{filename}", icon=":material/download:")
