"""Data sets for the tests of the rules (tests/test_rules_*.py): Hypothesis strategies for valid
import files of every kind, written as the programme's users write them, and the databases they
go into.

- `programme_files(last_day)`: one programme's files (offences, referrals with their offences,
  assessments, course sessions, bookings, closures, census population, and police.uk
  stop-and-search rows), valid together, every record dated on or before `last_day`. The files
  import in IMPORT_ORDER.
- `csv_file(kind, rows)`: the CSV a user would upload (the kind's header, then the rows).
- `fresh_database(folder)`: a database at the newest migration for one Hypothesis example (a
  copy of the migrated template; a PostgreSQL database under DIVERT_TEST_BACKEND=postgres).
- `tables(engine)`: every table's rows in primary-key order (as a backup reads them), to
  compare two databases or one database before and after.
- `frames_read_once`: `divert metrics` in process, each database's frames read by the real
  loader the first time a command asks for them and handed to every later command on it (the
  databases do not change between those commands; a read costs 0.1-0.3 s, a figure 0.01 s).
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from dbfixtures import SMALL_DEMO, migrated_url
from hypothesis import strategies as st

from divert.core import codes
from divert.reference import census
from divert.storage.db import get_engine

FORCE = codes.DEFAULT_FORCE
AREAS = dict(census.areas_of(FORCE))  # ONS code -> name: the force's local policing areas
IMPORT_ORDER = ("offences", "referrals", "assessments", "sessions", "bookings", "closures", "population",
                "stop-search")
USER = "rules.importer"
POLICE_UK = Path(__file__).parent / "fixtures" / "police-uk-sample"
OUTCOMES = (None, 1, 2, 3, 6, 7, 8, 21, 22)  # pending, charge, cautions, PND, warning, CR, 21, 22
OVERRIDE = "Reviewed by the team leader: offer again"  # ignored where no override is needed


@dataclass(frozen=True)
class Person:
    ref: str
    sex: str
    birth_year: int
    ethnicity_self: str | None
    ethnicity_officer: str | None

    @property
    def columns(self) -> dict:
        return {"person_ref": self.ref, "sex": self.sex, "birth_year": self.birth_year,
                "ethnicity_self": self.ethnicity_self, "ethnicity_officer": self.ethnicity_officer}


def person(number: int) -> st.SearchStrategy[Person]:
    return st.builds(Person, st.just(f"PNC 21/{number:07d}A"), st.sampled_from(list(codes.SEXES)),
                     st.integers(1950, 2006), st.sampled_from([None, *codes.ETHNICITY_SELF]),
                     st.sampled_from([None, *codes.ETHNICITY_OFFICER]))


def offence_columns(draw, day: date, who: Person) -> dict:
    return {"offence_date": day.isoformat(), "area": draw(st.sampled_from(list(AREAS))),
            "drug": draw(st.sampled_from(list(codes.DRUGS))), "source": draw(st.sampled_from(list(codes.REFERRAL_SOURCES))),
            **who.columns}


def moment(draw, day: date) -> str:
    """A time in working hours (UTC; the same UK day in winter and in summer)."""
    return f"{day.isoformat()} {draw(st.integers(8, 17)):02d}:{draw(st.integers(0, 59)):02d}"


def police_uk_rows(name: str) -> tuple[list[str], list[list[str]]]:
    """A real police.uk file's header and rows."""
    with open(POLICE_UK / name, encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


POLICE_UK_FILES = tuple(sorted(p.name for p in POLICE_UK.glob("*.csv")))


@st.composite
def programme_files(draw, last_day: date, days: int = 150) -> dict[str, list[dict] | tuple[str, bytes]]:
    """Every kind's rows for one small programme, valid together (see the module's docstring).
    Records fall on the `days` days up to `last_day`, the last day included."""

    def day(after: date | None = None, within: int = days) -> date:
        first = after or last_day - timedelta(days=within)
        return first + timedelta(days=draw(st.integers(0, (last_day - first).days)))

    people = [draw(person(n)) for n in range(1, draw(st.integers(1, 4)) + 1)]
    offences = []
    for n in range(1, draw(st.integers(0, 4)) + 1):
        when = day()
        outcome = draw(st.sampled_from(OUTCOMES))
        offences.append({"crime_ref": f"20WM/{n:04d}/21", **offence_columns(draw, when, draw(st.sampled_from(people))),
                         "outcome": outcome, "outcome_date": None if outcome is None else day(when).isoformat()})
    sessions = [{"session_ref": f"S{n}", "starts_at": moment(draw, day(within=days - 30) + timedelta(days=30)),
                 "seats": 12, "mode": draw(st.sampled_from(list(codes.DELIVERY_MODES))), "facilitator": "F01"}
                for n in range(1, draw(st.integers(0, 2)) + 1)]
    referrals, assessments, bookings, closures = [], [], [], []
    for n in range(1, draw(st.integers(0, 6)) + 1):
        offence_day = day()
        referred = day(offence_day)
        reference = f"DIV-{n:04d}"
        referrals.append({"reference": reference, "referred_at": moment(draw, referred), "referring_team": "NPT East",
                          "override_reason": OVERRIDE, "crime_ref": f"20WM/R{n:04d}/21",
                          **offence_columns(draw, offence_day, draw(st.sampled_from(people)))})
        allocation = None
        if draw(st.booleans()):
            result = draw(st.sampled_from(list(codes.ASSESSMENT_RESULTS)))
            done = day(referred)
            allocation = draw(st.sampled_from([None, *codes.ALLOCATIONS])) if result == "completed" else None
            assessments.append({"referral_reference": reference, "contact_attempts": draw(st.integers(0, 5)),
                                "first_contact_at": moment(draw, done) if result != "no_contact" else None,
                                "completed_at": moment(draw, done) if result == "completed" else None,
                                "result": result, "allocation": allocation, "worker": "DW07"})
        if allocation == "group_course" and sessions and draw(st.booleans()):
            bookings.append({"referral_reference": reference, "session_ref": draw(st.sampled_from(sessions))["session_ref"],
                             "booked_at": moment(draw, day(referred)),
                             "status": draw(st.sampled_from(list(codes.BOOKING_STATUSES)))})
        if draw(st.booleans()):
            result = draw(st.sampled_from(list(codes.CLOSURE_RESULTS)))
            closures.append({"referral_reference": reference, "closed_on": day(referred).isoformat(), "result": result,
                             "intelligence_log_date": day(referred).isoformat() if result == "not_engaged" else None,
                             "onward_treatment": draw(st.sampled_from([None, "yes", "no"]))})
    keys = draw(st.lists(st.tuples(st.sampled_from([2011, 2021]), st.sampled_from(list(AREAS)),
                                   st.sampled_from(list(codes.BROAD_GROUPS)[:5])), max_size=4, unique=True))
    population = [{"census_year": year, "geography_level": "local_authority", "geography_code": area,
                   "geography_name": AREAS[area], "force": FORCE, "ethnicity": group, "sex": "all", "age_band": "all",
                   "count": draw(st.integers(0, 500_000)), "source": "ONS Census (test extract)"}
                  for year, area, group in keys]
    name = draw(st.sampled_from(POLICE_UK_FILES))
    header, rows = police_uk_rows(name)
    chosen = draw(st.lists(st.sampled_from(range(len(rows))), min_size=1, max_size=12, unique=True))
    searches = [dict(zip(header, rows[i], strict=True)) for i in sorted(chosen)]
    return {"offences": offences, "referrals": referrals, "assessments": assessments, "sessions": sessions,
            "bookings": bookings, "closures": closures, "population": population, "stop-search": (name, searches)}


def file_name(kind: str, files: dict) -> str:
    """The name a kind's file is uploaded under (a police.uk file keeps its own: it names the force)."""
    return files["stop-search"][0] if kind == "stop-search" else f"{kind}.csv"


def file_rows(kind: str, files: dict) -> list[dict]:
    return files["stop-search"][1] if kind == "stop-search" else files[kind]


def csv_file(kind: str, rows: list[dict]) -> bytes:
    """The kind's header and the rows, as a CSV file (blank for a missing value)."""
    from divert.ingest.kinds import KINDS

    header = KINDS[kind].header
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(column) is None else row[column] for column in header])
    return out.getvalue().encode("utf-8")


