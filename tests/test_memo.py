"""Figures kept per snapshot (divert.analytics.data.memo): worked out once per object and arguments,
found again on the next call, and never shared between snapshots."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.memo import per_snapshot

calls: list = []


@per_snapshot
def busy(frames, other: pl.DataFrame | None = None, *, groups=("a",)):
    calls.append(groups)
    return pl.DataFrame({"n": [frames.offences.height + (0 if other is None else other.height)]})


def frames_of(rows: int) -> Frames:
    empty = pl.DataFrame()
    return Frames(offences=pl.DataFrame({"offence_date": [None] * rows}), referrals=empty, sessions=empty,
                  stop_search=empty, population=empty)


def test_a_figure_is_worked_out_once_per_snapshot_and_arguments():
    calls.clear()
    snapshot, other = frames_of(3), pl.DataFrame({"x": [1, 2]})
    assert busy(snapshot)["n"][0] == 3 and busy(snapshot)["n"][0] == 3
    assert busy(snapshot, other, groups=["a", "b"])["n"][0] == 5  # a frame and a list as arguments
    assert busy(snapshot, other, groups=["a", "b"])["n"][0] == 5
    assert len(calls) == 2
    assert busy(replace(snapshot))["n"][0] == 3 and len(calls) == 3  # a new snapshot: worked out again
    assert busy(frames_of(4))["n"][0] == 4


def test_the_same_filters_on_the_same_frame_give_the_same_rows_object():
    frame = pl.DataFrame({"area": ["A", "B", "A"], "day": [None, None, None]})
    filters = Filters(area="A")
    assert filters.apply(frame) is filters.apply(frame)
    assert filters.apply(frame).height == 2
    assert Filters(area="B").apply(frame).height == 1
