"""Figures worked out once, and shared.

`per_snapshot`: a function of the frames (or of one frame of a snapshot) and hashable arguments
is computed the first time a page asks for it and kept on that object, so a rerun of the page
(every click) costs nothing until the data or the as-of date moves on (a new snapshot, new
objects). Nothing outlives the object it is kept on; each keeps at most `most` results (the
oldest go first).

`by_content`: a model fitted on a small aggregated input (monthly counts of complete months, a
design matrix) is kept by that input's content, not by the snapshot it came from, in one
bounded table per function for the whole process (the least recently used go first). A write
that leaves the input as it was (a record in the current month, which no fit uses) finds the
fit made before it; a write that changes the input (a backdated record in a fitted month)
changes the key and is fitted again. Arrays are known by their dtype, shape and bytes, frames by
their schema and values (both through a 128-bit BLAKE2 digest), everything else by itself; an
argument that is none of these and cannot be hashed means no keeping for that call. What is
kept is shared between callers: it must be treated as read-only.

Single flight, both kinds: when several sessions ask for the same key at the same moment, the
first computes and the others wait for it and share its result (one object). If the first
raises, the ones waiting get the same exception, and nothing is kept, so the next call computes
afresh (a pure computation that failed would only fail again for those already waiting; a
later call retries). Locks are held only to look up and record, never while computing, so a
memoised function may call other memoised functions (a call with the very key its own thread is
already computing, which could only be endless recursion, is computed without waiting).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import Future
from datetime import date, datetime

import numpy as np
import polars as pl

MOST = 64
MOST_BY_CONTENT = 256
_lock = threading.Lock()


class _Flight:
    """One computation under way: its result (or exception) for those who wait, and its thread."""

    __slots__ = ("future", "thread")

    def __init__(self):
        self.future: Future = Future()
        self.thread = threading.get_ident()


def _shared(kept: dict, flights: dict, key, compute, most: int, pinned=None):
    """The value kept under `key`, or the one being computed under it by another thread, or
    computed here (and kept) when no one is computing it yet. `kept` may be an OrderedDict,
    then used least recently used first."""
    with _lock:
        if key in kept:
            if isinstance(kept, OrderedDict):
                kept.move_to_end(key)
            return kept[key][0]
        flight = flights.get(key)
        leader = flight is None
        if leader:
            flight = flights[key] = _Flight()
    if not leader:
        if flight.thread == threading.get_ident():  # this thread is computing it already: no waiting on itself
            return compute()
        return flight.future.result()
    try:
        value = compute()
    except BaseException as error:
        with _lock:
            flights.pop(key, None)
        flight.future.set_exception(error)
        raise
    with _lock:
        while len(kept) >= most:
            kept.pop(next(iter(kept)), None)
        kept[key] = (value, pinned)
        flights.pop(key, None)
    flight.future.set_result(value)
    return value


single_flight = _shared  # for other keepers of results (divert.charts.reuse): the same rules


def per_snapshot(fn=None, *, most: int = MOST):
    if fn is None:
        return functools.partial(per_snapshot, most=most)

    @functools.wraps(fn)
    def remembered(frames, *args, **kwargs):
        pinned: list = []  # frames among the arguments are known by identity, and kept alive with the result
        try:
            key = (fn.__module__, fn.__qualname__, _key(args, pinned), _key(tuple(sorted(kwargs.items())), pinned))
            hash(key)
            attributes = vars(frames)  # TypeError for an object that cannot keep anything
        except TypeError:  # an argument that cannot be a key: work it out each time
            return fn(frames, *args, **kwargs)
        with _lock:
            kept = attributes.setdefault("_memo", {})
            flights = attributes.setdefault("_memo_flights", {})
        return _shared(kept, flights, key, lambda: fn(frames, *args, **kwargs), most, pinned)

    return remembered


def _key(values, pinned: list):
    if isinstance(values, pl.DataFrame):
        pinned.append(values)
        return ("frame", id(values))
    if isinstance(values, list | tuple):
        return tuple(_key(v, pinned) for v in values)
    if isinstance(values, dict):
        return ("dict", tuple((k, _key(v, pinned)) for k, v in sorted(values.items())))
    return values


# --- kept by content ------------------------------------------------------------------------------
_by_content: dict[str, tuple[OrderedDict, dict]] = {}


def by_content(fn=None, *, most: int = MOST_BY_CONTENT):
    """Keep `fn`'s results by the content of its arguments (see the module's docstring)."""
    if fn is None:
        return functools.partial(by_content, most=most)
    name = f"{fn.__module__}.{fn.__qualname__}"
    kept, flights = _by_content.setdefault(name, (OrderedDict(), {}))

    @functools.wraps(fn)
    def remembered(*args, **kwargs):
        try:
            key = (fingerprint(args), fingerprint(tuple(sorted(kwargs.items()))))
            hash(key)
        except TypeError:  # an argument that cannot be known by its content: work it out each time
            return fn(*args, **kwargs)
        return _shared(kept, flights, key, lambda: fn(*args, **kwargs), most)

    remembered.kept = kept  # for tests and the curious: the results kept now
    return remembered


def forget_by_content() -> None:
    """Drop every result kept by content (tests; memory)."""
    with _lock:
        for kept, _ in _by_content.values():
            kept.clear()


def fingerprint(value):
    """A hashable stand-in for `value` equal for equal content (arrays and frames by digest)."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return ("objects", value.shape, tuple(fingerprint(v) for v in value.ravel().tolist()))
        digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16).digest()
        return ("array", value.dtype.str, value.shape, digest)
    if isinstance(value, pl.DataFrame):
        return ("frame", value.height, _frame_digest(value))
    if isinstance(value, pl.Series):
        return ("series", value.height, _frame_digest(value.to_frame()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(fingerprint(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, fingerprint(v)) for k, v in sorted(value.items())))
    if isinstance(value, set | frozenset):
        return ("set", frozenset(fingerprint(v) for v in value))
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.item())
    if value is None or isinstance(value, str | int | float | bool | date | datetime | bytes):
        return value
    hash(value)  # anything else hashable stands for itself; TypeError otherwise
    return value


def _frame_digest(frame: pl.DataFrame) -> bytes:
    """BLAKE2 over every column's name, type, null mask and values: equal digests, equal frames."""
    digest = hashlib.blake2b(digest_size=16)
    for column in frame.get_columns():
        digest.update(f"{column.name}\x1f{column.dtype}\x1e".encode())
        nulls = column.is_null()
        digest.update(np.packbits(nulls.to_numpy()).tobytes())
        physical = column.to_physical()
        if physical.dtype.is_numeric() or physical.dtype == pl.Boolean:
            values = physical.fill_null(0) if column.null_count() else physical
            digest.update(np.ascontiguousarray(values.to_numpy()).tobytes())
        else:
            digest.update("\x1f".join(repr(v) for v in column.to_list()).encode())
        digest.update(b"\x1d")
    return digest.digest()
