"""`SeenKeys`: which ids a long file has already shown, in 8 bytes per id (a million ids ≈ 8 MB).

A file import loads batch after batch; an id repeated far apart must still be recognised (the first copy
wins, a conflicting later copy is quarantined). Keeping every id string would cost ~100 bytes each; here
each id is kept as its 64-bit hash in sorted numpy runs merged like a binary counter (runs of equal size are
merged, so there are at most log2(n) runs and each id is re-sorted O(log n) times). A hash match is only a
*candidate*: the database then checks the candidates exactly, so a collision costs one lookup, never a
wrong quarantine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class SeenKeys:
    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(run) for run in self._runs)

    def check_and_add(self, keys: Sequence[str]) -> list[str]:
        """The keys of this batch that may have been seen in an earlier one; then remember the batch."""
        if not keys:
            return []
        hashes = np.array(list(map(hash, keys)), dtype=np.int64)
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]  # sorted queries walk each run in order (cache-friendly)
        hit = np.zeros(len(keys), dtype=bool)
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, ordered), len(run) - 1)
            hit |= run[at] == ordered
        self._add(ordered)
        return [keys[i] for i in order[hit]]

    def _add(self, run: np.ndarray) -> None:
        while self._runs and len(self._runs[-1]) <= len(run):
            run = np.sort(np.concatenate((self._runs.pop(), run)), kind="stable")  # two sorted runs: a merge
        self._runs.append(run)
