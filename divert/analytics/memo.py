"""Figures worked out once per snapshot: a function of the frames (and hashable arguments) is
computed the first time a page asks for it and kept on that snapshot of the frames, so a rerun
of the page (every click) costs nothing until the data or the as-of date moves on (a new
snapshot). Each snapshot keeps at most MOST results; nothing outlives its snapshot."""

from __future__ import annotations

import functools
import threading

MOST = 256
_lock = threading.Lock()


def per_snapshot(fn):
    @functools.wraps(fn)
    def remembered(frames, *args, **kwargs):
        try:
            key = (fn.__module__, fn.__qualname__, args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:  # an argument that cannot be a key (a frame): work it out each time
            return fn(frames, *args, **kwargs)
        kept = getattr(frames, "__dict__", {}).get("_memo")
        if kept is None:
            with _lock:
                kept = frames.__dict__.setdefault("_memo", {})
        if key not in kept:
            value = fn(frames, *args, **kwargs)
            if len(kept) < MOST:
                kept[key] = value
            return value
        return kept[key]

    return remembered
