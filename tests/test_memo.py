"""Figures kept per snapshot (divert.analytics.data.memo): worked out once per object and arguments,
found again on the next call, and never shared between snapshots; worked out once when sessions
ask at the same moment (single flight); fits kept by their inputs' content."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl
import pytest

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.memo import by_content, fingerprint, per_snapshot

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


# --- single flight: sessions asking at the same moment share one computation ---------------------
THREADS = 8
DEADLINE = 10.0  # seconds: only ever reached when something is wrong


def waiting_on(snapshot) -> int:
    """How many threads are waiting on the computations under way on `snapshot`."""
    flights = snapshot.__dict__.get("_memo_flights", {})
    return sum(len(flight.future._condition._waiters) for flight in list(flights.values()))


def until(condition) -> None:
    """Wait (polling) until `condition()` holds; fail after DEADLINE."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < DEADLINE, "timed out"
        time.sleep(0.001)


def at_once(call, count: int = THREADS) -> tuple[list[threading.Thread], list, list[Exception]]:
    """`count` threads (not started) that call `call()` released together, and the lists their
    results and exceptions go to."""
    results, errors, lock = [], [], threading.Lock()
    barrier = threading.Barrier(count)

    def run():
        barrier.wait()
        try:
            value = call()
        except Exception as error:  # noqa: BLE001  (kept to assert on)
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=run) for _ in range(count)]
    return threads, results, errors


@pytest.mark.threads
def test_sessions_asking_at_once_share_one_computation():
    snapshot, entered, release, made = frames_of(3), threading.Event(), threading.Event(), []

    @per_snapshot
    def slow(frames, groups=("a",)):
        made.append(1)
        entered.set()
        assert release.wait(DEADLINE)
        return pl.DataFrame({"n": [frames.offences.height]})

    threads, results, errors = at_once(lambda: slow(snapshot, ("a", "b")))
    for thread in threads:
        thread.start()
    assert entered.wait(DEADLINE)
    until(lambda: waiting_on(snapshot) == THREADS - 1)  # every other session waits for the first
    release.set()
    for thread in threads:
        thread.join(DEADLINE)
    assert not errors and len(made) == 1 and len(results) == THREADS
    assert all(r is results[0] for r in results)  # one object, shared
    assert slow(snapshot, ("a", "b")) is results[0] and len(made) == 1
    assert not snapshot.__dict__["_memo_flights"]  # nothing left under way


@pytest.mark.threads
def test_an_error_in_the_first_computation_reaches_those_waiting_and_is_not_kept():
    snapshot, entered, release, made = frames_of(3), threading.Event(), threading.Event(), []

    @per_snapshot
    def failing(frames):
        made.append(1)
        if len(made) == 1:
            entered.set()
            assert release.wait(DEADLINE)
            raise ValueError("no figures today")
        return "worked"

    threads, results, errors = at_once(lambda: failing(snapshot))
    for thread in threads:
        thread.start()
    assert entered.wait(DEADLINE)
    until(lambda: waiting_on(snapshot) == THREADS - 1)
    release.set()
    for thread in threads:
        thread.join(DEADLINE)
    assert not results and len(errors) == THREADS and len(made) == 1
    assert all(isinstance(e, ValueError) and str(e) == "no figures today" for e in errors)
    assert failing(snapshot) == "worked" and len(made) == 2  # the failure was not kept: the next call computes


@pytest.mark.threads
def test_memoised_functions_calling_each_other_from_many_threads_do_not_deadlock():
    snapshot, made = frames_of(5), {"inner": 0, "outer": 0}
    lock = threading.Lock()

    @per_snapshot
    def inner(frames, k):
        with lock:
            made["inner"] += 1
        return frames.offences.height * k

    @per_snapshot
    def outer(frames):
        with lock:
            made["outer"] += 1
        return inner(frames, 2) + inner(frames, 3)

    threads, results, errors = at_once(lambda: outer(snapshot))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
        assert not thread.is_alive(), "deadlocked"
    assert not errors and results == [25] * THREADS
    assert made == {"inner": 2, "outer": 1}


def test_a_call_back_into_the_key_its_own_thread_computes_does_not_wait_on_itself():
    snapshot, depth = frames_of(2), []

    @per_snapshot
    def countdown(frames, n):
        depth.append(n)
        return n if len(depth) > 1 else countdown(frames, n)  # the same key again, once

    assert countdown(snapshot, 7) == 7 and depth == [7, 7]


# --- kept by content ------------------------------------------------------------------------------
def test_results_kept_by_content_are_found_again_for_equal_inputs_in_new_objects():
    made = []

    @by_content(most=4)
    def fit(y: np.ndarray, frame: pl.DataFrame, names: list[str], *, as_of: date):
        made.append(1)
        return {"sum": float(y.sum()) + frame.height, "names": names, "as_of": as_of}

    y = np.array([1.0, 2.0, 3.0])
    frame = pl.DataFrame({"month": [date(2024, 1, 1), date(2024, 2, 1)], "group": ["A", None], "n": [1, None]})
    first = fit(y, frame, ["a", "b"], as_of=date(2024, 3, 31))
    assert fit(y.copy(), frame.clone(), ["a", "b"], as_of=date(2024, 3, 31)) is first and len(made) == 1
    for changed in (
        (np.array([1.0, 2.0, 4.0]), frame, ["a", "b"], date(2024, 3, 31)),  # one value
        (y.astype(np.float32), frame, ["a", "b"], date(2024, 3, 31)),  # the type
        (y, frame.with_columns(pl.col("n").fill_null(0)), ["a", "b"], date(2024, 3, 31)),  # a null is not a zero
        (y, frame.with_columns(pl.col("group").fill_null("None")), ["a", "b"], date(2024, 3, 31)),
        (y, frame.rename({"n": "m"}), ["a", "b"], date(2024, 3, 31)),  # a column's name
        (y, frame, ["a", "c"], date(2024, 3, 31)),
        (y, frame, ["a", "b"], date(2024, 4, 30)),
    ):
        before = len(made)
        assert fit(*changed[:3], as_of=changed[3]) is not first
        assert len(made) == before + 1
    assert len(fit.kept) == 4  # bounded: the least recently used went first


def test_fingerprints_of_equal_frames_agree_whatever_their_chunks():
    one = pl.DataFrame({"x": [1, 2, 3, 4], "s": ["a", "b", "c", "d"]})
    chunked = pl.concat([one.head(2), one.tail(2)], rechunk=False)
    assert chunked.n_chunks() > 1
    assert fingerprint(one) == fingerprint(chunked)
    assert fingerprint(one) != fingerprint(one.reverse())
