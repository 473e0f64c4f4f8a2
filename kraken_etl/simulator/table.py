"""A growable columnar table: one numpy array per field, appended in batches.

The store holds millions of ledger rows this way (about 45 bytes a row) instead of Python dicts; rows
become dicts only when a page is rendered. Appends replace the arrays (amortised doubling), so a reader
that captured `columns()` keeps a consistent view while a writer appends.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import numpy.typing as npt

# array.array typecode -> numpy dtype
_DTYPES: dict[str, type[np.generic]] = {"b": np.int8, "i": np.int32, "q": np.int64}

Column = npt.NDArray[np.int64]  # the static type we use for every column (dtypes vary at runtime)


class Batch:
    """Rows under construction, column-wise in compact `array.array`s (no Python int per cell)."""

    __slots__ = ("cols", "schema")

    def __init__(self, schema: dict[str, str]) -> None:
        self.schema = schema
        self.cols: dict[str, array[int]] = {name: array(code) for name, code in schema.items()}

    def __len__(self) -> int:
        first = next(iter(self.cols.values()))
        return len(first)

    def add(self, **values: int) -> int:
        """Append one row (every field required); returns its index within the batch."""
        n = len(self)
        for name, col in self.cols.items():
            col.append(values[name])
        return n


class Table:
    """Columns of equal length with spare capacity."""

    __slots__ = ("_cols", "n", "schema")

    def __init__(self, schema: dict[str, str]) -> None:
        self.schema = schema
        self.n = 0
        self._cols: dict[str, Column] = {
            name: np.zeros(0, dtype=_DTYPES[code]) for name, code in schema.items()
        }

    def append(self, batch: Batch, shift: dict[str, int] | None = None,
               extra: dict[str, npt.NDArray[Any]] | None = None) -> range:
        """Append a batch, adding `shift[field]` to the named (time) fields; returns the new rows' range.

        Columns missing from the batch come from `extra` (arrays of the batch's length) or are zero.

        Raises:
            KeyError: when the batch lacks a column of the table.
        """
        m = len(batch)
        start = self.n
        need = start + m
        cols = dict(self._cols)
        for name, code in self.schema.items():
            col = cols[name]
            if need > len(col):
                grown = np.zeros(max(need, int(len(col) * 1.5) + 1024), dtype=_DTYPES[code])
                grown[:start] = col[:start]
                col = grown
            if m and name in batch.cols:
                values = np.frombuffer(batch.cols[name], dtype=_DTYPES[code])
                col[start:need] = values + (shift or {}).get(name, 0)
            elif m and extra is not None and name in extra:
                col[start:need] = extra[name]
            else:
                col[start:need] = 0
            cols[name] = col
        self._cols = cols
        self.n = need
        return range(start, need)

    def col(self, name: str) -> Column:
        """A read-only-by-convention view of one column's live rows."""
        return self._cols[name][: self.n]

    def columns(self) -> dict[str, Column]:
        """A consistent snapshot of every column (views trimmed to the current length)."""
        n = self.n
        return {name: c[:n] for name, c in self._cols.items()}

    def nbytes(self) -> int:
        """Bytes allocated by the columns (including spare capacity)."""
        return sum(int(c.nbytes) for c in self._cols.values())
