"""The 43 forces of England and Wales and the local authorities of their areas, checked
against the shipped census read independently with the csv module."""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from divert.reference import census, forces

CENSUS = census.CENSUS_2011_DIR / census.LOCAL_AUTHORITY_FILE
LOOKUP = census.CENSUS_2011_DIR / census.LOOKUP_FILE


def census_rows() -> list[dict]:
    with open(CENSUS, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def ons_codes() -> dict[str, str]:
    """LAD16NM -> LAD16CD from the ONS lookup."""
    with open(LOOKUP, newline="", encoding="utf-8-sig") as f:
        return {row["LAD16NM"]: row["LAD16CD"] for row in csv.DictReader(f)}


def test_there_are_43_forces_with_unique_slugs_names_and_areas():
    assert len(forces.FORCES) == 43
    for attribute in ("slug", "name", "area_code", "area_name"):
        values = [getattr(f, attribute) for f in forces.FORCES]
        assert len(set(values)) == 43, attribute
    assert all(slug == slug.lower() and " " not in slug for slug in forces.slugs())
    # the census has exactly these 43 force areas, with these codes
    in_census = {(row["PFA16CD"], row["PFA16NM"]) for row in census_rows()}
    assert in_census == {(f.area_code, f.area_name) for f in forces.FORCES}
    assert {"west-midlands", "metropolitan", "city-of-london", "avon-and-somerset", "devon-and-cornwall",
            "dyfed-powys", "north-wales", "south-wales", "gwent"} <= set(forces.slugs())


@pytest.mark.parametrize("force", forces.FORCES, ids=lambda f: f.slug)
def test_force_areas_are_the_census_authorities_of_the_force(force):
    by_name = ons_codes()
    expected = sorted(
        ({"code": by_name[row["LAD16NM"]], "name": row["geography"]} for row in census_rows()
         if row["PFA16NM"] == force.area_name),
        key=lambda area: area["code"],
    )
    assert expected, force.slug
    assert census.force_areas(force.slug) == expected
    assert census.force_slug(force.area_name) == force.slug


def test_every_authority_is_in_exactly_one_force_area():
    seen: dict[str, list[str]] = defaultdict(list)
    for force in forces.FORCES:
        for area in census.force_areas(force.slug):
            seen[area["code"]].append(force.slug)
    assert len(seen) == len(census_rows()) == 348
    assert all(len(owners) == 1 for owners in seen.values())
    assert all(code[:3] in ("E06", "E07", "E08", "E09", "W06") for code in seen)


def test_the_reference_force_and_some_awkward_ones():
    west_midlands = census.force_areas("west-midlands")
    assert {a["code"]: a["name"] for a in west_midlands} == census.areas_of("west-midlands")
    assert census.force_areas("city-of-london") == [{"code": "E09000001", "name": "City of London"}]
    assert len(census.force_areas("metropolitan")) == 32
    assert {"code": "W06000016", "name": "Rhondda Cynon Taff"} in census.force_areas("south-wales")  # census spelling
    assert [a["name"] for a in census.force_areas("durham")] == ["Darlington", "County Durham"]


@pytest.mark.parametrize("value", ["Durham", "durham constabulary", "DURHAM", "Avon & Somerset"])
def test_forces_are_found_by_slug_or_name_in_any_case(value):
    assert forces.force(value).slug in ("durham", "avon-and-somerset")


@pytest.mark.parametrize("value, nearest", [
    ("west-midland", "west-midlands"),
    ("metropolitian", "metropolitan"),
    ("devon-cornwall", "devon-and-cornwall"),
    ("dyfed powis", "dyfed-powys"),
])
def test_an_unknown_force_names_the_nearest_ones(value, nearest):
    with pytest.raises(forces.UnknownForce) as error:
        census.force_areas(value)
    message = str(error.value)
    assert f"{value!r} is not a police force of England and Wales" in message
    assert f"did you mean {nearest} (" in message
    assert error.value.suggestions[0].slug == nearest


@pytest.mark.parametrize("value", ["atlantis", "", None, 42])
def test_a_force_with_no_near_match_still_gets_a_clear_error(value):
    with pytest.raises(forces.UnknownForce, match="is not a police force of England and Wales"):
        forces.force(value)
