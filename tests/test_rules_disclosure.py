"""Nothing a viewer receives holds a count from 1 to 7 (Hypothesis).

The disclosure gate (divert/core/disclosure.py) promises, for the viewer role: a count from 1 to 7
(under the small-number threshold, 8) is suppressed, zero may be shown, every count shown is
rounded to the nearest 5; a figure made from counts is hidden unless the people it summarises are
at least 8 (and its other counts 0 or at least 8) and is shown to at most 3 significant figures;
a lone hidden cell along a dimension takes the next smallest with it; numeric columns nobody
declared never reach a viewer; each hidden figure says why (`note`).

Checked on the gate itself for any table, and on every figure `divert metrics NAME --role viewer`
prints for any options a viewer may give (the small demo, whose small groups and areas give many
counts under 8), each against the exact figures an administrator gets for the same options."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest
from commands import divert
from dbfixtures import SMALL_DEMO, demo_url
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from intruder_range import possible_values
from rule_data import answer, frames_read_once, metric_options  # noqa: F401  (a fixture)

from divert.core.disclosure import Gate
from divert.records import stored_settings
from divert.storage.db import get_engine

THRESHOLD = 8  # the default small-number threshold: counts 1 to 7 are never shown
BASE = 5


def significant_figures_at_most(value: float, digits: int = 3) -> bool:
    return value == 0 or not math.isfinite(value) or float(f"{value:.{digits}g}") == value


def shown_count_is_safe(exact, shown) -> str | None:
    """Why a count as shown breaks the promise, or None."""
    if exact is None:
        return None if shown is None else f"{shown} shown for no count"
    if 0 < exact < THRESHOLD and shown is not None:
        return f"{exact} shown as {shown}"
    if shown is not None and (shown % BASE or abs(shown - exact) > BASE / 2):
        return f"{exact} shown as {shown}, not rounded to the nearest {BASE}"
    return None


def numeric(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_gated(exact_rows: list[dict], shown_rows: list[dict], counts: list[str], derived: dict, keep: list[str]):
    """Row by row (the gate keeps the rows and their order): every count safe against its exact
    value, every figure made from counts shown only when its counts allow it, to 3 significant
    figures at most, and no numeric column that was not declared."""
    assert len(shown_rows) == len(exact_rows)
    declared = set(counts) | set(keep) | {f"{d}{end}" for d in derived for end in ("", "_low", "_high")}
    for number, (exact, shown) in enumerate(zip(exact_rows, shown_rows, strict=True)):
        where = f"row {number} ({ {k: v for k, v in shown.items() if isinstance(v, str)} })"
        undeclared = [c for c, v in shown.items() if numeric(v) and c not in declared]
        assert not undeclared, f"{where}: undeclared numbers reach a viewer: {undeclared}"
        for column in counts:
            problem = shown_count_is_safe(exact.get(column), shown.get(column))
            assert problem is None, f"{where}, {column}: {problem}"
            if column in shown and shown[column] is None and exact.get(column) is not None:
                assert shown.get("note"), f"{where}, {column}: hidden without saying why"
        for figure, bases in derived.items():
            for name in (figure, f"{figure}_low", f"{figure}_high"):
                value = shown.get(name)
                if not numeric(value):
                    continue
                people, *others = (exact.get(b) for b in bases)
                assert people is not None and people >= THRESHOLD, f"{where}, {name} shown for {people} people"
                assert all(b is not None and (b == 0 or b >= THRESHOLD) for b in others), f"{where}, {name}: {others}"
                assert significant_figures_at_most(value), f"{where}, {name} = {value}: more than 3 significant figures"


# --- the gate itself ------------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(counts=st.lists(st.tuples(st.sampled_from("ABC"), st.sampled_from("xyz"),
                                 st.one_of(st.none(), st.integers(0, 40)), st.integers(0, 3000)), min_size=1, max_size=12),
       across=st.sampled_from([[], [[]], [["area"]], [["area"], ["month"]]]))
def test_the_gate_shows_no_count_from_1_to_7_and_rounds_the_rest(counts, across):
    frame = pl.DataFrame(counts, schema={"area": pl.String, "month": pl.String, "people": pl.Int64, "all": pl.Int64},
                         orient="row").with_columns(
        (pl.col("people") / pl.col("all")).alias("share"), pl.lit(3.14159).alias("secret"))
    spec = {"counts": ["people", "all"], "derived": {"share": ["all", "people"]}, "across": across}
    shown = Gate("viewer", THRESHOLD, BASE).table(frame, **spec)
    assert "secret" not in shown.columns  # undeclared numbers are dropped
    assert_gated(frame.to_dicts(), shown.to_dicts(), spec["counts"], spec["derived"], [])
    gate = Gate("viewer", THRESHOLD, BASE)
    for keys in across:  # along a dimension, whose total is published rounded, a hidden count keeps 5 values open
        for _, part in shown.with_columns(exact=frame["people"]).group_by(keys or pl.lit(1)):
            hidden = part.filter(pl.col("people").is_null() & (pl.col("exact") > 0))
            others = part.filter(pl.col("people").is_not_null() & (pl.col("exact") > 0))["exact"].to_list()
            total = part["exact"].fill_null(0).sum()
            if hidden.height and total >= THRESHOLD:
                possible = possible_values(hidden.height, others, total, gate)
                assert max(possible) - min(possible) >= 4, part


# --- every figure of `divert metrics NAME --role viewer` ---------------------------------------------------
class Demo:
    def __init__(self, url: str):
        self.url = url

    def __repr__(self) -> str:  # Hypothesis prints the arguments of a failing example
        return "Demo(seed 5, scale 0.2, to 30 September 2025)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, frames_read_once):  # noqa: F811
    url, _ = demo_url(tmp_path_factory.mktemp("disclosure"), **SMALL_DEMO)
    engine = get_engine(url)
    assert stored_settings.load(engine).small_number_threshold == THRESHOLD
    yield Demo(url)
    engine.dispose()


# What each published table holds, written out here rather than read from the gate's own
# specifications (divert.analytics.metrics.GATES), so that a count declared as something else is
# caught: its counts of people or events, the figures made from them (with the counts each
# summarises, the people first) and the numbers that are not about people (months, residents,
# model estimates). A numeric column in none of these fails the test until it is placed.
def figures_of(*counts: str, made_from: list[str], **extra) -> dict:
    return {name: made_from for name in counts} | extra


PUBLISHED_TABLES = {
    "volume": {"counts": ["offences", "referrals"]},
    "volume-change": {"counts": ["offences_before", "offences_after"],
                      "derived": {"mean_before": ["offences_before"], "mean_after": ["offences_after"],
                                  **figures_of("change_pct", "ci_low_pct", "ci_high_pct",
                                               made_from=["offences_before", "offences_after"])},
                      "keep": ["months_before", "months_after"]},
    "pathway": {"counts": ["people", "dropped"],
                "derived": figures_of("share_of_referred", "share_of_previous", made_from=["people"]),
                # a funnel whose cohort (the people referred) is from 1 to 7 is not shown at all
                "cohort": ("stage", "referred", "people")},
    "waits": {"counts": ["people"], "derived": figures_of("median_days", "p90_days", made_from=["people"])},
    "outcomes": {"counts": ["count_before", "count_after", "offences_before", "offences_after"],
                 "derived": {"share_before": ["offences_before", "count_before"],
                             "share_after": ["offences_after", "count_after"],
                             "change_points": ["offences_before", "count_before", "offences_after", "count_after"]}},
    "gaps": {"counts": ["formal_before", "formal_after", "offences_before", "offences_after"],
             "derived": {**figures_of("share_before", "ratio_before", made_from=["offences_before", "formal_before"]),
                         **figures_of("share_after", "ratio_after", made_from=["offences_after", "formal_after"]),
                         "change_points": ["offences_before", "formal_before", "offences_after", "formal_after"]}},
    "reoffending": {"counts": ["reoffended", "referrals"], "derived": {"rate": ["referrals", "reoffended"]},
                    "keep": ["months"]},
    "impact": {"counts": [], "keep": ["estimate", "ci_low", "ci_high", "p_value", "months_before", "months_after"]},
    "alerts": {"counts": ["events", "denominator", "white_events", "white_denominator"],
               "derived": figures_of("rr", "rr_low", "rr_high", "baseline_rr", "change", "statistic",
                                     made_from=["denominator", "events"])},
    "disparity:stop-search": {"counts": ["searches"], "keep": ["residents", "person_years", "months_missing"],
                              "derived": figures_of("rate_per_1000_a_year", "ratio_vs_white", "ci_low", "ci_high",
                                                    "share_of_events", made_from=["searches"])},
    "disparity:pathway": {"counts": ["events", "denominator"], "keep": ["months_missing"],
                          "derived": figures_of("rate", "rri", "ci_low", "ci_high", made_from=["denominator", "events"])},
}


def gate_spec(name: str) -> dict:
    spec = PUBLISHED_TABLES[name]
    return {"counts": spec["counts"], "derived": spec.get("derived", {}), "keep": spec.get("keep", [])}


def figures(url: str, name: str, options: list[str], role: str) -> tuple:
    metric, _, source = name.partition(":")
    return answer("metrics", metric, "--db", url, "--role", role, "--format", "json", *options,
                  *(["--source", source] if source else []))


def overview_rows(payload: dict, hours_per_referral: float) -> list[dict]:
    """The overview's headlines as rows of counts: a count's value and previous, and the
    referrals behind officer hours (hours / hours per referral); other units are figures."""
    rows = []
    for measure in payload["measures"]:
        unit, value, previous = measure["unit"], measure["value"], measure["previous"]
        if unit == "hours":
            value, previous = (None if v is None else v / hours_per_referral for v in (value, previous))
        counted = unit in ("count", "hours")
        rows.append({"measure": measure["measure"], "count": value if counted else None,
                     "previous_count": previous if counted else None,
                     "figure": None if counted else value, "previous_figure": None if counted else previous})
    return rows


PUBLISHED = ["overview", "volume", "volume-change", "pathway", "waits", "outcomes", "gaps", "reoffending", "impact",
             "alerts", "disparity:pathway", "disparity:stop-search"]


@pytest.mark.parametrize("name", PUBLISHED)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_figure_a_viewer_receives_holds_a_count_from_1_to_7(demo, name, data):
    code = check_what_a_viewer_receives(demo, name, data.draw(metric_options(name.partition(":")[0]), label="options"))
    event(f"viewer's exit code {code}")


@pytest.mark.parametrize("name", PUBLISHED)
def test_the_whole_of_each_table_a_viewer_receives_at_the_demo_s_last_day(demo, name):
    """The widest view (no filter), which the drawn options above may miss."""
    assert check_what_a_viewer_receives(demo, name, ["--as-of", str(SMALL_DEMO["as_of"])]) == 0


def test_a_funnel_of_too_few_people_reaches_a_viewer_as_nothing(demo):
    """As of the programme's first weeks (found by the drawn options above): 6 people referred."""
    options = ["--as-of", "2021-01-01"]
    _, exact, _ = figures(demo.url, "pathway", options, "admin")
    assert [row["people"] for row in json.loads(exact) if row["stage"] == "referred"] == [6]
    assert check_what_a_viewer_receives(demo, "pathway", options) == 0
    assert json.loads(figures(demo.url, "pathway", options, "viewer")[1]) == []


