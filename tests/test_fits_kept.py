"""Model fits kept by their input's content across writes (divert.analytics.data.memo.by_content):
on a real SQLite file with a small demo (records up to yesterday, clock at clock.MOMENT), the
frames kept current by LiveFrames. A referral recorded today changes no complete month: the
Impact page's interrupted time series fits and the equity watch's control charts made before it
are found again on the snapshot after it, while the figures still show the new record. A
referral backdated into a fitted month changes the fits' input: they are made again and the
figures change."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from clock import MOMENT, TODAY, YESTERDAY
from dbfixtures import SMALL_DEMO, demo_url

from divert.analytics.data.filters import Filters
from divert.analytics.data.live import LiveFrames
from divert.analytics.data.memo import forget_by_content
from divert.analytics.stats import control_chart, its
from divert.core.disclosure import Gate
from divert.readmodels import impact_view, watch_view
from divert.records.referrals import add_referral

pytestmark = pytest.mark.usefixtures("clock")
LIVE_DEMO = {**SMALL_DEMO, "as_of": YESTERDAY}
MANAGER = Gate("manager")
BACKDATED = (TODAY - timedelta(days=400)).replace(day=15)  # well inside the fitted months


@pytest.fixture
def live(tmp_path):
    url, _ = demo_url(tmp_path, **LIVE_DEMO)
    forget_by_content()  # what another test left kept must not make these counts
    return LiveFrames(url)


@pytest.fixture
def counted(monkeypatch):
    """How many interrupted-time-series fits and control charts are actually worked out."""
    made = {"fits": 0, "charts": 0}

    def counting(name, module, attribute):
        real = getattr(module, attribute)

        def call(*args, **kwargs):
            made[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, attribute, call)

    counting("fits", its, "residual_correlation")  # called once in every fit made (never for one found again)
    counting("charts", control_chart, "ewma_statistic")
    return made


def referral(live: LiveFrames, number: int, when) -> None:
    values = {"reference": f"KEPT-{number:04d}", "crime_ref": f"KEPT/{number:04d}/26", "offence_date": when.date().isoformat(),
              "referred_at": when.strftime("%Y-%m-%d %H:%M"), "area": "E08000025", "drug": "CAN",
              "source": "stop_search", "person_ref": f"KEPT PERSON {number}", "sex": "M", "birth_year": "1995",
              "ethnicity_self": "W1", "ethnicity_officer": "IC1"}
    saved = add_referral(values, "test", engine=live.engine)
    assert saved.ok, saved.problems


def pages(live: LiveFrames):
    """The Impact page's figures and the equity watch's panels as of today, and the snapshot."""
    filters = Filters(as_of=TODAY)
    _, snapshot = live.at(TODAY)
    shown = impact_view.impact(snapshot, filters, MANAGER)
    assert shown is not None, "the demo has enough months to fit"
    return shown, watch_view.panels(snapshot, filters, MANAGER), snapshot


def last_month_offences(shown) -> int:
    return int(shown.series.sort("month")["offences"][-1])


def test_a_referral_today_finds_the_fits_made_before_it(live, counted):
    before, panels_before, snapshot = pages(live)
    assert counted["fits"] >= 8 and counted["charts"] == 4  # made once: main, sensitivity, groups, gap, recording
    counted.update(fits=0, charts=0)

    referral(live, 1, MOMENT.replace(tzinfo=None))
    after, panels_after, fresh = pages(live)

    assert fresh is not snapshot and fresh.referrals.height == snapshot.referrals.height + 1
    assert counted == {"fits": 0, "charts": 0}  # nothing fitted again
    assert last_month_offences(after) == last_month_offences(before) + 1  # the figures show the new record
    assert after.verdict == before.verdict
    assert after.estimates.equals(before.estimates) and after.gap.equals(before.gap)
    settled = [p.table.filter(~pl.col("provisional")) for p in panels_before]
    assert all(a.table.filter(~pl.col("provisional")).equals(b) for a, b in zip(panels_after, settled, strict=True))


def test_a_referral_backdated_into_a_fitted_month_fits_again_and_moves_the_figures(live, counted):
    before, panels_before, _ = pages(live)
    counted.update(fits=0, charts=0)

    referral(live, 2, MOMENT.replace(tzinfo=None, year=BACKDATED.year, month=BACKDATED.month, day=BACKDATED.day))
    after, panels_after, _ = pages(live)

    assert counted["fits"] >= 1 and counted["charts"] >= 1
    month = BACKDATED.replace(day=1)
    was = before.series.filter(pl.col("month") == month)
    now = after.series.filter(pl.col("month") == month)
    assert now["in_fit"][0] and now["offences"][0] == was["offences"][0] + 1
    assert not after.estimates.equals(before.estimates)  # the fit moved with its input
    assert not all(a.table.equals(b.table) for a, b in zip(panels_after, panels_before, strict=True))
