"""`divert bench` checks its own results: every figure it promises (the keys the deployment
guide and CI read) must be a measured, positive number, or the command ends with exit 1 naming
what is missing. CI runs the real command end to end at 20,000 referrals (.ci/run, "bench
smoke"); timings are never asserted, they are for people to read. Here: that check on
hand-built results, and the refusals before the long run."""

from __future__ import annotations

from commands import divert

from divert.bench import command


def complete(pages=("overview", "volume")) -> dict:
    """A results.json as a full bench writes it (hand-built)."""
    return {"pages": {p: dict.fromkeys(command.PAGE_FIGURES, 0.2) for p in pages}, "load": {"first_s": 3.0},
            "write": {"p50_ms": 4.0, "p95_ms": 9.0}, "import": {"rows_per_s": 25_000.0}, "memory": {"peak_mb": 800.0},
            "refresh_after_write_s": 0.4}


def test_a_figure_the_bench_did_not_measure_is_named():
    """`divert bench` checks its own results before it ends (CI runs it at 20,000 referrals and
    fails on exit 1): every promised figure a positive number, for every page."""
    pages = ["overview", "volume"]
    assert command.missing_figures(complete(), pages) == []
    gaps = complete()
    gaps["pages"]["volume"]["warm_s"] = None
    gaps["memory"] = {}
    gaps["refresh_after_write_s"] = 0
    del gaps["pages"]["overview"]
    missing = command.missing_figures(gaps, pages)
    assert "pages.volume.warm_s" in missing and "memory.peak_mb" in missing and "refresh_after_write_s" in missing
    assert {f"pages.overview.{key}" for key in command.PAGE_FIGURES} <= set(missing)
    no_import = complete()
    no_import["import"] = {"rows_per_s": None}
    assert command.missing_figures(no_import, pages, imported=False) == []
    assert command.missing_figures(no_import, pages) == ["import.rows_per_s"]
    assert command.missing_figures({**complete(), "write": {"p50_ms": True, "p95_ms": 9.0}}, pages) == ["write.p50_ms"]


def test_bench_refuses_nonsense_before_the_long_run(tmp_path):
    for option, value in (("--repeat", "0"), ("--referrals", "0"), ("--import-rows", "-1")):
        done = divert("--db", f"sqlite:///{tmp_path / 'bench.db'}", "bench", option, value, "--no-browser",
                      "--out", str(tmp_path / "results.json"))
        assert done.returncode == 2 and "must be positive" in done.stderr, option
    assert not (tmp_path / "bench.db").exists() and not (tmp_path / "results.json").exists()
