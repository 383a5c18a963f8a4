"""The Overview cards: a change within noise is grey (known answers for each test), colour
follows whether the change is good for the measure, and number, change and small line share
one unit and one period."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from divert.analytics.dashboards.overview import (
    Headline,
    change_is_real,
    counts_differ,
    medians_differ,
    ratios_differ,
    shares_differ,
)
from divert.analytics.dashboards.overview_cards import card
from divert.core.disclosure import Gate

MANAGER, VIEWER = Gate("manager"), Gate("viewer")


def test_counts_exact_conditional_poisson_known_answers():
    # 30 against 15 in equal periods: binomial test of 30 of 45 at 1/2, two-sided p = 0.0357
    assert counts_differ(30, 15) is True
    # 20 against 10: p = 0.0987
    assert counts_differ(20, 10) is False
    # 30 in two months against 15 in one: the same rate
    assert counts_differ(30, 15, 2.0, 1.0) is False
    assert counts_differ(0, 0) is None


def test_shares_newcombe_known_answers():
    # Newcombe (1998), Table II: 56/70 - 48/80 = 0.2, 95% interval 0.0524 to 0.3339
    assert shares_differ(56, 70, 48, 80) is True
    # 5/56 - 0/29 = 0.0893, interval -0.0381 to 0.1926: within noise
    assert shares_differ(5, 56, 0, 29) is False
    assert shares_differ(1, 0, 1, 10) is None


def test_ratios_katz_known_answer():
    # 40/100 vs 20/100 (ratio 2, log-variance 0.055) against 30/100 vs 20/100 (ratio 1.5, 0.0633):
    # z = ln(2/1.5) / sqrt(0.1183) = 0.836: within noise; against 18/100 vs 20/100 (ratio 0.9, 0.0856),
    # z = ln(2/0.9) / sqrt(0.1406) = 2.13: real
    assert ratios_differ((100, 40, 100, 20), (100, 30, 100, 20)) is False
    assert ratios_differ((100, 40, 100, 20), (100, 18, 100, 20)) is True
    assert ratios_differ((100, 0, 100, 20), (100, 21, 100, 20)) is None


def test_medians_mood_known_answer():
    assert medians_differ([1, 2, 2, 3, 3, 3, 4] * 5, [6, 7, 7, 8, 9, 9, 10] * 5) is True
    assert medians_differ([1, 2, 3, 4, 5] * 4, [1, 2, 3, 4, 5] * 4) is False


def _trend(values, provisional_last=True):
    months = pl.date_range(date(2025, 1, 1), date(2025, len(values), 1), "1mo", eager=True)
    return pl.DataFrame({"period": months, "value": [None if v is None else float(v) for v in values], "people": [100] * len(values),
                         "events": [10] * len(values),
                         "provisional": [False] * (len(values) - 1) + [provisional_last]})


def headline(**kw) -> Headline:
    base = dict(key="k", label="Label", value=None, previous=None, unit="count", help="Help.", trend=_trend([1, 2, 3]))
    return Headline(**(base | kw))


def test_a_change_within_noise_is_grey_even_for_a_measure_with_a_direction():
    small = headline(unit="days", value=5.3, previous=5.0, better="down", significant=False)
    assert card(small, MANAGER).delta == "+0.3 days" and card(small, MANAGER).delta_color == "off"
    h = headline(unit="days", value=5.0, previous=5.0, better="down", significant=False)
    shown = card(h, MANAGER)
    assert shown.delta == "no change" and shown.delta_color == "off"
    assert change_is_real(h) is False


def test_colour_follows_whether_the_change_is_good_for_the_measure():
    fewer_waits = headline(unit="days", value=4.0, previous=6.0, better="down", significant=True)
    assert card(fewer_waits, MANAGER).delta_color == "inverse"  # a fall, shown green
    engaged = headline(unit="share", value=0.70, previous=0.60, better="up", bases=(1000, 700), previous_bases=(1000, 600))
    assert card(engaged, MANAGER).delta_color == "normal"
    assert card(engaged, MANAGER).delta == "+10.0 percentage points"
    referrals = headline(unit="count", value=500, previous=700, better="none", bases=(500,), previous_bases=(700,))
    assert change_is_real(referrals) is True and card(referrals, MANAGER).delta_color == "off"


def test_charges_card_is_a_month_in_number_change_and_line():
    h = headline(key="charges_change", label="Charges for possession vs pre-launch", unit="pct", value=-65.0,
                 previous=-60.0, better="down", bases=(3000, 120, 400), previous_bases=(3000, 240, 400),
                 months=(12.0, 12.0), trend=_trend([12, 10, 8, 11, 9, 10, 10, 11, 9, 10, 10, 10]))
    shown = card(h, MANAGER)
    assert shown.label == "Charges for possession a month"
    assert shown.value == "10 a month" and shown.delta == "-10 a month"
    assert shown.trend == [12, 10, 8, 11, 9, 10, 10, 11, 9, 10, 10]  # counts a month; the month not over left out
    assert shown.note == "-65% against the year before the launch"
    assert shown.delta_color == "inverse"  # 120 against 240: a real fall, good


@pytest.mark.parametrize("gate", [MANAGER, VIEWER])
def test_a_hidden_figure_shows_a_star(gate):
    h = headline(unit="share", value=None, previous=None, bases=(5, 2), previous_bases=(5, 1))
    assert card(h, gate).value == ("*" if gate is VIEWER else "-")


def test_no_change_is_said_in_words_and_a_hidden_month_drops_the_line():
    h = headline(unit="days", value=5.01, previous=5.04, better="down", significant=False)
    assert card(h, MANAGER).delta == "no change"
    gappy = headline(unit="count", value=100, previous=90, bases=(100,), previous_bases=(90,),
                     trend=_trend([10, None, 12, 11]).with_columns(pl.col("value")))
    assert card(gappy, MANAGER).trend is None
    unknown_yet = headline(unit="count", value=100, previous=90, bases=(100,), previous_bases=(90,),
                           trend=_trend([10, 11, 12, None, None]))
    assert card(unknown_yet, MANAGER).trend == [10, 11, 12]
