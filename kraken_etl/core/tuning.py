"""Process-wide tuning that belongs to an entry point, not to library code.

A million-row file allocates tens of millions of short-lived objects (cells, Decimals, records) and almost
no reference cycles; with the default gen-0 threshold (700) the cyclic collector runs tens of thousands of
times for nothing. A larger threshold while files load cuts the Python side by about a fifth (measured with
bench/bench_import.py). Only the entry points that load files (the `import` and `backfill` commands, the
`backfill` flow, the benchmarks) set it, for their own run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLD = 50_000


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Raise the cyclic GC's gen-0 threshold for the block; the previous thresholds come back after."""
    saved = gc.get_threshold()
    gc.set_threshold(max(GC_THRESHOLD, saved[0]), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)