def import_kind(engine, kind: str, files: dict, content: bytes | None = None):
    """Import one kind's file of `files` (or `content` under its name) through the import path."""
    from divert.ingest.run import import_files

    content = csv_file(kind, file_rows(kind, files)) if content is None else content
    return import_files(kind, [(file_name(kind, files), content)], USER, engine=engine)


@contextlib.contextmanager
def fresh_database(folder: Path):
    """A database at the newest migration for one example; afterwards its engine is disposed
    and, on PostgreSQL, the database dropped at once (not with the module's, at its end: a
    property test makes dozens, and more while it shrinks a failure)."""
    import dbfixtures

    url = migrated_url(Path(tempfile.mkdtemp(dir=folder)))
    engine = get_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        for database in [d for d in dbfixtures._made if d.url == url]:
            dbfixtures._made.remove(database)
            database.drop()


def tables(engine) -> dict[str, pl.DataFrame]:
    """Every table's rows in primary-key order."""
    from sqlalchemy import inspect

    from divert.backup.tables import backup_tables, read_chunks, table_schema

    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return {table.name: pl.concat([pl.DataFrame(schema=table_schema(table)), *read_chunks(conn, table)])
                for table in backup_tables() if table.name in present}


def differences(before: dict[str, pl.DataFrame], after: dict[str, pl.DataFrame]) -> list[str]:
    """The tables whose rows differ, with their row counts."""
    names = sorted(set(before) | set(after))
    return [f"{name} ({before[name].height} -> {after[name].height} rows)" if name in before and name in after
            else name for name in names
            if name not in before or name not in after or not before[name].equals(after[name])]


