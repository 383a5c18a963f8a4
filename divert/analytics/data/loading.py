"""Reading the whole database into frames, fast: each table's columns read as they are stored
(no joins in the database), then joined and aggregated in polars.

The joins here give exactly what OFFENCES_SQL, REFERRALS_SQL and SESSIONS_SQL in
divert.analytics.data.frames define (the tests compare the two on the demo data); those queries
stay the definition, and refresh a few changed rows after a write (divert.analytics.data.live).

A small database is read in this process through SQLAlchemy. A large one is read column by
column with connectorx (Arrow, in Rust, two to four tables at a time, the largest first) in a worker process: for
SQLite, connectorx carries its own SQLite library, and two SQLite libraries must never open the
same file in one process (closing a file drops every POSIX lock the process holds on it, so a
writer in another thread could lose its lock). The worker also keeps the memory of the
reading and joining out of the app process; it is replaced after every load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from divert.analytics.data.frames import (
    FRAMES,
    POPULATION_SQL,
    STOP_SEARCH_SQL,
    Frames,
    _types,
    finish,
    last_import,
    read,
)
from divert.reference.programme import Programme

# Above this many offences, referrals and stop-search rows together, the worker process reads.
COLUMNAR_FROM_ROWS = 50_000
MODE_ENV = "DIVERT_COLUMNAR_LOAD"  # "always" or "never" overrides the size rule (tests, bench)

TABLES = {
    "person": "SELECT id, sex, ethnicity_self, ethnicity_officer FROM person",
    "offence": "SELECT id, force, offence_date, area, drug, source, outcome, outcome_date, age, person_id "
               "FROM offence WHERE void_at IS NULL",
    "referral": "SELECT id, reference, force, offence_id, person_id, referred_at, status, repeat, eligibility "
                "FROM referral WHERE void_at IS NULL",
    "assessment": "SELECT referral_id, contact_attempts, first_contact_at, completed_at, result, allocation, worker "
                  "FROM assessment",
    "booking": "SELECT referral_id, session_id, booked_at, status FROM booking",
    "course_session": "SELECT id, session_ref, starts_at, seats, mode, facilitator FROM course_session "
                      "WHERE void_at IS NULL",
    "closure": "SELECT referral_id, closed_on, result, intelligence_log_date, onward_treatment FROM closure",
}
# The worker's reading order: the longest reads first, so that no thread is left reading a large table
# alone at the end (stop-search rows were read last: about a fifth of the cold load on two cores).
LARGEST_FIRST = ("stop_search", "offence", "person", "referral", "assessment", "closure", "booking")
COMPRESSION = "lz4"  # Parquet files: an eighth of the frames' size, read back in parallel
TEXTS = {"stop_search": ("outcome",)}  # words, where the offence table's outcome is a code
HELD = ("attended", "completed")
SEATED = ("booked", "attended", "completed", "no_show")


def build(raw: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The offences, referrals and sessions frames from the tables' own columns (typed by
    frames._types). Same rows and columns as the SQL definitions, in any order."""
    person = raw["person"].rename({"id": "person_id"})
    offence = raw["offence"].rename({"id": "offence_id"})
    sessions = raw["course_session"].rename({"id": "session_id"})
    live_referrals = raw["referral"].select(pl.col("id").alias("referral_id"))

    offences = offence.join(person, on="person_id", how="left")

    booked = raw["booking"].filter(pl.col("status") != "cancelled").join(
        sessions.select("session_id", "starts_at"), on="session_id", how="inner")
    bookings = booked.group_by("referral_id").agg(
        pl.col("booked_at").min().alias("first_booked_at"),
        pl.col("starts_at").min().alias("first_session_at"),
        pl.col("starts_at").filter(pl.col("status").is_in(HELD)).min().alias("attended_at"),
        pl.col("starts_at").filter(pl.col("status") == "completed").min().alias("course_completed_at"),
        (pl.col("status") == "no_show").sum().cast(pl.Int64).alias("no_shows"),
    )
    referrals = (
        raw["referral"].rename({"id": "referral_id"})
        .join(offence.select("offence_id", "offence_date", "area", "drug", "source", "age"), on="offence_id")
        .join(person, on="person_id")
        .join(raw["assessment"].rename({"completed_at": "assessed_at", "result": "assessment_result"}),
              on="referral_id", how="left")
        .join(bookings, on="referral_id", how="left")
        .join(raw["closure"].rename({"result": "closure_result"}), on="referral_id", how="left")
    )

    counted = raw["booking"].join(live_referrals, on="referral_id", how="semi").group_by("session_id").agg(
        pl.col("status").is_in(SEATED).sum().cast(pl.Int64).alias("booked"),
        pl.col("status").is_in(HELD).sum().cast(pl.Int64).alias("attended"),
    )
    sessions = sessions.join(counted, on="session_id", how="left").with_columns(
        pl.col("booked").fill_null(0), pl.col("attended").fill_null(0))
    return {"offences": finish("offences", offences), "referrals": finish("referrals", referrals), "sessions": sessions}


