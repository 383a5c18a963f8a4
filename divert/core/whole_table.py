"""Secondary suppression checked over a whole table: for a table whose cells add up along two
or more dimensions at once (a cross-table of groups by outcome, with both margins published),
the gate's rule for one total at a time is not enough. A hidden cell's row and its column may
each leave it room on their own while the other hidden cells of its row are held by their own
columns, so that together they pin it down.

`protect` solves the intruder's linear program for the table (HiGHS, through highspy): every
shown count within its rounding, every hidden count at least 0, every total of a group within
its rounding (a total the table does not hold is taken as published too, which only makes the
intruder stronger). A hidden count whose least and greatest values are closer than the promise
(`room` for a count under the threshold, not pinned for one hidden to protect it) takes the
smallest shown count of one of its groups with it, and the check runs again. Hiding a count
only widens every range, so a count proved safe stays safe. This is tau-ARGUS's modular method
for one table; the disclosure audit (divert.intruder) checks the result across tables.

General: nothing here knows what the cells count.
"""

from __future__ import annotations

import math
import os
import sys

import highspy
import numpy as np
from scipy import sparse

EPS = 1e-7
ROUNDS = 12  # rounds of hiding more, at most
PUSHES = 6  # solves that move many hidden counts at once, before one count at a time


def protect(values: np.ndarray, hidden: np.ndarray, groups: list[np.ndarray], threshold: int, base: int,
            room: int, sums: list[tuple[int, np.ndarray]] = (), free: np.ndarray | None = None) -> np.ndarray:
    """`hidden` (a mask over `values`) with the counts added that keep every hidden count's range
    at least `room` wide (at least 1 for a count of threshold or more). `groups` are sets of
    counts whose total is published elsewhere (rounded, where it is at least the threshold);
    `sums` are (total, parts) of the table itself: the total is one of its counts, equal to the
    sum of the others whether either is shown or not. `free` marks counts that are never
    published (hidden, and nothing to protect): the rest of a total beyond a part that is nested
    in it (those assessed who have not reached a course), which lets `sums` say that one count
    is at most another."""
    hidden = hidden.copy()
    free = np.zeros(len(values), dtype=bool) if free is None else free
    if not (hidden & ~free).any() or not (len(groups) or len(sums)):
        return hidden
    program = _Program(values, hidden | free, groups, threshold, base, room, sums)
    unproved = set(np.flatnonzero(hidden & ~free).tolist())
    totals = {int(total) for total, _ in sums}
    for _ in range(ROUNDS):
        short = program.short(sorted(unproved))
        unproved = set()
        added = []
        for r in short:
            if set(program.binding.get(r, [])).intersection(added):
                unproved.add(r)  # a count hidden this round holds it: look again before hiding more
                continue
            binding = [c for c in program.binding.get(r, []) if not hidden[c]]
            if binding:  # else held only by totals published elsewhere: the audit has the last word
                pick = min(binding, key=lambda c: (c in totals, values[c], c))  # parts before totals
                unproved.add(r)
                hidden[pick] = True
                added.append(pick)
        if not added:
            break
        program.hide(added)
        unproved.update(added)
    return hidden


