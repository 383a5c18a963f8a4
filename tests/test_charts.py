"""The chart standard (docs/charts.md): every chart the dashboard pages build, as the browser
receives it, follows the rules a program can check (divert.charts.standard.problems), and every
chart downloads as a PNG with its title and caption, drawn from the same (gated) data."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import altair as alt
import polars as pl
import pyarrow.ipc as ipc
import pytest
from apptesting import AFTER_DEMO, signed_in
from clock import frozen
from dbfixtures import DEMO_AS_OF, SMALL_DEMO, demo_url
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from divert.analytics.calendar.months import default_as_of
from divert.charts import build, png, standard
from divert.web import dashboard

pytestmark = pytest.mark.usefixtures("navigation_only")
# a manager's as-of date in the middle of a month: from the Volume page on, the manager's walk
# sees a month not over at its end and a first month cut short by "Last 12 months" at its start
MID_MONTH = DEMO_AS_OF - timedelta(days=25)
# page -> widget settings to walk through as well as the page as it opens (label, values)
PAGES = {
    "pages/overview.py": [],
    "pages/volume.py": [("Break offences down by", ["source", "drug", "age_band", "sex", "ethnic_group"]),
                        ("As of", [MID_MONTH])],
    "pages/pathway.py": [],
    "pages/outcomes.py": [("Split by", ["Ethnic group", "Ethnic group and sex"])],
    "pages/reoffending.py": [],
    "pages/disparity.py": [],
    "pages/impact.py": [],
    "pages/watch.py": [],
    "pages/capacity.py": [],
    "pages/forecast.py": [],
    "pages/scenarios.py": [],
    "pages/launch_planner.py": [],
}
PLANNING = {"pages/capacity.py", "pages/forecast.py", "pages/scenarios.py", "pages/launch_planner.py"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo (read only here), and its logins by role."""
    url, summary = demo_url(tmp_path_factory.mktemp("charts"), **SMALL_DEMO)
    return url, {login["role"]: login["username"] for login in summary["logins"]}


def sent_charts(at: AppTest) -> list[tuple[dict, dict[str, list[dict]]]]:
    """Each Vega-Lite chart on the page as sent to the browser: its specification and datasets."""
    out = []
    for element in at.get("vega_lite_chart"):
        proto = element.proto
        datasets = {}
        for named in proto.datasets:
            if named.data.data:
                datasets[named.name] = ipc.open_stream(io.BytesIO(named.data.data)).read_all().to_pylist()
        out.append((json.loads(proto.spec), datasets))
    return out


def edges(at: AppTest) -> dict:
    """The as-of date and the period's first day the page's figures were made for."""
    filters = at.session_state[dashboard.FILTERS_KEY]
    return {"as_of": filters.as_of or default_as_of(AFTER_DEMO.date()), "start": filters.start}


def walk(at: AppTest, page: str) -> list[tuple[str, dict, dict, dict]]:
    at.switch_page(page).run()
    assert not at.exception, (page, at.exception)
    seen = [(page, *chart, edges(at)) for chart in sent_charts(at)]
    for label, values in PAGES[page]:
        widgets = [w for w in (*at.button_group, *at.date_input) if w.label == label]
        for value in values if widgets else []:  # a viewer has no date to choose
            widgets[0].set_value(value).run()
            assert not at.exception, (page, value, at.exception)
            seen += [(f"{page} ({label}: {value})", *chart, edges(at)) for chart in sent_charts(at)]
    return seen


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_every_chart_the_pages_build_follows_the_standard(demo, monkeypatch, role):
    url, usernames = demo
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)
    with frozen(AFTER_DEMO):  # the morning after the demo ends
        at = signed_in(usernames[role])
        found, broken = walk_all(at, role)
    assert found >= (25 if role == "manager" else 12), found  # the walk really saw the pages' charts
    assert not broken, "\n".join(broken)


def walk_all(at: AppTest, role: str) -> tuple[int, list[str]]:
    found, broken = 0, []
    for page in PAGES:
        if role == "viewer" and page in PLANNING:
            continue
        for where, spec, datasets, dates in walk(at, page):
            found += 1
            broken += [f"{where}: {problem}" for problem in standard.problems(spec, datasets, **dates)]
    return found, broken


# --- the checker itself ----------------------------------------------------------------------------------


