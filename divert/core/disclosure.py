"""The disclosure gate: small-number suppression for the viewer role and anything published.

Every figure a viewer sees, downloads or receives in the page data passes through `Gate.table`
(or `Gate.count` / `Gate.derived` for a single figure), where the figures are made. Its rules:

- a count from 0 to threshold-1 is suppressed: zero too, since a zero shown beside hidden counts
  tells a reader each hidden one is at least 1, and two nested counts shown rounded could then
  pin a small difference between them to four values;
- any figure derived from a suppressed count, or summarising fewer than the threshold number
  of people (a share, rate, interval, median, percentile, hours, ratio), is suppressed too;
- secondary suppression: along each dimension named (the rows of one period, one group over
  time ..., and the values of a filter: `parts`), a lone suppressed cell takes the next
  smallest cell with it, and so do suppressed cells too close to 0 each for a rounded total
  to leave them room (each must be able to lie anywhere from 0 to at least 4), so that no
  total gives a small count back;
- every suppressed cell carries the same note (fewer than the threshold, or hidden to protect
  one), so a reader cannot tell a small count from one hidden to protect it;
- counts that are shown are rounded to the nearest 5 and derived figures to 1-3 significant
  figures, so that two overlapping periods or two nested filters cannot be subtracted to
  recover a hidden count; a share (`shares`) is worked out again from the counts as shown, so
  it tells nothing the rounded counts do not;
- numeric columns that the caller has not declared are dropped: nothing reaches a viewer by
  omission;
- each row says why a figure is missing (`note`), on screen and in the CSV.

Managers, caseworkers and administrators see exact figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from divert.core.codes import REFERENCE_GROUP

SUPPRESSED = "*"
EXACT_ROLES = ("manager", "caseworker", "admin")
NOTE = "note"
ROOM = 4  # a hidden count can always lie anywhere in 0..4 at least, as wide as a rounded one
# A cross-table with its margins (`whole` naming its characteristics: the Outcomes cube) is checked
# for this much more room than promised: its views under the other filters (an area, an age band,
# a source) are gated in calls of their own and count the same records, which its own program
# does not see; the disclosure audit, which sees them all, found 81 counts as of 30 September
# 2026 left 4 values (0-3) instead of 5 with no margin, 21 with one (and 21 with two).
CUBE_MARGIN = 1


@dataclass(frozen=True)
class Gate:
    role: str = "viewer"
    threshold: int = 8
    base: int = 5

    @property
    def exact(self) -> bool:
        return self.role in EXACT_ROLES

    @property
    def small(self) -> str:
        return f"fewer than {self.threshold} people"

    @property
    def hidden_note(self) -> str:
        """What every suppressed count says: the same words whether it is small or hidden to
        protect one, so that the note tells a reader nothing more than that it is at least 0."""
        return f"hidden (fewer than {self.threshold} people, or it would let such a figure be worked out)"

    # --- single figures ---------------------------------------------------------------------
    def count(self, value: int | None) -> int | None:
        """A count as the role may see it: None when hidden, else exact or rounded to base."""
        if value is None or self.exact:
            return value
        if 0 <= value < self.threshold:
            return None
        return self.rounded(value)

    def rounded(self, value: int) -> int:
        return int(self.base * math.floor(value / self.base + 0.5))

    def derived(self, value: float | None, *bases: int | None, summary: bool = False,
                share: bool = False) -> float | None:
        """A figure made from counts: hidden unless the first base (the people it summarises) is
        at least the threshold and every other base is 0 or at least the threshold; shown to
        fewer significant figures the fewer people it summarises (a `summary`, such as a median
        of days, keeps 3). A `share` (the last base over the first) is worked out again from the
        two counts rounded as they would be shown."""
        if value is None or self.exact:
            return value
        if not self.safe(*bases):
            return None
        people = bases[0]
        if share and len(bases) > 1 and bases[-1] and people:
            value = value * (self.rounded(bases[-1]) / bases[-1]) * (people / self.rounded(people))
            people = self.rounded(people)
        return _significant(value, 3 if summary or people >= 1000 else 2 if people >= 100 else 1)

    def safe(self, *bases: int | None) -> bool:
        if self.exact:
            return True
        if not bases or bases[0] is None or bases[0] < self.threshold:
            return False
        return all(b is not None and b >= self.threshold for b in bases[1:])

    # --- tables -----------------------------------------------------------------------------
    def table(self, frame: pl.DataFrame, counts: list[str], derived: dict[str, list[str]] | None = None,
              across: list[list[str]] | None = None, keep: list[str] | None = None,
              summaries: list[str] | None = None, ratio: tuple[str, str, str] | None = None,
              shares: list[str] | None = None, parts: tuple[str, list[str]] | None = None,
              withhold: tuple[str, str, str] | None = None, after: dict[str, str] | None = None,
              whole: bool | list[str] = False, totals: dict | None = None, within: list | None = None) -> pl.DataFrame:
        """The frame as the role may see it. `counts` are count columns; `derived` maps each
        figure made from counts to its base counts (the first: the people it summarises; a
        figure's _low/_high interval columns follow it); `across` lists the key columns along
        which secondary suppression runs; `keep` declares other numeric columns that are safe
        (years, months, thresholds). Undeclared numeric columns are dropped for gated roles.
        A derived figure made as a ratio of counts (a share, rate, ratio) is shown to fewer
        significant figures the fewer people it summarises (1 under 100, 2 under 1,000, else 3),
        so that it cannot be multiplied back to a count; `summaries` (medians, percentiles of
        days) keep 3. A derived text or flag column (a reading, "significant") is hidden with its
        figure. `ratio` names a ratio and its interval (value, low, high): its reading and
        significance are then worked out again from the figures as shown (see `published_ratio`).
        `shares` are derived figures that are one count over another (the last base over the
        first; with one base, over a total the table does not hold): they are worked out again
        from the counts rounded as shown. `parts` = (column, row keys): the frame holds the same
        table for every value of a filter (`column` says which); secondary suppression runs
        within each value's table and, for each row (the same `row keys`), across the values,
        whose counts add up to the table without the filter. `withhold` = (key column, key,
        count column): a table whose count on that row (a funnel's cohort) is from 1 to the
        threshold less 1 is not shown at all (no row), since every figure in it would be about
        too few people and could be differenced against a wider one. `after` maps a share whose
        denominator is a count of the row before (a stage's share of the stage before) to that
        count: it is hidden where that count is hidden. `whole`: the hidden counts are checked
        against all the table's totals at once (divert.core.whole_table); a list names the
        characteristics whose totals are rows of the table (flagged `_all_<name>`, a cross-table
        with its margins, divert.analytics.data.partition). `totals` maps a count to the column of
        its totals and the keys of the rows each adds up (a group's outcomes to its offences); `within`:
        counts nested in another (with `whole`, see `_nested`)."""
        derived = derived or {}
        if self.exact or frame.is_empty():
            return frame
        declared = set(counts) | set(keep or []) | {f"{d}{end}" for d in derived for end in ("", "_low", "_high")}
        dropped = [c for c, t in frame.schema.items() if t.is_numeric() and c not in declared]
        out = frame.drop(dropped)
        groups = [list(keys) for keys in across or []]
        if parts:
            groups = [[*keys, parts[0]] for keys in groups] + [list(parts[1])]
        out = self._flagged(out, counts, groups)
        if whole:
            out = self._whole_by_part(out, counts, groups, [] if whole is True else list(whole), parts, totals, within)
        hidden = {c: pl.col(f"_small_{c}") | pl.col(f"_second_{c}") for c in counts}
        notes = [pl.when(hidden[c]).then(pl.lit(f"{_words(c)}: {self.hidden_note}")) for c in counts]
        derived_hidden = {column: self._unsafe(bases, hidden, (after or {}).get(column), parts)
                          for column, bases in derived.items() if column in out.columns}
        notes += [pl.when(unsafe).then(pl.lit(f"{_words(column)}: based on {self.small}"))
                  for column, unsafe in derived_hidden.items()]
        out = out.with_columns(pl.concat_str([n for n in notes], separator="; ", ignore_nulls=True).alias("_note")
                               if notes else pl.lit(None, pl.String).alias("_note"))
        replacements = []
        for c in counts:
            replacements.append(pl.when(hidden[c]).then(None).otherwise(self._rounded(pl.col(c)).cast(pl.Int64))
                                .alias(c))
        done = set()
        for column, unsafe in derived_hidden.items():
            people = pl.col(derived[column][0]).cast(pl.Float64)
            as_shown = pl.col(column)
            if column in (shares or []):
                as_shown, people = self._share(column, derived[column])
            for name in (column, f"{column}_low", f"{column}_high"):
                if name in out.columns and name not in done:
                    done.add(name)
                    value = as_shown if name == column else pl.col(name)
                    if out.schema[name].is_numeric() and name not in (summaries or []):
                        value = _precision(value.cast(pl.Float64), people)
                    elif out.schema[name].is_numeric():
                        value = value.cast(pl.Float64).round_sig_figs(3)
                    replacements.append(pl.when(unsafe).then(None).otherwise(value).alias(name))
        out = out.with_columns(replacements)
        out = out.with_columns(pl.when(pl.col("_note") == "").then(None).otherwise(pl.col("_note")).alias(NOTE))
        out = out.drop([c for c in out.columns if c.startswith(("_small_", "_second_")) or c == "_note"])
        if withhold:
            out = self._withheld(frame, out, withhold, parts)
        if not ratio:
            return out
        return published_ratio(out, *ratio, small=self.small, estimated=frame[ratio[0]].is_not_null().to_list())

    def _unsafe(self, bases: list[str], hidden: dict[str, pl.Expr], previous: str | None, parts) -> pl.Expr:
        """Where a figure made from `bases` is hidden: a base under the threshold (0 included) or
        hidden, or (`previous`) that count of the row before hidden."""
        unsafe = pl.lit(False)
        for b in bases:
            unsafe = unsafe | (pl.col(b) < self.threshold).fill_null(True) | hidden.get(b, pl.lit(False))
        if previous:
            unsafe = unsafe | hidden[previous].shift(1).over(parts[0] if parts else pl.lit(1)).fill_null(False)
        return unsafe

    def _flagged(self, frame: pl.DataFrame, counts: list[str], groups: list[list[str]]) -> pl.DataFrame:
        """The frame with _small_<count> (0 to threshold-1) and _second_<count> (hidden to protect
        one: secondary suppression along every group, until nothing changes) flags."""
        t = self.threshold
        out = frame.with_columns(*((pl.col(c) < t).fill_null(False).alias(f"_small_{c}")
                                   for c in counts), *(pl.lit(False).alias(f"_second_{c}") for c in counts))
        for _ in range(64):
            changed = False
            for keys in groups:
                for c in counts:
                    before = out[f"_second_{c}"].sum()
                    out = _secondary(out, c, keys, t, self.base)
                    changed |= out[f"_second_{c}"].sum() != before
            if not changed:
                break
        return out

    def _whole_by_part(self, frame: pl.DataFrame, counts: list[str], groups: list[list[str]], dims: list[str],
                       parts, totals: dict, within=None) -> pl.DataFrame:
        """`_whole`, with one filter chosen over every value's table at once (their totals across
        the values are the view without the filter)."""
        totals = totals or {}
        if parts:
            totals = {c: (total, [*keys, parts[0]]) for c, (total, keys) in totals.items()}
            within = [(column, outer, inners, [*keys, parts[0]]) for column, outer, inners, keys in within or ()]
        return self._whole(frame, counts, groups, dims, totals, within)

    def _whole(self, frame: pl.DataFrame, counts: list[str], groups: list[list[str]], dims: list[str],
               totals: dict[str, tuple[str, list[str]]], within=None) -> pl.DataFrame:
        """The flags widened until every hidden count keeps its room against all the table's
        totals at once (each count column on its own, they count different records, but with the
        column of its totals where `totals` names one). A group along a characteristic of `dims`
        adds up to a row of the table (its "All"), exactly."""
        from divert.core.whole_table import protect

        room = ROOM + CUBE_MARGIN if dims else ROOM
        indexed = frame.with_row_index("_at")
        members, sums = [], []  # members: (keys, rows) of totals published elsewhere
        for keys in groups:
            flag = next((f"_all_{d}" for d in dims if f"_all_{d}" in keys and d not in keys), None)
            if flag is None:
                members += [(keys, rows.to_numpy()) for rows in  # in a fixed order: the same cells hidden every time
                            (indexed.group_by(keys, maintain_order=True).agg("_at")["_at"] if keys else [indexed["_at"]])]
                continue
            on = [k for k in keys if k != flag]
            parts = indexed.filter(~pl.col(flag)).group_by(on, maintain_order=True).agg("_at")
            heads = indexed.filter(pl.col(flag)).select(*on, pl.col("_at").alias("_total"))
            joined = parts.join(heads, on=on, how="inner", nulls_equal=True).sort("_total")
            sums += [(total, part.to_numpy()) for part, total in zip(joined["_at"], joined["_total"], strict=True)]
        out, done = frame, set()
        for c in counts:
            if c in done:
                continue
            values = frame[c].fill_null(0).cast(pl.Int64).to_numpy()
            hidden = (frame[f"_small_{c}"] | frame[f"_second_{c}"]).to_numpy()
            if c not in totals:
                n, (rests, nested) = len(values), _nested(indexed, values, within)
                free = np.ones(len(rests), dtype=bool)
                wider = protect(np.concatenate([values, rests]), np.concatenate([hidden, free]),
                                [rows for _, rows in members], self.threshold, self.base, room, [*sums, *nested],
                                free=np.concatenate([np.zeros(n, dtype=bool), free]))[:n]
                out = out.with_columns((pl.col(f"_second_{c}") | pl.Series(wider & ~hidden)).alias(f"_second_{c}"))
                continue
            total, keys = totals[c]
            done.add(total)
            out = self._with_totals(out, indexed, c, total, keys, values, hidden, members, sums, protect, room)
        return out

    def _with_totals(self, out, indexed, c, total, keys, values, hidden, members, sums, protect,
                     room: int) -> pl.DataFrame:
        """Column c checked together with the column of its totals (`total` on each row is the sum
        of c over the rows sharing `keys`, repeated): one unknown per total, equal to its parts,
        which add up along the table's characteristics as the parts do. A total shown on any row
        is known; one hidden is hidden on every row."""
        hidden_total = pl.col(f"_small_{total}") | pl.col(f"_second_{total}")
        by = indexed.group_by(keys, maintain_order=True).agg("_at", pl.col(total).first().fill_null(0).alias("_t"),
                                                              hidden_total.all().alias("_hidden"))
        n = len(values)
        group_of = np.empty(n, dtype=np.int64)
        for j, rows in enumerate(by["_at"]):
            group_of[rows.to_numpy()] = j
        along = {(int(group_of[t]), tuple(sorted(set(group_of[p].tolist())))) for t, p in sums}  # the totals' own sums
        joint = [*sums, *((n + j, rows.to_numpy()) for j, rows in enumerate(by["_at"])),
                 *((n + t, n + np.array(p)) for t, p in sorted(along))]
        wider = protect(np.concatenate([values, by["_t"].cast(pl.Int64).to_numpy()]),
                        np.concatenate([hidden, by["_hidden"].to_numpy()]),
                        [rows for k, rows in members if sorted(k) != sorted(keys)], self.threshold, self.base, room, joint)
        hidden_totals = wider[n:][group_of]
        return out.with_columns((pl.col(f"_second_{c}") | pl.Series(wider[:n] & ~hidden)).alias(f"_second_{c}"),
                                (pl.col(f"_second_{total}") | pl.Series(hidden_totals)).alias(f"_second_{total}"))

    def _withheld(self, frame: pl.DataFrame, out: pl.DataFrame, withhold: tuple[str, str, str], parts) -> pl.DataFrame:
        """`out` without the tables (each value's, with `parts`) whose withheld-on count is small."""
        column, key, count = withhold
        few = frame.filter((pl.col(column) == key) & (pl.col(count) > 0) & (pl.col(count) < self.threshold))
        if parts:
            return out.filter(~pl.col(parts[0]).is_in(few[parts[0]].implode()))
        return out.head(0) if few.height else out

    def _rounded(self, value: pl.Expr) -> pl.Expr:
        return (value.cast(pl.Float64) / self.base + 0.5).floor() * self.base

    def _share(self, column: str, bases: list[str]) -> tuple[pl.Expr, pl.Expr]:
        """A share worked out again from its counts as shown, and the people it summarises as
        shown: the last base over the first, or over the total (count / share) with one base."""
        value, top = pl.col(column).cast(pl.Float64), pl.col(bases[-1]).cast(pl.Float64)
        bottom = pl.col(bases[0]).cast(pl.Float64) if len(bases) > 1 else top / value
        shown = pl.when(value == 0).then(0.0).otherwise(
            value * (self._rounded(top) / top) * (bottom / self._rounded(bottom)))
        return shown, self._rounded(pl.col(bases[0]))


def _nested(indexed: pl.DataFrame, values: np.ndarray, within) -> tuple[np.ndarray, list]:
    """`within` lists (column, outer, inners, keys): the records counted on the rows whose `column`
    is one of `inners` (no record on two of them) are among those on the row of `outer` with the
    same `keys` (people who reached a course were assessed first), so their sum is at most its
    count. For each such set of rows: the rest of the outer count beyond its inner ones (outer
    less their sum), and the sum that says so (outer = the inners + its rest, the rest a count
    after the table's own and every rest before it)."""
    rests, sums, n = [], [], len(values)
    indexed = indexed.with_columns(pl.lit(0).alias("_one"))  # a join key for a table of one row per value
    for column, outer, inners, keys in within or ():
        keys = keys or ["_one"]
        rows = indexed.filter(pl.col(column) == outer).select(*keys, pl.col("_at").alias("_outer"))
        for k, inner in enumerate(inners):
            rows = rows.join(indexed.filter(pl.col(column) == inner).select(*keys, pl.col("_at").alias(f"_in{k}")),
                             on=keys, how="left", nulls_equal=True)
        for row in rows.sort("_outer").iter_rows(named=True):
            parts = [row[f"_in{k}"] for k in range(len(inners)) if row[f"_in{k}"] is not None]
            if parts:
                sums.append((int(row["_outer"]), np.array([*parts, n + len(rests)])))
                rests.append(max(int(values[row["_outer"]] - values[parts].sum()), 0))
    return np.array(rests, dtype=np.int64), sums


def published_ratio(frame: pl.DataFrame, value: str, low: str, high: str, *, small: str,
                    estimated: list[bool] | None = None) -> pl.DataFrame:
    """A rounded ratio as published: its reading written from the rounded value (to the digits
    shown), its significance judged on the rounded interval, and words instead of an empty cell
    where it is suppressed. A row with no ratio at all (no reference, no population) says so;
    `estimated` tells, row by row, whether there was a ratio before the gate."""
    rows = frame.select(value, low, high, "group" if "group" in frame.columns else pl.lit(None).alias("group"),
                        "reading" if "reading" in frame.columns else pl.lit(None, pl.String).alias("reading"),
                        ).rows()
    estimated = estimated if estimated is not None else [True] * len(rows)
    readings, verdicts = [], []
    for (ratio, lower, upper, group, reading), was in zip(rows, estimated, strict=True):
        hidden = ratio is None and was
        if group == REFERENCE_GROUP:
            readings.append(reading or "reference group (1 by definition)")
            verdicts.append("reference group")
        elif hidden:
            readings.append(f"suppressed ({small})")
            verdicts.append(f"suppressed ({small})")
        elif ratio is None:
            readings.append("no ratio (no reference rate or no population)")
            verdicts.append("no ratio")
        else:
            readings.append(shown_reading(ratio))
            verdicts.append("no interval" if lower is None or upper is None
                            else "yes" if lower > 1 or upper < 1 else "no")
    out = frame.with_columns(pl.Series("reading", readings, dtype=pl.String))
    return out.with_columns(pl.Series("significant", verdicts, dtype=pl.String))

def shown_reading(ratio: float) -> str:
    """The reading of a ratio rounded for publication, to the digits it is shown with (never
    more precise than the number beside it)."""
    if ratio == 0:
        return "none at this stage"
    if ratio == 1:
        return "about the White rate (rounded)"
    return f"about {ratio:g} times the White rate (rounded)"


def _precision(value: pl.Expr, people: pl.Expr) -> pl.Expr:
    """Significant figures by the number of people a figure summarises."""
    return (pl.when(people >= 1000).then(value.round_sig_figs(3))
            .when(people >= 100).then(value.round_sig_figs(2))
            .otherwise(value.round_sig_figs(1)))


def _secondary(frame: pl.DataFrame, column: str, keys: list[str], threshold: int, base: int) -> pl.DataFrame:
    """In a group (rows sharing `keys`, whose total is published rounded elsewhere: the period,
    the view without the filter) with a hidden cell, hide its next smallest non-zero cell too
    when what is shown leaves a hidden cell too little room. An intruder knows each hidden cell
    is at least 0 (zeros are hidden too), each shown cell and the total within their rounding
    (x - 2 to x + 2 for base 5); the hidden cells then add up to at most the total's top less the
    shown cells' bottoms (and, for a lone hidden cell, at least the total's bottom less their
    tops). Moving the other hidden cells down to 0 leaves any one of them that much room; fewer
    than `ROOM` + 1 values (a count shown rounded keeps five) takes another cell with it."""
    small, second = f"_small_{column}", f"_second_{column}"
    over = keys or [pl.lit(1)]
    half = base // 2
    value = pl.col(column).cast(pl.Int64)
    is_hidden = pl.col(small) | pl.col(second)
    rounded = ((value.cast(pl.Float64) / base + 0.5).floor() * base).cast(pl.Int64)
    shown = ~is_hidden & (value > 0)
    total = value.sum().over(over)
    total_shown = ((total.cast(pl.Float64) / base + 0.5).floor() * base).cast(pl.Int64)
    ranked = frame.with_row_index("_row").with_columns(
        is_hidden.sum().over(over).alias("_n_hidden"),
        (total_shown + half - pl.when(shown).then(pl.max_horizontal(rounded - half, pl.lit(threshold)))
         .otherwise(0).sum().over(over)).alias("_most"),
        (pl.max_horizontal(total_shown - half, pl.lit(threshold))
         - pl.when(shown).then(rounded + half).otherwise(0).sum().over(over)).alias("_least"),
        (total < threshold).alias("_total_hidden"),
        pl.when(shown).then(value).otherwise(None).rank("ordinal").over(over).alias("_rank"),
    )
    n = pl.col("_n_hidden")
    room = pl.col("_most") - pl.when(n == 1).then(pl.max_horizontal(pl.col("_least"), pl.lit(0))).otherwise(0)
    short = (n >= 1) & ~pl.col("_total_hidden") & (room < ROOM)
    return ranked.with_columns(
        (pl.col(second) | (short & (pl.col("_rank") == 1)).fill_null(False)).alias(second)
    ).sort("_row").drop("_row", "_n_hidden", "_most", "_least", "_total_hidden", "_rank")


def _significant(value: float | None, digits: int = 3) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == 0:
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def _words(column: str) -> str:
    return column.replace("_", " ")


def for_display(frame: pl.DataFrame, counts: list[str]) -> pl.DataFrame:
    """Counts as text with '*' where the gate hid them (null with a note), for tables and
    downloads."""
    if NOTE not in frame.columns:
        return frame
    out = frame
    for column in counts:
        if column in out.columns:
            out = out.with_columns(
                pl.when(pl.col(column).is_null() & pl.col(NOTE).is_not_null()).then(pl.lit(SUPPRESSED))
                .otherwise(pl.col(column).cast(pl.String)).alias(column))
    return out


def too_narrow(frames, filters, threshold: int) -> str | None:
    """For a gated role: why these filters may not be shown, or None. The people in scope (the
    period's offences and referrals within the filters) must be at least the threshold (or, with
    no filter, none at all: an empty period), and those that each filter leaves out within the
    others none or at least the threshold (otherwise two nested filters could be subtracted to
    give a small group back). A filter of no people is refused like one of a few, since its
    counts would all be hidden (zeros are too) and the refusal must not tell 0 from 1."""
    from dataclasses import replace

    def sizes(chosen):
        return [chosen.apply(frames.offences, "offence_date").height, chosen.apply(frames.referrals, "referred_on").height]

    def small(values):
        return any(0 < v < threshold for v in values)

    chosen = [name for name in ("area", "source", "age_band", "sex", "ethnic_group") if getattr(filters, name) is not None]
    within = sizes(filters)
    if small(within) or (chosen and 0 in within):
        return f"These filters leave fewer than {threshold} people, too few to show without identifying anyone."
    for name in chosen:
        wider = sizes(replace(filters, **{name: None}))
        left_out = [w - n for w, n in zip(wider, within, strict=True)]
        if small(left_out):
            return (f"Choosing this {name.replace('_', ' ')} leaves out fewer than {threshold} people, who could be "
                    "worked out by comparing with the wider view. Choose a wider filter.")
    return None
