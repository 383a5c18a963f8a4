"""The unknowns of the intruder's programs: each published count as the records it counts (with
the records that could exist, divert.intruder.phantoms), counts of the same records merged into
one row, records counted in the same rows merged into one kind (an unknown), and shares merged
per pair of counts. Used by divert.intruder.attack."""

from __future__ import annotations

import numpy as np
from scipy import sparse


def with_phantoms(members: np.ndarray, extra: list[np.ndarray], ruled_out: np.ndarray) -> np.ndarray:
    """A figure's records and the records that could exist that it would count (not those ruled
    out)."""
    if not extra:
        return members
    more = np.concatenate(extra).astype(np.int64)
    more = more[~np.isin(more, ruled_out)] if len(ruled_out) else more
    return np.concatenate([np.asarray(members, dtype=np.int64), more])


def merge_rows(figures, members) -> tuple[list[list[int]], dict[int, int]]:
    """Figures counting the same records are one count: [figure indices] per row, and each
    figure's row (figures counting no record at all are one row, of value 0)."""
    rows: dict[bytes, list[int]] = {}
    for i, m in enumerate(members):
        rows.setdefault(np.sort(m).astype(np.int64).tobytes(), []).append(i)
    listed = list(rows.values())
    return listed, {i: k for k, r in enumerate(listed) for i in r}


def incidence(sets: list[np.ndarray], n: int) -> sparse.csr_array:
    sizes = [len(s) for s in sets]
    rows = np.repeat(np.arange(len(sets)), sizes)
    cols = np.concatenate(sets) if sets else np.zeros(0, dtype=np.int64)
    return sparse.csr_array((np.ones(len(cols)), (rows, cols)), shape=(len(sets), n))


def merge_columns(index: sparse.csr_array, n_real: int | None = None) -> tuple[sparse.csr_array, np.ndarray]:
    """Records counted in exactly the same rows are one unknown: the records x atoms map and
    how many records each atom holds (of the first `n_real` columns: those after are records
    that could exist, none in truth). Records counted nowhere are left out."""
    columns = sparse.csc_array(index)
    keys: dict[bytes, int] = {}
    atom_of = np.full(index.shape[1], -1)
    for j in range(index.shape[1]):
        found = columns.indices[columns.indptr[j]:columns.indptr[j + 1]]
        if len(found):
            atom_of[j] = keys.setdefault(np.sort(found).tobytes(), len(keys))
    used = np.flatnonzero(atom_of >= 0)
    mapping = sparse.csr_array((np.ones(len(used)), (used, atom_of[used])), shape=(index.shape[1], len(keys)))
    real = used[used < (index.shape[1] if n_real is None else n_real)]
    return mapping, np.bincount(atom_of[real], minlength=len(keys))
