"""Small-number suppression: primary, secondary, rates on tiny denominators, zero shown."""

from __future__ import annotations

import polars as pl

from divert.disclosure import for_display, suppress


def test_small_counts_are_starred_and_zero_is_shown():
    frame = pl.DataFrame({"group": ["A", "B", "C", "D"], "count": [0, 3, 8, 40]})
    shown = for_display(suppress(frame, ["count"], threshold=8), ["count"])
    assert shown["count"].to_list() == ["0", "*", "8", "40"]


def test_secondary_suppression_hides_the_next_smallest_in_the_group():
    frame = pl.DataFrame({"area": ["X"] * 3 + ["Y"] * 3, "group": list("abcabc"), "count": [5, 20, 30, 9, 10, 50]})
    result = suppress(frame, ["count"], threshold=8, group_by=["area"])
    shown = for_display(result, ["count"])["count"].to_list()
    assert shown[:3] == ["*", "*", "30"]  # 5 is primary, 20 the next smallest in area X
    assert shown[3:] == ["9", "10", "50"]  # nothing small in area Y


def test_rates_on_tiny_denominators_are_not_shown():
    frame = pl.DataFrame({"events": [2, 30], "people": [4, 100], "rate": [0.5, 0.3], "rate_low": [0.1, 0.2], "rate_high": [0.9, 0.4]})
    result = suppress(frame, ["events"], rates={"rate": "people"}, threshold=8)
    assert result["rate"].to_list() == [None, 0.3]
    assert result["rate_low"].to_list() == [None, 0.2]
    assert result["events"].to_list() == [None, 30]
