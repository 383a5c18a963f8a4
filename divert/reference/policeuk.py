"""police.uk stop-and-search files as published, 2014 to now: every wording of each field, and
what it means today.

police.uk has worded some fields differently over time. Up to about 2017, self-defined
ethnicity carried the code in brackets with the older 16+1 group names (`Asian or Asian British
- Pakistani (A2)`, `Chinese or other ethnic group - Chinese (O1)`, `Not Stated (NS)`); later
files use the census 18+1 labels (`Asian/Asian British - Pakistani`, `Other ethnic group - Not
stated`). Outcomes were worded as what happened to a suspect (`Suspect arrested`, `Nothing found
- no further action`, `Offender given drugs possession warning`, `Local resolution`, ...) until
about 2018, and as the disposal since (`Arrest`, `A no further action disposal`, `Khat or
Cannabis warning`, `Community resolution`, ...).

Each Vocabulary maps every published wording (matched in any case) to its normalised value: the
current police.uk label, or for self-defined ethnicity the 18+1 code. A wording not listed is
refused with the nearest known ones, so that a new variant is seen, never silently dropped.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from divert.core import codes


def _fold(text: object) -> str:
    return " ".join(str(text).casefold().split())


@dataclass(frozen=True)
class Vocabulary:
    noun: str
    labels: dict[str, str]  # every published wording -> its normalised value
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_index", {_fold(k): v for k, v in self.labels.items()})

    def normalise(self, value: object) -> str | None:
        """The normalised value of a published wording (any case), or None if unknown."""
        return self._index.get(_fold(value))

    def nearest(self, value: object, n: int = 3) -> list[str]:
        by_fold = {_fold(k): k for k in self.labels}
        return [by_fold[m] for m in difflib.get_close_matches(_fold(value), list(by_fold), n=n, cutoff=0.6)]

    def unknown(self, value: object) -> str:
        """Why a wording is refused, naming the nearest published ones."""
        nearest = self.nearest(value)
        hint = (
            "did you mean " + " or ".join(repr(label) for label in nearest) + "?"
            if nearest
            else f"known wordings: {', '.join(repr(label) for label in list(self.labels)[:10])}"
            + (" ..." if len(self.labels) > 10 else "")
        )
        return f"{value!r} is not a {self.noun} police.uk has published; {hint}"


def _same(*labels: str) -> dict[str, str]:
    return {label: label for label in labels}


SEARCH_TYPE = Vocabulary("search type", _same("Person search", "Person and Vehicle search", "Vehicle search"))
GENDER = Vocabulary("gender", _same("Male", "Female", "Other"))
AGE_RANGE = Vocabulary("age range", _same("under 10", *codes.AGE_BANDS))
OFFICER_DEFINED = Vocabulary("officer-defined ethnicity", _same(*codes.POLICE_UK_OFFICER_DEFINED))

# Self-defined ethnicity as published before the census 18+1 labels (16+1 list, code in brackets).
SELF_DEFINED_CODED: dict[str, str] = {
    "White - White British (W1)": "W1",
    "White - White Irish (W2)": "W2",
    "White - Any other White ethnic background (W9)": "W9",
    "Mixed - White and Black Caribbean (M1)": "M1",
    "Mixed - White and Black African (M2)": "M2",
    "Mixed - White and Asian (M3)": "M3",
    "Mixed - Any other Mixed ethnic background (M9)": "M9",
    "Asian or Asian British - Indian (A1)": "A1",
    "Asian or Asian British - Pakistani (A2)": "A2",
    "Asian or Asian British - Bangladeshi (A3)": "A3",
    "Asian or Asian British - Any other Asian ethnic background (A9)": "A9",
    "Black or Black British - Caribbean (B1)": "B1",
    "Black or Black British - African (B2)": "B2",
    "Black or Black British - Any other Black ethnic background (B9)": "B9",
    "Chinese or other ethnic group - Chinese (O1)": "A4",  # O1 in the 16+1 list = A4 Chinese
    "Chinese or other ethnic group - Any other ethnic group (O9)": "O9",
    "Not Stated (NS)": "NS",
}
SELF_DEFINED = Vocabulary("self-defined ethnicity", codes.POLICE_UK_SELF_DEFINED | SELF_DEFINED_CODED)

# Outcomes: the current labels, and the older wording of each.
OUTCOME_CODES: dict[str, str] = {  # normalised code -> current police.uk label
    "nfa": "A no further action disposal",
    "arrest": "Arrest",
    "community_resolution": "Community resolution",
    "cannabis_warning": "Khat or Cannabis warning",
    "summons": "Summons / charged by post",
    "caution": "Caution (simple or conditional)",
    "pnd": "Penalty Notice for Disorder",
    "article_found": "Article found - Detailed outcome unavailable",
    "psychoactive_seized": "Suspected psychoactive substances seized - No further action",
}
OLDER_OUTCOMES: dict[str, str] = {  # older published wording -> normalised code
    "Nothing found - no further action": "nfa",
    "Suspect arrested": "arrest",
    "Local resolution": "community_resolution",
    "Offender given drugs possession warning": "cannabis_warning",
    "Suspect summonsed to court": "summons",
    "Offender cautioned": "caution",
    "Offender given penalty notice": "pnd",
}
OUTCOME = Vocabulary(
    "outcome",
    {label: label for label in OUTCOME_CODES.values()}
    | {older: OUTCOME_CODES[code] for older, code in OLDER_OUTCOMES.items()},
)
_OUTCOME_CODE_OF = {label: code for code, label in OUTCOME_CODES.items()}


def outcome_code(label: str | None) -> str | None:
    """The normalised code of a normalised (current) outcome label: 'Arrest' -> 'arrest'."""
    return _OUTCOME_CODE_OF.get(label) if label else None


OBJECT_OF_SEARCH = Vocabulary(
    "object of search",
    _same(
        "Controlled drugs",
        "Offensive weapons",
        "Stolen goods",
        "Article for use in theft",
        "Articles for use in criminal damage",
        "Firearms",
        "Fireworks",
        "Anything to threaten or harm anyone",
        "Evidence of offences under the Act",
        "Psychoactive substances",
        "Goods on which duty has not been paid etc.",
        "Game or poaching equipment",
        "Evidence of wildlife offences",
        "Evidence of hunting any wild mammal with a dog",
        "Seals or hunting equipment",
        "Crossbows",
        "Detailed object of search unavailable",
    ),
)
