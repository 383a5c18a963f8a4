"""The disclosure audit (divert.intruder): planted weaknesses are each caught, naming the cells that
give them away; a table with no hidden cell raises no alarm; the command attacks a small demo in
process, keeps its result, and the public release follows it.

The tables here are made by the real gate (divert.core.disclosure.Gate) from hand-built counts and
read by the real surface (divert.intruder.surface), so each weakness is planted the way a page
would plant it: a gate call without secondary suppression, a share declared without the count it
is made from, two overlapping periods, a subtotal published beside a table."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from commands import divert
from dbfixtures import SMALL_DEMO, demo_url
from hypothesis import given, settings
from hypothesis import strategies as st

from divert.core.disclosure import Gate
from divert.intruder import attack as intruder
from divert.intruder.surface import INDEX, Surface, ratio_bounds
from divert.records import disclosure_audits
from divert.storage.db import get_engine

VIEWER = Gate("viewer", threshold=8, base=5)


def offences(groups: dict[str, int], **columns) -> tuple[Surface, pl.DataFrame]:
    """A surface over hand-built offences: `groups` gives how many offences each group has."""
    rows = [{"offence_id": i, "group": g} for i, g in enumerate(g for g, n in groups.items() for _ in range(n))]
    frame = pl.DataFrame(rows, schema={"offence_id": pl.Int64, "group": pl.String})
    frames = SimpleNamespace(offences=frame, referrals=pl.DataFrame(schema={"referral_id": pl.Int64}))
    surface = Surface(frames)
    return surface, surface.records("offences", frame)


def table(surface: Surface, records: pl.DataFrame, name: str, groups: list[str], *, across=None, with_total=True,
          where="as of 2026-11-30; no filter", derived=None, extra=None):
    """The groups' counts (and a total row) through the gate, read by the surface."""
    counted = records.filter(pl.col("group").is_in(groups)).select(INDEX, "group")
    if with_total:
        counted = pl.concat([counted, counted.with_columns(pl.lit("total").alias("group"))])
    exact = counted.group_by("group").len(name="count").with_columns(pl.col("count").cast(pl.Int64))
    keys = [*groups, *(["total"] if with_total else [])]
    exact = pl.DataFrame({"group": keys}).join(exact, on="group", how="left").fill_null(0)
    if extra is not None:
        exact = extra(exact)
    shown = VIEWER.table(exact, ["count"], derived, across=across)
    cells = surface.counts(name, where, shown, exact, ["group"], {"count": counted}, VIEWER)
    return shown, exact, cells


def audit(surface: Surface) -> intruder.Findings:
    return intruder.attack(surface.figures, surface.members, surface.n_records, surface.ratios, VIEWER.base - 1,
                           VIEWER.threshold)


def leaked(findings: intruder.Findings) -> dict[str, intruder.Range]:
    return {name: r for r in findings.leaks for name in r.figures}


# --- planted weaknesses ---------------------------------------------------------------------------
def test_secondary_suppression_off_is_caught_with_the_total_that_gives_it_away():
    """1, 13 and 13 offences, 27 in all: without secondary suppression the 1 is hidden, each 13
    shown as 15 (13 to 17) and the total as 25 (23 to 27), so the hidden count is at most
    27 - 13 - 13 = 1."""
    surface, records = offences({"A": 1, "B": 13, "C": 13})
    shown, _, _ = table(surface, records, "offences by group", ["A", "B", "C"], across=None)
    assert shown["count"].to_list() == [None, 15, 15, 25]
    found = audit(surface)
    leak = leaked(found)["offences by group [as of 2026-11-30; no filter] group A: count"]
    assert (leak.low, leak.high, leak.width) == (0, 1, 1) and leak.needed == 4
    assert "offences by group [as of 2026-11-30; no filter] group total: count" in leak.given_away_by
    assert "offences by group [as of 2026-11-30; no filter] group B: count" in leak.given_away_by