def check_what_a_viewer_receives(demo, name: str, options: list[str]) -> int:
    """The viewer's figures for the options against the administrator's; the viewer's exit code."""
    code, shown, why = figures(demo.url, name, options, "viewer")
    exact_code, exact, _ = figures(demo.url, name, options, "admin")
    if code == "raised":  # nothing received (the test of the whole tables reports the crash)
        return f"raised {shown}: {why}"
    if code != 0:  # refused (filters too narrow, a census the force lacks ...): nothing at all is received
        assert code in (1, 2) and shown == "", why
        return code
    assert exact_code == 0
    if name == "overview":
        hours = float(json.loads(divert("programme", "show", "--db", demo.url, "--format", "json").stdout)[
            "officer_hours_per_referral"])
        spec = {"counts": ["count", "previous_count"], "derived": {}, "keep": []}
        exact_rows, shown_rows = (overview_rows(json.loads(text), hours) for text in (exact, shown))
        for row in shown_rows:
            for figure in ("figure", "previous_figure"):
                assert row[figure] is None or significant_figures_at_most(row[figure]), row
        for row in (*exact_rows, *shown_rows):  # figures are checked above, counts below
            row.pop("figure"), row.pop("previous_figure")
        for row in shown_rows:
            row["note"] = "(the overview says why on screen)"
    else:
        spec = gate_spec(name)
        exact_rows, shown_rows = json.loads(exact), json.loads(shown)
        if "cohort" in PUBLISHED_TABLES[name]:
            column, key, count = PUBLISHED_TABLES[name]["cohort"]
            if any(row[column] == key and 0 < row[count] < THRESHOLD for row in exact_rows):
                assert shown_rows == [], f"a cohort of fewer than {THRESHOLD} shown"
                return code
    assert_gated(exact_rows, shown_rows, spec["counts"], spec["derived"], spec["keep"])
    return code
