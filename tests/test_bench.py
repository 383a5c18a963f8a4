"""`divert bench` end to end on a small demo (the real command, in process, on a real SQLite
file; its app side runs in a process of its own, as always): it writes results.json with exactly
the keys the deployment guide and CI read, every figure a measured number. Timings are never
asserted here; they are for people to read. One timed run of each page (`--repeat 1`) is enough
to check the figures are all there; a real bench keeps the median of three."""

from __future__ import annotations

import json

from commands import divert

PAGE_KEYS = {"first_s", "warm_s", "floor_s", "pandas_s", "ratio_floor", "speedup_pandas"}
PAGES = {"overview", "volume", "pathway", "outcomes", "disparity", "reoffending", "impact", "watch", "capacity",
         "forecast"}


def test_bench_writes_every_figure_it_promises(tmp_path):
    out = tmp_path / "bench" / "results.json"
    done = divert("--db", f"sqlite:///{tmp_path / 'bench.db'}", "bench", "--referrals", "400", "--import-rows", "500",
                  "--no-browser", "--repeat", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert set(results) == {"pages", "load", "write", "import", "memory", "refresh_after_write_s"}
    assert set(results["pages"]) == PAGES
    for page, figures in results["pages"].items():
        assert set(figures) == PAGE_KEYS, page
        assert all(isinstance(v, float) and v > 0 for v in figures.values()), (page, figures)
        assert abs(figures["ratio_floor"] - figures["warm_s"] / figures["floor_s"]) < 1e-9
        assert abs(figures["speedup_pandas"] - figures["pandas_s"] / figures["warm_s"]) < 1e-9
    assert set(results["load"]) == {"first_s"} and results["load"]["first_s"] > 0
    assert set(results["write"]) == {"p50_ms", "p95_ms"} and 0 < results["write"]["p50_ms"] <= results["write"]["p95_ms"]
    assert set(results["import"]) == {"rows_per_s"} and results["import"]["rows_per_s"] > 0
    assert set(results["memory"]) == {"peak_mb"} and results["memory"]["peak_mb"] > 100
    assert results["refresh_after_write_s"] > 0
    details = json.loads(out.with_name("details.json").read_text())
    assert details["import"]["rows"] == 500 and details["rows"]["referral"] > 100
    # the table printed for people, with the targets
    assert "warm/floor" in done.stdout and "write p95 ms" in done.stdout and "import rows/s" in done.stdout


def test_bench_refuses_nonsense_before_the_long_run(tmp_path):
    for option, value in (("--repeat", "0"), ("--referrals", "0"), ("--import-rows", "-1")):
        done = divert("--db", f"sqlite:///{tmp_path / 'bench.db'}", "bench", option, value, "--no-browser",
                      "--out", str(tmp_path / "results.json"))
        assert done.returncode == 2 and "must be positive" in done.stderr, option
    assert not (tmp_path / "bench.db").exists() and not (tmp_path / "results.json").exists()