def test_a_share_published_beside_a_hidden_count_is_caught():
    """5 of 40 referrals engaged: the count is hidden, but a share declared without it as a base
    is shown (0.1, so 0.095 to 0.15 of 38 to 42): 4 to 6, narrower than a rounded count."""
    surface, records = offences({"engaged": 5, "not engaged": 35})
    counted = records.select(INDEX, "group")
    both = pl.concat([counted.filter(pl.col("group") == "engaged").with_columns(pl.lit("engaged").alias("what")),
                      counted.with_columns(pl.lit("referrals").alias("what"))])
    exact = pl.DataFrame({"what": ["all"], "engaged": [5], "referrals": [40], "share": [5 / 40]})
    shown = VIEWER.table(exact, ["engaged", "referrals"], {"share": ["referrals"]})  # the planted mistake
    assert shown["engaged"][0] is None and shown["share"][0] == 0.1
    rows = {c: both.filter(pl.col("what") == c).select(INDEX, pl.lit("all").alias("what")) for c in ("engaged", "referrals")}
    cells = surface.counts("engagement", "as of 2026-11-30", shown, exact, ["what"], rows, VIEWER)
    surface.ratio("engagement", "as of 2026-11-30", "share engaged", cells[("all", "engaged")],
                  cells[("all", "referrals")], shown["share"][0], 40)
    leak = leaked(audit(surface))["engagement [as of 2026-11-30] what all: engaged"]
    assert 3.6 <= leak.low and leak.high <= 6.31 and leak.width < 4  # whole values: 4 to 6
    assert "engagement [as of 2026-11-30] share engaged" in leak.given_away_by


def test_two_overlapping_periods_are_differenced():
    """1 offence in January, 13 in February and 13 in March. Each period's months are gated on
    their own: in January-March the 1 is hidden with February (the total, 27 shown as 25, less
    February and March would give it back), but February-March shows both months (15 each, 13
    to 17). The January-March total less those two is at most 27 - 13 - 13 = 1."""
    surface, records = offences({"2026-01": 1, "2026-02": 13, "2026-03": 13})
    months = records.select(INDEX, pl.col("group"))
    for where, first in (("Jan-Mar", "2026-01"), ("Feb-Mar", "2026-02")):
        part = months.filter(pl.col("group") >= first)
        exact = part.group_by("group").len("count").sort("group").with_columns(pl.col("count").cast(pl.Int64))
        monthly = VIEWER.table(exact, ["count"], across=[[]])
        surface.counts("offences a month", where, monthly, exact, ["group"], {"count": part}, VIEWER)
        total = pl.DataFrame({"group": ["total"], "count": [part.height]})
        surface.counts("offences in the period", where, VIEWER.table(total, ["count"]), total, ["group"],
                       {"count": part.with_columns(pl.lit("total").alias("group"))}, VIEWER)
    leak = leaked(audit(surface))["offences a month [Jan-Mar] group 2026-01: count"]
    assert leak.high <= 1 and leak.width < 4
    assert {"offences in the period [Jan-Mar] group total: count",
            "offences a month [Feb-Mar] group 2026-02: count"} <= set(leak.given_away_by)


def test_a_total_over_a_hidden_cell_is_caught():
    """A table with secondary suppression (1 and 8 hidden, each 13 shown as 15 (13 to 17): with
    the total 35 shown as 35, the 1 alone would be at most 37 - 13 - 13 - 8 = 3), and beside it a
    subtotal of the 1 and the two 13s (27, shown 25): the 1 is at most 27 - 13 - 13 = 1."""
    surface, records = offences({"A": 1, "B": 8, "C": 13, "D": 13})
    groups = ["A", "B", "C", "D"]
    shown, _, _ = table(surface, records, "offences by group", groups, across=[[]], with_total=False)
    table(surface, records, "all offences", groups, where="total",
          extra=lambda exact: exact.filter(pl.col("group") == "total"))  # the table's total, published elsewhere
    assert shown["count"].to_list() == [None, None, 15, 15]
    table(surface, records, "offences in A, C or D", ["A", "C", "D"], with_total=True, where="subtotal")
    found = leaked(audit(surface))
    leak = found["offences by group [as of 2026-11-30; no filter] group A: count"]
    assert leak.high <= 1 and "offences in A, C or D [subtotal] group total: count" in leak.given_away_by


