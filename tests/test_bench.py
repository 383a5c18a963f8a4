"""`divert bench` checks its own results: every figure it promises (the keys the deployment
guide and CI read) must be a measured, positive number, or the command ends with exit 1 naming
what is missing. CI runs the real command end to end at 20,000 referrals (.ci/run, "bench
smoke"); timings are never asserted, they are for people to read. Here: that check on
hand-built results, the refusals before the long run, the sign-in the concurrent sessions carry
(the app's own check accepts it), how a session tells the page it asked for from the sign-in
form, and (on PostgreSQL) that the --pg import's database is dropped however the timing ends."""

from __future__ import annotations

import pytest
from commands import divert
from dbfixtures import PG_URL, migrated_url
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from divert.auth import accounts, session_token
from divert.bench import command, concurrent, drawing, imports
from divert.core.environment import secret
from divert.storage.db import get_engine, normalise_url


def complete(pages=("overview", "volume")) -> dict:
    """A results.json as a full bench writes it (hand-built)."""
    browser = {p: dict.fromkeys(command.BROWSER_PAGE_FIGURES, 0.8) for p in pages}
    return {"pages": {p: dict.fromkeys(command.PAGE_FIGURES, 0.2) for p in pages},
            "load": {"first_s": 3.0, "cold_s": 4.0}, "write": {"p50_ms": 4.0, "p95_ms": 9.0},
            "import": {"rows_per_s": 25_000.0}, "memory": {"peak_mb": 800.0}, "refresh_after_write_s": 0.4,
            "browser": {**browser, "after_write_s": 0.9}, "concurrent": {"sessions": 10, "p95_s": 2.5}}


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


def test_the_browser_concurrent_cold_and_postgresql_figures_are_named_when_missing():
    pages = ["overview", "volume"]
    gaps = complete()
    gaps["browser"]["volume"]["bytes"] = None
    del gaps["browser"]["overview"]
    gaps["browser"]["after_write_s"] = None
    gaps["load"]["cold_s"] = 0.0
    gaps["concurrent"] = {}
    missing = command.missing_figures(gaps, pages)
    assert set(missing) == {"browser.volume.bytes", "browser.after_write_s", "load.cold_s", "concurrent.sessions",
                            "concurrent.p95_s", *(f"browser.overview.{key}" for key in command.BROWSER_PAGE_FIGURES)}
    # --no-browser: the browser figures are neither written nor demanded; the rest still are
    no_browser = {k: v for k, v in complete().items() if k != "browser"}
    assert command.missing_figures(no_browser, pages, browser=False) == []
    assert command.missing_figures(no_browser, pages) == [
        *(f"browser.{page}.{key}" for page in pages for key in command.BROWSER_PAGE_FIGURES), "browser.after_write_s"]
    # --pg: the import on PostgreSQL is demanded only when asked for
    assert command.missing_figures(complete(), pages, pg=True) == ["import.pg_rows_per_s"]
    with_pg = complete()
    with_pg["import"]["pg_rows_per_s"] = 21_000.0
    assert command.missing_figures(with_pg, pages, pg=True) == []


def test_the_browser_figures_keep_the_worst_page_after_the_write():
    seen = {"overview": {"first_s": 1.5, "warm_s": 0.5, "bytes": 30_000, "charts": 4, "after_write_s": 0.7},
            "volume": {"first_s": 1.9, "warm_s": 0.6, "bytes": 50_000, "charts": 3, "after_write_s": 1.2}}
    figures = command._browser_figures(seen, ["overview", "volume"])
    assert figures == {"overview": {"first_s": 1.5, "warm_s": 0.5, "bytes": 30_000},
                       "volume": {"first_s": 1.9, "warm_s": 0.6, "bytes": 50_000}, "after_write_s": 1.2}
    seen["volume"]["after_write_s"] = None  # a page that timed out after the write: no worst page
    assert command._browser_figures(seen, ["overview", "volume"])["after_write_s"] is None


