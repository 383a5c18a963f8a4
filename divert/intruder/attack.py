"""The intruder's linear programs: for every hidden count, the least and the greatest value it can
take given everything published (HiGHS, through highspy).

What is published is a list of figures (divert.intruder.surface.Surface). Each count is the
number of records in a set; the intruder does not know the records, only that each count lies in
what was published for it (exact, a rounded interval, 1 to threshold-1 for a count hidden as
small, at least the threshold for one hidden to protect another) and that each share or rate
shown lies within its rounding. The unknowns are the numbers of records of each kind ("atoms":
records counted in exactly the same published figures), never negative. For a hidden count the
attack solves min and max of its sum over atoms; both ends are reached by solutions of the whole
system, across tables, filters, periods and as-of dates at once.

Speed: identical figures (the same records counted in two tables, periods or as-of dates) are
one row; records counted in the same figures are one unknown; each hidden count is attacked only
within the connected part of the system that holds it; and a few solutions that push every hidden
count of a part down, up and in random directions at once are tried first, so that only a count
that these leave narrower than the protection gets a program of its own.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

EPS = 1e-7
Progress = Callable[[str, float], None]


@dataclass
class Figure:
    """One published figure about a count: where it is, what it says about the true count."""
    table: str
    where: str  # the view: as-of date, period, filter
    what: str  # the row and column
    low: float  # what the intruder knows of the true count
    high: float
    hidden: str | None = None  # None where shown; else "small" (1 to threshold-1) or "protecting"
    exact: int | None = None  # the true count (to check the audit's own definitions)

    @property
    def name(self) -> str:
        return f"{self.table} [{self.where}] {self.what}"


@dataclass
class Ratio:
    """A published share or rate: numerator / denominator (figure indices) within [low, high]."""
    numerator: int
    denominator: int
    low: float
    high: float
    table: str
    where: str
    what: str

    @property
    def name(self) -> str:
        return f"{self.table} [{self.where}] {self.what}"


@dataclass
class Range:
    """What the intruder can learn of one hidden count."""
    figures: list[str]  # the figures that publish this count (the same records), by name
    low: float
    high: float
    exact: int
    solved: bool  # True: the ends are the least and greatest values; False: values reached (a wider range exists)
    needed: int  # the width the gate promises it: `protection` for a small count, else 1 (not pinned)
    given_away_by: list[str] = field(default_factory=list)  # the published figures that bind the ends

    @property
    def width(self) -> int:
        """Whole values between the ends (a count is whole)."""
        return max(0, math.floor(self.high + EPS) - math.ceil(self.low - EPS))

    @property
    def leak(self) -> bool:
        return self.width < self.needed


@dataclass
class Findings:
    ranges: list[Range]
    leaks: list[Range]
    figures: int  # published figures read
    tables: int  # distinct published tables (views)
    rows: int  # distinct counts (after merging identical figures)
    ratios: int
    atoms: int
    components: int
    programs: int  # linear programs solved
    seconds: float
    protection: int

    @property
    def narrowest(self) -> Range | None:
        """The small count known most closely (else any hidden count)."""
        small = [r for r in self.ranges if r.needed > 1] or self.ranges
        return min(small, key=lambda r: (r.width, r.high - r.low), default=None)


class Inconsistent(Exception):
    """A published figure does not hold its own true count: the audit's definitions are wrong."""


