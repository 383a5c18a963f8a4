"""A table gated for a role that sees rounded, suppressed figures, when one filter is chosen: it
is gated together with the same table for every other value of that filter.

The values of a filter add up to the view without it: the offences of men, women, "other" and
"not known" in a month are all the offences of the month. A count hidden in one value's table
(three offences by people of sex "other" in April) could be worked out from the others' counts
and the view without the filter, however each table is suppressed on its own. Gating the tables
of all the values at once lets the gate hide a second count across them (divert.core.disclosure,
`parts`), and every value's table is then cut from the same result, so whichever value a reader
chooses, the same cells are hidden.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

import polars as pl

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.core import codes
from divert.core.disclosure import NOTE, Gate

CHARACTERISTICS = ("area", "source", "age_band", "sex", "ethnic_group")
PART = "_filter_value"
MISSING = "Missing"
ALL = "All"  # a characteristic summed over, in a cross-table with its margins (`cube`)


def values(frames: Frames, name: str) -> list[str]:
    """Every value the sidebar offers for a characteristic."""
    return {"area": lambda: list(frames.programme.area_labels), "source": lambda: list(codes.REFERRAL_SOURCES),
            "age_band": lambda: [*codes.AGE_BANDS, MISSING], "sex": lambda: list(codes.SEXES),
            "ethnic_group": lambda: [*codes.BROAD_GROUPS, MISSING]}[name]()


def chosen(filters: Filters) -> str | None:
    """The one characteristic chosen, or None when none is (or several are: their combinations
    are guarded by divert.core.disclosure.too_narrow instead)."""
    named = [name for name in CHARACTERISTICS if getattr(filters, name)]
    return named[0] if len(named) == 1 else None


def gated_table(gate: Gate, make: Callable[[Filters], pl.DataFrame], frames: Frames, filters: Filters,
                cube: list[str] | None = None, **spec) -> pl.DataFrame:
    """make(filters), the exact table, as the role may see it (Gate.table with `spec`), with one
    characteristic chosen gated together with the tables of its other values. The rows of the
    tables are matched on their text, date and flag columns and the `keep` columns. With `cube`,
    see `_cut_from_cube`."""
    if cube:
        return _cut_from_cube(gate, make, frames, filters, list(cube), spec)
    name = None if gate.exact else chosen(filters)
    if name is None:
        return gate.table(make(filters), **spec)
    value = getattr(filters, name)
    options = values(frames, name)
    options = options if value in options else [*options, value]
    tables = [make(replace(filters, **{name: option})).with_columns(pl.lit(option).alias(PART)) for option in options]
    stacked = pl.concat([t for t in tables if t.width > 1], how="diagonal_relaxed")
    if stacked.is_empty():
        return gate.table(tables[options.index(value)].drop(PART), **spec)
    shown = _gated_parts(gate, stacked, spec)
    return shown.filter(pl.col(PART) == value).drop(PART)


_RECENT: OrderedDict = OrderedDict()  # the stacked tables gated lately: one for every value of a filter


def _gated_parts(gate: Gate, stacked: pl.DataFrame, spec: dict) -> pl.DataFrame:
    """The tables of every value of a filter gated together: the same whichever value is asked
    for, so kept for the next value (a reader going through the areas, the audit)."""
    key = (gate, repr(sorted(spec.items(), key=str)), tuple(stacked.columns), stacked.hash_rows().to_numpy().tobytes())
    if key in _RECENT:
        _RECENT.move_to_end(key)
        return _RECENT[key]
    shown = _RECENT[key] = gate.table(stacked, **spec, parts=(PART, row_keys(stacked, spec)))
    if len(_RECENT) > 32:
        _RECENT.popitem(last=False)
    return shown


def _cut_from_cube(gate: Gate, make, frames: Frames, filters: Filters, dims: list[str], spec: dict) -> pl.DataFrame:
    """A table that is a cross-table of the characteristics `dims` with all its margins (make
    gives every combination, "All" where a characteristic is summed over), so that the view of
    one value of such a characteristic (the outcomes of men) holds the very cells of the view
    without it. Every view is cut from the one table gated without those filters, checked as a
    whole against all its totals (Gate.table's `whole`): the same cell is then hidden or shown
    alike whichever view shows it, and no margin of one view differences a cell of another."""
    named = {d: getattr(filters, d) for d in dims if getattr(filters, d) is not None}
    wider = replace(filters, **dict.fromkeys(named))

    def flagged(chosen: Filters) -> pl.DataFrame:
        return make(chosen).with_columns((pl.col(d) == ALL).alias(f"_all_{d}") for d in dims)

    sample = flagged(wider)
    flags = [f"_all_{d}" for d in dims]
    # the row's place in the cube: not a label that only says which margin it is in (a `level`)
    keys = [k for k in row_keys(sample, spec) if k in flags or k in dims
            or sample.select(*flags, k).n_unique() > sample.select(flags).n_unique()]
    # along each characteristic: its values (not "All") add up to the row that sums them
    across = [*spec.get("across", []), *([k for k in keys if k != d] for d in dims)]
    table = gated_table(gate, flagged, frames, wider, **{**spec, "across": across, "whole": dims})
    for d, value in named.items():
        table = table.filter(pl.col(d) == value)
    return table.drop(f"_all_{d}" for d in dims)


def row_keys(frame: pl.DataFrame, spec: dict) -> list[str]:
    """The columns that say which row of the table a row is: text, dates and flags (not the
    derived readings, not the note) and the numeric columns declared safe (`keep`)."""
    derived = set(spec.get("derived") or {})
    keep = set(spec.get("keep") or [])
    return [c for c, t in frame.schema.items()
            if c not in (PART, NOTE) and c not in derived and (not t.is_numeric() or c in keep)]
