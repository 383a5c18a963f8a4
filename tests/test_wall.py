"""The Wall view: for every role it draws the headline cards and three charts with no control on
the page; for a viewer nothing the server sends (the charts' data, the cards, the titles) holds a
count from 1 to 7; every chart follows the chart standard; and the page says what to do when
nothing is recorded. The redraw after a write is in tests/e2e/test_wall_browser.py."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime, time

import pyarrow.ipc as ipc
import pytest
from apptesting import AFTER_DEMO, app_test, as_user, signed_in
from clock import LONDON, frozen
from dbfixtures import DEMO_AS_OF, SMALL_DEMO, demo_url, migrated_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divert.analytics.calendar.months import add_months, month_end
from divert.analytics.data.loading import load_frames
from divert.charts import standard
from divert.core.disclosure import Gate
from divert.core.environment import PROJECT_DIR
from divert.readmodels import wall_view
from divert.storage.db import get_engine
from divert.web import wall

pytestmark = pytest.mark.usefixtures("navigation_only")
PAGE = "pages/wall.py"
THRESHOLD = 8
COUNTS = {"referrals", "people", "events", "denominator"}  # the count columns of the wall's charts
WIDGETS = ("button", "checkbox", "color_picker", "date_input", "multiselect", "number_input", "radio",
           "selectbox", "select_slider", "slider", "text_area", "text_input", "time_input", "toggle",
           "button_group", "chat_input")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The small demo (read only here), and its logins by role."""
    url, summary = demo_url(tmp_path_factory.mktemp("wall"), **SMALL_DEMO)
    return url, {login["role"]: login["username"] for login in summary["logins"]}


@pytest.fixture(scope="module")
def opened(demo):
    """The Wall view as each role sees it the morning after the demo ends (one run per role)."""
    url, usernames = demo
    seen = {}
    with pytest.MonkeyPatch.context() as patch, frozen(AFTER_DEMO):
        patch.setenv("DIVERT_DATABASE_URL", url)
        keep_navigation_only(patch)
        for role, username in usernames.items():
            seen[role] = signed_in(username, PAGE)
    return seen


def keep_navigation_only(patch) -> None:
    """What conftest's navigation_only does, for a module's worth of runs."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    patch.setattr(PagesManager, "__init__", init)


def sent_charts(at) -> list[tuple[dict, dict[str, list[dict]]]]:
    """Each chart as the browser receives it: its specification, and its datasets (those sent
    apart from the specification, decoded, and those inside it)."""
    out = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        datasets = dict(spec.get("datasets") or {})
        for named in element.proto.datasets:
            if named.data.data:
                datasets[named.name] = ipc.open_stream(io.BytesIO(named.data.data)).read_all().to_pylist()
        out.append((spec, datasets))
    return out


def small_counts(datasets: dict[str, list[dict]]) -> list[str]:
    """Every count from 1 to 7 in the charts' data, and every count not rounded to 5."""
    found = []
    for name, rows in datasets.items():
        for row in rows:
            for column in COUNTS & set(row):
                value = row[column]
                if value is not None and (0 < value < THRESHOLD or value % 5):
                    found.append(f"{name}: {column} = {value}")
    return found


@pytest.mark.parametrize("role", ["viewer", "manager", "caseworker", "admin"])
def test_the_wall_shows_the_headline_figures_and_three_charts_with_no_controls(opened, role):
    at = opened[role]
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Wall view"]
    assert [m.label for m in at.metric] == [label for label, _ in wall_view.CARDS.values()]
    assert all(m.value for m in at.metric)
    assert len(at.get("vega_lite_chart")) == 3
    assert len(at.subheader) == 3 and at.subheader[0].value.endswith("referrals a month")
    assert [c.value for c in at.main.caption if "main step" in c.value or "95% interval" in c.value]  # each explained
    assert not [kind for kind in WIDGETS for _ in at.main.get(kind)], "a control on the wall"
    shown = " ".join(m.value for m in at.main.markdown)
    assert f"to {DEMO_AS_OF:%-d %B %Y}" in shown and re.search(r"Data up to \d+ \w+ \d{4}, drawn at \d\d:\d\d UK time", shown)


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_every_chart_on_the_wall_follows_the_chart_standard(opened, role):
    for spec, datasets in sent_charts(opened[role]):
        assert not standard.problems(spec, datasets)
        assert spec["config"]["axis"]["labelFontSize"] == wall.FONT_PX  # large type


