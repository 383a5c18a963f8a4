"""Plain English for commissioners: every chart's table and CSV on the dashboard pages has headers
in words (no `rri`, `ci_low`, no underscores), shares as percentages and nothing shown as None or
null; the captions' technical terms are in the Glossary; p-values read "less than 0.001"; the
audit log says who changed what, from what to what, why, to the minute in UK time."""

from __future__ import annotations

import json
import math
from datetime import date, datetime

import polars as pl
import pytest
from apptesting import AFTER_DEMO, signed_in
from clock import LONDON, frozen
from dbfixtures import SMALL_DEMO, demo_url
from hypothesis import given
from hypothesis import strategies as st

from divert.core import glossary, headers
from divert.readmodels import admin_view
from divert.records import audit_log
from divert.records.core import Saved, audit, write

pytestmark = pytest.mark.usefixtures("navigation_only")
PAGES = ["pages/reoffending.py", "pages/disparity.py", "pages/impact.py"]  # the raw names the issue saw; test_charts walks all
RAW = set(headers.HEADERS) | {"rri", "ci_low", "ci_high", "stage_label", "small_group", "p_value", "measure"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The small demo (read only here) and its service manager's username."""
    url, summary = demo_url(tmp_path_factory.mktemp("plain"), **SMALL_DEMO)
    return url, next(login["username"] for login in summary["logins"] if login["role"] == "manager")


@pytest.fixture
def open_page(demo, monkeypatch):
    """A page opened by the demo's service manager, the morning after the demo ends."""
    url, username = demo
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)
    with frozen(AFTER_DEMO):
        def opened(page):
            at = signed_in(username, page)
            assert not at.exception, (page, at.exception)
            return at

        yield opened


@pytest.mark.parametrize("page", PAGES)
def test_every_table_reads_in_words_and_every_term_is_in_the_glossary(open_page, page):
    at = open_page(page)
    tables = [d.value for d in at.dataframe]
    assert tables, page
    for table in tables:
        for name in table.columns:
            assert "_" not in str(name) and str(name) not in RAW, (page, name)
        cells = table.astype(str)
        for bad in ("None", "null", "nan", "NaN"):
            assert not (cells == bad).any().any(), (page, bad, list(table.columns))
    assert any(link.label == "What the terms mean: Glossary" for link in at.get("page_link")), page
    text = " ".join(c.value for c in at.caption) + " " + " ".join(m.value for m in at.markdown)
    used = glossary.mentioned(text)
    assert used, page  # the pages do use technical terms, and each has an entry
    assert [word for word in used if glossary.lookup(word) is None] == []
    if page == "pages/impact.py":  # rows by name, p-values in words
        cells = {str(v) for table in tables for v in table.astype(str).to_numpy().ravel()}
        assert "Recorded possession offences" in cells and "recorded_offences" not in cells
        assert "less than 0.001" in cells
        assert not any("e-" in v and v.replace(".", "").replace("e-", "").isdigit() for v in cells)


def test_the_glossary_page_lists_every_term(open_page):
    at = open_page("pages/glossary.py")
    shown = " ".join(m.value for m in at.markdown)
    assert all(term.plain in shown and term.meaning in shown for term in glossary.TERMS)
    assert all(glossary.lookup(word) for word in glossary.JARGON)


def test_headers_name_every_band_and_never_keep_an_underscore():
    assert headers.header("rri") == "Times as likely (relative rate)"
    assert headers.header("ci_low") == "Lower end of the 95% range"
    assert headers.header("share_of_referred_high") == "Share of those referred: upper end of the 95% range"
    assert headers.header("referrals_lo_80") == "Referrals: lower end of the 80% range"
    assert headers.header("something_new_here") == "Something new here"


def test_a_table_shows_shares_as_percentages_and_missing_as_blank():
    frame = pl.DataFrame({"stage": ["engaged"], "stage_label": ["Engaged"], "share_of_referred": [0.86],
                          "rri": [None], "small_group": [None], "p_value": [2.9e-29], "period": [date(2026, 12, 5)]},
                         schema_overrides={"rri": pl.Float64, "small_group": pl.Boolean})
    shown = headers.plain(frame)
    assert shown.columns == ["Stage", "Share of those referred", "Times as likely (relative rate)",
                             "Fewer than 10 people", "Chance of a change this big by luck alone (p-value)", "Period"]
    assert shown.row(0)[:5] == ("Engaged", "86.0%", "", "", "less than 0.001")
    assert headers.for_csv(shown)["Period"].to_list() == ["5 Dec 2026"]


@given(st.floats(min_value=0, max_value=1, allow_nan=False))
def test_a_p_value_reads_less_than_0_001_or_to_three_places(p):
    shown = headers.p_value(p)
    if p < 0.001:
        assert shown == "less than 0.001"
    else:
        assert len(shown.split(".")[1]) == 3 and abs(float(shown) - p) <= 0.0005 + 1e-12
    assert "e" not in shown.replace("less than", "") and shown.strip()


@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False, width=32)), min_size=1,
                max_size=5))
def test_no_table_cell_reads_none_or_nan(values):
    shown = headers.plain(pl.DataFrame({"share": values, "estimate": values}, schema={"share": pl.Float64,
                                                                                       "estimate": pl.Float64}))
    for value in shown.to_dicts():
        for cell in value.values():
            assert cell is not None and not (isinstance(cell, float) and math.isnan(cell))
            assert str(cell) not in ("None", "null", "nan", "NaN")


def test_the_audit_log_says_who_changed_what_from_what_to_what_and_why_in_uk_time(sqlite_engine):
    def work(s):
        audit(s, "ana", "update", "setting", "small_number_threshold", {"value": 8}, {"value": 10}, "new rule")
        audit(s, "ben", "update", "course_session", "4", {"seats": 12, "starts_on": "2026-07-01"},
              {"seats": 14, "starts_on": "2026-07-08"})
        return Saved(True)

    with frozen(datetime(2026, 7, 1, 14, 3, 30, tzinfo=LONDON)):  # British Summer Time: 13:03 UTC
        assert write(work, session=None, engine=sqlite_engine).ok
    frame, _ = audit_log.events(sqlite_engine)
    entries = {row["Who"]: row for row in admin_view.audit_entries(frame).to_dicts()}
    assert entries["ana"] == {"When (UK time)": "1 Jul 2026 14:03", "Who": "ana",
                              "What they did": "Changed setting #small_number_threshold",
                              "What changed": "Value changed from 8 to 10.", "Why": "new rule"}
    ben = entries["ben"]
    assert ben["What changed"] == "Seats changed from 12 to 14. Starts on changed from 1 Jul 2026 to 8 Jul 2026."
    assert ben["Why"] == ""  # no reason: left out, never "None"
    assert not any("{" in v or "None" in v for row in entries.values() for v in row.values())


def test_an_event_with_details_is_listed_in_words_not_json():
    after = json.dumps({"kind": "board_pack", "period": {"start": "2026-01-01", "end": "2026-03-31"},
                        "generated_at": "2026-12-05T14:03:22.123456+00:00"})
    said = admin_view.change_in_words("export_release", None, after)
    assert said == "Details: kind board pack; period start 1 Jan 2026, end 31 Mar 2026; generated at 5 Dec 2026 14:03."
