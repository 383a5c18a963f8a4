"""The intruder's linear programs: for every hidden count, the least and the greatest value it can
take given everything published (HiGHS, through highspy).

What is published is a list of figures (divert.intruder.surface.Surface). Each count is the
number of records in a set; the intruder does not know the records, only that each count lies in
what was published for it (exact, a rounded interval, 0 to threshold-1 for a count hidden as
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
import queue
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import highspy
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from divert.core.whole_table import quiet_highs
from divert.intruder.unknowns import incidence, merge_columns, merge_rows, with_phantoms

EPS = 1e-7
Progress = Callable[[str, float], None]
# programs solved at once: HiGHS lets go of Python's lock while it solves, so each core solves one
# (measured: two programs on two threads in 1.9 s, one after the other 3.7 s)
WORKERS = max(1, min(4, os.cpu_count() or 1))


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
    undecided: bool = False  # neither proved safe nor proved a leak (counted as failing)
    given_away_by: list[str] = field(default_factory=list)  # the published figures that bind the ends

    @property
    def width(self) -> int:
        """Whole values between the ends (a count is whole); unbounded above: as many as can be."""
        if math.isinf(self.high):
            return sys.maxsize
        return max(0, math.floor(self.high + EPS) - math.ceil(self.low - EPS))

    @property
    def leak(self) -> bool:
        return self.undecided or self.width < self.needed


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


@dataclass
class _Program:
    matrix: sparse.csc_array
    row_low: np.ndarray
    row_high: np.ndarray
    col_low: np.ndarray
    col_high: np.ndarray
    expr: sparse.csr_array  # each row of the neighbourhood over the program's unknowns
    constant: np.ndarray  # ... plus this
    position: dict
    rows: np.ndarray
    ratio_of: list
    n_cols: int


class Inconsistent(Exception):
    """A published figure does not hold its own true count: the audit's definitions are wrong."""


def attack(figures: list[Figure], members: list[np.ndarray], n_records: int, ratios: list[Ratio],
           protection: int, threshold: int, progress: Progress | None = None,
           reaches: tuple[int, ...] = (400, 3000), phantoms: tuple[dict, int, set] | None = None) -> Findings:
    """Every hidden count's feasible range. The gate's promise: a small count (0 to threshold-1)
    is never known more closely than a rounded count is (a range at least `protection` wide:
    x-2..x+2 for rounding to 5), and no hidden count is pinned to one value. A leak breaks it.

    Each hidden count is attacked within its neighbourhood (the kinds of record it counts, and
    those of every count of at most `reach` kinds that shares one with it) by two programs:
    the *inner* one moves only those kinds and holds every other at its true number, so each of
    its solutions is a solution of the whole system (the range it finds is reached: a count it
    finds wide enough is proved safe); the *outer* one lets every count of the neighbourhood
    take any value its published figure allows for the records outside it (a relaxation: a
    range it finds too narrow is proved a leak). A count neither proves is attacked again in a
    wider neighbourhood; one that no neighbourhood settles is reported as not proved.

    `phantoms` = (figure -> positions of records that could exist and would count in it, how
    many such positions follow the real records, those a published table rules out): kinds of
    record numbering 0 in truth that the programs may raise (divert.intruder.phantoms)."""
    started = time.perf_counter()
    progress = progress or (lambda step, fraction: None)
    extra, n_extra, ruled_out = phantoms or ({}, 0, set())
    ruled_out = np.fromiter(ruled_out, dtype=np.int64, count=len(ruled_out))
    counted = [with_phantoms(m, extra.get(i, []), ruled_out) for i, m in enumerate(members)]
    rows, of_figure = merge_rows(figures, counted)
    index = sparse.csr_array(incidence([counted[r[0]] for r in rows], n_records + n_extra))
    atoms, counts = merge_columns(index, n_records)
    matrix = sparse.csr_array(index @ atoms)  # rows x atoms
    matrix.data[:] = 1.0  # an atom's unknown is its number of records
    low = np.array([max(figures[i].low for i in r) for r in rows])
    high = np.array([min(figures[i].high for i in r) for r in rows])
    truth = np.array([len(members[r[0]]) for r in rows], dtype=float)
    _check(figures, rows, low, high, truth)
    links = _merge_ratios(ratios, of_figure)
    system = _System(matrix, low, high, truth, counts.astype(float), links)
    targets = [k for k, r in enumerate(rows) if any(figures[i].hidden for i in r)]
    needed = np.where(truth < threshold, protection, 1)
    reached = _reached_together(system, [figures[r[0]] for r in rows], targets, needed, reaches[0], progress)
    found = []
    with ThreadPoolExecutor(WORKERS) as pool:  # each count's programs on their own: any order, the same ranges
        one = partial(_range_of, system, figures, rows, needed, reached, reaches)
        for done, r in enumerate(pool.map(one, targets), start=1):
            found.append(r)
            progress(f"attacking hidden counts ({done:,}/{len(targets):,})", done / max(1, len(targets)))
    leaks = [r for r in found if r.leak]
    views = {(f.table, f.where) for f in figures}
    return Findings(found, leaks, len(figures), len(views), len(rows), len(links), atoms.shape[1],
                    len({system.part(k) for k in targets}), system.programs, time.perf_counter() - started,
                    protection)


