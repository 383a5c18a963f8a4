"""Disclosure control for published tables: suppression of small counts, rounding, secondary
suppression across every additive relation between the published cells, and a proof by integer
programming that no suppressed count can be worked out from what is published.

A release is a set of cells (true counts, keyed by tuples), the sums that tie them together
(a total equals the sum of its parts, within a table and across tables) and known orderings
(a later pathway stage never exceeds an earlier one). `protect` decides what is published:

1. primary suppression: counts from 1 to threshold-1 are shown as `*`;
2. secondary suppression: every sum that contains a suppressed cell gets at least two, the
   complement being the smallest non-zero count of that sum (a part before the total);
3. every other count is rounded to the nearest `base` (zero stays 0);
4. the check: an intruder knows every published figure, the rounding rule, that `*` stands for
   a count of at least 1 (zeros are always shown) and every sum and ordering. For every
   suppressed cell, integer solutions of that system (scipy's HiGHS MILP) must give it values at
   least `min_width` apart; where they cannot, another complement is suppressed and the check
   runs again.

General functions: nothing here knows about referrals or areas.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_array

Key = tuple
THRESHOLD = 8  # counts from 1 to 7 are suppressed
BASE = 5  # other counts rounded to the nearest 5
MIN_WIDTH = 4  # a suppressed count is never known more closely than a rounded one (x-2 .. x+2)


class ProtectionError(Exception):
    """The cells cannot be protected (inconsistent input)."""


@dataclass
class Cells:
    """True counts and the relations between them."""
    values: dict[Key, int] = field(default_factory=dict)
    sums: list[tuple[Key, tuple[Key, ...]]] = field(default_factory=list)
    orders: list[tuple[Key, Key]] = field(default_factory=list)  # (never larger, never smaller)

    def add(self, key: Key, value: int) -> Key:
        value = int(value)
        if value < 0:
            raise ProtectionError(f"{key}: a count cannot be negative ({value})")
        if self.values.setdefault(key, value) != value:
            raise ProtectionError(f"{key}: given two different values ({self.values[key]} and {value})")
        return key

    def add_sum(self, total: Key, parts) -> None:
        parts = tuple(parts)
        if sum(self.values[p] for p in parts) != self.values[total]:
            raise ProtectionError(f"{total}: the parts do not add up to the total")
        self.sums.append((total, parts))

    def add_order(self, small: Key, large: Key) -> None:
        self.orders.append((small, large))


@dataclass
class Protected:
    status: dict[Key, str]  # shown | primary | secondary
    published: dict[Key, int | None]  # None where suppressed
    ranges: dict[Key, tuple[float, float]]  # per suppressed cell, values integer solutions reach (>= min_width apart)
    threshold: int
    base: int

    @property
    def suppressed(self) -> int:
        return sum(1 for s in self.status.values() if s != "shown")

    def count(self, kind: str) -> int:
        return sum(1 for s in self.status.values() if s == kind)


def rounded(value: int, base: int = BASE) -> int:
    """To the nearest multiple of `base` (integers: no ties for an odd base)."""
    return int(base * math.floor(value / base + 0.5))


def intruder_bounds(published: int | None, threshold: int = THRESHOLD, base: int = BASE) -> tuple[float, float]:
    """What a published figure says about the true count."""
    if published is None:
        return 1, math.inf
    if published == 0:
        return 0, 0
    half = base // 2
    return max(threshold, published - half), published + half


def protect(cells: Cells, threshold: int = THRESHOLD, base: int = BASE, min_width: float = MIN_WIDTH) -> Protected:
    primary = {k for k, v in cells.values.items() if 1 <= v < threshold}
    suppressed = set(primary)
    members = _sums_by_cell(cells)
    while True:
        _complete_pattern(cells, suppressed)
        published = {k: None if k in suppressed else rounded(v, base) for k, v in cells.values.items()}
        bounds = {k: intruder_bounds(p, threshold, base) for k, p in published.items()}
        ranges = feasible_ranges(cells.sums, cells.orders, bounds, sorted(suppressed, key=repr), min_width)
        narrow = [k for k in sorted(suppressed, key=repr) if ranges[k][1] - ranges[k][0] < min_width]
        if not narrow:
            break
        added = False
        for key in narrow:
            around = members[key]
            pick = _complement(cells, [m for total, parts in around for m in (total, *parts)], suppressed,
                               parts_first=tuple(p for _, parts in around for p in parts))
            if pick is None:  # its own sums are all hidden: the range comes from relations they imply
                pick = _complement(cells, _component_of(key, cells), suppressed)
            if pick is not None:
                suppressed.add(pick)
                added = True
        if not added:
            raise ProtectionError(f"cannot protect {narrow[0]}: no count left to suppress beside it")
    status = {k: "primary" if k in primary else "secondary" if k in suppressed else "shown" for k in cells.values}
    return Protected(status, published, {k: ranges[k] for k in suppressed}, threshold, base)


def _sums_by_cell(cells: Cells) -> dict[Key, list]:
    out = defaultdict(list)
    for total, parts in cells.sums:
        for key in (total, *parts):
            out[key].append((total, parts))
    return out


def _component_of(key: Key, cells: Cells) -> list[Key]:
    return next(c for c in _components(list(cells.values), cells.sums, cells.orders) if key in c)


def _complement(cells: Cells, candidates, suppressed: set, parts_first: tuple = ()) -> Key | None:
    """The smallest non-zero count not yet suppressed among the candidates (parts first)."""
    free = [k for k in dict.fromkeys(candidates) if k not in suppressed and cells.values[k] > 0]
    if not free:
        return None
    return min(free, key=lambda k: (k not in parts_first, cells.values[k], repr(k)))


def _complete_pattern(cells: Cells, suppressed: set) -> None:
    """Until every sum holding a suppressed cell holds at least two."""
    changed = True
    while changed:
        changed = False
        for total, parts in cells.sums:
            hidden = [k for k in (total, *parts) if k in suppressed]
            if len(hidden) == 1:
                pick = _complement(cells, (*parts, total), suppressed, parts_first=parts)
                if pick is None:
                    raise ProtectionError(f"{total}: no complement for {hidden[0]}")
                suppressed.add(pick)
                changed = True


# --- the intruder's integer program ---------------------------------------------------------------
def _components(keys, sums, orders) -> list[list[Key]]:
    parent = {k: k for k in keys}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for group in [(total, *parts) for total, parts in sums] + [tuple(pair) for pair in orders]:
        root = find(group[0])
        for other in group[1:]:
            parent[find(other)] = root
    out = defaultdict(list)
    for k in keys:
        out[find(k)].append(k)
    return list(out.values())


def feasible_ranges(sums, orders, bounds: dict[Key, tuple[float, float]], targets,
                    min_width: float | None = None, samples: int = 8) -> dict[Key, tuple[float, float]]:
    """For each target cell, a range (lo, hi) of values it can take given every cell's bounds,
    every sum and every ordering; both ends are values of integer solutions (HiGHS branch and
    bound), so an intruder cannot pin the cell down more closely than that.

    With `min_width`, a few solutions pushing the targets up and down at once (all up, all
    down, then random directions) are tried first, and only a target they leave narrower than
    `min_width` gets its own exact minimum and maximum. Without it, every range is exact."""
    targets = list(targets)
    wanted = set(targets)
    out = {}
    for component in _components(list(bounds), sums, orders):
        if wanted.intersection(component):
            out.update(_component_ranges(component, sums, orders, bounds, wanted, min_width, samples))
    return out


def _component_ranges(component, sums, orders, bounds, wanted, min_width, samples) -> dict:
    keys = sorted(component, key=repr)
    index = {k: i for i, k in enumerate(keys)}
    inside = [(t, p) for t, p in sums if t in index]
    pairs = [(a, b) for a, b in orders if a in index]
    matrix = lil_array((len(inside) + len(pairs), len(keys)))
    for row, (total, parts) in enumerate(inside):
        matrix[row, index[total]] += 1
        for part in parts:
            matrix[row, index[part]] -= 1
    for row, (small, large) in enumerate(pairs, start=len(inside)):
        matrix[row, index[small]] += 1
        matrix[row, index[large]] -= 1
    lower = np.array([0.0] * len(inside) + [-np.inf] * len(pairs))
    constraints = [LinearConstraint(matrix.tocsr(), lower, np.zeros(len(lower)))] if len(lower) else []
    program = (Bounds([bounds[k][0] for k in keys], [bounds[k][1] for k in keys]), constraints)
    targets = [k for k in keys if k in wanted]
    at = [index[k] for k in targets]
    seen = {k: (math.inf, -math.inf) for k in targets}

    def witness(objective) -> np.ndarray | None:
        """Solve, and let the solution widen every target's range seen so far."""
        solution = _solve(objective, program, keys)
        if solution is not None:
            for k, value in zip(targets, solution[at], strict=True):
                seen[k] = (min(seen[k][0], float(value)), max(seen[k][1], float(value)))
        return solution

    if min_width is not None:
        rng = np.random.default_rng(20201001)
        directions = [np.ones(len(targets)), -np.ones(len(targets))]
        directions += [rng.choice([-1.0, 1.0], len(targets)) for _ in range(samples)]
        for direction in directions:
            objective = np.zeros(len(keys))
            objective[at] = direction
            witness(objective)
        tried = set()
        while True:  # push up, then down, targets that share no sum, together
            group = _independent([k for k in targets if seen[k][1] - seen[k][0] < min_width and k not in tried],
                                 inside)
            if not group:
                break
            tried.update(group)
            for sign in (-1, 1):
                objective = np.zeros(len(keys))
                objective[[index[k] for k in group]] = sign
                witness(objective)
    exact = {}
    for k in targets:
        if min_width is not None and seen[k][1] - seen[k][0] >= min_width:
            continue
        ends = []
        for sign in (1, -1):
            objective = np.zeros(len(keys))
            objective[index[k]] = sign
            solution = witness(objective)
            if solution is None:
                ends.append(_unsolved(k, program, keys, objective, sign))
            else:
                ends.append(float(solution[index[k]]))
            if min_width is not None and seen[k][1] - seen[k][0] >= min_width:
                break
        else:
            exact[k] = (ends[0], ends[1])
    return {**seen, **exact}