def _months(n=12):
    return pl.date_range(date(2025, 1, 1), date(2025, n, 1), "1mo", eager=True).to_list()


def test_the_checker_finds_each_broken_rule():
    frame = pl.DataFrame({"period": _months(), "share": [0.1] * 12, "group": ["A", "B"] * 6,
                          "outcome": ["Not in the public interest to investigate further"] * 12})
    plain = alt.Chart(frame).mark_line().encode(x="period:T", y="share:Q", color="group:N")
    found = standard.problems(plain.to_dict())
    assert any("without the year" in p for p in found)
    assert any("not formatted as a percentage" in p for p in found)
    assert any("without a declared order" in p for p in found)
    cut = alt.Chart(frame).mark_bar().encode(x="outcome:N", y="count():Q")
    found = standard.problems(cut.to_dict())
    assert any("labels cut" in p for p in found)
    assert any("on their side" in p for p in found)


def test_the_builders_pass_the_checker():
    frame = pl.DataFrame({"period": _months() * 2, "statistic": ["Median"] * 12 + ["90th percentile"] * 12,
                          "share": [0.2 + i / 100 for i in range(24)], "provisional": ([False] * 11 + [True]) * 2})
    built = [
        build.line(frame, "period", "share", y_title="Share", color="statistic", order=["Median", "90th percentile"],
                    share=True, every="1mo"),
        build.line(frame.filter(pl.col("statistic") == "Median"), "period", "share", y_title="Share", share=True,
                    rolling=3),
        build.bars(pl.DataFrame({"outcome": ["Not in the public interest to investigate further", "Caution"] * 2,
                                  "period": ["Before", "Before", "After", "After"], "share": [0.1, 0.2, 0.3, 0.4]}),
                    "outcome", "share", y_title="Share", color="period", domain=["Before", "After"], grouped=True,
                    share=True),
        build.compare_groups(frame, "period", "share", "statistic", y_title="Share", share=True, every="1mo"),
        build.small_multiples(frame, "period", "share", "statistic", y_title="Share", share=True),
        build.bars(pl.DataFrame({"step": ["Referred", "Engaged: assessment and harm-reduction session"],
                                 "people": [100, 60]}), "step", "people", y_title="People", sort=None),
        build.faceted(build.bars(pl.DataFrame({"group": ["A", "B"] * 2, "share": [0.1, 0.2, 0.3, 0.4],
                                               "period": ["Before"] * 2 + ["After"] * 2, "outcome": ["Caution"] * 4}),
                                 "group", "share", y_title="Share", color="period", domain=["Before", "After"],
                                 grouped=True, share=True), "outcome"),
    ]
    for chart in built:
        assert standard.problems(chart.to_dict(), as_of=date(2025, 12, 10)) == []


def test_a_legend_follows_the_declared_order_not_the_alphabet():
    frame = pl.DataFrame({"status": ["Complied"] * 2, "within": ["12 months", "6 months"], "rate": [0.2, 0.1]})
    spec = build.bars(frame, "status", "rate", y_title="Share", color="within", domain=["6 months", "12 months"],
                       grouped=True, share=True).to_dict()
    assert spec["encoding"]["color"]["scale"]["domain"] == ["6 months", "12 months"]


def test_lines_are_not_joined_across_a_missing_month():
    months = _months()
    frame = pl.DataFrame({"period": months[:5] + months[7:], "count": list(range(10))})
    spec = build.line(frame, "period", "count", y_title="Count", every="1mo").to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 12 and sum(r["count"] is None for r in rows) == 2


def test_direct_labels_do_not_overlap():
    frame = pl.DataFrame({"period": _months() * 3, "series": ["A"] * 12 + ["B"] * 12 + ["C"] * 12,
                          "value": [10.0] * 12 + [10.2] * 12 + [10.1] * 12})
    chart = build.line(frame, "period", "value", y_title="Value", color="series", height=300)
    labels = [layer for layer in chart.to_dict()["layer"] if layer.get("mark", {}).get("type") == "text"][0]
    spec = chart.to_dict()
    rows = sorted(spec["datasets"][labels["data"]["name"]], key=lambda r: r["label_y"])
    step = (10.2 - 0) * build.LABEL_PX / 300
    assert all(b["label_y"] - a["label_y"] >= step - 1e-9 for a, b in zip(rows, rows[1:], strict=False))


