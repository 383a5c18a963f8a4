"""The disclosure gate on hand-built tables with known answers."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from intruder_range import possible_values

from divert.core import disclosure
from divert.core.disclosure import CUBE_MARGIN, ROOM, Gate, for_display

VIEWER = Gate("viewer", threshold=8, base=5)


def test_small_counts_and_zero_are_starred_and_others_rounded_to_five():
    frame = pl.DataFrame({"group": ["A", "B", "C", "D", "E"], "count": [0, 3, 8, 42, 43]})
    shown = for_display(VIEWER.table(frame, ["count"]), ["count"])
    assert shown["count"].to_list() == ["*", "*", "10", "40", "45"]
    assert shown["note"].to_list() == [f"count: {VIEWER.hidden_note}"] * 2 + [None] * 3


def test_managers_see_exact_figures_and_every_column():
    frame = pl.DataFrame({"count": [3], "other": [1.5]})
    assert Gate("manager").table(frame, ["count"]).equals(frame)


def test_a_hidden_count_a_rounded_total_would_pin_takes_the_next_smallest_with_it():
    """Offences in April: all 242 (shown 240, so 238-242), M 218 (220: 218-222), F 23 (25: 23-27),
    U 0, X 1. With only U and X hidden, U + X = all - M - F could be no more than 242 - 218 - 23
    = 1: X would be 0 or 1. So F is hidden too; in May (all 261, shown 260) the roundings leave U
    and X 0 to 6 together, and they stand alone."""
    frame = pl.DataFrame({"month": ["Apr"] * 4 + ["May"] * 4, "sex": list("MFUX") * 2,
                          "offences": [218, 23, 0, 1, 230, 30, 0, 1]})
    out = VIEWER.table(frame, ["offences"], across=[["month"]])
    assert out["offences"].to_list() == [220, None, None, None, 230, 30, None, None]
    # a small count and one hidden to protect it say the same: the note gives nothing away
    assert out["note"][1] == out["note"][3] == f"count: {VIEWER.hidden_note}".replace("count", "offences")


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
    assert VIEWER.count(7) is None and VIEWER.count(0) is None and VIEWER.count(2692) == 2690
    assert VIEWER.derived(0.65, 100, 65) == 0.65 and VIEWER.derived(0.05, 100, 5) is None
    assert VIEWER.derived(3.2, 7) is None and Gate("admin").derived(3.2, 1) == 3.2


def test_a_share_cannot_be_multiplied_back_to_its_counts():
    """12 of 14 (85.7%): the count shown is 15 (13 to 17 people); the share is shown to one
    significant figure, so several (k, n) pairs fit what is published, not only 12 of 14."""
    frame = pl.DataFrame({"people": [14], "engaged": [12], "share": [12 / 14]})
    out = VIEWER.table(frame, ["people", "engaged"], {"share": ["people", "engaged"]}, shares=["share"])
    shown_n, shown_share = out["people"][0], out["share"][0]
    fits = [(k, n) for n in range(shown_n - 2, shown_n + 3) for k in range(n + 1)
            if round(k / n, 1) == shown_share and abs(k - out["engaged"][0]) <= 2]
    assert shown_share == 0.7 and len(fits) > 1  # worked out from the counts as shown: 10 of 15
    many = pl.DataFrame({"people": [1234], "engaged": [1000], "share": [1000 / 1234]})
    assert VIEWER.table(many, ["people", "engaged"], {"share": ["people", "engaged"]},
                        shares=["share"])["share"][0] == 0.81  # 1000 / 1235


def test_a_share_tells_nothing_the_rounded_counts_do_not():
    """A share is worked out again from its counts as shown: 26 of 202 is shown as 25 of 200
    (0.125, to two significant figures 0.13), and a share of a total the table does not hold
    (count 26 of 202) the same way."""
    frame = pl.DataFrame({"people": [202], "engaged": [26], "share": [26 / 202]})
    out = VIEWER.table(frame, ["people", "engaged"], {"share": ["people", "engaged"]}, shares=["share"])
    assert (out["people"][0], out["engaged"][0], out["share"][0]) == (200, 25, 0.13)
    alone = VIEWER.table(frame.select("engaged", "share"), ["engaged"], {"share": ["engaged"]}, shares=["share"])
    assert alone["share"][0] == pytest.approx(0.1)  # 25 / 200, one significant figure for 25 people
    assert VIEWER.derived(26 / 202, 202, 26, share=True) == 0.13


def test_a_share_of_the_stage_before_is_hidden_with_that_stage():
    """A funnel for each sex: women's contacted (13) is hidden to protect sex X's (1: all 87
    shown 85, men's 73 shown 75 and women's shown 15 would leave it at most 87 - 73 - 13 = 1), so
    their share of the stage before (assessed / contacted) would give it back from the assessed
    count and the share: it is hidden with it."""
    frame = pl.DataFrame({"sex": ["M"] * 3 + ["F"] * 3 + ["X"] * 3, "stage": ["referred", "contacted", "assessed"] * 3,
                          "people": [90, 73, 60, 20, 13, 10, 5, 1, 0]})
    frame = frame.with_columns((pl.col("people") / pl.col("people").shift(1).over("sex")).alias("share_of_previous"))
    out = VIEWER.table(frame, ["people"], {"share_of_previous": ["people"]}, parts=("sex", ["stage"]),
                       shares=["share_of_previous"], after={"share_of_previous": "people"})
    women = out.filter(pl.col("sex") == "F")
    assert women["people"].to_list() == [20, None, 10]
    assert women["share_of_previous"].to_list()[2] is None


def test_secondary_suppression_runs_across_the_values_of_a_filter():
    """The table for each sex in one frame: April's X (1) and U (0) are hidden, and so must be
    one of their siblings in April, or the table without the filter, less M and F, would give
    them back (0 or 1). Within X's own table (10 in all, shown 10), May's 9 (shown 10) leaves
    April 0 to 4: five values, so May is shown."""
    frame = pl.DataFrame({"sex": ["M", "F", "U", "X"] * 2, "month": ["Apr"] * 4 + ["May"] * 4,
                          "offences": [218, 23, 0, 1, 230, 30, 0, 9]})
    out = VIEWER.table(frame, ["offences"], across=[[]], parts=("sex", ["month"]))
    april = dict(out.filter(pl.col("month") == "Apr").select("sex", "offences").rows())
    assert april == {"M": 220, "F": None, "U": None, "X": None}
    assert out.filter(pl.col("sex") == "X")["offences"].to_list() == [None, 10]
    assert max(possible_values(1, [9], 10, VIEWER)) - min(possible_values(1, [9], 10, VIEWER)) >= 4


def test_hidden_cells_close_to_zero_take_another_with_them():
    """Areas with 1, 0, 13 and 13 in a week: all 27 is shown as 25 (23-27), each 13 as 15
    (13-17), so the two hidden cells add up to at most 27 - 13 - 13 = 1: each is 0 or 1. A 13 is
    hidden with them. With 16 instead (all 30, 28-32; 16 shown 15, 13-17), they add up to at
    most 6, and each could be anything from 0 to 6."""
    frame = pl.DataFrame({"area": list("abcd"), "count": [1, 0, 13, 13]})
    assert VIEWER.table(frame, ["count"], across=[[]])["count"].to_list() == [None, None, None, 15]
    roomy = pl.DataFrame({"area": list("abcd"), "count": [1, 0, 13, 16]})
    assert VIEWER.table(roomy, ["count"], across=[[]])["count"].to_list() == [None, None, 15, 15]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=6))
def test_every_hidden_count_keeps_five_values_open_against_its_total(values):
    """Whatever the counts of a group (whose total is published rounded): each hidden count could,
    for all an intruder can tell from the shown counts and the total, be any of at least five
    values (as a shown count could), unless the total itself is small (then hidden too)."""
    frame = pl.DataFrame({"cell": list(range(len(values))), "count": values})
    out = VIEWER.table(frame, ["count"], across=[[]])
    hidden = [v for v, s in zip(values, out["count"], strict=True) if s is None]
    shown = [v for v, s in zip(values, out["count"], strict=True) if s is not None]
    assert all(v >= 8 for v in shown)
    if hidden and sum(values) >= VIEWER.threshold:
        possible = possible_values(len(hidden), shown, sum(values), VIEWER)
        assert max(possible) - min(possible) >= 4, (values, sorted(possible))


# --- a cross-table with its margins, checked as a whole ----------------------------------------------
# Penalty notices by ethnic group and sex in the demo's half-year before the launch: the one-total
# rule leaves Asian women's 1 room against each of its totals, but all-people less men bounds the
# women and "other" of every group together, and the groups' shown counts take the rest.
PENALTIES = {("Asian", "F"): 1, ("Asian", "M"): 20, ("Black", "F"): 1, ("Black", "M"): 11, ("Black", "X"): 1,
             ("Mixed", "M"): 3, ("Not stated", "M"): 1, ("Other", "M"): 1, ("White", "F"): 11, ("White", "M"): 62}
GROUPS, SEXES = ("Asian", "Black", "Mixed", "Not stated", "Other", "White"), ("F", "M", "X")


# the cube's totals along each characteristic: its rows of one sex, and of one group
CUBE_ACROSS = [["sex", "_all_ethnic_group", "_all_sex"], ["ethnic_group", "_all_ethnic_group", "_all_sex"]]


def _cube(cells: dict) -> pl.DataFrame:
    """Every group and sex, with "All" rows for each margin, flagged as partition._cut_from_cube does."""
    rows = [(g, s, sum(v for (cg, cs), v in cells.items() if g in ("All", cg) and s in ("All", cs)))
            for g in ("All", *GROUPS) for s in ("All", *SEXES)]
    frame = pl.DataFrame(rows, schema=["ethnic_group", "sex", "people"], orient="row")
    return frame.with_columns((pl.col("ethnic_group") == "All").alias("_all_ethnic_group"),
                              (pl.col("sex") == "All").alias("_all_sex"))


def _narrowest_ranges(shown: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """What an intruder can tell of each hidden count from the whole published cube (every shown
    count within its rounding, at least 8; hidden ones at least 0; each margin the sum of its
    cells): the least and greatest values, by scipy's linear programming (not the gate's code)."""
    from scipy.optimize import linprog

    keys = list(zip(shown["ethnic_group"], shown["sex"], strict=True))
    at = {k: i for i, k in enumerate(keys)}
    bounds = [(0, None) if v is None else (max(v - 2, 8), v + 2) for v in shown["people"]]
    equalities = []
    for g, s in keys:
        if g == "All" or s == "All":
            parts = [k for k in keys if (g == "All" and k[0] != "All" and (k[1] == s))
                     or (s == "All" and k[1] != "All" and k[0] == g and g != "All")]
            if g == "All" and s == "All":
                parts = [k for k in keys if k[0] != "All" and k[1] == "All"]
            row = [0.0] * len(keys)
            for k in parts:
                row[at[k]] += 1
            row[at[(g, s)]] -= 1
            equalities.append(row)
    out = {}
    for k, v, true in zip(keys, shown["people"], truth["people"], strict=True):
        if v is None:
            ends = [linprog(c, A_eq=equalities, b_eq=[0] * len(equalities), bounds=bounds)
                    for c in ([1.0 if i == at[k] else 0.0 for i in range(len(keys))],
                              [-1.0 if i == at[k] else 0.0 for i in range(len(keys))])]
            out[k] = (ends[0].fun, float("inf") if ends[1].status == 3 else -ends[1].fun, true)
    return out


def _too_narrow(ranges: dict, room: int = ROOM) -> list:
    import math
    return [k for k, (low, high, true) in ranges.items()
            if high < math.inf and math.floor(high + 1e-7) - math.ceil(low - 1e-7) < (room if true < 8 else 1)]


def test_a_cross_table_with_its_margins_is_checked_as_a_whole():
    truth, across = _cube(PENALTIES), CUBE_ACROSS
    one_total_at_a_time = VIEWER.table(truth, ["people"], across=across)
    assert ("Asian", "F") in _too_narrow(_narrowest_ranges(one_total_at_a_time, truth))  # 0 to 2
    whole = VIEWER.table(truth, ["people"], across=across, whole=["ethnic_group", "sex"])
    # a cube keeps a margin beyond the promise (CUBE_MARGIN: its views under other filters count the
    # same records in programs of their own), and keeps its totals and its large counts shown
    assert _too_narrow(_narrowest_ranges(whole, truth), ROOM + CUBE_MARGIN) == []
    assert whole["people"].null_count() > one_total_at_a_time["people"].null_count()
    shown = {(g, s): v for g, s, v in whole.select("ethnic_group", "sex", "people").iter_rows() if v is not None}
    assert {("All", "All"), ("All", "M"), ("Asian", "All"), ("White", "All"), ("White", "F")} <= set(shown)


def test_a_cube_without_a_margin_keeps_the_promise_and_hides_less(monkeypatch):
    """The margin costs shown counts; without it (as for a table that is not a cube) the promise
    alone is kept, with fewer counts hidden."""
    truth = _cube(PENALTIES)
    with_margin = VIEWER.table(truth, ["people"], across=CUBE_ACROSS, whole=["ethnic_group", "sex"])
    monkeypatch.setattr(disclosure, "CUBE_MARGIN", 0)
    without = VIEWER.table(truth, ["people"], across=CUBE_ACROSS, whole=["ethnic_group", "sex"])
    assert _too_narrow(_narrowest_ranges(without, truth)) == []
    assert without["people"].null_count() < with_margin["people"].null_count()
    assert without.filter(pl.col("ethnic_group") == "Asian", pl.col("sex") == "M")["people"].to_list() == [20]


def _nested_ranges(shown: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """Each hidden count's least and greatest value, for a table of people assessed (first half)
    and people who reached a course (second half) by month: every shown count within its
    rounding, every hidden one at least 0, each measure's total over the months published rounded,
    and in each month those who reached a course at most those assessed (they were assessed first)."""
    import math

    from scipy.optimize import linprog

    n, values, published = truth.height, truth["people"].to_list(), shown["people"].to_list()
    bounds = [(0, None) if v is None else (max(v - 2, 8), v + 2) for v in published]
    rows, ends = [], []
    for month in range(n // 2):  # a course's people among the month's assessed
        rows.append([1.0 if j == n // 2 + month else -1.0 if j == month else 0.0 for j in range(n)])
        ends.append(0.0)
    for half in (range(n // 2), range(n // 2, n)):
        total = VIEWER.count(sum(values[j] for j in half))
        if total is not None:
            row = [1.0 if j in half else 0.0 for j in range(n)]
            rows += [row, [-x for x in row]]
            ends += [total + 2, -max(total - 2, 8)]
    out = {}
    for i, v in enumerate(published):
        if v is None:
            low, high = (linprog([sign if j == i else 0.0 for j in range(n)], A_ub=rows, b_ub=ends, bounds=bounds)
                         for sign in (1.0, -1.0))
            out[i] = (low.fun, math.inf if high.status == 3 else -high.fun, values[i])
    return out


def test_a_count_nested_in_another_is_checked_with_it():
    """People who reached a course were all assessed first: the months' counts of the one bound
    those of the other. Gated one total at a time, a month's hidden counts are left fewer than
    five values; `within` checks the table with the nesting and hides what keeps every one wide."""
    months = [date(2026, m, 1) for m in (1, 2, 3)]
    truth = pl.DataFrame({"period": months * 2, "measure": ["to_assessment"] * 3 + ["to_course"] * 3,
                          "people": [23, 1, 8, 2, 1, 8]})
    spec = {"counts": ["people"], "across": [["measure"]]}
    one_total_at_a_time = VIEWER.table(truth, **spec)
    assert _too_narrow(_nested_ranges(one_total_at_a_time, truth)) != []
    nested = VIEWER.table(truth, **spec, whole=True, within=[("measure", "to_assessment", ["to_course"], ["period"])])
    assert _too_narrow(_nested_ranges(nested, truth)) == []
    assert nested["people"].null_count() > one_total_at_a_time["people"].null_count()
    assert nested["people"][0] == 25  # what is shown is still shown rounded


def test_a_period_marked_partial_keeps_the_gates_note_on_a_hidden_count():
    """The Volume, Pathway and Disparity tables mark partial periods with a note of their own
    (readmodels.volume_view.partial_edges): it must not wipe the gate's note, or a hidden count
    reaches the Table tab and the CSV as a blank, told apart from a missing one by nothing."""
    from divert.analytics.data.filters import Filters
    from divert.core.disclosure import NOTE, SUPPRESSED, for_display
    from divert.readmodels.volume_view import partial_edges

    hidden = "referrals: hidden (fewer than 8 people, or it would let such a figure be worked out)"
    gated = pl.DataFrame({"period": [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)],
                          "offences": [35, 20, 25], "referrals": [25, None, None],
                          NOTE: [None, hidden, hidden]})
    marked = partial_edges(gated, Filters(start=date(2026, 9, 15), as_of=date(2026, 11, 20)))

    notes = marked[NOTE].to_list()
    assert notes[0].startswith("Partial: the period shown starts on") and hidden not in notes[0]
    assert notes[1] == hidden  # a whole month: the gate's note alone
    assert notes[2].startswith(hidden) and "Provisional: not over on" in notes[2]  # both, neither lost
    assert for_display(marked, ["offences", "referrals"])["referrals"].to_list() == ["25", SUPPRESSED, SUPPRESSED]