def test_bench_refuses_nonsense_before_the_long_run(tmp_path):
    for option, value in (("--repeat", "0"), ("--referrals", "0"), ("--import-rows", "-1")):
        done = divert("--db", f"sqlite:///{tmp_path / 'bench.db'}", "bench", option, value, "--no-browser",
                      "--out", str(tmp_path / "results.json"))
        assert done.returncode == 2 and "must be positive" in done.stderr, option
    assert not (tmp_path / "bench.db").exists() and not (tmp_path / "results.json").exists()
    for options, words in ((("--pg", "sqlite:///elsewhere.db"), "PostgreSQL server's URL"),
                           (("--pg", "postgresql://nobody@127.0.0.1:1/x", "--import-rows", "0"), "--import-rows")):
        done = divert("--db", f"sqlite:///{tmp_path / 'bench.db'}", "bench", *options, "--no-browser",
                      "--out", str(tmp_path / "results.json"))
        assert done.returncode == 2 and words in done.stderr, options
    assert not (tmp_path / "bench.db").exists() and not (tmp_path / "results.json").exists()


def test_the_concurrent_sessions_carry_a_sign_in_the_app_accepts(tmp_path):
    engine = get_engine(migrated_url(tmp_path))
    drawing.open_account(engine)
    cookie = concurrent.sign_in_cookie(engine)
    resumed = session_token.resume(cookie, key=secret("cookie_key"), hours=12, engine=engine)
    assert resumed is not None and resumed.username == drawing.TIMER
    drawing.close_account(engine, pytest.fail)  # as when the sessions end: the cookie stops working
    assert session_token.resume(cookie, key=secret("cookie_key"), hours=12, engine=engine) is None
    assert not accounts.get_account(drawing.TIMER, engine).active


def test_a_session_knows_the_page_it_asked_for_from_the_sign_in_form():
    from streamlit.proto.Navigation_pb2 import Navigation

    def navigation(position, hidden: bool, chosen: str) -> Navigation:
        shown = Navigation(position=position, page_script_hash=concurrent.page_hash(chosen))
        for name in ("overview", "volume", "account"):
            shown.app_pages.add(page_script_hash=concurrent.page_hash(name), page_name=name.title(),
                                url_pathname="" if name == "overview" else name, is_hidden=hidden)
        return shown

    assert concurrent._page_shown(navigation(Navigation.SIDEBAR, False, "volume"), "volume") == "volume"
    assert concurrent._page_shown(navigation(Navigation.SIDEBAR, False, "overview"), "overview") == "overview"
    assert concurrent._page_shown(navigation(Navigation.SIDEBAR, False, "overview"), "volume") == "Overview"
    signed_out = concurrent._page_shown(navigation(Navigation.HIDDEN, True, "volume"), "volume")
    assert signed_out != "volume" and "not in a signed-in menu" in signed_out


def _bench_databases() -> set[str]:
    admin = create_engine(make_url(normalise_url(PG_URL)), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return set(conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'divert_bench_%'"))
                       .scalars())
    finally:
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="DIVERT_TEST_DATABASE_URL is not set")
def test_the_postgresql_import_drops_its_database_however_it_ends(monkeypatch):
    before = _bench_databases()
    lines: list[str] = []
    done = imports.measure_import_on_server(PG_URL, 300, 0.05, lines.append)
    assert done["rows"] == 300 and done["rows_per_s"] > 0 and done["summary"], done
    assert done["demo"]["referral"] > 0
    assert _bench_databases() == before

    def fails(engine, rows):
        assert engine.dialect.name == "postgresql"
        raise RuntimeError("the import broke")

    monkeypatch.setattr(imports, "measure_import", fails)
    with pytest.raises(RuntimeError, match="the import broke"):
        imports.measure_import_on_server(PG_URL, 300, 0.05, lines.append)
    assert _bench_databases() == before


def test_the_app_process_peak_memory_is_its_own_not_its_parents():
    """A process started by a large one reports its own peak (the bench's app process had
    carried over the 2.4 GB of the cold load that ran before it in the parent)."""
    import subprocess
    import sys

    from divert.bench.served import peak_mb

    held = bytearray(400 * 2**20)
    held[:: 4096] = b"\1" * len(range(0, len(held), 4096))  # every page touched: resident
    assert peak_mb() > 400
    child = subprocess.run([sys.executable, "-c", "from divert.bench.served import peak_mb; print(peak_mb())"],
                           capture_output=True, text=True, check=True)
    assert float(child.stdout) < 200
    del held
