"""`divert bench`: how long the real paths take on a national-sized data set.

Builds the demo at the size that gives about N referrals (a temporary SQLite file unless --db is
given; a database that already holds the demo is used as it is), then:
1. reads it whole once (the cold load, which leaves the frame store);
2. in a separate app process (divert.bench.pages): the first load as an app process starts, every
   dashboard page (first, warm, floor), writes with the dashboards cached and the refresh after
   each, and a validated import of a generated referrals file; its peak memory is the app's;
3. the common approach for comparison: pandas.read_sql of whole tables, then pandas groupbys;
4. the browser: the time from opening each dashboard to all its charts drawn (reported only).

Prints a table against the targets and writes results.json (keys in RESULT_KEYS).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REFERRALS_AT_SCALE_1 = 16_500  # referrals the demo makes at scale 1 (measured: 1,210,044 at scale 73.5)
TARGETS = {"warm_s": 0.3, "ratio_floor": 2.0, "speedup_pandas": 10.0, "load_first_s": 5.0,
           "refresh_after_write_s": 1.0, "write_p95_ms": 50.0, "import_rows_per_s": 20_000, "peak_mb": 2048}
DEFAULT_OUT = Path("bench") / "results.json"
# results.json: exactly these keys, every figure a measured number (the deployment guide and CI read them)
PAGE_FIGURES = ("first_s", "warm_s", "floor_s", "pandas_s", "ratio_floor", "speedup_pandas")
RESULT_FIGURES = {"load": ("first_s",), "write": ("p50_ms", "p95_ms"), "import": ("rows_per_s",),
                  "memory": ("peak_mb",)}


def missing_figures(results: dict, pages: list[str], imported: bool = True) -> list[str]:
    """What the bench promised and did not measure: each as "pages.volume.warm_s" (empty when
    every figure is there as a positive number). `imported`: an import was asked for."""
    def measured(value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and value > 0

    missing = [f"pages.{page}.{key}" for page in pages for key in PAGE_FIGURES
               if not measured((results.get("pages") or {}).get(page, {}).get(key))]
    for group, keys in RESULT_FIGURES.items():
        if group == "import" and not imported:
            continue
        missing += [f"{group}.{key}" for key in keys if not measured((results.get(group) or {}).get(key))]
    if not measured(results.get("refresh_after_write_s")):
        missing.append("refresh_after_write_s")
    return missing


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _demo(engine, referrals: int, report) -> dict:
    from sqlalchemy import text

    from divert.demo import load_demo

    with engine.connect() as conn:
        loaded = conn.execute(text("SELECT value FROM setting WHERE key = 'demo'")).scalar()
        counts = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
                  for t in ("referral", "offence", "stop_search")} if loaded else None
    if loaded:
        report(f"The database already holds the demo: {', '.join(f'{k} {v:,}' for k, v in counts.items())}")
        return counts
    scale = referrals / REFERRALS_AT_SCALE_1
    report(f"Building the demo at scale {scale:.2f} for about {referrals:,} referrals...")
    started = time.perf_counter()
    summary = load_demo(engine, seed=2020, scale=scale)
    report(f"  demo load {time.perf_counter() - started:.1f} s; rows: "
           f"{', '.join(f'{k} {v:,}' for k, v in summary['counts'].items())}")
    return {k: summary["counts"][k] for k in ("referral", "offence", "stop_search")}


def _app_process(url: str, import_rows: int, report, repeat: int = 3) -> dict:
    order = json.dumps({"url": url, "import_rows": import_rows, "repeat": repeat})
    with subprocess.Popen([sys.executable, "-m", "divert.bench.pages"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as child:
        child.stdin.write(order)
        child.stdin.close()
        for line in child.stderr:
            if line.startswith("  "):
                report(line.rstrip())
        output = child.stdout.read()
        child.wait()
    if child.returncode:
        raise RuntimeError(f"The app process of the bench failed (exit {child.returncode}); see the lines above")
    return json.loads(output.strip().splitlines()[-1])


def run(referrals: int, db_url: str | None, import_rows: int, out: Path | None = DEFAULT_OUT,
        browser: bool = True, report: Callable[[str], None] = print, repeat: int = 3) -> dict:
    from divert.analytics.data import frame_store
    from divert.analytics.data.live import LiveFrames
    from divert.bench.pages import PAGES, pandas_times
    from divert.storage.db import get_engine, upgrade

    folder = tempfile.mkdtemp(prefix="divert-bench-")
    url = db_url or f"sqlite:///{Path(folder) / 'bench.db'}"
    upgrade(url)
    engine = get_engine(url)
    report(f"Database {url.split('@')[-1]}")
    counts = _demo(engine, referrals, report)

    store = frame_store.location(engine)
    if store is not None:
        shutil.rmtree(store, ignore_errors=True)  # a cold load reads every table
    started = time.perf_counter()
    cold = LiveFrames(url)
    cold.current()
    cold_s = time.perf_counter() - started
    report(f"  cold load (every table read, frame store written) {cold_s:.2f} s")
    del cold

    app = _app_process(url, import_rows, report, repeat)
    if import_rows:  # the import's rows are in the database now: bring the frame store up to them
        started = time.perf_counter()
        LiveFrames(url).current()
        report(f"  frame store brought up to date after the import {time.perf_counter() - started:.2f} s")
    pandas = pandas_times(url, report)
    seen = {}
    if browser:
        from divert.bench.drawing import time_pages

        seen = time_pages(url, list(PAGES), report=report)

    pages = {}
    for name, timing in app["pages"].items():
        warm, floor, slow = timing["warm_s"], timing["floor_s"], pandas[name]
        pages[name] = {"first_s": timing["first_s"], "warm_s": warm, "floor_s": floor, "pandas_s": slow,
                       "ratio_floor": warm / floor if floor else None, "speedup_pandas": slow / warm if warm else None}
    results = {
        "pages": pages,
        "load": {"first_s": app["load_first_s"]},
        "write": {"p50_ms": 1000 * _percentile(app["writes"], 0.5), "p95_ms": 1000 * _percentile(app["writes"], 0.95)},
        "import": {"rows_per_s": app["import"]["rows_per_s"] if app.get("import") else None},
        "memory": {"peak_mb": app["peak_mb"]},
        "refresh_after_write_s": max(app["refreshes"]),
    }
    details = {"rows": counts, "cold_load_s": cold_s, "first_load": app["store"], "refreshes_s": app["refreshes"],
               "import": app.get("import"), "browser": seen, "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
               "database": url.split("@")[-1].split("///")[0]}
    _table(results, details, report)
    missing = missing_figures(results, list(PAGES), imported=bool(import_rows))
    if missing:
        report("Not measured (the bench is incomplete): " + ", ".join(missing))
    results_ok = not missing
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
        out.with_name("details.json").write_text(json.dumps(details, indent=2, default=str))
        report(f"Written: {out} (and {out.with_name('details.json')})")
    engine.dispose()
    if not results_ok:
        raise IncompleteBench(missing)
    return results


class IncompleteBench(RuntimeError):
    """The bench ran but did not measure every figure it promises (missing_figures)."""


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def _table(results: dict, details: dict, report) -> None:
    report("")
    report(f"{'page':<12} {'first s':>8} {'warm s':>8} {'floor s':>8} {'pandas s':>9} {'warm/floor':>10} "
           f"{'x pandas':>9} {'browser s':>9}  target")
    for name, p in results["pages"].items():
        seen = details["browser"].get(name, {}).get("warm_s") if details["browser"] else None
        ok = p["warm_s"] < TARGETS["warm_s"] and (p["ratio_floor"] or 0) <= TARGETS["ratio_floor"] \
            and (p["speedup_pandas"] or 0) >= TARGETS["speedup_pandas"]
        report(f"{name:<12} {p['first_s']:8.2f} {p['warm_s']:8.3f} {p['floor_s']:8.3f} {p['pandas_s']:9.2f} "
               f"{p['ratio_floor']:10.2f} {p['speedup_pandas']:9.0f} {seen if seen is not None else '-':>9}  {_mark(ok)}")
    rows = [
        ("first load (app start) s", results["load"]["first_s"], "< 5", results["load"]["first_s"] < TARGETS["load_first_s"]),
        ("cold load (no frame store) s", details["cold_load_s"], "(reported)", None),
        ("refresh after a write s (worst)", results["refresh_after_write_s"], "< 1",
         results["refresh_after_write_s"] < TARGETS["refresh_after_write_s"]),
        ("write p50 ms", results["write"]["p50_ms"], "", None),
        ("write p95 ms", results["write"]["p95_ms"], "< 50", results["write"]["p95_ms"] < TARGETS["write_p95_ms"]),
        ("import rows/s", results["import"]["rows_per_s"], ">= 20,000",
         None if results["import"]["rows_per_s"] is None else results["import"]["rows_per_s"] >= TARGETS["import_rows_per_s"]),
        ("app peak memory MB", results["memory"]["peak_mb"], "< 2,048", results["memory"]["peak_mb"] < TARGETS["peak_mb"]),
    ]
    report("")
    for label, value, target, ok in rows:
        shown = "-" if value is None else f"{value:,.2f}"
        report(f"{label:<34} {shown:>12} {target:>10}  {_mark(ok) if target else ''}")
