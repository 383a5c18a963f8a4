"""One measure, one name, one number: on one demo at a fixed as-of date, each headline measure is
the same number on the Overview (its read-model and its page), the dashboards that repeat it, the
board pack and `divert metrics`; the capacity banner counts the people the worklist says are
overdue; a viewer's rounded ratio is published with a reading, interval and significance that
agree with what is shown, and no empty cell."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import polars as pl
import pytest
from apptesting import AFTER_DEMO, signed_in
from clock import frozen
from commands import divert
from dbfixtures import DEMO_AS_OF, SMALL_DEMO, demo_url
from hypothesis import given, settings
from hypothesis import strategies as st

from divert import report
from divert.analytics.dashboards import volume
from divert.analytics.dashboards.overview import (
    COMPLIED_LABEL,
    DISPARITY_LABEL,
    ENGAGED_LABEL,
    gated,
    headlines,
)
from divert.analytics.data.filters import Filters
from divert.analytics.data.loading import load_frames
from divert.analytics.equity import disparity
from divert.analytics.impact import model
from divert.analytics.metrics import GATES
from divert.analytics.planning import capacity, queue
from divert.core import wording
from divert.core.disclosure import Gate
from divert.readmodels import worklist
from divert.records import stored_settings
from divert.records.census_rows import ensure_population
from divert.storage.db import get_engine

pytestmark = pytest.mark.usefixtures("navigation_only")
AS_OF = DEMO_AS_OF  # a month end: the default as-of date the morning after (AFTER_DEMO), for every role
START = date(AS_OF.year - 1, AS_OF.month + 1, 1) if AS_OF.month < 12 else date(AS_OF.year, 1, 1)  # the last 12 months
FILTERS = Filters(start=START, end=AS_OF, as_of=AS_OF)
SHARES = {"engaged_share": ENGAGED_LABEL, "completed_share": COMPLIED_LABEL}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url, summary = demo_url(tmp_path_factory.mktemp("one-measure"), **SMALL_DEMO)
    ensure_population(get_engine(url), "test")
    return url, {login["role"]: login["username"] for login in summary["logins"]}


@pytest.fixture(scope="module")
def frames(demo):
    return load_frames(get_engine(demo[0])).at(AS_OF)


@pytest.fixture(scope="module")
def read_model(frames):
    hours = frames.programme.officer_hours_per_referral
    return {h.key: h for h in headlines(frames, FILTERS, hours)}, hours


@pytest.fixture(scope="module")
def packs(demo):
    engine = get_engine(demo[0])
    return {role: report.build_pack(engine, start=START, end=AS_OF, as_of=AS_OF, role=role)
            for role in ("viewer", "manager")}


@pytest.fixture
def page(demo, monkeypatch):
    """A page as a role sees it the morning after the demo ends (its default as-of date: AS_OF)."""
    url, usernames = demo
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)

    def open_page(role, file):
        at = signed_in(usernames[role], file)
        assert not at.exception, at.exception
        return at

    with frozen(AFTER_DEMO):
        yield open_page


def metrics_json(url, *args):
    ran = divert("--db", url, "metrics", *args, "--as-of", AS_OF.isoformat(), "--format", "json")
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def card(at, label) -> str:
    return next(m.value for m in at.metric if m.label == label)


def pack_row(pack, label) -> list[str]:
    table = next(b for b in pack.sections[0].blocks if getattr(b, "key", None) == "overview")
    return next(row for row in table.rows if row[0] == label)


# --- the headline measures ----------------------------------------------------------------------
def test_each_headline_measure_is_one_number_on_the_overview_the_board_pack_and_divert_metrics(demo, read_model, packs):
    rows, hours = read_model
    printed = metrics_json(demo[0], "overview", "--from", START.isoformat(), "--to", AS_OF.isoformat())
    assert printed["as_of"] == AS_OF.isoformat()
    printed = {r["measure"]: r for r in printed["measures"]}
    manager = {h.key: h for h in packs["manager"].headlines}
    viewer = {h.key: h for h in packs["viewer"].headlines}
    gate = Gate("viewer", stored_settings.load(get_engine(demo[0])).small_number_threshold)
    for key in (*SHARES, "disparity"):
        exact = rows[key].value
        assert exact is not None, key
        assert printed[key]["value"] == pytest.approx(exact) and printed[key]["label"] == rows[key].label
        assert manager[key].value == pytest.approx(exact) and manager[key].label == rows[key].label
        assert viewer[key].value == gated(rows[key], gate, hours).value
    assert rows["engaged_share"].label == ENGAGED_LABEL and rows["disparity"].label == DISPARITY_LABEL
    # two different measures, two different names
    labels = [h.label for h in rows.values()]
    assert len(labels) == len(set(labels))


def test_the_pathway_page_and_the_overview_page_show_the_overview_s_shares(page, read_model, packs, demo):
    rows, hours = read_model
    gate = Gate("viewer", stored_settings.load(get_engine(demo[0])).small_number_threshold)
    for role in ("manager", "viewer"):
        shown = {k: rows[k].value if role == "manager" else gated(rows[k], gate, hours).value for k in SHARES}
        overview = page(role, "pages/overview.py")
        pathway = page(role, "pages/pathway.py")
        title = (f"{shown['engaged_share']:.0%} of referrals engaged and {shown['completed_share']:.0%} closed as "
                 "complied")
        assert title in [s.value for s in pathway.subheader], role
        pack = packs[role]
        for key, label in SHARES.items():
            assert card(overview, label) == f"{shown[key]:.0%}", (role, key)
            assert pack_row(pack, label)[1] == f"{shown[key]:.0%}", (role, key)
        ratio = rows["disparity"].value if role == "manager" else gated(rows["disparity"], gate, hours).value
        number = f"{ratio:.2f}" if role == "manager" else f"about {ratio:g}"  # never more digits than were kept
        assert card(overview, DISPARITY_LABEL) == f"{number} times", role
        assert pack_row(pack, DISPARITY_LABEL)[1] == f"{number}x", role


def test_the_launch_jump_is_one_percentage_on_every_page_the_verdict_and_divert_metrics(demo, frames, page):
    offences = Filters(as_of=AS_OF).without_period().apply(frames.offences, "offence_date")
    jump = volume.launch_jump(offences, launch=frames.programme.launch, as_of=AS_OF).row(0, named=True)
    assert jump["change_pct"] is not None
    text = f"{jump['change_pct']:+.0f}%"
    assert metrics_json(demo[0], "volume-change")[0]["change_pct"] == pytest.approx(jump["change_pct"])
    check = model.recording_check(offences, launch=frames.programme.launch, as_of=AS_OF)
    recorded = check.filter(pl.col("measure") == "recorded_offences").row(0, named=True)
    assert recorded["change_pct"] == pytest.approx(jump["change_pct"])
    assert recorded["label"] == volume.LAUNCH_JUMP_LABEL
    assert card(page("manager", "pages/volume.py"), volume.LAUNCH_JUMP_LABEL) == text
    impact_page = page("manager", "pages/impact.py")
    assert f"by {volume.launch_jump_text(jump)}, as on the Volume page" in " ".join(m.value for m in impact_page.markdown)
    table = next(df.value for df in impact_page.dataframe if "Change" in df.value.columns)  # as the page shows it
    assert table.loc[table["Measure"] == "Recorded possession offences", "Change"].iloc[0] == text
    planner = page("manager", "pages/launch_planner.py")
    assert any("This force's own launch jump" in c.value and volume.launch_jump_text(jump) in c.value
               for c in planner.caption)


def test_every_page_says_the_as_of_date_it_shows_and_it_is_the_same_for_every_role(page):
    for role in ("viewer", "manager"):
        at = page(role, "pages/volume.py")
        assert any(c.value.startswith(f"Figures as of {wording.day(AS_OF)}") for c in at.caption), role


# --- the capacity banner and the worklist -------------------------------------------------------
def test_the_capacity_banner_counts_the_people_the_worklist_says_are_overdue(demo, frames):
    engine = get_engine(demo[0])
    targets = stored_settings.load(engine)
    summary = capacity.wait_summary(frames.referrals, AS_OF - timedelta(weeks=4) + timedelta(days=1), AS_OF,
                                    targets.target_days_to_assessment, targets.target_days_to_course)
    row = summary.filter(pl.col("measure") == "to_assessment").row(0, named=True)
    work = worklist.build(engine, AS_OF)
    waiting = work.rows.filter(pl.col("Next action").is_in(
        ["Awaiting first contact", "Contact attempts due", "Assessment due"]))
    overdue = int(waiting["Overdue"].sum())
    assert overdue > 0, "the demo has people past the target: the case the banner got wrong"
    assert row["still_waiting_over_target"] == overdue
    within = (row["within_target"] * (row["people"] + overdue))
    assert within <= row["people"] and round(within) == pytest.approx(within, abs=1e-6)  # the overdue count as missed
    assert row["status"] == ("met" if row["within_target"] >= capacity.MET_SHARE else "breached")
    outlook = type("Outlook", (), {"first_week_over_assessment_target": None, "first_week_over_course_target": None})
    banner = queue.target_warnings(summary, outlook, pl.DataFrame({"weeks_ahead": [1], "week": [AS_OF]}), 4,
                                   targets.target_days_to_assessment, targets.target_days_to_course)[0]
    assert f"the {overdue:,} still waiting past the target" in banner.message
    shown = f"{math.floor(row['within_target'] * 1000) / 10:g}%"  # rounded down: just under the aim never reads 90%
    assert shown in banner.message and "(90%" not in banner.message


# --- a viewer's rounded ratio -------------------------------------------------------------------
def test_a_viewer_s_rounded_ratios_agree_with_their_reading_interval_and_significance(frames):
    full, problem = disparity.disparity_table(frames, "pathway", start=START, end=AS_OF, as_of=AS_OF)
    assert problem is None
    shown = Gate("viewer", 8).table(full, **GATES["disparity:pathway"])
    assert shown["reading"].null_count() == 0 and shown["significant"].null_count() == 0
    for row in shown.iter_rows(named=True):
        consistent(row)


def consistent(row: dict) -> None:
    ratio, low, high = row["rri"], row["ci_low"], row["ci_high"]
    if row["group"] == "White":
        assert row["significant"] == "reference group"
    elif ratio is None:
        assert row["significant"] == row["reading"] or row["significant"] == "no ratio"
        assert low is None and high is None
    else:
        assert f"{ratio:g}" in row["reading"] or row["reading"].startswith(("about the White rate", "none"))
        if low is not None and high is not None:
            assert low <= ratio <= high
            assert row["significant"] == ("yes" if low > 1 or high < 1 else "no")


@settings(max_examples=200, deadline=None)
@given(events=st.integers(0, 400), people=st.integers(1, 400), white=st.integers(1, 2000), extra=st.integers(0, 4000))
def test_a_published_ratio_is_judged_on_the_figures_it_shows(events, people, white, extra):
    """Whatever the counts, the viewer's row reads as its rounded figures say: the reading has the
    rounded ratio, significance is judged on the rounded interval, nothing is left empty."""
    from divert.analytics.stats.ratios import proportion_ratio, reading, significant

    events = min(events, people)
    white_people = white + extra
    ratio, low, high = proportion_ratio(events, people, white, white_people)
    frame = pl.DataFrame({"group": ["Black", "White"], "events": [events, white], "denominator": [people, white_people],
                          "rri": [ratio, 1.0], "ci_low": [low, None], "ci_high": [high, None],
                          "significant": [significant(low, high), None], "reading": [reading(ratio, "Black"),
                                                                                     reading(1.0, "White")]},
                         schema_overrides={"rri": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                                           "significant": pl.Boolean})
    spec = {"counts": ["events", "denominator"],
            "derived": {"rri": ["denominator", "events"], "ci_low": ["denominator", "events"],
                        "ci_high": ["denominator", "events"], "reading": ["denominator", "events"],
                        "significant": ["denominator", "events"]}, "ratio": ("rri", "ci_low", "ci_high")}
    shown = Gate("viewer", 8).table(frame, **spec)
    assert shown["reading"].null_count() == 0 and shown["significant"].null_count() == 0
    for row in shown.iter_rows(named=True):
        consistent(row)
    black = shown.row(0, named=True)
    if ratio is not None and black["rri"] is None:
        assert black["reading"] == "suppressed (fewer than 8 people)"


# --- the default as-of date ---------------------------------------------------------------------
@given(today=st.dates(min_value=date(2000, 1, 2), max_value=date(2100, 1, 1)))
def test_the_default_as_of_date_is_the_last_month_end_before_today(today):
    from divert.analytics.calendar.months import default_as_of
    from divert.report.content import last_month_end, month_end

    chosen = default_as_of(today)
    assert month_end(chosen) and chosen < today
    assert (today - chosen).days <= 31 and not any(month_end(chosen + timedelta(days=d))
                                                   for d in range(1, (today - chosen).days))
    assert chosen == last_month_end(today - timedelta(days=1))  # the board pack's rule