def _range_of(system: _System, figures: list[Figure], rows, needed: np.ndarray, reached: dict[int, float],
              reaches: tuple[int, ...], k: int) -> Range:
    """What the intruder can learn of hidden count (row) k: proved safe, proved a leak, or neither."""
    truth = system.truth
    r = Range([figures[i].name for i in rows[k]], math.inf, -math.inf, int(truth[k]), False, int(needed[k]))
    if not system.size[k]:  # no record, real or that could exist, counts in it: the model says 0
        r.low = r.high = truth[k]
        r.solved, r.given_away_by = True, ["(no record the intruder does not rule out could be counted here)"]
        return r
    if k in reached:  # a solution of the whole system moves it far enough from its true value
        r.low, r.high = sorted((truth[k], reached[k]))
        return r
    for reach in reaches:
        near = system.neighbourhood(k, reach)
        inner = system.ends(k, near, outer=False, enough=truth[k] + r.needed)
        r.low, r.high = inner[0], inner[1]
        if r.width >= r.needed:
            return r
        outer = system.ends(k, near, outer=True)
        if math.floor(outer[1] + EPS) - math.ceil(outer[0] - EPS) < r.needed:
            r.low, r.high, r.solved = outer[0], outer[1], True
            r.given_away_by = list(dict.fromkeys(name for k2 in outer[2] for name in _names(figures, rows, k2)))
            r.given_away_by += [q.name for q in outer[3]]
            return r
    r.undecided = True
    return r


def _reached_together(system: _System, first: list[Figure], targets: list[int], needed: np.ndarray, reach: int,
                      progress: Progress) -> dict[int, float]:
    """Hidden counts shown wide enough by a few programs for all the hidden counts of one table
    at once (each a solution of the whole system: the inner program over their neighbourhoods
    together), pushing them all up, then those still short alone together: {row: a value it
    can take, at least `needed` from its true one}. The rest get programs of their own."""
    tables = defaultdict(list)
    for k in targets:
        if system.size[k]:
            tables[(first[k].table, first[k].where)].append(k)
    def pushed(ks: list[int]) -> dict[int, float]:
        out: dict[int, float] = {}
        if len(ks) < 2:
            return out
        near = [system.neighbourhood(k, reach) for k in ks]
        near = (np.unique(np.concatenate([n[0] for n in near])), np.unique(np.concatenate([n[1] for n in near])))
        asked = None
        for _ in range(2):
            short = [k for k in ks if k not in out]
            if len(short) < 2 or short == asked:  # the same program again would give the same solution
                break
            asked = short
            values = system.reached(short, near, np.ones(len(short)))
            for k, value in zip(short, values, strict=True):
                if abs(value - system.truth[k]) >= needed[k] - EPS:
                    out[k] = float(value)
        return out

    out: dict[int, float] = {}
    with ThreadPoolExecutor(WORKERS) as pool:  # each table's programs on their own
        for done, found in enumerate(pool.map(pushed, tables.values()), start=1):
            progress(f"attacking hidden counts table by table ({done:,}/{len(tables):,})", done / len(tables))
            out.update(found)
    return out


def _names(figures, rows, k) -> list[str]:
    return [figures[i].name for i in rows[k]]


