"""`divert bench`'s browser timing: the real app on a small demo database, opened page by page in
Chromium. The figures are checked for shape only (timings are reported, never asserted); the
bench-timer account must end disabled, and without Chromium the timing is skipped with one line.

The timing runs Playwright in a thread of its own, so it works in whatever order it runs with
the other browser tests (whose Playwright session keeps an asyncio loop in this thread)."""

from __future__ import annotations

import pytest
from browser import demo_database
from dbfixtures import migrated_url

from divert.auth import accounts, sign_in
from divert.bench import chromium, concurrent, drawing
from divert.records import stored_settings
from divert.storage.db import get_engine
from divert.web import access

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory, person_key, demo_day):
    """A copy of the browser tests' demo, for the bench's own app."""
    return demo_database(tmp_path_factory.mktemp("bench-browser"), person_key, demo_day)[0]


def _signs_in(password: str, engine) -> bool:
    outcome = sign_in.attempt(drawing.TIMER, password, "198.51.100.7", prefs=stored_settings.load(engine),
                              engine=engine)
    return outcome.status == "ok"


def test_times_each_page_to_every_chart_drawn(demo_url):
    if chromium.unavailable():  # a missing Chromium fails the browser tests; it never skips them
        pytest.fail(f"browser timing cannot run: {chromium.unavailable()}")
    lines: list[str] = []
    # one page, the shape: the landing page, whose menu link is the app's own address
    result = drawing.time_pages(demo_url, [drawing.LANDING], runs=2, report=lines.append)

    assert set(result) == {drawing.LANDING, drawing.APP_PEAK}, lines
    assert 100 < result.pop(drawing.APP_PEAK) < 4096  # the served app's own peak memory, in MB
    for page, row in result.items():
        assert row["timeouts"] == 0, (page, lines)
        assert row["charts"] > 0, (page, row)
        for key in ("first_s", "warm_s", "address_s"):  # from the menu, and by its address
            assert isinstance(row[key], float) and row[key] > 0, (page, key, row)
        assert isinstance(row["bytes"], int) and row["bytes"] > 0, (page, row)  # the page's deltas and charts
        assert "after_write_s" not in row  # no write was asked for
    table = [line.split() for line in lines]
    assert ["page", "first", "s", "warm", "s", "address", "s", "KB", "sent", "charts", "tables"] in table
    assert any(words[:1] == [drawing.LANDING] and words[-2] == str(result[drawing.LANDING]["charts"]) for words in table)

    account = accounts.get_account(drawing.TIMER, get_engine(demo_url))
    assert account is not None and account.role == "manager" and not account.active


def test_sessions_at_once_through_streamlits_own_protocol(demo_url):
    """`divert bench`'s concurrent sessions (no browser) against the real app: each signed in by its
    cookie, each page run checked to be the page asked for; the account is disabled afterwards."""
    lines: list[str] = []
    result = concurrent.time_sessions(demo_url, ["volume", "overview"], sessions=2, report=lines.append)

    assert result["sessions"] == 2 and result["requests"] == 4, (result, lines)
    assert 0 < result["p50_s"] <= result["p95_s"] <= result["max_s"], result
    assert set(result["pages"]) == {"volume", "overview"}
    assert 100 < result["app_peak_mb"] < 4096  # the served app's own peak memory, in MB
    assert all(row["bytes"] > 0 for row in result["pages"].values()), result
    assert not accounts.get_account(drawing.TIMER, get_engine(demo_url)).active


def test_the_landing_page_is_the_one_whose_menu_link_is_the_apps_address():
    assert access.LANDING == f"pages/{drawing.LANDING}.py"  # the bench clicks the link to "/" for it


def test_the_timer_account_is_usable_only_while_the_timing_runs(demo_url):
    engine = get_engine(demo_url)
    passwords = []
    for _ in range(2):  # the second time the account already exists (disabled by the first)
        password = drawing.open_account(engine)
        assert _signs_in(password, engine)
        assert all(not _signs_in(old, engine) for old in passwords)  # a new password each time
        drawing.close_account(engine, pytest.fail)
        assert not accounts.get_account(drawing.TIMER, engine).active
        assert not _signs_in(password, engine)
        passwords.append(password)
    assert passwords[0] != passwords[1]


def test_without_chromium_the_timing_is_skipped_with_one_line(tmp_path, monkeypatch):
    url = migrated_url(tmp_path)
    monkeypatch.setattr(chromium, "CHROMIUM", str(tmp_path / "no-chromium"))
    lines: list[str] = []

    assert drawing.time_pages(url, ["overview"], report=lines.append) == {}
    assert len(lines) == 1 and "Chromium is missing" in lines[0], lines
    assert accounts.get_account(drawing.TIMER, get_engine(url)) is None  # nothing was written
