"""The chart standard (docs/charts.md): every chart the dashboard pages build, as the browser
receives it, follows the rules a program can check (divert.charts.standard.problems), and every
chart downloads as a PNG with its title and caption, drawn from the same (gated) data."""

from __future__ import annotations

import io
import json
from datetime import date

import altair as alt
import polars as pl
import pyarrow.ipc as ipc
import pytest
from apptesting import AFTER_DEMO, signed_in
from clock import frozen
from dbfixtures import SMALL_DEMO, demo_url
from streamlit.testing.v1 import AppTest

from divert.charts import build, png, standard

pytestmark = pytest.mark.usefixtures("navigation_only")
# page -> widget settings to walk through as well as the page as it opens (label, values)
PAGES = {
    "pages/overview.py": [],
    "pages/volume.py": [("Break offences down by", ["source", "drug", "age_band", "sex", "ethnic_group"])],
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


def walk(at: AppTest, page: str) -> list[tuple[str, dict, dict]]:
    at.switch_page(page).run()
    assert not at.exception, (page, at.exception)
    seen = [(page, *chart) for chart in sent_charts(at)]
    for label, values in PAGES[page]:
        for value in values:
            next(w for w in at.button_group if w.label == label).set_value(value).run()
            assert not at.exception, (page, value, at.exception)
            seen += [(f"{page} ({label}: {value})", *chart) for chart in sent_charts(at)]
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
        for where, spec, datasets in walk(at, page):
            found += 1
            broken += [f"{where}: {problem}" for problem in standard.problems(spec, datasets)]
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
        *build.compare_groups(frame, "period", "share", "statistic", y_title="Share", share=True, every="1mo"),
    ]
    for chart in built:
        assert standard.problems(chart.to_dict()) == []


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


def test_group_comparisons_are_one_chart_a_group_on_one_scale():
    frame = pl.DataFrame({"period": _months() * 2, "group": ["White"] * 12 + ["Black"] * 12,
                          "share": [0.3] * 12 + [0.5] * 12, "low": [0.2] * 24, "high": [0.6] * 24})
    panels = build.compare_groups(frame, "period", "share", "group", y_title="Share", order=["White", "Black"],
                                   band=("low", "high"), share=True, every="1mo")
    assert [p.to_dict()["title"]["text"] for p in panels] == ["White", "Black"]
    domains = {json.dumps(layer["encoding"]["y"]["scale"]["domain"]) for p in panels for layer in p.to_dict()["layer"]
               if "scale" in layer["encoding"].get("y", {})}
    assert len(domains) == 1  # every panel on the same scale
    image = png.spec_for_image(alt.concat(*(p.properties(width=260) for p in panels), columns=3), "T", "C")
    assert image["title"]["text"] == "T" and len(image["concat"]) == 2
