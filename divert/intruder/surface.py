"""What a role receives, as the intruder reads it: every published count with the records it
counts, and every share or rate with the counts it is made from.

A builder (divert.intruder.tables) takes one view (an as-of date, a period, a filter), makes the
table exactly as the page does (the same analytics function and the same gate) and says, for
each count it publishes, which records it counts, as a frame of record ids and the table's key
columns. The surface checks that each of those sets has the size the page's own exact table
gives, so the audit's definitions cannot drift from the pages'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.core.disclosure import NOTE, Gate
from divert.intruder.attack import Figure, Ratio

KINDS = {"offences": "offence_id", "referrals": "referral_id"}  # the records counted, and their ids
INDEX = "_record"


@dataclass(frozen=True)
class View:
    """One combination a role may ask for."""
    as_of: date
    period: str | None  # a named period, or None for a table that has no period
    filters: Filters
    frames: Frames  # as known at the end of as_of
    gate: Gate
    known: Frames | None = None  # while records that could exist are read (frames): the real ones, as known then

    @property
    def where(self) -> str:
        chosen = [f"{name.replace('_', ' ')} {value}" for name in ("area", "source", "age_band", "sex", "ethnic_group")
                  if (value := getattr(self.filters, name))]
        return "; ".join([f"as of {self.as_of}", *([self.period] if self.period else []), *(chosen or ["no filter"])])


@dataclass
class Surface:
    """The published figures read so far, and the records each counts."""
    frames: Frames  # every record, whatever the as-of date: ids to positions
    figures: list[Figure] = field(default_factory=list)
    members: list[np.ndarray] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    refused: int = 0  # views the gate refuses (too few people)
    skipped: dict[str, str] = field(default_factory=dict)  # published figures not modelled, and why
    # records that could exist but do not (divert.intruder.phantoms): the figures each would count in
    phantom_members: dict[int, list[np.ndarray]] = field(default_factory=dict)
    impossible: set[int] = field(default_factory=set)  # phantoms a published table shows do not exist
    n_phantoms: int = 0

    def __post_init__(self):
        self.ids, self.n_records = _positions(self.frames, 0)
        self._names: dict[str, int] | None = None  # set while phantoms are read

    def read_phantoms(self, phantoms: Frames) -> None:
        """From now on, builders read records that could exist (positions after the real ones):
        each count they make adds its records to the published figure of the same name."""
        self.ids, self.n_phantoms = _positions(phantoms, self.n_records)
        self.n_phantoms -= self.n_records
        self._names = {f.name: i for i, f in enumerate(self.figures)}
        self._views = {(f.table, f.where) for f in self.figures}

    def records(self, kind: str, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame with each record's position (INDEX); code columns as text (the frames keep
        them as Categoricals; the tables built here mix them with labels such as "All")."""
        coded = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Categorical | pl.Enum)]
        frame = frame.with_columns(pl.col(coded).cast(pl.String)) if coded else frame
        return frame.join(self.ids[kind], on=KINDS[kind], how="inner")

    def counts(self, table: str, view_where: str, shown: pl.DataFrame, exact: pl.DataFrame | None, keys: list[str],
               counted: dict[str, pl.DataFrame], gate: Gate) -> dict[tuple, int]:
        """One figure per row and count column of the table as shown; `counted[column]` holds the
        records (INDEX) with the key columns they count under. Returns (key..., column) -> figure."""
        out = {}
        if shown.is_empty():  # withheld (a funnel of too few people): nothing is published
            return out
        notes = shown[NOTE].to_list() if NOTE in shown.columns else [None] * shown.height
        for column, records in counted.items():
            groups = {}
            if records.height:
                for row in records.group_by(keys).agg(pl.col(INDEX)).iter_rows():
                    groups[tuple(row[:-1])] = np.asarray(row[-1], dtype=np.int64)
            shown_rows = shown.select(*keys, column).rows()
            exact_values = exact[column].to_list() if exact is not None else [None] * shown.height
            for (*key, value), note, true in zip(shown_rows, notes, exact_values, strict=True):
                key = tuple(key)
                if value is None and true is None and exact is not None:  # no count at all here (a gap in a trend)
                    continue
                low, high, hidden = gate_bounds(value, note, column, gate)
                figure = Figure(table, view_where, f"{_key_words(keys, key)}: {column.replace('_', ' ')}", low, high,
                                hidden, None if true is None else int(true))
                out[(*key, column)] = self.add(figure, groups.get(key, np.zeros(0, dtype=np.int64)))
        return out

    def add(self, figure: Figure, members: np.ndarray) -> int:
        if self._names is not None:  # reading phantoms: they join the figure of the same name
            found = self._names.get(figure.name)
            if found is not None:
                self.phantom_members.setdefault(found, []).append(members)
            elif (figure.table, figure.where) in self._views:  # a row the published table does not have
                self.impossible.update(int(m) for m in members)
            return -1 if found is None else found
        self.figures.append(figure)
        self.members.append(members)
        return len(self.figures) - 1

    def share(self, table: str, view_where: str, what: str, numerator: int, denominator: int, value,
              people: int | None, gate: Gate) -> None:
        """A share the gate worked out again from its two counts rounded as shown
        (Gate.table's `shares`): it tells no more than those rounded counts, so a count it is
        made from that is not published itself is taken as published rounded; one that is
        published adds nothing. A share shown beside a hidden count (which the gate never does)
        is read as the ratio it is (`ratio`)."""
        if value is None or (isinstance(value, float) and math.isnan(value)) or self._names is not None:
            return
        if any(self.figures[i].hidden for i in (numerator, denominator)):
            self.ratio(table, view_where, what, numerator, denominator, value, people)
            return
        for i in (numerator, denominator):
            figure = self.figures[i]
            if math.isinf(figure.high):  # not published: known now as its rounded count
                shown = gate.count(len(self.members[i]))
                figure.low, figure.high, _ = gate_bounds(shown, None, "count", gate)

    def ratio(self, table: str, view_where: str, what: str, numerator: int, denominator: int, value,
              people: int | None, scale: float = 1.0, summary: bool = False) -> None:
        """A share or rate as published (value = scale x numerator / denominator), rounded to the
        significant figures the gate gives for `people` (the exact number it summarises)."""
        if value is None or (isinstance(value, float) and math.isnan(value)) or self._names is not None:
            return
        low, high = ratio_bounds(float(value) / scale, people, summary)
        self.ratios.append(Ratio(numerator, denominator, low, high, table, view_where, what))


