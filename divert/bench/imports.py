"""The import benchmark: a synthetic referrals file valid against the database's programme, and
the time `divert import` takes to check and write it (called from divert.bench.command), also on
a PostgreSQL server in a database of its own (`divert bench --pg URL`: measure_import_on_server)."""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable

from divert.records import programme_profile
from divert.reference import census


def referrals_csv(rows: int, engine, run: str = "") -> bytes:
    """A valid referrals CSV of `rows` rows (synthetic): each referral records its offence,
    in the local authorities of the database's programme force, with drugs the programme
    covers and people old enough for it; about two referrals per person. `run` goes into every
    reference, crime reference and person: files of different runs share no record."""
    import numpy as np
    import polars as pl

    from divert.core import codes

    profile = programme_profile.current(engine)
    areas = list(census.areas_of(profile.force)) or ["E08000025"]
    drugs = [d for d, c in codes.DRUG_CLASS.items() if c in profile.drug_classes] or ["CAN"]
    rng = np.random.default_rng(0)
    tag = f"BENCH-{run}-" if run else "BENCH-"
    n = np.arange(rows)
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    year = 2021 + (n // 336) % 3
    hour, minute = rng.integers(8, 20, rows), rng.integers(0, 60, rows)
    youngest = 2000 - max(profile.minimum_age, 18)  # old enough in 2021-2023 for any profile
    frame = pl.DataFrame({
        "reference": [f"{tag}R{i:07d}" for i in n],
        "referred_at": [f"{y}-{m:02d}-{d:02d} {h:02d}:{mi:02d}" for y, m, d, h, mi in zip(year, month, day, hour, minute, strict=True)],
        "referring_team": rng.choice(["North NPT", "South NPT", "Custody"], rows),
        "crime_ref": [f"{tag}C{i:07d}" for i in n],
        "offence_date": [f"{d:02d}/{m:02d}/{y}" for y, m, d in zip(year, month, day, strict=True)],
        "area": rng.choice(areas, rows),
        "drug": rng.choice(drugs, rows),
        "source": rng.choice(["stop_search", "custody"], rows),
        "person_ref": [f"{tag}P{i // 2}" for i in n],
        "sex": rng.choice(["M", "F"], rows),
        "birth_year": rng.integers(1960, youngest, rows).astype(str),
        "ethnicity_self": rng.choice(["W1", "B1", "A2", "M1", "NS"], rows),
    })
    return frame.write_csv().encode()


def measure_import(engine, rows: int = 200_000, user: str = "bench") -> dict:
    """Import a generated referrals file of `rows` new rows through the real import path and time
    it. `user` is the acting user: "bench" is a reserved service actor (not an account), so it
    may import; an account name must be a caseworker or admin.

    Every run's file is new to the database (its own run tag in every reference): a file
    imported before would be all "unchanged", checked but never written, about twice as fast
    (measured at a million: 23,845 rows/s against 14,019 for new rows). A run that did not write
    every row as new gives no rate (None) and says why."""
    from divert.ingest.run import import_files

    content = referrals_csv(rows, engine, run=secrets.token_hex(3))
    started = time.perf_counter()
    report = import_files("referrals", [("bench-referrals.csv", content)], user, engine=engine)
    seconds = time.perf_counter() - started
    written = report.written and report.new == rows
    return {"rows": rows, "new": report.new, "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds) if written and seconds else None, "summary": report.summary()}


def rate(measured: dict) -> str:
    """measure_import's rate in words, or why there is none."""
    if measured["rows_per_s"] is None:
        return f"no rate: not every row was written as new ({measured['summary']})"
    return f"{measured['rows_per_s']:,.0f} rows/s"


def measure_import_on_server(server_url: str, rows: int, demo_scale: float,
                             report: Callable[[str], None] = print) -> dict:
    """measure_import on a PostgreSQL server: a new database of its own (`divert_bench_<random>`,
    made through `server_url`'s database), brought to the newest schema and given the demo at
    `demo_scale` (for its programme profile and rows already in place), then dropped, however
    the timing ends. Returns measure_import's figures and the demo's row counts ("demo")."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from divert.analytics.data import frame_store
    from divert.demo import load_demo
    from divert.storage.db import get_engine, normalise_url, upgrade

    server = make_url(normalise_url(server_url))
    if server.get_backend_name() != "postgresql":
        raise ValueError(f"--pg needs a PostgreSQL URL, not {server.get_backend_name()}")
    name = f"divert_bench_{secrets.token_hex(4)}"
    url = server.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    engine, created = None, False
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created = True
        report(f"  PostgreSQL import: database {name} on {server.host or 'localhost'}; demo at scale {demo_scale:.2f} ...")
        upgrade(url)
        engine = get_engine(url)
        demo = load_demo(engine, seed=2020, scale=demo_scale)
        measured = measure_import(engine, rows)
        report(f"  PostgreSQL import {rows:,} referrals: {rate(measured)}")
        return {**measured, "demo": {k: demo["counts"][k] for k in ("referral", "offence", "stop_search")}}
    finally:
        if engine is not None:
            store = frame_store.location(engine)
            engine.dispose()
            if store is not None:
                shutil.rmtree(store, ignore_errors=True)
        try:
            if created:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()
