"""The loader and the live frames, on real databases (SQLite file and PostgreSQL).

- A full load gives exactly what the SQL definitions in divert.analytics.data.frames give, read in
  this process or by the worker process (connectorx).
- After each kind of write through the real write path, the live frames (which read only what
  the write touched) equal a full reload, and say they refreshed records, not everything.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import date

import polars as pl
import pytest
from dbfixtures import ON_POSTGRES, SMALL_DEMO, demo_url, migrated_url
from test_casework import SOON, USER, assess, referral, session

from divert.analytics.data import frame_store, loading
from divert.analytics.data.frames import (
    OFFENCES_SQL,
    REFERRALS_SQL,
    SESSIONS_SQL,
    Frames,
    finish,
    read,
)
from divert.analytics.data.live import LiveFrames
from divert.analytics.data.loading import load_frames
from divert.demo import load_demo
from divert.readmodels import casework
from divert.records.corrections import void_referral
from divert.records.referrals import close_referral
from divert.records.sessions import book_many
from divert.storage.db import get_engine

# sessions ahead and bookings made "now": the clock stands at clock.MOMENT
pytestmark = pytest.mark.usefixtures("clock")

KEYS = {"offences": "offence_id", "referrals": "referral_id", "sessions": "session_id"}


def same(a: Frames, b: Frames) -> None:
    for name in ("offences", "referrals", "sessions", "stop_search", "population"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.columns == y.columns, name
        assert x.schema == y.schema, name
        order = [KEYS[name]] if name in KEYS else x.columns
        assert x.sort(order, nulls_last=True).equals(y.sort(order, nulls_last=True)), name


@pytest.fixture(scope="module")
def demo_engines(tmp_path_factory):
    """The small demo on each backend, made once: the tests on it only read."""
    engines = {}

    def on(backend: str):
        if backend not in engines:
            folder = tmp_path_factory.mktemp(f"frames-demo-{backend}")
            if (backend == "postgres") == ON_POSTGRES:
                url, _ = demo_url(folder, **SMALL_DEMO)
            else:  # the PostgreSQL case of a SQLite run
                url = migrated_url(folder, postgres=True)
                load_demo(get_engine(url), **SMALL_DEMO)
            engines[backend] = get_engine(url)
        return engines[backend]

    yield on
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(scope="module")
def loaded(demo_engines):
    """The demo's frames as each reader loads them, each read once: "never" in this process,
    "always" in the worker process."""
    frames = {}

    def by(backend: str, mode: str) -> Frames:
        if (backend, mode) not in frames:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv(loading.MODE_ENV, mode)
                frames[backend, mode] = load_frames(demo_engines(backend))
        return frames[backend, mode]

    return by


@pytest.mark.parametrize("mode", ["never", "always"])
def test_a_full_load_matches_the_sql_definitions(backend, demo_engines, loaded, mode):
    frames = loaded(backend, mode)
    assert frames.referrals.height > 100 and frames.sessions.height > 10
    engine = demo_engines(backend)
    defined = {"offences": finish("offences", read(engine, OFFENCES_SQL)),
               "referrals": finish("referrals", read(engine, REFERRALS_SQL)),
               "sessions": read(engine, SESSIONS_SQL)}
    for name, expected in defined.items():
        got = getattr(frames, name).select(expected.columns)
        assert got.schema == expected.schema, name
        assert got.sort(KEYS[name]).equals(expected.sort(KEYS[name])), name
    # a stop-search outcome is words, kept as text (a Categorical: few distinct words), where an offence's is a code
    assert frames.stop_search.schema["outcome"] == pl.Categorical
    assert frames.offences.schema["outcome"] == pl.Int64
    assert not frames.stop_search["outcome"].cast(pl.String).drop_nulls().str.contains(r"^\d+$").any()
    assert frames.stop_search["outcome"].drop_nulls().len() > 0


def test_both_readers_give_the_same_frames(backend, loaded):
    same(loaded(backend, "never"), loaded(backend, "always"))


def test_live_frames_follow_each_write_by_reading_only_what_it_touched(engine, monkeypatch):
    monkeypatch.setenv(loading.MODE_ENV, "never")
    referral(engine, "DIV-1", "C1", person="P1")
    live = LiveFrames(str(engine.url.render_as_string(hide_password=False)))
    assert live.current().referrals.height == 1 and live.last_refresh == {"kind": "full"}

    def check(rows_expected: int):
        now = live.current()
        assert live.last_refresh["kind"] == "records"
        same(now, load_frames(engine))
        assert now.referrals.height == rows_expected
        return now

    referral(engine, "DIV-2", "C2", person="P2", on="2021-03-02")
    check(2)
    assess(engine, "DIV-2")
    assert check(2).referrals.filter(pl.col("reference") == "DIV-2")["assessment_result"][0] == "completed"
    session_id = session(engine, seats=4, starts_at=SOON)
    assess(engine, "DIV-1")
    assert book_many("S1", ["DIV-1", "DIV-2"], USER, engine=engine).ok
    assert check(2).sessions.filter(pl.col("session_id") == session_id)["booked"][0] == 2
    assert close_referral({"referral_reference": "DIV-1", "closed_on": "2021-04-01", "result": "not_engaged",
                                   "intelligence_log_date": "2021-04-02"}, USER, engine=engine).ok
    assert check(2).referrals.filter(pl.col("reference") == "DIV-1")["closure_result"][0] == "not_engaged"
    detail = casework.referral_detail(engine, "DIV-2")
    assert void_referral(detail["id"], "entered twice", USER, detail["version"], engine=engine).ok
    after_void = check(1)
    assert after_void.sessions.filter(pl.col("session_id") == session_id)["booked"][0] == 1
    assert after_void.offences.height == 1  # its offence is void too


def test_a_look_with_no_write_reads_nothing_again(engine, monkeypatch):
    monkeypatch.setenv(loading.MODE_ENV, "never")
    referral(engine, "DIV-1", "C1")
    live = LiveFrames(str(engine.url.render_as_string(hide_password=False)))
    first = live.current()
    assert live.current() is first
    assert live.at(first.referrals["referred_on"][0])[1] is live.at(first.referrals["referred_on"][0])[1]


def test_a_new_app_process_starts_from_the_frame_store_and_catches_up(engine, monkeypatch, tmp_path):
    monkeypatch.setenv(loading.MODE_ENV, "always")  # large-database path: worker and store
    monkeypatch.setenv("DIVERT_FRAMES_DIR", str(tmp_path / "frames"))
    url = engine.url.render_as_string(hide_password=False)
    referral(engine, "DIV-1", "C1", person="P1")
    first = LiveFrames(url)
    first.current()
    assert first.last_refresh == {"kind": "full"}
    referral(engine, "DIV-2", "C2", person="P2", on="2021-03-02")  # after the store was made

    second = LiveFrames(url)  # a new app process (or replica) on the same database
    frames = second.current()
    assert second.last_refresh["kind"] == "store" and second.last_refresh["rows"] >= 1
    same(frames, load_frames(engine))
    assert sorted(frames.referrals["reference"]) == ["DIV-1", "DIV-2"]


def _stored_with_one_referral(engine, monkeypatch, tmp_path) -> str:
    """A frame store (always used) written for a database holding one referral; the URL."""
    monkeypatch.setenv(loading.MODE_ENV, "always")
    monkeypatch.setenv("DIVERT_FRAMES_DIR", str(tmp_path / "frames"))
    url = engine.url.render_as_string(hide_password=False)
    referral(engine, "DIV-1", "C1", person="P1")
    LiveFrames(url).current()
    return url


def test_a_frame_store_from_another_database_is_not_trusted(engine, monkeypatch, tmp_path):
    url = _stored_with_one_referral(engine, monkeypatch, tmp_path)
    root = frame_store.location(engine)  # as if the store were made from another copy of the database:
    stamp_file = root / (root / "current").read_text() / "stamp.json"  # its last event was at another time
    stamp_file.write_text(json.dumps({**json.loads(stamp_file.read_text()), "event_at": "2000-01-01 00:00:00"}))
    again = LiveFrames(url)
    again.current()
    assert again.last_refresh == {"kind": "full"}


def test_a_frame_store_of_another_format_is_not_used(engine, monkeypatch, tmp_path):
    url = _stored_with_one_referral(engine, monkeypatch, tmp_path)
    again = LiveFrames(url)
    again.current()
    assert again.last_refresh["kind"] == "store"
    root = frame_store.location(engine)  # as if an older version had made it, its codes held as text
    stamp_file = root / (root / "current").read_text() / "stamp.json"
    stamp_file.write_text(json.dumps({**json.loads(stamp_file.read_text()), "format": frame_store.FORMAT - 1}))
    third = LiveFrames(url)
    third.current()
    assert third.last_refresh == {"kind": "full"}
    assert third.frames.referrals.schema["area"] == pl.Categorical


def test_publishing_a_store_leaves_a_young_folder_of_another_load_alone(tmp_path):
    """Replicas sharing a store: another's load still being written (young) stays; an old one goes."""
    root = tmp_path / "store"
    theirs, old, mine = (frame_store.new_folder(root) for _ in range(3))
    aged = old.stat().st_mtime - 2 * frame_store.STALE_S
    os.utime(old, (aged, aged))
    frame_store.publish(root, mine, {"event": 1})
    assert (root / "current").read_text() == mine.name
    assert theirs.exists() and mine.exists() and not old.exists()