def test_a_viewer_receives_no_count_from_1_to_7(opened):
    viewer = [chart for _, chart in sent_charts(opened["viewer"])]
    manager = [chart for _, chart in sent_charts(opened["manager"])]
    assert [found for chart in manager for found in small_counts(chart)], "exact counts: the viewer's are rounded"
    assert not [found for chart in viewer for found in small_counts(chart)]
    for card in opened["viewer"].metric:
        for figure in (card.value, card.proto.delta):
            number = figure.replace(",", "").lstrip("+-")
            assert not number.isdigit() or int(number) % 5 == 0, (card.label, figure)
    for title in opened["viewer"].subheader:
        assert not re.search(r"\b[1-7]\b", title.value), title.value


@pytest.fixture(scope="module")
def demo_frames(demo):
    return load_frames(get_engine(demo[0]))


def wall_counts(frames, as_of: date, role: str) -> list[str]:
    """The small or unrounded counts on the wall at `as_of` for `role` (the read model's tables,
    which are the charts' data), and the Referrals card's if it is one."""
    shown = wall_view.wall(frames.at(as_of), as_of, Gate(role, THRESHOLD))
    found = [f for panel in (shown.referrals, shown.funnel, shown.equity)
             for f in small_counts({panel.title: panel.table.to_dicts()})]
    referrals = shown.cards[0].value.replace(",", "")
    return found + ([] if referrals == "*" or int(referrals) % 5 == 0 else [f"Referrals card: {referrals}"])


def test_in_the_programme_s_first_months_the_viewer_s_wall_hides_the_small_counts(demo_frames):
    first_quarter = date(2020, 12, 31)  # the demo's launch is 1 October 2020: few referrals yet
    assert any(re.search(r"= [1-7]$", found) for found in wall_counts(demo_frames, first_quarter, "manager"))
    assert not wall_counts(demo_frames, first_quarter, "viewer")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(months_back=st.integers(min_value=0, max_value=60))
def test_at_any_month_end_the_viewer_s_wall_holds_no_count_from_1_to_7(demo_frames, months_back):
    as_of = month_end(add_months(DEMO_AS_OF, -months_back))  # back to before the launch
    assert not wall_counts(demo_frames, as_of, "viewer"), as_of


def test_the_period_is_the_twelve_months_to_the_as_of_date():
    filters = wall_view.filters_at(date(2026, 2, 28))
    assert (filters.start, filters.end, filters.as_of) == (date(2025, 3, 1), date(2026, 2, 28), date(2026, 2, 28))


def test_the_wall_looks_again_every_minute_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv(wall.REFRESH_ENV, raising=False)
    assert wall.refresh_seconds() == 60
    monkeypatch.setenv(wall.REFRESH_ENV, "2")
    assert wall.refresh_seconds() == 2
    monkeypatch.setenv(wall.REFRESH_ENV, "soon")
    assert wall.refresh_seconds() == 60


def test_an_empty_database_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVERT_DATABASE_URL", migrated_url(tmp_path))
    with frozen(datetime.combine(date(2026, 6, 17), time(10, 30), tzinfo=LONDON)):
        at = as_user(app_test(PROJECT_DIR / PAGE, timeout=60), "v", "viewer").run()
    assert not at.exception, at.exception
    assert any("No offences or referrals are recorded yet" in i.value for i in at.info)
    assert not at.metric and not at.get("vega_lite_chart")