class _System:
    """The whole system, and the neighbourhood programs cut from it."""

    def __init__(self, matrix, low, high, truth, counts, links):
        self.by_row = sparse.csr_array(matrix)
        self.by_atom = sparse.csr_array(matrix.T)
        self.size = np.diff(self.by_row.indptr)
        self.low, self.high, self.truth, self.counts = low, high, truth, counts
        self.links = links
        self.links_of = defaultdict(list)
        for number, (a, b, _) in enumerate(links):
            self.links_of[a].append(number)
            self.links_of[b].append(number)
        self._solvers = queue.SimpleQueue()  # one HiGHS per program being solved at once
        for _ in range(WORKERS):
            self._solvers.put(quiet_highs())
        self._counting = threading.Lock()
        self.programs = 0
        self._parts = None

    def part(self, k: int) -> int:
        if self._parts is None:
            self._parts = _components(self.by_row, self.links, len(self.low))[1]
        return int(self._parts[k])

    def _atoms(self, rows) -> np.ndarray:
        rows = np.asarray(rows)
        if not len(rows):
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([self.by_row.indices[self.by_row.indptr[r]:self.by_row.indptr[r + 1]]
                                         for r in rows]))

    def _rows(self, atoms) -> np.ndarray:
        if not len(atoms):
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([self.by_atom.indices[self.by_atom.indptr[a]:self.by_atom.indptr[a + 1]]
                                         for a in atoms]))

    def neighbourhood(self, k: int, reach: int) -> tuple[np.ndarray, np.ndarray]:
        """(atoms that may move, rows that hold any of them)."""
        own = self._atoms([k])
        around = self._rows(own)
        ratio_rows = [x for r in [k, *around] for n in self.links_of.get(r, []) for x in self.links[n][:2]]
        around = np.unique(np.concatenate([around, np.asarray(ratio_rows, dtype=np.int64)]))
        close = around[self.size[around] <= reach]
        moving = np.union1d(own, self._atoms(close))
        return moving, np.union1d(self._rows(moving), around)

    def ends(self, k: int, near, *, outer: bool, enough: float | None = None):
        """(least, greatest, rows binding the ends, ratios binding them) of row k's value. With
        `enough`, the greatest is found first, and when it is at least `enough` the least is not
        sought (returned as the true value, which it is at most): the range is then wide enough
        whatever the least."""
        p = self._program(near, outer)
        rows, constant, ratio_of = p.rows, p.constant, p.ratio_of
        objective = np.zeros(p.matrix.shape[1])
        target = p.position[k]
        objective[:p.n_cols] = p.expr[[target]].toarray()[0]
        ends, binding, ratios_binding = [], set(), []
        for sign in (-1.0, 1.0):
            if sign > 0 and enough is not None and ends[0] >= enough - EPS:
                ends.append(float(self.truth[k]))
                break
            solution = self._solve(sign * objective, p)
            if solution is None:
                raise Inconsistent(f"row {k}: the published figures admit no solution")
            value, row_dual, _ = solution
            ends.append(value + constant[target])
            for i, dual in enumerate(row_dual[:len(rows)]):
                if abs(dual) > EPS:
                    binding.add(int(rows[i]))
            ratios_binding += [q for q, dual in zip(ratio_of, row_dual[len(rows):], strict=True) if abs(dual) > EPS]
        return ends[1], ends[0], sorted(binding), list({id(q): q for q in ratios_binding}.values())

    def reached(self, ks: list[int], near, weights: np.ndarray) -> np.ndarray:
        """The values rows `ks` take at one solution of the inner program over `near` (every
        other kind of record at its true number, so a solution of the whole system) that
        pushes each up by its weight (down where negative)."""
        p = self._program(near, outer=False)
        objective = np.zeros(p.matrix.shape[1])
        at = [p.position[k] for k in ks]
        objective[:p.n_cols] = -(sparse.csr_array(p.expr[at]).T @ weights)
        solution = self._solve(objective, p)
        if solution is None or solution[2] is None:
            return np.array([self.truth[k] for k in ks])
        return p.expr[at] @ solution[2][:p.n_cols] + p.constant[at]

    def _program(self, near, outer: bool) -> _Program:
        """The linear program over a neighbourhood: the inner one (other records as they are) or
        the outer one (each row's records outside left free within its published figure)."""
        moving, rows = near
        position = {int(r): i for i, r in enumerate(rows)}
        block = self.by_row[rows][:, moving]
        n_move = len(moving)
        fixed = self.truth[rows] - block @ self.counts[moving]  # the records that stay as they are
        partial = fixed > EPS if outer else np.zeros(len(rows), dtype=bool)
        rest = np.flatnonzero(partial)  # outer: what the records outside may add to each row, >= 0
        n_cols = n_move + len(rest)
        expr = sparse.hstack([block, sparse.csr_array((np.ones(len(rest)), (rest, np.arange(len(rest)))),
                                                      shape=(len(rows), len(rest)))], format="csr")
        constant = np.where(partial, 0.0, fixed)
        lines, line_low, ratio_of, outside = self._ratios(rows, position, expr, constant, outer, n_cols)
        total_cols = n_cols + len(outside)
        coo_rows, coo_cols, coo_vals = [], [], []
        row_low, row_high = [], []
        count_rows = sparse.coo_array(expr)
        coo_rows += list(count_rows.row)
        coo_cols += list(count_rows.col)
        coo_vals += list(count_rows.data)
        row_low += list(self.low[rows] - constant)
        row_high += list(self.high[rows] - constant)
        for line, ((terms, bound), lower) in enumerate(zip(lines, line_low, strict=True), start=len(rows)):
            shift = 0.0
            for (what, const), weight in zip(terms, (1.0, -bound), strict=True):
                shift += weight * const
                if what is None:
                    continue
                if isinstance(what, tuple):
                    coo_rows.append(line)
                    coo_cols.append(what[1])
                    coo_vals.append(weight)
                else:
                    part = sparse.coo_array(what)
                    coo_rows += [line] * part.nnz
                    coo_cols += list(part.col)
                    coo_vals += list(weight * part.data)
            row_low.append(-shift if lower else -np.inf)
            row_high.append(np.inf if lower else -shift)
        matrix = sparse.csc_array((coo_vals, (coo_rows, coo_cols)), shape=(len(row_low), total_cols))
        col_low = np.zeros(total_cols)
        col_high = np.full(total_cols, np.inf)
        for row, col in outside.items():
            col_low[col], col_high[col] = self.low[row], self.high[row]
        return _Program(matrix, np.array(row_low), np.array(row_high), col_low, col_high, expr, constant, position,
                        rows, ratio_of, n_cols)

    def _ratios(self, rows, position, expr, constant, outer: bool, n_cols: int):
        """The ratios among the rows, as lines over the program's unknowns: a row outside the
        neighbourhood is its true value (inner) or one more unknown within its figure (outer)."""
        outside: dict[int, int] = {}
        lines, line_low, ratio_of = [], [], []
        for number in {n for r in rows for n in self.links_of.get(int(r), [])}:
            a, b, q = self.links[number]
            terms = []
            for row in (a, b):
                if row in position:
                    terms.append((expr[[position[row]]], constant[position[row]]))
                elif outer:
                    outside.setdefault(row, n_cols + len(outside))
                    terms.append((("col", outside[row]), 0.0))
                else:
                    terms.append((None, self.truth[row]))
            for bound, lower in ((q.low, True), (q.high, False)):
                if math.isfinite(bound):
                    lines.append((terms, bound))
                    line_low.append(lower)
                    ratio_of.append(q)
        return lines, line_low, ratio_of, outside

    def _solve(self, cost, program: _Program):
        """(the objective's least value, the rows' duals, the solution) of the program."""
        matrix, row_low, row_high = program.matrix, program.row_low, program.row_high
        col_low, col_high = program.col_low, program.col_high
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
        inf = highspy.kHighsInf
        lp.col_cost_ = cost
        lp.col_lower_ = col_low
        lp.col_upper_ = np.where(np.isinf(col_high), inf, col_high)
        lp.row_lower_ = np.where(np.isinf(row_low), -inf, row_low)
        lp.row_upper_ = np.where(np.isinf(row_high), inf, row_high)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data.astype(float)
        highs = self._solvers.get()
        try:
            return self._run(highs, lp, cost, matrix.shape[0])
        finally:
            self._solvers.put(highs)

    def _run(self, highs, lp, cost, n_rows: int):
        highs.passModel(lp)
        highs.run()
        with self._counting:
            self.programs += 1
        status = highs.getModelStatus()
        # the true counts are always a solution, so a program HiGHS cannot tell unbounded from
        # infeasible (its presolve stops at a direction without end) is unbounded
        if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return (-np.inf if cost.sum() > 0 else np.inf) * 1.0, np.zeros(n_rows), None
        if status != highspy.HighsModelStatus.kOptimal:
            return None
        solution = highs.getSolution()
        value = float(highs.getInfo().objective_function_value)
        nonzero = np.flatnonzero(cost)
        sign = 1.0 if not len(nonzero) or cost[nonzero[0]] > 0 else -1.0
        return sign * value, np.asarray(solution.row_dual), np.asarray(solution.col_value)


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


def _merge_ratios(ratios: list[Ratio], of_figure: dict[int, int]) -> list[tuple[int, int, Ratio]]:
    """One ratio per (numerator, denominator) pair of counts: the tightest of those published."""
    tightest: dict[tuple[int, int], Ratio] = {}
    for q in ratios:
        pair = (of_figure[q.numerator], of_figure[q.denominator])
        if pair[0] == pair[1]:
            continue  # a count over itself says nothing
        known = tightest.get(pair)
        if known is None:
            tightest[pair] = q
        elif q.low > known.low or q.high < known.high:
            tightest[pair] = Ratio(q.numerator, q.denominator, max(q.low, known.low), min(q.high, known.high),
                                   q.table, q.where, q.what)
    return [(a, b, q) for (a, b), q in tightest.items()]
