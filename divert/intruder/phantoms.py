"""Records that could exist but do not: the intruder's unknowns include them.

The attack's unknowns are the numbers of records of each kind, a kind being the records counted
in the same published figures. Built from the real records only, the intruder would be told which
combinations of characteristics occur at all: that the one person of sex "other" referred in
November 2020 lived in Walsall, so that Walsall's counts bound theirs. A real intruder knows no
such thing. So for every record counted in a small hidden count, the audit also reads copies of
it with one characteristic (area, source, age band, sex, ethnic group) changed to the most common
other value, copies without one step of the pathway it took (STEPS_NOT_TAKEN) and, for a
referral, a copy re-detected the day after (a further offence by its person): kinds of
record that might have been there, numbering 0 in truth, which the programs may raise wherever
every published figure allows. A copy that would appear in a row a published
table does not have (a table shows it does not exist) is left out.

A hidden count of no records at all (zeros are hidden too) would otherwise have no kind of record
to raise, and so be told to be 0: for each, within one filter value, a record of the same count
without the filter is copied with that filter's value, so that it could be there.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl

from divert.analytics.data.frames import Frames
from divert.analytics.data.partition import CHARACTERISTICS, MISSING
from divert.intruder.surface import INDEX, KINDS, Surface

# a step of the pathway a referral may not have taken yet, whatever else it has (assessed but not
# yet allocated, allocated but not booked or attended, not yet closed): copies without it, so the
# intruder is not told that everyone assessed was allocated, or everyone who complied attended
STEPS_NOT_TAKEN = ("allocation", "first_booked_at", "attended_at", "closure_result")


def phantoms(frames: Frames, surface: Surface, threshold: int) -> Frames:
    """The copies, as frames of their own (negative ids), for the records of every small count
    (1 to threshold-1) the role receives hidden."""
    small = [m for f, m in zip(surface.figures, surface.members, strict=True)
             if f.hidden and 0 < len(m) < threshold]
    positions = np.unique(np.concatenate(small)) if small else np.zeros(0, dtype=np.int64)
    made, empty = {}, _empty_counts(surface)
    records = {kind: getattr(frames, kind).filter(pl.col(id_column).is_in(
        surface.ids[kind].filter(pl.col(INDEX).is_in(positions))[id_column].implode())) for kind, id_column in KINDS.items()}
    again = _redetected(records["referrals"], frames.offences)
    for kind, id_column in KINDS.items():
        every, mine = getattr(frames, kind), records[kind]
        copies = [_changed(mine, every, name) for name in CHARACTERISTICS if name in every.columns]
        copies += [mine.filter(pl.col(name).is_not_null()).with_columns(pl.lit(None).cast(every.schema[name]).alias(name))
                   for name in STEPS_NOT_TAKEN if name in every.columns]
        copies += [*_into_empty(empty, surface, kind, every, id_column), again[kind]]
        copies = [c for c in copies if c is not None and c.height]
        frame = pl.concat(copies) if copies else mine.head(0)
        made[kind] = frame.with_columns(pl.int_range(-frame.height, 0, dtype=frame.schema[id_column]).alias(id_column))
    return replace(frames, offences=made["offences"], referrals=made["referrals"])


def _redetected(referrals: pl.DataFrame, offences: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The referrals re-detected: a copy of each, and a further offence by its person the day
    after it (a copy of its own offence, with no outcome yet), so that the intruder is not told
    that nobody in a small count offended again."""
    later = (offences.join(referrals.select("offence_id", "referred_on"), on="offence_id", how="inner")
             .with_columns((pl.col("referred_on") + pl.duration(days=1)).alias("offence_date"),
                           pl.lit(None).cast(offences.schema["outcome"]).alias("outcome"),
                           pl.lit(None).cast(offences.schema["outcome_date"]).alias("outcome_date"))
             .drop("referred_on"))
    return {"referrals": referrals, "offences": later}


def _empty_counts(surface: Surface) -> dict[tuple[str, str | None], set[int]]:
    """The hidden counts of no records in a view of one filter value: (the filter, its value) ->
    the position of one record of the same count without the filter, for each."""
    names = {f.name: i for i, f in enumerate(surface.figures)}
    wanted: dict[tuple[str, str | None], set[int]] = {}
    for f, m in zip(surface.figures, surface.members, strict=True):
        if not f.hidden or len(m):
            continue
        *view, chosen = f.where.split("; ")
        name = next((c for c in CHARACTERISTICS if chosen.startswith(c.replace("_", " ") + " ")), None)
        twin = names.get(f"{f.table} [{'; '.join([*view, 'no filter'])}] {f.what}")
        if name is None or twin is None or not len(surface.members[twin]):
            continue
        value = chosen[len(name) + 1:]
        wanted.setdefault((name, None if value == MISSING else value), set()).add(int(surface.members[twin][0]))
    return wanted


def _into_empty(empty: dict[tuple[str, str | None], set[int]], surface: Surface, kind: str, every: pl.DataFrame,
                id_column: str) -> list[pl.DataFrame]:
    """Of this kind, the records of `empty` (divert.intruder.phantoms._empty_counts) copied with
    the filter's value, so that each could be in its hidden count."""
    out = []
    for (name, value), positions in empty.items():
        if name not in every.columns:
            continue
        chosen = surface.ids[kind].filter(pl.col(INDEX).is_in(list(positions)))[id_column]
        records = every.filter(pl.col(id_column).is_in(chosen.implode()))
        out.append(records.with_columns(pl.lit(value).cast(every.schema[name]).alias(name)))
    return out


def _changed(records: pl.DataFrame, every: pl.DataFrame, name: str) -> pl.DataFrame | None:
    """The records with `name` set to its most common value, or to the next most common where
    that is already theirs."""
    common = every[name].cast(pl.String).drop_nulls().value_counts(sort=True)[name].to_list()
    if not common or records.is_empty():
        return None
    first, second = common[0], (common[1] if len(common) > 1 else common[0])
    value = pl.when(pl.col(name).cast(pl.String) == first).then(pl.lit(second)).otherwise(pl.lit(first))
    return records.with_columns(value.cast(every.schema[name]).alias(name))
