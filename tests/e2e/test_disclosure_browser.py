"""Attacks on small-number suppression, as an OPCC viewer would make them against the running
app: read what the server sends (decoded from the websocket), not what the page shows, and try
each known way of getting a hidden count back. None may succeed."""

from __future__ import annotations

import math
import re
from datetime import timedelta

import pytest
from browser import sign_in, visit
from playwright.sync_api import expect
from wire import listen

from divert.records.referrals import add_referral

pytestmark = [pytest.mark.e2e]
THRESHOLD = 8
DASHBOARDS = ("overview", "volume", "pathway", "outcomes", "disparity", "reoffending")
COUNTS = {"count", "offences", "referrals", "people", "searches", "finds", "agree", "events", "denominator",
          "reoffended", "repeats", "intelligence_logs", "formal_outcomes", "count_before", "count_after",
          "offences_before", "offences_after", "formal_before", "formal_after", "value_count"}
# figures made from counts: (figure, the counts it is made from)
DERIVED = [("rate", ("referrals", "reoffended")), ("find_rate", ("searches", "finds")), ("agreement", ("searches", "agree")),
           ("median_days", ("people",)), ("p90_days", ("people",)), ("share_before", ("offences_before", "count_before")),
           ("share_after", ("offences_after", "count_after")), ("repeat_share", ("referrals", "repeats")),
           ("share_of_referred", ("people",)), ("formal_share", ("offences", "formal_outcomes"))]


def month_ends(demo_day):
    """The last two month ends before today (the data ends yesterday, `demo_day`)."""
    last = (demo_day + timedelta(days=1)).replace(day=1) - timedelta(days=1)
    return last, last.replace(day=1) - timedelta(days=1)


def published(value) -> bool:
    """A count a viewer may receive: hidden, zero, or at least the threshold and rounded to 5."""
    if isinstance(value, str):
        if value == "*" or not value.replace(",", "").isdigit():
            return True  # hidden, or a column of that name holding words (a denominator described)
        value = int(value.replace(",", ""))
    return value is None or value == 0 or (value >= THRESHOLD and value % 5 == 0)


def check_tables(wire):
    for table in wire.tables:
        assert "dropped" not in table.columns and "change_pct" not in table.columns, table.columns
        for column in set(table.columns) & COUNTS:
            bad = [v for v in table[column].to_list() if not (isinstance(v, float) and math.isnan(v)) and not published(v)]
            assert not bad, (column, bad, table.head())
        for figure, bases in DERIVED:
            if figure not in table.columns:
                continue
            for row in table.iter_rows(named=True):
                if any(b in row and row[b] in (None, "*") for b in bases):
                    assert row[figure] is None, (figure, row)  # no rate next to a hidden count


def check_metrics(wire):
    for metric in wire.metrics:
        if metric.label in ("Referrals", "Onward referrals into treatment"):
            assert metric.body == "*" or published(int(metric.body.replace(",", ""))), metric.body
            assert all(published(v) for v in metric.chart_data), (metric.label, list(metric.chart_data))
        if metric.label == "Officer hours released" and metric.body not in ("-", "*"):
            hours = int(re.sub(r"[^0-9]", "", metric.body))
            assert hours % 20 == 0, metric.body  # rounded referrals x 4 h, never exact referrals x 4


def test_a_viewer_on_narrow_filters_receives_no_small_count(demo_app, page):
    wire = listen(page)
    sign_in(page, demo_app, "viewer", path="/account", lands_on="My account")
    for path in DASHBOARDS:
        wire.clear()
        visit(page, demo_app, f"/{path}?ethnic_group=Black&period=All time")
        assert wire.tables or path == "overview", f"{path}: no data was sent"
        check_tables(wire)
        check_metrics(wire)
    assert not any("Kaplan" in t and "at_risk" in t for t in wire.texts)


def test_nested_filters_that_leave_out_a_few_people_are_refused(demo_app, page):
    wire = listen(page)
    sign_in(page, demo_app, "viewer", path="/account", lands_on="My account")
    for path in ("volume", "pathway"):
        wire.clear()
        visit(page, demo_app, f"/{path}?area=E08000029&sex=X&period=All time")
        assert any("fewer than 8 people" in t for t in wire.texts), wire.texts
        assert not wire.tables  # nothing drawn, no data sent (the landing page's gated headlines aside)
        check_metrics(wire)


def test_neighbouring_periods_cannot_be_subtracted(demo_app, page, demo_day):
    """Two month-end as-of dates a month apart (a viewer's default, the last month end, and the
    one before): every count in both is rounded to 5, so their difference is a multiple of 5
    whatever the month's true count (never the count itself)."""
    wire = listen(page)
    sign_in(page, demo_app, "viewer", path="/account", lands_on="My account")
    totals = []
    for query in ("", f"as_of={month_ends(demo_day)[1]:%Y-%m-%d}"):
        wire.clear()
        visit(page, demo_app, f"/volume?{query}")
        check_tables(wire)
        monthly = next(t for t in wire.tables if {"period", "offences"} <= set(t.columns))
        totals.append(sum(v for v in monthly["offences"].to_list() if v))
    assert all(total % 5 == 0 for total in totals)


def test_a_viewer_cannot_choose_a_custom_period_or_a_mid_month_as_of(demo_app, page, demo_day):
    last = month_ends(demo_day)[0]
    start, end, mid = last.replace(day=1), last.replace(day=15), last.replace(day=14)  # all in the data
    sign_in(page, demo_app, "viewer", path="/account", lands_on="My account")
    visit(page, demo_app, f"/volume?start={start:%Y-%m-%d}&end={end:%Y-%m-%d}&as_of={mid:%Y-%m-%d}")
    expect(page.get_by_text("From - to")).to_have_count(0)
    as_of = page.get_by_test_id("stSidebar").get_by_text("As of (month end)")
    expect(as_of).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text(f"{mid.day} {mid:%B %Y}")).to_have_count(0)


def test_stored_and_linked_text_is_shown_as_text(demo_app, page):

    beacon = f"http://127.0.0.1:{demo_app.port}/beacon.png"
    saved = add_referral({  # a reference of this test's own, on the shared app
        "reference": "ATTACK-1", "crime_ref": "ATTACK/1", "offence_date": "2025-06-01", "referred_at": "2025-06-01 10:00",
        "area": "E08000025", "drug": "CAN", "source": "stop_search", "person_ref": "attack person", "sex": "M",
        "birth_year": "1990", "referring_team": f"![x]({beacon})",
    }, "test", engine=demo_app.engine())
    assert saved.ok, saved.problems
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, demo_app, "caseworker", path="/account", lands_on="My account")
    visit(page, demo_app, "/find_referral?referral=ATTACK-1")
    expect(page.get_by_text("![x](", exact=False).first).to_be_visible()
    assert not any("beacon.png" in url for url in requested)
    visit(page, demo_app, "/find_referral?referral=[click here](http://example.org/steal)")
    warning = page.get_by_test_id("stAlert").filter(has_text="No referral")
    expect(warning).to_be_visible()
    expect(page.get_by_test_id("stMain").locator("a[href*='example.org']")).to_have_count(0)
    expect(page.get_by_text("Reference given: [click here](http://example.org/steal)")).to_be_visible()