def _unsolved(key: Key, program, keys, objective, sign: int) -> float:
    box, constraints = program
    result = milp(objective, integrality=np.ones(len(keys)), bounds=box, constraints=constraints)
    if sign < 0 and "unbounded" in result.message.lower():
        return math.inf
    raise ProtectionError(f"{key}: the published figures admit no solution ({result.message})")


def _independent(candidates: list, sums) -> list:
    """A greedy set of cells no two of which are in the same sum."""
    taken, group = set(), []
    member_of = defaultdict(list)
    for number, (total, parts) in enumerate(sums):
        for key in (total, *parts):
            member_of[key].append(number)
    for key in candidates:
        if not taken.intersection(member_of[key]):
            group.append(key)
            taken.update(member_of[key])
    return group


def _solve(objective, program, keys) -> np.ndarray | None:
    """An optimal integer solution: the linear relaxation first (these tables are close to
    network problems, whose relaxations have integer optima), branch and bound if it is not."""
    box, constraints = program
    relaxed = milp(objective, bounds=box, constraints=constraints)
    if relaxed.status == 0 and np.allclose(relaxed.x, np.round(relaxed.x), atol=1e-7):
        return np.round(relaxed.x)
    result = milp(objective, integrality=np.ones(len(keys)), bounds=box, constraints=constraints)
    return np.round(result.x) if result.status == 0 else None
