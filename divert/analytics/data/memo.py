"""Figures worked out once per snapshot: a function of the frames (or of one frame of a
snapshot) and hashable arguments is computed the first time a page asks for it and kept on that
object, so a rerun of the page (every click) costs nothing until the data or the as-of date moves
on (a new snapshot, new objects). Nothing outlives the object it is kept on; each keeps at most
`most` results (the oldest go first)."""

from __future__ import annotations

import functools
import threading

import polars as pl

MOST = 64
_lock = threading.Lock()


def per_snapshot(fn=None, *, most: int = MOST):
    if fn is None:
        return functools.partial(per_snapshot, most=most)

    @functools.wraps(fn)
    def remembered(frames, *args, **kwargs):
        pinned: list = []  # frames among the arguments are known by identity, and kept alive with the result
        try:
            key = (fn.__module__, fn.__qualname__, _key(args, pinned), _key(tuple(sorted(kwargs.items())), pinned))
            hash(key)
            kept = frames.__dict__.get("_memo")
        except (TypeError, AttributeError):  # an argument that cannot be a key: work it out each time
            return fn(frames, *args, **kwargs)
        if kept is None:
            with _lock:
                kept = frames.__dict__.setdefault("_memo", {})
        if key in kept:
            return kept[key][0]
        value = fn(frames, *args, **kwargs)
        with _lock:
            while len(kept) >= most:
                kept.pop(next(iter(kept)), None)
            kept[key] = (value, pinned)
        return value

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