# --- no false alarm -------------------------------------------------------------------------------
def test_a_table_with_no_hidden_cell_raises_no_alarm():
    surface, records = offences({"A": 30, "B": 42, "C": 9})
    shown, _, _ = table(surface, records, "offences by group", ["A", "B", "C"], across=[[]])
    assert shown["count"].null_count() == 0
    found = audit(surface)
    assert found.leaks == [] and found.ranges == [] and found.narrowest is None


def test_a_well_protected_table_passes_and_reports_its_narrowest_range():
    """3 hidden beside 30, 40 and 45 (total 118, shown 120): the rounded figures leave it 1 to 13,
    so it stands alone, and nothing else narrows it."""
    surface, records = offences({"A": 3, "B": 30, "C": 40, "D": 45})
    table(surface, records, "offences by group", ["A", "B", "C", "D"], across=[[]])
    found = audit(surface)
    assert found.leaks == [] and len(found.ranges) == 1
    assert found.narrowest.figures[0].endswith("group A: count") and found.narrowest.width >= 4


@settings(max_examples=60, deadline=None)
@given(value=st.floats(0.0001, 1000, allow_nan=False), people=st.integers(8, 5000))
def test_a_rounded_figure_s_interval_holds_every_value_that_rounds_to_it(value, people):
    """ratio_bounds never leaves out a true value the gate could have shown as it did (the
    intruder is never given a constraint that is false)."""
    shown = VIEWER.derived(value, people)
    low, high = ratio_bounds(shown, people)
    assert low - 1e-12 <= value <= high + 1e-12


# --- the command on a small demo ------------------------------------------------------------------
AS_OF = SMALL_DEMO["as_of"]


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    url, _ = demo_url(tmp_path_factory.mktemp("audit"), **SMALL_DEMO)
    return url


@pytest.fixture
def fewer_tables(monkeypatch):
    """One builder (the Volume page's months), no filter or one sex, no release (read on its own
    below): the command runs every view, hidden count and program of them in a few seconds."""
    from divert.intruder import run, tables

    monkeypatch.setattr(run, "BUILDERS", {"volume": tables.BUILDERS["volume"]})
    monkeypatch.setattr(run, "filter_choices", lambda frames: [{}, {"sex": "M"}, {"sex": "F"}, {"sex": "X"}])
    monkeypatch.setattr(run, "release_figures", lambda *args, **kwargs: 0)


@pytest.mark.usefixtures("fewer_tables")
def test_the_command_attacks_a_demo_keeps_its_result_and_the_release_follows_it(small_demo, tmp_path):
    ran = divert("--db", small_demo, "disclosure", "audit", "--as-of", str(AS_OF), "--format", "json")
    assert ran.returncode in (0, 1), ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["as_of"] == [str(AS_OF)] and summary["views"] + summary["refused_views"] == 20
    assert summary["hidden_attacked"] > 0 and summary["narrowest"]["cell"]
    assert (ran.returncode == 0) == summary["passed"] == (summary["leaks"] == [])
    for leak in summary["leaks"]:  # each leak names the cells published and those that give it away
        assert leak["cells"] and leak["given_away_by"] and leak["width"] < summary["protection"]
    engine = get_engine(small_demo)
    kept = disclosure_audits.last(engine)
    assert kept["passed"] == summary["passed"] and disclosure_audits.current(kept, engine)
    release = divert("--db", small_demo, "export", tmp_path / "public", "--public", "--as-of", str(AS_OF))
    if summary["passed"]:
        assert release.returncode == 0, release.stderr
    else:
        assert release.returncode == 1 and "could be worked out" in release.stderr
        assert not (tmp_path / "public").exists()
        anyway = divert("--db", small_demo, "export", tmp_path / "anyway", "--public", "--as-of", str(AS_OF),
                        "--without-audit", "a test of the override")
        assert anyway.returncode == 0 and "a test of the override" in anyway.stderr
    other = divert("--db", small_demo, "export", tmp_path / "other", "--public", "--as-of", "2025-08-31")
    assert other.returncode == 1 and ("not 31 Aug 2025" in other.stderr or "changed since" in other.stderr
                                      or "could be worked out" in other.stderr)


