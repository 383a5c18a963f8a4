"""The disclosure gate on hand-built tables with known answers."""

from __future__ import annotations

import polars as pl
import pytest

from divert.core.disclosure import Gate, for_display

VIEWER = Gate("viewer", threshold=8, base=5)


def test_small_counts_are_starred_zero_is_shown_and_others_rounded_to_five():
    frame = pl.DataFrame({"group": ["A", "B", "C", "D", "E"], "count": [0, 3, 8, 42, 43]})
    shown = for_display(VIEWER.table(frame, ["count"]), ["count"])
    assert shown["count"].to_list() == ["0", "*", "10", "40", "45"]
    assert shown["note"].to_list() == [None, "count: fewer than 8 people", None, None, None]


def test_managers_see_exact_figures_and_every_column():
    frame = pl.DataFrame({"count": [3], "other": [1.5]})
    assert Gate("manager").table(frame, ["count"]).equals(frame)


def test_secondary_suppression_runs_across_rows_and_time():
    frame = pl.DataFrame({"period": ["a"] * 3 + ["b"] * 3, "group": list("xyzxyz"), "count": [5, 20, 30, 9, 10, 50]})
    out = VIEWER.table(frame, ["count"], across=[["period"], ["group"]])
    # a.x is small; a.y is the next smallest in period a; group x then has b.x alone hidden
    # until b.x is hidden too, and period b then hides b.y with it
    assert out["count"].to_list() == [None, None, 30, None, None, 50]
    assert "cannot be worked out" in out["note"][1]


def test_no_row_or_column_total_gives_a_hidden_cell_back():
    frame = pl.DataFrame({"period": ["a"] * 3 + ["b"] * 3, "group": list("xyzxyz"), "count": [5, 20, 30, 9, 10, 50]})
    out = VIEWER.table(frame, ["count"], across=[["period"], ["group"]])
    for keys in (["period"], ["group"]):
        hidden = out.group_by(keys).agg(pl.col("count").null_count().alias("n"))
        assert set(hidden["n"].to_list()) <= {0, 2, 3}, keys  # never exactly one hidden cell in a total


def test_figures_derived_from_small_or_hidden_counts_are_hidden_with_their_intervals():
    frame = pl.DataFrame({"people": [110, 10, 4], "reoffended": [4, 9, 2], "rate": [0.036, 0.9, 0.5],
                          "rate_low": [0.01, 0.6, 0.1], "rate_high": [0.09, 0.98, 0.9]})
    out = VIEWER.table(frame, ["people", "reoffended"], {"rate": ["people", "reoffended"]})
    assert out["rate"].to_list() == [None, 0.9, None]  # 4 of 110 and 2 of 4 cannot be multiplied back
    assert out["rate_low"].to_list() == [None, 0.6, None]
    assert out["people"].to_list() == [110, 10, None]


def test_undeclared_numeric_columns_never_reach_a_viewer():
    frame = pl.DataFrame({"stage": ["a", "b"], "people": [100, 96], "dropped": [0, 4], "months": [12, 12]})
    out = VIEWER.table(frame, ["people"], keep=["months"])
    assert out.columns == ["stage", "people", "months", "note"]


def test_derived_figures_are_rounded_to_three_significant_figures():
    frame = pl.DataFrame({"people": [1234], "share": [0.123456]})
    assert VIEWER.table(frame, ["people"], {"share": ["people"]})["share"][0] == pytest.approx(0.123)


def test_single_figures():
    assert VIEWER.count(7) is None and VIEWER.count(0) == 0 and VIEWER.count(2692) == 2690
    assert VIEWER.derived(0.65, 100, 65) == 0.65 and VIEWER.derived(0.05, 100, 5) is None
    assert VIEWER.derived(3.2, 7) is None and Gate("admin").derived(3.2, 1) == 3.2


def test_a_share_cannot_be_multiplied_back_to_its_counts():
    """12 of 14 (85.7%): the count shown is 15 (13 to 17 people); the share is shown to one
    significant figure, so several (k, n) pairs fit what is published, not only 12 of 14."""
    frame = pl.DataFrame({"people": [14], "engaged": [12], "share": [12 / 14]})
    out = VIEWER.table(frame, ["people", "engaged"], {"share": ["people", "engaged"]})
    shown_n, shown_share = out["people"][0], out["share"][0]
    fits = [(k, n) for n in range(shown_n - 2, shown_n + 3) for k in range(n + 1)
            if round(k / n, 1) == shown_share and abs(k - out["engaged"][0]) <= 2]
    assert shown_share == 0.9 and len(fits) > 1
    many = pl.DataFrame({"people": [1234], "engaged": [1000], "share": [1000 / 1234]})
    assert VIEWER.table(many, ["people", "engaged"], {"share": ["people", "engaged"]})["share"][0] == 0.81
