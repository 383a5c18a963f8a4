"""What every dashboard page shares: the frames cached on data_version, the one set of filters
(kept in the session and the URL), and the chart block (title, caption, chart, table, CSV,
empty state, small-number suppression for the viewer role)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date, timedelta

import polars as pl
import streamlit as st

from divert.analytics.calendar.months import NAMED_PERIODS, default_as_of, period_bounds
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.live import LiveFrames
from divert.analytics.data.memo import per_snapshot, single_flight
from divert.charts import spec as chart_spec
from divert.core import clock, codes, headers, wording
from divert.core.disclosure import EXACT_ROLES, Gate, for_display, too_narrow
from divert.core.environment import current_force, database_url  # noqa: F401  (current_force for pages)
from divert.core.safe_csv import to_csv_bytes
from divert.records import stored_settings
from divert.storage.db import data_version, get_engine
from divert.web import tables

FILTERS_KEY = "dashboard_filters"
PERIOD_KEY = "dashboard_period"
ALL = "All"
PERIODS = (*NAMED_PERIODS, "Custom")  # a viewer gets the named periods only
AS_OF_RULE = "Unless another date is chosen, every role sees the figures as of the last month end before today."
PERIOD_HELP = ("The dates that count in every figure and chart on every page, ending on the as-of date. "
               "Pages that compare two periods (the Overview against the period before, outcomes before and "
               "after the launch) name both periods on the page.")


@st.cache_resource(show_spinner=False)
def _live(url: str) -> LiveFrames:
    return LiveFrames(url)


def live() -> LiveFrames:
    """This database's frames, kept current: loaded once per app process, then after each write
    (through any replica) only the records it touched are read again."""
    return _live(database_url())


def all_frames() -> Frames:
    """Everything recorded, up to date with the last write."""
    store = live()
    if store.frames is None:
        with st.spinner("Loading the figures (once, when the app starts)..."):
            return store.current()
    return store.current()


def frames(filters: Filters) -> Frames:
    """What was known at the end of the filters' as-of date (Europe/London). For a gated role
    (viewer), a page whose filters single out too few people stops here with the reason."""
    _, data = live().at(filters.as_of_date)
    if not _exact_role():
        reason = too_narrow(data, filters, settings().small_number_threshold)
        if reason:
            st.info(reason, icon=":material/visibility_off:")
            st.stop()
    return data


def _exact_role() -> bool:
    from divert.web.ui import current_user

    user = current_user()
    return user is not None and user.role in EXACT_ROLES


def month_ends(before: date, count: int = 60) -> list[date]:
    """The last `count` month ends on or before `before`, newest first."""
    last = before if (before + timedelta(days=1)).day == 1 else before.replace(day=1) - timedelta(days=1)
    first = pl.Series([last.replace(day=1)]).dt.offset_by(f"-{count - 1}mo")[0]
    return pl.date_range(first, last.replace(day=1), "1mo", eager=True).dt.month_end().to_list()[::-1]


@st.cache_data(ttl=60, show_spinner=False)
def _settings(url: str, version: int) -> stored_settings.AppSettings:
    return stored_settings.load(get_engine(url))


def settings() -> stored_settings.AppSettings:
    url = database_url()
    return _settings(url, data_version(get_engine(url)))


def _choice(label: str, options: dict[str, str], current: str | None, key: str, help: str) -> str | None:
    keys = [ALL, *options]
    picked = st.selectbox(label, keys, index=keys.index(current) if current in keys else 0,
                          format_func=lambda k: k if k == ALL else options[k], key=key, help=help)
    return None if picked == ALL else picked


def filter_bar(page: str) -> Filters:
    """The filters in the sidebar, the same on every dashboard. They start from the link (query
    string) or the last page, and are written back to the query string so a view can be shared
    as a link. The as-of date is always set on what this returns (the last month end before today unless chosen)."""
    if FILTERS_KEY not in st.session_state:
        st.session_state[FILTERS_KEY] = Filters.from_query(st.query_params)
    current: Filters = st.session_state[FILTERS_KEY]
    data = all_frames()
    today = clock.today()
    default = default_as_of(today)  # the same rule for every role
    exact = _exact_role()
    with st.sidebar:
        st.markdown("**Filters** (all dashboards)")
        if exact:
            picked = st.date_input("As of", value=min(current.as_of or default, today), max_value=today,
                                   min_value=date(2000, 1, 1), format="DD/MM/YYYY", key=f"{page}_as_of",
                                   help=f"Every figure is measured as it stood at the end of this day (UK time): later "
                                        f"records are left out, and a month or week not yet over is marked provisional. "
                                        f"{AS_OF_RULE}")
            as_of = picked if isinstance(picked, date) else default
            choices = PERIODS
        else:  # published figures: whole months and fixed periods only, so nothing can be differenced
            ends = month_ends(today - timedelta(days=1))
            chosen_end = current.as_of if current.as_of in ends else default
            as_of = st.selectbox("As of (month end)", ends, index=ends.index(chosen_end), format_func=wording.day,
                                 key=f"{page}_as_of_month",
                                 help=f"Published figures are measured at a month end, over fixed periods. {AS_OF_RULE}")
            choices = PERIODS[:-1]
        launch = data.programme.launch
        preset = st.session_state.get(PERIOD_KEY) or st.query_params.get("period")
        preset = preset if preset in choices else _period_name(current, as_of, launch)
        preset = preset if preset in choices else choices[0]
        period = st.selectbox("Period", choices, index=choices.index(preset), key=f"{page}_period", help=PERIOD_HELP)
        first = data.offences["offence_date"].min() or launch
        start, end = _period_dates(period, current, first, as_of, launch, page)
        areas = data.programme.area_labels
        area = _choice("Local policing area", areas, current.area, f"{page}_area", "Where the offence was recorded.")
        source = _choice("Source", codes.REFERRAL_SOURCES, current.source, f"{page}_source", "How the person came to the police.")
        age = _choice("Age band", {b: b for b in (*codes.AGE_BANDS, "Missing")}, current.age_band, f"{page}_age", "Age at the offence.")
        sex = _choice("Sex", codes.SEXES, current.sex, f"{page}_sex", "Sex as recorded.")
        groups = {g: g for g in (*codes.BROAD_GROUPS, "Missing")}
        group = _choice("Ethnic group (self-defined)", groups, current.ethnic_group, f"{page}_group",
                        "Broad self-defined group. 'Not stated' and 'Missing' are kept as groups of their own.")
    chosen = Filters(start=start, end=end, area=area, source=source, age_band=age, sex=sex, ethnic_group=group,
                     as_of=None if as_of == default else as_of)
    st.session_state[FILTERS_KEY] = chosen
    st.session_state[PERIOD_KEY] = period
    query = chosen.to_query() | ({"period": period} if period != "Custom" else {})
    if dict(st.query_params) != query:
        st.query_params.from_dict(query)
    return replace(chosen, as_of=as_of)


def _period_name(current: Filters, as_of: date, launch: date) -> str:
    if not current.start and not current.end:
        return "Last 12 months"
    for name in PERIODS[:-1]:
        if (current.start, current.end or as_of) == period_bounds(name, as_of, launch):
            return name
    return "Custom"


def _period_dates(period: str, current: Filters, first: date, as_of: date, launch: date, page: str):
    if period != "Custom":
        start, end = period_bounds(period, as_of, launch)
        return (start or first), end
    picked = st.date_input("From - to", value=(current.start or first, min(current.end or as_of, as_of)),
                           min_value=date(2000, 1, 1), max_value=as_of, format="DD/MM/YYYY", key=f"{page}_dates")
    if isinstance(picked, tuple) and len(picked) == 2:
        return picked
    return current.start, current.end


def as_of_line(data: Frames) -> None:
    """'Figures as of D; data up to D2 (last import D3)' under a page's title."""
    st.caption(coverage_text(data))


