"""`divert bench`: how long the real paths take on a national-sized data set.

Builds the demo at the size that gives about N referrals (a temporary SQLite file unless --db is
given; a database that already holds the demo is used as it is), then:
1. reads it whole once (the cold load, which leaves the frame store);
2. in a separate app process (divert.bench.pages): the first load as an app process starts, every
   dashboard page (first, warm, floor), writes with the dashboards cached and the refresh after
   each, and a validated import of a generated referrals file;
3. the common approach for comparison: pandas.read_sql of whole tables, then pandas groupbys;
4. the browser (divert.bench.drawing; not with --no-browser): the time from opening each dashboard
   to all its charts drawn, first and warm, the bytes the server sent for it, and after one write
   the worst page's time to its first drawing;
5. SESSIONS signed-in sessions opening the dashboards at the same moment through Streamlit's own
   protocol (divert.bench.concurrent, a process of its own);
6. with --pg URL: the same import in a new database on that PostgreSQL server (dropped after).
The app's peak memory (memory.peak_mb) is the highest of the app process of step 2 and the app
served in steps 4 and 5, each its own (VmHWM: divert.bench.served.peak_mb).

Prints a table against the targets and writes results.json: the figures named by PAGE_FIGURES,
BROWSER_PAGE_FIGURES, RESULT_FIGURES and missing_figures, no other keys (details.json has the rest).
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
PG_DEMO_REFERRALS = 20_000  # the demo under the --pg import (at most; building it costs more than the import)
TARGETS = {"warm_s": 0.3, "ratio_floor": 2.0, "speedup_pandas": 10.0, "load_first_s": 5.0, "load_cold_s": 5.0,
           "refresh_after_write_s": 1.0, "write_p95_ms": 50.0, "import_rows_per_s": 20_000, "peak_mb": 2048,
           "browser_warm_s": 1.0, "browser_first_s": 2.0, "browser_after_write_s": 1.0, "concurrent_p95_s": 3.0}
DEFAULT_OUT = Path("bench") / "results.json"
# results.json: exactly these keys, every figure a measured number (the deployment guide and CI read them)
PAGE_FIGURES = ("first_s", "warm_s", "floor_s", "pandas_s", "ratio_floor", "speedup_pandas")
BROWSER_PAGE_FIGURES = ("first_s", "warm_s", "bytes")  # browser.<page>.<key>; also browser.after_write_s
RESULT_FIGURES = {"load": ("first_s", "cold_s"), "write": ("p50_ms", "p95_ms"), "import": ("rows_per_s",),
                  "memory": ("peak_mb",), "concurrent": ("sessions", "p95_s")}


def missing_figures(results: dict, pages: list[str], imported: bool = True, browser: bool = True,
                    pg: bool = False) -> list[str]:
    """What the bench promised and did not measure: each as "pages.volume.warm_s" (empty when
    every figure is there as a positive number). `imported`: an import was asked for;
    `browser`: the browser timing (browser.<page>.* and browser.after_write_s); `pg`: the
    import on PostgreSQL (import.pg_rows_per_s)."""
    def measured(value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and value > 0

    def figure(path: str):
        value = results
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return value

    wanted = [f"pages.{page}.{key}" for page in pages for key in PAGE_FIGURES]
    for group, keys in RESULT_FIGURES.items():
        if group == "import" and not imported:
            continue
        wanted += [f"{group}.{key}" for key in keys]
    wanted.append("refresh_after_write_s")
    if browser:
        wanted += [f"browser.{page}.{key}" for page in pages for key in BROWSER_PAGE_FIGURES]
        wanted.append("browser.after_write_s")
    if pg:
        wanted.append("import.pg_rows_per_s")
    return [path for path in wanted if not measured(figure(path))]


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


def _child(module: str, order: dict, report) -> dict | None:
    """`python -m module` given `order` (JSON on stdin); its JSON answer (the last line of its
    stdout), or None when it failed. Its indented stderr lines are reported as they come."""
    with subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as child:
        child.stdin.write(json.dumps(order))
        child.stdin.close()
        for line in child.stderr:
            if line.startswith("  "):
                report(line.rstrip())
        output = child.stdout.read()
        child.wait()
    if child.returncode or not output.strip():
        return None
    return json.loads(output.strip().splitlines()[-1])


def _app_process(url: str, import_rows: int, report, repeat: int = 3) -> dict:
    app = _child("divert.bench.pages", {"url": url, "import_rows": import_rows, "repeat": repeat}, report)
    if app is None:
        raise RuntimeError("The app process of the bench failed; see the lines above")
    return app


def _concurrent(url: str, pages: list[str], report) -> dict | None:
    from divert.bench.concurrent import SESSIONS

    done = _child("divert.bench.concurrent", {"url": url, "pages": pages, "sessions": SESSIONS}, report)
    if done is None:
        report("  The concurrent sessions failed (see the lines above): their figures are missing.")
    return done


def _pg_import(pg_url: str, referrals: int, import_rows: int, report) -> dict | None:
    from divert.bench.imports import measure_import_on_server

    try:
        return measure_import_on_server(pg_url, import_rows, min(referrals, PG_DEMO_REFERRALS) / REFERRALS_AT_SCALE_1,
                                        report)
    except Exception as error:  # noqa: BLE001 - reported, and its figure named as missing
        report(f"  The import on PostgreSQL failed: {type(error).__name__}: {(str(error).splitlines() or [''])[0]}")
        return None


def run(referrals: int, db_url: str | None, import_rows: int, out: Path | None = DEFAULT_OUT,
        browser: bool = True, report: Callable[[str], None] = print, repeat: int = 3,
        pg_url: str | None = None) -> dict:
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
        from divert.bench.pages import record_bench_referral

        seen = time_pages(url, list(PAGES), report=report, after_write=lambda: record_bench_referral(engine))
    concurrent = _concurrent(url, list(PAGES), report)
    pg_import = _pg_import(pg_url, referrals, import_rows, report) if pg_url else None

    pages = {}
    for name, timing in app["pages"].items():
        warm, floor, slow = timing["warm_s"], timing["floor_s"], pandas[name]
        pages[name] = {"first_s": timing["first_s"], "warm_s": warm, "floor_s": floor, "pandas_s": slow,
                       "ratio_floor": warm / floor if floor else None, "speedup_pandas": slow / warm if warm else None}
    results = {
        "pages": pages,
        "load": {"first_s": app["load_first_s"], "cold_s": cold_s},
        "write": {"p50_ms": 1000 * _percentile(app["writes"], 0.5), "p95_ms": 1000 * _percentile(app["writes"], 0.95)},
        "import": {"rows_per_s": app["import"]["rows_per_s"] if app.get("import") else None},
        "memory": {"peak_mb": _peak(app, seen, concurrent, report)},
        "refresh_after_write_s": max(app["refreshes"]),
    }
    if pg_url:
        results["import"]["pg_rows_per_s"] = pg_import["rows_per_s"] if pg_import else None
    if browser:
        results["browser"] = _browser_figures(seen, list(PAGES))
    results["concurrent"] = {"sessions": concurrent["sessions"], "p95_s": concurrent["p95_s"]} if concurrent else {}
    details = {"rows": counts, "cold_load_s": cold_s, "first_load": app["store"], "refreshes_s": app["refreshes"],
               "import": app.get("import"), "pg_import": pg_import, "browser": seen, "concurrent": concurrent,
               "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
               "database": url.split("@")[-1].split("///")[0]}
    _table(results, details, report)
    missing = missing_figures(results, list(PAGES), imported=bool(import_rows), browser=browser, pg=bool(pg_url))
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


def _peak(app: dict, seen: dict, concurrent: dict | None, report) -> float:
    """The app's peak memory: the highest of the bench's app process (every page, the writes and
    the import) and the served app under the browser and under the concurrent sessions."""
    from divert.bench.drawing import APP_PEAK

    peaks = {"app process (pages, writes, import)": app["peak_mb"], "served app, browser": seen.get(APP_PEAK),
             "served app, concurrent sessions": (concurrent or {}).get("app_peak_mb")}
    report("  peak memory: " + "; ".join(f"{k} {v:,.0f} MB" for k, v in peaks.items() if v))
    return max(v for v in peaks.values() if v)


def _browser_figures(seen: dict[str, dict], pages: list[str]) -> dict:
    """results["browser"]: each page's first_s, warm_s and bytes, and after_write_s, the worst
    page's time after the write (None when any page was not timed after it)."""
    figures = {name: {key: seen.get(name, {}).get(key) for key in BROWSER_PAGE_FIGURES} for name in pages}
    after = [seen.get(name, {}).get("after_write_s") for name in pages]
    figures["after_write_s"] = None if not after or None in after else max(after)
    return figures


