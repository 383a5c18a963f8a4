"""A record dated today changes only the current, provisional period (Hypothesis, metamorphic).

For any small programme (tests/rule_data.programme_files, every record up to today), any filters
and any new referral made today through the one write path (divert.records.add_referral), the
figures measured as of today before and after it: every complete month keeps every figure
(volume, outcomes per month), the pathway funnel, the waits and the reoffending rates (which
count only referrals old enough) do not move at all, and the month of today, flagged
provisional, gains exactly the new referral and its offence where the filters take them in."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import polars as pl
from clock import LONDON, frozen
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rule_data import AREAS, OVERRIDE, fresh_database, import_kind, person, programme_files

from divert.analytics.dashboards import outcomes
from divert.analytics.data.filters import Filters
from divert.analytics.data.loading import load_frames
from divert.analytics.metrics import pathway_table, reoffending_table, volume_table, waits_table
from divert.core import codes
from divert.records.referrals import add_referral

PERSON_COLUMNS = ("person_ref", "sex", "birth_year", "ethnicity_self", "ethnicity_officer")
PATHWAY_KINDS = ("offences", "referrals", "assessments", "sessions", "bookings", "closures")
USER = "rules.caseworker"


def filters_on(today: date) -> st.SearchStrategy[Filters]:
    """Any filters a user may choose: none half the time, so that the new referral is often inside."""
    def maybe(values):
        return st.one_of(st.none(), st.none(), st.none(), st.sampled_from(list(values)))

    days = st.dates(today - timedelta(days=200), today + timedelta(days=10))
    chosen = st.builds(Filters, start=st.one_of(st.none(), days), end=st.one_of(st.none(), days), area=maybe(AREAS),
                       source=maybe(codes.REFERRAL_SOURCES), age_band=maybe(codes.AGE_BANDS), sex=maybe(codes.SEXES),
                       ethnic_group=maybe([*codes.BROAD_GROUPS, "Missing"]))
    return st.one_of(st.just(Filters()), chosen)


def ethnic_group(code: str | None) -> str:
    return "Missing" if code is None else codes.broad_group(code)


def takes_in(filters: Filters, today: date, new: dict) -> bool:
    """Whether the filters take in the new referral (and its offence), worked out by hand."""
    age_band = codes.age_band(today.year - new["birth_year"]) or "Missing"
    chosen = {"area": new["area"], "source": new["source"], "age_band": age_band, "sex": new["sex"],
              "ethnic_group": ethnic_group(new["ethnicity_self"])}
    return (all(getattr(filters, name) in (None, value) for name, value in chosen.items())
            and (filters.start is None or filters.start <= today) and (filters.end is None or today <= filters.end))


def figures(engine, filters: Filters) -> dict[str, pl.DataFrame]:
    frames = load_frames(engine)
    at = frames.at(filters.as_of)
    return {
        "volume": volume_table(frames, filters),
        "outcomes per month": outcomes.monthly_outcomes(filters.apply(at.offences, "offence_date")),
        "pathway": pathway_table(frames, filters),
        "waits": waits_table(frames, filters),
        "reoffending": reoffending_table(frames, filters),
    }


def by_month(table: pl.DataFrame, keys=("period",)) -> dict:
    return {tuple(row[k] for k in keys): row for row in table.iter_rows(named=True)}


@st.composite
def a_day_and_a_programme(draw):
    """Today (any day, the first and last of a month included), the clock some time in it (after
    1 am: see the test of the first hour below), the programme's files up to today, filters,
    and today's new referral (a new person, or one already known)."""
    today = draw(st.one_of(st.dates(date(2023, 1, 1), date(2026, 6, 30)),
                           st.sampled_from([date(2025, 3, 1), date(2025, 3, 31), date(2025, 10, 26), date(2026, 1, 1)])))
    now = datetime.combine(today, time(draw(st.integers(1, 23)), draw(st.integers(0, 59))), LONDON)
    files = draw(programme_files(today))
    known = [{k: row[k] for k in PERSON_COLUMNS} for kind in ("offences", "referrals") for row in files[kind]]
    who = draw(st.one_of(person(99).map(lambda p: p.columns), *([st.sampled_from(known)] if known else [])))
    referred = now - timedelta(minutes=draw(st.integers(0, now.hour * 60 + now.minute)))
    new = {"reference": "DIV-TODAY", "referred_at": referred.isoformat(), "override_reason": OVERRIDE,
           "crime_ref": "20WM/T0001/21", "offence_date": today.isoformat(), "area": draw(st.sampled_from(list(AREAS))),
           "drug": draw(st.sampled_from(list(codes.DRUGS))), "source": draw(st.sampled_from(list(codes.REFERRAL_SOURCES))),
           **who}
    return today, now, files, replace(draw(filters_on(today)), as_of=today), new


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=a_day_and_a_programme())
def test_a_referral_dated_today_moves_only_the_current_provisional_month(tmp_path, case):
    today, now, files, filters, new = case
    with frozen(now), fresh_database(tmp_path) as engine:
        for kind in PATHWAY_KINDS:
            assert import_kind(engine, kind, files).ok, kind
        before = figures(engine, filters)
        saved = add_referral(new, USER, engine=engine)
        assert saved.ok, saved.problems
        after = figures(engine, filters)
    added = int(takes_in(filters, today, new))
    event(f"the filters take the new referral in: {bool(added)}")
    current = today.replace(day=1)

    # nothing that counts only referrals old enough moves
    for name in ("pathway", "waits", "reoffending"):
        assert after[name].equals(before[name]), name

    # volume: every complete month as it was; this month provisional, with the new referral and its offence
    was, now_ = by_month(before["volume"]), by_month(after["volume"])
    assert {k: v for k, v in now_.items() if k != (current,)} == {k: v for k, v in was.items() if k != (current,)}
    assert all(not row["provisional"] for (period,), row in now_.items() if period != current)
    if (current,) in now_:
        row = now_[(current,)]
        old = was.get((current,), {"offences": 0, "referrals": 0})
        assert row["provisional"]
        assert (row["offences"] - old["offences"], row["referrals"] - old["referrals"]) == (added, added)
    else:
        assert not added

    # outcomes per month: only this month's Community Resolutions gain the new referral's offence
    keys = ("period", "outcome_group")
    was, now_ = by_month(before["outcomes per month"], keys), by_month(after["outcomes per month"], keys)
    here = (current, "Community Resolution")
    assert {k: v for k, v in now_.items() if k != here} == {k: v for k, v in was.items() if k != here}
    assert now_.get(here, {"offences": 0})["offences"] - was.get(here, {"offences": 0})["offences"] == added


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(year=st.integers(2023, 2026), day=st.dates(date(2024, 4, 1), date(2024, 9, 30)), minute=st.integers(0, 59))
def test_a_referral_made_in_the_first_hour_of_a_summer_day_is_dated_today(tmp_path, year, day, minute):
    """Between 00:00 and 01:00 British Summer Time the UTC date is still yesterday: a referral
    made then is today's (issue 25: it was refused as "in the future")."""
    today = day.replace(year=year)  # April to September: British Summer Time
    now = datetime.combine(today, time(0, minute), LONDON)
    new = {"reference": "DIV-MIDNIGHT", "referred_at": now.isoformat(), "crime_ref": "20WM/M0001/21",
           "offence_date": today.isoformat(), "area": next(iter(AREAS)), "drug": "CAN", "source": "stop_search",
           "person_ref": "PNC 21/0000001A", "sex": "F", "birth_year": 1990, "ethnicity_self": "B1"}
    with frozen(now), fresh_database(tmp_path) as engine:
        saved = add_referral(new, USER, engine=engine)
        assert saved.ok, saved.problems
        volume = volume_table(load_frames(engine), Filters(as_of=today))
    assert volume.filter(pl.col("period") == today.replace(day=1)).select("offences", "referrals", "provisional").row(0) \
        == (1, 1, True)