def coverage_text(data: Frames) -> str:
    up_to = data.data_up_to()
    sources = {"offences": "offences", "referrals": "referrals", "stop_search": "stop and search"}
    parts = [f"{label} {wording.day(up_to[key])}" for key, label in sources.items() if up_to.get(key)]
    text = f"Figures as of {wording.day(data.as_of)}" if data.as_of else "All records"
    text += "; data up to: " + ", ".join(parts) if parts else "; no data recorded yet"
    if data.last_import:
        text += f" (last import {wording.day(data.last_import)})"
    return text + "."


def gate(role: str) -> Gate:
    """The disclosure gate for the role, with the administrator's threshold."""
    return Gate(role, settings().small_number_threshold)


def chart_block(title: str, caption: str, chart, table: pl.DataFrame, filename: str, *,
                empty: str = "Nothing recorded for these filters. Widen the period or clear a filter.",
                counts: list[str] | None = None, key: str | None = None) -> None:
    """Title (the finding), 'what this shows', chart and table view, CSV and PNG downloads, or a
    clear empty state. The chart is built from the gated frame, so the PNG (drawn from the same
    chart, with its title and caption) carries nothing the page does not show."""
    from divert.charts import png

    st.subheader(title)
    st.caption(caption)
    glossary_link()
    if table.is_empty():
        st.info(empty, icon=":material/info:")
        return
    shown, prepared, csv = _table_view(table, tuple(counts or []))
    chart_tab, table_tab = st.tabs(["Chart", "Table"])
    hidden = bool(counts) and all(table[c].null_count() == table.height for c in counts if c in table.columns)
    drawn = None if chart is None or hidden else specification(chart, title, caption)
    with chart_tab:
        if hidden:
            st.info("Nothing to draw: every count here is hidden (fewer than the small-number threshold, or it "
                    "would let such a count be worked out). The Table tab lists them.", icon=":material/info:")
        elif drawn is None:
            st.info("Nothing to draw for these filters: the Table tab lists what there is.",
                    icon=":material/info:")
        else:
            st.vega_lite_chart(drawn.sent, width="stretch")
    with table_tab:
        tables.show(prepared, width="stretch", hide_index=True, column_config=date_columns(shown))
    downloads = st.container(horizontal=True)
    tables.csv_download("Download CSV", csv, f"{filename}.csv", where=downloads,
                        key=key or f"download_{filename}", icon=":material/download:")
    if drawn is not None:
        downloads.download_button("Download PNG", lambda: png.png(drawn.spec, title, caption),
                                  file_name=f"{filename}.png", mime="image/png", key=f"{key or f'download_{filename}'}_png",
                                  icon=":material/image:", on_click="ignore")