def attack(figures: list[Figure], members: list[np.ndarray], n_records: int, ratios: list[Ratio],
           protection: int, threshold: int, progress: Progress | None = None, directions: int = 4) -> Findings:
    """Every hidden count's feasible range. The gate's promise: a small count (1 to threshold-1)
    is never known more closely than a rounded count is (a range at least `protection` wide:
    x-2..x+2 for rounding to 5), and no hidden count is pinned to one value. A leak breaks it."""
    started = time.perf_counter()
    progress = progress or (lambda step, fraction: None)
    rows, of_figure = _merge_rows(figures, members)
    index = sparse.csr_array(_incidence([members[r[0]] for r in rows], n_records))
    atoms, counts = _merge_columns(index)
    matrix = sparse.csr_array(index @ atoms)  # rows x atoms
    low = np.array([max(figures[i].low for i in r) for r in rows])
    high = np.array([min(figures[i].high for i in r) for r in rows])
    truth = np.array([len(members[r[0]]) for r in rows], dtype=float)
    _check(figures, rows, low, high, truth)
    links = [(of_figure[q.numerator], of_figure[q.denominator], q) for q in ratios]
    targets = [k for k, r in enumerate(rows) if any(figures[i].hidden for i in r)]
    labels, group = _components(matrix, links, len(rows))
    by_part = defaultdict(list)
    for k in targets:
        by_part[group[k]].append(k)
    ranges: dict[int, Range] = {}
    programs = 0
    done = 0
    for part, wanted in by_part.items():
        solver = _Part(matrix, low, high, links, np.flatnonzero(group == part), counts)
        for k in wanted:
            small = 1 <= truth[k] < threshold
            ranges[k] = Range([figures[i].name for i in rows[k]], math.inf, -math.inf, int(truth[k]), False,
                              protection if small else 1)

        def seen(solution, wanted=wanted):
            for k in wanted:
                value = solution[k]
                ranges[k].low, ranges[k].high = min(ranges[k].low, value), max(ranges[k].high, value)

        rng = np.random.default_rng(29)
        for sign in [1.0, -1.0, *(rng.choice([-1.0, 1.0], len(wanted)) for _ in range(directions))]:
            solution = solver.solve(dict(zip(wanted, np.broadcast_to(sign, len(wanted)), strict=True)))
            programs += 1
            if solution is None:
                raise Inconsistent("the published figures admit no solution: the audit's definitions disagree "
                                   "with what is published")
            seen(solution[0])
        for k in wanted:
            r = ranges[k]
            ends = []
            for sign in (1.0, -1.0):
                if r.width >= r.needed:
                    break
                solution = solver.solve({k: sign})
                programs += 1
                seen(solution[0])
                ends.append(solution[1])
            if len(ends) == 2:
                r.solved = True
            if r.leak:
                r.given_away_by = _binding(figures, rows, links, ends)
            done += 1
            progress(f"attacking hidden counts ({done}/{len(targets)})", done / max(1, len(targets)))
    found = [ranges[k] for k in targets]
    leaks = [r for r in found if r.leak]
    views = {(f.table, f.where) for f in figures}
    return Findings(found, leaks, len(figures), len(views), len(rows), len(ratios), atoms.shape[1],
                    len(by_part), programs, time.perf_counter() - started, protection)


def _merge_rows(figures, members) -> tuple[list[list[int]], dict[int, int]]:
    """Figures counting the same records are one count: [figure indices] per row, and each
    figure's row (figures counting no record at all are one row, of value 0)."""
    rows: dict[bytes, list[int]] = {}
    for i, m in enumerate(members):
        rows.setdefault(np.sort(m).astype(np.int64).tobytes(), []).append(i)
    listed = list(rows.values())
    return listed, {i: k for k, r in enumerate(listed) for i in r}


def _incidence(sets: list[np.ndarray], n: int) -> sparse.csr_array:
    sizes = [len(s) for s in sets]
    rows = np.repeat(np.arange(len(sets)), sizes)
    cols = np.concatenate(sets) if sets else np.zeros(0, dtype=np.int64)
    return sparse.csr_array((np.ones(len(cols)), (rows, cols)), shape=(len(sets), n))


def _merge_columns(index: sparse.csr_array) -> tuple[sparse.csr_array, np.ndarray]:
    """Records counted in exactly the same rows are one unknown: the records x atoms map and
    how many records each atom holds. Records counted nowhere are left out."""
    columns = sparse.csc_array(index)
    keys: dict[bytes, int] = {}
    atom_of = np.full(index.shape[1], -1)
    for j in range(index.shape[1]):
        found = columns.indices[columns.indptr[j]:columns.indptr[j + 1]]
        if len(found):
            atom_of[j] = keys.setdefault(np.sort(found).tobytes(), len(keys))
    used = np.flatnonzero(atom_of >= 0)
    mapping = sparse.csr_array((np.ones(len(used)), (used, atom_of[used])), shape=(index.shape[1], len(keys)))
    return mapping, np.bincount(atom_of[used], minlength=len(keys))


def _check(figures, rows, low, high, truth) -> None:
    for k, r in enumerate(rows):
        if not low[k] - EPS <= truth[k] <= high[k] + EPS:
            names = "; ".join(figures[i].name for i in r[:3])
            raise Inconsistent(f"{names}: published as {low[k]:g}..{high[k]:g} but counts {truth[k]:g} records")
        for i in r:
            if figures[i].exact is not None and figures[i].exact != truth[k]:
                raise Inconsistent(f"{figures[i].name}: the page counts {figures[i].exact}, the audit's definition "
                                   f"{truth[k]:g}")


