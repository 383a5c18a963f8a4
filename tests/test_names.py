"""Names as well as codes: an area's name or code, a drug's label or code, in any case, through
the one rule that forms and imports share (Checker.code); unknown values name the nearest ones."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from divert.core import codes
from divert.core.field_rules import Checker
from divert.ingest.kinds import KINDS
from divert.ingest.run import import_files
from divert.records.offences import add_offence
from divert.reference import census
from divert.storage.db import session_scope
from divert.storage.models import Offence

AREAS = census.areas_of("west-midlands")
USER = "test.names"


def checked(field: str, value, allowed, **options):
    c = Checker({field: value})
    return c.code(field, allowed, **options), [p.reason for p in c.problems]


@pytest.mark.parametrize("value", ["Birmingham", "birmingham", "BIRMINGHAM", " Birmingham ", "E08000025", "e08000025"])
def test_an_area_is_its_name_or_its_code_in_any_case(value):
    assert checked("area", value, AREAS) == ("E08000025", [])


@pytest.mark.parametrize("value, code", [("cocaine", "COC"), ("COC", "COC"), ("coc", "COC"), ("Crack cocaine", "CRK"),
                                         ("mdma / ecstasy", "MDMA"), ("Cannabis", "CAN")])
def test_a_drug_is_its_label_or_its_code_in_any_case(value, code):
    assert checked("drug", value, codes.DRUGS) == (code, [])


def test_a_misspelt_area_names_the_nearest_one():
    code, reasons = checked("area", "Birmingam", AREAS)
    assert code is None
    assert reasons == ["'Birmingam' is not a known code or name of a local policing area; "
                       "did you mean Birmingham (E08000025)?"]


def test_a_misspelt_drug_names_the_nearest_ones_best_first():
    code, reasons = checked("drug", "cocain", codes.DRUGS)
    assert code is None
    assert reasons[0].startswith("'cocain' is not a known code or name of a drug; did you mean Cocaine (COC)")


def test_a_value_near_nothing_lists_what_is_allowed():
    code, reasons = checked("area", "Narnia", AREAS)
    assert code is None and "(allowed: Birmingham (E08000025), Coventry (E08000026)," in reasons[0]


def test_plain_code_lists_and_aliases_still_work():
    assert checked("sex", "m", codes.SEXES) == ("M", [])
    assert checked("sex", "female", codes.SEXES) == ("F", [])
    assert checked("ethnicity_self", "O1", codes.ETHNICITY_SELF, aliases=codes.ETHNICITY_SELF_ALIASES) == ("A4", [])
    assert checked("mode", "Face to face", codes.DELIVERY_MODES, upper=False) == ("face_to_face", [])
    code, reasons = checked("mode", "zoom", ("online", "face_to_face"), upper=False)
    assert code is None and reasons == ["'zoom' is not a known code (allowed: online, face_to_face)"]
    assert checked("x", "Place", {"P": "Place"}, noun="thing") == ("P", [])


def offences_csv(rows: list[dict]) -> bytes:
    header = KINDS["offences"].header
    return ("\n".join([",".join(header)] + [",".join(r.get(c, "") for c in header) for r in rows]) + "\n").encode()


def offence(n: int, area: str, drug: str) -> dict:
    return {"crime_ref": f"20WM/N{n}/21", "offence_date": "2021-02-03", "area": area, "drug": drug,
            "source": "Stop and search", "person_ref": f"P{n}"}


def test_an_import_takes_names_and_stores_codes(sqlite_engine):
    rows = [offence(1, "Birmingham", "cocaine"), offence(2, "e08000031", "COC"), offence(3, "SANDWELL", "Cannabis")]
    report = import_files("offences", [("crimes.csv", offences_csv(rows))], USER, engine=sqlite_engine)
    assert report.ok and report.new == 3, report.problems
    with session_scope(sqlite_engine) as s:
        stored = s.execute(select(Offence.crime_ref, Offence.area, Offence.drug, Offence.source)).all()
    assert sorted(stored) == [("20WM/N1/21", "E08000025", "COC", "stop_search"),
                              ("20WM/N2/21", "E08000031", "COC", "stop_search"),
                              ("20WM/N3/21", "E08000028", "CAN", "stop_search")]


def test_an_import_reports_unknown_names_with_file_row_and_suggestion_and_writes_nothing(sqlite_engine):
    rows = [offence(1, "Birmingham", "cocaine"), offence(2, "Birmingam", "cocain")]
    report = import_files("offences", [("crimes.csv", offences_csv(rows))], USER, engine=sqlite_engine)
    assert not report.ok and not report.written
    found = {(p.file, p.row, p.column, p.value): p.reason for p in report.problems}
    assert set(found) == {("crimes.csv", 3, "area", "Birmingam"), ("crimes.csv", 3, "drug", "cocain")}
    assert found[("crimes.csv", 3, "area", "Birmingam")].endswith("did you mean Birmingham (E08000025)?")
    with session_scope(sqlite_engine) as s:
        assert s.execute(select(Offence)).first() is None


def test_a_form_save_takes_names_through_the_same_rule(sqlite_engine):
    saved = add_offence(offence(7, "coventry", "Heroin") | {"force": "west-midlands"}, USER, engine=sqlite_engine)
    assert saved.ok, saved.problems
    refused = add_offence(offence(8, "Coventree", "Heroin") | {"force": "west-midlands"}, USER, engine=sqlite_engine)
    assert not refused.ok and refused.problems[0].reason.endswith("did you mean Coventry (E08000026)?")
    with session_scope(sqlite_engine) as s:
        assert s.execute(select(Offence.area, Offence.drug)).all() == [("E08000026", "HER")]