@per_snapshot  # kept on the table: its figures are kept per snapshot, so every run and session passes the same frame
def _table_view(table: pl.DataFrame, counts: tuple[str, ...]) -> tuple[pl.DataFrame, tables.Prepared, bytes]:
    """A chart's table as the Table tab shows it (headers in words, hidden counts as '*'), made
    safe and turned into Arrow, and its CSV download's bytes: worked out once for the same table,
    not on every run of every session."""
    shown = headers.plain(for_display(table, list(counts)))
    return shown, tables.prepare(shown), to_csv_bytes(headers.for_csv(shown))


@dataclass(frozen=True)
class Drawn:
    """A chart as drawn: its specification (datasets as rows: the PNG's) and what is sent (datasets
    as Arrow bytes)."""

    chart: object  # held, so that its id is not reused while this is kept
    spec: dict
    sent: dict


_DRAWN_KEPT = 256
# (id of the chart, title, caption) -> (Drawn, None), least recently used first; the Drawn holds the
# chart, so its id is not reused while it is kept. Sessions that ask for the same chart at the same
# moment (a room opening the page together) convert it once (single flight).
_drawn: OrderedDict[tuple, tuple] = OrderedDict()
_drawn_flights: dict[tuple, object] = {}


def specification(chart, title: str, caption: str) -> Drawn:
    """The chart's Vega-Lite specification with its text alternative (the finding, then what is
    drawn) as one image: the marks and axes are left out of what a screen reader walks, as Vega
    names a layer with no items nothing at all (its figures are on the Table tab). Kept for the
    same chart object (divert.charts.reuse returns the same chart for the same figures), so a
    rerun with unchanged figures sends the same specification without converting it again, and
    sessions asking together convert it once."""
    return single_flight(_drawn, _drawn_flights, (id(chart), title, caption),
                         lambda: _drawn_now(chart, title, caption), _DRAWN_KEPT)


def _drawn_now(chart, title: str, caption: str) -> Drawn:
    spec = chart_spec.vega_lite(chart)
    described = spec.get("description") or next(
        (layer.get("description") for layer in spec.get("layer") or () if layer.get("description")), None)
    spec["description"] = f"{title}. {described if isinstance(described, str) and described else caption}"
    config = spec.get("config") or {}
    spec["config"] = {**config, "aria": False, "mark": {**(config.get("mark") or {}), "aria": False}}
    return Drawn(chart, spec, chart_spec.with_arrow(spec))


GLOSSARY_PAGE = "pages/glossary.py"


def glossary_link() -> None:
    """'What the terms mean': a link to the Glossary beside a chart's caption."""
    try:
        st.page_link(GLOSSARY_PAGE, label="What the terms mean: Glossary", icon=":material/menu_book:")
    except (KeyError, st.errors.StreamlitAPIException):  # a page run on its own, without the app's menu
        st.caption("What the terms mean: see the Glossary page.")


def table(frame: pl.DataFrame) -> None:
    """A table on its own (not under a chart) as every chart's table reads: headers in words,
    shares as percentages, dates as "5 Dec 2026", nothing shown as None."""
    shown = headers.plain(frame)
    tables.show(shown, width="stretch", hide_index=True, column_config=date_columns(shown))


def date_columns(shown: pl.DataFrame) -> dict:
    """The table view's dates as on every page: "5 Dec 2026" (and the time, to the minute, in UK time)."""
    config = {}
    for name, dtype in shown.schema.items():
        if dtype == pl.Date:
            config[name] = st.column_config.DateColumn(name, format="D MMM YYYY")
        elif isinstance(dtype, pl.Datetime):
            config[name] = st.column_config.DatetimeColumn(name, format="D MMM YYYY HH:mm", timezone=wording.UK_ZONE) \
                if shown[name].dt.time().drop_nulls().cast(pl.Int64).sum() else \
                st.column_config.DatetimeColumn(name, format="D MMM YYYY")
    return config
