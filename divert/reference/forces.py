"""The 43 territorial police forces of England and Wales.

Each force has its police.uk identifier (the slug in police.uk file names and URLs, e.g.
`2017-03-durham-stop-and-search.csv`), its name, and its police force area as the shipped census
names it (ONS PFA16 code and name, `data/census2011/`). The local authorities of a force area
come from the census: `divert.reference.census.force_areas(slug)`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Force:
    slug: str  # police.uk identifier
    name: str
    area_code: str  # ONS police force area code (PFA16CD)
    area_name: str  # police force area name as the shipped census gives it (PFA16NM)


# slug, name, PFA16CD, PFA16NM
_TABLE = (
    ("avon-and-somerset", "Avon and Somerset Constabulary", "E23000036", "Avon & Somerset"),
    ("bedfordshire", "Bedfordshire Police", "E23000026", "Bedfordshire"),
    ("cambridgeshire", "Cambridgeshire Constabulary", "E23000023", "Cambridgeshire"),
    ("cheshire", "Cheshire Constabulary", "E23000006", "Cheshire"),
    ("city-of-london", "City of London Police", "E23000034", "City of London"),
    ("cleveland", "Cleveland Police", "E23000013", "Cleveland"),
    ("cumbria", "Cumbria Constabulary", "E23000002", "Cumbria"),
    ("derbyshire", "Derbyshire Constabulary", "E23000018", "Derbyshire"),
    ("devon-and-cornwall", "Devon & Cornwall Police", "E23000035", "Devon & Cornwall"),
    ("dorset", "Dorset Police", "E23000039", "Dorset"),
    ("durham", "Durham Constabulary", "E23000008", "Durham"),
    ("dyfed-powys", "Dyfed-Powys Police", "W15000004", "Dyfed-Powys"),
    ("essex", "Essex Police", "E23000028", "Essex"),
    ("gloucestershire", "Gloucestershire Constabulary", "E23000037", "Gloucestershire"),
    ("greater-manchester", "Greater Manchester Police", "E23000005", "Greater Manchester"),
    ("gwent", "Gwent Police", "W15000002", "Gwent"),
    ("hampshire", "Hampshire Constabulary", "E23000030", "Hampshire"),
    ("hertfordshire", "Hertfordshire Constabulary", "E23000027", "Hertfordshire"),
    ("humberside", "Humberside Police", "E23000012", "Humberside"),
    ("kent", "Kent Police", "E23000032", "Kent"),
    ("lancashire", "Lancashire Constabulary", "E23000003", "Lancashire"),
    ("leicestershire", "Leicestershire Police", "E23000021", "Leicestershire"),
    ("lincolnshire", "Lincolnshire Police", "E23000020", "Lincolnshire"),
    ("merseyside", "Merseyside Police", "E23000004", "Merseyside"),
    ("metropolitan", "Metropolitan Police Service", "E23000001", "Metropolitan"),
    ("norfolk", "Norfolk Constabulary", "E23000024", "Norfolk"),
    ("north-wales", "North Wales Police", "W15000001", "North Wales"),
    ("north-yorkshire", "North Yorkshire Police", "E23000009", "North Yorkshire"),
    ("northamptonshire", "Northamptonshire Police", "E23000022", "Northamptonshire"),
    ("northumbria", "Northumbria Police", "E23000007", "Northumbria"),
    ("nottinghamshire", "Nottinghamshire Police", "E23000019", "Nottinghamshire"),
    ("south-wales", "South Wales Police", "W15000003", "South Wales"),
    ("south-yorkshire", "South Yorkshire Police", "E23000011", "South Yorkshire"),
    ("staffordshire", "Staffordshire Police", "E23000015", "Staffordshire"),
    ("suffolk", "Suffolk Constabulary", "E23000025", "Suffolk"),
    ("surrey", "Surrey Police", "E23000031", "Surrey"),
    ("sussex", "Sussex Police", "E23000033", "Sussex"),
    ("thames-valley", "Thames Valley Police", "E23000029", "Thames Valley"),
    ("warwickshire", "Warwickshire Police", "E23000017", "Warwickshire"),
    ("west-mercia", "West Mercia Police", "E23000016", "West Mercia"),
    ("west-midlands", "West Midlands Police", "E23000014", "West Midlands"),
    ("west-yorkshire", "West Yorkshire Police", "E23000010", "West Yorkshire"),
    ("wiltshire", "Wiltshire Police", "E23000038", "Wiltshire"),
)

FORCES: tuple[Force, ...] = tuple(Force(*row) for row in _TABLE)
BY_SLUG: dict[str, Force] = {f.slug: f for f in FORCES}


class UnknownForce(ValueError):
    """A force identifier that is not one of the 43; the message names the nearest ones."""

    def __init__(self, value: object, suggestions: list[Force]):
        self.value = value
        self.suggestions = suggestions
        hint = (
            "did you mean " + " or ".join(f"{f.slug} ({f.name})" for f in suggestions) + "?"
            if suggestions
            else "use one of the 43 police.uk identifiers (divert.reference.forces.slugs())."
        )
        super().__init__(f"{value!r} is not a police force of England and Wales; {hint}")


def _key(text: str) -> str:
    return " ".join(str(text).lower().replace("&", "and").replace("-", " ").split())


# every way of naming a force that is accepted: slug, name, census area name (any case)
_NAMES: dict[str, Force] = {}
for _force in FORCES:
    for _name in (_force.slug, _force.name, _force.area_name):
        _NAMES[_key(_name)] = _force


def nearest(value: str, n: int = 3) -> list[Force]:
    """The forces whose slug or name is closest to `value` (best first)."""
    matches = difflib.get_close_matches(_key(value), list(_NAMES), n=n * 3, cutoff=0.6)
    found: list[Force] = []
    for match in matches:
        if _NAMES[match] not in found:
            found.append(_NAMES[match])
    return found[:n]


def force(value: str) -> Force:
    """The force for a police.uk slug (or its name, in any case); UnknownForce otherwise."""
    found = _NAMES.get(_key(value)) if isinstance(value, str) and value.strip() else None
    if found is None:
        raise UnknownForce(value, nearest(value) if isinstance(value, str) else [])
    return found


def force_name(slug: str) -> str:
    return force(slug).name


def slugs() -> list[str]:
    return [f.slug for f in FORCES]