def load_frames(engine: Engine, programme: Programme | None = None, folder: Path | None = None) -> Frames:
    """Everything recorded (voided records left out), read as the tables' own columns and
    joined in polars; a large database is read in a worker process, which leaves the frames in
    `folder` when given (the frame store)."""
    from divert.records import programme_profile as profile

    extra = {"stop_search": STOP_SEARCH_SQL, "population": POPULATION_SQL}
    if folder is not None or columnar(engine):
        built = load_columnar(engine.url.render_as_string(hide_password=False), extra, folder)
    else:
        raw = read_raw(engine, extra)
        built = {**build(raw), **{name: finish(name, raw[name]) for name in extra}}
    return Frames(**{name: built[name] for name in FRAMES},
                  programme=programme or profile.current(engine), last_import=last_import(engine))


def read_raw(engine: Engine, extra: dict[str, str]) -> dict[str, pl.DataFrame]:
    """Every table in this process, through SQLAlchemy (small databases)."""
    return {name: read(engine, sql, TEXTS.get(name, ())) for name, sql in {**TABLES, **extra}.items()}


def columnar(engine: Engine) -> bool:
    mode = os.environ.get(MODE_ENV, "")
    if mode in ("always", "never"):
        return mode == "always"
    with engine.connect() as conn:
        rows = sum(conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar() or 0
                   for table in ("offence", "referral", "stop_search"))
    return rows >= COLUMNAR_FROM_ROWS


def load_columnar(url: str, extra: dict[str, str], folder: Path | None = None) -> dict[str, pl.DataFrame]:
    """Read and build in a fresh worker process (`python -m divert.analytics.data.loading`, told what
    to read on its standard input so that no password shows in a process list), which leaves
    each frame as a Parquet file in `folder` (the frame store's new folder), or else in a private
    temporary folder (in memory where /dev/shm is)."""
    if folder is not None:
        return _run_worker(url, extra, folder)
    shared = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="divert-load-", dir=shared) as temporary:
        return _run_worker(url, extra, Path(temporary))


def _run_worker(url: str, extra: dict[str, str], folder: Path) -> dict[str, pl.DataFrame]:
    order = json.dumps({"url": connectorx_url(url), "extra": extra, "folder": str(folder)})
    done = subprocess.run([sys.executable, "-m", "divert.analytics.data.loading"], input=order, text=True,
                          capture_output=True, check=False)
    if done.returncode:
        raise RuntimeError(f"The analytics loader failed: {done.stderr.strip()[-2000:]}")
    return {path.stem: pl.read_parquet(path) for path in folder.glob("*.parquet")}


def connectorx_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite://{parsed.database}"
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _worker(url: str, extra: dict[str, str]) -> dict[str, pl.DataFrame]:
    import connectorx

    def one(name: str) -> pl.DataFrame:
        arrow = connectorx.read_sql(url, queries[name], return_type="arrow")
        return _types(pl.from_arrow(arrow), TEXTS.get(name, ()))

    queries = {**TABLES, **extra}
    order = sorted(queries, key=lambda name: LARGEST_FIRST.index(name) if name in LARGEST_FIRST else len(LARGEST_FIRST))
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as threads:
        raw = dict(zip(order, threads.map(one, order), strict=True))
    return {**build(raw), **{name: finish(name, raw[name]) for name in extra}}


def _main() -> None:
    order = json.loads(sys.stdin.read())
    for name, frame in _worker(order["url"], order["extra"]).items():
        frame.write_parquet(Path(order["folder"]) / f"{name}.parquet", compression=COMPRESSION, statistics=False)


if __name__ == "__main__":
    _main()
