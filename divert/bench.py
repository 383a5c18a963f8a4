"""`divert bench`: how long the real paths take on a national-sized data set.

Loads the demo generator at the scale that gives about N referrals into a fresh database (a
temporary SQLite file unless --db is given), then times the analytics loader, every metric,
and an import of a generated offences file, with the peak memory of the process.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REFERRALS_AT_SCALE_1 = 13_600


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(results: list, name: str, fn: Callable, report: Callable[[str], None]):
    started = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - started
    results.append((name, seconds, _peak_mb()))
    report(f"{name:<34} {seconds:9.2f} s   peak {_peak_mb():8.0f} MB")
    return value


def offences_file(rows: int) -> bytes:
    """A valid offences CSV of `rows` rows (synthetic; for the import benchmark)."""
    import numpy as np
    import polars as pl

    from divert import codes

    rng = np.random.default_rng(0)
    areas = list(codes.areas_of(codes.DEFAULT_FORCE))
    n = np.arange(rows)
    frame = pl.DataFrame({
        "crime_ref": [f"BENCH/{i:07d}" for i in n],
        "offence_date": [f"{1 + i % 28:02d}/{1 + i % 12:02d}/2022" for i in n],
        "area": rng.choice(areas, rows),
        "drug": rng.choice(["CAN", "COC", "KET"], rows),
        "source": rng.choice(["stop_search", "custody"], rows),
        "outcome": rng.choice(["1", "3", "8", ""], rows),
        "person_ref": [f"BENCH-P{i // 2}" for i in n],
        "sex": rng.choice(["M", "F"], rows),
        "birth_year": rng.integers(1960, 2005, rows).astype(str),
        "ethnicity_self": rng.choice(["W1", "B1", "A2", "M1", "NS"], rows),
    })
    return frame.write_csv().encode()


def run(referrals: int, db_url: str | None, import_rows: int, report: Callable[[str], None] = print) -> list:
    from divert.analytics.filters import Filters
    from divert.analytics.frames import load_frames
    from divert.analytics.metrics import METRICS
    from divert.db import get_engine, upgrade
    from divert.demo import load_demo
    from divert.ingest.run import import_files

    folder = tempfile.mkdtemp(prefix="divert-bench-")
    url = db_url or f"sqlite:///{Path(folder) / 'bench.db'}"
    upgrade(url)
    engine = get_engine(url)
    scale = referrals / REFERRALS_AT_SCALE_1
    results: list = []
    report(f"Database {url.split('@')[-1]}; demo scale {scale:.2f} for about {referrals:,} referrals")
    summary = _timed(results, "demo load", lambda: load_demo(engine, seed=2020, scale=scale), report)
    report(f"  rows: {', '.join(f'{k} {v:,}' for k, v in summary['counts'].items())}")
    frames = _timed(results, "analytics loader (all frames)", lambda: load_frames(engine), report)
    for name, metric in METRICS.items():
        _timed(results, f"metric {name}", lambda metric=metric: metric(frames, Filters()), report)
    if import_rows:
        content = offences_file(import_rows)
        report_ = _timed(results, f"import {import_rows:,} offences",
                         lambda: import_files("offences", [("bench.csv", content)], "bench", engine=engine),
                         report)
        report(f"  {report_.summary()}")
    engine.dispose()
    return results