@pytest.mark.usefixtures("fewer_tables")
def test_the_text_report_names_what_was_attacked(small_demo):
    ran = divert("--db", small_demo, "disclosure", "audit", "--as-of", str(AS_OF))
    assert "hidden counts attacked" in ran.stdout and "narrowest range found" in ran.stdout
    assert ("PASSED" in ran.stdout) == (ran.returncode == 0) and ("LEAKS" in ran.stdout) == (ran.returncode == 1)


@pytest.mark.usefixtures("fewer_tables")
def test_the_programs_solved_at_once_find_what_one_after_another_find(small_demo, monkeypatch):
    """The hidden counts' programs are solved on every core at once (intruder.WORKERS, one HiGHS
    each): the ranges, leaks and programs are those of one thread solving them in turn."""
    from divert.analytics.data.loading import load_frames
    from divert.intruder import run

    frames = load_frames(get_engine(small_demo))

    def ranges(workers: int) -> tuple[list, int]:
        monkeypatch.setattr(intruder, "WORKERS", workers)
        found = run.run(frames, [AS_OF], release=False).findings
        return [(r.figures, r.low, r.high, r.leak) for r in found.ranges], found.programs

    alone = ranges(1)
    assert alone[1] > 0 and ranges(4) == alone


def test_the_command_refuses_bad_dates_and_roles(small_demo):
    assert divert("--db", small_demo, "disclosure", "audit", "--as-of", "30/09/2025").returncode == 2
    assert divert("--db", small_demo, "disclosure", "audit", "--as-of", "2999-01-31").returncode == 2
    assert divert("--db", small_demo, "disclosure", "audit", "--role", "manager").returncode == 2


def test_a_release_without_an_audit_is_refused_with_the_reason(small_demo, tmp_path):
    engine = get_engine(small_demo)
    problem = disclosure_audits.release_problem(date(2025, 9, 30), engine)
    if disclosure_audits.last(engine) is None:
        assert "no disclosure audit has been run" in problem
    ran = divert("--db", small_demo, "export", tmp_path / "x", "--without-audit", "not a release")
    assert ran.returncode == 2 and "--without-audit applies to a public release" in ran.stderr


def test_findings_ignore_records_no_figure_counts():
    surface, records = offences({"A": 1, "B": 13, "C": 13, "D": 50})
    table(surface, records, "offences by group", ["A", "B", "C"], across=None)
    found = audit(surface)
    assert found.atoms == 3 and np.isfinite(found.leaks[0].high)


# --- the gate fix the audit found: named periods from a month end are whole months ----------------
@settings(max_examples=80, deadline=None)
@given(month=st.dates(date(2019, 1, 1), date(2030, 12, 1)).map(lambda d: d.replace(day=1)),
       period=st.sampled_from(["Last 12 months", "Last 6 months", "Last 3 months"]))
def test_a_named_period_from_a_month_end_is_whole_calendar_months(month, period):
    """From 30 November the last 3 months started on 31 August: a one-day slice of August,
    published beside the whole of August in a longer period, gave the day's counts away by
    difference (the audit found a count of 1 pinned so). They start on the 1st now."""
    from divert.analytics.calendar.months import month_end, period_bounds

    as_of = month_end(month)
    start, end = period_bounds(period, as_of, date(2020, 10, 1))
    months = int(period.split()[1])
    assert start.day == 1 and end == as_of
    assert (end.year - start.year) * 12 + end.month - start.month + 1 == months


