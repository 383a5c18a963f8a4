"""Usernames: one spelling for each, and none that looks like another's.

A username is NFKC-normalised (a full-width or compatibility form becomes the plain letters it
stands for) and, unless the operator sets `unicode_usernames` (DIVERT_UNICODE_USERNAMES, or
`unicode_usernames = true` in the [divert] table of secrets.toml), made of the ASCII letters,
digits and . _ - only; with it, letters of one script. A new username is refused when it looks
like one already taken: their skeletons match. The skeleton (after Unicode's UTS #39) is the
name NFKC-normalised, case-folded, and each character replaced by the one drawn for its class of
look-alikes in Unicode's confusables list (as the confusable_homoglyphs package ships it), so
`demo.аdmin` (a Cyrillic а), `dem0.admin`, `demo.adrnin` and `DEMO.ADMlN` all look like
`demo.admin`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from divert.core import environment

ASCII_NAME = re.compile(r"[A-Za-z0-9._-]+")
MAX_LENGTH = 60
_MARKS = "\u200e\u200f"  # direction marks the confusables list puts around right-to-left glyphs


def unicode_allowed() -> bool:
    """Whether the operator allows letters beyond ASCII in usernames (default: no)."""
    return (environment.configured_secret("unicode_usernames") or "").strip().lower() in ("1", "true", "yes")


def normalise(name: str | None) -> str:
    """`name` as it is stored and compared: NFKC, without surrounding space."""
    return unicodedata.normalize("NFKC", name or "").strip()


def problem(name: str, *, unicode: bool | None = None) -> str | None:
    """Why a (normalised) name cannot be a username, or None when it can."""
    unicode = unicode_allowed() if unicode is None else unicode
    if len(name) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if ASCII_NAME.fullmatch(name):
        return None
    if not unicode:
        return "may contain only the letters a to z, digits and . _ -"
    if not all(ch.isalnum() or ch in "._-" for ch in name):
        return "may contain only letters, digits and . _ -"
    from confusable_homoglyphs import confusables

    if confusables.is_mixed_script(name):
        return "mixes letters of different alphabets"
    return None


@cache
def _prototypes() -> dict[str, str]:
    """Each character that looks like another, and the prototype it is drawn as (UTS #39's
    confusables: `а` (Cyrillic) -> `a`, `0` -> `O`, `1`, `I` and `|` -> `l`, `m` -> `rn`). The
    package lists, for a prototype, every character confused with it, and for each of those,
    its prototype alone; a pair that lists only each other is drawn as the lower of the two."""
    from confusable_homoglyphs.confusables import confusables_data

    found = {key.strip(_MARKS): [glyph["c"].strip(_MARKS) for glyph in glyphs]
             for key, glyphs in confusables_data.items()}
    drawn = {}
    for ch, glyphs in found.items():
        if len(ch) != 1 or len(glyphs) != 1:
            continue  # a prototype itself (confused with several), or a sequence
        (target,) = glyphs
        pair = len(found.get(target, ())) == 1 and found[target] == [ch]
        drawn[ch] = min(ch, target) if pair else target
    return drawn


def skeleton(name: str) -> str:
    """What `name` looks like: equal skeletons are names a reader cannot tell apart. NFKC, each
    character drawn as its prototype, case folded (as usernames are matched), twice over so
    that a letter whose other case has a prototype is caught too."""
    drawn = _prototypes()
    text = unicodedata.normalize("NFKC", name)
    for _ in range(2):
        text = "".join(drawn.get(ch, ch) for ch in text).casefold()
    return text


def looks_like(name: str, taken: Iterable[str]) -> str | None:
    """The first of `taken` that `name` cannot be told apart from, or None."""
    mine = skeleton(name)
    return next((other for other in taken if skeleton(other) == mine), None)
