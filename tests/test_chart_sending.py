"""What a chart sends the browser (divert.charts.spec, divert.web.dashboard.specification): the
aggregated rows with only the columns the chart reads, dates as ISO strings (Arrow dates on the
wire), never more than 500 kB; and a chart built once for the same figures (divert.charts.reuse),
so that a rerun with unchanged figures neither builds nor converts it again."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from divert.charts import build, grid, reuse, spec
from divert.web import dashboard


def _months(n=12):
    return pl.date_range(date(2025, 1, 1), date(2025, n, 1), "1mo", eager=True).to_list()


def _frame(**extra):
    return pl.DataFrame({"period": _months(), "offences": list(range(10, 22)),
                         "provisional": [False] * 11 + [True], **extra})


def test_a_builder_called_again_with_the_same_figures_returns_the_chart_it_built():
    first = build.line(_frame(), "period", "offences", y_title="Offences", every="1mo")
    again = build.line(_frame(), "period", "offences", y_title="Offences", every="1mo")  # an equal, new frame
    assert again is first
    changed = _frame().with_columns(pl.when(pl.col("offences") == 15).then(16).otherwise(pl.col("offences"))
                                    .alias("offences"))
    assert build.line(changed, "period", "offences", y_title="Offences", every="1mo") is not first  # one figure
    assert build.line(_frame(), "period", "offences", y_title="Referrals", every="1mo") is not first  # one option
    both = build.layered(first, build.target_rule(12.0, "Target"))
    assert build.layered(first, build.target_rule(12.0, "Target")) is both


def test_sessions_asking_for_the_same_chart_at_once_wait_for_one_build():
    import threading
    import time

    builds, started, release = [], threading.Event(), threading.Event()

    @reuse.reused
    def slow(frame, title):
        builds.append(title)
        started.set()
        release.wait(5)
        return build.line(frame, "period", "offences", y_title=title, every="1mo")

    got = []
    first = threading.Thread(target=lambda: got.append(slow(_frame(), "Once")))
    first.start()
    assert started.wait(5)
    others = [threading.Thread(target=lambda: got.append(slow(_frame(), "Once"))) for _ in range(3)]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 1.0  # time for the others to reach the builder, if they were let through
    while len(builds) == 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in (first, *others):
        thread.join(5)
    assert builds == ["Once"] and len(got) == 4 and all(chart is got[0] for chart in got)


def test_what_is_sent_is_the_chart_s_own_columns_with_iso_dates():
    frame = _frame(people_behind_it=list(range(12)))  # a column no mark reads
    sent = spec.vega_lite(build.line(frame, "period", "offences", y_title="Offences", every="1mo"))
    for rows in sent["datasets"].values():
        assert "people_behind_it" not in rows[0]
        assert rows[0]["period"] == "2025-01-01T00:00:00"  # an ISO string, as Altair writes a date
        assert "provisional" in rows[0]  # what a row is stays with it (the standard's checker reads it)
    wire = spec.with_arrow(sent)
    name, data = next(iter(wire["datasets"].items()))
    assert isinstance(data, bytes) and spec.rows(data)[0]["period"] == date(2025, 1, 1)  # an Arrow date
    assert sent["datasets"][name][0]["offences"] == spec.rows(data)[0]["offences"]


def test_no_chart_sends_rows_or_more_than_500_kb():
    many = pl.DataFrame({"period": [date(2025, 1, 1)] * 6000, "offences": list(range(6000))})
    with pytest.raises(spec.TooLarge):
        spec.vega_lite(build.bars(many, "period", "offences", y_title="Offences", temporal=True))
    wordy = _frame(note=["a reason why this month is not over yet " * 1000] * 12)
    with pytest.raises(spec.TooLarge):
        spec.with_arrow(spec.vega_lite(build.line(wordy, "period", "offences", y_title="Offences", every="1mo")))


def test_small_multiples_written_directly_are_valid_vega_lite():
    frame = pl.concat([_frame().with_columns(pl.lit(area).alias("area")) for area in ("Birmingham", "Solihull")])
    drawn = build.small_multiples(frame, "period", "offences", "area", y_title="Offences", policy=date(2025, 3, 1))
    assert isinstance(drawn, grid.Composed) and len(drawn.to_dict()["concat"]) == 2  # validated against the schema
    broken = grid.Composed({**drawn.spec, "concat": [{"mark": 5}]}, drawn.datasets)
    with pytest.raises(Exception, match="mark|5"):
        broken.to_dict()
    described = drawn.properties(description="Two panels.")
    assert described.to_dict()["description"] == "Two panels." and drawn.description != "Two panels."


def test_the_page_converts_a_chart_once_and_describes_it():
    chart = build.line(_frame(), "period", "offences", y_title="Offences", every="1mo")
    drawn = dashboard.specification(chart, "About 15 offences a month", "Every offence, by month.")
    assert dashboard.specification(chart, "About 15 offences a month", "Every offence, by month.") is drawn
    assert drawn.spec["description"].startswith("About 15 offences a month. Line chart of Offences")
    assert drawn.sent["config"]["aria"] is False and drawn.sent["config"]["mark"]["aria"] is False
    assert all(isinstance(data, bytes) for data in drawn.sent["datasets"].values())
    assert all(isinstance(rows, list) for rows in drawn.spec["datasets"].values())  # the PNG's
    reuse.forget()
    assert build.line(_frame(), "period", "offences", y_title="Offences", every="1mo") is not chart