def test_the_release_is_read_cell_by_cell_with_the_records_each_counts(small_demo):
    """Every cell of the public release, with its records: each set has the cell's true count
    (the surface checks it) and each suppressed cell is known only to be at least 1."""
    from divert.analytics.data.loading import load_frames
    from divert.intruder.release import release_figures

    frames = load_frames(get_engine(small_demo))
    surface = Surface(frames)
    cells = release_figures(surface, frames, AS_OF, force=frames.programme.force, launch=frames.programme.launch)
    assert cells == len(surface.figures) > 100
    for figure, members in zip(surface.figures, surface.members, strict=True):
        assert figure.exact == len(members), figure.name
        assert figure.low <= figure.exact <= figure.high
        assert (figure.low, figure.high) == (1, float("inf")) if figure.hidden else figure.low >= 0


# --- records that could exist -----------------------------------------------------------------------
def test_the_intruder_is_not_told_which_combinations_occur():
    """One offence by a person of sex X, in area A, which holds 27 offences (shown 25: 23-27) of
    which 13 are men's and 13 women's (each shown 15: 13-17); area B holds 40 men's. Built from
    the real records only, the X offence could only be in A, so X is at most 27 - 13 - 13 = 1. A
    real intruder does not know it is in A: with the record that could exist (the same offence in
    B) the X count may be 7+."""
    frame = pl.DataFrame({"offence_id": list(range(67)), "sex": ["X"] + ["F"] * 13 + ["M"] * 53,
                          "area": ["A"] * 27 + ["B"] * 40})
    frames = SimpleNamespace(offences=frame, referrals=pl.DataFrame(schema={"referral_id": pl.Int64}))
    surface = Surface(frames)

    def publish(records, where):
        for name, part in (("sex X", records.filter(pl.col("sex") == "X")),
                           ("area A", records.filter(pl.col("area") == "A")),
                           ("area A men", records.filter((pl.col("area") == "A") & (pl.col("sex") == "M"))),
                           ("area A women", records.filter((pl.col("area") == "A") & (pl.col("sex") == "F")))):
            exact = pl.DataFrame({"what": ["offences"], "count": [part.height]})
            shown = VIEWER.table(exact, ["count"])
            surface.counts(name, where, shown, exact, ["what"],
                           {"count": part.select(INDEX, pl.lit("offences").alias("what"))}, VIEWER)

    publish(surface.records("offences", frame), "as of 2026-11-30")
    told = intruder.attack(surface.figures, surface.members, surface.n_records, [], 4, 8)
    assert [r.high for r in told.ranges] == [1.0] and told.leaks  # the strong intruder: 0 or 1
    copy = frame.filter(pl.col("sex") == "X").with_columns(pl.lit("B").alias("area"), pl.lit(-1).alias("offence_id"))
    surface.read_phantoms(SimpleNamespace(offences=copy, referrals=frames.referrals))
    publish(surface.records("offences", copy), "as of 2026-11-30")
    fair = intruder.attack(surface.figures, surface.members, surface.n_records, [], 4, 8,
                           phantoms=(surface.phantom_members, surface.n_phantoms, surface.impossible))
    assert not fair.leaks and fair.ranges[0].high > 7  # in area B nothing bounds it


def test_records_that_could_exist_differ_from_a_real_one_in_one_characteristic(small_demo):
    from divert.analytics.data.loading import load_frames
    from divert.intruder.phantoms import phantoms

    frames = load_frames(get_engine(small_demo))
    surface = Surface(frames)
    offences = surface.records("offences", frames.offences).head(3)
    surface.add(intruder.Figure("t", "w", "three offences", 1, np.inf, "hidden", 3), offences[INDEX].to_numpy())
    made = phantoms(frames, surface, 8).offences
    real = frames.offences.filter(pl.col("offence_id").is_in(offences["offence_id"].implode()))
    characteristics = [c for c in ("area", "source", "age_band", "sex", "ethnic_group") if c in real.columns]
    assert made.height == 3 * len(characteristics) and made["offence_id"].max() < 0 and made["offence_id"].n_unique() == made.height
    for copy in made.iter_rows(named=True):
        differs = [name for name in characteristics
                   if any(copy[name] != r[name] for r in real.iter_rows(named=True) if r["offence_date"] == copy["offence_date"]
                          and all(copy[c] == r[c] for c in characteristics if c != name))]
        assert len(differs) >= 1