class _Program:
    def __init__(self, values, hidden, groups, threshold, base, room, sums):
        self.values = values.astype(float)
        self.n = len(values)
        self.room, self.threshold = room, threshold
        self.half = base // 2
        self.cap = float(values.max(initial=0)) + room + 1  # high enough to prove any count safe
        self.shown_low = np.maximum(self._rounded(values, base) - self.half, threshold).astype(float)
        self.shown_high = (self._rounded(values, base) + self.half).astype(float)
        rows, cols, low, high, values_in = [], [], [], [], []
        line = 0
        for group in groups:
            total = int(values[group].sum())
            if total < threshold or len(group) < 2:
                continue  # a hidden total says nothing; a total of one cell is the cell
            shown = self._rounded(np.array([total]), base)[0]
            rows += [line] * len(group)
            cols += group.tolist()
            values_in += [1.0] * len(group)
            low.append(max(shown - self.half, threshold))
            high.append(shown + self.half)
            line += 1
        for total, parts in sums:  # the parts less the total: exactly 0
            rows += [line] * (len(parts) + 1)
            cols += [*parts.tolist(), int(total)]
            values_in += [1.0] * len(parts) + [-1.0]
            low.append(0.0)
            high.append(0.0)
            line += 1
        matrix = sparse.csc_array((np.array(values_in), (rows, cols)), shape=(line, self.n))
        self.lines_of: dict[int, list[int]] = {}  # a count -> the totals it is in
        for at_line, col in zip(rows, cols, strict=True):
            self.lines_of.setdefault(int(col), []).append(at_line)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n, line
        lp.col_cost_ = np.zeros(self.n)
        col_low = np.where(hidden, 0.0, self.shown_low)
        col_high = np.where(hidden, self.cap, self.shown_high)
        lp.col_lower_, lp.col_upper_ = col_low, col_high
        lp.row_lower_, lp.row_upper_ = np.array(low, dtype=float), np.array(high, dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data.astype(float)
        self.highs = quiet_highs(primal=True)
        self.highs.passModel(lp)
        self.shown = ~hidden.copy()
        self.binding: dict[int, list[int]] = {}  # a count left short -> the shown counts that hold it
        self.low = self.values.copy()  # the true counts are a solution
        self.high = self.values.copy()

    @staticmethod
    def _rounded(values, base):
        return (base * np.floor(np.asarray(values, dtype=float) / base + 0.5)).astype(int)

    def hide(self, rows: list[int]) -> None:
        index = np.array(rows, dtype=np.int32)
        self.shown[index] = False
        self.highs.changeColsBounds(len(index), index, np.zeros(len(index)), np.full(len(index), self.cap))

    def _needed(self, r: int) -> int:
        return self.room if self.values[r] < self.threshold else 1

    def _wide(self, r: int) -> bool:
        return math.floor(self.high[r] + EPS) - math.ceil(self.low[r] - EPS) >= self._needed(r)

    def _solve(self, cost: dict[int, float]) -> None:
        """Minimise the cost; the solution widens every count's range seen so far."""
        index = np.array(list(cost), dtype=np.int32)
        self.highs.changeColsCost(len(index), index, np.array(list(cost.values()), dtype=float))
        self.highs.run()
        solved = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        solution = self.highs.getSolution() if solved else None
        self.highs.changeColsCost(len(index), index, np.zeros(len(index)))
        if solution is None:
            return None
        x = np.asarray(solution.col_value)
        self.low = np.minimum(self.low, x)
        self.high = np.maximum(self.high, x)
        return np.asarray(solution.col_dual)

    def short(self, targets: list[int]) -> list[int]:
        """The targets whose range stays narrower than the promise."""
        for sign in (-1.0, 1.0):  # every target pushed up together, then down
            self._solve(dict.fromkeys(targets, sign))
        rng = np.random.default_rng(len(targets))
        left = targets
        for push in range(PUSHES):  # then those left up together, and in mixed directions
            before, left = len(left), [r for r in left if not self._wide(r)]
            if len(left) < PUSHES or (push and len(left) == before):
                break
            self._solve(dict(zip(left, rng.choice([-1.0, 1.0], len(left)) if push % 2 else [-1.0] * len(left),
                                 strict=True)))
        while True:  # then sets of those left that share no total, each up together
            together = self._independent([r for r in targets if not self._wide(r)])
            if len(together) < PUSHES:
                break
            self._solve(dict.fromkeys(together, -1.0))
            if all(not self._wide(r) for r in together):
                break
        left = []
        for r in targets:
            held = set()
            for sign in (-1.0, 1.0):
                if not self._wide(r) and (sign < 0 or self.low[r] > EPS):  # 0 is as low as any count goes
                    duals = self._solve({r: sign})
                    if duals is not None:  # the shown counts at the end of their rounding that hold it
                        held.update(np.flatnonzero((np.abs(duals) > EPS) & self.shown).tolist())
            if not self._wide(r):
                left.append(r)
                self.binding[r] = sorted(held)
        return left


    def _independent(self, candidates: list[int]) -> list[int]:
        """A greedy set of the candidates no two of which are in the same total."""
        taken, chosen = set(), []
        for r in candidates:
            lines = self.lines_of.get(r, ())
            if not taken.intersection(lines):
                chosen.append(r)
                taken.update(lines)
        return chosen


def quiet_highs(primal: bool = False) -> highspy.Highs:
    """A solver that prints nothing: HiGHS writes its banner to the process's standard output
    (file descriptor 1, below Python's sys.stdout) when it is made, which would spoil
    `--format json`. Every solve after the first starts from the last basis; `primal` for a
    model whose objective changes between solves (the last basis stays feasible)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("solver", "simplex")
    if primal:
        highs.setOptionValue("simplex_strategy", 4)
    return highs