def test_png_carries_the_title_and_caption_and_only_the_charts_data():
    frame = pl.DataFrame({"period": _months(), "offences": [None, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]})
    chart = build.line(frame, "period", "offences", y_title="Offences", every="1mo")
    spec = png.spec_for_image(chart, "Offences rose all year", "Recorded possession offences each month.")
    assert spec["title"]["text"] == "Offences rose all year"
    assert spec["title"]["subtitle"] == ["Recorded possession offences each month."]
    assert spec["datasets"] == chart.to_dict()["datasets"]  # the same (gated) figures, nothing added
    image = png.png(chart, "Offences rose all year", "Recorded possession offences each month.")
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 5000


def test_group_comparisons_are_one_panel_a_group_on_one_scale():
    frame = pl.DataFrame({"period": _months() * 2, "group": ["White"] * 12 + ["Black"] * 12,
                          "share": [0.3] * 12 + [0.5] * 12, "low": [0.2] * 24, "high": [0.6] * 24})
    grid = build.compare_groups(frame, "period", "share", "group", y_title="Share", order=["White", "Black"],
                                band=("low", "high"), share=True, every="1mo").to_dict()
    assert [p["title"]["text"] for p in grid["concat"]] == ["White", "Black"]
    domains = {json.dumps(layer["encoding"]["y"]["scale"]["domain"]) for p in grid["concat"] for layer in p["layer"]
               if "scale" in layer["encoding"].get("y", {})}
    assert len(domains) == 1 and grid["resolve"]["scale"]["y"] == "shared"  # every panel on the same scale
    assert all(p["width"] >= standard.PANEL_WIDTH and p["height"] >= standard.PANEL_HEIGHT for p in grid["concat"])
    assert grid["columns"] == 2
    image = png.spec_for_image(build.compare_groups(frame, "period", "share", "group", y_title="Share"), "T", "C")
    assert image["title"]["text"] == "T" and len(image["concat"]) == 2


# --- the edges of a chart: one spec that breaks each rule, one that keeps it ---------------------------------


def _series(counts, provisional=None, start=date(2025, 1, 1)):
    months = pl.date_range(start, date(start.year + (start.month + len(counts) - 2) // 12,
                                       (start.month + len(counts) - 2) % 12 + 1, 1), "1mo", eager=True)
    frame = pl.DataFrame({"period": months, "count": counts})
    return frame if provisional is None else frame.with_columns(pl.Series("provisional", provisional))


def _plain_line(frame):
    return alt.Chart(frame).mark_line().encode(x=alt.X("period:T", axis=standard.date_axis("1mo")), y="count:Q") \
        .properties(description="Offences a month.").to_dict()


def test_a_partial_last_or_first_period_is_drawn_differently():
    flagged = _series([10, 12, 11, 3], [False, False, False, True])
    assert any("drawn like a complete one" in p for p in standard.problems(_plain_line(flagged)))
    assert any("not flagged provisional" in p for p in standard.problems(_plain_line(_series([10, 12, 11, 3])),
                                                                        as_of=date(2025, 4, 5)))
    cut_first = _series([4, 12, 11], [True, False, False])
    assert standard.problems(build.line(cut_first, "period", "count", y_title="Count", every="1mo").to_dict(),
                             start=date(2025, 1, 20)) == []
    assert any("2025-01-01" in p for p in standard.problems(_plain_line(_series([4, 12, 11])), start=date(2025, 1, 20)))
    assert standard.problems(build.line(flagged, "period", "count", y_title="Count", every="1mo").to_dict(),
                             as_of=date(2025, 4, 5)) == []
    assert standard.problems(build.bars(flagged, "period", "count", y_title="Count", temporal=True).to_dict()) == []


def test_a_partial_first_period_is_dashed_into_the_series():
    solid, dashed = standard.solid_and_dashed(_series([4, 12, 11, 3], [True, False, False, True]), "period", "count", [])
    assert solid["count"].to_list() == [None, 12, 11, None]
    assert dashed["count"].to_list() == [4, 12, 11, 3]  # each provisional point joined to its neighbour by a dash