def test_a_snapshot_in_date_order_is_a_slice_and_equals_one_out_of_order(engine, monkeypatch):
    monkeypatch.setenv(loading.MODE_ENV, "never")
    for n, day in enumerate(("2021-03-15", "2021-01-05", "2021-02-10"), start=1):  # recorded out of date order
        referral(engine, f"DIV-{n}", f"C{n}", person=f"P{n}", on=day)
    frames = load_frames(engine)
    assert frames.referrals["referred_on"].is_sorted() and frames.offences["offence_date"].is_sorted()
    shuffled = replace(frames, offences=frames.offences.reverse(), referrals=frames.referrals.reverse())
    as_of = date(2021, 2, 28)
    kept, again = frames.at(as_of), shuffled.at(as_of)
    assert kept.referrals.height == 2 and kept.offences.height == 2
    assert kept.referrals.equals(frames.referrals.head(2))  # the first rows: what was known then
    for name in ("offences", "referrals"):
        key = KEYS[name]
        assert getattr(kept, name).sort(key).equals(getattr(again, name).sort(key)), name


def test_live_frames_take_an_import_by_its_import_id(engine, monkeypatch):
    from divert.bench.imports import referrals_csv
    from divert.ingest.run import import_files

    monkeypatch.setenv(loading.MODE_ENV, "never")
    referral(engine, "DIV-1", "C1", person="P1")
    live = LiveFrames(engine.url.render_as_string(hide_password=False))
    live.current()
    report = import_files("referrals", [("referrals.csv", referrals_csv(30, engine))], "bench", engine=engine)
    assert report.ok and report.new == 30, report.problems
    frames = live.current()
    assert live.last_refresh["kind"] == "records" and live.last_refresh["rows"] >= 30
    same(frames, load_frames(engine))
    assert frames.referrals.height == 31


def test_a_change_made_outside_the_write_path_is_read_whole(engine, monkeypatch):
    from sqlalchemy import text

    monkeypatch.setenv(loading.MODE_ENV, "never")
    referral(engine, "DIV-1", "C1")
    live = LiveFrames(engine.url.render_as_string(hide_password=False))
    live.current()
    with engine.begin() as conn:  # no audit event says what changed: only the version moved
        conn.execute(text("UPDATE offence SET area = 'E08000026'"))
        conn.execute(text("UPDATE data_version SET version = version + 1"))
    frames = live.current()
    assert live.last_refresh["kind"] == "full"
    assert frames.referrals["area"].to_list() == ["E08000026"]