class IncompleteBench(RuntimeError):
    """The bench ran but did not measure every figure it promises (missing_figures)."""


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def _at_most(value, target) -> bool | None:
    return None if value is None else value <= target


def _table(results: dict, details: dict, report) -> None:
    report("")
    report(f"{'page':<12} {'first s':>8} {'warm s':>8} {'floor s':>8} {'pandas s':>9} {'warm/floor':>10} "
           f"{'x pandas':>9}  target")
    for name, p in results["pages"].items():
        ok = p["warm_s"] < TARGETS["warm_s"] and (p["ratio_floor"] or 0) <= TARGETS["ratio_floor"] \
            and (p["speedup_pandas"] or 0) >= TARGETS["speedup_pandas"]
        report(f"{name:<12} {p['first_s']:8.2f} {p['warm_s']:8.3f} {p['floor_s']:8.3f} {p['pandas_s']:9.2f} "
               f"{p['ratio_floor']:10.2f} {p['speedup_pandas']:9.0f}  {_mark(ok)}")
    browser = results.get("browser")
    if browser is not None:
        report("")
        report(f"{'in Chromium':<12} {'first s':>8} {'warm s':>8} {'KB sent':>9}  target: first <= 2 s, warm <= 1 s")
        for name in results["pages"]:
            b = browser.get(name, {})
            first, warm, sent = b.get("first_s"), b.get("warm_s"), b.get("bytes")
            ok = None if first is None or warm is None else \
                first <= TARGETS["browser_first_s"] and warm <= TARGETS["browser_warm_s"]
            report(f"{name:<12} {'-' if first is None else f'{first:.2f}':>8} {'-' if warm is None else f'{warm:.2f}':>8} "
                   f"{'-' if sent is None else f'{sent / 1024:,.0f}':>9}  {_mark(ok)}")
    imported, pg = results["import"]["rows_per_s"], results["import"].get("pg_rows_per_s", "absent")
    concurrent = results.get("concurrent") or {}
    rows = [
        ("first load (app start) s", results["load"]["first_s"], "< 5", results["load"]["first_s"] < TARGETS["load_first_s"]),
        ("cold load (no frame store) s", results["load"]["cold_s"], "<= 5", _at_most(results["load"]["cold_s"], TARGETS["load_cold_s"])),
        ("refresh after a write s (worst)", results["refresh_after_write_s"], "< 1",
         results["refresh_after_write_s"] < TARGETS["refresh_after_write_s"]),
        ("write p50 ms", results["write"]["p50_ms"], "", None),
        ("write p95 ms", results["write"]["p95_ms"], "< 50", results["write"]["p95_ms"] < TARGETS["write_p95_ms"]),
        ("import rows/s", imported, ">= 20,000", None if imported is None else imported >= TARGETS["import_rows_per_s"]),
    ]
    if pg != "absent":
        rows.append(("import rows/s on PostgreSQL", pg, ">= 20,000", None if pg is None else pg >= TARGETS["import_rows_per_s"]))
    if browser is not None:
        rows.append(("browser: a page after a write s (worst)", browser.get("after_write_s"), "<= 1",
                     _at_most(browser.get("after_write_s"), TARGETS["browser_after_write_s"])))
    rows += [
        (f"{concurrent.get('sessions') or '-'} sessions at once: page p95 s", concurrent.get("p95_s"), "<= 3",
         _at_most(concurrent.get("p95_s"), TARGETS["concurrent_p95_s"])),
        ("app peak memory MB", results["memory"]["peak_mb"], "< 2,048", results["memory"]["peak_mb"] < TARGETS["peak_mb"]),
    ]
    report("")
    for label, value, target, ok in rows:
        shown = "-" if value is None else f"{value:,.2f}"
        report(f"{label:<40} {shown:>12} {target:>10}  {_mark(ok) if target else ''}")