def answer(*args: str) -> tuple:
    """What `divert ARGS` answered: (exit code, output, errors), or the exception it raised
    (a crash is a defect of its own, reported by the tests that need an answer)."""
    from commands import divert

    try:
        ran = divert(*args)
    except Exception as error:
        return ("raised", type(error).__name__, str(error))
    return ran.returncode, ran.stdout, ran.stderr


@pytest.fixture(scope="module")
def frames_read_once():
    """`divert metrics` in process, each database's frames read once (see the module's docstring)."""
    from divert.analytics.data import loading

    read: dict[str, object] = {}
    real = loading.load_frames

    def once(engine, *args, **kwargs):
        key = engine.url.render_as_string(hide_password=False)
        if key not in read:
            read[key] = real(engine, *args, **kwargs)
        return read[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loading, "load_frames", once)
        yield read


DEMO_DAYS = st.dates(date(2020, 10, 1), SMALL_DEMO["as_of"])  # from the launch to the small demo's last day
METRIC_VALUES = {
    "--from": DEMO_DAYS.map(str), "--to": DEMO_DAYS.map(str), "--area": st.sampled_from(list(AREAS)),
    "--referral-source": st.sampled_from(list(codes.REFERRAL_SOURCES)), "--age-band": st.sampled_from(codes.AGE_BANDS),
    "--sex": st.sampled_from(list(codes.SEXES)), "--ethnic-group": st.sampled_from([*codes.BROAD_GROUPS, "Missing"]),
    "--months": st.integers(1, 60).map(str), "--group": st.sampled_from(["All", "White", "Mixed", "Asian", "Black", "Other"]),
    "--object": st.just("Controlled drugs"), "--ethnicity": st.sampled_from(["self", "officer"]),
    "--level": st.sampled_from(["broad", "detailed"]), "--census": st.sampled_from(["interpolated", "2011", "2021"]),
}


@st.composite
def metric_options(draw, name: str) -> list[str]:
    """Any options `divert metrics NAME` honours (each given or not), and any as-of date up to
    the small demo's last day."""
    from divert.cli.metrics import METRIC_OPTIONS

    honoured = [flag for flag in METRIC_OPTIONS[name].values() if flag in METRIC_VALUES]
    chosen = draw(st.lists(st.sampled_from(honoured), unique=True, max_size=4)) if honoured else []
    values = {flag: draw(METRIC_VALUES[flag]) for flag in chosen}
    if "--from" in values and "--to" in values:  # a period, not a usage error
        values["--from"], values["--to"] = sorted([values["--from"], values["--to"]])
    return ["--as-of", str(draw(DEMO_DAYS)), *(part for flag, value in values.items() for part in (flag, value))]
