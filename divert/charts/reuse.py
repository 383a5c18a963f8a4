"""Charts built once for the same figures: a builder called again with equal arguments (the same
frames, row for row, and the same options) returns the chart it built before instead of building
it again. A page runs twice when it opens (the sign-in cookie's report makes a second run) and
again on every click, mostly with unchanged figures; building an Altair chart of small multiples
takes a large part of a second, finding it takes well under a millisecond.

The key is the arguments' content, never where they came from: a frame is keyed on its schema
and the hash of its Arrow bytes, so any change in a figure, a label or a flag builds the chart
again. A chart returned from here is shared: callers combine it (`+`, `properties`, `facet`),
which copies it, and never change it in place. Arguments the key cannot read (an object of
another kind) build the chart every time, uncached.
"""

from __future__ import annotations

import functools
import hashlib
import io
import threading
from collections import OrderedDict
from datetime import date, datetime

import altair as alt
import polars as pl

from divert.analytics.data.memo import single_flight

KEPT = 256  # charts kept (least recently used dropped first): each holds a few small frames
_kept: OrderedDict[tuple, tuple] = OrderedDict()  # key -> (chart, None), as single_flight keeps them
_flights: dict[tuple, object] = {}  # builds under way (divert.analytics.data.memo.single_flight)
_keys: dict[int, tuple] = {}  # id of a kept chart -> its key, so that a chart built from it can be keyed too
_lock = threading.Lock()


class _Unkeyed(Exception):
    """An argument whose content the key cannot read."""


def _frame_key(frame: pl.DataFrame) -> tuple:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    return ("frame", str(frame.schema), frame.height, hashlib.blake2b(buffer.getvalue(), digest_size=16).digest())


def _key(value) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return (type(value).__name__, value)
    if isinstance(value, datetime | date):
        return (type(value).__name__, value.isoformat())
    if isinstance(value, pl.DataFrame):
        return _frame_key(value)
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((str(k), _key(v)) for k, v in value.items()))
    if isinstance(value, alt.TopLevelMixin):
        with _lock:
            kept = _keys.get(id(value))
        if kept is not None and (_kept.get(kept) or (None,))[0] is value:
            return ("chart", kept)
    raise _Unkeyed(type(value).__name__)


def reused(builder):
    """`builder`, returning the chart it built before for equal arguments (see the module).
    Sessions asking for the same chart at the same moment wait for one build (single flight)."""

    @functools.wraps(builder)
    def build(*args, **kwargs):
        try:
            key = (builder.__module__, builder.__qualname__, _key(args), _key(tuple(sorted(kwargs.items()))))
        except _Unkeyed:
            return builder(*args, **kwargs)
        return single_flight(_kept, _flights, key, lambda: _known(key, builder(*args, **kwargs)), KEPT)

    return build


def _known(key: tuple, chart):
    """`chart` recorded as built for `key`, so that a chart built from it can be keyed too."""
    if chart is not None:
        with _lock:
            _keys[id(chart)] = key
            if len(_keys) > 2 * KEPT:  # the ids of charts no longer kept
                for gone in [i for i, k in _keys.items() if k not in _kept]:
                    _keys.pop(gone, None)
    return chart


def forget() -> None:
    """Drop every kept chart (tests)."""
    with _lock:
        _kept.clear()
        _keys.clear()


@reused
def layered(*charts):
    """Charts drawn one over another (what `a + b` draws), kept like a builder's chart when its
    layers are kept ones (a builder's, with equal arguments)."""
    return alt.layer(*charts)