def test_records_that_could_exist_include_a_referral_without_a_step_it_took(small_demo):
    """The intruder is not told that everyone assessed was allocated, or everyone who complied
    attended, or that nobody offended again: for a referral in a small hidden count, a copy
    without each step it took (its allocation, booking, attendance, closure), and one re-detected
    the day after, are records that could be there."""
    from divert.analytics.data.loading import load_frames
    from divert.intruder.phantoms import STEPS_NOT_TAKEN, phantoms

    frames = load_frames(get_engine(small_demo))
    surface = Surface(frames)
    took = frames.referrals.filter(pl.all_horizontal(pl.col(step).is_not_null() for step in STEPS_NOT_TAKEN)).head(2)
    assert took.height == 2  # the demo has referrals that went all the way
    referrals = surface.records("referrals", took)
    surface.add(intruder.Figure("t", "w", "two referrals", 1, np.inf, "hidden", 2), referrals[INDEX].to_numpy())
    could_be = phantoms(frames, surface, 8)
    made = could_be.referrals
    assert made["referral_id"].max() < 0
    # and re-detected: a further offence by the person the day after the referral
    again = could_be.offences.join(took.select("person_id", "referred_on"), on="person_id")
    assert again.filter(pl.col("offence_date") == pl.col("referred_on") + pl.duration(days=1)).height == 2
    others = [c for c in took.columns if c not in ("referral_id", "reference")]
    real = {row[0]: row[1:] for row in took.select("reference", *others).rows()}
    for step in STEPS_NOT_TAKEN:
        without = made.filter(pl.col(step).is_null())
        assert without.height == 2, step  # one copy of each, and nothing else changed
        for copy in without.select("reference", *others).rows():
            assert [a for a, b in zip(copy[1:], real[copy[0]], strict=True) if a != b] == [None]


def test_a_hidden_count_of_no_records_is_not_told_to_be_zero(small_demo):
    """Zeros are hidden too. Sex X has no offence at all: built from the real records only, its
    hidden count could only be 0 (no kind of record counts in it). A record of the same count
    without the filter, copied with sex X, is a record that could be there: with it, the hidden
    0 could be anything the published counts allow."""
    from divert.analytics.data.loading import load_frames
    from divert.intruder.phantoms import phantoms

    frames = load_frames(get_engine(small_demo))
    frame = frames.offences.head(40).with_columns(pl.lit("M").cast(frames.offences.schema["sex"]).alias("sex"))
    frames = replace(frames, offences=frame, referrals=frames.referrals.head(0))
    surface = Surface(frames)

    def publish(records, where, sex):
        part = records if sex is None else records.filter(pl.col("sex") == sex)
        exact = pl.DataFrame({"what": ["offences"], "count": [part.height]})
        surface.counts("offences", where, VIEWER.table(exact, ["count"]), exact, ["what"],
                       {"count": part.select(INDEX, pl.lit("offences").alias("what"))}, VIEWER)

    records = surface.records("offences", frame)
    publish(records, "as of 2026-11-30; no filter", None)
    publish(records, "as of 2026-11-30; sex X", "X")
    told = intruder.attack(surface.figures, surface.members, surface.n_records, [], 4, 8)
    assert [(r.low, r.high) for r in told.ranges] == [(0, 0)] and told.leaks  # no kind of record: 0
    made = phantoms(frames, surface, 8).offences
    assert made.filter(pl.col("sex") == "X").height == 1 and made["offence_id"].max() < 0
    surface.read_phantoms(SimpleNamespace(offences=made, referrals=frames.referrals))
    copies = surface.records("offences", made)
    publish(copies, "as of 2026-11-30; no filter", None)
    publish(copies, "as of 2026-11-30; sex X", "X")
    fair = intruder.attack(surface.figures, surface.members, surface.n_records, [], 4, 8,
                           phantoms=(surface.phantom_members, surface.n_phantoms, surface.impossible))
    assert not fair.leaks and fair.ranges[0].high >= 4  # 40 shown as 40 (38-42): X could be 0 to 4