def test_the_future_is_never_drawn_as_zero():
    future = _series([10, 12, 0, 0])
    found = standard.problems(_plain_line(future), as_of=date(2025, 2, 28))
    assert any("the future (2025-04-01) drawn as zero" in p for p in found)
    assert not any("future" in p for p in standard.problems(_plain_line(_series([10, 12, 0, 0])),
                                                            as_of=date(2025, 4, 30)))


def test_date_ticks_never_repeat_a_label():
    frame = _series([1, 2])
    yearly = alt.Chart(frame).mark_line().encode(x=alt.X("period:T", axis=alt.Axis(format="%Y")), y="count:Q")
    assert any("a label can repeat" in p for p in standard.problems(yearly.properties(description="d").to_dict()))
    assert standard.date_axis("1y", span=(date(2025, 1, 1), date(2025, 2, 1))).to_dict()["tickCount"] == \
        {"interval": "year", "step": 1}
    assert standard.problems(build.line(frame, "period", "count", y_title="Count", every="1y").to_dict()) == []


@given(st.dates(date(2000, 1, 1), date(2040, 1, 1)), st.integers(0, 4000), st.sampled_from(list(standard.TICK_UNIT)))
def test_ticks_are_whole_periods_and_never_too_many(first, days, every):
    ticks = standard.tick_count(every, (first, first + timedelta(days=days)))
    unit = standard.TICK_UNIT[every][0]
    assert standard.UNIT_ORDER.index(ticks["interval"]) >= standard.UNIT_ORDER.index(unit)  # never finer than a label
    length = {"day": 1, "week": 7, "month": 30.4, "year": 365.25}[ticks["interval"]] * ticks["step"]
    assert days / length <= standard.MAX_TICKS + 1


def test_every_chart_has_a_text_description():
    bare = alt.Chart(_series([1, 2, 3])).mark_bar().encode(x="count:Q", y=alt.Y("period:N", axis=alt.Axis(labelOverlap=False)))
    assert any("no text description" in p for p in standard.problems(bare.to_dict()))
    described = build.line(_series([1, 2, 3]), "period", "count", y_title="Offences", every="1mo").to_dict()
    assert described["description"].startswith("Line chart of Offences by period from Jan 2025 to Mar 2025")


def test_every_bar_of_a_labelled_bar_chart_carries_its_value():
    funnel = pl.DataFrame({"step": ["Referred", "Contacted", "Engaged", "Closed - not engaged (intelligence log)"],
                           "people": [100, 80, 60, 20]})
    spec = build.bars(funnel, "step", "people", y_title="People", sort=None).to_dict()
    assert standard.problems(spec) == []
    text = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text")
    assert text["encoding"]["text"]["field"] == "people"
    assert spec["layer"][0]["encoding"]["y"]["axis"]["labelOverlap"] is False  # no step label dropped
    text["data"] = {"values": funnel.head(2).to_dicts()}  # a text layer for two of the four bars
    short = spec
    assert any("2 bars without their label" in p for p in standard.problems(short))


def test_small_multiples_are_big_enough_to_read_on_their_own_scales():
    frame = pl.DataFrame({"period": _months() * 2, "area": ["Birmingham"] * 12 + ["Solihull"] * 12,
                          "count": list(range(100, 112)) + list(range(12)),
                          "provisional": ([False] * 11 + [True]) * 2})
    grid = build.small_multiples(frame, "period", "count", "area", y_title="Offences")
    spec = grid.to_dict()
    assert standard.problems(spec) == [] and spec["resolve"]["scale"]["y"] == "independent"
    cramped = {**spec, "concat": [{**p, "width": 303, "height": 180} for p in spec["concat"] * 2], "columns": 4}
    found = standard.problems(cramped)
    assert any("303 px wide" in p for p in found) and any("180 px high" in p for p in found)
    assert any("4 panels a row" in p for p in found)
    gappy = build.small_multiples(frame.filter(pl.col("period") != date(2025, 5, 1)), "period", "count", "area",
                                  y_title="Offences").to_dict()
    solid = gappy["concat"][0]["layer"][0]
    assert any(r["count"] is None for r in gappy["datasets"][solid["data"]["name"]])  # a gap, never joined across
    shared = {**spec, "resolve": {"scale": {"y": "shared"}}}
    assert any("share one y scale" in p for p in standard.problems(shared))