def _positions(frames: Frames, start: int) -> tuple[dict[str, pl.DataFrame], int]:
    """Each kind's record ids with their positions, from `start`; and the position after the last."""
    ids = {}
    for kind, column in KINDS.items():
        frame = getattr(frames, kind)
        ids[kind] = frame.select(pl.col(column), pl.int_range(start, start + frame.height).alias(INDEX))
        start += frame.height
    return ids, start


def gate_bounds(value, note: str | None, column: str, gate: Gate) -> tuple[float, float, str | None]:
    """What a count as shown tells the intruder: the rounding interval of a shown count (and at
    least the threshold); a hidden one is at least 0 (zeros are hidden too), and its note says no
    more: a small count and one hidden to protect it carry the same words."""
    if value is not None:
        value = float(value)
        if value == 0:
            return 0.0, 0.0, None
        half = gate.base // 2
        return max(float(gate.threshold), value - half), value + half, None
    return 0.0, math.inf, "hidden"


def ratio_bounds(value: float, people: int | None, summary: bool = False) -> tuple[float, float]:
    """The interval a figure rounded as the gate rounds it stands for: 3 significant figures for
    1,000 people or more (or a summary), 2 for 100 or more, else 1."""
    if value == 0:
        return 0.0, 0.0
    digits = 3 if summary or (people or 0) >= 1000 else 2 if (people or 0) >= 100 else 1
    magnitude = math.floor(math.log10(abs(value)))
    half = 0.5 * 10 ** (magnitude - digits + 1)
    below = half / 10 if math.isclose(abs(value), 10 ** magnitude) else half  # 0.0996 is shown as 0.1
    return (value - below, value + half) if value > 0 else (value - half, value + below)


def _key_words(keys: list[str], key: tuple) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v.isoformat() if isinstance(v, date) else v}"
                     for k, v in zip(keys, key, strict=True)) or "total"
