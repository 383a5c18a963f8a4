"""The police.uk monthly archive as downloaded: a zip with one folder per month and, in each,
street, outcomes and stop-and-search files per force (`2017-03/2017-03-durham-stop-and-search.csv`).

`stop_search_members` opens it without extracting anything to disk and gives the stop-and-search
files (of one force, or of all), as (file name, content) pairs the importer reads like files
given one by one, so an archive and the same files imported separately are the same rows.
Bounded: the member count, each member's declared size, the total declared size of the files
kept and their compression ratio are checked before anything is read, and no member is read past
its declared size. Every other member (street, outcomes, anything else) is ignored unread.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from divert.core.field_rules import Problem
from divert.ingest.reading import POLICE_UK_NAME
from divert.reference import forces

MAX_MEMBERS = 50_000  # a full police.uk archive (every month since 2010, 3 files x 45 forces) is ~20,000
MAX_MEMBER_BYTES = 256 * 1024 * 1024  # one force-month of stop and search is a few MB at most
MAX_SELECTED_BYTES = 2 * 1024 * 1024 * 1024  # all the stop-and-search files taken from one archive
MAX_RATIO = 200  # CSV compresses ~10:1; far more means a zip bomb


def is_archive(name: str) -> bool:
    return name.lower().endswith(".zip")


def expand_archives(
    kind: str, sources: list[tuple[str, bytes]], force: str | None
) -> tuple[list[tuple[str, bytes]], list[tuple[str, Problem]]]:
    """Stop-search imports: each police.uk archive among `sources` replaced by its
    stop-and-search files (of `force`, or all). Other files and kinds pass through unchanged."""
    if kind != "stop-search" or not any(is_archive(name) for name, _ in sources):
        return sources, []
    expanded: list[tuple[str, bytes]] = []
    problems: list[tuple[str, Problem]] = []
    for name, content in sources:
        if not is_archive(name):
            expanded.append((name, content))
            continue
        members, trouble = stop_search_members(name, content, force)
        expanded += members
        problems += [(name, problem) for problem in trouble]
    return expanded, problems


def _force_of(member: str) -> str | None:
    match = POLICE_UK_NAME.match(PurePosixPath(member).name)
    return match.group("force").lower() if match else None


def stop_search_members(
    name: str, content: bytes, force: str | None = None
) -> tuple[list[tuple[str, bytes]], list[Problem]]:
    """The stop-and-search files in a police.uk archive, of `force` (a police.uk slug) or of
    every force, as (name, content) in name order; or the problems that stop it being read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        return [], [Problem("file", name, f"is not a readable zip archive ({error})")]
    if len(infos) > MAX_MEMBERS:
        return [], [Problem("file", name, f"has {len(infos):,} members; at most {MAX_MEMBERS:,} are read")]
    searches = [
        info for info in infos if not info.is_dir() and _force_of(info.filename) is not None
    ]
    if not searches:
        return [], [Problem("file", name, "has no police.uk stop-and-search files (YYYY-MM-<force>-stop-and-search.csv)")]
    if force is not None:
        try:
            wanted = forces.force(force).slug
        except forces.UnknownForce:
            wanted = force.strip().lower()  # e.g. btp: in the archive, not one of the 43
        kept = [info for info in searches if _force_of(info.filename) == wanted]
        if not kept:
            present = sorted({_force_of(info.filename) for info in searches})
            return [], [Problem("force", force, _no_such_force(force, present))]
        searches = kept
    problems = _size_problems(name, searches)
    if problems:
        return [], problems
    members: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for info in sorted(searches, key=lambda i: i.filename):
        file_name = PurePosixPath(info.filename).name
        if file_name in seen:
            problems.append(Problem("file", info.filename, f"{file_name} is in the archive twice"))
            continue
        seen.add(file_name)
        try:
            with archive.open(info) as member:
                data = member.read(info.file_size + 1)
        except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError, ValueError) as error:
            problems.append(Problem("file", info.filename, f"could not be read from the archive ({error})"))
            continue
        if len(data) != info.file_size:
            problems.append(Problem("file", info.filename, "is not the size the archive declares"))
            continue
        members.append((file_name, data))
    return (members, []) if not problems else ([], problems)


def _size_problems(name: str, searches: list[zipfile.ZipInfo]) -> list[Problem]:
    problems = []
    for info in searches:
        if info.flag_bits & 0x1:
            problems.append(Problem("file", info.filename, "is encrypted"))
        elif info.file_size > MAX_MEMBER_BYTES:
            problems.append(Problem("file", info.filename, f"declares {info.file_size:,} bytes; at most {MAX_MEMBER_BYTES:,}"))
        elif info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            problems.append(Problem("file", info.filename, "compresses implausibly well (a zip bomb?)"))
    total = sum(info.file_size for info in searches)
    if total > MAX_SELECTED_BYTES:
        problems.append(Problem("file", name, f"its stop-and-search files declare {total:,} bytes; at most "
                                              f"{MAX_SELECTED_BYTES:,} at once: import fewer months or one force (--force)"))
    return problems


def _no_such_force(force: str, present: list[str]) -> str:
    hint = ""
    try:
        known = forces.force(force).slug
        hint = f" ({known} has no stop-and-search file in it)"
    except forces.UnknownForce as error:
        near = [f.slug for f in error.suggestions if f.slug in present] or [f.slug for f in error.suggestions]
        if near:
            hint = f"; did you mean {' or '.join(near)}?"
    return f"no stop-and-search file of force {force!r} in the archive{hint}"