def _components(matrix, links, n_rows) -> tuple[int, np.ndarray]:
    """Connected parts of the system: rows joined through shared atoms and through ratios."""
    coo = sparse.coo_array(matrix)
    n = n_rows + matrix.shape[1]
    rows = [coo.row, *(np.array([a]) for a, _, _ in links)]
    cols = [coo.col + n_rows, *(np.array([b]) for _, b, _ in links)]
    graph = sparse.coo_array((np.ones(sum(len(r) for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    return count, labels[:n_rows]


class _Part:
    """One connected part as a linear program (HiGHS, kept between solves so that each solve
    starts from the last one's basis): unknowns are the atoms and one value per count (the count
    equals its atoms' sum and lies in its published interval); a ratio is two inequalities on
    the counts."""

    def __init__(self, matrix, low, high, links, rows, counts):
        self.rows = rows
        self.local = local = {int(k): i for i, k in enumerate(rows)}
        block = sparse.csc_array(matrix[rows])
        atoms = np.flatnonzero(np.diff(block.indptr))
        block = block[:, atoms]
        self.n_atoms, n_rows = len(atoms), len(rows)
        lines = [sparse.hstack([block, -sparse.eye_array(n_rows)], format="csr")]
        row_low, row_high = [np.zeros(n_rows)], [np.zeros(n_rows)]
        self.ratio_of = []
        extra_rows, extra_cols, extra_vals = [], [], []
        for a, b, q in links:
            if a not in local:
                continue
            for bound, lower in ((q.low, True), (q.high, False)):  # a - low b >= 0 ; a - high b <= 0
                if not math.isfinite(bound):
                    continue
                line = len(self.ratio_of)
                extra_rows += [line, line]
                extra_cols += [self.n_atoms + local[a], self.n_atoms + local[b]]
                extra_vals += [1.0, -bound]
                self.ratio_of.append(q)
                row_low.append(np.array([0.0 if lower else -highspy.kHighsInf]))
                row_high.append(np.array([highspy.kHighsInf if lower else 0.0]))
        if self.ratio_of:
            lines.append(sparse.csr_array((extra_vals, (extra_rows, extra_cols)),
                                          shape=(len(self.ratio_of), self.n_atoms + n_rows)))
        full = sparse.csc_array(sparse.vstack(lines))
        n_cols = self.n_atoms + n_rows
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, full.shape[0]
        lp.col_cost_ = np.zeros(n_cols)
        lp.col_lower_ = np.concatenate([np.zeros(self.n_atoms), low[rows]])
        lp.col_upper_ = np.where(np.isinf(upper := np.concatenate([np.full(self.n_atoms, np.inf), high[rows]])),
                                 highspy.kHighsInf, upper)
        lp.row_lower_ = np.concatenate(row_low)
        lp.row_upper_ = np.concatenate(row_high)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = full.indptr.astype(np.int32)
        lp.a_matrix_.index_ = full.indices.astype(np.int32)
        lp.a_matrix_.value_ = full.data.astype(float)
        self.highs = _quiet_highs()
        self.highs.setOptionValue("threads", 1)
        self.highs.passModel(lp)
        self.costs: list[int] = []

    def solve(self, objective: dict[int, float]):
        """Minimise the sum of sign x count; (every row's value indexed globally, the solution)."""
        columns = [self.n_atoms + self.local[k] for k in objective]
        if self.costs:
            self.highs.changeColsCost(len(self.costs), np.array(self.costs, dtype=np.int32), np.zeros(len(self.costs)))
        self.highs.changeColsCost(len(columns), np.array(columns, dtype=np.int32),
                                  np.array(list(objective.values()), dtype=float))
        self.costs = columns
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = self.highs.getSolution()
        values = np.full(int(self.rows.max()) + 1, np.nan)
        values[self.rows] = np.asarray(solution.col_value)[self.n_atoms:]
        return values, (self, np.asarray(solution.col_dual)[self.n_atoms:], np.asarray(solution.row_dual))


def _quiet_highs() -> highspy.Highs:
    """A solver that prints nothing: HiGHS writes its banner to the process's standard output
    (file descriptor 1, below Python's sys.stdout) when it is made, which would spoil
    `--format json`."""
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
    highs.setOptionValue("presolve", "off")  # every solve after the first starts from the last basis
    highs.setOptionValue("solver", "simplex")
    return highs


def _binding(figures, rows, links, ends) -> list[str]:
    """The published figures whose limits hold a range's ends where they are (non-zero duals)."""
    names = []
    for part, col_dual, row_dual in ends:
        for dual, k in zip(col_dual, part.rows, strict=True):
            if abs(dual) > EPS:
                names += [figures[i].name for i in rows[k]]
        for q, dual in zip(part.ratio_of, row_dual[len(part.rows):], strict=True):
            if abs(dual) > EPS:
                names.append(q.name)
    return list(dict.fromkeys(names))
